"""Housing: new rental or senior dwellings, or demolition of derelict houses.

**Mechanism.** ``mode = "build"``: a housing association, the municipality or a local
cooperative (andelsboligforening, seniorbofællesskab) adds ``dwellings`` homes in each
targeted place in the start year; they enter the place's stock (``model.housing.dwellings``)
and so its vacancies, which the relocation step fills. ``mode = "demolish"``: the municipality
removes derelict houses (nedrivningspulje): up to ``dwellings`` vacant dwellings leave the
stock, never so many that fewer dwellings than occupied households remain. Both act once, in
the start year, and are recorded as an event (``built`` / ``demolished``, with the count);
nothing is undone at the end. ``dwellings`` is a real count; the simulated stock changes by
``dwellings * scale``, rounded up or down at random so the expected change is exact (the draw
is seeded by the run's seed, place and year). ``tenure`` is recorded only: the model has one
housing market per place.

**Evidence.** No figure in ``data/calibration_figures.csv`` bears on it directly; the number
of dwellings is the scenario's choice. Building needs no volunteer hours by default
(assumption: built by a housing association or the municipality).
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np
from pydantic import Field

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


def scaled_count(model, count: int, place: int, year: int) -> int:
    """``count * scale`` rounded at random (expected value exact), reproducible per run."""
    x = count * model.params.scale
    base = np.floor(x)
    rng = model.streams.get("initiatives", year, _SALT, int(place))
    return int(base + (rng.random() < x - base))


@register_initiative("housing")
class HousingInitiative(Initiative):
    """New rental or senior homes, or demolition of vacant derelict houses."""

    Settings = HousingSettings

    def __post_init__(self) -> None:
        super().__post_init__()
        #: Simulated dwellings added (positive) or removed (negative) per place.
        self.changed = np.zeros(len(self.places), np.int64)

    def begin(self, model, i: int, year: int) -> None:
        """Add or remove the dwellings of place ``i`` and record the count."""
        p = int(self.places[i])
        hh = model.pop.households
        n = scaled_count(model, self.settings.dwellings, p, year)
        stock = model.housing.dwellings
        if self.settings.mode == "build":
            stock[p] += n
            self.changed[i] = n
            self._event(p, year, "built", f"{n} {self.settings.tenure} dwellings added "
                        f"(simulated scale {model.params.scale:g})")
        else:
            occupied = int(np.count_nonzero(hh.housed & (hh.place == p)))
            gone = int(min(n, max(stock[p] - occupied, 0)))
            stock[p] -= gone
            self.changed[i] = -gone
            self._event(p, year, "demolished", f"{gone} vacant dwellings removed of {n} "
                        f"planned (simulated scale {model.params.scale:g})")
