"""Utility terms of the residential choice, as a registry of small plugins.

A term is a function ``(ctx) -> array`` giving one value per place; its weight per life stage
comes from ``relocation.weights[name]``. A term says whom it applies to by household
attributes (``applies_to``; see :mod:`sim.segments`), and which attributes its value depends
on (``varies_with``; it is then evaluated once per value). Adding a term is one decorated
function in any module imported before the run (or found through the ``landsim.terms``
entry-point group)::

    from sim.utility import register_term

    @register_term("au_town_life", applies_to={"tenure": "renter"})
    def town_life(ctx):
        '''log10 of the place's inhabitants (renters value town life).'''
        return np.log10(1.0 + ctx.state.population)

and a weight in the parameter file (``[relocation.weights] au_town_life = [..4 stages..]``).
``applies_to={}`` (the default) means every household; ``{"worker": True}`` households with
an employed member, ``{"car": False}`` households without a car, ``{"tenure": "renter"}``
renters, ``{"children": True}`` families with children under 18.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .params import SERVICE_KINDS
from .registry import Registry
from .segments import Segments

#: Distances to services above this (km) count as this much: beyond it "far is far".
DIST_CAP_KM = 30.0


@dataclass(frozen=True)
class TermContext:
    """What a term may read: the year's place state, for one combination of attributes.

    Attributes:
        state: The year's :class:`sim.place_state.PlaceState` (per-place arrays: job access,
            service distances, bus level, nature, community, prices, population, extras).
        attrs: Values of the attributes the term varies with (e.g. ``{"car": True}``).
    """

    state: Any
    attrs: Mapping[str, object] = field(default_factory=dict)

    @property
    def car(self) -> bool:
        """Whether the term is evaluated for households with a car (if it varies with car)."""
        return bool(self.attrs.get("car", True))

    def __getattr__(self, name: str) -> Any:
        # the place state's arrays read as ctx.<name> (ctx.nature, ctx.service_km, ...)
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(object.__getattribute__(self, "state"), name)


@dataclass(frozen=True)
class Term:
    """A registered utility term.

    Attributes:
        name: Registered name (the key of its weight in ``relocation.weights``).
        func: ``(ctx) -> array`` of one value per place.
        applies_to: Criteria on household attributes (empty: every household).
        varies_with: Attributes the value depends on (evaluated once per combination).
        description: The function's docstring.
    """

    name: str
    func: Callable[[TermContext], np.ndarray]
    applies_to: Mapping[str, object]
    varies_with: tuple[str, ...]
    description: str


TERMS: Registry[Term] = Registry("utility term", "landsim.terms")


def register_term(name: str, applies_to: Mapping[str, object] | None = None,
                  varies_with: tuple[str, ...] = ()) -> Callable:
    """Decorator registering a utility term under ``name``.

    Args:
        name: The term's name; prefix names of your own (``au_...``).
        applies_to: Household criteria, e.g. ``{"car": False}`` (see :mod:`sim.segments`).
        varies_with: Attributes the value depends on, e.g. ``("car",)``.

    Raises:
        ValueError: If a criterion names an unknown attribute.
        sim.registry.RegistryError: If ``name`` is already another term.
    """
    crit = MappingProxyType(dict(applies_to or {}))
    Segments.for_terms([crit, dict.fromkeys(varies_with)])  # checks the attribute names

    def deco(func: Callable[[TermContext], np.ndarray]) -> Callable:
        TERMS.register(name, Term(name, func, crit, tuple(varies_with),
                                  (func.__doc__ or "").strip()))
        return func

    return deco


def _service(kind: str) -> Callable[[TermContext], np.ndarray]:
    k = SERVICE_KINDS.index(kind)

    def term(ctx: TermContext) -> np.ndarray:
        return -np.minimum(ctx.state.service_km[:, k], DIST_CAP_KM) / 10.0

    term.__doc__ = f"Minus distance to the nearest open {kind}, per 10 km (capped at 30 km)."
    term.__qualname__ = f"{kind}_term"
    return term


@register_term("job_access", applies_to={"worker": True}, varies_with=("car",))
def job_access(ctx: TermContext) -> np.ndarray:
    """log10 of jobs within 30 min by car (45 min by bus without a car)."""
    jobs = ctx.state.jobs30_car if ctx.car else ctx.state.jobs45_bus
    return np.log10(1.0 + jobs)


register_term("grocer")(_service("grocer"))
register_term("school")(_service("school"))
register_term("doctor")(_service("doctor"))


@register_term("bus", applies_to={"car": False})
def bus(ctx: TermContext) -> np.ndarray:
    """Bus service level 0..1 (matters to households without a car)."""
    return ctx.state.bus_level


@register_term("nature")
def nature(ctx: TermContext) -> np.ndarray:
    """Nature score: openness (inverse log density) of the place's parish, standardised."""
    return ctx.state.nature


@register_term("community")
def community(ctx: TermContext) -> np.ndarray:
    """Community score: community facilities per inhabitant (log), standardised."""
    return ctx.state.community


@register_term("housing_cost")
def housing_cost(ctx: TermContext) -> np.ndarray:
    """Minus the log house-price index (prices rise where demand outruns vacancies)."""
    return -np.log(ctx.state.price)


def check_weights(weights: Mapping[str, object]) -> list[str]:
    """Problems with weight names: each must be a registered term (with a suggestion)."""
    import difflib

    problems = []
    for name in weights:
        if name not in TERMS:
            close = difflib.get_close_matches(name, list(TERMS), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(f"relocation.weights.{name}: no utility term of that name "
                            f"(registered: {', '.join(sorted(TERMS))}){hint}")
    return problems


def segments_for(weights: Mapping[str, tuple[float, ...]]) -> Segments:
    """The segments that the weighted terms need (core axes plus those their criteria name)."""
    problems = check_weights(weights)
    if problems:
        raise KeyError("; ".join(problems))
    crit = []
    for name, w in weights.items():
        if any(w):
            t = TERMS[name]
            crit += [t.applies_to, dict.fromkeys(t.varies_with)]
    return Segments.for_terms(crit)


def segment_values(state: Any, segments: Segments,
                   weights: Mapping[str, tuple[float, ...]]) -> np.ndarray:
    """Systematic utility per segment and place, shape (segments.n, n_places).

    For each weighted term (in the order of ``weights``) and each segment it applies to,
    ``weight[stage] * term`` is added; a term is evaluated once per combination of the
    attributes it varies with.
    """
    problems = check_weights(weights)
    if problems:
        raise KeyError("; ".join(problems))
    n = len(state.price)
    out = np.zeros((segments.n, n))
    stage = segments.stage
    for name, w in weights.items():
        term = TERMS[name]
        applies = segments.mask(**term.applies_to)
        cache: dict[tuple, np.ndarray] = {}
        for s in range(segments.n):
            ws = w[stage[s]]
            if ws == 0 or not applies[s]:
                continue
            key = tuple(segments.value(a, s) for a in term.varies_with)
            if key not in cache:
                ctx = TermContext(state, dict(zip(term.varies_with, key, strict=True)))
                cache[key] = np.asarray(term.func(ctx), float)
            out[s] += ws * cache[key]
    return out
