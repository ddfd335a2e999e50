"""Citizen-run cooperative grocer (borgerdrevet købmand).

**Mechanism.** Citizens raise share capital and give volunteer hours so that a village keeps
or regains a grocery shop. The shop survives on a lower customer base than a commercial shop:
its viability threshold is the grocer threshold times ``threshold_factor``. If the village
lacks an open grocer in the start year, one opens; if it has one, the community takes it over
(its threshold is lowered). The shop fails when its catchment stays under the lowered
threshold for the closure years (turnover too low), or when the volunteer hours it needs are
not available for ``fail_years`` years running.

**Types.** A: the community owns the building and a grocer rents it; B: the community runs it
with a chain (e.g. Dagrofa's Min Købmand); C: volunteers run it. Threshold factors (low /
central / high, assumptions): A 0.6 / 0.7 / 0.85, B 0.35 / 0.5 / 0.7, C 0.25 / 0.35 / 0.5.
Volunteer hours a year: A 100 / 200 / 400 (board, building), B 400 / 800 / 1,500 (board,
cleaning, errands, events, as in Sparkær, coop-10), C 2,000 / 3,000 / 5,000 (assumption
derived from opening hours: one volunteer on every shift of a shop open 6-8 hours a day, 6-7
days a week is 1,900-2,900 hours, plus stocking and accounts).

**Evidence** (ids of ``data/evidence_figures.csv``; ``data/calibration_figures.csv``).
*Survival:* over 100 villages financed their own shop in seven years and 3 had closed (DR,
c. 2023, quoting T. Gandrup, CLF/SDU; coop-04): with openings spread evenly over the seven
years that is 3 closures in about 350 shop-years, 0.9% a year (derived; 0.4-1.7% if the
shops are on average 7 or 1.75 years old). ``benchmarks``/``experiments`` compare the
model's closure rate of coop shops with it; it bears on ``threshold_factor``. *Where:*
Dagrofa pledged shops in towns of at least 600 inhabitants lacking one (sn.dk / Ritzau 2021,
coop-07); the Min Købmand format suits villages of about 500 (Kristeligt Dagblad 2019).
*Costs per shop* (start): citizen capital DKK 900,000 from 500 shareholders in Daugård
(TV Syd 2018, coop-09) and DKK 1.2 million from 400 shares in Veflinge (DR, coop-04), plus a
grant of up to DKK 600,000 from Dagrofa's village pool (dagligvarehandlen.dk 2023, a trade-
press interview, coop-01) or the state's matching pool (DKK 100,000-600,000, Bolig- og
Planstyrelsen, coop-02; the two are not added): 0.9 / 1.5 / 1.8 million for types A and B.
A volunteer-run shop (C) is assumed smaller: 0.2 / 0.5 / 0.9 million. Running deficits were
not found: yearly 0 / 0 / 100,000 (assumption: the shop lives on its turnover).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..costs import KindCosts
from ..effects import Effect, ServiceUnit
from ..ranges import Plausible
from .base import Initiative, InitiativeSettings, register_initiative

#: Threshold factor by type (low, central, high), assumptions.
TYPE_FACTOR = {"A": Plausible(0.6, 0.7, 0.85, "assumption"),
               "B": Plausible(0.35, 0.5, 0.7, "assumption"),
               "C": Plausible(0.25, 0.35, 0.5, "assumption")}
#: Volunteer hours a year by type (low, central, high), assumptions.
TYPE_HOURS = {"A": Plausible(100.0, 200.0, 400.0, "assumption"),
              "B": Plausible(400.0, 800.0, 1500.0, "assumption (tasks: coop-10)"),
              "C": Plausible(2000.0, 3000.0, 5000.0,
                             "assumption (derived from assumed opening hours)")}
_CAPITAL = Plausible(900_000.0, 1_500_000.0, 1_800_000.0, "evidence: coop-09, coop-04, coop-01,"
                     " coop-02")
#: Start cost by type (DKK per shop).
TYPE_START = {"A": _CAPITAL, "B": _CAPITAL,
              "C": Plausible(200_000.0, 500_000.0, 900_000.0, "assumption")}
YEARLY = Plausible(0.0, 0.0, 100_000.0, "assumption (running deficits not found)")


class CoopGrocerSettings(InitiativeSettings):
    """Settings of a cooperative grocer."""

    type: Literal["A", "B", "C"] = Field("B", description="A: community owns the building, "
                                         "B: run with a chain, C: volunteer-run")
    threshold_factor: float | None = Field(
        None, gt=0.0, le=1.0, description="assumption: share of the commercial viability "
        "threshold the shop needs (default by type: A 0.7, B 0.5, C 0.35; ranges in the "
        "module docstring)")
    volunteer_hours: float | None = Field(  # type: ignore[assignment]
        None, ge=0.0, description="assumption: volunteer hours a year (default by type: "
        "A 200, B 800, C 3,000)")

    def factor(self) -> float:
        """The shop's threshold factor (the setting, else the type's default)."""
        return self.threshold_factor if self.threshold_factor is not None else \
            TYPE_FACTOR[self.type].central

    def required_hours(self) -> float:
        """Volunteer hours a year (the setting, else the type's default)."""
        return self.volunteer_hours if self.volunteer_hours is not None else \
            TYPE_HOURS[self.type].central

    def ranges(self) -> dict[str, Plausible]:
        """The type's ranges of the threshold factor and the volunteer hours."""
        return {**super().ranges(), "threshold_factor": TYPE_FACTOR[self.type],
                "volunteer_hours": TYPE_HOURS[self.type]}


@register_initiative("coop_grocer")
class CoopGrocer(Initiative):
    """Citizen-run cooperative grocer: keeps a shop open on a lower customer base."""

    Settings = CoopGrocerSettings
    COSTS = KindCosts(start=TYPE_START["B"], yearly=YEARLY)

    @classmethod
    def kind_costs(cls, settings: CoopGrocerSettings) -> KindCosts:
        """Start cost by type; yearly cost the same for all types."""
        return KindCosts(start=TYPE_START[settings.type], yearly=YEARLY)

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
