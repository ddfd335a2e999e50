"""Data loading: a damaged file gives a message naming file, column and fix."""

from __future__ import annotations

import shutil

import pytest

from sim import data
from sim.cli import main


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    dst = tmp_path / "data"
    shutil.copytree(data.data_dir(), dst)
    monkeypatch.setenv(data.DATA_ENV, str(dst))
    data.clear_cache()
    yield dst
    data.clear_cache()


def test_missing_column_is_named(data_copy):
    """Rule: a file without a required column names the file and the column."""
    f = data_copy / data.FILES["parishes"]
    f.write_text(f.read_text().replace("population,", "pop,", 1))
    with pytest.raises(data.DataError) as e:
        data.parishes()
    assert str(f) in str(e.value) and "'population'" in str(e.value)


def test_non_numeric_cell_is_located(data_copy):
    """Rule: a bad cell is reported with its column and row."""
    f = data_copy / data.FILES["mortality"]
    lines = f.read_text().splitlines()
    cells = lines[5].split(",")
    cells[6] = "n/a"
    lines[5] = ",".join(cells)
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(data.DataError, match="row 6 holds 'n/a'"):
        data.mortality()


def test_missing_file_via_cli_exits_2(data_copy, capsys, tmp_path):
    """Rule: the CLI turns a data problem into one line and exit 2, no traceback."""
    (data_copy / data.FILES["parishes"]).unlink()
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "data file missing" in err and "Traceback" not in err


def test_tables_are_cached_per_data_folder(data_copy, monkeypatch):
    """Rule: the loaders' cache is keyed by the data folder: pointing LANDSIM_DATA at another
    folder gives that folder's table without clear_cache(); going back gives the cached one;
    clear_cache() still forgets every folder's tables."""
    other = data_copy.parent / "other"
    shutil.copytree(data_copy, other)
    f = other / data.FILES["fertility_summary"]
    f.write_text(f.read_text() + "extra_measure,1.0\n")
    first = data.fertility_summary()
    monkeypatch.setenv(data.DATA_ENV, str(other))
    changed = data.fertility_summary()
    assert len(changed) == len(first) + 1 and changed["measure"].iloc[-1] == "extra_measure"
    assert data.fertility_summary() is changed  # cached for this folder
    monkeypatch.setenv(data.DATA_ENV, str(data_copy))
    assert data.fertility_summary() is first
    data.clear_cache()
    assert data.fertility_summary() is not first
