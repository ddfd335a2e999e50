"""Demand-responsive transport (flextur, flexbus, telebus).

**Mechanism.** A bus or taxi that runs on booking serves places that timetabled buses serve
poorly. The place's bus service level (``model.bus_level``, 0..1; by default log place size
plus a bus-station bonus, 0 in open countryside) is at least ``service_level`` while the
initiative runs (:class:`sim.effects.BusLevel`; the highest declared level counts). The bus
term of the utility counts for households without a car only, so only car-less segments
value it. Travel times to jobs by bus (``jobs45_bus``) are not changed (assumption: booked
trips serve errands and services more than daily commutes).

**Evidence** (ids of ``data/evidence_figures.csv``; ``data/calibration_figures.csv``): in a
2020 YouGov survey for Bolius, 62% named effective public transport as the most effective
measure for rural areas. 780,700 open flex-traffic passengers in Denmark in 2021 and an
average municipal subsidy of about DKK 140 a trip (bus22plus.dk, a secondary analysis,
flex-02); Midttrafik's fares are DKK 7 a km address to address (flex-01). Trips per
resident were not found for Midttrafik: the yearly cost per resident is DKK 140 x an assumed
1 trip a resident and year (0.5-3): 140 (70-420). No start cost (Midttrafik's booking system
exists). The level reached (0.5, about the bus service of a town of 3,000; 0.3-0.7) and the
volunteer hours (none: run by the transport company) are assumptions.
"""

from __future__ import annotations

import numpy as np

from ..costs import KindCosts
from ..effects import BusLevel, Effect
from ..ranges import Plausible, magnitude
from .base import Initiative, InitiativeSettings, register_initiative


class FlexTransitSettings(InitiativeSettings):
    """Settings of demand-responsive transport."""

    service_level: float = magnitude(
        0.5, 0.3, 0.7, "assumption", "assumption: bus service level (0..1) the places get at "
        "least", ge=0.0, le=1.0)


@register_initiative("flex_transit")
class FlexTransit(Initiative):
    """Demand-responsive transport: raises the places' bus service level."""

    Settings = FlexTransitSettings
    COSTS = KindCosts(start=Plausible(0.0, 0.0, 0.0, "none (existing booking system)"),
                      yearly=Plausible(0.0, 0.0, 0.0, "none"),
                      per_resident=Plausible(70.0, 140.0, 420.0, "evidence: flex-02 (DKK 140 "
                                             "a trip) x assumed 0.5-3 trips a resident"))

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """Bus level of the places at least the service level."""
        return [BusLevel(places=self.places[i], level=self.settings.service_level)]
