"""Community capacity: the volunteer effort a place can mobilise (forum question 2).

Every adult resident contributes potential volunteer hours per year that depend on age and
on how long they have lived there (newcomers are less involved at first). Initiatives draw on
this capacity; heavy use wears it out (``fatigue`` grows with the share used) and it renews
when use is lighter. An initiative whose needs exceed what is left for ``fail_years`` years
in a row fails.

All rates here are documented assumptions (to be calibrated): Danish surveys report that
about a third of adults volunteer; the per-age hours are a stylised profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .household import Population

#: Potential volunteer hours per resident and year by age band (18-29, 30-49, 50-74, 75+).
HOURS_BY_AGE = (10.0, 20.0, 30.0, 8.0)
AGE_EDGES = (30, 50, 75)
#: Residents who moved in less than this many years ago contribute half.
NEWCOMER_YEARS = 3
#: Fatigue gained per unit share of capacity used, and recovered per year.
FATIGUE_GAIN = 0.3
FATIGUE_RECOVERY = 0.15


@dataclass
class Community:
    """Volunteer capacity and fatigue per place (hours per year, full scale)."""

    capacity: np.ndarray
    fatigue: np.ndarray
    used: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Community:
        """No capacity computed yet."""
        return cls(np.zeros(n), np.zeros(n), np.zeros(n))

    def available(self) -> np.ndarray:
        """Hours still available this year after fatigue and earlier claims."""
        return np.maximum(self.capacity * (1.0 - self.fatigue) - self.used, 0.0)

    def claim(self, place: int, hours: float) -> bool:
        """Claim ``hours`` at ``place``; True if they were available (then they are used)."""
        if self.available()[place] >= hours:
            self.used[place] += hours
            return True
        return False


def residents_capacity(pop: Population, n_places: int, scale: float) -> np.ndarray:
    """Potential volunteer hours per place this year, at full scale."""
    pp = pop.persons
    adult = pp.age >= 18
    hours = np.asarray(HOURS_BY_AGE)[np.searchsorted(AGE_EDGES, pp.age, side="right")]
    newcomer = pop.households.years[pp.hh] < NEWCOMER_YEARS
    hours = np.where(newcomer, hours * 0.5, hours) * adult
    place = pop.households.place[pp.hh]
    return np.bincount(place, weights=hours, minlength=n_places) / scale


def renew(community: Community, pop: Population, n_places: int, scale: float,
          relief: np.ndarray | None = None) -> None:
    """Start a new year: recompute capacity, update fatigue from last year's use, reset use.

    ``relief`` is last year's declared fatigue relief per place (community houses).
    """
    share = np.divide(community.used, np.maximum(community.capacity, 1e-9))
    fatigue = community.fatigue + FATIGUE_GAIN * share - FATIGUE_RECOVERY
    if relief is not None:
        fatigue = fatigue - relief
    community.fatigue = np.clip(fatigue, 0.0, 0.9)
    community.capacity = residents_capacity(pop, n_places, scale)
    community.used = np.zeros_like(community.capacity)
