"""Housing: new rental or senior dwellings, or demolition of derelict houses.

**Mechanism.** ``mode = "build"``: a housing association, the municipality or a local
cooperative (andelsboligforening, seniorbofællesskab) adds ``dwellings`` homes in each
targeted place in the start year; they enter the place's stock (a
:class:`sim.effects.DwellingChange` the housing stage applies) and so its vacancies, which
the relocation step fills. ``mode = "demolish"``: the municipality removes derelict houses
(nedrivningspulje): up to ``dwellings`` vacant dwellings leave the stock, never so many that
fewer dwellings than occupied households remain. Both act once, in the start year, and are
recorded as an event (``built`` / ``demolished``, with the count); nothing is undone at the
end. ``dwellings`` is a real count; the simulated stock changes by ``dwellings * scale``,
rounded up or down at random so the expected change is exact (the draw is seeded by the
run's seed, place and year). ``tenure`` is recorded only: the model has one housing market
per place.

**Evidence** (ids of ``data/evidence_figures.csv``). The number of dwellings is the
scenario's choice. Building needs no volunteer hours by default (assumption: built by a
housing association or the municipality). *Costs per dwelling* (start; nothing yearly):
building: the municipality's base capital, 8-12% of the acquisition sum (Bolig- og
Planstyrelsen, house-05), of DKK 1.57 million, the national average of new almene dwellings
2011-16 (31.8 billion for 20,255, Landsbyggefonden, house-04; derived): 157,000
(126,000-188,000); rents pay the rest. Demolition: about DKK 100,000 a house (an estimate by
Realkreditforeningen, house-03; 60,000-150,000, an assumption), of which the state refunds
60% (house-01); the whole sum is counted.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from ..costs import KindCosts
from ..effects import DwellingChange, Effect
from ..ranges import Plausible
from .base import Initiative, InitiativeSettings, register_initiative

_SALT = int.from_bytes(hashlib.sha256(b"initiative:housing").digest()[:4], "little")


class HousingSettings(InitiativeSettings):
    """Settings of a housing initiative."""

    dwellings: int = Field(10, ge=1, le=10000,
                           description="dwellings to build (or at most to demolish) per place")
    mode: Literal["build", "demolish"] = Field(
        "build", description="build new dwellings, or demolish vacant derelict ones")
    tenure: Literal["rental", "senior", "owner"] = Field(
        "rental", description="kind of homes built (recorded)")


def scaled_count(view, count: int, place: int, year: int) -> int:
    """``count * scale`` rounded at random (expected value exact), reproducible per run."""
    x = count * view.params.scale
    base = np.floor(x)
    rng = view.streams.get("initiatives", year, _SALT, int(place))
    return int(base + (rng.random() < x - base))


@register_initiative("housing")
class HousingInitiative(Initiative):
    """New rental or senior homes, or demolition of vacant derelict houses."""

    Settings = HousingSettings
    #: Start cost per dwelling built or demolished (DKK).
    PER_DWELLING: ClassVar[dict[str, Plausible]] = {
        "build": Plausible(126_000.0, 157_000.0, 188_000.0, "derived: house-05 x house-04"),
        "demolish": Plausible(60_000.0, 100_000.0, 150_000.0, "evidence: house-03 (range an "
                              "assumption)")}
    COSTS = KindCosts(start=PER_DWELLING["build"].scaled(10),
                      yearly=Plausible(0.0, 0.0, 0.0, "none"))

    @classmethod
    def kind_costs(cls, settings: HousingSettings) -> KindCosts:
        """The cost per dwelling times the dwellings per place, once."""
        return KindCosts(start=cls.PER_DWELLING[settings.mode].scaled(settings.dwellings),
                         yearly=Plausible(0.0, 0.0, 0.0, "none"))

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """In the start year: the dwellings added or removed in each place."""
        if year != self.start:
            return []
        scale = view.params.scale
        places, counts = [], []
        for j in i:
            p = int(self.places[j])
            n = scaled_count(view, self.settings.dwellings, p, year)
            if self.settings.mode == "build":
                change = n
                self.record(int(j), year, "built", f"{n} {self.settings.tenure} dwellings "
                            f"added (simulated scale {scale:g})")
            else:
                change = -int(min(n, max(int(view.dwellings[p]) - int(view.occupied[p]), 0)))
                self.record(int(j), year, "demolished", f"{-change} vacant dwellings removed "
                            f"of {n} planned (simulated scale {scale:g})")
            places.append(p)
            counts.append(change)
        return [DwellingChange(places=np.array(places, np.int64),
                               count=np.array(counts, np.int64))]
