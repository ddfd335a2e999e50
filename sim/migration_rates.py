"""Migration across the region's border by age band and municipality, estimated from the data.

Everything here is a pure function of the shipped tables (``data/``) and the model's demographic
rates; nothing is fitted to the simulation. The methods and their error terms are documented in
``data/SOURCES.md`` ("Migration rates from cohort residuals"); in short:

**Cohort residuals** (:func:`cohort_residuals`). For each municipality and year ``t`` (1 January
2016 ... 2022) the FOLK1A stock of each of the seven age bands is split into single years and
sexes (:func:`single_year_profile`, :func:`split_bands`), aged one year, survived with the
model's death probabilities (2012 rates lowered by ``mortality_improvement`` per year, evaluated
at the new age as ``sim.demography.step`` does) and joined by the year's births (the model's
2020 fertility applied to the surviving women; births enter band 0-5). Re-aggregated to bands,
this is the stock expected on 1 January ``t + 1`` without migration. The net migration of a band
is the observed stock minus the expected one, so ``stock(t+1) = survivors + births + net
migration`` holds by construction; it is attributed to the band people are in at the end of the
year.

**Border exchange** (:func:`border_exchange`). Summed over the 19 municipalities, moves between
them cancel: the sum is the net migration across the region's border (to and from the rest of
Denmark and abroad).

**Gross flows** (:func:`gross_border_flows`). Stocks identify only net flows. The gross
out-migration across the border is an *assumption*: the Rogers-Castro (1981) model migration
schedule (fundamental parameters) gives the age shape, a level per person gives its size
(:data:`OUT_LEVEL`, with a plausible range), and the in-migration of a band is its out-migration
plus its net migration.

**Destinations** (:func:`inmigrant_destinations`). The share of the region's in-migrants of each
band settling in each municipality, under the stated assumption that a municipality's net
residual is all exchange with the outside (see the function).

**Scenarios** (:func:`future_migration_scenarios`). The future level of net migration is a
labelled scenario assumption (low / central / high = lowest, mean and highest region rate of the
observed years), never data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import data
from .demography import Rates, load_rates
from .params import DemographyParams

MAX_AGE = 110
#: Year of the single-year age-sex table used to split the bands.
PROFILE_YEAR = 2014
BAND_NAMES = tuple(b for b, _, _ in data.AGE_BANDS)
#: Human-readable band labels (same order as :data:`BAND_NAMES`).
BAND_LABELS = ("0-5", "6-16", "17-19", "20-34", "35-64", "65-79", "80+")

#: Rogers and Castro (1981) "fundamental" 7-parameter model migration schedule, as listed by the
#: R package migest (``rc_model_fund``): a1, alpha1, a2, alpha2, mu2, lambda2, c.
ROGERS_CASTRO_FUNDAMENTAL = {"a1": 0.02, "alpha1": 0.1, "a2": 0.06, "alpha2": 0.1,
                             "mu2": 20.0, "lambda2": 0.4, "c": 0.003}
#: assumption: gross out-migration across the region's border per person and year, all ages
#: (to the rest of Denmark and abroad). Range 0.025-0.045; central 0.035 = emigration at the
#: national rate (:func:`national_emigration_rate`, 1.28 % in 2019) plus an assumed 2.2 %
#: moving to other regions (no regional figure was found).
OUT_LEVEL = 0.035
OUT_LEVEL_RANGE = (0.025, 0.045)


def national_emigration_rate(year: int = 2019) -> float:
    """Denmark's emigrants in ``year`` per resident on 1 January (quoted DST figure)."""
    q = data.border_migration_quoted()
    row = q[(q["measure"] == "emigrated persons") & (q["period"] == str(year))]
    if row.empty:
        raise data.DataError(f"{data.data_dir() / data.FILES['migration_quoted']}: no "
                             f"'emigrated persons' row for {year}; restore the shipped file")
    nat = data.national_population()
    return float(row["value"].iloc[0]) / float(nat.loc[nat["year"] == year, "population"].sum())


def band_of_age(ages: np.ndarray) -> np.ndarray:
    """Index into :data:`BAND_NAMES` of each single age."""
    lows = np.array([lo for _, lo, _ in data.AGE_BANDS])
    return np.searchsorted(lows, np.asarray(ages), side="right") - 1


def single_year_profile(municipality_code: int, year: int, how: str = "cohort",
                        age_sex: pd.DataFrame | None = None) -> np.ndarray:
    """Relative numbers by sex (0 men, 1 women) and single age 0..110 used to split the bands.

    ``how="cohort"`` (default) shifts the municipality's 2014 table by ``year - 2014`` years, so
    each birth cohort keeps its 2014 size relative to its neighbours (ages born after 2014 take
    the 2014 count at age 0; the open age 110 collects the cohorts shifted past it).
    ``how="static"`` uses the 2014 table as it is (the comparison gives the split's error).
    """
    a = data.age_sex_2014() if age_sex is None else age_sex
    sub = a[a["municipality_code"] == municipality_code]
    if sub.empty:
        raise data.DataError(f"{data.data_dir() / data.FILES['age_sex']}: no rows for "
                             f"municipality {municipality_code}; restore the shipped file")
    n14 = np.zeros((2, MAX_AGE + 1))
    sex = (sub["sex"].to_numpy() == "f").astype(int)
    np.add.at(n14, (sex, np.minimum(sub["age"].to_numpy(int), MAX_AGE)),
              sub["population"].to_numpy(float))
    if how == "static":
        return n14
    if how != "cohort":
        raise ValueError(f"unknown profile {how!r}; use 'cohort' or 'static'")
    shift = year - PROFILE_YEAR
    if shift <= 0:
        return n14
    out = np.empty_like(n14)
    out[:, :shift] = n14[:, [0]]
    out[:, shift:] = n14[:, :MAX_AGE + 1 - shift]
    out[:, MAX_AGE] += n14[:, MAX_AGE + 1 - shift:].sum(axis=1)
    return out


def split_bands(band_stock: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Single-year and sex numbers whose band sums equal ``band_stock`` exactly.

    Within each band the stock is shared out in proportion to ``profile`` (sex x age); a band
    with an empty profile is shared out evenly over its ages and both sexes.
    """
    band = band_of_age(np.arange(MAX_AGE + 1))
    out = np.zeros((2, MAX_AGE + 1))
    for b, stock in enumerate(np.asarray(band_stock, float)):
        cols = band == b
        w = profile[:, cols].astype(float)
        total = w.sum()
        w = w / total if total > 0 else np.full(w.shape, 1.0 / w.size)
        out[:, cols] = stock * w
    return out


def project_one_year(single: np.ndarray, rates: Rates, year: int,
                     params: DemographyParams) -> tuple[np.ndarray, float, np.ndarray]:
    """Age a single-year population by one year without migration.

    Args:
        single: Persons by sex and age on 1 January of ``year - 1``, shape (2, 111).
        rates: The model's demographic rates (:func:`sim.demography.load_rates`).
        year: The year being entered; deaths use the improvement factor of this year, as in
            ``sim.demography.step``.
        params: Demography parameters (mortality year and improvement).

    Returns:
        (survivors by sex and new age, births, deaths by sex and new age).
    """
    aged = np.zeros_like(single)
    aged[:, 1:] = single[:, :-1]
    aged[:, MAX_AGE] += single[:, MAX_AGE]
    improve = (1.0 - params.mortality_improvement) ** max(year - params.mortality_year, 0)
    q = np.clip(rates.death * improve, 0.0, 1.0)
    deaths = aged * q
    surv = aged - deaths
    births = float((surv[1] * rates.birth).sum())
    return surv, births, deaths


def cohort_residuals(age_bands: pd.DataFrame | None = None, how: str = "cohort",
                     params: DemographyParams | None = None,
                     age_sex: pd.DataFrame | None = None) -> pd.DataFrame:
    """Net migration by municipality, age band and year from the FOLK1A stocks.

    Returns:
        One row per municipality, band and start year ``year`` (the flow runs from 1 January
        ``year`` to 1 January ``year + 1``) with columns municipality_code, municipality, year,
        band, band_label, stock_start (band stock at ``year``), stock_end (at ``year + 1``),
        survivors (people in the band at the end who were alive at the start), births (band
        0-5 only), deaths (of people who would have ended in the band), expected (survivors +
        births), net_migration (stock_end - expected) and net_rate (net_migration / expected).
    """
    ab = data.municipal_age_bands() if age_bands is None else age_bands
    params = DemographyParams() if params is None else params
    rates = load_rates(params)
    band = band_of_age(np.arange(MAX_AGE + 1))
    names = ab.drop_duplicates("municipality_code").set_index("municipality_code")[
        "municipality"]
    rows = []
    for code, g in ab.groupby("municipality_code", sort=True):
        g = g.set_index("year").sort_index()
        years = g.index.to_numpy(int)
        for t in years[:-1]:
            if t + 1 not in g.index:
                continue
            start = g.loc[t, list(BAND_NAMES)].to_numpy(float)
            end = g.loc[t + 1, list(BAND_NAMES)].to_numpy(float)
            single = split_bands(start, single_year_profile(int(code), int(t), how, age_sex))
            surv, births, deaths = project_one_year(single, rates, int(t) + 1, params)
            surv_b = np.bincount(band, weights=surv.sum(axis=0), minlength=len(BAND_NAMES))
            dead_b = np.bincount(band, weights=deaths.sum(axis=0), minlength=len(BAND_NAMES))
            for b in range(len(BAND_NAMES)):
                born = births if b == 0 else 0.0
                expected = surv_b[b] + born
                rows.append((int(code), names[code], int(t), BAND_NAMES[b], BAND_LABELS[b],
                             start[b], end[b], surv_b[b], born, dead_b[b], expected,
                             end[b] - expected))
    out = pd.DataFrame(rows, columns=[
        "municipality_code", "municipality", "year", "band", "band_label", "stock_start",
        "stock_end", "survivors", "births", "deaths", "expected", "net_migration"])
    out["net_rate"] = out["net_migration"] / out["expected"]
    return out


def border_exchange(residuals: pd.DataFrame) -> pd.DataFrame:
    """Net migration across the region's border by year and band (sum over municipalities).

    Moves between the region's municipalities cancel in the sum. Columns: year, band,
    band_label, net_migration, expected, net_rate (per person expected in the band) and
    per_1000 (net migration per 1,000 people of the region at the start of the year).
    """
    g = residuals.groupby(["year", "band", "band_label"], sort=False)[
        ["net_migration", "expected", "stock_start"]].sum().reset_index()
    pop = residuals.groupby("year")["stock_start"].sum()
    g["net_rate"] = g["net_migration"] / g["expected"]
    g["per_1000"] = 1000 * g["net_migration"] / pop.reindex(g["year"]).to_numpy()
    g["_b"] = g["band"].map({b: i for i, b in enumerate(BAND_NAMES)})
    return g.sort_values(["year", "_b"]).drop(columns=["_b", "stock_start"]).reset_index(
        drop=True)


def region_balance(residuals: pd.DataFrame) -> pd.DataFrame:
    """The region's yearly accounts: growth = births - deaths + net border migration.

    Columns: year, population_start, population_end, growth, births, deaths,
    natural_balance, net_migration, net_rate (per person at the start).
    """
    g = residuals.groupby("year").agg(
        population_start=("stock_start", "sum"), population_end=("stock_end", "sum"),
        births=("births", "sum"), deaths=("deaths", "sum"),
        net_migration=("net_migration", "sum")).reset_index()
    g["growth"] = g["population_end"] - g["population_start"]
    g["natural_balance"] = g["births"] - g["deaths"]
    g["net_rate"] = g["net_migration"] / g["population_start"]
    return g


def rogers_castro(ages: np.ndarray, p: dict[str, float] | None = None) -> np.ndarray:
    """The 7-parameter Rogers-Castro migration rate at each age (fundamental parameters).

    ``m(x) = a1 exp(-alpha1 x) + a2 exp(-alpha2 (x - mu2) - exp(-lambda2 (x - mu2))) + c``.
    """
    p = ROGERS_CASTRO_FUNDAMENTAL if p is None else p
    x = np.asarray(ages, float)
    return (p["a1"] * np.exp(-p["alpha1"] * x)
            + p["a2"] * np.exp(-p["alpha2"] * (x - p["mu2"]) - np.exp(-p["lambda2"]
                                                                     * (x - p["mu2"])))
            + p["c"])


def out_rates_by_band(profile: np.ndarray, level: float = OUT_LEVEL,
                      schedule: dict[str, float] | None = None) -> np.ndarray:
    """Assumed gross out-migration rate per person and year for each band.

    The Rogers-Castro shape is averaged over the single ages of each band with weights
    ``profile`` (persons by age, summed over sex) and scaled so that the rate of all ages
    together is ``level``.
    """
    ages = np.arange(MAX_AGE + 1)
    w = np.asarray(profile, float)
    w = w.sum(axis=0) if w.ndim == 2 else w
    m = rogers_castro(ages, schedule)
    scale = level / ((m * w).sum() / w.sum())
    band = band_of_age(ages)
    num = np.bincount(band, weights=m * w, minlength=len(BAND_NAMES))
    den = np.bincount(band, weights=w, minlength=len(BAND_NAMES))
    return scale * num / np.maximum(den, 1e-12)


def gross_border_flows(residuals: pd.DataFrame, level: float = OUT_LEVEL,
                       schedule: dict[str, float] | None = None) -> pd.DataFrame:
    """Assumed gross out- and in-migration across the border by year and band.

    Out-migration of a band = :func:`out_rates_by_band` (region's age profile of the start
    year, cohort-split) x its expected stock; in-migration = out-migration + net migration.
    Where the net outflow of a band exceeds the assumed out-migration, out-migration is
    raised to it and in-migration is 0 (column ``out_raised`` marks this).

    Columns: year, band, band_label, expected, net_migration, out_rate, out_migration,
    in_migration, out_raised.
    """
    ex = border_exchange(residuals)
    prof = np.zeros((2, MAX_AGE + 1))
    rows = []
    for year, g in ex.groupby("year", sort=True):
        prof[:] = 0
        start = residuals[residuals["year"] == year]
        for code, s in start.groupby("municipality_code"):
            stock = s.set_index("band").loc[list(BAND_NAMES), "stock_start"].to_numpy(float)
            prof += split_bands(stock, single_year_profile(int(code), int(year)))
        rate = out_rates_by_band(prof, level, schedule)
        g = g.set_index("band").loc[list(BAND_NAMES)]
        out = rate * g["expected"].to_numpy()
        raised = out < -g["net_migration"].to_numpy()
        out = np.where(raised, -g["net_migration"].to_numpy(), out)
        for b, name in enumerate(BAND_NAMES):
            rows.append((int(year), name, BAND_LABELS[b], g["expected"].iloc[b],
                         g["net_migration"].iloc[b], rate[b], out[b],
                         out[b] + g["net_migration"].iloc[b], bool(raised[b])))
    return pd.DataFrame(rows, columns=["year", "band", "band_label", "expected",
                                       "net_migration", "out_rate", "out_migration",
                                       "in_migration", "out_raised"])


def inmigrant_destinations(residuals: pd.DataFrame, level: float = OUT_LEVEL,
                           years: tuple[int, int] | None = None) -> pd.DataFrame:
    """Share of the region's in-migrants of each band that settle in each municipality.

    Identified by the data: each municipality's net residual by band (its exchange with the
    rest of the region *and* with the outside). Assumed: (1) the out-migration across the
    border of a band is the same rate (:func:`out_rates_by_band`) in every municipality;
    (2) a municipality's net residual is all exchange with the outside, so its in-migrants
    are ``max(net + out, 0)``. Internal redistribution (families from Aarhus to its
    neighbours) is therefore read as a destination preference of in-migrants; the model's own
    relocation adds the internal moves on top. Averaged over ``years`` (start years,
    inclusive; default all).

    Returns:
        Columns municipality_code, municipality, band, band_label, in_migrants (mean per year),
        share (of the region's in-migrants of the band; sums to 1 per band) and
        profile (share of the municipality's in-migrants in each band; sums to 1 per
        municipality).
    """
    r = residuals if years is None else residuals[residuals["year"].between(*years)]
    gross = gross_border_flows(r, level).set_index(["year", "band"])["out_rate"]
    r = r.copy()
    r["out_rate"] = gross.reindex(pd.MultiIndex.from_arrays([r["year"], r["band"]])).to_numpy()
    r["in_migrants"] = np.maximum(r["net_migration"] + r["out_rate"] * r["expected"], 0.0)
    g = r.groupby(["municipality_code", "municipality", "band", "band_label"],
                  sort=False)["in_migrants"].mean().reset_index()
    g["share"] = g["in_migrants"] / g.groupby("band")["in_migrants"].transform("sum")
    g["profile"] = g["in_migrants"] / g.groupby("municipality_code")["in_migrants"].transform(
        "sum")
    return g


def future_migration_scenarios(residuals: pd.DataFrame,
                               years: tuple[int, int] | None = None) -> pd.DataFrame:
    """Scenario assumption (not data): low / central / high net border migration.

    The band schedule is the mean over the observed years of each band's net rate (per person
    expected in the band). ``central`` uses it as it is; ``low`` and ``high`` scale it so that
    the all-ages rate equals the lowest and highest yearly region rate observed. ``years``
    (start years, inclusive) restricts the observed years, e.g. ``(2016, 2021)`` leaves out
    2022->2023 with the arrivals from Ukraine. Columns: scenario, band, band_label, net_rate,
    all_ages_rate, basis.
    """
    if years is not None:
        residuals = residuals[residuals["year"].between(*years)]
    ex = border_exchange(residuals)
    bal = region_balance(residuals)
    mean_rate = ex.groupby("band")["net_rate"].mean().reindex(list(BAND_NAMES))
    weights = ex.groupby("band")["expected"].mean().reindex(list(BAND_NAMES))
    central_total = float((mean_rate * weights).sum() / bal["population_start"].mean())
    lo, hi = float(bal["net_rate"].min()), float(bal["net_rate"].max())
    y_lo = int(bal.loc[bal["net_rate"].idxmin(), "year"])
    y_hi = int(bal.loc[bal["net_rate"].idxmax(), "year"])
    rows = []
    for name, total, basis in (
            ("low", lo, f"assumption: lowest observed year ({y_lo}->{y_lo + 1}) rate"),
            ("central", central_total, "assumption: mean band rates of the observed years"),
            ("high", hi, f"assumption: highest observed year ({y_hi}->{y_hi + 1}) rate")):
        k = total / central_total if central_total else 0.0
        for b, band in enumerate(BAND_NAMES):
            rows.append((name, band, BAND_LABELS[b], float(mean_rate[band] * k), total, basis))
    return pd.DataFrame(rows, columns=["scenario", "band", "band_label", "net_rate",
                                       "all_ages_rate", "basis"])


__all__ = [
    "BAND_LABELS",
    "BAND_NAMES",
    "border_exchange",
    "cohort_residuals",
    "future_migration_scenarios",
    "gross_border_flows",
    "inmigrant_destinations",
    "out_rates_by_band",
    "project_one_year",
    "region_balance",
    "rogers_castro",
    "single_year_profile",
    "split_bands",
]
