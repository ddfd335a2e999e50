"""Command line: a small end-to-end run, atomic results, clear errors with exit 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main


def _landsim(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def small_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    r = _landsim("run", "--scale", "0.02", "--years", "2021-2024", "--seed", "4", "--out",
                 str(out), "--name", "small")
    assert r.returncode == 0, r.stderr
    return out / "small", r


def test_run_writes_every_output(small_results):
    """Rule: a run writes tables, charts, a CSV download and a manifest, and nothing partial."""
    folder, r = small_results
    names = {p.name for p in folder.iterdir()}
    assert {"place_year.parquet", "region_year.parquet", "places.parquet", "services.parquet",
            "region_year.csv", "manifest.json", "population_by_size_class.png",
            "population_change_map.png", "services_open.png"} <= names
    assert not [p for p in folder.parent.iterdir() if "partial" in p.name]
    py = pd.read_parquet(folder / "place_year.parquet")
    assert sorted(py["year"].unique()) == [2021, 2022, 2023, 2024]
    for png in folder.glob("*.png"):
        assert png.stat().st_size > 10_000
    assert str(folder) in r.stdout


def test_manifest_records_provenance(small_results):
    """Rule: the manifest has seed, resolved parameters and their hash, commit, versions, data."""
    folder, _ = small_results
    m = json.loads((folder / "manifest.json").read_text())
    assert m["seed"] == 4 and m["parameters"]["scale"] == 0.02
    assert len(m["parameters_sha256"]) == 64 and m["git_commit"]
    assert m["versions"]["mesa"].startswith("3.3")
    assert all(len(v) == 64 for v in m["data_sha256"].values())
    assert m["initial_state"]["data"]["countryside_and_towns_under_10000"] > 500_000


def test_same_seed_gives_identical_parquet_files(tmp_path):
    """Rule: same seed and parameters -> byte-identical Parquet results."""
    for name in ("a", "b"):
        r = _landsim("run", "--scale", "0.01", "--years", "2023", "--seed", "9", "--out",
                     str(tmp_path), "--name", name, "--no-charts")
        assert r.returncode == 0, r.stderr
    for f in ("place_year.parquet", "region_year.parquet", "services.parquet"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


@pytest.mark.parametrize("args,needle", [
    (["run", "--scale", "0"], "--scale must be in (0, 1]"),
    (["run", "--scale", "abc"], "--scale takes a number"),
    (["run", "--years", "20x0"], "--years takes END or START-END"),
    (["run", "--years", "2019-2030"], "must start at the base year 2021"),
    (["run", "--seed", "-3"], "--seed takes a non-negative integer"),
    (["run", "--params", "missing.toml"], "file not found"),
    (["run", "--bogus"], "unrecognized arguments"),
])
def test_bad_arguments_give_one_line_and_exit_2(args, needle, capsys):
    """Rule: bad input -> exit 2 and a single line naming the problem, no traceback."""
    with pytest.raises(SystemExit) as e:
        code = main(args)
        raise SystemExit(code)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_bad_parameter_file_via_cli(tmp_path, capsys):
    """Rule: a parameter file with an unknown key is rejected before any work, exit 2."""
    f = tmp_path / "p.toml"
    f.write_text("[relocation]\nspeed = 3\n")
    assert main(["run", "--params", str(f), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter 'relocation.speed'" in err and str(f) in err
    assert not any(tmp_path.glob("run-*"))


def test_existing_result_folder_is_not_overwritten(small_results, capsys):
    """Rule: results are never overwritten; the user is told to pick another name."""
    folder, _ = small_results
    assert main(["run", "--scale", "0.01", "--out", str(folder.parent), "--name", "small"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_help_teaches_and_check_prints_forum_figures():
    """Rule: --help explains outputs and examples; `check` prints the initial-state figures."""
    r = _landsim("run", "--help")
    assert r.returncode == 0 and "place_year.parquet" in r.stdout and "Examples" in r.stdout
    r = _landsim("check")
    assert r.returncode == 0 and "forum: ~700,000" in r.stdout


@pytest.mark.parametrize("cmd", [[], ["compare"], ["report"], ["calibrate"], ["validate-model"],
                                 ["data", "refresh"], ["similar"], ["validate"], ["batch"],
                                 ["sensitivity"], ["summarise"]])
def test_every_help_page_renders(cmd, capsys):
    """Rule: `landsim [COMMAND] --help` prints its help and exits 0 (a stray '%' in a help
    string used to crash argparse's formatting)."""
    with pytest.raises(SystemExit) as e:
        main([*cmd, "--help"])
    assert e.value.code == 0
    assert "usage: landsim" in capsys.readouterr().out


def test_similar_lists_places_and_suggests_names(capsys):
    """Rule: `similar` prints the closest places; a misspelt name gets 'did you mean'."""
    assert main(["similar", "Lemvg"]) == 2
    assert "did you mean 'Lemvig'" in capsys.readouterr().err
    assert main(["similar", "Harboøre", "--k", "3", "--scale", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "Harboøre" in out and len(out.splitlines()) >= 4


def test_partial_weight_table_keeps_other_weights(tmp_path):
    """Rule: a parameter file giving one utility weight keeps the default others."""
    from sim.params import Parameters, load_parameters

    f = tmp_path / "w.toml"
    f.write_text("[relocation.weights]\ngrocer = [1.0, 1.0, 1.0, 1.0]\n")
    p = load_parameters(f)
    assert p.relocation.weights["grocer"] == (1.0, 1.0, 1.0, 1.0)
    assert set(p.relocation.weights) == set(Parameters().relocation.weights)


def _subparsers(parser):
    """(name, subparser) of every command, nested ones (data refresh) included."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from _subparsers(sub)


def test_every_command_registers_its_handler():
    """Rule: one dispatch: every subcommand (batch's and data refresh included) sets its
    handler with set_defaults(func=...); main() has no per-command branches."""
    from sim.cli import build_parser

    commands = dict(_subparsers(build_parser()))
    assert {"run", "check", "validate", "schema", "compare", "data", "refresh", "similar",
            "report", "explore", "calibrate", "validate-model", "batch", "sensitivity",
            "summarise"} <= set(commands)
    for name, sub in commands.items():
        assert callable(sub.get_default("func")), name


def test_library_error_from_any_command_is_one_line_exit_2(tmp_path, capsys):
    """Rule: a library error with a message that a command does not catch itself (here
    `validate` on a data folder without the data) gives one line on stderr and exit 2, not a
    traceback; `data` without a subcommand says what it needs."""
    baseline = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.toml"
    assert main(["--data", str(tmp_path), "validate", str(baseline)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "data file missing" in err
    assert str(tmp_path) in err and "Traceback" not in err
    assert main(["data"]) == 2
    assert "needs a subcommand: refresh" in capsys.readouterr().err


@pytest.mark.parametrize("args,needle", [
    (["--data", "no/such/folder", "check"], "--data takes an existing data folder"),
    (["--calibration", "missing.toml", "run"], "--calibration takes a parameter file"),
])
def test_bad_input_choice_is_one_line_exit_2(args, needle, capsys):
    """Rule: a --data folder or --calibration file that does not exist is refused at once."""
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_data_and_calibration_options_are_used_and_recorded(tmp_path, monkeypatch):
    """Rule: `landsim --data DIR --calibration none run` runs with the uncalibrated defaults,
    the manifest records both choices as made by the options (the env var loses), and
    afterwards the process is back to its previous choice."""
    from sim import data
    from sim.params import Parameters

    copy = tmp_path / "mydata"
    shutil.copytree(data.data_dir(), copy)
    monkeypatch.setenv("LANDSIM_CALIBRATION", "calibration/params.toml")
    monkeypatch.delenv("LANDSIM_DATA", raising=False)
    assert main(["--data", str(copy), "--calibration", "none", "run", "--scale", "0.01",
                 "--years", "2022", "--no-charts", "--no-progress", "--out", str(tmp_path),
                 "--name", "chosen"]) == 0
    m = json.loads((tmp_path / "chosen" / "manifest.json").read_text())
    assert m["data_folder"] == {"path": str(copy), "chosen_by": "--data"}
    assert m["calibration_file"] == {"file": None, "chosen_by": "--calibration"}
    assert m["parameters"]["services"] == Parameters().services.model_dump(mode="json")
    assert data.data_source().chosen_by == "package"
    assert os.environ["LANDSIM_CALIBRATION"] == "calibration/params.toml"
    assert "LANDSIM_DATA" not in os.environ
