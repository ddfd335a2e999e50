"""Compare: paired scenario-baseline differences with intervals, written atomically."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.compare import _interval


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmp")
    (d / "baseline.toml").write_text('name = "baseline"\n[years]\nend = 2025\n')
    (d / "coop.toml").write_text(
        '# Does a coop grocer help?\nname = "coop"\nbase = "baseline.toml"\n'
        "[[initiatives]]\nkind = 'coop_grocer'\nstart = 2023\n"
        "[initiatives.target]\nmunicipalities = ['Lemvig', 'Struer']\n"
        "population = [300, 1000]\nlacks = ['grocer']\n")
    out = d / "out"
    assert main(["compare", str(d / "coop.toml"), "--seeds", "3", "--scale", "0.02",
                 "--out", str(out), "--name", "c"]) == 0
    return out / "c"


def test_compare_writes_all_levels_and_charts(comparison):
    """Rule: differences per place, parish, municipality, size class, targeted and region."""
    for level in ("place", "parish", "municipality", "size_class", "targeted", "region"):
        t = pd.read_parquet(comparison / f"difference_{level}.parquet")
        assert {"mean_diff", "ci_low", "ci_high", "n", "baseline", "scenario"} <= set(t)
        assert (t["ci_low"] <= t["mean_diff"]).all() and (t["mean_diff"] <= t["ci_high"]).all()
        assert (t["n"] == 3).all()
    for f in ("difference_trajectory.png", "difference_map.png", "initiative_events.parquet",
              "services_targeted.parquet", "manifest.json", "difference_targeted.csv"):
        assert (comparison / f).exists()
    m = json.loads((comparison / "manifest.json").read_text())
    assert m["seeds"] == [0, 1, 2] and len(m["scenario_sha256"]) == 64 and m["targeted_places"]


def test_start_year_has_no_difference_and_levels_add_up(comparison):
    """Rule: before the initiative both arms are identical (same seeds); the region total
    difference equals the sum over municipalities."""
    region = pd.read_parquet(comparison / "difference_region.parquet").set_index("year")
    assert region.loc[2021, "mean_diff"] == 0 and region.loc[2022, "mean_diff"] == 0
    muni = pd.read_parquet(comparison / "difference_municipality.parquet")
    total = muni.groupby("year")["mean_diff"].sum()
    assert np.allclose(total.to_numpy(), region["mean_diff"].to_numpy())


def test_interval_is_a_paired_t_interval():
    """Rule: the 95% interval is mean +- t(0.975, n-1) * sd / sqrt(n) over seeds."""
    d = pd.DataFrame({"year": 1, "diff": [1.0, 2.0, 3.0, 6.0], "baseline": 0.0,
                      "scenario": 0.0})
    t = _interval(d, ["year"]).iloc[0]
    half = 3.182446305284263 * np.std([1, 2, 3, 6], ddof=1) / 2
    assert t["mean_diff"] == 3.0 and t["ci_high"] == pytest.approx(3.0 + half)


def test_compare_rejects_bad_input(tmp_path, capsys):
    """Rule: too few seeds or a broken scenario file -> one clear message, exit 2."""
    (tmp_path / "s.toml").write_text('name = "s"\n[years]\nend = 2025\n')
    assert main(["compare", str(tmp_path / "s.toml"), "--seeds", "1"]) == 2
    assert "--seeds must be at least 2" in capsys.readouterr().err
    (tmp_path / "bad.toml").write_text('name = "bad"\nfoo = 1\n')
    assert main(["compare", str(tmp_path / "bad.toml"), "--seeds", "2"]) == 2
    assert "unknown field 'foo'" in capsys.readouterr().err
