"""Outcomes of one run: a compact long table (year x outcome), never the whole model.

Villages are the towns of 200-999 inhabitants in the 2021 data (settlement classes "<500"
and "500-999" of :func:`sim.places.settlement_class` on the data population). The set is
fixed by the data, so it is the same for every seed, scale and design point, and an outcome
follows the same villages through time (a village that grows past 1,000 still counts).
Populations are full-scale estimates (simulated persons / scale).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from ..places import SIZE_CLASSES, settlement_class

VILLAGE_CLASSES = ("<500", "500-999")


@cache
def _places():
    from ..places import build_places
    return build_places().places


def village_mask(places: pd.DataFrame, town_min: int = 200) -> np.ndarray:
    """Boolean per place: a town of 200-999 inhabitants in the 2021 data."""
    cls = settlement_class(places["population"].to_numpy(float),
                           (places["kind"] == "countryside").to_numpy(), town_min)
    return np.isin(cls, [SIZE_CLASSES.index(c) for c in VILLAGE_CLASSES])


def outcome_table(place_year: pd.DataFrame, keep: tuple[str, ...],
                  places: tuple[tuple[str, int, str], ...],
                  place_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Outcomes per simulated year as a long table (year, outcome, value).

    Args:
        place_year: A run's place-year table with ``year``, ``place_id``, full-scale
            ``population`` and ``grocer_open`` (as :func:`sim.compare.run_one` returns).
        keep: Names of region-level outcomes (see :data:`sim.batch.experiment.OUTCOMES`).
        places: (name, place id, slug) of places whose population and grocer are kept.
        place_table: The place table (default: the shipped data's).
    """
    pt = _places() if place_table is None else place_table
    villages = np.flatnonzero(village_mask(pt))
    py = place_year.sort_values(["year", "place_id"])
    years = np.sort(py["year"].unique())
    n = len(pt)
    pop = py["population"].to_numpy(float).reshape(len(years), n)
    grocer = py["grocer_open"].to_numpy().reshape(len(years), n)
    cols: dict[str, np.ndarray] = {}
    for name in keep:
        if name == "village_population":
            cols[name] = pop[:, villages].sum(axis=1)
        elif name == "villages_without_grocer":
            cols[name] = (grocer[:, villages] == 0).sum(axis=1).astype(float)
        elif name == "region_population":
            cols[name] = pop.sum(axis=1)
        else:
            raise KeyError(f"unknown outcome {name!r}")
    for _, pid, slug in places:
        cols[f"population_{slug}"] = pop[:, pid]
        cols[f"grocer_{slug}"] = (grocer[:, pid] > 0).astype(float)
    names = list(cols)
    return pd.DataFrame({
        "year": np.repeat(years.astype(np.int16), len(names)),
        "outcome": np.tile(np.array(names, dtype=object), len(years)),
        "value": np.column_stack([cols[k] for k in names]).ravel().astype(np.float64),
    })
