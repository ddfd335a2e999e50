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
def test_age_bands_that_do_not_add_up_are_reported(data_copy):
    """Rule: a FOLK1A row whose seven bands do not sum to its total names the row."""
    f = data_copy / data.FILES["age_bands"]
    lines = f.read_text().splitlines()
    cells = lines[3].split(",")
    cells[4] = str(int(cells[4]) + 1)  # a0_5 one too many
    lines[3] = ",".join(cells)
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(data.DataError, match="row 4: the age bands do not sum"):
        data.municipal_age_bands()


def test_age_band_totals_equal_the_municipal_series():
    """Rule: the FOLK1A totals are the same people as the shipped municipal series."""
    a = data.municipal_age_bands().set_index(["municipality_code", "year"])["total"]
    m = data.municipal_population().set_index(["municipality_code", "year"])["population_1jan"]
    assert len(a) == 19 * 8
    assert (m.reindex(a.index) == a).all()


def test_duplicate_school_number_is_reported(data_copy):
    """Rule: the school register holds each institution once; a duplicate is named."""
    f = data_copy / data.FILES["schools"]
    lines = f.read_text(encoding="utf-8").splitlines()
    f.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    with pytest.raises(data.DataError, match="holds 280760 twice"):
        data.schools_register()


def test_school_register_rows_lie_in_their_own_municipality():
    """Rule: every register row has coordinates inside its municipality's boundary and a known
    type; institution numbers are unique (format check of the completed register)."""
    import shapely
    from shapely.geometry import shape

    reg = data.schools_register()
    assert len(reg) == 519 and reg["institution_number"].is_unique
    polys = {int(f["properties"]["code"]): shape(f["geometry"])
             for f in data.boundaries()["features"]}
    pts = shapely.points(reg["lon"].to_numpy(), reg["lat"].to_numpy())
    inside = [polys[int(c)].covers(p) for c, p in zip(reg["municipality_code"], pts, strict=True)]
    assert all(inside)
    assert reg["type_code"].value_counts().to_dict() == {1012: 343, 1013: 117, 1015: 32, 1014: 27}


def test_by3_towns_are_positive_counts_in_the_region():
    """Rule: BY3 lists 121 towns of at least 1,000 inhabitants in the 19 municipalities."""
    t = data.town_population_by3()
    codes = set(data.municipal_population()["municipality_code"].astype(int))
    assert len(t) == 121 and (t["population_2026"] >= 1000).all()
    assert set(t["municipality_code"].astype(int)) <= codes


def test_quoted_figures_name_their_source():
    """Rule: every quoted figure has a URL and the text it was read from."""
    for df in (data.border_migration_quoted(), data.households_quoted()):
        assert df["source_url"].str.startswith("http").all()
    q = data.border_migration_quoted()
    assert q["quote"].str.len().gt(10).all()
    h = data.households_quoted().set_index("measure")["value"]
    assert h["population"] / h["households"] == pytest.approx(2.1065, abs=1e-4)
