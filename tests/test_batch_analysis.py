"""Sensitivity (SALib), scenario discovery (EMA PRIM) and summaries of batch results.

The analyses are checked on outcomes that are known functions of the factors (so the right
answer is known), laid out exactly as a batch writes them; the shipped-command paths are
smoke-run on tiny real batches.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.batch.experiment import check, plan
from sim.batch.outcomes import _places
from sim.batch.runner import build_index, write_part

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "baseline.toml"


def experiment(tmp_path: Path, design: str, extra: str = "", replications: int = 3):
    p = tmp_path / "exp.toml"
    p.write_text(f"""
name = "known"
scenarios = ["{BASE}"]
replications = {replications}
seed = 3
scale = 0.01
end_year = 2022
[design]
{design}
[[uncertainties]]
path = "services.closure_hazard"
[[uncertainties]]
path = "demography.fertility_multiplier"
[outcomes]
keep = ["village_population", "region_population"]
{extra}
""", encoding="utf-8")
    res, problems = check(p, _places())
    assert not problems, problems
    return res


def fake_batch(res, folder: Path, fn) -> None:
    """Parts and index as a batch writes them, with outcomes = fn(factors, replication)."""
    for spec in plan(res):
        v = fn(spec.factors, spec.replication)
        table = pd.DataFrame({"year": np.repeat([2021, 2022], 2),
                              "outcome": ["village_population", "region_population"] * 2,
                              "value": [0.0, 0.0, v["village_population"],
                                        v["region_population"]]})
        write_part(folder, spec, table)
    build_index(folder)


NOISE = [-1.0, 0.0, 1.0]


def linear(f, r):
    """village = 1000 * closure_hazard + noise; region = 50 * fertility (no noise)."""
    return {"village_population": 1000 * f["services_closure_hazard"] + NOISE[r],
            "region_population": 50 * f["demography_fertility_multiplier"]}


def test_morris_ranks_the_parameter_that_drives_the_outcome(tmp_path):
    """Morris on y = 1000*hazard: hazard ranks first with mu* = 1000 * its range (1.0),
    the other parameter has mu* 0; bootstrap CIs are given; tables and plots written."""
    pytest.importorskip("SALib")
    from sim.batch.sensitivity import analyse

    res = experiment(tmp_path, 'kind = "morris"\nsamples = 6')
    fake_batch(res, tmp_path, linear)
    t = analyse(res, tmp_path)["morris"]
    v = t[t["outcome"] == "village_population"].set_index("parameter")
    assert v.loc["services_closure_hazard", "rank"] == 1
    assert v.loc["services_closure_hazard", "mu_star"] == pytest.approx(1000, rel=1e-6)
    assert v.loc["demography_fertility_multiplier", "mu_star"] == pytest.approx(0, abs=1e-6)
    assert (v["mu_star_conf"] >= 0).all()
    r = t[t["outcome"] == "region_population"].set_index("parameter")
    assert r.loc["demography_fertility_multiplier", "mu_star"] == pytest.approx(50, rel=1e-6)
    out = tmp_path / "sensitivity"
    assert (out / "morris.csv").exists() and len(list(out.glob("morris_*.png"))) == 2
    assert len(list(out.glob("seeds_*.png"))) == 2


def test_sobol_indices_of_a_one_factor_function(tmp_path):
    """Sobol on y = 1000*hazard: S1 and ST of hazard near 1, of the other near 0, with
    bootstrap CIs."""
    pytest.importorskip("SALib")
    from sim.batch.sensitivity import analyse

    res = experiment(tmp_path, 'kind = "sobol"\nsamples = 128', replications=1)
    fake_batch(res, tmp_path, linear)
    t = analyse(res, tmp_path)["sobol"]
    v = t[t["outcome"] == "village_population"].set_index("parameter")
    assert v.loc["services_closure_hazard", "S1"] == pytest.approx(1, abs=0.1)
    assert v.loc["services_closure_hazard", "ST"] == pytest.approx(1, abs=0.1)
    assert abs(v.loc["demography_fertility_multiplier", "ST"]) < 0.02
    assert v.loc["services_closure_hazard", "S1_conf"] > 0
    assert (v["S1_conf"] >= 0).all() and (v["ST_conf"] >= 0).all()


def test_seeds_guidance_from_replications(tmp_path):
    """Seed noise of SD 1 (values -1, 0, 1): pooled seed SD 1; the interval half-width from
    n seeds is t(n-1)*sd/sqrt(n); the seeds needed reach the target; an outcome without
    noise needs 2."""
    pytest.importorskip("SALib")
    from scipy import stats

    from sim.batch.sensitivity import seeds_needed

    res = experiment(tmp_path, 'kind = "latin_hypercube"\nsamples = 4',
                     '[sensitivity]\ntarget_relative_half_width = 0.002')
    fake_batch(res, tmp_path, lambda f, r: {"village_population": 500 + NOISE[r],
                                            "region_population": 7.0})
    runs = pd.read_parquet(tmp_path / "runs.parquet")
    runs["upoint"] = runs["point"]
    curve, advice = seeds_needed(res, runs, ["village_population", "region_population"])
    a = advice.set_index("outcome")
    assert a.loc["village_population", "seed_sd"] == pytest.approx(1.0)
    n = int(a.loc["village_population", "seeds_needed"])
    t = [stats.t.ppf(0.975, k - 1) / np.sqrt(k) for k in (n - 1, n)]
    assert t[1] <= 0.002 * 500 < t[0]
    c = curve[curve["outcome"] == "village_population"].set_index("seeds")
    assert c.loc[3, "half_width"] == pytest.approx(stats.t.ppf(0.975, 2) / np.sqrt(3))
    assert a.loc["region_population", "seeds_needed"] == 2


def test_prim_finds_the_box_of_the_cases_of_interest(tmp_path):
    """Cases of interest where hazard > 0.6 (whatever fertility): PRIM's box restricts
    hazard to about [0.6, 1], leaves fertility free, and has high coverage and density;
    table, trajectory and plots are written."""
    pytest.importorskip("ema_workbench")
    from sim.batch.ema import discover, format_box

    res = experiment(tmp_path, 'kind = "latin_hypercube"\nsamples = 200',
                     '[discovery]\noutcome = "village_population"\nabove = 600',
                     replications=1)
    fake_batch(res, tmp_path, linear)
    found = discover(res, tmp_path)
    box = found["box"].set_index("factor")
    assert list(box.index) == ["services_closure_hazard"]
    assert box.loc["services_closure_hazard", "box_min"] == pytest.approx(0.6, abs=0.03)
    st = found["stats"].iloc[0]
    assert st["coverage"] >= 0.9 and st["density"] >= 0.9
    for f in ("prim_box.csv", "prim_box.png", "prim_tradeoff.png", "prim_trajectory.csv"):
        assert (tmp_path / "discovery" / f).exists()
    assert "| services_closure_hazard |" in format_box(found)


def test_ema_adapter_runs_landsim_through_the_workbench(tmp_path):
    """EMA's SequentialEvaluator runs landsim through the adapter; each experiment's
    outcomes equal the mean over the seeds of the same runs made directly."""
    pytest.importorskip("ema_workbench")
    from ema_workbench import SequentialEvaluator

    from sim.batch.ema import ema_model
    from sim.batch.experiment import RunSpec, apply_factors, run_seed
    from sim.batch.runner import execute

    res = experiment(tmp_path, 'kind = "latin_hypercube"\nsamples = 2', replications=2)
    model = ema_model(res)
    with SequentialEvaluator(model) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=2)
    assert len(experiments) == 2 and len(outcomes["village_population"]) == 2
    e = experiments.iloc[1]
    values = {f.label: float(e[f.label]) for f in res.factors}
    sc = apply_factors(res.scenarios[0], values, res.factors)
    direct = []
    for rep in model.replications:
        seed = run_seed(3, tuple(rep["spawn_key"]))
        assert seed == rep["seed"]
        t = execute(RunSpec(-1, sc, -1, rep["replication"], values, seed, 3,
                            tuple(rep["spawn_key"]), 0.01, tuple(res.experiment.outcomes.keep),
                            ()))
        direct.append(t[(t["year"] == 2022) & (t["outcome"] == "village_population")]
                      ["value"].iloc[0])
    assert outcomes["village_population"][1] == pytest.approx(np.mean(direct))


def test_summarise_distributions_and_fan_charts(tmp_path):
    """Per scenario, outcome and year: n, mean, median and 5-95% equal numpy's over the
    runs; a fan chart per outcome; `landsim summarise` prints the end-year table."""
    res = experiment(tmp_path, 'kind = "latin_hypercube"\nsamples = 5')
    fake_batch(res, tmp_path, linear)
    proc = subprocess.run([sys.executable, "-m", "sim", "summarise", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    t = pd.read_parquet(tmp_path / "summary" / "distributions.parquet")
    row = t[(t["outcome"] == "village_population") & (t["year"] == 2022)].iloc[0]
    vals = [linear(s.factors, s.replication)["village_population"] for s in plan(res)]
    assert row["n"] == 15
    assert row["median"] == pytest.approx(np.median(vals))
    assert row["p5"] == pytest.approx(np.quantile(vals, 0.05))
    assert row["p95"] == pytest.approx(np.quantile(vals, 0.95))
    assert row["mean"] == pytest.approx(np.mean(vals))
    assert (tmp_path / "summary" / "fan_village_population.png").exists()
    assert "village_population" in proc.stderr


def test_summarise_refuses_a_folder_without_results(tmp_path):
    """`landsim summarise` on a folder that is not a batch: exit 2 and a clear message."""
    proc = subprocess.run([sys.executable, "-m", "sim", "summarise", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2
    assert "no runs.parquet" in proc.stderr and "Traceback" not in proc.stderr


def test_summarise_names_a_damaged_part_and_writes_nothing(tmp_path):
    """Rule: a part damaged after it was written (here: truncated) gives exit 2 and one line
    naming the part and the fix, no traceback, and no summary folder."""
    res = experiment(tmp_path, 'kind = "latin_hypercube"\nsamples = 2')
    fake_batch(res, tmp_path, linear)
    part = sorted((tmp_path / "parts").rglob("run-*.parquet"))[1]
    part.write_bytes(part.read_bytes()[:50])
    proc = subprocess.run([sys.executable, "-m", "sim", "summarise", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert f"{part}: not a readable part of a landsim batch" in proc.stderr
    assert not (tmp_path / "summary").exists()


def test_sensitivity_command_on_a_tiny_real_batch(tmp_path):
    """`landsim sensitivity` runs a tiny Morris batch on Dask and writes the ranking, the
    seeds guidance and plots; a second call resumes (nothing to run) and agrees."""
    pytest.importorskip("SALib")
    pytest.importorskip("distributed")
    res = experiment(tmp_path, 'kind = "morris"\nsamples = 2', replications=2)
    cmd = [sys.executable, "-m", "sim", "sensitivity", str(res.path), "--out", str(tmp_path),
           "--workers", "2", "--no-progress"]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "Morris ranking" in first.stderr and "seeds for" in first.stderr
    m1 = pd.read_csv(tmp_path / "known" / "sensitivity" / "morris.csv")
    assert len(m1) == 4 and set(m1["rank"]) <= {1, 2}
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert second.returncode == 0 and "12 already done" in second.stderr
    pd.testing.assert_frame_equal(m1, pd.read_csv(tmp_path / "known" / "sensitivity" /
                                                  "morris.csv"))
