"""Health outreach: a mobile clinic, visiting nurse-led clinic or telemedicine.

**Mechanism.** A clinic that visits the place on fixed days, or a village health post with
video consultations, brings a doctor within reach without a practice in the place. While it
runs, the place's distance to a doctor counts as at most ``access_km``
(:class:`sim.effects.ServiceReach`; the distance used is the smallest of this, any other
declared reach and the nearest open practice). Only the
doctor distance changes; by the default weights it matters most to seniors (0.4) and a
little to families and adults (0.1). The practices' catchments are not changed.

**Evidence.** No figure in ``data/calibration_figures.csv`` measures doctor access yet; the
effective distance (5 km, as if a practice were in the next village) and the volunteer hours
(none: run by the region or the municipality) are assumptions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..effects import Effect, ServiceReach
from .base import Initiative, InitiativeSettings, register_initiative


class HealthOutreachSettings(InitiativeSettings):
    """Settings of health outreach."""

    access_km: float = Field(
        5.0, ge=0.0, le=30.0, description="assumption: distance to a doctor the place counts "
        "as having (km)")


@register_initiative("health_outreach")
class HealthOutreach(Initiative):
    """Health outreach: shortens the doctor distance of the targeted places."""

    Settings = HealthOutreachSettings

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """A doctor counts as reachable within ``access_km`` of the places."""
        return [ServiceReach(places=self.places[i], kind="doctor", km=self.settings.access_km)]
