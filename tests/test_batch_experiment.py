"""Experiment files: validation messages, designs, seeds, outcomes (no Dask needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.batch.experiment import (
    apply_factors,
    check,
    design_points,
    parameter_info,
    plan,
    run_seed,
)
from sim.batch.outcomes import _places, outcome_table, village_mask
from sim.batch.runner import execute
from sim.params import default_parameters
from sim.scenario import parameters

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"


def write(tmp_path: Path, body: str, name: str = "exp.toml") -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


BASIC = f"""
name = "t"
scenarios = ["{SCEN / 'baseline.toml'}"]
replications = 2
seed = 7
scale = 0.01
end_year = 2022
"""


@pytest.fixture(scope="module")
def places() -> pd.DataFrame:
    return _places()


def test_shipped_experiments_are_valid(places):
    """Every experiment file shipped in experiments/ validates without problems."""
    files = sorted((ROOT / "experiments").glob("*.toml"))
    assert len(files) >= 3
    for f in files:
        res, problems = check(f, places)
        assert problems == [], problems
        assert len(plan(res)) > 0


def test_every_problem_reported_with_file_field_and_hint(tmp_path, places):
    """Bad experiment: one line per problem naming the file, the field and a fix."""
    p = write(tmp_path, BASIC + """
[design]
kind = "latin_hypercube"
[[uncertainties]]
path = "services.closure_hazzard"
[[uncertainties]]
path = "relocation.move_rate[9]"
[[uncertainties]]
path = "relocation.weights.grocer[1]"
[outcomes]
keep = ["village_populaton"]
places = ["Aspp"]
""")
    res, problems = check(p, places)
    assert res is None
    text = "\n".join(problems)
    assert all(line.startswith(str(p)) for line in problems)
    assert "did you mean 'closure_hazard'" in text
    assert "no element [9]; it has 4" in text
    assert "no documented upper" in text and "range = [low, high]" in text
    assert "did you mean 'village_population'" in text
    assert "Asp" in text
    assert "design.samples is required" in text


def test_designs_too_large_or_not_finite_are_refused_before_drawing(tmp_path, places):
    """Rule: an experiment of more than MAX_RUNS runs is refused from its counts alone (a
    billion Latin-hypercube points are never drawn); ranges must be finite; element numbers
    start at 1."""
    from sim.batch.experiment import MAX_RUNS

    huge = BASIC + ('[design]\nkind = "latin_hypercube"\nsamples = 1000000000\n'
                    '[[uncertainties]]\npath = "services.closure_hazard"\n')
    _, probs = check(write(tmp_path, huge), places)
    assert any(f"more than {MAX_RUNS:,}" in x for x in probs), probs
    nan = BASIC + '[[uncertainties]]\npath = "services.closure_hazard"\nrange = [nan, 1.0]\n'
    _, probs = check(write(tmp_path, nan, "nan.toml"), places)
    assert any("must be two finite numbers" in x for x in probs), probs
    zero = BASIC + '[[uncertainties]]\npath = "relocation.move_rate[0]"\n'
    _, probs = check(write(tmp_path, zero, "zero.toml"), places)
    assert any("element numbers in [] start at 1" in x for x in probs), probs


def test_unknown_key_and_bad_toml(tmp_path, places):
    """Unknown keys are rejected by name; broken TOML and missing files say so."""
    _, probs = check(write(tmp_path, BASIC + "replicatons = 3\n"), places)
    assert any("unknown field 'replicatons'" in x for x in probs)
    _, probs = check(write(tmp_path, "name = [", "bad.toml"), places)
    assert "not valid TOML" in probs[0]
    _, probs = check(tmp_path / "nope.toml", places)
    assert "file not found" in probs[0]


def test_default_range_is_the_parameters_documented_bounds():
    """Without a range, a parameter varies over its ge/le bounds in sim.params."""
    assert parameter_info("services.closure_hazard") == (0.3, 0.0, 1.0)
    assert parameter_info("relocation.move_rate[1]") == (0.25, 0.0, 1.0)
    assert parameter_info("demography.fertility_multiplier")[1:] == (0.5, 1.5)
    default, lo, hi = parameter_info("services.closure_years")
    assert (default, lo, hi) == (3, 1, 10)


def test_range_outside_bounds_rejected(tmp_path, places):
    """A range leaving the parameter's plausible bounds is an error naming the bounds."""
    p = write(tmp_path, BASIC + """
[design]
kind = "latin_hypercube"
samples = 2
[[uncertainties]]
path = "services.closure_hazard"
range = [0.1, 1.5]
""")
    _, problems = check(p, places)
    assert any("leaves the parameter's bounds [0.0, 1.0]" in x for x in problems)


def test_factors_reach_the_model_parameters_and_initiatives(places):
    """Factor values end up in the run's Parameters and in the initiative's fields."""
    res, problems = check(ROOT / "experiments" / "coop_grocer_prim.toml", places)
    assert not problems
    values = {f.label: f.from_unit(0.5) for f in res.factors}
    values["coop_type"] = "C"
    values["start_year"] = 2031
    sc = apply_factors(res.scenarios[0], values, res.factors)
    p = parameters(sc)
    assert p.services.closure_hazard == values["services_closure_hazard"]
    assert p.relocation.move_rate[1] == values["relocation_move_rate_2"]
    # other elements keep the calibrated defaults the scenario starts from
    assert p.relocation.move_rate[0] == default_parameters().relocation.move_rate[0]
    assert sc.initiatives[0].settings["type"] == "C" and sc.initiatives[0].start == 2031
    assert sc.years.end == 2050


def test_designs_have_the_documented_sizes(tmp_path, places):
    """LHS: samples points; full factorial: levels^k; Morris: r(k+1); Sobol: N(k+2);
    levers multiply every design; replications multiply runs."""
    unc = """
[[uncertainties]]
path = "services.closure_hazard"
[[uncertainties]]
path = "demography.fertility_multiplier"
"""
    sizes = {'kind = "latin_hypercube"\nsamples = 5': 5,
             'kind = "full_factorial"\nlevels = 3': 9,
             'kind = "morris"\nsamples = 3': 9,
             'kind = "sobol"\nsamples = 4': 16}
    for design, n in sizes.items():
        res, problems = check(write(tmp_path, BASIC + "[design]\n" + design + unc), places)
        assert not problems, problems
        assert len(design_points(res)) == n
        assert len(plan(res)) == 2 * n
    lever = """
[[levers]]
path = "services.closure_years"
values = [2, 4]
"""
    res, _ = check(write(tmp_path, BASIC + '[design]\nkind = "latin_hypercube"\nsamples = 5\n'
                         + unc + lever), places)
    assert len(design_points(res)) == 10


def test_lhs_is_stratified_and_reproducible(tmp_path, places):
    """Latin hypercube: one point in each of the n strata of every factor; same seed,
    same points."""
    body = BASIC + """
[design]
kind = "latin_hypercube"
samples = 10
[[uncertainties]]
path = "services.closure_hazard"
"""
    res, _ = check(write(tmp_path, body), places)
    x = np.array([p["services_closure_hazard"] for p in design_points(res)])
    assert sorted(np.floor(x * 10).astype(int)) == list(range(10))
    res2, _ = check(write(tmp_path, body, "again.toml"), places)
    assert [p["services_closure_hazard"] for p in design_points(res2)] == list(x)


def test_seeds_spawned_per_run_and_recreatable(tmp_path, places):
    """Each run has its own child SeedSequence; its integer seed is recomputed from the
    stored entropy and spawn key alone; common_random_numbers shares seeds per replication."""
    body = BASIC + """
[design]
kind = "latin_hypercube"
samples = 3
[[uncertainties]]
path = "services.closure_hazard"
"""
    res, _ = check(write(tmp_path, body), places)
    runs = plan(res)
    assert len({r.seed for r in runs}) == len(runs)
    assert len({r.spawn_key for r in runs}) == len(runs)
    for r in runs:
        assert run_seed(r.entropy, r.spawn_key) == r.seed
        assert r.seed == int(np.random.SeedSequence(7, spawn_key=r.spawn_key)
                             .generate_state(1, np.uint64)[0] >> np.uint64(1))
    crn = body.replace("seed = 7", "seed = 7\ncommon_random_numbers = true")
    res, _ = check(write(tmp_path, crn, "crn.toml"), places)
    runs = plan(res)
    by_rep = {}
    for r in runs:
        by_rep.setdefault(r.replication, set()).add(r.seed)
    assert all(len(s) == 1 for s in by_rep.values()) and len(by_rep) == 2


def test_outcomes_from_a_place_year_table(places):
    """Village outcomes use the fixed set of 2021 towns of 200-999; per-place outcomes
    pick the named place; values are computed per year."""
    villages = village_mask(places)
    pops = places["population"].to_numpy(float)
    assert (pops[villages] >= 200).all() and (pops[villages] < 1000).all()
    assert (places["kind"][villages] == "town").all()
    n = len(places)
    py = pd.DataFrame({"year": np.repeat([2021, 2022], n),
                       "place_id": np.tile(np.arange(n), 2),
                       "population": np.concatenate([pops, pops * 2]),
                       "grocer_open": np.tile((np.arange(n) % 2), 2)})
    pid = int(places.index[places["name"] == "Asp"][0])
    t = outcome_table(py, ("village_population", "villages_without_grocer",
                           "region_population"), (("Asp", pid, "sh"),), places)
    w = t.pivot(index="year", columns="outcome", values="value")
    assert w.loc[2021, "village_population"] == pops[villages].sum()
    assert w.loc[2022, "village_population"] == 2 * pops[villages].sum()
    assert w.loc[2021, "villages_without_grocer"] == \
        ((np.arange(n) % 2 == 0) & villages).sum()
    assert w.loc[2022, "region_population"] == 2 * pops.sum()
    assert w.loc[2021, "population_sh"] == pops[pid]
    assert w.loc[2021, "grocer_sh"] == float(pid % 2)


def test_a_run_is_a_pure_function_of_its_spec(tmp_path, places):
    """The same RunSpec gives the same table; another seed gives another."""
    body = BASIC + '[outcomes]\nplaces = ["Asp"]\n'
    res, _ = check(write(tmp_path, body), places)
    a, b = plan(res)
    t1, t2, t3 = execute(a), execute(a), execute(b)
    pd.testing.assert_frame_equal(t1, t2)
    assert not t1.equals(t3)
    assert set(t1["year"]) == {2021, 2022}
    assert "population_asp" in set(t1["outcome"])
