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

from ..services import KINDS
from .base import Initiative, InitiativeSettings, register_initiative

SCHOOL = KINDS.index("school")


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

    def __post_init__(self) -> None:
        super().__post_init__()
        self.unit = np.full(len(self.places), -1, np.int64)

    def begin(self, model, i: int, year: int) -> None:
        """Open a school, or take over the village's open school."""
        sv = model.services
        place = int(self.places[i])
        mine = np.flatnonzero(sv.open & (sv.kind == SCHOOL) & (sv.place == place))
        factor = self.settings.threshold_factor
        if len(mine):
            self.unit[i] = mine[0]
            sv.threshold_factor[mine[0]] = factor
            sv.below[mine[0]] = 0
        else:
            self.unit[i] = sv.add(SCHOOL, np.array([place]), "initiative", year, factor)[0]

    def each_year(self, model, i: int, year: int) -> None:
        """Fail when the pupils have stayed under the lowered threshold for the closure years."""
        u = self.unit[i]
        sv = model.services
        if u < 0:
            return
        years = model.params.services.closure_years
        if not sv.open[u] or sv.below[u] >= years:
            need = model.params.services.viability_threshold[SCHOOL] * sv.threshold_factor[u]
            self.fail(model, i, year, f"too few pupils: catchment {sv.catchment[u]:.0f} "
                      f"pupils aged 6-15 under the school's threshold of {need:.0f} for "
                      f"{years}+ years")

    def stop(self, model, i: int, year: int) -> None:
        """Close the school if it is still open (pupils or volunteers gone, or end year)."""
        model.services.close(int(self.unit[i]), year)
