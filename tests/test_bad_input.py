"""Bad input never crashes: a corpus of 900 bad and odd files, and property-based tests.

Every file goes through the CLI in-process (``sim.cli.main``): ``validate`` for scenarios,
``run --params`` and ``validate-model --params`` for parameter files, ``batch --dry-run`` for
experiments, ``calibrate`` for calibration files, ``report`` for comparison folders; and
through the library loaders. A valid file reaches the expensive work, which a sentinel
stands in for (see ``tests/bad_input_corpus.py``); a bad one must end with exit status 2
and a line naming the file; nothing may end in a traceback, hang or write a result.
"""

from __future__ import annotations

import codecs
import functools
import json
import math
from collections import Counter
from pathlib import Path

import bad_input_corpus as corpus
import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.infra import deep_merge
from sim.params import Parameters

ROOT = Path(__file__).resolve().parents[1]
PROPS = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def stand_ins():
    """Cached places and sentinels for the expensive work behind a valid file."""
    with pytest.MonkeyPatch.context() as mp:
        for module, name, value in corpus.stand_ins():
            mp.setattr(module, name, value)
        yield


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """A folder laid out like the repository (shipped scenarios next to the test files)."""
    root = tmp_path_factory.mktemp("layout")
    corpus.copy_shipped(root)
    (root / "calibration").mkdir()
    (root / "parameters").mkdir()
    return root


def _check(kind: str, path: Path, out: Path) -> corpus.Outcome:
    """Run the case and assert the rule: exit 0 or 2, no traceback, exit 2 names the file."""
    o = corpus.run_case(corpus.Case(kind, "property", path), out, seconds=30)
    assert o.status in ("exit2", "valid"), (o.status, o.crash, o.stderr[-500:], o.codes)
    return o


# --------------------------------------------------------------------------- the corpus
def test_corpus_of_bad_files_gives_no_traceback(stand_ins, tmp_path, capsys):
    """Rule: of at least 500 generated and hand-made bad or odd files (every class of
    issue 12 and more), none ends in a traceback, a hang or another exit status; every
    exit 2 names the file; the hand-made bad ones are refused and the odd-but-valid ones
    accepted; nothing is written."""
    cases = corpus.build(tmp_path / "files")
    results = corpus.run_all(cases, tmp_path / "out")
    counts = corpus.summary(results)
    by_class = Counter((r.case.cls.split(":")[0], r.status) for r in results)
    with capsys.disabled():
        print(f"\nbad-input corpus: {json.dumps(counts)}")
    bad = [(r.status, r.case.kind, r.case.cls, str(r.case.path), r.crash or r.stderr[-300:])
           for r in results if r.status not in ("exit2", "valid")]
    assert not bad, bad[:10]
    assert counts["tried"] >= 500 and counts["exit2"] >= 400 and counts["valid"] >= 30
    for cls in ("encoding", "inherit_not_list", "base_unusable", "deep_nesting", "path",
                "binary", "huge_value", "experiment_odd", "report"):
        assert by_class[(cls, "exit2")] > 0, cls
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


# --------------------------------------------------------------------------- strategies
def _near(words: list[str]) -> st.SearchStrategy[str]:
    """The real names, names one letter off, and any short text."""
    real = st.sampled_from(words or ["x"])
    off = st.tuples(real, st.integers(0, 30), st.sampled_from(["drop", "double", "upper"])).map(
        lambda t: (t[0][:t[1]] + t[0][t[1] + 1:] if t[2] == "drop" else
                   t[0][:t[1]] + t[0][t[1]:t[1] + 1] * 2 + t[0][t[1] + 1:] if t[2] == "double"
                   else t[0].upper()) or "x")
    return st.one_of(real, real, off, st.text(min_size=1, max_size=12))


SCALARS = st.one_of(
    st.integers(-(10 ** 6), 10 ** 6), st.integers(-(10 ** 40), 10 ** 40),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.text(max_size=30),
    st.sampled_from([2021, 2022, 2027, 2050, 2101, 0, -1, 0.5, 1.0, "baseline.toml",
                     "coop_grocer", "remote_work", "Lemvig", "Thyborøn", "grocer", "B",
                     "services.closure_hazard", "relocation.move_rate[2]", "initiatives[1].start",
                     "latin_hypercube", "sobol", "morris"]),
    st.datetimes())


def _values(keys: st.SearchStrategy[str]) -> st.SearchStrategy:
    return st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(keys, inner, max_size=4), max_leaves=10)


def _mostly(good: st.SearchStrategy, bad: st.SearchStrategy = SCALARS) -> st.SearchStrategy:
    """Nine times in ten a plausible value, else anything (so that the later checks of a
    file are reached, not only the first)."""
    return st.integers(0, 9).flatmap(lambda i: bad if i == 0 else good)


def _table(fields: dict[str, st.SearchStrategy], keys: list[str],
           required: dict[str, st.SearchStrategy] | None = None) -> st.SearchStrategy[dict]:
    """Tables with some of the real fields (mostly right, sometimes wrong values) and now
    and then an odd extra key."""
    extra = _mostly(st.just({}), st.dictionaries(_near(keys), _values(_near(keys)),
                                                 min_size=1, max_size=2))
    return st.tuples(st.fixed_dictionaries(required or {}, optional=fields), extra).map(
        lambda t: {**t[1], **t[0]})


def _params_keys() -> list[str]:
    d = Parameters().resolved()
    return sorted({*d, *(k for v in d.values() if isinstance(v, dict) for k in v)})


_DEFAULTS = Parameters().resolved()
_LEAVES = sorted((sec, k) for sec, v in _DEFAULTS.items() if isinstance(v, dict) for k in v)


def _leaf(section_key: tuple[str, str]) -> st.SearchStrategy[dict]:
    """One real parameter: its default, a nearby value of its shape, or anything."""
    sec, key = section_key
    default = _DEFAULTS[sec][key]
    if isinstance(default, list):
        alt = st.lists(st.floats(-1, 3), max_size=6)
    elif isinstance(default, dict):
        alt = st.dictionaries(_near(sorted(default)), st.lists(st.floats(-1, 3), max_size=5),
                              max_size=2)
    else:
        alt = st.one_of(st.floats(-1, 3), st.integers(-5, 50))
    return st.one_of(st.just(default), alt, alt, SCALARS).map(lambda v: {sec: {key: v}})


#: Real parameter tables with a few values changed (kept, moved, out of range, wrong type).
REAL_PARAMS = st.lists(st.sampled_from(_LEAVES).flatmap(_leaf), max_size=3).map(
    lambda parts: functools.reduce(deep_merge, parts, {}))
PARAM_KEYS = _params_keys()
PARAMS = _mostly(REAL_PARAMS, st.dictionaries(_near(PARAM_KEYS), st.one_of(
    st.dictionaries(_near(PARAM_KEYS), _values(_near(PARAM_KEYS)), max_size=4),
    _values(_near(PARAM_KEYS))), max_size=4))
TARGET_KEYS = ["places", "parishes", "municipalities", "kind", "population", "size_class",
               "has", "lacks", "min_km_to", "municipal_trend_max_pct", "similar_to", "k"]
TARGET = _table({
    "places": _mostly(st.lists(_near(["Thyborøn", "Sønder Hjerm", "Lemvig"]), max_size=2)),
    "municipalities": _mostly(st.lists(_near(["Lemvig", "Struer", "Skive"]), max_size=2)),
    "kind": _mostly(st.sampled_from(["town", "countryside", "any"])),
    "population": _mostly(st.lists(st.integers(-10, 5000), min_size=2, max_size=2)),
    "lacks": _mostly(st.lists(_near(["grocer", "school", "doctor"]), max_size=2)),
    "min_km_to": _mostly(st.dictionaries(_near(["grocer", "school"]), st.floats(-5, 50),
                                         max_size=2)),
    "similar_to": _mostly(_near(["Sønder Hjerm", "Thyborøn, Lemvig", "Nowhere"])),
    "k": _mostly(st.integers(-1, 200)),
    **{k: SCALARS for k in ("parishes", "size_class", "has", "municipal_trend_max_pct")}},
    TARGET_KEYS)
ITEM_KEYS = ["kind", "name", "start", "end", "target", "budget_dkk", "settings"]
INITIATIVE = _table({"end": _mostly(st.integers(2015, 2110)),
                     "budget_dkk": _mostly(st.floats(-10, 1e7)),
                     "name": _mostly(st.text(max_size=10)),
                     "settings": _mostly(st.dictionaries(
                         _near(["type", "volunteer_hours", "fail_years", "access_km"]),
                         _mostly(st.one_of(st.sampled_from(["A", "B", "C"]),
                                           st.integers(-1, 100), st.floats(-1, 1e6))),
                         max_size=2))},
                    ITEM_KEYS,
                    required={"kind": _mostly(_near(["coop_grocer", "village_school",
                                                     "car_sharing", "health_outreach",
                                                     "flex_transit"])),
                              "start": _mostly(st.integers(2015, 2110)),
                              "target": _mostly(TARGET)})
TREND = _table({"end": _mostly(st.integers(2015, 2110)),
                "settings": _mostly(st.dictionaries(_near(["share", "factor"]), SCALARS,
                                                    max_size=2))},
               ["kind", "start", "end", "settings"],
               required={"kind": _mostly(_near(["remote_work", "fuel_price"])),
                         "start": _mostly(st.integers(2015, 2110))})
SCENARIO_KEYS = ["name", "description", "base", "years", "parameters", "initiatives", "trends"]
SCENARIO = _table({
    "description": _mostly(st.text(max_size=40)),
    "years": _mostly(_table({"end": _mostly(st.integers(2022, 2100),
                                            st.one_of(st.integers(2000, 2200), SCALARS))},
                            ["end", "start"])),
    "base": _mostly(st.sampled_from(["baseline.toml", "coop_grocers_west.toml",
                                     "village_package_west.toml", "nope.toml", ".",
                                     "/dev/null", "/dev/zero", "prop.toml", ""])),
    "parameters": _mostly(PARAMS),
    "initiatives": _mostly(st.lists(INITIATIVE, max_size=3)),
    "trends": _mostly(st.lists(TREND, max_size=2))}, SCENARIO_KEYS,
    required={"name": _mostly(st.sampled_from(["p1", "coop_test"]))})
FACTOR_KEYS = ["path", "name", "range", "values", "integer"]
FACTOR = _table({"range": _mostly(st.lists(st.one_of(st.floats(0, 1), st.just(math.nan)),
                                           min_size=2, max_size=2).map(sorted)),
                 "values": st.lists(SCALARS, min_size=1, max_size=3),
                 "name": SCALARS, "integer": SCALARS}, FACTOR_KEYS,
                required={"path": _near(["services.closure_hazard", "relocation.move_rate[2]",
                                         "relocation.move_rate[0]", "initiatives[1].start",
                                         "initiatives[1].settings.type", "relocation.weights",
                                         "services.viability_threshold[9]"])})
EXPERIMENT_KEYS = ["name", "description", "scenarios", "replications", "seed", "scale",
                   "end_year", "design", "uncertainties", "levers", "outcomes", "sensitivity",
                   "discovery", "common_random_numbers"]
EXPERIMENT = _table({
    "replications": _mostly(st.integers(1, 5), st.one_of(st.integers(-2, 20_000), SCALARS)),
    "end_year": _mostly(st.integers(2022, 2060), st.one_of(st.integers(2000, 2200), SCALARS)),
    "description": _mostly(st.text(max_size=20)),
    "design": _mostly(_table({"samples": _mostly(st.integers(1, 16),
                                                   st.one_of(st.integers(-1, 10 ** 12), SCALARS)),
                              "levels": _mostly(st.integers(2, 5),
                                                st.one_of(st.integers(-1, 200), SCALARS)),
                              "second_order": SCALARS},
                             ["kind", "samples", "levels", "second_order"],
                             required={"kind": _mostly(_near(["none", "full_factorial",
                                                              "latin_hypercube", "sobol",
                                                              "morris"]))})),
    "uncertainties": _mostly(st.lists(FACTOR, max_size=3)),
    "levers": _mostly(st.lists(FACTOR, max_size=2)),
    "outcomes": _mostly(_table({"keep": st.lists(_near(["village_population",
                                                        "region_population"]), max_size=3),
                                "places": st.lists(_near(["Sønder Hjerm", "Thyborøn"]),
                                                   max_size=2)}, ["keep", "places"]))},
    EXPERIMENT_KEYS,
    required={
        "name": _mostly(st.just("prop")),
        "scenarios": _mostly(st.lists(st.sampled_from([
            "../scenarios/baseline.toml", "../scenarios/coop_grocers_west.toml",
            "scenarios/coop_grocer_sonder_hjerm.toml", "nope.toml", "/dev/zero", "."]),
            min_size=1, max_size=2, unique=True)),
        "seed": _mostly(st.integers(0, 2 ** 63 - 1), st.one_of(st.integers(-5, 2 ** 64),
                                                               SCALARS)),
        "scale": _mostly(st.floats(0.001, 1), st.one_of(st.floats(-1, 2), SCALARS))})


def _toml(doc: dict) -> str:
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError):
        assume(False)
        raise


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# --------------------------------------------------------------------------- generated docs
@PROPS
@given(SCENARIO)
def test_generated_scenario_documents_never_crash_validate(stand_ins, layout, doc):
    """Property: any TOML document with keys near a scenario's (right and wrong types,
    inheritance, odd bases) gives exit 0 or 2 from `landsim validate`, never a traceback,
    and exit 2 names the file."""
    p = _write(layout / "scenarios" / "prop.toml", _toml(doc))
    _check("scenario", p, layout / "out")


@PROPS
@given(EXPERIMENT)
def test_generated_experiment_documents_never_crash_batch(stand_ins, layout, doc):
    """Property: any document with keys near an experiment's gives exit 0 or 2 from
    `landsim batch --dry-run` and from the loader, never a traceback."""
    p = _write(layout / "experiments" / "prop.toml", _toml(doc))
    _check("experiment", p, layout / "out")


@PROPS
@given(PARAMS)
def test_generated_parameter_documents_never_crash_run(stand_ins, layout, doc):
    """Property: any document with keys near the parameters' gives exit 0 or 2 from
    `landsim run --params` and `landsim validate-model --params`, never a traceback."""
    p = _write(layout / "parameters" / "prop.toml", _toml(doc))
    _check("parameters", p, layout / "out")


# --------------------------------------------------------------------------- mutations
SHIPPED = ([("scenario", p) for p in sorted((ROOT / "scenarios").glob("*.toml"))]
           + [("experiment", p) for p in sorted((ROOT / "experiments").glob("*.toml"))]
           + [("calibration", ROOT / "calibration" / "default.toml"),
              ("parameters", ROOT / "calibration" / "params.toml")])
FOLDER = {"scenario": "scenarios", "experiment": "experiments", "calibration": "calibration",
          "parameters": "parameters"}
CODECS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "latin-1", "cp1252",
          "utf-8-sig"]
OPS = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 40)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=20)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("encode"), st.sampled_from(CODECS)),
    st.tuples(st.just("nest"), st.integers(1, 3000), st.sampled_from(["[", "{a = "])),
    st.tuples(st.just("huge"), st.sampled_from(["9" * 5000, "1e400", "nan", '"' + "x" * 2000
                                                + '"', "[" + "1, " * 5000 + "1]"])),
    st.tuples(st.just("duplicate"), st.floats(0, 1)),
    st.tuples(st.just("longkey"), st.integers(2, 3000)))


def _mutate(data: bytes, ops: list[tuple]) -> bytes:
    for op in ops:
        at = int(op[1] * len(data)) if len(op) > 1 and isinstance(op[1], float) else 0
        if op[0] == "flip" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([op[2]]) + data[at + 1:]
        elif op[0] == "delete":
            data = data[:at] + data[at + op[2]:]
        elif op[0] == "insert":
            data = data[:at] + op[2] + data[at:]
        elif op[0] == "truncate":
            data = data[:at]
        elif op[0] == "encode":
            text = data.decode("utf-8", "replace")
            data = text.encode(op[1], "replace") if op[1] != "utf-8-sig" \
                else codecs.BOM_UTF8 + text.encode("utf-8")
        elif op[0] == "nest":
            data += b"\nzz = " + op[2].encode() * op[1] + b"1" + (
                b"]" if op[2] == "[" else b"}") * op[1] + b"\n"
        elif op[0] == "longkey":
            data += b"\nzz." + b".".join([b"a"] * op[1]) + b" = 1\n"
        elif op[0] == "huge":
            data += b"\nzz = " + op[1].encode() + b"\n"
        elif op[0] == "duplicate":
            lines = data.split(b"\n")
            i = min(int(op[1] * len(lines)), len(lines) - 1)
            data = b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1:]])
    return data


@settings(PROPS, max_examples=500)
@given(st.sampled_from(SHIPPED), st.lists(OPS, min_size=1, max_size=4))
def test_mutated_shipped_files_never_crash_the_cli(stand_ins, layout, shipped, ops):
    """Property: the shipped scenario, experiment, calibration and parameter files with byte
    flips, deletions, insertions, truncation, re-encoding, deep nesting, long dotted keys,
    huge values and duplicated lines give exit 0 or 2 from their commands, never a
    traceback."""
    kind, src = shipped
    p = _write(layout / FOLDER[kind] / f"mut_{src.name}", _mutate(src.read_bytes(), ops))
    _check(kind, p, layout / "out")
