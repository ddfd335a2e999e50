"""The interventions stage: initiatives and trends declare this year's effects.

First in every year. The stage renews the places' volunteer capacity (when the scenario has
interventions), then asks every initiative and trend, in the scenario's order, for its
effects this year. They read the model through an :class:`InterventionView` (read-only
arrays) and claim volunteer hours from the stage's :class:`sim.community.Community`: one
pool per place that every initiative of the place draws on, first come, first served in the
scenario's order, so initiatives in one village compete for the same people. What they
change is only what they declare (:mod:`sim.effects`). The result, an
:class:`InterventionsResult`, carries the year's effects to the stages that apply them.

The community's rules are a :class:`sim.community.CommunityRules` item in the list of
interventions (a scenario file's ``[community]`` table; the defaults without one). What the
volunteers gave and were refused each year is kept (:meth:`Interventions.community_table`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .community import Community, CommunityRules, renew, west_mask
from .effects import Effect, EffectSet
from .household import Population
from .initiatives.base import Event, Initiative
from .params import Parameters
from .place_state import JobAccess, PlaceState
from .rng import Streams
from .segments import Segments
from .services import Services
from .world import World


def _read_only(a: np.ndarray) -> np.ndarray:
    v = np.asarray(a).view()
    v.flags.writeable = False
    return v


@dataclass(frozen=True)
class UnitStatus:
    """A service unit held for interventions (see :meth:`sim.services.Services.hold`).

    Attributes:
        row: Row in the services table (-1: no unit held there).
        open: Whether it is open.
        catchment: Its last catchment (full scale).
        below: Consecutive years under its threshold.
        threshold_factor: Its viability factor.
    """

    row: int
    open: bool
    catchment: float
    below: int
    threshold_factor: float


@dataclass(frozen=True)
class InterventionView:
    """What initiatives and trends may read at the start of a year (read-only arrays).

    Attributes:
        year: The year about to be simulated.
        params: The run's parameters.
        world: Geography (read-only).
        segments: The run's segments.
        access: Jobs within 30 min by car and 45 min by bus.
        jobs_within: ``jobs_within(minutes, by_bus=False)``: jobs reachable from each place.
        state: Last year's place state (what movers saw; the start state in the first year).
        persons: Persons per place (simulated).
        carless: Households without a car per place (simulated).
        occupied: Occupied dwellings per place (simulated).
        dwellings: Dwellings per place (simulated).
        open_count: Open service units per place and kind.
        streams: The run's random streams (use the ``initiatives`` stream).
    """

    year: int
    params: Parameters
    world: World
    segments: Segments
    access: JobAccess
    jobs_within: Any
    state: PlaceState
    persons: np.ndarray
    carless: np.ndarray
    occupied: np.ndarray
    dwellings: np.ndarray
    open_count: np.ndarray
    streams: Streams
    _services: Services

    def unit(self, place: int, kind: str) -> UnitStatus:
        """The unit held for interventions at ``place`` for ``kind``."""
        sv = self._services
        row = sv.held_unit(place, kind)
        if row < 0:
            return UnitStatus(-1, False, 0.0, 0, 1.0)
        return UnitStatus(row, bool(sv.open[row]), float(sv.catchment[row]),
                          int(sv.below[row]), float(sv.threshold_factor[row]))


@dataclass(frozen=True)
class InterventionsResult:
    """What the interventions declared for the year."""

    effects: EffectSet


class Interventions:
    """The scenario's initiatives and trends, and the volunteer capacity they share.

    Args:
        items: Initiative and trend objects in the scenario's order, and at most one
            :class:`sim.community.CommunityRules` (the rules of the volunteer capacity;
            the defaults if none).
        n_places: Number of places.
    """

    def __init__(self, items: list[Any], n_places: int) -> None:
        rules = [it for it in items if isinstance(it, CommunityRules)]
        if len(rules) > 1:
            raise ValueError("at most one CommunityRules item")
        self.rules = rules[0] if rules else CommunityRules()
        self.items = [it for it in items if not isinstance(it, CommunityRules)]
        self.n = n_places
        self.community = Community.empty(n_places, self.rules)
        self._relief = np.zeros(n_places)
        self._recruitment = np.zeros(n_places)
        self._west: np.ndarray | None = None
        self._log: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._labels = [f"{i + 1}:{getattr(it, 'name', None) or it.kind}"
                        for i, it in enumerate(self.items)]

    @property
    def initiatives(self) -> list[Initiative]:
        """The initiatives (not the trends)."""
        return [it for it in self.items if isinstance(it, Initiative)]

    def run(self, view: InterventionView, pop: Population, scale: float) -> InterventionsResult:
        """Renew the volunteer capacity and collect this year's effects."""
        if not self.items:
            return InterventionsResult(EffectSet([], self.n))
        if self._west is None:
            self._west = west_mask(view.world.places["municipality"].to_numpy())
        c = self.community
        renew(c, pop, self._west, scale, self._relief, self._recruitment)
        effects: list[Effect] = []
        for label, item in zip(self._labels, self.items, strict=True):
            for e in item.step(view, view.year, c):
                effects.append(dataclasses.replace(e, source=label))
        result = EffectSet(effects, self.n)
        self._relief = result.volunteer_relief()
        self._recruitment = result.volunteer_recruitment()
        self._log.append((view.year, c.capacity.copy(), c.fatigue.copy(), c.used.copy(),
                          c.refused.copy()))
        return InterventionsResult(result)

    def community_table(self) -> pd.DataFrame:
        """The volunteer capacity of every place in every year so far (hours, full scale).

        Columns: ``year``, ``place_id``, ``capacity`` (free hours of the residents),
        ``fatigue``, ``available`` (capacity after fatigue, before claims), ``used`` (hours
        claimed) and ``refused`` (hours asked for but not available).
        """
        cols = ["year", "place_id", "capacity", "fatigue", "available", "used", "refused"]
        if not self._log:
            return pd.DataFrame(columns=cols)
        frames = [pd.DataFrame({"year": year, "place_id": np.arange(self.n),
                                "capacity": cap, "fatigue": fat,
                                "available": cap * (1.0 - fat), "used": used,
                                "refused": ref})
                  for year, cap, fat, used, ref in self._log]
        return pd.concat(frames, ignore_index=True)[cols]

    def events(self) -> list[Event]:
        """Every event of every initiative so far."""
        return [e for ini in self.initiatives for e in ini.events_]


def make_view(year: int, params: Parameters, world: World, segments: Segments,
              access: JobAccess, jobs_within: Any, state: PlaceState, pop: Population,
              services: Services, dwellings: np.ndarray, streams: Streams) -> InterventionView:
    """The read-only view of the model that interventions get at the start of ``year``."""
    hh = pop.households
    n = world.n
    return InterventionView(
        year=year, params=params, world=world, segments=segments, access=access,
        jobs_within=jobs_within, state=state,
        persons=_read_only(pop.place_persons(n)),
        carless=_read_only(np.bincount(hh.place[~hh.car], minlength=n)),
        occupied=_read_only(np.bincount(hh.place[hh.housed], minlength=n)),
        dwellings=_read_only(dwellings), open_count=_read_only(services.open_count(n)),
        streams=streams, _services=services)

