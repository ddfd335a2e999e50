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


def test_compare_keeps_costs_volunteers_and_what_each_million_buys(comparison):
    """Rule: the folder holds the costs per arm, seed, item and place, the volunteer capacity
    per arm, seed, year and place, and per outcome and cost end the difference per DKK
    million; the per million of residents is the mean over seeds of the paired difference
    in the targeted places' last-year residents over the seed's extra cost."""
    costs = pd.read_parquet(comparison / "costs_seeds.parquet")
    assert set(costs["arm"]) == {"scenario"} and (costs["kind"] == "coop_grocer").all()
    assert (costs["cost_low"] <= costs["cost_central"]).all()
    assert (costs["cost_central"] <= costs["cost_high"]).all()
    com = pd.read_parquet(comparison / "community_year_seeds.parquet")
    base = com[com["arm"] == "baseline"]
    assert (base["used"] == 0).all() and np.allclose(base["available"], base["potential"])
    assert com["year"].min() == 2022 and com["year"].max() == 2025
    scen = com[com["arm"] == "scenario"]
    m = json.loads((comparison / "manifest.json").read_text())
    tg = np.asarray(m["targeted_places"])
    hours = scen[scen["place_id"].isin(tg) & (scen["year"] >= 2023)]["used"]
    assert (hours > 0).any()
    eff = pd.read_parquet(comparison / "effectiveness.parquet")
    assert set(eff["cost_end"]) == {"low", "central", "high"}
    e = eff[(eff["outcome"] == "residents") & (eff["cost_end"] == "central")].iloc[0]
    py = pd.read_parquet(comparison / "place_year_seeds.parquet")
    last = py[(py["year"] == 2025) & py["place_id"].isin(tg)]
    g = last.groupby(["arm", "seed"])["population"].sum()
    diff = (g["scenario"] - g["baseline"]).sort_index()
    cost = costs.groupby("seed")["cost_central"].sum().sort_index()
    assert e["per_million"] == pytest.approx(float((diff / (cost / 1e6)).mean()), rel=1e-4)
    assert e["cost_dkk"] == pytest.approx(float(cost.mean()))


def test_compare_runs_a_magnitude_at_an_end_of_its_range(tmp_path):
    """Rule: --vary KIND.SETTING --at low runs the scenario with that setting at the low end
    of its range; the manifest names the scenario it varies, the magnitude and the value."""
    (tmp_path / "baseline.toml").write_text('name = "baseline"\n[years]\nend = 2023\n')
    (tmp_path / "n.toml").write_text(
        '# Nature?\nname = "n"\nbase = "baseline.toml"\n[[initiatives]]\n'
        "kind = 'nature_project'\nstart = 2022\n[initiatives.target]\nplaces = ['Asp']\n")
    assert main(["compare", str(tmp_path / "n.toml"), "--seeds", "2", "--scale", "0.02",
                 "--out", str(tmp_path / "out"), "--vary", "nature_project.nature_gain",
                 "--at", "low"]) == 0
    folder = tmp_path / "out" / "compare-n.nature_project.nature_gain-low"
    m = json.loads((folder / "manifest.json").read_text())
    assert m["varied"] == {"of": "n", "at": "low", "names": ["nature_project.nature_gain"],
                           "values": {"nature_project.nature_gain": 0.1}}
    assert m["resolved_scenario"]["initiatives"][0]["settings"]["nature_gain"] == 0.1


def test_vary_needs_at_and_a_known_magnitude(comparison, tmp_path, capsys):
    """Rule: --vary without --at, or a name the scenario has no range for, is one clear
    message and exit 2 (nothing is run)."""
    d = comparison.parent.parent
    scen = str(d / "coop.toml")
    assert main(["compare", scen, "--seeds", "2", "--vary", "coop_grocer.threshold_factor",
                 "--out", str(tmp_path)]) == 2
    assert "--vary and --at go together" in capsys.readouterr().err
    assert main(["compare", scen, "--seeds", "2", "--vary", "coop_grocer.threshold_fctor",
                 "--at", "low", "--out", str(tmp_path)]) == 2
    assert "did you mean 'coop_grocer.threshold_factor'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
