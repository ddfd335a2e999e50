"""Dwellings, vacancies and a house-price index per place.

Each place starts with its households' dwellings plus ``initial_vacancy_rate`` vacant ones.
After the year's moves, the price index follows demand: ``log p += elasticity *
log((q + 0.1) / 1.1)`` where ``q`` is the place's expected first-round choosers per vacancy
(:func:`sim.relocation.demand_signal`; it does not depend on the scale), plus the
second-order correction ``tau^2 / (2 (q + 0.1)^2)`` for the variance ``tau^2`` a smaller
sample adds to ``q`` (the log is concave, so without it noisier demand lowers prices on
average; ``tau^2 = 0`` at 1:1). Construction follows the expected excess demand
``(q - 1) * V`` (``V`` the vacancies before the moves; ``q`` counts every household by its
chance of moving, so it carries no noise of the year's moving draws): where ``q`` has
exceeded 1 for ``build_trigger_years`` years running, ``build_response`` times the excess is
built, at most ``build_rate`` of the stock. ``q`` is the same at every scale on average and
``(q - 1) * V`` is linear in the simulated vacancies, but the trigger and ``max(q - 1, 0)``
are convex in the noise a smaller sample still adds to ``q`` (which households it holds,
where in-migrants enter): at scale 0.05 places of 100-1,000 households build 15-23 % more
than at 1:1 (27-42 % when ``q`` counted the year's movers; docs/ODD.md 2.9;
open). (Realised first-round choices minus vacancies, ``max(A - V, 0)``, is not: its noise
is relatively larger in a smaller sample and only its positive part is built, so scale 0.05
built more, had a 9.3 % vacancy rate in 2050 against 8.6 % at 0.25 and prices 5-20 % lower
at both ends of the spread: issue 12.) Where the vacancy rate has exceeded
``derelict_vacancy`` for ``derelict_years`` years running, ``derelict_rate`` of the vacant
dwellings become derelict (leave the stock). Amounts are stochastically rounded (unbiased at
any scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import HousingParams

#: Added to the demand per vacancy (and to its neutral value 1) in the price signal: a place
#: nobody chooses falls as if it had 10 vacancies and no applicant under the count rule.
DEMAND_SMOOTHING = 0.1


@dataclass(frozen=True)
class HousingResult:
    """Dwellings built and gone derelict per place in a year (simulated scale)."""

    built: np.ndarray
    derelict: np.ndarray


@dataclass
class Housing:
    """Housing state per place (the housing stage's own state)."""

    dwellings: np.ndarray
    price: np.ndarray
    demand_years: np.ndarray
    decline_years: np.ndarray

    @classmethod
    def initial(cls, households_per_place: np.ndarray, params: HousingParams,
                rng: np.random.Generator, rates: np.ndarray | None = None) -> Housing:
        """Stock = households plus vacant dwellings at the initial vacancy rate.

        ``rates`` gives a vacancy rate per place instead (an equilibrium start).
        """
        hh = households_per_place.astype(np.int64)
        rate = params.initial_vacancy_rate if rates is None else np.asarray(rates, float)
        target = hh / (1.0 - rate) - hh
        base = np.floor(target)
        vacant = base + (rng.random(len(hh)) < target - base)
        n = len(hh)
        return cls(dwellings=(hh + vacant).astype(np.int64), price=np.ones(n),
                   demand_years=np.zeros(n, np.int16), decline_years=np.zeros(n, np.int16))

    def vacant(self, occupied: np.ndarray) -> np.ndarray:
        """Vacant dwellings given occupied ones per place (never negative)."""
        return np.maximum(self.dwellings - occupied, 0)

    def apply(self, change: np.ndarray) -> None:
        """Add the dwellings interventions declared this year (negative: demolished)."""
        if np.any(change):
            self.dwellings = self.dwellings + change

    def update(self, occupied: np.ndarray, applicants: np.ndarray, vacant_before: np.ndarray,
               params: HousingParams, rng: np.random.Generator,
               scale: float = 1.0, demand: np.ndarray | None = None,
               demand_variance: np.ndarray | None = None) -> HousingResult:
        """One year of prices, construction and dereliction (after the moves).

        Counts are simulated (at ``scale``). With ``demand`` (expected first-round choosers
        per vacancy, scale-free: :func:`sim.relocation.demand_signal` with every household
        weighted by its chance of moving; what the model passes) the price signal and
        construction follow it; without it (a plain count rule for tests and notebooks) they
        follow the full-scale counts ``applicants / scale`` and
        the realised excess ``applicants - vacant_before``. ``demand_variance`` (the variance
        the run's scale adds to ``demand`` over a 1:1 run,
        :attr:`sim.relocation.RelocationResult.demand_variance`) corrects the price signal's
        concavity to second order, ``+ variance / (2 (q + 0.1)^2)``, so that a smaller sample
        moves prices as a 1:1 run does on average (without it, and with the movers counted,
        6 % lower median prices at scale 0.05 by 2050: issue 12).
        """
        if demand is not None:
            signal = np.log((demand + DEMAND_SMOOTHING) / (1.0 + DEMAND_SMOOTHING))
            if demand_variance is not None:
                signal = signal + 0.5 * demand_variance / (demand + DEMAND_SMOOTHING) ** 2
            excess = demand > 1.0
            excess_demand = np.maximum(demand - 1.0, 0.0) * vacant_before
        else:
            signal = np.log((applicants / scale + 1.0) / (vacant_before / scale + 1.0))
            excess = applicants > vacant_before
            excess_demand = np.maximum(applicants - vacant_before, 0)
        self.price *= np.exp(params.price_elasticity * signal)
        self.price = np.clip(self.price, 0.2, 5.0)
        self.demand_years = np.where(excess, self.demand_years + 1, 0).astype(np.int16)
        grow = self.demand_years >= params.build_trigger_years
        target = np.minimum(params.build_response * excess_demand,
                            params.build_rate * self.dwellings) * grow
        new = np.floor(target) + (rng.random(len(target)) < target - np.floor(target))
        vac = self.vacant(occupied)
        rate = vac / np.maximum(self.dwellings, 1)
        declining = rate > params.derelict_vacancy
        self.decline_years = np.where(declining, self.decline_years + 1, 0).astype(np.int16)
        lose_t = params.derelict_rate * vac * (self.decline_years >= params.derelict_years)
        lose = np.floor(lose_t) + (rng.random(len(lose_t)) < lose_t - np.floor(lose_t))
        built = new.astype(np.int64)
        derelict = np.minimum(lose, vac).astype(np.int64)
        self.dwellings = self.dwellings + built - derelict
        return HousingResult(built=built, derelict=derelict)
