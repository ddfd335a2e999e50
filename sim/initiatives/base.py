"""The initiative protocol and registry.

An initiative kind is a subclass of :class:`Initiative` registered by name::

    @register_initiative("coop_grocer")
    class CoopGrocer(Initiative):
        '''Mechanism and evidence (shown in docs and `landsim validate`).'''
        class Settings(InitiativeSettings):
            threshold_factor: float = 0.5
        def effects(self, view, i, year):     # the active places self.places[i] this year
            return [ServiceUnit(self.places[i], "grocer", self.settings.threshold_factor)]
        def check(self, view, i, year):       # optional: places where it fails, and why
            return {}

The scenario file gives ``kind``, ``start``/``end`` years, a ``target`` (resolved to place
indices before the run), ``settings`` (validated by the kind's ``Settings`` model, unknown
keys rejected) and optionally ``costs`` (overriding the kind's own).

Every assumed magnitude of a kind's settings declares a plausible range with
:func:`sim.ranges.magnitude` (``InitiativeSettings.ranges`` reads them), and every kind
declares its costs per place (``COSTS``, a :class:`sim.costs.KindCosts` of ranges with
sources; ``kind_costs`` scales them with the settings where they depend on them).

An initiative **never writes into the model**: every year it is active it declares
:mod:`sim.effects` for its active places, and reads the model only through the read-only
:class:`sim.interventions.InterventionView`. The base class runs the calendar (start, end),
claims the volunteer hours, fails a place after ``fail_years`` years short of them or when
:meth:`Initiative.check` says so, and records what happens as :class:`Event` rows. When a
place's initiative ends or fails it declares nothing more there, so its effects vanish by
themselves. ``sim.conformance.check_initiative`` proves a kind keeps these rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
from pydantic import Field

from ..costs import NO_COSTS, CostOverride, CostRates, KindCosts
from ..effects import Effect
from ..infra import FrozenModel
from ..ranges import End, Plausible, magnitude, ranges_of
from ..registry import Registry


class InitiativeSettings(FrozenModel):
    """Settings common to every kind (kinds add their own fields)."""

    volunteer_hours: float = Field(
        0.0, ge=0.0, description="volunteer hours per year the initiative needs in each place")
    fail_years: int = magnitude(
        2, 1, 3, "assumption",
        "assumption: consecutive years without enough volunteers (or viability) before it "
        "fails", ge=1, le=20)

    def required_hours(self) -> float:
        """Volunteer hours a year per place (kinds may derive it from other settings)."""
        return float(self.volunteer_hours)

    def ranges(self) -> dict[str, Plausible]:
        """Plausible range of every assumed magnitude (central: the default).

        Kinds whose ranges depend on other settings (the coop grocer's type) override it.
        """
        return ranges_of(self)


@dataclass
class Event:
    """Something that happened to an initiative in a place."""

    kind: str
    name: str
    place_id: int
    year: int
    event: str  # started, failed, ended (housing also: built, demolished)
    reason: str = ""


@dataclass(frozen=True)
class Ended:
    """A place's initiative ends (not fails) this year, e.g. because its purpose is met.

    Returned by :meth:`Initiative.check` instead of a failure reason.
    """

    reason: str


class Volunteers(Protocol):
    """The volunteer capacity the interventions stage lends an initiative for a year."""

    def claim(self, place: int, hours: float) -> bool:
        """Claim ``hours`` at ``place``; True if they were available (then they are used)."""


@dataclass
class Initiative:
    """One initiative of one kind applied to a set of places.

    Configuration (from the scenario file, never changed by the run): ``name``, ``places``,
    ``start``, ``end``, ``settings``, ``budget_dkk``, ``costs``. Run state (changed only by
    the base class; names end in ``_``): ``active_``, ``short_years_``, ``events_``.

    Attributes:
        name: Label from the scenario file.
        places: Place indices targeted.
        start: First year it acts.
        end: Last year it acts (None = to the end of the run).
        settings: Validated settings of the kind.
        budget_dkk: Budget from the scenario file (the start cost per place, older files).
        costs: The scenario item's cost overrides (None: the kind's own costs).
        active_: Per targeted place, whether it is still running.
        short_years_: Per place, consecutive years the volunteers fell short.
        events_: What happened, for reports.
    """

    kind: ClassVar[str] = ""
    Settings: ClassVar[type[InitiativeSettings]] = InitiativeSettings
    #: Costs per targeted place (start, yearly, yearly per resident; DKK), with sources.
    COSTS: ClassVar[KindCosts] = NO_COSTS

    name: str
    places: np.ndarray
    start: int
    end: int | None
    settings: Any
    budget_dkk: float | None = None
    costs: CostOverride | None = None
    active_: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    short_years_: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    events_: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.places = np.asarray(self.places, np.int64)
        self.active_ = np.ones(len(self.places), bool)
        self.short_years_ = np.zeros(len(self.places), np.int16)

    # -- called by the interventions stage ----------------------------------------------
    def step(self, view: Any, year: int, volunteers: Volunteers) -> list[Effect]:
        """Effects for ``year``: runs the calendar, the volunteers and the kind's rules."""
        if year < self.start:
            return []
        if self.end is not None and year > self.end:
            if year == self.end + 1:
                for i in np.flatnonzero(self.active_):
                    self._event(self.places[i], year, "ended", "end year reached")
                self.active_[:] = False
            return []
        if year == self.start:
            for p in self.places:
                self._event(p, year, "started")
        hours = self.settings.required_hours()
        for i in np.flatnonzero(self.active_):
            if hours > 0 and not volunteers.claim(int(self.places[i]), hours):
                self.short_years_[i] += 1
                if self.short_years_[i] >= self.settings.fail_years:
                    self._fail(i, year, "volunteer capacity ran out "
                               f"({self.short_years_[i]} years short of {hours:.0f} hours)")
            else:
                self.short_years_[i] = 0
        active = np.flatnonzero(self.active_)
        if len(active):
            for i, outcome in self.check(view, active, year).items():
                if isinstance(outcome, Ended):
                    self.active_[int(i)] = False
                    self._event(self.places[int(i)], year, "ended", outcome.reason)
                else:
                    self._fail(int(i), year, str(outcome))
            active = np.flatnonzero(self.active_)
        return list(self.effects(view, active, year)) if len(active) else []

    def _fail(self, i: int, year: int, reason: str) -> None:
        self.active_[i] = False
        self._event(self.places[i], year, "failed", reason)

    def _event(self, place: int, year: int, event: str, reason: str = "") -> None:
        self.events_.append(Event(self.kind, self.name, int(place), year, event, reason))

    def record(self, i: int, year: int, event: str, reason: str = "") -> None:
        """Record a kind-specific event (e.g. ``built``) for targeted place ``i``."""
        self._event(self.places[i], year, event, reason)

    # -- costs -----------------------------------------------------------------------------
    @classmethod
    def kind_costs(cls, settings: Any) -> KindCosts:
        """The kind's costs per place for ``settings`` (kinds scale ``COSTS`` if needed)."""
        return cls.COSTS

    def cost_ranges(self) -> KindCosts:
        """The cost ranges per place of this initiative (the scenario's figures fixed)."""
        return self._override().apply_ranges(self.kind_costs(self.settings))

    def cost_rates(self, end: End = "central") -> CostRates:
        """The costs per place of this initiative at one end of the ranges."""
        return self.cost_ranges().at(end)

    def _override(self) -> CostOverride:
        """The scenario's costs; the older ``budget_dkk`` is the start cost."""
        over = self.costs or CostOverride()
        if self.budget_dkk is not None and over.start_dkk is None:
            over = over.model_copy(update={"start_dkk": self.budget_dkk})
        return over

    # -- what kinds implement -------------------------------------------------------------
    def effects(self, view: Any, i: np.ndarray, year: int) -> list[Effect]:
        """Effects on the active places ``self.places[i]`` in ``year``.

        Args:
            view: Read-only view of the model (:class:`sim.interventions.InterventionView`).
            i: Indices into ``self.places`` of the places where it is active this year.
            year: The year simulated.
        """
        return []

    def check(self, view: Any, i: np.ndarray, year: int) -> Mapping[int, str | Ended]:
        """Places (indices into ``self.places``) where it stops this year.

        The value is the reason it failed, or an :class:`Ended` if it ends by design.
        """
        return {}


INITIATIVES: Registry[type[Initiative]] = Registry("initiative kind", "landsim.initiatives")


def register_initiative(name: str):
    """Class decorator registering an initiative kind under ``name``.

    Raises:
        TypeError: If the class is not an :class:`Initiative`.
        sim.registry.RegistryError: If ``name`` is already another kind.
    """

    def deco(cls: type[Initiative]) -> type[Initiative]:
        if not (isinstance(cls, type) and issubclass(cls, Initiative)):
            raise TypeError(f"{getattr(cls, '__name__', cls)} must subclass "
                            "sim.initiatives.Initiative")
        cls.kind = name
        INITIATIVES.register(name, cls)
        return cls

    return deco
