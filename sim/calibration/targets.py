"""Observed targets of the calibration, read so that held-out years are never seen.

:func:`fit_targets` is the only door through which the fit reads observed data: municipal
populations from the base year up to ``fit_end`` (later rows are dropped before anything is
computed from them), the village grocer trend (896 shops in villages under 2,000 inhabitants
in 2007, 597 in 2017; ``calibration_figures.csv``) and Statistics Denmark's mobility figures
(from the calibration file). :func:`held_out` gives the validation years, used only after the
fit, by :mod:`sim.calibration.validation`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import data
from .config import CalibrationConfig

#: Rows of calibration_figures.csv giving the village grocer counts (figure, year).
VILLAGE_SHOPS_FIGURE = "shops in villages <2000 inhabitants"
#: Rows of calibration_figures.csv giving Denmark's grocery shops (DST; report only).
NATIONAL_SHOPS_FIGURE = "grocery shops in Denmark"


@dataclass(frozen=True)
class FitTargets:
    """Everything observed that the fit compares against (all years <= fit_end)."""

    municipal: pd.DataFrame  # municipality_code x year (base_year..fit_end), persons
    names: dict[int, str]
    village_grocer_rate_pct: float  # yearly % change of village shops (compound)
    village_grocer_years: tuple[int, int]
    short_move_share_pct: float
    within_municipality_pct: float
    mean_move_km: float
    bands: pd.DataFrame | None = None  # municipality_code x FOLK1A band, % of persons, fit_end

    def growth_pct(self) -> pd.Series:
        """Observed municipal growth base_year -> fit_end (%)."""
        first, last = self.municipal.columns.min(), self.municipal.columns.max()
        return (self.municipal[last] / self.municipal[first] - 1) * 100


def _municipal_table(first: int, last: int) -> tuple[pd.DataFrame, dict[int, str]]:
    m = data.municipal_population()
    m = m[(m["year"] >= first) & (m["year"] <= last)]
    table = m.pivot_table(index="municipality_code", columns="year", values="population_1jan")
    return table, municipality_names()


def figure_trend(figure_prefix: str) -> tuple[float, tuple[int, int], tuple[float, float]]:
    """Yearly % change between the first and last rows of a figure in calibration_figures.csv.

    Rows whose ``figure`` starts with ``figure_prefix`` are one count per year.

    Returns:
        (yearly change %, (first year, last year), (first value, last value)).
    """
    path = data.data_dir() / "calibration_figures.csv"
    try:
        fig = pd.read_csv(path)
    except FileNotFoundError:
        raise data.DataError(f"{path}: data file missing; restore it (git checkout -- data/)")\
            from None
    rows = fig[fig["figure"].astype(str).str.startswith(figure_prefix)]
    if len(rows) < 2:
        raise data.DataError(f"{path}: needs two rows with figure '{figure_prefix}...' "
                             "(two years of shop counts)")
    years = pd.to_numeric(rows["year"], errors="coerce")
    values = pd.to_numeric(rows["value"], errors="coerce")
    if years.isna().any() or values.isna().any():
        raise data.DataError(f"{path}: the '{figure_prefix}' rows need numeric 'year' and "
                             "'value'")
    order = np.argsort(years.to_numpy())
    y, v = years.to_numpy()[order], values.to_numpy()[order]
    rate = ((v[-1] / v[0]) ** (1 / (y[-1] - y[0])) - 1) * 100
    return float(rate), (int(y[0]), int(y[-1])), (float(v[0]), float(v[-1]))


def municipality_names() -> dict[int, str]:
    """Municipality code -> name (from the municipal population file)."""
    m = data.municipal_population()
    return m.drop_duplicates("municipality_code").set_index("municipality_code")[
        "municipality_name"].to_dict()


def village_grocer_trend() -> tuple[float, tuple[int, int]]:
    """Yearly % change of grocery shops in villages under 2,000 (calibration_figures.csv)."""
    rate, years, _ = figure_trend(VILLAGE_SHOPS_FIGURE)
    return rate, years


def fit_targets(cfg: CalibrationConfig) -> FitTargets:
    """The fit's targets; no observed value after ``cfg.protocol.fit_end`` is read.

    Raises:
        DataError: If a target file is missing or malformed, or a target year lies after
            ``fit_end`` (the village shop figures must end by then).
    """
    pr = cfg.protocol
    table, names = _municipal_table(pr.base_year, pr.fit_end)
    rate, years = village_grocer_trend()
    if years[1] > pr.fit_end:
        raise data.DataError(f"calibration_figures.csv: village shop figures end in {years[1]}, "
                             f"after fit_end {pr.fit_end}; the fit may not read them")
    mob = cfg.mobility
    return FitTargets(table, names, rate, years, mob.short_move_share_pct,
                      mob.within_municipality_pct, mob.mean_move_km,
                      observed_band_shares(pr.fit_end))


def observed_band_shares(year: int) -> pd.DataFrame:
    """Share (%) of each municipality's persons in each FOLK1A age band on 1 January ``year``.

    Only the rows of ``year`` are read (the fit reads ``fit_end``, the validation later years).
    """
    from ..migration_rates import BAND_NAMES

    ab = data.municipal_age_bands()
    rows = ab[ab["year"] == year].set_index("municipality_code")[list(BAND_NAMES)]
    if rows.empty:
        raise data.DataError(f"{data.data_dir() / data.FILES['age_bands']}: no rows for {year}")
    return 100 * rows.div(rows.sum(axis=1), axis=0).astype(float)


def held_out(cfg: CalibrationConfig) -> pd.DataFrame:
    """Observed municipal populations fit_end..validation_end (validation only)."""
    pr = cfg.protocol
    return _municipal_table(pr.fit_end, pr.validation_end)[0]


def trend_baseline(cfg: CalibrationConfig) -> pd.DataFrame:
    """Populations base_year..fit_end for the baselines (same years the fit may read)."""
    pr = cfg.protocol
    return _municipal_table(pr.base_year, pr.fit_end)[0]


def target_files_sha256() -> dict[str, str]:
    """SHA-256 of every file the targets come from (a changed file changes the fit hash)."""
    out = {}
    for name in (data.FILES["municipal"], data.FILES["age_bands"], "calibration_figures.csv"):
        path = data.data_dir() / name
        out[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"
    return out
