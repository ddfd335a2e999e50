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

from ..effects import Effect, ServiceUnit
from .base import Initiative, InitiativeSettings, register_initiative

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

    def factor(self) -> float:
        """The shop's threshold factor (the setting, else the type's default)."""
        return self.threshold_factor if self.threshold_factor is not None else \
            TYPE_FACTOR[self.type]

    def required_hours(self) -> float:
        """Volunteer hours a year (the setting, else the type's default)."""
        return self.volunteer_hours if self.volunteer_hours is not None else \
            TYPE_HOURS[self.type]


@register_initiative("coop_grocer")
class CoopGrocer(Initiative):
    """Citizen-run cooperative grocer: keeps a shop open on a lower customer base."""

    Settings = CoopGrocerSettings

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """Hold a grocer open in the places, viable on the coop's threshold factor."""
        return [ServiceUnit(places=self.places[i], kind="grocer",
                            factor=self.settings.factor())]

    def check(self, view, i: np.ndarray, year: int) -> dict[int, str]:
        """Fail where the shop has closed for lack of customers."""
        out = {}
        for j in i:
            unit = view.unit(int(self.places[j]), "grocer")
            if unit.row >= 0 and not unit.open:
                out[int(j)] = (f"turnover too low: catchment {unit.catchment:.0f} under the "
                               f"coop threshold for {view.params.services.closure_years}+ "
                               "years")
        return out
