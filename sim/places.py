"""Places: the region's parishes split into their towns and their open countryside.

The 631 parishes (2021 population) are the backbone. Each gazetteer town is attached to the
parish whose visual centre is nearest within its municipality. Town populations come, in this
order (:func:`_known_town_populations`): a dated Statistics Denmark urban-area figure quoted by
a web page for a year within :data:`QUOTE_WINDOW` of the base year; for a town in Statistics
Denmark's BY3 table of 1 January 2026, the geometric interpolation between its latest earlier
dated quote and the 2026 figure, or without an earlier quote the 2026 figure back-cast by the
municipality's change (:func:`backcast_factor`; both flagged ``estimated``); any other dated
quote (the year nearest the base year, earlier year on a tie); GeoNames (year not stated).
A town's known
population is drawn from its own parish first and then from the nearest parishes of the same
municipality, so a city like Aarhus absorbs the parishes it covers and totals never exceed the
parishes' sum.

Towns without a known population are **estimated** (``estimated=True``): in each parish the
population left after known towns (the remainder) is split between the parish's unknown
towns (share ``f``, equally) and its open countryside (``1 - f``). ``f`` is solved by
bisection so that the region's share of people in open countryside and hamlets under 200
inhabitants equals Denmark's 2019 landdistrikter share (DST, in
``urban_size_class_denmark_quoted.csv``). An estimate can never exceed its parish: it is a
share of the parish's remainder. Estimated hamlets under 200 inhabitants are open
countryside by the DST definition, so they are folded into their parish's countryside place
(column ``hamlets`` lists their names); known towns are kept whatever their size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import data
from .geo import pairwise_km, project

log = logging.getLogger(__name__)

#: Spellings that differ between DST (quoted pages) and the Stednavne gazetteer.
NAME_ALIASES = {("Hov", 727): "Hou"}

#: Denmark's population living in landdistrikter (<200 inhabitants) on 1 Jan 2019 (DST Nyt,
#: urban_size_class_denmark_quoted.csv) - the numerator of the countryside share target.
LANDDISTRIKTER_2019 = ("landdistrikter (<200)", 2019, "population")

#: A dated DST quote at most this many years from the base year beats the BY3 estimates.
#: Measured (data/SOURCES.md): the BY3 back-cast differs from the 34 quotes of 2020-2022 by
#: 3.4 % (mean absolute); interpolating between an earlier quote and BY3 differs from the 14
#: such quotes that have one by 2.3 % (back-cast: 4.6 %); a quote of the base year +-1 is a
#: direct measurement.
QUOTE_WINDOW = 1
#: Year of the BY3 town figures (``town_population_by3_2026.csv``, 1 January).
BY3_YEAR = 2026
#: Years whose mean growth is continued to bridge the municipal series (ends 2023) to 2026.
BRIDGE_GROWTH_YEARS = (2018, 2023)


def backcast_factor(base_year: int, target_year: int = BY3_YEAR,
                    growth_years: tuple[int, int] = BRIDGE_GROWTH_YEARS,
                    municipal: pd.DataFrame | None = None) -> pd.Series:
    """Per municipality: observed population in base_year / estimated population in target_year.

    The municipal series ends in ``growth_years[1]`` (2023): the target year's population is
    that last figure continued at the municipality's mean yearly growth over ``growth_years``,
    ``P(target) = P(last) * (1 + g) ** (target - last)``, ``g = (P(last) / P(first)) ** (1 /
    (last - first)) - 1``. A town's base-year population is its target-year figure times this
    factor: the town is assumed to have changed like its municipality (an estimate; its error
    against dated DST figures is in ``data/SOURCES.md``).

    Returns:
        Factor indexed by municipality code.
    """
    m = data.municipal_population() if municipal is None else municipal
    p = m.pivot_table(index="municipality_code", columns="year", values="population_1jan")
    first, last = growth_years
    missing = [y for y in (base_year, first, last) if y not in p.columns]
    if missing:
        raise ValueError(f"no municipal populations for {missing} in {data.FILES['municipal']}")
    g = (p[last] / p[first]) ** (1.0 / (last - first)) - 1.0
    return p[base_year] / (p[last] * (1.0 + g) ** (target_year - last))


@dataclass(frozen=True)
class PlaceBuild:
    """Result of :func:`build_places`: the table plus the derivation's key figures."""

    places: pd.DataFrame
    town_share_of_remainder: float
    countryside_share_target: float
    allocation: pd.DataFrame  # place_id, parish_code, persons: where each place's people live


def national_countryside_share() -> float:
    """Denmark's 2019 share of people in landdistrikter (<200), from the shipped DST figures."""
    path = data.data_dir() / data.FILES["urban_classes"]
    cls = data.urban_size_classes()
    area, year, measure = LANDDISTRIKTER_2019
    row = cls[(cls["size_class"] == area) & (cls["year"].astype(str) == str(year))
              & (cls["measure"] == measure)]
    if row.empty:
        raise data.DataError(f"{path}: no row for {area} {year} {measure}; restore the file")
    nat = data.national_population()
    total = nat.loc[nat["year"] == year, "population"].sum()
    return float(row["value"].iloc[0]) / float(total)


def interpolate_geometric(p0: float, y0: int, p1: float, y1: int, year: int) -> float:
    """Population in ``year`` on the constant-growth path from (y0, p0) to (y1, p1)."""
    return p0 * (p1 / p0) ** ((year - y0) / (y1 - y0))


def _known_town_populations(towns: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """Pick one population per town (see the module docstring for the order of sources).

    Returns columns pop_known, pop_year, pop_source and pop_estimated (True for a BY3
    back-cast), aligned with ``towns``.
    """
    quotes = data.town_population_quotes().copy()
    quotes["name"] = [NAME_ALIASES.get((n, int(m)), n)
                      for n, m in zip(quotes["name"], quotes["municipality_code"], strict=True)]
    quotes["dist"] = (quotes["year"] - base_year).abs() + (quotes["year"] > base_year) * 0.5
    quotes = quotes.sort_values(["name", "municipality_code", "dist"])
    best = quotes.drop_duplicates(["name", "municipality_code"], keep="first")
    by3 = data.town_population_by3()
    factor = backcast_factor(base_year)

    out = towns[["name", "municipality_code"]].copy()
    out["pop_known"] = np.nan
    out["pop_year"] = pd.Series([pd.NA] * len(out), dtype="Int64")
    out["pop_source"] = ""
    out["pop_estimated"] = False
    # duplicate names in one municipality: a figure goes to the copy in the bigger parish
    key_order = towns.sort_values("parish_pop", ascending=False)
    first_idx = key_order.drop_duplicates(["name", "municipality_code"]).set_index(
        ["name", "municipality_code"]).index
    first_rows = key_order.drop_duplicates(["name", "municipality_code"]).index
    lookup = dict(zip(first_idx, first_rows, strict=True))

    def quote(row: int, q: pd.Series) -> None:
        out.loc[row, "pop_known"] = q["population"]
        out.loc[row, "pop_year"] = int(q["year"])
        out.loc[row, "pop_source"] = f"DST urban area {int(q['year'])} via {q['source']}"

    near = best["dist"] <= QUOTE_WINDOW + 0.5
    early = quotes[quotes["year"] < base_year - QUOTE_WINDOW].sort_values("year")
    early = early.drop_duplicates(["name", "municipality_code"], keep="last").set_index(
        ["name", "municipality_code"])
    for _, q in best[near].iterrows():
        row = lookup.get((q["name"], int(q["municipality_code"])))
        if row is not None:
            quote(row, q)
    for _, t in by3.iterrows():
        code = int(t["municipality_code"])
        row = lookup.get((NAME_ALIASES.get((t["town_name"], code), t["town_name"]), code))
        if row is None or out.at[row, "pop_source"]:
            continue
        p26 = float(t["population_2026"])
        key = (out.at[row, "name"], code)
        out.loc[row, "pop_year"] = base_year
        out.loc[row, "pop_estimated"] = True
        if key in early.index:
            e = early.loc[key]
            y0, p0 = int(e["year"]), float(e["population"])
            out.loc[row, "pop_known"] = interpolate_geometric(p0, y0, p26, BY3_YEAR, base_year)
            out.loc[row, "pop_source"] = (
                f"estimated: geometric interpolation to {base_year} between DST urban area "
                f"{y0} ({int(p0)}, via {e['source']}) and DST BY3 {BY3_YEAR} ({int(p26)})")
            continue
        f = float(factor[code])
        out.loc[row, "pop_known"] = p26 * f
        out.loc[row, "pop_source"] = (
            f"estimated: DST BY3 {BY3_YEAR} ({int(p26)}) back-cast to {base_year} by "
            f"municipal change x{f:.4f} ({BRIDGE_GROWTH_YEARS[0]}-{BRIDGE_GROWTH_YEARS[1]} "
            f"growth continued to {BY3_YEAR})")
    for _, q in best[~near].iterrows():
        row = lookup.get((q["name"], int(q["municipality_code"])))
        if row is not None and not out.at[row, "pop_source"]:
            quote(row, q)
    geon = towns["population"].notna() & out["pop_known"].isna() & ~towns["geonames_only"]
    out.loc[geon, "pop_known"] = towns.loc[geon, "population"]
    out.loc[geon, "pop_source"] = "GeoNames cities500 (year not stated)"
    return out


def build_places(base_year: int = 2021, town_min: int = 200) -> PlaceBuild:
    """Build the place table (towns + open countryside per parish).

    Args:
        base_year: Reference year for choosing among dated town figures.
        town_min: Inhabitants below which a place counts as open countryside (DST: 200).

    Returns:
        PlaceBuild with one row per place of positive population.
    """
    par = data.parishes().reset_index(drop=True)
    px, py = project(par["lon_visual_centre"].to_numpy(), par["lat_visual_centre"].to_numpy())
    st = data.settlements().reset_index(drop=True).copy()
    st = st[st["municipality_code"].isin(par["municipality_code"].unique())].reset_index(drop=True)
    sx, sy = project(st["lon"].to_numpy(), st["lat"].to_numpy())
    st["geonames_only"] = st["coord_source"].str.startswith("GeoNames")

    # attach each town to the nearest parish centre of its own municipality
    d = pairwise_km(sx, sy, px, py)
    same = st["municipality_code"].to_numpy()[:, None] == par["municipality_code"].to_numpy()[None]
    d_same = np.where(same, d, np.inf)
    st["parish_idx"] = d_same.argmin(axis=1)
    st["parish_pop"] = par["population"].to_numpy()[st["parish_idx"]]

    known = _known_town_populations(st, base_year)
    st = st.join(known[["pop_known", "pop_year", "pop_source", "pop_estimated"]])

    remaining = par["population"].to_numpy().astype(float).copy()
    town_pop = np.zeros(len(st))
    capped = np.zeros(len(st), bool)
    alloc: list[tuple[int, int, float]] = []  # (town row, parish, persons)
    order = st.index[st["pop_known"].notna()].to_numpy()
    order = order[np.argsort(-st.loc[order, "pop_known"].to_numpy(), kind="stable")]
    for i in order:
        need = float(st.at[i, "pop_known"])
        home = int(st.at[i, "parish_idx"])
        cand = np.where(same[i])[0]
        cand = cand[np.argsort(d[i, cand], kind="stable")]
        cand = np.concatenate([[home], cand[cand != home]])
        for p in cand:
            take = min(need, remaining[p])
            if take > 0:
                alloc.append((int(i), int(p), take))
            remaining[p] -= take
            town_pop[i] += take
            need -= take
            if need <= 0:
                break
        capped[i] = need > 0.5

    unknown = st["pop_known"].isna().to_numpy()
    n_unknown = np.bincount(st["parish_idx"][unknown], minlength=len(par))
    share_target = national_countryside_share()
    total = par["population"].sum()

    def rural_share(f: float) -> float:
        per_town = np.where(n_unknown > 0, f * remaining / np.maximum(n_unknown, 1), 0.0)
        countryside = remaining - per_town * n_unknown
        est = per_town[st["parish_idx"][unknown]]
        small_known = town_pop[~unknown][town_pop[~unknown] < town_min].sum()
        return (countryside.sum() + est[est < town_min].sum() + small_known) / total

    lo, hi = 0.0, 1.0
    if rural_share(0.0) <= share_target:
        f = 0.0
    else:
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if rural_share(mid) > share_target else (lo, mid)
        f = (lo + hi) / 2
    per_town = np.where(n_unknown > 0, f * remaining / np.maximum(n_unknown, 1), 0.0)
    town_pop[unknown] = per_town[st["parish_idx"][unknown]]
    countryside = remaining - per_town * n_unknown
    # estimated hamlets under the DST town threshold are open countryside by definition:
    # fold them into their parish's countryside place (their names are kept there)
    hamlet = unknown & (town_pop < town_min)
    countryside += np.bincount(st["parish_idx"][hamlet], weights=town_pop[hamlet],
                               minlength=len(par))
    hamlet_names = st[hamlet].groupby("parish_idx")["name"].agg(lambda s: "; ".join(sorted(s)))

    towns = pd.DataFrame({
        "name": st["name"], "kind": "town", "parish_idx": st["parish_idx"],
        "x": sx, "y": sy, "lat": st["lat"], "lon": st["lon"],
        "population": town_pop, "estimated": unknown | st["pop_estimated"].to_numpy(bool),
        "pop_source": np.where(unknown, f"estimated: share {f:.3f} of parish remainder",
                               st["pop_source"]),
        "pop_year": st["pop_year"], "capped": capped, "hamlets": "",
    })[~hamlet]
    rural = pd.DataFrame({
        "name": par["parish_name"] + " (land)", "kind": "countryside",
        "parish_idx": np.arange(len(par)), "x": px, "y": py,
        "lat": par["lat_visual_centre"], "lon": par["lon_visual_centre"],
        "population": countryside, "estimated": True,
        "pop_source": "parish 2021 minus its towns",
        "pop_year": pd.array([base_year] * len(par), dtype="Int64"), "capped": False,
        "hamlets": hamlet_names.reindex(np.arange(len(par))).fillna("").to_numpy(),
    })
    towns_all_rows = np.flatnonzero(~hamlet)
    places = pd.concat([towns, rural], ignore_index=True)
    # where each place's people live, by parish (before integer rounding)
    pos_of_town = {int(r): k for k, r in enumerate(towns_all_rows)}
    est = np.flatnonzero(unknown & ~hamlet)
    parts = [(pos_of_town[i], p, t) for i, p, t in alloc]
    parts += [(pos_of_town[int(i)], int(st.at[i, "parish_idx"]), float(town_pop[i]))
              for i in est]
    parts += [(len(towns) + k, k, float(countryside[k])) for k in range(len(par))]
    allocation = pd.DataFrame(parts, columns=["row", "parish_idx", "persons"])
    muni = pd.factorize(par["municipality_code"].to_numpy()[places["parish_idx"]])[0]
    places = _round_preserving_totals(places, muni)
    keep = places["population"].to_numpy() > 0
    new_id = np.cumsum(keep) - 1
    allocation = allocation[keep[allocation["row"]] & (allocation["persons"] > 0)]
    allocation = pd.DataFrame({
        "place_id": new_id[allocation["row"]],
        "parish_code": par["parish_code"].to_numpy()[allocation["parish_idx"]].astype(int),
        "persons": allocation["persons"].to_numpy()})
    places = places[keep].reset_index(drop=True)
    pi = places["parish_idx"].to_numpy()
    places["parish_code"] = par["parish_code"].to_numpy()[pi].astype(int)
    places["parish_name"] = par["parish_name"].to_numpy()[pi]
    places["municipality_code"] = par["municipality_code"].to_numpy()[pi].astype(int)
    places["municipality"] = par["municipality"].to_numpy()[pi]
    places["parish_mean_age"] = par["mean_age"].to_numpy()[pi]
    places["place_id"] = np.arange(len(places))
    log.info("built %d places (town share of parish remainder f=%.3f)", len(places), f)
    return PlaceBuild(places, f, share_target, allocation.reset_index(drop=True))


def _round_preserving_totals(places: pd.DataFrame, group: np.ndarray) -> pd.DataFrame:
    """Integer populations whose sum per group (municipality) equals the real total.

    Largest-remainder rounding: floor every value, then give one more person to the places
    with the largest fractional parts until the group's total is met. Towns only draw from
    parishes of their own municipality, so municipal totals are exact.
    """
    pop = places["population"].to_numpy()
    base = np.floor(pop + 1e-9)
    frac = pop - base
    ng = int(group.max()) + 1
    deficit = np.rint(np.bincount(group, weights=pop, minlength=ng)
                      - np.bincount(group, weights=base, minlength=ng))
    order = np.lexsort((-frac, group))
    start = np.searchsorted(group[order], np.arange(ng))
    rank = np.empty(len(pop), int)
    rank[order] = np.arange(len(pop)) - start[group[order]]
    out = places.copy()
    out["population"] = (base + (rank < deficit[group])).astype(np.int64)
    return out


def settlement_class(pop: np.ndarray, kind_is_countryside: np.ndarray | None = None,
                     town_min: int = 200) -> np.ndarray:
    """Size class index per place (see :data:`SIZE_CLASSES`); under town_min = countryside."""
    edges = np.array([town_min, 500, 1000, 2000, 5000, 10000])
    cls = np.searchsorted(edges, pop, side="right")
    if kind_is_countryside is not None:
        cls = np.where(kind_is_countryside, 0, cls)
    return cls


#: Labels of the settlement size classes (index = value of :func:`settlement_class`).
SIZE_CLASSES = ("open countryside", "<500", "500-999", "1,000-1,999", "2,000-4,999",
                "5,000-9,999", ">=10,000")


def scale_to_year(pb: PlaceBuild, year: int) -> PlaceBuild:
    """Places of a historical base year: 2021 shares within each municipality, scaled.

    The data hold place-level populations for 2021 only. For an earlier base year (used by
    calibration) every place keeps its 2021 share of its municipality and the municipality's
    total is its observed population on 1 January of ``year`` (largest-remainder rounding
    keeps the municipal totals exact). This is an estimate (``pop_source`` says so): places
    that grew faster than their municipality since ``year`` start a little too big.
    """
    muni = data.municipal_population()
    obs = muni[muni["year"] == year].set_index("municipality_code")["population_1jan"]
    if obs.empty:
        raise ValueError(f"no municipal populations for {year} in {data.FILES['municipal']}")
    places = pb.places.copy()
    code = places["municipality_code"].to_numpy()
    now = places.groupby("municipality_code")["population"].sum()
    ratio = (obs / now).reindex(code).to_numpy(float)
    places["population"] = places["population"].to_numpy(float) * ratio
    group = pd.factorize(code)[0]
    places = _round_preserving_totals(places, group)
    places["estimated"] = True
    places["pop_source"] = [f"{s}; scaled to municipal {year} total" for s in places["pop_source"]]
    places["pop_year"] = pd.array([year] * len(places), dtype="Int64")
    alloc = pb.allocation.copy()
    alloc["persons"] = alloc["persons"].to_numpy(float) * ratio[alloc["place_id"].to_numpy()]
    return PlaceBuild(places, pb.town_share_of_remainder, pb.countryside_share_target, alloc)
