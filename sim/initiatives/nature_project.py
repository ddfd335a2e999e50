"""Nature project: restoration, trails and nature tourism.

**Mechanism.** Rewetting, a nature park, trails and shelters make the surroundings more
attractive to live in. From the start year the place's nature score (``model.nature``,
standardised openness of its parish) is raised by ``nature_gain`` standard-score units,
valued by every segment through the nature weight (young 0.1, others 0.3 by default);
``stop`` takes the gain back. Visitors' spending is not modelled.

**Evidence** (``data/calibration_figures.csv``): 35% of Danes can to a high or very high
degree imagine living in the countryside (Bolius, c. 2020), a latent demand that nature
amenities may draw on. The gain (0.5 standard-score units) and the volunteer hours (200 a
year: trail upkeep, guided walks) are assumptions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

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

    def __post_init__(self) -> None:
        super().__post_init__()
        self.added = np.zeros(len(self.places))

    def begin(self, model, i: int, year: int) -> None:
        """Raise the nature score of place ``i``."""
        self.added[i] = self.settings.nature_gain
        model.nature[int(self.places[i])] += self.added[i]

    def stop(self, model, i: int, year: int) -> None:
        """Take the nature gain back."""
        model.nature[int(self.places[i])] -= self.added[i]
        self.added[i] = 0.0
