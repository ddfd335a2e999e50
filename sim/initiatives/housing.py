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

**Evidence.** No figure in ``data/calibration_figures.csv`` bears on it directly; the number
of dwellings is the scenario's choice. Building needs no volunteer hours by default
(assumption: built by a housing association or the municipality).
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np
from pydantic import Field

from ..effects import DwellingChange, Effect
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
