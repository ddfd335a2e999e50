"""Village school kept or founded by parents (friskole, landsbyordning).

**Mechanism.** When the municipality closes a small school, parents often found a free
school (friskole) in the building, or run the old one with volunteer help. The school then
survives on fewer pupils than the municipal threshold: its viability threshold is the school
threshold (pupils aged 6-15 in the catchment) times a factor. If the village lacks an open
school in the start year one opens; if it has one, the parents take it over (its threshold
is lowered). The school fails when its catchment has stayed under the lowered threshold for
the closure years (too few pupils), or when the parents' volunteer hours are not available
for ``fail_years`` years running; then it closes.

**The factor from the law.** A free school gets the state grant only with at least 32 pupils
in grades 0-7 (Friskoleloven § 19, school-01). Grades 0-7 are about 8 of the 10 school ages
6-15 of the catchment, so the school needs ``min_pupils / (0.8 x attendance)`` pupils aged
6-15 in its catchment, i.e. the factor ``min_pupils / (0.8 x attendance x threshold)`` (0.40
with the default threshold of 100 when every pupil of the catchment attends; capped at 1).
``attendance`` (1, 0.67-1) is an assumption: the share of the catchment's pupils who go to
the school. ``threshold_factor`` replaces the derived factor when given.

**Evidence** (ids of ``data/evidence_figures.csv``; ``data/calibration_figures.csv``): 121
towns lost their only folkeskole 2007-17, 76 of them under 500 inhabitants (KL, school-05);
94% of estate agents surveyed said a school closure has a large impact on house prices
(dagens.dk). *Costs:* a deposit of DKK 20,000 with the application (uvm.dk, school-04) is the
start cost; buildings were not found (up to DKK 2 million, an assumption, where the
municipality's building is not taken over). The state grant was DKK 51,738 a pupil-year in
2020 (Danmarks Friskoleforening, school-02), DKK 1.66 million for the minimum of 32 pupils
(derived). The grant follows the pupil, so what the school costs beyond schooling its
pupils elsewhere lies between 0 and that sum: yearly 830,000 (0-1,660,000), the centre an
assumption. The volunteer hours (1,000, 500-2,000 a year: board, maintenance, events) are
an assumption.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..costs import KindCosts
from ..effects import Effect, ServiceUnit
from ..params import SERVICE_KINDS
from ..ranges import Plausible, magnitude
from .base import Initiative, InitiativeSettings, register_initiative

SCHOOL = SERVICE_KINDS.index("school")
#: Share of the catchment's school ages (6-15) in grades 0-7.
GRADES_0_7 = 0.8


class VillageSchoolSettings(InitiativeSettings):
    """Settings of a parent-run village school."""

    min_pupils: int = Field(32, ge=1, le=1000, description="pupils in grades 0-7 the school "
                            "needs for the state grant (Friskoleloven § 19, school-01)")
    attendance: float = magnitude(
        1.0, 0.67, 1.0, "assumption", "assumption: share of the catchment's pupils who attend "
        "the school", gt=0.0, le=1.0)
    threshold_factor: float | None = Field(
        None, gt=0.0, le=1.0, description="share of the municipal viability threshold the "
        "school needs (default: derived from min_pupils and attendance)")
    volunteer_hours: float = magnitude(
        1000.0, 500.0, 2000.0, "assumption", "assumption: parents' volunteer hours a year per "
        "school", ge=0.0)

    def factor(self, threshold: float) -> float:
        """The school's threshold factor for the municipal ``threshold`` (pupils 6-15)."""
        if self.threshold_factor is not None:
            return self.threshold_factor
        return min(1.0, self.min_pupils / (GRADES_0_7 * self.attendance * max(threshold, 1.0)))


@register_initiative("village_school")
class VillageSchool(Initiative):
    """Parent-run village school: keeps a school open on fewer pupils."""

    Settings = VillageSchoolSettings
    COSTS = KindCosts(
        start=Plausible(20_000.0, 20_000.0, 2_000_000.0, "evidence: school-04 (buildings: "
                        "assumption)"),
        yearly=Plausible(0.0, 830_000.0, 1_660_000.0, "derived: school-01 x school-02 (centre "
                         "an assumption)"))

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """Hold a school open in the places, viable on the lowered threshold."""
        thr = view.params.services.viability_threshold[SCHOOL]
        return [ServiceUnit(places=self.places[i], kind="school",
                            factor=self.settings.factor(thr))]

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
