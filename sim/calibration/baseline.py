"""The default run checked against the data it must reproduce (issue 11's "what it must show").

:func:`baseline_check` runs the calibrated defaults from 2021 (one seed, a scale of choice;
1:1 in the shipped report) and tabulates:

- every municipality's growth 2021 -> 2040 and the region's total by decade;
- net border migration per age band (simulated, per 1,000 persons of the band and year)
  against the rates of the data the run uses (cohort residuals of ``migration.net_years``);
- net migration by settlement class (classes fixed at the start, as ``compare`` does):
  across the region's border and between places of the region, per 1,000 residents a year;
- the yearly change of each settlement class 2021 -> 2024 against the range of the
  municipalities' observed yearly growth 2016-2023 (a start without transients stays inside);
- every BY3 town's simulated 2026 population against Statistics Denmark's 2026 figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import data
from ..model import RegionModel
from ..params import Parameters
from ..places import SIZE_CLASSES, settlement_class
from ..records import BAND_LABELS


@dataclass
class BaselineCheck:
    """The tables of :func:`baseline_check` (see the module docstring)."""

    municipal: pd.DataFrame
    region: pd.DataFrame
    bands: pd.DataFrame
    classes: pd.DataFrame
    start_change: pd.DataFrame
    observed_range: tuple[float, float]
    towns: pd.DataFrame
    scale: float
    seed: int


def observed_yearly_range(first: int = 2016, last: int = 2023) -> tuple[float, float]:
    """Lowest and highest yearly growth (%) of any municipality between two years (data)."""
    m = data.municipal_population().pivot_table(index="municipality_code", columns="year",
                                                values="population_1jan")
    cols = [y for y in range(first, last + 1) if y in m.columns]
    g = (m[cols].pct_change(axis=1) * 100).iloc[:, 1:]
    return float(g.min().min()), float(g.max().max())


def baseline_check(params: Parameters, seed: int = 0, end_year: int = 2040) -> BaselineCheck:
    """Run ``params`` from 2021 to ``end_year`` (at ``params.scale``) and tabulate the checks."""
    p = params.with_overrides(end_year=max(end_year, 2026))
    m = RegionModel(p, seed=seed)
    first = _band_stock(m)  # persons per band at the start (full scale)
    m.run()
    scale = p.scale
    py = m.place_year()
    ry = m.region_year().set_index("year")
    places = m.world.places
    muni = places["municipality_code"].to_numpy()
    pid = py["place_id"].to_numpy()
    pop = py.assign(m=muni[pid]).pivot_table(index="m", columns="year", values="population",
                                             aggfunc="sum") / scale
    names = places.drop_duplicates("municipality_code").set_index("municipality_code")[
        "municipality"]
    municipal = pd.DataFrame({
        "municipality": names.reindex(pop.index).to_numpy(),
        "population_2021": pop[2021].round(0),
        f"population_{end_year}": pop[end_year].round(0),
        f"growth_2021_{end_year}_pct": ((pop[end_year] / pop[2021] - 1) * 100).round(2),
    }, index=pop.index)
    region = pd.DataFrame({"year": [y for y in (2021, 2030, 2040, 2050) if y <= end_year]})
    region["population"] = [round(float(ry.loc[y, "population"] / scale)) for y in region["year"]]
    # net border migration by band, first five simulated years, per 1,000 of the band
    years = list(range(2022, 2027))
    net = np.array([(ry.loc[years, f"immigrants_{b}"].sum() - ry.loc[years, f"emigrants_{b}"]
                     .sum()) / scale for b in BAND_LABELS]) / len(years)
    bands = pd.DataFrame({
        "band": BAND_LABELS,
        "simulated_net_per_1000": (1000 * net / first).round(2),
        "data_net_per_1000": (1000 * m.border.net_rate).round(2),
    })
    # settlement classes fixed at the start (data populations)
    cls = settlement_class(places["population"].to_numpy(float),
                           (places["kind"] == "countryside").to_numpy(),
                           p.world.settlement_town_min)
    c = cls[pid]
    win = py["year"].isin(years).to_numpy()
    agg = pd.DataFrame({"cls": c[win], "pop": py["population"].to_numpy()[win],
                        "border": (py["immigrants"] - py["emigrants"]).to_numpy()[win],
                        "internal": (py["in_movers"] - py["out_movers"]).to_numpy()[win]})
    g = agg.groupby("cls").sum()
    classes = pd.DataFrame({
        "settlement_class": [SIZE_CLASSES[i] for i in g.index],
        "border_net_per_1000": (1000 * g["border"] / g["pop"]).round(2),
        "internal_net_per_1000": (1000 * g["internal"] / g["pop"]).round(2),
    })
    by_class = py.assign(cls=c).pivot_table(index="cls", columns="year", values="population",
                                            aggfunc="sum")
    start = pd.DataFrame({f"{y - 1}-{y} (%)": ((by_class[y] / by_class[y - 1] - 1) * 100).round(2)
                          for y in range(2022, 2025)})
    start.index = [SIZE_CLASSES[i] for i in start.index]
    return BaselineCheck(municipal, region, bands, classes, start, observed_yearly_range(),
                         _towns(m, py, scale), scale, seed)


def _band_stock(m: RegionModel) -> np.ndarray:
    from ..migration import BAND_LOWS, band_of

    return np.bincount(band_of(m.pop.persons.age), minlength=len(BAND_LOWS)) / m.params.scale


def _towns(m: RegionModel, py: pd.DataFrame, scale: float) -> pd.DataFrame:
    """BY3 towns: simulated 2026 population against Statistics Denmark's 2026 figure."""
    from ..places import NAME_ALIASES

    by3 = data.town_population_by3()
    places = m.world.places
    towns = places[places["kind"] == "town"].sort_values("population", ascending=False)
    key = towns.drop_duplicates(["name", "municipality_code"]).set_index(
        ["name", "municipality_code"])["place_id"]
    sim = py[py["year"] == 2026].set_index("place_id")["population"] / scale
    rows = []
    for _, r in by3.iterrows():
        code = int(r["municipality_code"])
        k = (NAME_ALIASES.get((r["town_name"], code), r["town_name"]), code)
        if k not in key.index:
            continue
        s = float(sim.get(int(key.loc[k]), np.nan))
        rows.append((r["town_name"], code, int(r["population_2026"]), round(s),
                     round(100 * (s / r["population_2026"] - 1), 1)))
    t = pd.DataFrame(rows, columns=["town", "municipality_code", "by3_2026", "simulated_2026",
                                    "off_pct"])
    t["within_10pct"] = t["off_pct"].abs() <= 10
    return t


def to_markdown(b: BaselineCheck) -> str:
    """The checks as Markdown (for the calibration report)."""
    def md(df: pd.DataFrame, index: bool = False) -> str:
        d = df.reset_index() if index else df
        head = "| " + " | ".join(map(str, d.columns)) + " |"
        rows = ["| " + " | ".join(str(x) for x in r) + " |" for r in d.itertuples(index=False)]
        return "\n".join([head, "|" + "---|" * len(d.columns), *rows])

    lo, hi = b.observed_range
    outside = b.towns[~b.towns["within_10pct"]]
    return f"""# The default run checked against the data

Calibrated defaults, seed {b.seed}, scale {b.scale:g}, from 2021.

## Region

{md(b.region)}

## Municipalities

{md(b.municipal, index=True)}

## Net migration across the region's border by age band, 2022-2026

Per 1,000 persons of the band and year; data: the cohort-residual rates the run uses.

{md(b.bands)}

## Net migration by settlement class, 2022-2026 (classes of the start)

Per 1,000 residents and year: across the region's border, and between places of the region.

{md(b.classes)}

## Start: yearly change of each settlement class, 2021-2024

The municipalities' observed yearly growth 2016-2023 ranged from {lo:.2f}% to {hi:.2f}%.

{md(b.start_change, index=True)}

## Towns of Statistics Denmark's BY3 2026

{int(b.towns['within_10pct'].sum())} of {len(b.towns)} towns within 10% of their 2026
figure; outside:

{md(outside) if len(outside) else "none"}
"""
