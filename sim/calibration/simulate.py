"""One historical run reduced to the summary statistics the calibration compares.

:func:`simulate` is a pure, top-level function of (parameters, seed): safe to send to other
processes. Its :class:`RunSummary` holds municipal populations per year and by FOLK1A age
band (full-scale estimates), the moves (households: count, under 10 km, within the
municipality, total km, by life stage; persons, as Statistics Denmark counts them), the
persons crossing the region's border, and the open grocers in villages (towns under 2,000
inhabitants at the start) per year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..migration_rates import BAND_NAMES
from ..model import RegionModel
from ..params import STAGES, Parameters

#: Villages for the grocer trend: towns with fewer inhabitants than this at the start.
VILLAGE_MAX = 2000


@dataclass
class RunSummary:
    """Summary statistics of one run."""

    seed: int
    municipal: pd.DataFrame  # municipality_code x year, persons (full scale)
    moves: int
    short: int
    within: int
    km: float
    stage_moves: dict[str, int]
    village_grocers: pd.Series  # year -> open grocers in villages
    all_grocers: pd.Series | None = None  # year -> open grocers in the region
    bands: pd.DataFrame | None = None  # (municipality_code, year) x FOLK1A band, persons
    move_persons: int = 0
    move_persons_short: int = 0
    move_persons_within: int = 0
    border_persons: int = 0  # persons leaving or entering the region (all destinations)
    inflow: pd.Series | None = None  # municipality -> persons arriving from outside it, all
    #                                  years (other municipalities and the border; full scale)
    domestic_share: float = 1.0  # share of border moves within Denmark (assumption)

    @property
    def short_share_pct(self) -> float:
        """Share of moves under 10 km (%)."""
        return 100 * self.short / max(self.moves, 1)

    @property
    def within_share_pct(self) -> float:
        """Share of moves within the municipality (%)."""
        return 100 * self.within / max(self.moves, 1)

    @property
    def mean_km(self) -> float:
        """Mean move distance (km)."""
        return self.km / max(self.moves, 1)

    def dst_like(self) -> dict[str, float]:
        """Mobility shares counted the way Statistics Denmark counts moves.

        Persons, every move within Denmark: the moves inside the region plus the share of
        border crossings that go to or come from the rest of Denmark (``domestic_share``; a
        border move is never under 10 km nor within a municipality).
        """
        total = self.move_persons + self.domestic_share * self.border_persons
        return {"short_share_pct": 100 * self.move_persons_short / max(total, 1),
                "within_share_pct": 100 * self.move_persons_within / max(total, 1)}

    def band_shares(self, year: int) -> pd.DataFrame:
        """Share (%) of each municipality's persons in each FOLK1A band in ``year``."""
        b = self.bands.xs(year, level="year")
        return 100 * b.div(b.sum(axis=1), axis=0)

    def growth_pct(self, first: int, last: int) -> pd.Series:
        """Simulated municipal growth between two years (%)."""
        return (self.municipal[last] / self.municipal[first] - 1) * 100

    def grocer_rate_pct(self, village: bool = True) -> float:
        """Yearly % change of open grocers (in villages, or all) over the run (compound)."""
        g = self.village_grocers if village or self.all_grocers is None else self.all_grocers
        first, last = g.index.min(), g.index.max()
        if g[first] <= 0 or last == first:
            return 0.0
        return float(((g[last] / g[first]) ** (1 / (last - first)) - 1) * 100)


def municipal_bands(model: RegionModel) -> pd.DataFrame:
    """Persons per municipality and FOLK1A band now (full-scale), one row per municipality."""
    from ..migration import BAND_LOWS, band_of

    pp = model.pop.persons
    muni = model.world.places["municipality_code"].to_numpy()
    codes, m = np.unique(muni[model.pop.households.place[pp.hh]], return_inverse=True)
    k = len(BAND_LOWS)
    counts = np.bincount(m * k + band_of(pp.age), minlength=len(codes) * k).reshape(-1, k)
    return pd.DataFrame(counts / model.params.scale, index=pd.Index(codes,
                        name="municipality_code"), columns=list(BAND_NAMES))


def summarise(model: RegionModel, bands: pd.DataFrame | None = None) -> RunSummary:
    """Reduce a finished run to its :class:`RunSummary`."""
    places = model.world.places
    py = model.place_year()
    scale = model.params.scale
    muni = places["municipality_code"].to_numpy()[py["place_id"].to_numpy()]
    municipal = (py.assign(m=muni).pivot_table(index="m", columns="year", values="population",
                                               aggfunc="sum") / scale)
    municipal.index.name = "municipality_code"
    arrivals = (py["in_from_other_municipality"] + py["immigrants"]).to_numpy() / scale
    inflow = pd.Series(arrivals).groupby(muni).sum()
    inflow.index.name = "municipality_code"
    village = (places["kind"].to_numpy() == "town") & \
        (places["population"].to_numpy() < VILLAGE_MAX)
    vg = py[village[py["place_id"].to_numpy()]].groupby("year")["grocer_open"].sum()
    r = model.region_year().iloc[1:]  # the start row has no moves
    return RunSummary(
        seed=model.seed_value, municipal=municipal,
        moves=int(r["moves"].sum()), short=int(r["moves_short"].sum()),
        within=int(r["moves_within_municipality"].sum()), km=float(r["move_km_sum"].sum()),
        stage_moves={s: int(r[f"moves_{s}"].sum()) for s in STAGES},
        village_grocers=vg, all_grocers=py.groupby("year")["grocer_open"].sum(),
        bands=bands, move_persons=int(r["move_persons"].sum()),
        move_persons_short=int(r["move_persons_short"].sum()),
        move_persons_within=int(r["move_persons_within_municipality"].sum()),
        border_persons=int(r["emigrants"].sum() + r["immigrants"].sum()), inflow=inflow,
        domestic_share=model.border.domestic_share)


def simulate(params: Parameters, seed: int, threads: int = 1) -> RunSummary:
    """Run ``params`` (a historical base year, usually) for one seed and summarise it.

    ``threads`` of the relocation draw: 1, since calibration runs already run in parallel
    (results do not depend on it).
    """
    model = RegionModel(params, seed=seed, threads=threads)
    frames = [municipal_bands(model).assign(year=model.year)]
    while model.year < params.end_year:
        model.step()
        frames.append(municipal_bands(model).assign(year=model.year))
    bands = pd.concat(frames).set_index("year", append=True)
    return summarise(model, bands)


def mean_summary(runs: list[RunSummary]) -> dict[str, float | pd.DataFrame]:
    """Average statistics over seeds (moves pooled, municipal populations averaged)."""
    moves = sum(r.moves for r in runs)
    dst = [r.dst_like() for r in runs]
    return {
        "bands": sum(r.bands for r in runs) / len(runs) if runs[0].bands is not None else None,
        "dst_short_share_pct": float(np.mean([d["short_share_pct"] for d in dst])),
        "dst_within_share_pct": float(np.mean([d["within_share_pct"] for d in dst])),
        "municipal": sum(r.municipal for r in runs) / len(runs),
        "short_share_pct": 100 * sum(r.short for r in runs) / max(moves, 1),
        "within_share_pct": 100 * sum(r.within for r in runs) / max(moves, 1),
        "mean_km": sum(r.km for r in runs) / max(moves, 1),
        "grocer_rate_pct": float(np.mean([r.grocer_rate_pct() for r in runs])),
    }
