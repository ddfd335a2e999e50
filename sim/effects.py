"""Effects: what an intervention declares it does to its places in a year.

Initiatives and trends never write into the model. Every year each active intervention
returns a list of effects; the model rebuilds the year's place state from the world's base
arrays plus the effects (:mod:`sim.place_state`), the services stage holds the service units
requested, and the housing stage applies dwelling changes. When an intervention ends or
fails it simply declares nothing more, so nothing is ever undone by hand.

Several effects on one place combine by a stated rule:

==============================  ===========================================  ==============
effect                          meaning                                      combined by
==============================  ===========================================  ==============
:class:`ServiceReach`           the kind counts as reachable within ``km``   minimum
                                (also the nearest open unit counts)
:class:`BusLevel`               bus service level at least ``level``         maximum
:class:`ScoreBoost`             a place score (``nature``, ``community`` or  sum
                                a term's own score) raised by ``delta``
:class:`CarAccess`              households without a car gain ``share`` of   maximum
                                what a car adds to the place's value
:class:`ValueShift`             utility added to some segments               sum
:class:`ServiceUnit`            a unit of the kind held open, surviving on   one unit per
                                ``factor`` times the viability threshold     place and kind;
                                                                             minimum factor
:class:`DwellingChange`         dwellings added (+) or removed (-) this      sum
                                year (simulated scale)
:class:`VolunteerRelief`        the place's volunteer fatigue falls by       sum
                                ``amount`` at the next renewal
:class:`VolunteerRecruitment`   a share ``share`` of the place's non-        sum, at most 1
                                volunteers joins at the next renewal
:class:`InMigrantAgeWeight`     in-migrant households headed 55+ weigh       maximum
                                ``factor`` (region-wide)
:class:`ValueAdjuster`          any other change of the utilities: a         in the order
                                function ``(values, segments, state)``       declared
==============================  ===========================================  ==============

Utility changes apply in this order: terms, then value shifts, then car access, then
adjusters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .params import SERVICE_KINDS as KINDS


def _places(places: Any) -> np.ndarray:
    return np.atleast_1d(np.asarray(places, np.int64))


@dataclass(frozen=True, kw_only=True)
class Effect:
    """Base of every effect: the places it acts on and who declared it.

    Effects are built with keywords, e.g. ``BusLevel(places=p, level=0.5)``.

    Attributes:
        places: Place indices (empty: region-wide where the effect allows it).
        source: Label of the declaring intervention (set by the interventions stage).
    """

    places: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    source: str = ""
    rule: ClassVar[str] = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "places", _places(self.places))


@dataclass(frozen=True, kw_only=True)
class ServiceReach(Effect):
    """The kind counts as reachable within ``km`` of the places (e.g. a mobile clinic)."""

    kind: str
    km: float
    rule: ClassVar[str] = "minimum"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind not in KINDS:
            raise ValueError(f"ServiceReach kind {self.kind!r} is not one of {KINDS}")


@dataclass(frozen=True, kw_only=True)
class BusLevel(Effect):
    """Bus service level (0..1) of the places at least ``level``."""

    level: float
    rule: ClassVar[str] = "maximum"


@dataclass(frozen=True, kw_only=True)
class ScoreBoost(Effect):
    """Place score ``score`` raised by ``delta`` (``nature``, ``community`` or a term's own)."""

    score: str
    delta: float
    rule: ClassVar[str] = "sum"


@dataclass(frozen=True, kw_only=True)
class CarAccess(Effect):
    """Households without a car gain ``share`` of the value a car adds in the places."""

    share: float
    rule: ClassVar[str] = "maximum"


@dataclass(frozen=True, kw_only=True)
class ValueShift(Effect):
    """Utility ``delta`` added in the places: shape (n_segments,) or (n_segments, n_places).

    ``places`` may be empty with a full (n_segments, n_places) ``delta``: then it applies
    region-wide.
    """

    delta: np.ndarray
    rule: ClassVar[str] = "sum"


@dataclass(frozen=True, kw_only=True)
class ServiceUnit(Effect):
    """A unit of ``kind`` held open in each place, viable on ``factor`` x the threshold.

    The services stage takes over an open unit of the place (or opens one) the first year it
    is requested and closes it the first year no intervention requests it any more; a unit
    that closed for lack of users is not reopened by the same request.
    """

    kind: str
    factor: float = 1.0
    rule: ClassVar[str] = "one unit per place and kind; minimum factor"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind not in KINDS:
            raise ValueError(f"ServiceUnit kind {self.kind!r} is not one of {KINDS}")


@dataclass(frozen=True, kw_only=True)
class DwellingChange(Effect):
    """Dwellings added (positive) or removed (negative) this year, simulated scale."""

    count: np.ndarray | int
    rule: ClassVar[str] = "sum"


@dataclass(frozen=True, kw_only=True)
class VolunteerRelief(Effect):
    """Volunteer fatigue of the places falls by ``amount`` at the next renewal."""

    amount: float
    rule: ClassVar[str] = "sum"


@dataclass(frozen=True, kw_only=True)
class VolunteerRecruitment(Effect):
    """A share ``share`` of the places' non-volunteers joins at the next renewal.

    Every age band's share volunteering ``p`` becomes ``p + share (1 - p)`` when the volunteer
    capacity is renewed (:func:`sim.community.renew`).
    """

    share: float
    rule: ClassVar[str] = "sum, at most 1"


@dataclass(frozen=True, kw_only=True)
class InMigrantAgeWeight(Effect):
    """In-migrant households headed 55+ are ``factor`` times as likely (region-wide)."""

    factor: float
    rule: ClassVar[str] = "maximum"


@dataclass(frozen=True, kw_only=True)
class ValueAdjuster(Effect):
    """Any other change of the utilities: ``func(values, segments, state) -> values``."""

    func: Callable[..., np.ndarray] = field(default=lambda v, s, st: v)
    rule: ClassVar[str] = "in the order declared"


class EffectSet:
    """The effects of one year, with the combination rules applied on request.

    Args:
        effects: Every effect declared this year (in declaration order).
        n_places: Number of places.
    """

    def __init__(self, effects: Iterable[Effect], n_places: int) -> None:
        self.effects = list(effects)
        self.n = n_places

    def of(self, kind: type[Effect]) -> list[Effect]:
        """The effects of one type, in declaration order."""
        return [e for e in self.effects if type(e) is kind]

    def __len__(self) -> int:
        return len(self.effects)

    # -- combined per place -------------------------------------------------------------
    def reach_km(self) -> np.ndarray:
        """Distance within which each kind is reachable anyway, (n, len(KINDS)); inf: none."""
        out = np.full((self.n, len(KINDS)), np.inf, np.float32)
        for e in self.of(ServiceReach):
            np.minimum.at(out, (e.places, KINDS.index(e.kind)), np.float32(e.km))
        return out

    def bus_level_floor(self) -> np.ndarray | None:
        """Lowest bus level per place (maximum of the declared levels), None if none."""
        found = self.of(BusLevel)
        if not found:
            return None
        out = np.zeros(self.n)
        for e in found:
            np.maximum.at(out, e.places, float(e.level))
        return out

    def score_boosts(self) -> dict[str, np.ndarray]:
        """Sum of the boosts per score and place."""
        out: dict[str, np.ndarray] = {}
        for e in self.of(ScoreBoost):
            arr = out.setdefault(e.score, np.zeros(self.n))
            np.add.at(arr, e.places, float(e.delta))
        return out

    def car_access(self) -> np.ndarray | None:
        """Share of the car advantage gained by car-less households, per place, or None."""
        found = self.of(CarAccess)
        if not found:
            return None
        out = np.zeros(self.n)
        for e in found:
            np.maximum.at(out, e.places, float(e.share))
        return out

    def value_shift(self, n_segments: int) -> np.ndarray | None:
        """Sum of the value shifts, shape (n_segments, n_places), or None if none."""
        found = self.of(ValueShift)
        if not found:
            return None
        out = np.zeros((n_segments, self.n))
        for e in found:
            d = np.asarray(e.delta, float)
            if d.ndim == 2 and len(e.places) == 0:
                out += d
            elif d.ndim == 2:
                out[:, e.places] += d[:, e.places]
            else:
                out[:, e.places] += d[:, None]
        return out

    def adjusters(self) -> list[Callable[..., np.ndarray]]:
        """Value adjusters in declaration order."""
        return [e.func for e in self.of(ValueAdjuster)]

    def dwelling_change(self) -> np.ndarray:
        """Net dwellings added per place this year."""
        out = np.zeros(self.n, np.int64)
        for e in self.of(DwellingChange):
            np.add.at(out, e.places, np.asarray(e.count, np.int64))
        return out

    def volunteer_relief(self) -> np.ndarray:
        """Sum of the fatigue relief per place."""
        out = np.zeros(self.n)
        for e in self.of(VolunteerRelief):
            np.add.at(out, e.places, float(e.amount))
        return out

    def volunteer_recruitment(self) -> np.ndarray:
        """Share of the non-volunteers recruited per place (sum of the shares, at most 1)."""
        out = np.zeros(self.n)
        for e in self.of(VolunteerRecruitment):
            np.add.at(out, e.places, float(e.share))
        return np.minimum(out, 1.0)

    def in_migrant_old_weight(self) -> float:
        """Weight of in-migrant households headed 55+ (1 when nothing is declared)."""
        found = self.of(InMigrantAgeWeight)
        return max(float(e.factor) for e in found) if found else 1.0

    def unit_requests(self) -> list[ServiceUnit]:
        """The service units requested this year."""
        return self.of(ServiceUnit)
