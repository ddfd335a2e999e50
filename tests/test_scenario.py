"""Scenario files: validation with clear messages, inheritance, targeting, and runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.model import RegionModel
from sim.places import build_places
from sim.scenario import (
    ScenarioError,
    check,
    json_schema,
    load,
    parameters,
    read_raw,
    resolve_target,
)

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def places():
    return build_places().places


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


GOOD = """
name = "t"
[years]
end = 2030
[[initiatives]]
kind = "coop_grocer"
start = 2025
[initiatives.target]
municipalities = ["Lemvig"]
population = [300, 1000]
"""


@pytest.mark.parametrize("text,needles", [
    (GOOD.replace('start = 2025', 'start = "soon"'),
     ["initiatives[1].start", "'soon'", "valid integer"]),
    (GOOD + "colour = 'red'\n", ["unknown field 'initiatives[1].target.colour'"]),
    (GOOD.replace('["Lemvig"]', '["Lemvg"]'),
     ["initiatives[1].target.municipalities", "'Lemvg' is not a municipality",
      "did you mean 'Lemvig'?"]),
    (GOOD.replace('start = 2025', 'start = 2025\nbudget_dkk = -5'),
     ["initiatives[1].budget_dkk", "greater than or equal to 0"]),
    (GOOD.replace('start = 2025', 'start = 2025\nbudget_dkk = 5\ncosts = { start_dkk = 6 }'),
     ["initiatives[1]", "start cost is given twice", "remove budget_dkk"]),
    (GOOD.replace('start = 2025', 'start = 2025\ncosts = { yearly = 6 }'),
     ["unknown field 'initiatives[1].costs.yearly'"]),
    (GOOD + "[community]\nbound_shar = 0.5\n", ["unknown field 'community.bound_shar'"]),
    (GOOD + "[community]\nlocal_share = 2\n", ["community.local_share", "less than or equal"]),
    (GOOD.replace('end = 2030', 'end = 2200'), ["years.end", "2200"]),
    (GOOD.replace('start = 2025', 'start = 2019'), ["initiatives[1].start", "2019"]),
    (GOOD.replace('kind = "coop_grocer"', 'kind = "coop_grocers"'),
     ["unknown initiative kind", "did you mean 'coop_grocer'?"]),
    (GOOD + '[initiatives.settings]\ntype = "Z"\n', ["initiatives[1].settings.type", "'Z'"]),
    (GOOD + "[parameters]\nrelocation.rounds = 99\n", ["parameters.relocation.rounds"]),
    ("name = 'bad name!'\n", ["field 'name'", "pattern"]),
    ("name = \n", ["not valid TOML"]),
])
def test_malformed_files_get_clear_messages(tmp_path, places, text, needles):
    """Rule: each problem names the file, the 1-based item and field, the value, the rule."""
    p = _write(tmp_path, "s.toml", text)
    sc, problems = check(p, places)
    assert sc is None and problems
    joined = "\n".join(problems)
    assert str(p) in joined
    for n in needles:
        assert n in joined, joined


def test_every_problem_is_reported_at_once(tmp_path, places, capsys):
    """Rule: `landsim validate` lists all problems of all files and exits 2, no traceback."""
    a = _write(tmp_path, "a.toml", GOOD.replace('["Lemvig"]', '["Lemvg"]')
               .replace('start = 2025', 'start = 2025\nbudget_dkk = -1'))
    b = _write(tmp_path, "b.toml", GOOD + "colour = 1\n")
    assert main(["validate", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "Lemvg" in err and "budget_dkk" in err and "colour" in err
    assert "Traceback" not in err and "3 problem(s)" in err


def test_circular_and_missing_base_are_reported(tmp_path, places):
    """Rule: a base chain that loops, or points nowhere, is a clear error."""
    _write(tmp_path, "a.toml", 'name = "a"\nbase = "b.toml"\n')
    _write(tmp_path, "b.toml", 'name = "b"\nbase = "a.toml"\n')
    _, problems = check(tmp_path / "a.toml", places)
    assert "circular inheritance" in problems[0]
    _write(tmp_path, "c.toml", 'name = "c"\nbase = "nope.toml"\n')
    _, problems = check(tmp_path / "c.toml", places)
    assert "field 'base'" in problems[0] and "not found" in problems[0]


@pytest.mark.parametrize("child,parent", [
    ('initiatives = "coop"\n', None), ("trends = {a = 1}\n", None),
    ("initiatives = [1, 2]\n", None), ("", 'name = "p"\ninitiatives = 5\n'),
    ("", 'name = "p"\ntrends = [{kind = "remote_work"}, 3]\n')])
def test_inherited_initiatives_or_trends_that_are_not_lists_of_tables(tmp_path, places,
                                                                      child, parent):
    """Rule: with `base`, an initiatives or trends that is not a list of tables (in the
    child or in its base) is one problem naming that file and field, not a TypeError."""
    base = _write(tmp_path, "p.toml", parent) if parent else tmp_path / "baseline.toml"
    if not parent:
        _write(tmp_path, "baseline.toml", 'name = "baseline"\n')
    c = _write(tmp_path, "c.toml", f'name = "c"\nbase = "{base.name}"\n{child}')
    _, problems = check(c, places)
    assert len(problems) == 1
    culprit = c if child else base
    assert problems[0].startswith(f"{culprit}: field '") and "must be a list of tables" in \
        problems[0]


@pytest.mark.parametrize("base,needle", [
    (".", "a folder, not a file"), ("/dev/zero", "/dev/zero: a device, not a regular file"),
    ("fifo.toml", "a named pipe (FIFO)"), ("", "must be the name of a scenario file"),
    ("s16.toml", "saved as UTF-16")])
def test_a_base_that_is_not_a_scenario_file_is_one_problem(tmp_path, places, base, needle):
    """Rule: a base that is a folder, a device, a pipe, empty or not UTF-8 is one problem
    naming the inheriting file and field 'base'; the device or pipe is never read."""
    import os

    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "s16.toml").write_bytes('name = "x"\n'.encode("utf-16"))
    c = _write(tmp_path, "c.toml", f'name = "c"\nbase = "{base}"\n')
    _, problems = check(c, places)
    assert len(problems) == 1 and problems[0].startswith(f"{c}: field 'base'")
    assert needle in problems[0]


def test_parameters_set_twice_in_one_file_are_a_problem(tmp_path, places):
    """Rule: a quoted dotted key and a table setting the same parameter are reported, not
    silently resolved; a dotted key in a child overrides a table in its base."""
    c = _write(tmp_path, "c.toml", 'name = "c"\n[parameters]\n"relocation.rounds" = 3\n'
               "relocation.rounds = 4\n")
    _, problems = check(c, places)
    assert problems == [f"{c}: parameters: two keys set 'relocation.rounds' (a dotted key and "
                        "a table, or a quoted and an unquoted key); give it once"]
    _write(tmp_path, "b.toml", 'name = "b"\n[parameters.relocation]\nrounds = 2\n')
    k = _write(tmp_path, "k.toml", 'name = "k"\nbase = "b.toml"\n[parameters]\n'
               '"relocation.rounds" = 5\n')
    sc, problems = check(k, places)
    assert not problems and sc.parameters == {"relocation": {"rounds": 5}}


def test_inheritance_deep_merges_and_adds_initiatives(tmp_path, places):
    """Rule: a child overrides its base's values and adds its initiatives to the base's."""
    _write(tmp_path, "base.toml", GOOD + "[parameters]\nrelocation.rounds = 2\n")
    child = _write(tmp_path, "child.toml", 'name = "child"\nbase = "base.toml"\n'
                   "[parameters.relocation]\nmove_rate = [0.3, 0.1, 0.1, 0.05]\n"
                   "[[initiatives]]\nkind = 'coop_grocer'\nstart = 2026\n"
                   "[initiatives.target]\nplaces = ['Ramme']\n")
    sc = load(child, places)
    p = parameters(sc)
    assert p.relocation.rounds == 2 and p.relocation.move_rate[0] == 0.3
    assert sc.name == "child" and len(sc.initiatives) == 2 and p.end_year == 2030
    assert read_raw(child)["years"]["end"] == 2030


def test_scenario_without_initiatives_reproduces_the_baseline_bit_for_bit(places):
    """Rule: same seed, no initiatives -> identical results to a plain run."""
    sc = load(SCENARIOS / "baseline.toml", places)
    p = parameters(sc).with_overrides(scale=0.01, end_year=2024)
    a = RegionModel(p, seed=3, scenario=sc)
    a.run()
    b = RegionModel(p, seed=3)
    b.run()
    assert a.place_year().equals(b.place_year())


def test_targets_resolve_by_names_and_criteria(places):
    """Rule: criteria select exactly the places that satisfy all of them."""
    sc = load(SCENARIOS / "coop_grocers_west.toml", places)
    m = RegionModel(parameters(sc).with_overrides(scale=0.2, end_year=2022), seed=0)
    idx = resolve_target(sc.initiatives[0].target, m)
    assert len(idx) > 0
    t = m.world.places.iloc[idx]
    assert set(t["municipality"]) <= {"Lemvig", "Struer"}
    pop = m.world.places["population"].to_numpy()[idx]  # data 2021: seed-independent
    assert (pop >= 300).all() and (pop <= 1000).all()
    assert (m.services.open_count(m.world.n)[idx, 0] == 0).all()


def test_json_schema_is_exported(tmp_path):
    """Rule: `landsim schema` writes a JSON Schema editors can use."""
    out = tmp_path / "s.json"
    assert main(["schema", "--out", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert schema == json_schema() and "initiatives" in schema["properties"]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_scenarios_validate_and_run(path, places):
    """Rule: every shipped scenario is valid, explains its question and runs."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#") and "?" in text.split("\n\n")[0]
    sc = load(path, places)
    m = RegionModel(parameters(sc).with_overrides(scale=0.01, end_year=2029), seed=1,
                    scenario=sc)
    m.run()
    assert m.year == 2029
    if sc.initiatives:
        ev = m.initiative_events()
        assert (ev["event"] == "started").any() or all(
            len(getattr(o, "places", [1])) == 0 for o in m.interventions)


def test_scenario_error_exception_lists_problems(tmp_path, places):
    """Rule: load() raises with every problem, one line each."""
    p = _write(tmp_path, "s.toml", GOOD.replace('["Lemvig"]', '["Nowhere"]'))
    with pytest.raises(ScenarioError) as e:
        load(p, places)
    assert len(e.value.problems) == 1 and "Nowhere" in str(e.value)
    assert np.all([str(p) in line for line in e.value.problems])


def test_similar_to_targets_the_k_most_similar_places(places, tmp_path):
    """Rule: `similar_to` selects exactly the places `landsim similar` lists; a misspelt
    reference gets a clear message."""
    from sim.similar import find_place, similar

    sc = load(SCENARIOS / "copy_coop_grocer.toml", places)
    m = RegionModel(parameters(sc).with_overrides(scale=0.05, end_year=2022), seed=0)
    idx = resolve_target(sc.initiatives[0].target, m)
    want = similar(m, find_place(m.world.places, "Ramme"), k=5)["place_id"].to_numpy()
    assert sorted(idx.tolist()) == sorted(want.tolist())
    bad = _write(tmp_path, "b.toml", (SCENARIOS / "copy_coop_grocer.toml").read_text()
                 .replace('"Ramme"', '"Rame"').replace('base = "baseline.toml"\n', ""))
    _, problems = check(bad, places)
    assert any("similar_to" in p and "did you mean" in p for p in problems)


def test_costs_and_community_rules_reach_the_run(tmp_path, places):
    """Rule: an item's costs table replaces the kind's costs (the older budget_dkk is its
    start cost) and the scenario's [community] table is the rules of the run's volunteer
    capacity."""
    text = GOOD.replace('start = 2025', 'start = 2025\ncosts = { yearly_dkk = 5000 }') + (
        "[[initiatives]]\nkind = 'car_sharing'\nstart = 2025\nbudget_dkk = 70000\n"
        "[initiatives.target]\nplaces = ['Asp']\n[community]\nbound_share = 0.63\n")
    sc = load(_write(tmp_path, "c.toml", text), places)
    m = RegionModel(parameters(sc).with_overrides(scale=0.02), seed=0, scenario=sc)
    coop, car = m.interventions.initiatives
    assert coop.cost_rates().yearly_dkk == 5000 and coop.cost_rates().start_dkk > 0
    assert car.cost_rates().start_dkk == 70000
    assert m.interventions.rules.bound_share == 0.63
