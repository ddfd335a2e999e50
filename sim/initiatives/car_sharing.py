"""Car sharing (delebil): a shared fleet gives car-less households part of a car's reach.

**Mechanism.** A car-sharing association keeps a few cars that members book by the hour.
Households without a car of their own in the targeted places then reach jobs, shops and
services almost as car households do, for part of their trips. The initiative declares a
car-access effect (:class:`sim.effects.CarAccess`): for every car-less segment ``s`` and
targeted place ``j``::

    V[s, j] += access_share * max(V[s', j] - V[s, j], 0)

where ``s'`` is the same segment with a car (two car-sharing schemes in one place: the
larger share counts). Only the car advantage is
shared (where the bus already makes a place better without a car, nothing is taken away), and
households with a car are unaffected. ``cars`` and ``members`` are recorded for reports; the
access share does not depend on them (assumption: the fleet is sized to its members).

**Evidence** (``data/calibration_figures.csv``): Byens Bil around Feldballe (Syddjurs) had
30 users sharing 3 cars after its expansion (TV2 Østjylland, 2019); in the Sønderborg pilot
each shared car replaced 4-5 private cars and users drove 30% less than car owners
(ProjectZero); Denmark had 11 established schemes with about 6,000 members in 2011. The
share of car access gained (``access_share`` 0.5) and the volunteer hours (100 a year, the
association's booking and upkeep) are assumptions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..effects import CarAccess, Effect
from .base import Initiative, InitiativeSettings, register_initiative


class CarSharingSettings(InitiativeSettings):
    """Settings of a car-sharing association."""

    cars: int = Field(3, ge=1, le=100, description="shared cars per place (recorded)")
    members: int = Field(30, ge=1, le=5000, description="member households per place "
                         "(recorded)")
    access_share: float = Field(
        0.5, ge=0.0, le=1.0, description="assumption: share of the car households' value "
        "advantage that car-less households gain")
    volunteer_hours: float = Field(
        100.0, ge=0.0, description="assumption: volunteer hours a year per place (bookings, "
        "cleaning, accounts)")


@register_initiative("car_sharing")
class CarSharing(Initiative):
    """Car sharing: car-less households in the places gain part of the car households' value."""

    Settings = CarSharingSettings

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """Car-less households gain ``access_share`` of the car advantage in the places."""
        return [CarAccess(places=self.places[i], share=self.settings.access_share)]
