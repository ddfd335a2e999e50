"""Nature project: restoration, trails and nature tourism.

**Mechanism.** Rewetting, a nature park, trails and shelters make the surroundings more
attractive to live in. While it runs, the place's nature score (standardised openness of its
parish) is raised by ``nature_gain`` standard-score units (:class:`sim.effects.ScoreBoost`;
boosts add up), valued by every segment through the nature weight. Visitors' spending is not
modelled.

**Evidence** (``data/calibration_figures.csv``): 35% of Danes can to a high or very high
degree imagine living in the countryside (Bolius, c. 2020), a latent demand that nature
amenities may draw on. The gain (0.5 standard-score units) and the volunteer hours (200 a
year: trail upkeep, guided walks) are assumptions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..effects import Effect, ScoreBoost
from .base import Initiative, InitiativeSettings, register_initiative


class NatureProjectSettings(InitiativeSettings):
    """Settings of a nature project."""

    nature_gain: float = Field(
        0.5, ge=0.0, le=3.0, description="assumption: rise of the nature score "
        "(standard-score units) while active")
    volunteer_hours: float = Field(
        200.0, ge=0.0, description="assumption: volunteer hours a year per place")


@register_initiative("nature_project")
class NatureProject(Initiative):
    """Nature project: raises the nature score of the targeted places."""

    Settings = NatureProjectSettings

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """Nature score of the places plus the gain."""
        return [ScoreBoost(places=self.places[i], score="nature", delta=self.settings.nature_gain)]
