"""Village school kept or founded by parents (friskole, landsbyordning).

**Mechanism.** When the municipality closes a small school, parents often found a free
school (friskole) in the building, or run the old one with volunteer help. The school then
survives on fewer pupils than the commercial (municipal) threshold: its viability threshold
is the school threshold (pupils aged 6-15 in the catchment) times ``threshold_factor``. If
the village lacks an open school in the start year one opens; if it has one, the parents take
it over (its threshold is lowered). The school fails when its catchment has stayed under the
lowered threshold for the closure years (too few pupils), or when the parents' volunteer
hours are not available for ``fail_years`` years running; then it closes.

**Evidence** (``data/calibration_figures.csv``): 94% of estate agents surveyed said a school
closure has a large impact on house prices (dagens.dk, survey by Dansk Ejendomsmæglerforening
for De Samvirkende Købmænd), which is why villages fight to keep one. The threshold factor
(0.5) and the volunteer hours (1,000 a year: board, maintenance, events) are assumptions, to
be calibrated.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..effects import Effect, ServiceUnit
from ..params import SERVICE_KINDS
from .base import Initiative, InitiativeSettings, register_initiative

SCHOOL = SERVICE_KINDS.index("school")


class VillageSchoolSettings(InitiativeSettings):
    """Settings of a parent-run village school."""

    threshold_factor: float = Field(
        0.5, gt=0.0, le=1.0, description="assumption: share of the commercial viability "
        "threshold (pupils aged 6-15) the school needs")
    volunteer_hours: float = Field(
        1000.0, ge=0.0, description="assumption: parents' volunteer hours a year per school")


@register_initiative("village_school")
class VillageSchool(Initiative):
    """Parent-run village school: keeps a school open on fewer pupils."""

    Settings = VillageSchoolSettings

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """Hold a school open in the places, viable on the lowered threshold."""
        return [ServiceUnit(places=self.places[i], kind="school",
                            factor=self.settings.threshold_factor)]

    def check(self, view, i: np.ndarray, year: int) -> dict[int, str]:
        """Fail where the pupils have stayed under the lowered threshold for the closure years."""
        years = view.params.services.closure_years
        out = {}
        for j in i:
            unit = view.unit(int(self.places[j]), "school")
            if unit.row >= 0 and (not unit.open or unit.below >= years):
                need = view.params.services.viability_threshold[SCHOOL] * unit.threshold_factor
                out[int(j)] = (f"too few pupils: catchment {unit.catchment:.0f} pupils aged "
                               f"6-15 under the school's threshold of {need:.0f} for "
                               f"{years}+ years")
        return out
