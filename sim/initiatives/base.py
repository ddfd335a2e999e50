"""The initiative protocol and registry.

An initiative kind is a subclass of :class:`Initiative` registered by name::

    @register_initiative("coop_grocer")
    class CoopGrocer(Initiative):
        '''Mechanism and evidence (shown in docs and `landsim validate`).'''
        class Settings(InitiativeSettings):
            volunteer_hours: float = 500.0
        def begin(self, model, year): ...      # once, in the start year, per place
        def each_year(self, model, year): ...  # every active year, per place

The scenario file gives ``kind``, ``start``/``end`` years, a ``target`` (resolved to place
indices before the run) and ``settings`` (validated by the kind's ``Settings`` model, unknown
keys rejected). Initiatives act only through the model's documented hooks: service units
(``model.services.add`` with a ``threshold_factor``), per-place scores (``model.nature``,
``model.community``, ``model.bus_level``), ``model.service_access_km``,
``model.value_adjusters``, ``model.housing.dwellings`` and the community's volunteer
capacity (``model.community_capacity``). They report what happens as :class:`Event` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from ..infra import StrictModel


class InitiativeSettings(StrictModel):
    """Settings common to every kind (kinds add their own fields)."""

    volunteer_hours: float = Field(
        0.0, ge=0.0, description="volunteer hours per year the initiative needs in each place")
    fail_years: int = Field(
        2, ge=1, le=20,
        description="consecutive years without enough volunteers (or viability) before it fails")


@dataclass
class Event:
    """Something that happened to an initiative in a place."""

    kind: str
    name: str
    place_id: int
    year: int
    event: str  # started, failed, ended (housing also: built, demolished)
    reason: str = ""


@dataclass
class Initiative:
    """One initiative of one kind applied to a set of places.

    Attributes:
        name: Label from the scenario file.
        places: Place indices targeted.
        start: First year it acts.
        end: Last year it acts (None = to the end of the run).
        settings: Validated settings of the kind.
        budget_dkk: Budget from the scenario file (recorded; kinds may use it).
        active: Per targeted place, whether it is still running.
        short_years: Per place, consecutive years the volunteers fell short.
        events: What happened, for reports.
    """

    kind: ClassVar[str] = ""
    Settings: ClassVar[type[InitiativeSettings]] = InitiativeSettings

    name: str
    places: np.ndarray
    start: int
    end: int | None
    settings: Any
    budget_dkk: float | None = None
    active: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    short_years: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.places = np.asarray(self.places, np.int64)
        self.active = np.ones(len(self.places), bool)
        self.short_years = np.zeros(len(self.places), np.int16)

    # -- called by the model ------------------------------------------------------------
    def step(self, model, year: int) -> None:
        """Run the initiative for ``year``: begin, volunteers, the kind's yearly effect."""
        if year < self.start or (self.end is not None and year > self.end):
            if self.end is not None and year == self.end + 1:
                for i, p in enumerate(self.places):
                    if self.active[i]:
                        self._event(p, year, "ended", "end year reached")
                        self.stop(model, i, year)
                self.active[:] = False
            return
        if year == self.start:
            for i, p in enumerate(self.places):
                self.begin(model, i, year)
                self._event(p, year, "started")
        hours = self.settings.volunteer_hours
        for i, p in enumerate(self.places):
            if not self.active[i]:
                continue
            if hours > 0 and not model.community_capacity.claim(int(p), hours):
                self.short_years[i] += 1
                if self.short_years[i] >= self.settings.fail_years:
                    self.fail(model, i, year, "volunteer capacity ran out "
                              f"({self.short_years[i]} years short of {hours:.0f} hours)")
                    continue
            else:
                self.short_years[i] = 0
            self.each_year(model, i, year)

    def fail(self, model, i: int, year: int, reason: str) -> None:
        """Stop the initiative in place ``i`` and record why."""
        self.active[i] = False
        self._event(self.places[i], year, "failed", reason)
        self.stop(model, i, year)

    def _event(self, place: int, year: int, event: str, reason: str = "") -> None:
        self.events.append(Event(self.kind, self.name, int(place), year, event, reason))

    # -- what kinds implement ---------------------------------------------------------------
    def begin(self, model, i: int, year: int) -> None:
        """Set the initiative up in place ``i`` (start year)."""

    def each_year(self, model, i: int, year: int) -> None:
        """Yearly effect in place ``i`` while active."""

    def stop(self, model, i: int, year: int) -> None:
        """Undo or wind down the effect in place ``i`` (failure or end)."""


INITIATIVES: dict[str, type[Initiative]] = {}


def register_initiative(name: str):
    """Class decorator registering an initiative kind under ``name``."""

    def deco(cls: type[Initiative]) -> type[Initiative]:
        if not issubclass(cls, Initiative):
            raise TypeError(f"{cls.__name__} must subclass sim.initiatives.Initiative")
        cls.kind = name
        INITIATIVES[name] = cls
        return cls

    return deco
