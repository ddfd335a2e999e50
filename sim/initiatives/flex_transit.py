"""Demand-responsive transport (flextur, flexbus, telebus).

**Mechanism.** A bus or taxi that runs on booking serves places that timetabled buses serve
poorly. The place's bus service level (``model.bus_level``, 0..1; by default log place size
plus a bus-station bonus, 0 in open countryside) is raised to at least ``service_level``
while the initiative runs; ``stop`` takes the raise back. The bus term of the utility counts
for households without a car only, so only car-less segments value it. Travel times to jobs
by bus (``jobs45_bus``) are not changed (assumption: booked trips serve errands and
services more than daily commutes).

**Evidence** (``data/calibration_figures.csv``): in a 2020 YouGov survey for Bolius, 62% named
effective public transport as the most effective measure for rural areas. The level reached
(0.5, about the bus service of a town of 3,000) and the volunteer hours (none: run by the
transport company) are assumptions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Initiative, InitiativeSettings, register_initiative


class FlexTransitSettings(InitiativeSettings):
    """Settings of demand-responsive transport."""

    service_level: float = Field(
        0.5, ge=0.0, le=1.0, description="assumption: bus service level (0..1) the places "
        "get at least")


@register_initiative("flex_transit")
class FlexTransit(Initiative):
    """Demand-responsive transport: raises the places' bus service level."""

    Settings = FlexTransitSettings

    def __post_init__(self) -> None:
        super().__post_init__()
        self.raised = np.zeros(len(self.places))

    def begin(self, model, i: int, year: int) -> None:
        """Raise the bus level of place ``i`` to at least the service level."""
        p = int(self.places[i])
        target = max(float(model.bus_level[p]), self.settings.service_level)
        self.raised[i] = target - model.bus_level[p]
        model.bus_level[p] = target

    def stop(self, model, i: int, year: int) -> None:
        """Take the raise back (the previous level returns)."""
        p = int(self.places[i])
        model.bus_level[p] = max(model.bus_level[p] - self.raised[i], 0.0)
        self.raised[i] = 0.0
