"""The report's statement on the calibration behind its runs (sim.report.calibration)."""

from __future__ import annotations

import json

from sim.report.calibration import statement


def _fit(tmp_path, fit_hash="abc", report_hash="abc", mae=2.2, trend=1.56):
    params = tmp_path / "params.toml"
    params.write_text("[fit]\n", encoding="utf-8")
    (tmp_path / "report").mkdir()
    rows = [{"predictor": "model", "mae_pp": mae, "sign_right": 17, "municipalities": 19},
            {"predictor": "trend", "mae_pp": trend, "sign_right": 17, "municipalities": 19}]
    (tmp_path / "report" / "manifest.json").write_text(json.dumps(
        {"fit_hash": report_hash, "validation": rows,
         "config_resolved": {"protocol": {"base_year": 2014, "fit_end": 2018,
                                          "validation_end": 2023}}}), encoding="utf-8")
    return {"calibration_file": {"file": str(params), "chosen_by": "package",
                                 "fit": {"fit_hash": fit_hash, "fit_years": [2014, 2018]}}}


def test_the_held_out_result_is_stated_with_its_baseline(tmp_path):
    """Rule: with the fit's own report at hand, the statement gives the fit years, the
    held-out years, the model's and the trend's errors (Danish decimal comma) and the signs,
    and says the trend is the better guess when the model's error is larger."""
    m = _fit(tmp_path)
    da, en = statement(m, "da"), statement(m, "en")
    assert "2014-2018" in da and "2019-2023" in da and "2,2 procentpoint" in da and "1,6" in da
    assert "17 af 19" in da and "trenden derfor det bedste bud" in da
    assert "2.2 percentage points" in en and "1.6" in en and "17 of 19" in en
    assert "better guess" in en


def test_a_model_better_than_the_trend_is_said_so(tmp_path):
    """Rule: the verdict follows the figures: a model error below the trend's says so."""
    en = statement(_fit(tmp_path, mae=1.0, trend=1.56), "en")
    assert "did better than the trend" in en and "better guess" not in en


def test_a_report_of_another_fit_is_not_quoted(tmp_path):
    """Rule: a calibration report whose fit hash differs from the runs' fit is not quoted;
    the statement then names only the fitted years."""
    en = statement(_fit(tmp_path, report_hash="other"), "en")
    assert "2014-2018" in en and "percentage points" not in en


def test_uncalibrated_runs_say_so():
    """Rule: runs without a calibrated file are reported as uncalibrated, in both languages."""
    m = {"calibration_file": {"file": None, "chosen_by": "LANDSIM_CALIBRATION"}}
    assert "uncalibrated" in statement(m, "en")
    assert "ukalibrerede" in statement(m, "da")
