"""Checks of the initial state against published figures.

The region's forum on the future of rural areas states that about 700,000 of the region's
people live in the open countryside and in towns under 10,000 inhabitants, and about
350,000 in the open countryside and towns under 2,000. :func:`forum_figures` computes the same
two numbers from the place table so the starting state can be compared with them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The forum's seed figures (Region Midtjylland, political forum on the future of rural areas).
FORUM_UNDER_10000 = 700_000
FORUM_UNDER_2000 = 350_000


def forum_figures(places: pd.DataFrame, population: np.ndarray | None = None) -> dict[str, int]:
    """People in open countryside + towns under 10,000 and under 2,000.

    Args:
        places: Place table (``kind`` and, unless ``population`` is given, ``population``).
        population: Optional population per place (e.g. simulated, at full scale).
    """
    pop = places["population"].to_numpy() if population is None else np.asarray(population)
    countryside = places["kind"].to_numpy() == "countryside"
    under10 = countryside | (pop < 10_000)
    under2 = countryside | (pop < 2_000)
    return {
        "total": round(pop.sum()),
        "countryside_and_towns_under_10000": round(pop[under10].sum()),
        "countryside_and_towns_under_2000": round(pop[under2].sum()),
        "forum_under_10000": FORUM_UNDER_10000,
        "forum_under_2000": FORUM_UNDER_2000,
    }


def format_forum_figures(fig: dict[str, int]) -> str:
    """Two readable lines comparing the model's start with the forum's figures."""
    a = fig["countryside_and_towns_under_10000"]
    b = fig["countryside_and_towns_under_2000"]
    return (f"open countryside + towns <10,000: {a:,} (forum: ~{fig['forum_under_10000']:,}, "
            f"{(a / fig['forum_under_10000'] - 1):+.0%})\n"
            f"open countryside + towns <2,000:  {b:,} (forum: ~{fig['forum_under_2000']:,}, "
            f"{(b / fig['forum_under_2000'] - 1):+.0%})")
