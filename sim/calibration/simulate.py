"""One historical run reduced to the summary statistics the calibration compares.

:func:`simulate` is a pure, top-level function of (parameters, seed): safe to send to other
processes. Its :class:`RunSummary` holds municipal populations per year (full-scale
estimates), the moves (count, under 10 km, within the municipality, total km, by life stage)
and the open grocers in villages (towns under 2,000 inhabitants at the start) per year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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


def summarise(model: RegionModel) -> RunSummary:
    """Reduce a finished run to its :class:`RunSummary`."""
    places = model.world.places
    py = model.place_year()
    scale = model.params.scale
    muni = places["municipality_code"].to_numpy()[py["place_id"].to_numpy()]
    municipal = (py.assign(m=muni).pivot_table(index="m", columns="year", values="population",
                                               aggfunc="sum") / scale)
    municipal.index.name = "municipality_code"
    village = (places["kind"].to_numpy() == "town") & \
        (places["population"].to_numpy() < VILLAGE_MAX)
    vg = py[village[py["place_id"].to_numpy()]].groupby("year")["grocer_open"].sum()
    r = model.region_year().iloc[1:]  # the start row has no moves
    return RunSummary(
        seed=model.seed_value, municipal=municipal,
        moves=int(r["moves"].sum()), short=int(r["moves_short"].sum()),
        within=int(r["moves_within_municipality"].sum()), km=float(r["move_km_sum"].sum()),
        stage_moves={s: int(r[f"moves_{s}"].sum()) for s in STAGES},
        village_grocers=vg, all_grocers=py.groupby("year")["grocer_open"].sum())


def simulate(params: Parameters, seed: int) -> RunSummary:
    """Run ``params`` (a historical base year, usually) for one seed and summarise it."""
    model = RegionModel(params, seed=seed)
    model.run()
    return summarise(model)


def mean_summary(runs: list[RunSummary]) -> dict[str, float | pd.DataFrame]:
    """Average statistics over seeds (moves pooled, municipal populations averaged)."""
    moves = sum(r.moves for r in runs)
    return {
        "municipal": sum(r.municipal for r in runs) / len(runs),
        "short_share_pct": 100 * sum(r.short for r in runs) / max(moves, 1),
        "within_share_pct": 100 * sum(r.within for r in runs) / max(moves, 1),
        "mean_km": sum(r.km for r in runs) / max(moves, 1),
        "grocer_rate_pct": float(np.mean([r.grocer_rate_pct() for r in runs])),
    }
