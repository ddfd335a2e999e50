"""Community house and associations (forsamlingshus, borgerforening, idrætsforening).

**Mechanism.** A village hall with active associations makes the place a better place to
live and keeps volunteering alive. While it runs, the place's community score
(``model.community``, standardised: community facilities per inhabitant) is raised by
``community_gain`` standard-score units, valued by every segment through the community
weight; ``stop`` takes the gain back. It also renews volunteer capacity: every active year
the fatigue of the place's volunteers (``model.community_capacity.fatigue``, 0..0.9) falls
by ``fatigue_relief`` (not below 0), so other initiatives of the place last longer.

**Evidence.** No figure in ``data/calibration_figures.csv`` measures it yet; TV Syd (2018)
reports that citizen shops create cohesion ("Borgerbutikker skaber sammenhængskraft") in
Daugård, qualitatively. The gain (0.5 standard-score units), the fatigue relief (0.05 a
year) and the volunteer hours (300 a year: board, bookings, upkeep) are assumptions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Initiative, InitiativeSettings, register_initiative


class CommunityHouseSettings(InitiativeSettings):
    """Settings of a community house."""

    community_gain: float = Field(
        0.5, ge=0.0, le=3.0, description="assumption: rise of the community score "
        "(standard-score units) while active")
    fatigue_relief: float = Field(
        0.05, ge=0.0, le=0.9, description="assumption: yearly fall of the place's volunteer "
        "fatigue (share of capacity, 0..0.9)")
    volunteer_hours: float = Field(
        300.0, ge=0.0, description="assumption: volunteer hours a year per place")


@register_initiative("community_house")
class CommunityHouse(Initiative):
    """Community house: raises the community score and renews volunteer capacity."""

    Settings = CommunityHouseSettings

    def __post_init__(self) -> None:
        super().__post_init__()
        self.added = np.zeros(len(self.places))

    def begin(self, model, i: int, year: int) -> None:
        """Raise the community score of place ``i``."""
        p = int(self.places[i])
        self.added[i] = self.settings.community_gain
        model.community[p] += self.added[i]

    def each_year(self, model, i: int, year: int) -> None:
        """Relieve the volunteers' fatigue in place ``i``."""
        cc = model.community_capacity
        p = int(self.places[i])
        cc.fatigue[p] = max(cc.fatigue[p] - self.settings.fatigue_relief, 0.0)

    def stop(self, model, i: int, year: int) -> None:
        """Take the community gain back."""
        model.community[int(self.places[i])] -= self.added[i]
        self.added[i] = 0.0
