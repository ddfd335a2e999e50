"""Car sharing (delebil): a shared fleet gives car-less households part of a car's reach.

**Mechanism.** A car-sharing association keeps ``cars`` cars that its member households
book by the hour. Car-less households in the targeted places then reach jobs, shops and
services almost as car households do, for part of their trips. The fleet has room for
``cars x members_per_car`` member households; where the place has more car-less households
than that, only that share of them can join. The initiative declares a car-access effect
(:class:`sim.effects.CarAccess`) with share

    access_share x min(1, cars x members_per_car / car-less households of the place)

(full-scale households, this year), so that for every car-less segment ``s`` and targeted
place ``j``::

    V[s, j] += share * max(V[s', j] - V[s, j], 0)

where ``s'`` is the same segment with a car (two schemes in one place: the larger share
counts). Only the car advantage is shared (where the bus already makes a place better
without a car, nothing is taken away), and households with a car are unaffected (their
members who give up a second car, as ProjectZero reports, are not modelled).

**Evidence** (ids of ``data/evidence_figures.csv``; ``data/calibration_figures.csv``).
*Members per car:* 30 users and 3 cars in Byens Bil around Feldballe (TV2 Østjylland 2019,
calibration figures), about 155 members and 15 cars in Munksøgård (Andelsbolig Nyt), about 62
members and 13 cars in Lyngby Delebil (4.8 a car, car-07), 169 households and 15 cars in
LetsGo Aarhus (11.3 a car, the operator's press release, car-06): ``members_per_car`` 10
(4.8-11.3). *Costs:* a charging point DKK 50,000-70,000 paid by Favrskov municipality
(car-02; the start cost, per scheme; up to about DKK 182,000 in Gammel Rye, where the
municipal village pool gave over 91,000 and Coop the same, car-08); the Mols village car
cost about DKK 30,000 a year beyond its users' rental (Landsbyklynger.dk 2018, car-04), an
electric shared car costs DKK 6,000 a month excl. VAT whatever its use (Favrskov, car-01):
yearly DKK 30,000 (30,000-72,000) per car. The share of the car advantage gained
(``access_share`` 0.5, 0.25-0.75) and the volunteer hours (100, 50-300 a year: bookings,
cleaning, accounts) are assumptions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..costs import KindCosts
from ..effects import CarAccess, Effect
from ..ranges import Plausible, magnitude
from .base import Initiative, InitiativeSettings, register_initiative

START = Plausible(50_000.0, 60_000.0, 182_000.0, "evidence: car-02, car-08")
PER_CAR = Plausible(30_000.0, 30_000.0, 72_000.0, "evidence: car-04, car-01")


class CarSharingSettings(InitiativeSettings):
    """Settings of a car-sharing association."""

    cars: int = Field(3, ge=1, le=100, description="shared cars per place (Feldballe: 3)")
    members_per_car: float = magnitude(
        10.0, 4.8, 11.3, "evidence: car-06, car-07, calibration_figures Feldballe and "
        "Munksøgård", "member households per shared car", gt=0.0, le=100.0)
    access_share: float = magnitude(
        0.5, 0.25, 0.75, "assumption", "assumption: share of the car households' value "
        "advantage that car-less member households gain", ge=0.0, le=1.0)
    volunteer_hours: float = magnitude(
        100.0, 50.0, 300.0, "assumption", "assumption: volunteer hours a year per place "
        "(bookings, cleaning, accounts)", ge=0.0)


@register_initiative("car_sharing")
class CarSharing(Initiative):
    """Car sharing: car-less households in the places gain part of the car households' value."""

    Settings = CarSharingSettings
    COSTS = KindCosts(start=START, yearly=PER_CAR.scaled(3))

    @classmethod
    def kind_costs(cls, settings: CarSharingSettings) -> KindCosts:
        """The charging point once; the yearly cost per car."""
        return KindCosts(start=START, yearly=PER_CAR.scaled(settings.cars))

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """Car-less households gain ``access_share`` x the fleet's coverage of the advantage."""
        s = self.settings
        out: list[Effect] = []
        places = self.places[i]
        carless = np.asarray(view.carless, float)[places] / view.params.scale
        cover = np.minimum(1.0, s.cars * s.members_per_car / np.maximum(carless, 1.0))
        for share in np.unique(np.round(s.access_share * cover, 6)):
            out.append(CarAccess(places=places[np.round(s.access_share * cover, 6) == share],
                                 share=float(share)))
        return out
