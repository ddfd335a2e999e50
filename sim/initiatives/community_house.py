"""Community house and associations (forsamlingshus, borgerforening, idrætsforening).

**Mechanism.** A village hall with active associations makes the place a better place to
live and builds its volunteering. While it runs:

- the place's community score (standardised: community facilities per inhabitant) is
  raised by ``community_gain`` standard-score units (:class:`sim.effects.ScoreBoost`),
  valued by every segment through the community weight;
- a share ``recruitment`` of the place's non-volunteers (every age band) joins the
  volunteers at the next renewal of the capacity (:class:`sim.effects.VolunteerRecruitment`;
  see :mod:`sim.community`), so the place has more hours for every initiative;
- its volunteers' fatigue falls by ``fatigue_relief`` at the next renewal
  (:class:`sim.effects.VolunteerRelief`), so heavy use wears them out less.

It claims its own ``volunteer_hours`` (board, bookings, upkeep) from the same pool.

**Evidence** (ids of ``data/evidence_figures.csv``). About 1,300 forsamlingshuse, 50 closed
in ten years, run on "many volunteer hours" (Landsbyerne i Danmark c. 2013, hall-01,
qualitative). 36% of non-volunteers say they would volunteer if asked (CFSA Frivilligrapport
2016-18 via DR, vol-15): the upper end of ``recruitment`` (central 0.1, low 0.05,
assumptions). *Costs:* LAG grants go to projects of at least DKK 100,000 (livogland.dk,
hall-03) and the state's village pool gave DKK 588,805 for one hall's new roof (hall-04):
start 500,000 (100,000-1,000,000, assumption within these); municipalities that support a
hall give DKK 15,000-20,000 a year (TV2 Østjylland 2022, hall-02): yearly 17,500
(15,000-50,000, the upper end an assumption for years of high energy prices, hall-02's
example). The community gain (0.5, 0.1-1.0 standard-score units), the fatigue relief (0.05,
0-0.1 a year) and the volunteer hours (300, 150-1,000 a year) are assumptions.
"""

from __future__ import annotations

import numpy as np

from ..costs import KindCosts
from ..effects import Effect, ScoreBoost, VolunteerRecruitment, VolunteerRelief
from ..ranges import Plausible, magnitude
from .base import Initiative, InitiativeSettings, register_initiative


class CommunityHouseSettings(InitiativeSettings):
    """Settings of a community house."""

    community_gain: float = magnitude(
        0.5, 0.1, 1.0, "assumption", "assumption: rise of the community score "
        "(standard-score units) while active", ge=0.0, le=3.0)
    recruitment: float = magnitude(
        0.1, 0.05, 0.36, "assumption (upper end: vol-15)", "assumption: share of the place's "
        "non-volunteers who join while it is active", ge=0.0, le=1.0)
    fatigue_relief: float = magnitude(
        0.05, 0.0, 0.1, "assumption", "assumption: yearly fall of the place's volunteer "
        "fatigue (share of capacity, 0..0.9)", ge=0.0, le=0.9)
    volunteer_hours: float = magnitude(
        300.0, 150.0, 1000.0, "assumption", "assumption: volunteer hours a year per place",
        ge=0.0)


@register_initiative("community_house")
class CommunityHouse(Initiative):
    """Community house: raises the community score and builds volunteer capacity."""

    Settings = CommunityHouseSettings
    COSTS = KindCosts(
        start=Plausible(100_000.0, 500_000.0, 1_000_000.0, "assumption (hall-03, hall-04)"),
        yearly=Plausible(15_000.0, 17_500.0, 50_000.0, "evidence: hall-02 (upper end "
                         "assumption)"))

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """Community score plus the gain; volunteers recruited and their fatigue relieved."""
        places = self.places[i]
        s = self.settings
        return [ScoreBoost(places=places, score="community", delta=s.community_gain),
                VolunteerRecruitment(places=places, share=s.recruitment),
                VolunteerRelief(places=places, amount=s.fatigue_relief)]
