"""Nature project: restoration, trails and nature tourism.

**Mechanism.** Rewetting, a nature park, trails and shelters make the surroundings more
attractive to live in. While it runs, the place's nature score (standardised openness of its
parish) is raised by ``nature_gain`` standard-score units (:class:`sim.effects.ScoreBoost`;
boosts add up), valued by every segment through the nature weight. Visitors' spending is not
modelled.

**Evidence** (ids of ``data/evidence_figures.csv``; ``data/calibration_figures.csv``): 35% of
Danes can to a high or very high degree imagine living in the countryside (Bolius, c. 2020),
a latent demand that nature amenities may draw on; no figure on an effect on settlement was
found. Naturstyrelsen's "Spor i landskabet" made 350 trails for DKK 10.6 million and 94,500
volunteer hours (about DKK 30,300 and 270 hours a trail, derived; nature-01); Friluftsrådet
gave DKK 850,000-1,100,000 to single naturpark projects (nature-03). Start cost DKK 300,000
(30,000-1,100,000, the ends from these figures, the centre an assumption); upkeep was not
found: yearly 20,000 (0-100,000), an assumption. The gain (0.5, 0.1-1.0 standard-score units)
and the volunteer hours (200, 100-400 a year: trail upkeep, guided walks; a new trail took
270 hours to make) are assumptions.
"""

from __future__ import annotations

import numpy as np

from ..costs import KindCosts
from ..effects import Effect, ScoreBoost
from ..ranges import Plausible, magnitude
from .base import Initiative, InitiativeSettings, register_initiative


class NatureProjectSettings(InitiativeSettings):
    """Settings of a nature project."""

    nature_gain: float = magnitude(
        0.5, 0.1, 1.0, "assumption", "assumption: rise of the nature score (standard-score "
        "units) while active", ge=0.0, le=3.0)
    volunteer_hours: float = magnitude(
        200.0, 100.0, 400.0, "assumption (nature-01: 270 hours to make a trail)",
        "assumption: volunteer hours a year per place", ge=0.0)


@register_initiative("nature_project")
class NatureProject(Initiative):
    """Nature project: raises the nature score of the targeted places."""

    Settings = NatureProjectSettings
    COSTS = KindCosts(
        start=Plausible(30_000.0, 300_000.0, 1_100_000.0, "evidence: nature-01, nature-03 "
                        "(centre an assumption)"),
        yearly=Plausible(0.0, 20_000.0, 100_000.0, "assumption (upkeep not found)"))

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """Nature score of the places plus the gain."""
        return [ScoreBoost(places=self.places[i], score="nature", delta=self.settings.nature_gain)]
