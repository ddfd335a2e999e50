"""Health outreach: a mobile clinic, visiting nurse-led clinic or telemedicine.

**Mechanism.** A clinic that visits the place on fixed days, or a village health post with
video consultations, brings a doctor within reach without a practice in the place. While it
runs, the place's distance to a doctor counts as at most ``access_km``
(:class:`sim.effects.ServiceReach`; the distance used is the smallest of this, any other
declared reach and the nearest open practice). Only the
doctor distance changes; by the default weights it matters most to seniors (0.4) and a
little to families and adults (0.1). The practices' catchments are not changed.

**Evidence** (ids of ``data/evidence_figures.csv``). No figure measures the effect on doctor
access; the effective distance (5 km, as if a practice were in the next village; 3-10) and
the volunteer hours (none: run by the region or the municipality) are assumptions. *Costs:*
Region Hovedstaden's mobile clinic, an electric car with clinic equipment, costs DKK 600,000
(Dagens Medicin c. 2023, health-01); shared by an assumed 5 villages (3-10) that is DKK
120,000 per place (60,000-200,000). Its staffing cost was not found: yearly DKK 200,000 per
place (100,000-500,000) is an assumption.
"""

from __future__ import annotations

import numpy as np

from ..costs import KindCosts
from ..effects import Effect, ServiceReach
from ..ranges import Plausible, magnitude
from .base import Initiative, InitiativeSettings, register_initiative


class HealthOutreachSettings(InitiativeSettings):
    """Settings of health outreach."""

    access_km: float = magnitude(
        5.0, 3.0, 10.0, "assumption", "assumption: distance to a doctor the place counts as "
        "having (km)", ge=0.0, le=30.0)


@register_initiative("health_outreach")
class HealthOutreach(Initiative):
    """Health outreach: shortens the doctor distance of the targeted places."""

    Settings = HealthOutreachSettings
    COSTS = KindCosts(
        start=Plausible(60_000.0, 120_000.0, 200_000.0, "evidence: health-01 (DKK 600,000 a "
                        "car) / assumed 3-10 villages a car"),
        yearly=Plausible(100_000.0, 200_000.0, 500_000.0, "assumption (staffing not found)"))

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """A doctor counts as reachable within ``access_km`` of the places."""
        return [ServiceReach(places=self.places[i], kind="doctor", km=self.settings.access_km)]
