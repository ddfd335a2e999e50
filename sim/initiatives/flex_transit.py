"""Demand-responsive transport (flextur, flexbus, telebus).

**Mechanism.** A bus or taxi that runs on booking serves places that timetabled buses serve
poorly. The place's bus service level (``model.bus_level``, 0..1; by default log place size
plus a bus-station bonus, 0 in open countryside) is at least ``service_level`` while the
initiative runs (:class:`sim.effects.BusLevel`; the highest declared level counts). The bus
term of the utility counts for households without a car only, so only car-less segments
value it. Travel times to jobs by bus (``jobs45_bus``) are not changed (assumption: booked
trips serve errands and services more than daily commutes).

**Evidence** (``data/calibration_figures.csv``): in a 2020 YouGov survey for Bolius, 62% named
effective public transport as the most effective measure for rural areas. The level reached
(0.5, about the bus service of a town of 3,000) and the volunteer hours (none: run by the
transport company) are assumptions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..effects import BusLevel, Effect
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

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """Bus level of the places at least the service level."""
        return [BusLevel(places=self.places[i], level=self.settings.service_level)]
