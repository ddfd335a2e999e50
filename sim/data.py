"""Load and check the real tables shipped in ``data/`` (provenance in ``data/SOURCES.md``).

The data folder is the package's copy (``sim/_data`` when installed, the repository's
``data/`` in a checkout or editable install), or an explicit override: ``$LANDSIM_DATA`` or
``landsim --data DIR`` (:mod:`sim.shipped`). Tables are cached per data folder, so a changed
choice reads the new folder's tables.

Every loader checks the columns it needs and raises :class:`DataError` naming the file, the
column and the fix, so a damaged or replaced file never produces a traceback deep inside the
model.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd

from . import shipped

#: The data folder in use (``shipped.DATA.chosen`` applies the CLI option).
DATA = shipped.DATA
#: Environment variable naming another data folder.
DATA_ENV = DATA.env
#: Command-line option naming another data folder (``landsim --data DIR``).
DATA_OPTION = DATA.option

FILES = {
    "parishes": "parishes_midtjylland_population_2021.csv",
    "settlements": "settlements_midtjylland.csv",
    "town_pages": "settlement_population_pages.csv",
    "town_quoted": "settlement_population_quoted.csv",
    "municipal": "municipal_population_1993_2023.csv",
    "age_sex": "municipal_population_age_sex_2014.csv",
    "mortality": "denmark_mortality_rates_age_sex_2000_2012.csv",
    "fertility": "denmark_fertility_asfr_2020.csv",
    "fertility_summary": "denmark_fertility_summary.csv",
    "services": "services_osm_nodes_2019_midtjylland.csv",
    "boundaries": "municipalities_midtjylland.geojson",
    "urban_classes": "urban_size_class_denmark_quoted.csv",
    "national_population": "denmark_population_age5_sex_1990_2025.csv",
    "age_bands": "municipal_population_agebands_2016_2023.csv",
    "towns_by3": "town_population_by3_2026.csv",
    "schools": "schools_institutionsregister_midtjylland.csv",
    "migration_quoted": "border_migration_quoted.csv",
    "households_quoted": "households_quoted.csv",
}

#: FOLK1A age bands of ``municipal_population_agebands_2016_2023.csv``: column, first age, last
#: age (``None`` = open-ended 80+).
AGE_BANDS = (("a0_5", 0, 5), ("a6_16", 6, 16), ("a17_19", 17, 19), ("a20_34", 20, 34),
             ("a35_64", 35, 64), ("a65_79", 65, 79), ("a80p", 80, None))


class DataError(ValueError):
    """A shipped data file is missing or malformed; the message names file, column and fix."""


def data_source() -> shipped.Choice:
    """The data folder in use and how it was chosen (package, ``$LANDSIM_DATA``, ``--data``)."""
    return DATA.current()


def data_dir() -> Path:
    """The data folder in use (see :func:`data_source`)."""
    path = DATA.current().path
    assert path is not None  # the data folder cannot be "none"
    return path


def _path(key: str) -> Path:
    p = data_dir() / FILES[key]
    if not p.exists():
        raise DataError(
            f"{p}: data file missing; restore it from the repository (git checkout -- data/) "
            f"or give a folder that has it ({DATA_OPTION} DIR or {DATA_ENV})"
        )
    return p


T = TypeVar("T")
#: Every cached loader (for :func:`clear_cache`).
_LOADERS: list[Callable[[], object]] = []


def _per_folder(load: Callable[[], T]) -> Callable[[], T]:
    """Cache a loader's table per data folder (the folder is the cache key)."""
    @functools.cache
    def by_folder(folder: Path) -> T:
        return load()  # reads data_dir(), which is ``folder``

    @functools.wraps(load)
    def loader() -> T:
        return by_folder(data_dir())

    loader.cache_clear = by_folder.cache_clear  # type: ignore[attr-defined]
    _LOADERS.append(loader)
    return loader


def _read_csv(key: str, required: dict[str, str]) -> pd.DataFrame:
    """Read one CSV and check required columns and their kinds ('num' or 'str')."""
    p = _path(key)
    try:
        df = pd.read_csv(p, keep_default_na=False, na_values=[""])  # only empty = missing
    except Exception as e:  # pandas raises many kinds for unreadable files
        raise DataError(f"{p}: cannot be read as CSV ({e}); restore the shipped file") from None
    for col, kind in required.items():
        if col not in df.columns:
            raise DataError(f"{p}: column '{col}' is missing; the file needs columns "
                            f"{', '.join(required)}")
        if kind == "num":
            vals = pd.to_numeric(df[col], errors="coerce")
            bad = vals.isna() & df[col].notna()
            if bad.any():
                row = int(bad.idxmax()) + 2
                raise DataError(f"{p}: column '{col}' row {row} holds {df[col][bad].iloc[0]!r}, "
                                "not a number; correct that cell")
            df[col] = vals
    return df


@_per_folder
def parishes() -> pd.DataFrame:
    """The 631 parishes: code, name, municipality, visual centre, 2021 population, mean age."""
    df = _read_csv("parishes", {
        "parish_code": "num", "parish_name": "str", "municipality_code": "num",
        "municipality": "str", "lat_visual_centre": "num", "lon_visual_centre": "num",
        "population": "num", "mean_age": "num",
    })
    if (df["population"] < 0).any() or df["population"].isna().any():
        raise DataError(f"{_path('parishes')}: column 'population' must be a count >= 0 in "
                        "every row")
    return df


@_per_folder
def settlements() -> pd.DataFrame:
    """Gazetteer towns (SDFI Stednavne + GeoNames) with optional GeoNames population."""
    return _read_csv("settlements", {
        "name": "str", "municipality_code": "num", "lat": "num", "lon": "num",
        "coord_source": "str", "population": "num",
    })


@_per_folder
def town_population_quotes() -> pd.DataFrame:
    """Dated DST urban-area populations quoted by web pages (two files, one table).

    Returns columns name, municipality_code, population, year, source.
    """
    pages = _read_csv("town_pages", {"name": "str", "municipality_code": "num",
                                      "population": "num", "year": "num"})
    quoted = _read_csv("town_quoted", {"name": "str", "municipality_code": "num",
                                        "population": "num", "year": "num"})
    a = pages.assign(source=pages["source_url"])[
        ["name", "municipality_code", "population", "year", "source"]]
    b = quoted.assign(source=quoted["url"])[
        ["name", "municipality_code", "population", "year", "source"]]
    out = pd.concat([a, b], ignore_index=True)
    # undated quotes are not used: a figure must have a reference year to be chosen
    return out.dropna(subset=["population", "year"])


@_per_folder
def municipal_population() -> pd.DataFrame:
    """Municipal population on 1 January, 1993-2023 (19 municipalities)."""
    return _read_csv("municipal", {"municipality_code": "num", "municipality_name": "str",
                                   "year": "num", "population_1jan": "num"})


@_per_folder
def age_sex_2014() -> pd.DataFrame:
    """Municipal population by sex (m/f) and single year of age 0-110, 2014."""
    df = _read_csv("age_sex", {"municipality_code": "num", "sex": "str", "age": "num",
                               "population": "num"})
    if not set(df["sex"].unique()) <= {"m", "f"}:
        raise DataError(f"{_path('age_sex')}: column 'sex' must be 'm' or 'f'")
    return df


@_per_folder
def mortality() -> pd.DataFrame:
    """Danish death rates per 1000 by year (2000-2012), sex and age 0-99+."""
    return _read_csv("mortality", {"year": "num", "sex": "str", "age": "num",
                                   "death_rate_per_1000": "num"})


@_per_folder
def fertility() -> pd.DataFrame:
    """Age-specific fertility rates per 1000 women by 5-year age of mother, Denmark 2020."""
    return _read_csv("fertility", {"mother_age_group": "str", "asfr_per_1000_women": "num"})


@_per_folder
def fertility_summary() -> pd.DataFrame:
    """TFR, GRR and related summary measures, Denmark 2020."""
    return _read_csv("fertility_summary", {"measure": "str", "value": "num"})


@_per_folder
def services_osm() -> pd.DataFrame:
    """OpenStreetMap 2019 service nodes in the region (lower bounds of the real counts)."""
    return _read_csv("services", {"osm_tag": "str", "municipality_code": "num",
                                  "lat": "num", "lon": "num"})


@_per_folder
def urban_size_classes() -> pd.DataFrame:
    """National figures by urban-area size class quoted from DST releases (long format)."""
    return _read_csv("urban_classes", {"area": "str", "size_class": "str", "year": "str",
                                       "measure": "str", "value": "num"})


@_per_folder
def national_population() -> pd.DataFrame:
    """Denmark's population by sex and 5-year age group, 1990-2025."""
    return _read_csv("national_population", {"year": "num", "sex": "str",
                                             "population": "num"})


@_per_folder
def boundaries() -> dict:
    """Municipality boundaries as a GeoJSON FeatureCollection (WGS84)."""
    p = _path("boundaries")
    try:
        gj = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{p}: not valid GeoJSON ({e}); restore the shipped file") from None
    if gj.get("type") != "FeatureCollection" or not gj.get("features"):
        raise DataError(f"{p}: expected a GeoJSON FeatureCollection with features")
    return gj


@_per_folder
def municipal_age_bands() -> pd.DataFrame:
    """FOLK1A population on 1 January by municipality and 7 age bands, 2016-2023.

    Checked: every band is a count >= 0 and the bands sum to ``total`` in every row.
    """
    cols = {"municipality_code": "num", "municipality": "str", "year": "num", "total": "num"}
    cols.update({b: "num" for b, _, _ in AGE_BANDS})
    df = _read_csv("age_bands", cols)
    p = _path("age_bands")
    bands = [b for b, _, _ in AGE_BANDS]
    if df[[*bands, "total"]].isna().any().any() or (df[bands] < 0).any().any():
        raise DataError(f"{p}: every age-band cell must be a count >= 0; restore the shipped file")
    off = df[bands].sum(axis=1) != df["total"]
    if off.any():
        row = int(off.idxmax()) + 2
        raise DataError(f"{p}: row {row}: the age bands do not sum to column 'total'; correct "
                        "that row or restore the shipped file")
    if df.duplicated(["municipality_code", "year"]).any():
        raise DataError(f"{p}: a municipality-year appears twice; keep one row per "
                        "municipality_code and year")
    return df


@_per_folder
def town_population_by3() -> pd.DataFrame:
    """Statistics Denmark BY3: population of towns of 1,000+ on 1 January 2026 (121 towns)."""
    df = _read_csv("towns_by3", {"town_name": "str", "municipality_code": "num",
                                 "municipality": "str", "population_2026": "num"})
    if df["population_2026"].isna().any() or (df["population_2026"] <= 0).any():
        raise DataError(f"{_path('towns_by3')}: column 'population_2026' must be a positive "
                        "count in every row")
    return df


#: Institution types of the Institutionsregister kept in the school register file.
SCHOOL_TYPES = {1012: "Folkeskoler", 1013: "Friskoler og private grundskoler",
                1014: "Kommunale ungdomsskoler og ungdomskostskoler",
                1015: "Specialskoler for børn"}


@_per_folder
def schools_register() -> pd.DataFrame:
    """Schools of Region Midtjylland from the Institutionsregister (types in SCHOOL_TYPES).

    Checked: unique institution numbers, known type codes, coordinates present.
    """
    df = _read_csv("schools", {
        "institution_number": "num", "name": "str", "type_code": "num", "municipality": "str",
        "municipality_code": "num", "lat": "num", "lon": "num", "unit_kind": "str",
        "main_institution": "num"})
    p = _path("schools")
    if df["institution_number"].duplicated().any():
        dup = int(df.loc[df["institution_number"].duplicated(), "institution_number"].iloc[0])
        raise DataError(f"{p}: column 'institution_number' holds {dup} twice; keep one row per "
                        "institution")
    unknown = ~df["type_code"].isin(list(SCHOOL_TYPES))
    if unknown.any():
        raise DataError(f"{p}: column 'type_code' holds {df.loc[unknown, 'type_code'].iloc[0]!r}"
                        f"; allowed: {', '.join(map(str, SCHOOL_TYPES))}")
    if df[["lat", "lon"]].isna().any().any():
        raise DataError(f"{p}: columns 'lat'/'lon' must hold coordinates in every row")
    return df


@_per_folder
def border_migration_quoted() -> pd.DataFrame:
    """Published migration and mobility figures (one row per quoted figure, URL per row)."""
    return _read_csv("migration_quoted", {"topic": "str", "area": "str", "period": "str",
                                          "measure": "str", "value": "num", "unit": "str",
                                          "source_url": "str", "quote": "str"})


@_per_folder
def households_quoted() -> pd.DataFrame:
    """Statistics Denmark's published household figures (FAM55N release, 1 January 2022)."""
    return _read_csv("households_quoted", {"area": "str", "date": "str", "measure": "str",
                                           "value": "num", "unit": "str",
                                           "source_url": "str"})


def clear_cache() -> None:
    """Forget every loaded table (of every data folder)."""
    for f in _LOADERS:
        f.cache_clear()
