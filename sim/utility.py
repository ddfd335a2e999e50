"""Utility terms of the residential choice, as a registry of small plugins.

A term is a function ``(ctx) -> array`` giving one value per place for households with or
without a car; its weight per life stage comes from ``relocation.weights[name]``. Adding a
term is one decorated function in any module imported before the run::

    from sim.utility import register_term

    @register_term("broadband", applies_to="all")
    def broadband(ctx):
        '''Share of addresses with fast broadband (0..1).'''
        return ctx.extra["broadband"]

and a weight in the parameter file (``[relocation.weights] broadband = [..4 stages..]``).
``applies_to`` is ``"all"``, ``"workers"`` (households with an employed member) or
``"carless"`` (households without a car).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .services import KINDS

#: Distances to services above this (km) count as this much: beyond it "far is far".
DIST_CAP_KM = 30.0


@dataclass
class TermContext:
    """What a term may read: per-place arrays of the current year.

    Attributes:
        jobs30_car: Jobs reachable within 30 minutes by car.
        jobs45_bus: Jobs reachable within 45 minutes by bus.
        service_km: Distance to the nearest open unit, shape (n_places, len(KINDS)).
        bus_level: Bus service level 0..1.
        nature: Nature score (standardised).
        community: Community score (standardised).
        price: House-price index (1 = start).
        car: Whether the term is evaluated for households with a car.
        extra: Arrays added by scenarios or plugins.
    """

    jobs30_car: np.ndarray
    jobs45_bus: np.ndarray
    service_km: np.ndarray
    bus_level: np.ndarray
    nature: np.ndarray
    community: np.ndarray
    price: np.ndarray
    car: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Term:
    """A registered utility term."""

    name: str
    func: Callable[[TermContext], np.ndarray]
    applies_to: str
    description: str


TERMS: dict[str, Term] = {}
_APPLIES = ("all", "workers", "carless")


def register_term(name: str, applies_to: str = "all") -> Callable:
    """Decorator registering a utility term under ``name``."""
    if applies_to not in _APPLIES:
        raise ValueError(f"applies_to must be one of {_APPLIES}, not {applies_to!r}")

    def deco(func: Callable[[TermContext], np.ndarray]) -> Callable:
        TERMS[name] = Term(name, func, applies_to, (func.__doc__ or "").strip())
        return func

    return deco


def _service(kind: str) -> Callable[[TermContext], np.ndarray]:
    k = KINDS.index(kind)

    def term(ctx: TermContext) -> np.ndarray:
        return -np.minimum(ctx.service_km[:, k], DIST_CAP_KM) / 10.0

    term.__doc__ = f"Minus distance to the nearest open {kind}, per 10 km (capped at 30 km)."
    return term


@register_term("job_access", applies_to="workers")
def job_access(ctx: TermContext) -> np.ndarray:
    """log10 of jobs within 30 min by car (45 min by bus without a car)."""
    jobs = ctx.jobs30_car if ctx.car else ctx.jobs45_bus
    return np.log10(1.0 + jobs)


register_term("grocer")(_service("grocer"))
register_term("school")(_service("school"))
register_term("doctor")(_service("doctor"))


@register_term("bus", applies_to="carless")
def bus(ctx: TermContext) -> np.ndarray:
    """Bus service level 0..1 (matters to households without a car)."""
    return ctx.bus_level


@register_term("nature")
def nature(ctx: TermContext) -> np.ndarray:
    """Nature score: openness (inverse log density) of the place's parish, standardised."""
    return ctx.nature


@register_term("community")
def community(ctx: TermContext) -> np.ndarray:
    """Community score: community facilities per inhabitant (log), standardised."""
    return ctx.community


@register_term("housing_cost")
def housing_cost(ctx: TermContext) -> np.ndarray:
    """Minus the log house-price index (prices rise where demand outruns vacancies)."""
    return -np.log(ctx.price)


def segment_values(ctx_car: TermContext, ctx_nocar: TermContext,
                   weights: dict[str, tuple[float, ...]]) -> np.ndarray:
    """Systematic utility per segment and place, shape (16, n_places).

    Segment index = ``stage * 4 + car * 2 + worker`` (stage 0-3, car 0/1, worker 0/1).
    """
    unknown = set(weights) - set(TERMS)
    if unknown:
        raise KeyError(f"relocation.weights names unknown utility terms: {sorted(unknown)}; "
                       f"registered: {sorted(TERMS)}")
    n = len(ctx_car.price)
    out = np.zeros((16, n))
    for name, w in weights.items():
        term = TERMS[name]
        vals = {True: None, False: None}
        for stage in range(4):
            if w[stage] == 0:
                continue
            for car in (0, 1):
                if term.applies_to == "carless" and car:
                    continue
                if vals[bool(car)] is None:
                    vals[bool(car)] = np.asarray(term.func(ctx_car if car else ctx_nocar), float)
                for worker in (0, 1):
                    if term.applies_to == "workers" and not worker:
                        continue
                    out[stage * 4 + car * 2 + worker] += w[stage] * vals[bool(car)]
    return out
