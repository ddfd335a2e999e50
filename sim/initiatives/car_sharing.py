"""Car sharing (delebil): a shared fleet gives car-less households part of a car's reach.

**Mechanism.** A car-sharing association keeps a few cars that members book by the hour.
Households without a car of their own in the targeted places then reach jobs, shops and
services almost as car households do, for part of their trips. The model applies this as a
value adjuster: for every car-less segment ``s`` (car bit 0) and targeted place ``j``::

    V[s, j] += access_share * max(V[s + 2, j] - V[s, j], 0)

where ``s + 2`` is the same stage and worker status with a car. Only the car advantage is
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

from .base import Initiative, InitiativeSettings, register_initiative

#: Segments without a car (stage * 4 + worker) and the same segments with a car.
CARLESS = np.array([stage * 4 + worker for stage in range(4) for worker in (0, 1)])
WITH_CAR = CARLESS + 2


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

    def __post_init__(self) -> None:
        super().__post_init__()
        self.on = np.zeros(len(self.places), bool)

    def adjust(self, model, values: np.ndarray) -> np.ndarray:
        """Value adjuster: raise car-less segments towards car segments in active places."""
        cols = np.unique(self.places[self.on])
        if len(cols) == 0:
            return values
        out = values.copy()
        rows_nocar = np.ix_(CARLESS, cols)
        gap = np.maximum(values[np.ix_(WITH_CAR, cols)] - values[rows_nocar], 0.0)
        out[rows_nocar] += self.settings.access_share * gap
        return out

    def begin(self, model, i: int, year: int) -> None:
        """Switch the adjuster on for place ``i``."""
        self.on[i] = True
        if self.adjust not in model.value_adjusters:
            model.value_adjusters.append(self.adjust)

    def stop(self, model, i: int, year: int) -> None:
        """Switch place ``i`` off; drop the adjuster when no place is left."""
        self.on[i] = False
        if not self.on.any() and self.adjust in model.value_adjusters:
            model.value_adjusters.remove(self.adjust)
