"""Citizen-run cooperative grocer (borgerdrevet købmand).

**Mechanism.** Citizens raise share capital and give volunteer hours so that a village keeps
or regains a grocery shop. The shop survives on a lower customer base than a commercial shop:
its viability threshold is the grocer threshold times ``threshold_factor``. If the village
lacks an open grocer in the start year, one opens; if it has one, the community takes it over
(its threshold is lowered). The shop fails when its catchment stays under the lowered
threshold for the closure years (turnover too low), or when the volunteer hours it needs are
not available for ``fail_years`` years running. On top of these, an open shop closes with a
yearly probability ``closure_hazard`` for causes the model does not represent (volunteers or
board members wearing out, a manager leaving, a failed handover): every year after its first,
at the start of the year, before its effects are declared. The draw is keyed by the place
and the year (:data:`sim.rng.COOP_CLOSURE`), so the same shop closes in the same year in every
arm that has it, whatever else differs. A shop closed this way fails like the others: it
declares nothing more and the services stage closes its unit.

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
shops are on average 7 or 1.75 years old). ``closure_hazard`` is that rate (0.004 / 0.009 /
0.017; derived, estimated: the assumption is the shops' ages). It counts closures of every
cause, so the model's closures for lack of customers or volunteers come on top of it
(``experiments/villages_evidence.py`` reports the model's closures of coop shops by cause
against it; they bear on ``threshold_factor``). *Where:*
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
from ..ranges import Plausible, magnitude
from ..rng import COOP_CLOSURE
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
#: Yearly closure hazard for causes outside the model (low, central, high), derived from
#: coop-04: 3 of over 100 shops opened in seven years had closed. With openings spread evenly
#: the shops are 3.5 years old on average, 3 closures in about 100 x 3.5 = 350 shop-years,
#: 0.9% a year; if they were on average 7 or 1.75 years old, 3 / 700 = 0.4% or 3 / 175 = 1.7%.
CLOSURE_HAZARD = Plausible(0.004, 0.009, 0.017,
                           "derived from evidence coop-04 (estimated): 3 closures in about "
                           "350 shop-years (openings spread evenly over seven years); range: "
                           "shops on average 7 or 1.75 years old")
#: How the reason of a hazard closure begins (reports tell it from "turnover too low").
HAZARD_REASON = "closure hazard"


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
    closure_hazard: float = magnitude(
        CLOSURE_HAZARD.central, CLOSURE_HAZARD.low, CLOSURE_HAZARD.high, CLOSURE_HAZARD.basis,
        "derived from evidence coop-04 (estimated): yearly probability that an open shop "
        "closes for causes the model does not represent (turnover of volunteers, burnout, a "
        "manager leaving); 3 closures in about 350 shop-years = 0.9%, 0.4-1.7% if the shops "
        "are on average 7 or 1.75 years old", ge=0.0, le=1.0)

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
        """Fail where the shop has closed for lack of customers, or closes by the hazard.

        A shop open since an earlier year (its unit held and open) closes with probability
        ``closure_hazard``: the keyed uniform of :data:`sim.rng.COOP_CLOSURE` for the place (its
        ``place_id``) in ``year`` is below it. Its reason starts with :data:`HAZARD_REASON`.
        """
        out: dict[int, str] = {}
        hazard = float(self.settings.closure_hazard)
        running = []
        for j in i:
            unit = view.unit(int(self.places[j]), "grocer")
            if unit.row >= 0 and not unit.open:
                out[int(j)] = (f"turnover too low: catchment {unit.catchment:.0f} under the "
                               f"coop threshold for {view.params.services.closure_years}+ "
                               "years")
            elif unit.row >= 0:
                running.append(int(j))
        if hazard > 0 and running:
            # a place's index is its place_id, fixed by the world: the same in every arm
            u = view.streams.uniform(COOP_CLOSURE, self.places[running], year)
            for j, uj in zip(running, u, strict=True):
                if uj < hazard:
                    out[j] = (f"{HAZARD_REASON}: closed for causes the model does not "
                              f"represent (volunteers or managers leaving; {hazard:.1%} a "
                              "year, coop-04)")
        return out
