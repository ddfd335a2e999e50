"""Citizen-run cooperative grocer (borgerdrevet købmand).

**Mechanism.** Citizens raise share capital and give volunteer hours so that a village keeps
or regains a grocery shop. The shop survives on a lower customer base than a commercial shop:
its viability threshold is the grocer threshold times ``threshold_factor``. If the village
lacks an open grocer in the start year, one opens; if it has one, the community takes it over
(its threshold is lowered). The shop fails when its catchment stays under the lowered
threshold for the closure years (turnover too low), or when the volunteer hours it needs are
not available for ``fail_years`` years running.

**Types.** A: the community owns the building and a grocer rents it; B: the community runs it
with a chain (e.g. Dagrofa's Min Købmand); C: volunteers run it. Defaults (assumptions, to be
calibrated): threshold factors 0.7 / 0.5 / 0.35 and volunteer hours 200 / 800 / 2,500 a year.

**Evidence** (``data/calibration_figures.csv``): Dagrofa pledged shops in towns of at least
600 inhabitants lacking one, with local support (2021); the Min Købmand format suits villages
of about 500 (2019); over 100 villages financed their own shop in seven years and only 3 such
shops had closed (DR, c. 2023); Min Købmand Daugård raised DKK 900,000 from 500 shareholders.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..services import KINDS
from .base import Initiative, InitiativeSettings, register_initiative

GROCER = KINDS.index("grocer")
TYPE_FACTOR = {"A": 0.7, "B": 0.5, "C": 0.35}
TYPE_HOURS = {"A": 200.0, "B": 800.0, "C": 2500.0}


class CoopGrocerSettings(InitiativeSettings):
    """Settings of a cooperative grocer."""

    type: Literal["A", "B", "C"] = Field("B", description="A: community owns the building, "
                                         "B: run with a chain, C: volunteer-run")
    threshold_factor: float | None = Field(
        None, gt=0.0, le=1.0, description="share of the commercial viability threshold the "
        "shop needs (default by type: A 0.7, B 0.5, C 0.35)")
    volunteer_hours: float | None = Field(  # type: ignore[assignment]
        None, ge=0.0, description="volunteer hours a year (default by type: A 200, B 800, "
        "C 2,500)")


@register_initiative("coop_grocer")
class CoopGrocer(Initiative):
    """Citizen-run cooperative grocer: keeps a shop open on a lower customer base."""

    Settings = CoopGrocerSettings

    def __post_init__(self) -> None:
        super().__post_init__()
        s = self.settings
        self.factor = s.threshold_factor if s.threshold_factor is not None else \
            TYPE_FACTOR[s.type]
        if s.volunteer_hours is None:
            self.settings = s.model_copy(update={"volunteer_hours": TYPE_HOURS[s.type]})
        self.unit = np.full(len(self.places), -1, np.int64)

    def begin(self, model, i: int, year: int) -> None:
        """Open a coop shop, or take over the village's open grocer."""
        sv = model.services
        place = int(self.places[i])
        mine = np.flatnonzero(sv.open & (sv.kind == GROCER) & (sv.place == place))
        if len(mine):
            self.unit[i] = mine[0]
            sv.threshold_factor[mine[0]] = self.factor
            sv.below[mine[0]] = 0
        else:
            self.unit[i] = sv.add(GROCER, np.array([place]), "initiative", year, self.factor)[0]

    def each_year(self, model, i: int, year: int) -> None:
        """Fail when the shop has closed for lack of customers."""
        u = self.unit[i]
        if u >= 0 and not model.services.open[u]:
            self.fail(model, i, year, "turnover too low: catchment "
                      f"{model.services.catchment[u]:.0f} under the coop threshold for "
                      f"{model.params.services.closure_years}+ years")

    def stop(self, model, i: int, year: int) -> None:
        """Close the shop if it is still open (volunteers gone or end year)."""
        model.services.close(int(self.unit[i]), year)
