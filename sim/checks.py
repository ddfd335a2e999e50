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


def municipal_change(place_year: pd.DataFrame, places: pd.DataFrame, scale: float,
                     first: int = 2021, last: int = 2023) -> pd.DataFrame:
    """Simulated vs observed municipal population change between two years (1 January).

    Observed values come from the municipal totals 1993-2023 in ``data/``. The model is not
    calibrated: this table shows where it stands, not a fit.

    Returns:
        One row per municipality with observed and simulated populations and changes (%),
        empty if the run does not cover ``last``.
    """
    from . import data

    if last not in set(place_year["year"]):
        return pd.DataFrame()
    muni = places.set_index("place_id")["municipality_code"]
    py = place_year[place_year["year"].isin([first, last])].copy()
    py["municipality_code"] = muni.reindex(py["place_id"]).to_numpy()
    sim = py.pivot_table(index="municipality_code", columns="year", values="population",
                         aggfunc="sum") / scale
    obs = data.municipal_population()
    obs = obs[obs["year"].isin([first, last])].pivot_table(
        index="municipality_code", columns="year", values="population_1jan")
    names = data.municipal_population().drop_duplicates("municipality_code").set_index(
        "municipality_code")["municipality_name"]
    out = pd.DataFrame({
        "municipality": names.reindex(obs.index),
        "observed_first": obs[first], "observed_last": obs[last],
        "observed_change_pct": (obs[last] / obs[first] - 1) * 100,
        "simulated_first": sim[first].reindex(obs.index),
        "simulated_last": sim[last].reindex(obs.index),
    })
    out["simulated_change_pct"] = (out["simulated_last"] / out["simulated_first"] - 1) * 100
    out["error_pp"] = out["simulated_change_pct"] - out["observed_change_pct"]
    return out.reset_index()
