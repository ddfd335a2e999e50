"""Community house and associations (forsamlingshus, borgerforening, idrætsforening).

**Mechanism.** A village hall with active associations makes the place a better place to
live and keeps volunteering alive. While it runs, the place's community score
(standardised: community facilities per inhabitant) is raised by ``community_gain``
standard-score units (:class:`sim.effects.ScoreBoost`), valued by every segment through the
community weight. It also renews volunteer capacity: every active year the fatigue of the
place's volunteers (0..0.9) falls by ``fatigue_relief`` at the next renewal (not below 0;
:class:`sim.effects.VolunteerRelief`), so other initiatives of the place last longer.

**Evidence.** No figure in ``data/calibration_figures.csv`` measures it yet; TV Syd (2018)
reports that citizen shops create cohesion ("Borgerbutikker skaber sammenhængskraft") in
Daugård, qualitatively. The gain (0.5 standard-score units), the fatigue relief (0.05 a
year) and the volunteer hours (300 a year: board, bookings, upkeep) are assumptions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..effects import Effect, ScoreBoost, VolunteerRelief
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

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """Community score plus the gain; the volunteers' fatigue relieved."""
        places = self.places[i]
        return [ScoreBoost(places=places, score="community", delta=self.settings.community_gain),
                VolunteerRelief(places=places, amount=self.settings.fatigue_relief)]
