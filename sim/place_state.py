"""The place state: what movers see in a year, rebuilt every year from base arrays and effects.

Every year, after the services stage, the model builds one :class:`PlaceState` from

* the world's base arrays (bus level, nature and community scores: read-only, shared),
* the run's job access (fixed for the run),
* the open service units (distance to the nearest open unit of each kind),
* the house-price index,
* the effects the active interventions declared this year (:mod:`sim.effects`), combined by
  their stated rules.

Nothing is carried over from the previous year's state, so an effect that is no longer
declared has no trace. :func:`place_values` turns a state into the systematic utility of each
segment and place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .effects import EffectSet
from .params import SERVICE_KINDS
from .segments import Segments
from .utility import segment_values
from .world import World


@dataclass(frozen=True)
class JobAccess:
    """Jobs reachable from each place (fixed for a run).

    Attributes:
        car30: Jobs within 30 minutes by car.
        bus45: Jobs within 45 minutes by bus.
    """

    car30: np.ndarray
    bus45: np.ndarray


@dataclass(frozen=True)
class PlaceState:
    """Per-place inputs of the residential choice in one year (read-only arrays).

    Attributes:
        year: The year simulated.
        population: Persons per place (full-scale estimate) when the state was built.
        jobs30_car: Jobs within 30 minutes by car.
        jobs45_bus: Jobs within 45 minutes by bus.
        service_km: Effective distance (km) to each kind of service, (n, len(SERVICE_KINDS)):
            the nearest open unit, or a declared reach (:class:`sim.effects.ServiceReach`)
            if shorter.
        bus_level: Bus service level 0..1 (world base, raised by declared bus levels).
        nature: Nature score (world base plus declared boosts).
        community: Community score (world base plus declared boosts).
        price: House-price index.
        location: Location constant of each place (its municipality's; calibrated), (n,),
            or per life stage and place, (len(STAGES), n), or None.
        extra: Scores of plugins' own (``ScoreBoost`` with another name), zeros plus boosts.
        value_shift: Summed value shifts (n_segments, n) or None.
        car_access: Share of the car advantage car-less households gain, or None.
        adjusters: Value adjusters in declaration order.
    """

    year: int
    population: np.ndarray
    jobs30_car: np.ndarray
    jobs45_bus: np.ndarray
    service_km: np.ndarray
    bus_level: np.ndarray
    nature: np.ndarray
    community: np.ndarray
    price: np.ndarray
    location: np.ndarray | None = None
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)
    value_shift: np.ndarray | None = None
    car_access: np.ndarray | None = None
    adjusters: tuple[Callable[..., np.ndarray], ...] = ()

    def km_to(self, kind: str) -> np.ndarray:
        """Effective distance to the nearest ``kind`` (one of :data:`SERVICE_KINDS`)."""
        return self.service_km[:, SERVICE_KINDS.index(kind)]


def build_place_state(world: World, access: JobAccess, effects: EffectSet,
                      open_counts: np.ndarray, price: np.ndarray, population: np.ndarray,
                      segments: Segments, year: int,
                      location: np.ndarray | None = None) -> PlaceState:
    """The year's place state from base arrays, services, prices and declared effects.

    Args:
        world: Geography (base scores).
        access: The run's job access.
        effects: This year's declared effects.
        open_counts: Open units per place and kind, (n, len(SERVICE_KINDS)).
        price: House-price index per place.
        population: Persons per place (full scale).
        segments: The run's segments (shape of the value shifts).
        year: The year simulated.
        location: Location constants per place (calibrated; None = all 0).
    """
    km = np.stack([world.nearest_km(open_counts[:, k] > 0)
                   for k in range(len(SERVICE_KINDS))], axis=1)
    km = np.minimum(km, effects.reach_km())
    bus = world.bus_level
    floor = effects.bus_level_floor()
    if floor is not None:
        bus = np.maximum(bus, floor)
    boosts = effects.score_boosts()
    nature = world.nature + boosts.pop("nature") if "nature" in boosts else world.nature
    community = (world.community + boosts.pop("community") if "community" in boosts
                 else world.community)
    bus, nature, community, price, population = (
        _read_only(a) for a in (bus, nature, community, price, population))
    boosts = {k: _read_only(v) for k, v in boosts.items()}
    return PlaceState(year=year, population=population, jobs30_car=access.car30,
                      jobs45_bus=access.bus45, service_km=_read_only(km), bus_level=bus,
                      nature=nature, community=community, price=price,
                      location=None if location is None else _read_only(location),
                      extra=MappingProxyType(boosts),
                      value_shift=effects.value_shift(segments.n),
                      car_access=effects.car_access(), adjusters=tuple(effects.adjusters()))


def _read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view (the state never lets a reader write into a stage's own arrays)."""
    v = np.asarray(a).view()
    v.flags.writeable = False
    return v


def place_values(state: PlaceState, segments: Segments,
                 weights: Mapping[str, tuple[float, ...]]) -> np.ndarray:
    """Systematic utility per segment and place, (segments.n, n_places).

    Terms first (:func:`sim.utility.segment_values`) plus the location constants, then the
    value shifts, then car access (car-less segments gain ``share * max(V_with_car -
    V_without, 0)``), then the adjusters.
    """
    values = segment_values(state, segments, weights)
    if state.location is not None:
        # (n,): one constant per place; (stages, n): per place and life stage
        values += (state.location[None, :] if state.location.ndim == 1
                   else state.location[segments.stage])
    if state.value_shift is not None:
        values = values + state.value_shift
    if state.car_access is not None:
        cols = np.flatnonzero(state.car_access > 0)
        if len(cols):
            carless = segments.select(car=False)
            with_car = segments.counterpart(carless, car=True)
            rows = np.ix_(carless, cols)
            gap = np.maximum(values[np.ix_(with_car, cols)] - values[rows], 0.0)
            values = values.copy()
            values[rows] += state.car_access[cols][None, :] * gap
    for adjust in state.adjusters:
        values = adjust(values, segments, state)
    return values
