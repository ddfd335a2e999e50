"""A deterministic corpus of bad and odd input files, and a runner that feeds them to landsim.

:func:`build` writes at least 500 files (scenario, parameter, experiment and calibration
files and report folders): mutations of the shipped ``scenarios/*.toml``,
``experiments/*.toml`` and ``calibration/*.toml`` (re-encoded as UTF-16/UTF-32/Latin-1,
byte flips, truncation, wrong types, misspelt keys) and hand-made classes (inheritance whose
``initiatives`` or ``trends`` is not a list of tables, a ``base`` that is a folder, a device,
a pipe or missing, deep nesting, huge values, folders and devices as file arguments, ...).
Every random choice comes from one :class:`numpy.random.Generator` seeded by
:data:`SEED`, so the corpus is the same on every machine.

:func:`run_case` runs the CLI in-process (``sim.cli.main``) on one file, with the expensive
work behind a valid file (building the model, the batch engine's estimate, the calibration's
fit and validation, rendering the report) replaced by a sentinel that stops the command: a
valid file reaches the sentinel, a bad one must end with exit 2 and a line naming the file.
The loaders (:func:`sim.params.load_parameters`, :func:`sim.batch.experiment.check`,
:func:`sim.calibration.config.load_config`) are called directly too.

Run as a script against any checkout (used to measure the code before sim/infra.py)::

    PYTHONPATH=/path/to/checkout python tests/bad_input_corpus.py /tmp/corpus

It prints the counts (files tried, exit 2, valid, tracebacks) and the failing cases.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import stat
import sys
import tomllib
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tomli_w

ROOT = Path(__file__).resolve().parents[1]
#: Entropy of the corpus's random choices.
SEED = 20261212
#: Danish text added before re-encoding, so that Latin-1 differs from UTF-8.
DANISH = "# Sønder Hjerm, Ærø, Åbyhøj: æøå ÆØÅ\n"


@dataclass(frozen=True)
class Case:
    """One file (or folder) of the corpus.

    Attributes:
        kind: Which command reads it: scenario, parameters, experiment, calibration, report.
        cls: The class of defect (for the counts).
        path: The file or folder.
        expect: ``"invalid"`` (must end with exit 2), ``"valid"`` (must be accepted) or
            ``"any"`` (a random mutation: either, but never a traceback).
        danger: The file is a device or pipe, or inherits from one (code that reads it
            blindly hangs or exhausts memory).
    """

    kind: str
    cls: str
    path: Path
    expect: str = "any"
    danger: bool = False


# --------------------------------------------------------------------------- building
def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _encodings(text: str) -> dict[str, bytes]:
    t = DANISH + text
    return {"utf16_bom": t.encode("utf-16"), "utf16le": t.encode("utf-16-le"),
            "utf16be": t.encode("utf-16-be"), "utf32_bom": t.encode("utf-32"),
            "utf32le": t.encode("utf-32-le"), "latin1": t.encode("latin-1"),
            "cp1252": t.replace("æ", "æ – ").encode("cp1252")}


def _flip(data: bytes, rng: np.random.Generator, k: int) -> bytes:
    b = bytearray(data)
    for i in rng.integers(0, len(b), size=k):
        b[i] = int(rng.integers(0, 256))
    return bytes(b)


def _truncate(data: bytes, rng: np.random.Generator) -> bytes:
    return data[: int(rng.integers(1, max(len(data), 2)))]


WRONG_VALUES = {"str": "text", "int": 7, "neg": -1, "float": 1e400, "bool": True,
                "list": [1, "a"], "table": {"x": 1}, "huge": 10**40}


def _wrong_types(raw: dict, rng: np.random.Generator, n: int) -> list[tuple[str, dict]]:
    """``n`` copies of ``raw`` with one value (top level or one level down) of a wrong type."""
    spots: list[tuple[str, ...]] = []
    for k, v in raw.items():
        spots.append((k,))
        if isinstance(v, dict):
            spots += [(k, k2) for k2 in v]
        if isinstance(v, list) and v and isinstance(v[0], dict):
            spots += [(k, "0", k2) for k2 in v[0]]
    out = []
    names = list(WRONG_VALUES)
    for _ in range(n):
        spot = spots[int(rng.integers(len(spots)))]
        wrong = names[int(rng.integers(len(names)))]
        doc = json.loads(json.dumps(raw, default=str))
        node = doc
        for part in spot[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        node[spot[-1]] = WRONG_VALUES[wrong]
        out.append((f"{'.'.join(spot)}={wrong}", doc))
    return out


def _misspell(raw: dict, rng: np.random.Generator, n: int) -> list[dict]:
    """Copies of ``raw`` with one key misspelt (a letter dropped, doubled or swapped)."""
    out = []
    for _ in range(n):
        doc = json.loads(json.dumps(raw, default=str))
        node = doc
        tables = [doc] + [v for k, v in doc.items() if isinstance(v, dict) and v
                          and k != "fit"]  # [fit] is metadata: any key goes
        node = tables[int(rng.integers(len(tables)))]
        keys = [k for k in node if not (node is doc and k == "fit")]
        key = keys[int(rng.integers(len(keys)))]
        i = int(rng.integers(max(len(key) - 1, 1)))
        how = int(rng.integers(3))
        bad = (key[:i] + key[i + 1:] if how == 0 else key[:i] + key[i] + key[i:] if how == 1
               else key[:i] + key[i + 1: i + 2] + key[i] + key[i + 2:])
        if bad == key or bad in node:
            bad = key + "s"
        node[bad] = node.pop(key)
        out.append(doc)
    return out


def _dump(doc: dict) -> str:
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError):
        return json.dumps(doc)  # not TOML: still a case


def _mutants(folder: Path, stem: str, text: str, kind: str, rng: np.random.Generator,
             cases: list[Case], n_types: int, n_flips: int, n_keys: int) -> None:
    """Every generated class of mutation of one shipped file."""
    data = text.encode("utf-8")
    cases.append(Case(kind, "shipped", _write(folder / f"{stem}.toml", text), "valid"))
    cases.append(Case(kind, "utf8_bom", _write(folder / f"{stem}__utf8_bom.toml",
                                               b"\xef\xbb\xbf" + data), "valid"))
    cases.append(Case(kind, "crlf", _write(folder / f"{stem}__crlf.toml",
                                           text.replace("\n", "\r\n")), "valid"))
    for enc, blob in _encodings(text).items():
        cases.append(Case(kind, f"encoding:{enc}", _write(folder / f"{stem}__{enc}.toml", blob),
                          "invalid"))
    for j in range(n_flips):
        k = int(rng.integers(1, 6))
        cases.append(Case(kind, "byte_flip", _write(folder / f"{stem}__flip{j}.toml",
                                                   _flip(data, rng, k))))
        cases.append(Case(kind, "truncated", _write(folder / f"{stem}__trunc{j}.toml",
                                                   _truncate(data, rng))))
    raw = tomllib.loads(text)
    for j, (label, doc) in enumerate(_wrong_types(raw, rng, n_types)):
        cases.append(Case(kind, "wrong_type", _write(folder / f"{stem}__type{j}.toml",
                                                    f"# {label}\n" + _dump(doc))))
    for j, doc in enumerate(_misspell(raw, rng, n_keys)):
        cases.append(Case(kind, "misspelt_key", _write(folder / f"{stem}__key{j}.toml",
                                                      _dump(doc)), "invalid"))


def _deep(kind: str, depth: int) -> str:
    return {"array": "x = " + "[" * depth + "]" * depth + "\n",
            "inline": "x = " + "{a = " * depth + "1" + "}" * depth + "\n",
            "dotted": "x." + ".".join(["a"] * depth) + " = 1\n",
            "header": "[" + ".".join(["a"] * depth) + "]\nb = 1\n"}[kind]


def _hand_made_scenarios(d: Path, cases: list[Case]) -> None:
    def add(cls: str, name: str, text: str | bytes, expect: str = "invalid",
            danger: bool = False) -> Path:
        p = _write(d / f"hm_{name}.toml", text)
        cases.append(Case("scenario", cls, p, expect, danger))
        return p

    head = 'name = "hm"\n'
    # inheritance whose initiatives/trends are not a list of tables (child or parent)
    for key in ("initiatives", "trends"):
        for label, value in (("str", '"x"'), ("int", "5"), ("table", "{a = 1}"),
                             ("list_of_ints", "[1, 2]"), ("mixed", '[{kind = "x"}, 3]'),
                             ("bool", "true")):
            add("inherit_not_list", f"child_{key}_{label}",
                f'{head}base = "baseline.toml"\n{key} = {value}\n')
            parent = _write(d / f"hm_parent_{key}_{label}.toml",
                            f'name = "p"\n{key} = {value}\n')
            add("inherit_not_list", f"via_parent_{key}_{label}",
                f'{head}base = "{parent.name}"\n')
    fifo = d / "hm_fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    (d / "hm_folder.toml").mkdir(exist_ok=True)
    for label, base in (("folder", "hm_folder.toml"), ("dev_zero", "/dev/zero"),
                        ("dev_null", "/dev/null"), ("fifo", "hm_fifo"),
                        ("dev_urandom", "/dev/urandom"), ("missing", "nope.toml"),
                        ("self", "hm_base_self.toml"), ("empty", ""), ("root", "/"),
                        ("through_file", "baseline.toml/x.toml"), ("nul", "a\\u0000b")):
        add("base_unusable", f"base_{label}", f'{head}base = "{base}"\n',
            danger=label in ("dev_zero", "fifo", "dev_urandom"))
    for label, value in (("int", "5"), ("list", '["baseline.toml"]'), ("table", "{a = 1}")):
        add("base_wrong_type", f"base_type_{label}", f"{head}base = {value}\n")
    # circular and very long chains
    _write(d / "hm_cycle_a.toml", 'name = "a"\nbase = "hm_cycle_b.toml"\n')
    add("base_cycle", "cycle_b", 'name = "b"\nbase = "hm_cycle_a.toml"\n')
    for n in (40, 300):
        for i in range(n):
            nxt = f'base = "hm_chain{n}_{i + 1}.toml"\n' if i < n - 1 else ""
            _write(d / f"hm_chain{n}_{i}.toml", f'name = "c{i}"\n{nxt}')
        cases.append(Case("scenario", "base_chain_long", d / f"hm_chain{n}_0.toml", "invalid"))
    # a base that is itself badly encoded or binary
    _write(d / "hm_parent_utf16.toml", ('name = "p"\n').encode("utf-16"))
    add("base_encoding", "base_utf16", f'{head}base = "hm_parent_utf16.toml"\n')
    _write(d / "hm_parent_binary.toml", bytes(range(256)) * 4)
    add("base_encoding", "base_binary", f'{head}base = "hm_parent_binary.toml"\n')
    # deep nesting
    for kind in ("array", "inline", "dotted", "header"):
        for depth in (40, 400, 5000):
            add("deep_nesting", f"deep_{kind}_{depth}", head + _deep(kind, depth))
    for parts in (2_000, 30_000):  # tomllib's memory grows with the square of the parts
        add("deep_nesting", f"long_dotted_key_{parts}",
            head + "x." + ".".join(["a"] * parts) + " = 1\n", danger=parts > 10_000)
        add("deep_nesting", f"long_quoted_key_{parts}",
            head + '"' + '"."'.join(["a"] * parts) + '" = 1\n', danger=parts > 10_000)
    add("deep_nesting", "deep_parameters_key",
        head + "[parameters]\n\"" + ".".join(["relocation"] * 3000) + "\" = 1\n")
    # huge values
    big = "9" * 5000
    for field_, value in (("years.end", big), ("years.end", "1e400"), ("years.end", "-inf"),
                          ("years.end", "nan"), ("description", '"' + "x" * 500_000 + '"'),
                          ("parameters.scale", big)):
        table, _, key = field_.rpartition(".")
        body = f"[{table}]\n{key} = {value}\n" if table else f"{key} = {value}\n"
        add("huge_value", f"huge_{table}_{key}_{len(value)}_{value[:3]}", head + body,
            "valid" if key == "description" else "invalid")
    add("huge_value", "huge_start",
        f'{head}[[initiatives]]\nkind = "coop_grocer"\nstart = {big}\n'
        '[initiatives.target]\nplaces = ["Thyborøn"]\n')
    add("huge_value", "huge_array", head + "[parameters.relocation]\nmove_rate = ["
        + ", ".join(["0.1"] * 60_000) + "]\n")
    add("too_large", "over_1mib", head + "# " + "x" * (1 << 20) + "\n")
    # binary and odd bytes
    rng = np.random.default_rng(np.random.SeedSequence([SEED, 1]))
    add("binary", "random_bytes", rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    add("binary", "png", b"\x89PNG\r\n\x1a\n" + rng.integers(0, 256, 500,
                                                             dtype=np.uint8).tobytes())
    add("binary", "nul_in_text", head.encode() + b"\x00\x00description = 'x'\n")
    add("binary", "control_chars", head.encode() + b"\x01\x02\x03\x1b[31m\n")
    add("empty", "empty", "")
    add("empty", "only_bom", b"\xef\xbb\xbf")
    add("empty", "only_comments", "# nothing here\n")
    # parameters tables that clash or hold element numbers
    for label, body in (("scalar_then_dotted", 'relocation = 5\n"relocation.rounds" = 3\n'),
                        ("dotted_then_scalar", '"relocation.rounds" = 3\nrelocation = 5\n'),
                        ("dotted_twice", '"relocation.rounds" = 3\nrelocation.rounds = 4\n'),
                        ("index_key", '"relocation.move_rate[2]" = 0.1\n'),
                        ("empty_part", '"relocation..rounds" = 3\n'),
                        ("space_key", '"relocation.move rate" = 3\n'),
                        ("weights_str", 'relocation.weights.grocer = "x"\n'),
                        ("weights_table", "relocation.weights = 5\n"),
                        ("not_table", ""), ):
        text = head + ("parameters = 5\n" if label == "not_table" else "[parameters]\n" + body)
        add("parameters_odd", f"params_{label}", text)
    # items that are not tables, targets of the wrong shape
    for label, body in (
            ("initiatives_str", 'initiatives = "coop"\n'),
            ("initiatives_ints", "initiatives = [1, 2]\n"),
            ("target_list", '[[initiatives]]\nkind = "coop_grocer"\nstart = 2025\ntarget = [1]\n'),
            ("places_str", '[[initiatives]]\nkind = "coop_grocer"\nstart = 2025\n'
             '[initiatives.target]\nplaces = "Thyborøn"\n'),
            ("settings_list", '[[initiatives]]\nkind = "coop_grocer"\nstart = 2025\n'
             'settings = [1]\n[initiatives.target]\nplaces = ["Thyborøn"]\n'),
            ("kind_int", '[[initiatives]]\nkind = 5\nstart = 2025\n[initiatives.target]\n'),
            ("similar_to_int", '[[initiatives]]\nkind = "coop_grocer"\nstart = 2025\n'
             '[initiatives.target]\nsimilar_to = 5\n'),
            ("min_km_bad", '[[initiatives]]\nkind = "coop_grocer"\nstart = 2025\n'
             '[initiatives.target]\nmin_km_to = {grocer = "far"}\n'),
            ("trend_settings_str", '[[trends]]\nkind = "remote_work"\nstart = 2025\n'
             'settings = "x"\n'),
            ("years_str", 'years = "2050"\n'),
            ("name_table", ""),
            ("datetime", "description = 1979-05-27T07:32:00Z\n")):
        text = ('name = {a = 1}\n' if label == "name_table" else head) + body
        add("structure_odd", label, text)
    # odd but valid
    for label, text in (
            ("unicode_description", head + 'description = "Æblegrød i Ørum – 🍎"\n'),
            ("dotted_parameters", head + '[parameters]\n"relocation.rounds" = 2\n'
             "services.closure_years = 4\n"),
            ("comments_everywhere", "# a\nname = \"hm\" # b\n# c\n[years] # d\nend = 2040 # e\n"),
            ("crlf_only", head.replace("\n", "\r\n") + "[years]\r\nend = 2030\r\n"),
            ("base_chain_ok", 'name = "ok"\nbase = "village_package_west.toml"\n'),
            ("base_absolute", f'name = "ok"\nbase = "{d / "baseline.toml"}"\n')):
        add("odd_valid", label, text, "valid")


def _special_paths(d: Path, cases: list[Case]) -> None:
    """Folders, devices, pipes, missing files and links given as the file itself."""
    fifo = d / "sp_fifo.toml"
    if not fifo.exists():
        os.mkfifo(fifo)
    (d / "sp_folder.toml").mkdir(exist_ok=True)
    loop = d / "sp_loop.toml"
    if not loop.is_symlink():
        os.symlink(loop.name, loop)
    dangling = d / "sp_dangling.toml"
    if not dangling.is_symlink():
        os.symlink("nowhere.toml", dangling)
    unreadable = _write(d / "sp_unreadable.toml", 'name = "x"\n')
    os.chmod(unreadable, 0)
    specials = [("folder", d / "sp_folder.toml", False), ("dev_zero", Path("/dev/zero"), True),
                ("dev_null", Path("/dev/null"), False), ("fifo", fifo, True),
                ("dev_urandom", Path("/dev/urandom"), True), ("missing", d / "nope.toml", False),
                ("symlink_loop", loop, False), ("dangling_symlink", dangling, False),
                ("through_file", d / "baseline.toml" / "x.toml", False),
                ("root", Path("/"), False)]
    expect = "any" if os.geteuid() == 0 else "invalid"  # root reads any file
    specials_unreadable = [("unreadable", unreadable, False)]
    for kind in ("scenario", "parameters", "experiment", "calibration"):
        for label, p, danger in specials:
            cases.append(Case(kind, f"path:{label}", p, "invalid", danger))
        for label, p, danger in specials_unreadable:
            cases.append(Case(kind, f"path:{label}", p, expect, danger))


def _hand_made_experiments(d: Path, cases: list[Case], base: str) -> None:
    def add(label: str, text: str, expect: str = "invalid") -> None:
        danger = label in ("samples_huge", "factorial_huge", "morris_huge", "scenarios_device")
        cases.append(Case("experiment", "experiment_odd",
                          _write(d / f"hm_{label}.toml", text), expect, danger))

    head = base.split("[design]")[0]
    for label, body in (
            ("samples_huge", '[design]\nkind = "latin_hypercube"\nsamples = 1000000000\n'
             '[[uncertainties]]\npath = "services.closure_hazard"\n'),
            ("factorial_huge", '[design]\nkind = "full_factorial"\nlevels = 100\n'
             + "".join(f'[[uncertainties]]\npath = "{p}"\n' for p in (
                 "services.closure_hazard", "relocation.dissatisfaction_gain",
                 "demography.fertility_multiplier", "housing.price_elasticity",
                 "services.opening_factor", "relocation.move_rate[1]",
                 "relocation.move_rate[2]", "relocation.move_rate[3]"))),
            ("morris_huge", '[design]\nkind = "morris"\nsamples = 100000000\n'
             '[[uncertainties]]\npath = "services.closure_hazard"\n'),
            ("path_index0", '[[uncertainties]]\npath = "relocation.move_rate[0]"\n'),
            ("path_index_far", '[[uncertainties]]\npath = "relocation.move_rate[99]"\n'),
            ("path_empty_part", '[[uncertainties]]\npath = "relocation..move_rate"\n'),
            ("path_table", '[[uncertainties]]\npath = "relocation.weights"\n'),
            ("path_initiatives", '[[levers]]\npath = "initiatives.start"\nvalues = [2025]\n'),
            ("path_initiative_only", '[[levers]]\npath = "initiatives[1]"\nvalues = [1]\n'),
            ("path_initiative_far", '[[levers]]\npath = "initiatives[9].start"\n'
             "values = [2025]\n"),
            ("lever_kind", '[[levers]]\npath = "initiatives[1].kind"\nvalues = ["nope"]\n'),
            ("lever_deep", '[[levers]]\npath = "initiatives[1].target.places[5]"\n'
             'values = ["x"]\n'),
            ("lever_table_value", '[[levers]]\npath = "initiatives[1].start"\n'
             "values = [{a = 1}]\n"),
            ("range_nan", '[[uncertainties]]\npath = "services.closure_hazard"\n'
             "range = [nan, 1.0]\n"),
            ("range_inf", '[[uncertainties]]\npath = "services.closure_hazard"\n'
             "range = [0.0, inf]\n"),
            ("path_huge", '[[uncertainties]]\npath = "' + "a." * 5000 + 'b"\n'),
            ("scenarios_folder", ""),
            ("scenarios_device", "")):
        if label == "scenarios_folder":
            text = head.replace('"../scenarios/baseline.toml"', '"../scenarios"')
        elif label == "scenarios_device":
            text = head.replace('"../scenarios/baseline.toml"', '"/dev/zero"')
        else:
            text = head + body
        add(label, text, "any" if label.startswith("lever_") or label == "range_inf"
            else "invalid")
    for label, value in (("seed_huge", "9" * 5000), ("scale_nan", "nan"),
                         ("replications_huge", "10000000000")):
        key = label.split("_")[0]
        lines = [ln for ln in head.splitlines() if not ln.startswith(f"{key} =")]
        add(label, "\n".join(lines) + f"\n{key} = {value}\n")


def _hand_made_calibration(d: Path, cases: list[Case], base: str) -> None:
    def add(label: str, text: str, expect: str = "invalid") -> None:
        cases.append(Case("calibration", "calibration_odd",
                          _write(d / f"hm_{label}.toml", text), expect))

    first = base.index("[[parameters]]")
    head, tail = base[:first], base[first:]
    for label, block in (
            ("path_index", '[[parameters]]\npath = "relocation.move_rate[1]"\nbounds = [0, 1]\n'),
            ("path_missing", '[[parameters]]\npath = "relocation.nope"\nbounds = [0, 1]\n'),
            ("path_table", '[[parameters]]\npath = "relocation"\nbounds = [0, 1]\n'),
            ("path_empty", '[[parameters]]\npath = ""\nbounds = [0, 1]\n'),
            ("path_int", "[[parameters]]\npath = 5\nbounds = [0, 1]\n"),
            ("bounds_reversed", '[[parameters]]\npath = "relocation.rounds"\nbounds = [3, 1]\n'),
            ("bounds_nan", '[[parameters]]\npath = "relocation.rounds"\nbounds = [nan, 1]\n'),
            ("bounds_huge", '[[parameters]]\npath = "relocation.rounds"\nbounds = [0, '
             + "9" * 5000 + "]\n")):
        add(label, head + block + tail)
    add("parameters_none", head.split("[optimizer]")[0] + "[mobility]\nmean_move_km = 1\n")


def _parameter_files(d: Path, cases: list[Case], rng: np.random.Generator) -> None:
    shipped = (ROOT / "calibration" / "params.toml").read_text(encoding="utf-8")
    small = "[relocation]\nrounds = 2\nmove_rate = [0.2, 0.1, 0.07, 0.04]\n\n[services]\n" \
        "closure_hazard = 0.25\n"
    for stem, text in (("params_shipped", shipped), ("params_small", small)):
        _mutants(d, stem, text, "parameters", rng, cases, n_types=10, n_flips=4, n_keys=4)
    for label, text in (("unknown", "[relocation]\nspeed = 3\n"),
                        ("top_scalar", "relocation = 5\n"),
                        ("element_table", "[relocation.move_rate]\na = 1\n"),
                        ("tuple_short", "[relocation]\nmove_rate = [0.1]\n"),
                        ("weights_bad", "[relocation.weights]\ngrocer = 5\n"),
                        ("huge_int", "[relocation]\nrounds = " + "9" * 5000 + "\n"),
                        ("deep", _deep("array", 3000)),
                        ("fit_only", "[fit]\nconfig = 'x'\n")):
        cases.append(Case("parameters", "parameters_odd", _write(d / f"hm_{label}.toml", text),
                          "valid" if label == "fit_only" else "invalid"))


def _report_folders(d: Path, cases: list[Case]) -> None:
    good = {"scenario": "s", "scenario_sha256": "0" * 64, "baseline": "baseline",
            "baseline_sha256": "1" * 64, "seeds": [0, 1], "scale": 0.1}
    manifests: dict[str, bytes | None] = {
        "utf16": json.dumps(good).encode("utf-16"), "latin1": (json.dumps(good)[:-1]
                                                               + ', "x": "Ærø"}').encode("latin-1"),
        "binary": bytes(range(256)), "list": b"[1, 2]", "not_json": b"{scenario: s",
        "deep": b"[" * 100_000 + b"]" * 100_000, "empty": b"", "huge_int":
        (json.dumps(good)[:-1] + ', "n": ' + "9" * 5000 + "}").encode(),
        "missing_files": json.dumps(good).encode(), "folder": None}
    for label, blob in manifests.items():
        f = d / f"report_{label}"
        f.mkdir(parents=True, exist_ok=True)
        if blob is None:
            (f / "manifest.json").mkdir(exist_ok=True)
        else:
            (f / "manifest.json").write_bytes(blob)
        cases.append(Case("report", f"report:{label}", f, "invalid"))
    cases.append(Case("report", "report:file", _write(d / "report_file.txt", "x"), "invalid"))
    cases.append(Case("report", "report:device", Path("/dev/null"), "invalid"))


def copy_shipped(root: Path) -> tuple[Path, Path]:
    """Copies of the shipped scenarios and experiment scenarios under ``root``, laid out as in
    the repository so that ``base`` and ``scenarios`` references resolve next to mutants.

    Returns:
        The scenario folder and the experiment folder.
    """
    scen, exp = Path(root) / "scenarios", Path(root) / "experiments"
    for src in sorted((ROOT / "scenarios").glob("*.toml")):
        _write(scen / src.name, src.read_bytes())
    for src in sorted((ROOT / "experiments" / "scenarios").glob("*.toml")):
        text = src.read_text(encoding="utf-8").replace('base = "../../scenarios/',
                                                       f'base = "{scen}/')
        _write(exp / "scenarios" / src.name, text)
    return scen, exp


def build(root: Path) -> list[Case]:
    """Write the corpus under ``root`` (a fresh folder); returns its cases."""
    root = Path(root)
    if root.exists():
        for p in root.rglob("*"):
            if p.is_file() and not p.is_symlink():
                os.chmod(p, stat.S_IRUSR | stat.S_IWUSR)
        shutil.rmtree(root)
    rng = np.random.default_rng(np.random.SeedSequence(SEED))
    cases: list[Case] = []
    scen, exp = copy_shipped(root)
    for src in sorted((ROOT / "scenarios").glob("*.toml")):
        text = src.read_text(encoding="utf-8")
        _mutants(scen, f"m_{src.stem}", text, "scenario", rng, cases, n_types=12, n_flips=3,
                 n_keys=3)
    _hand_made_scenarios(scen, cases)
    _special_paths(scen, cases)
    for src in sorted((ROOT / "experiments").glob("*.toml")):
        _mutants(exp, f"m_{src.stem}", src.read_text(encoding="utf-8"), "experiment", rng,
                 cases, n_types=12, n_flips=4, n_keys=4)
    _hand_made_experiments(exp, cases, (ROOT / "experiments" / "demo.toml").read_text(
        encoding="utf-8"))
    cal = root / "calibration"
    base_cfg = (ROOT / "calibration" / "default.toml").read_text(encoding="utf-8")
    _mutants(cal, "m_default", base_cfg, "calibration", rng, cases, n_types=16, n_flips=8,
             n_keys=6)
    _hand_made_calibration(cal, cases, base_cfg)
    _parameter_files(root / "parameters", cases, rng)
    _report_folders(root / "report", cases)
    return cases


# --------------------------------------------------------------------------- running
class Reached(BaseException):
    """The command accepted its file and reached the expensive work (which is skipped)."""


class Hang(BaseException):
    """A case ran longer than its time limit."""


def _reached(*args, **kwargs):
    raise Reached()


@dataclass
class Outcome:
    """What one case did."""

    case: Case
    codes: list[int | str] = field(default_factory=list)
    stderr: str = ""
    crash: str = ""

    @property
    def status(self) -> str:
        """``traceback``, ``hang``, ``bad_exit``, ``unnamed`` (exit 2 without the file),
        ``wrong`` (against the expectation), ``exit2`` or ``valid``."""
        if self.crash.startswith("Hang"):
            return "hang"
        if self.crash or "Traceback" in self.stderr:
            return "traceback"
        if any(c not in (0, 2, "reached") for c in self.codes):
            return "bad_exit"
        if 2 in self.codes and not _names_file(self.case, self.stderr):
            return "unnamed"
        got = "invalid" if 2 in self.codes else "valid"
        if self.case.expect != "any" and got != self.case.expect:
            return "wrong"
        return "exit2" if got == "invalid" else "valid"


def _names_file(case: Case, stderr: str) -> bool:
    return str(case.path) in stderr or case.path.name in stderr


def stand_ins() -> list[tuple[object, str, object]]:
    """(module, attribute, replacement): cached places, and a sentinel where a valid file
    starts expensive work (the model, the batch estimate, the fit and the validation, the
    report's rendering)."""
    import functools

    import sim.batch.runner
    import sim.calibration.workflow
    import sim.model
    import sim.places
    import sim.report.build

    places = sim.places.build_places
    if not hasattr(places, "cache_info"):
        places = functools.cache(places)
    return [(sim.places, "build_places", places), (sim.model, "RegionModel", _reached),
            (sim.batch.runner, "estimate", _reached),
            (sim.calibration.workflow, "fit", _reached),
            (sim.calibration.workflow, "validate", _reached),
            (sim.report.build, "render", _reached)]


def install_stand_ins() -> None:
    """Install :func:`stand_ins` for good (the script; tests use monkeypatch)."""
    for module, name, value in stand_ins():
        setattr(module, name, value)


def _commands(case: Case, out: Path) -> list[list[str]]:
    p = str(case.path)
    cfg = str(ROOT / "calibration" / "default.toml")
    return {"scenario": [["validate", p]],
            "parameters": [["run", "--params", p, "--out", str(out), "--no-charts",
                            "--no-progress"],
                           ["validate-model", "--config", cfg, "--params", p, "--out",
                            str(out / "vm")]],
            "experiment": [["batch", p, "--out", str(out), "--dry-run"]],
            "calibration": [["calibrate", p, "--out", str(out / "cal")]],
            "report": [["report", p, "--out", str(out / "r.html")]]}[case.kind]


def _loader(case: Case) -> None:
    """The library loader of the file (documented errors are fine; anything else is not)."""
    if case.kind == "parameters":
        from sim.params import ParameterFileError, load_parameters
        with contextlib.suppress(ParameterFileError):
            load_parameters(case.path)
    elif case.kind == "experiment":
        from sim.batch.experiment import check
        from sim.places import build_places
        check(case.path, build_places().places)
    elif case.kind == "calibration":
        from sim.calibration.config import CalibrationError, load_config
        with contextlib.suppress(CalibrationError):
            load_config(case.path)


def run_case(case: Case, out: Path, seconds: int = 60) -> Outcome:
    """Run every command (and the loader) of ``case`` in this process."""
    from sim.cli import main

    res = Outcome(case)
    err = io.StringIO()

    def alarm(signum, frame):
        raise Hang()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            for argv in _commands(case, out):
                try:
                    res.codes.append(main(argv))
                except SystemExit as e:
                    res.codes.append(e.code if isinstance(e.code, int) else 1)
                except Reached:
                    res.codes.append("reached")
            _loader(case)
    except Reached:
        pass
    except Hang:
        res.crash = "Hang"
    except BaseException as e:
        res.crash = "".join(traceback.format_exception_only(type(e), e)).strip()[:300]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    res.stderr = err.getvalue()
    return res


def _run_guarded(case: Case, out: Path) -> Outcome:
    """A dangerous case in a child process with 1.5 GB of memory and 30 s (for old code)."""
    import resource
    import subprocess

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            "import bad_input_corpus as c; from pathlib import Path; c.install_stand_ins(); "
            "case = c.Case(**{**json.loads(sys.argv[1]), 'path': Path(json.loads(sys.argv[1])"
            "['path'])}); r = c.run_case(case, Path(sys.argv[2]), 25); "
            "print(json.dumps({'codes': r.codes, 'crash': r.crash, 'stderr': r.stderr}))")
    arg = json.dumps({"kind": case.kind, "cls": case.cls, "path": str(case.path),
                      "expect": case.expect, "danger": case.danger})
    try:
        p = subprocess.run([sys.executable, "-c", code, arg, str(out)], capture_output=True,
                           text=True, timeout=60, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        return Outcome(case, crash="Hang (killed after 60 s)")
    try:
        d = json.loads(p.stdout.strip().splitlines()[-1])
        return Outcome(case, d["codes"], d["stderr"], d["crash"])
    except (ValueError, IndexError):
        return Outcome(case, crash=f"killed (exit {p.returncode}): {p.stderr.strip()[-200:]}")


def run_all(cases: list[Case], out: Path, guard: bool = False) -> list[Outcome]:
    """Every case; ``guard`` runs the dangerous ones in a limited child process."""
    install_stand_ins()
    results = []
    for i, case in enumerate(cases):
        o = out / f"out{i}"
        results.append(_run_guarded(case, o) if guard and case.danger else run_case(case, o))
    return results


def summary(results: list[Outcome]) -> dict[str, int]:
    """Counts by status, plus files tried."""
    c = Counter(r.status for r in results)
    return {"tried": len(results), **dict(sorted(c.items()))}


if __name__ == "__main__":
    here = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/landsim-corpus")
    import sim

    print(f"sim from {sim.__file__}", file=sys.stderr)
    cases = build(here / "files")
    results = run_all(cases, here / "out", guard=True)
    print(json.dumps(summary(results)))
    by_cls = Counter((r.case.cls.split(":")[0], r.status) for r in results
                     if r.status not in ("exit2", "valid"))
    for (cls, status), n in sorted(by_cls.items()):
        print(f"{status:10s} {n:4d}  {cls}")
    for r in results:
        if r.status not in ("exit2", "valid"):
            print(f"--- {r.status} {r.case.kind} {r.case.cls} {r.case.path}: "
                  f"{r.crash or r.stderr.strip()[:300]}")
