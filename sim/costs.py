"""What initiatives cost, and what each million kroner buys.

**Costs.** Every kind declares its costs per targeted place (``Initiative.costs``, a
:class:`KindCosts` of plausible ranges, each with its source or marked as an assumption):
a **start** cost paid once, in the start year, a **yearly** cost for every year the
initiative is active in the place, and a yearly cost **per resident** of the place (e.g. a
subsidy per trip). Kinds whose costs depend on their settings scale them (per car, per
dwelling). A scenario item's ``costs`` table overrides any of the three (the old
``budget_dkk`` means the start cost). Costs are what the initiative needs from the public,
foundations, chains and citizens beyond what its users pay; they are not discounted.

An initiative is active in a place from its start year until the year before it fails or
ends there (or the last simulated year), so a shop that fails stops costing from the year it
fails; its start cost is spent anyway.

**Per million kroner.** For each seed, the difference between scenario and baseline (same
seed) in an outcome is divided by the difference in cost (in DKK million); the mean over
seeds and its 95% t-interval are reported (:func:`effectiveness`). The outcomes:

- ``residents``: residents of the targeted places in the last year;
- ``residents_region``: residents of the whole region in the last year;
- ``grocer_person_years``: person-years with a grocer within 5 km (effective distance that
  movers saw), region, from the first start year to the last year;
- ``service_years``: years of open grocers, schools, doctors and pharmacies, region, same
  years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import Field

from .infra import FrozenModel
from .ranges import End, Plausible

#: Outcomes of :func:`outcomes` (name -> what it counts).
OUTCOMES = {
    "residents": "residents of the targeted places in the last year",
    "residents_region": "residents of the region in the last year",
    "grocer_person_years": "person-years with a grocer within 5 km, region",
    "service_years": "years of open grocers, schools, doctors and pharmacies, region",
}
#: Distance of the grocer-access outcome (km; Statistics Denmark's measure).
GROCER_KM = 5.0
SERVICE_COLUMNS = ("grocer_open", "school_open", "doctor_open", "pharmacy_open")


#: No cost.
NONE = Plausible(0.0, 0.0, 0.0, "none")


@dataclass(frozen=True)
class KindCosts:
    """A kind's costs per targeted place (DKK), each a plausible range with its basis."""

    start: Plausible
    yearly: Plausible
    per_resident: Plausible = NONE

    def at(self, end: End) -> CostRates:
        """The rates at one end of the ranges."""
        return CostRates(start_dkk=self.start.at(end), yearly_dkk=self.yearly.at(end),
                         yearly_per_resident_dkk=self.per_resident.at(end))


#: Kinds that declare nothing cost nothing (a plugin should declare its costs).
NO_COSTS = KindCosts(Plausible(0, 0, 0, "not declared"), Plausible(0, 0, 0, "not declared"))


class CostRates(FrozenModel):
    """Costs of one initiative per targeted place (DKK)."""

    start_dkk: float = Field(0.0, ge=0, description="paid once per place, in the start year")
    yearly_dkk: float = Field(0.0, ge=0, description="per place and year active")
    yearly_per_resident_dkk: float = Field(
        0.0, ge=0, description="per resident of the place and year active")


class CostOverride(FrozenModel):
    """A scenario item's ``costs`` table: any of the rates, replacing the kind's own."""

    start_dkk: float | None = Field(None, ge=0, description="start cost per place (DKK)")
    yearly_dkk: float | None = Field(None, ge=0, description="yearly cost per place (DKK)")
    yearly_per_resident_dkk: float | None = Field(
        None, ge=0, description="yearly cost per resident of the place (DKK)")

    def apply(self, rates: CostRates) -> CostRates:
        """``rates`` with the fields given here replaced."""
        given = {k: v for k, v in self.model_dump().items() if v is not None}
        return rates.model_copy(update=given)

    def apply_ranges(self, costs: KindCosts) -> KindCosts:
        """``costs`` with a given field fixed (no range: the scenario's own figure)."""
        def fix(rng: Plausible, value: float | None) -> Plausible:
            return rng if value is None else Plausible(value, value, value, "scenario file")
        return KindCosts(fix(costs.start, self.start_dkk), fix(costs.yearly, self.yearly_dkk),
                         fix(costs.per_resident, self.yearly_per_resident_dkk))


def cost_units(ini, population: pd.DataFrame, end_year: int) -> pd.DataFrame:
    """What one initiative's costs are counted over, per targeted place.

    Args:
        ini: An :class:`sim.initiatives.Initiative` after the run (its ``events_``).
        population: Full-scale residents per ``year`` and ``place_id``.
        end_year: The last simulated year.

    Returns:
        One row per targeted place: ``place_id``, ``started`` (0/1), ``years`` (years
        active) and ``resident_years`` (residents summed over those years).
    """
    stop: dict[int, int] = {}
    for e in ini.events_:
        if e.event in ("failed", "ended") and e.place_id not in stop:
            stop[e.place_id] = e.year
    pop = population.set_index(["place_id", "year"])["population"]
    rows = []
    for p in np.asarray(ini.places, int).tolist():
        if ini.start > end_year:
            rows.append((p, 0, 0, 0.0))
            continue
        last = min(stop.get(p, end_year + 1) - 1, end_year,
                   ini.end if ini.end is not None else end_year)
        years = list(range(ini.start, last + 1))
        res = float(pop.reindex([(p, y) for y in years]).fillna(0).sum()) if years else 0.0
        rows.append((p, 1, len(years), res))
    return pd.DataFrame(rows, columns=["place_id", "started", "years", "resident_years"])


def priced(units: pd.DataFrame, rates: CostRates) -> pd.Series:
    """Cost per row of ``units`` at ``rates``."""
    return (units["started"] * rates.start_dkk + units["years"] * rates.yearly_dkk
            + units["resident_years"] * rates.yearly_per_resident_dkk)


def outcomes(py: pd.DataFrame, targeted: np.ndarray, first_year: int) -> pd.DataFrame:
    """The outcomes of every seed of one arm (``py``: full-scale place-year rows per seed)."""
    last = py["year"].max()
    end = py[py["year"] == last]
    window = py[py["year"] >= first_year]
    near = window["population"] * (window["grocer_km"] <= GROCER_KM)
    out = pd.DataFrame({
        "residents": end[end["place_id"].isin(targeted)].groupby("seed")["population"].sum(),
        "residents_region": end.groupby("seed")["population"].sum(),
        "grocer_person_years": near.groupby(window["seed"]).sum(),
        "service_years": window[list(SERVICE_COLUMNS)].sum(axis=1).groupby(
            window["seed"]).sum(),
    })
    return out.reindex(sorted(py["seed"].unique())).fillna(0.0)


def _t_interval(x: np.ndarray) -> tuple[float, float, float]:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return np.nan, np.nan, np.nan
    m = float(x.mean())
    if len(x) < 2:
        return m, m, m
    from scipy import stats  # here, not at import: scipy.stats costs a run ~20 MB

    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return m, m - half, m + half


def effectiveness(base: pd.DataFrame, scen: pd.DataFrame, cost: pd.Series) -> pd.DataFrame:
    """Differences per outcome and per DKK million, mean and 95% interval over seeds.

    Args:
        base: :func:`outcomes` of the baseline arm (index = seed).
        scen: :func:`outcomes` of the scenario arm (same seeds).
        cost: Extra cost of the scenario per seed (DKK; scenario minus baseline).

    Returns:
        One row per outcome: ``outcome``, ``mean_diff``, ``ci_low``, ``ci_high``,
        ``cost_dkk`` (mean), ``cost_low``, ``cost_high`` (its interval), ``per_million``,
        ``per_million_low``, ``per_million_high`` and ``n`` (seeds). Per million is NaN
        where the cost is zero.
    """
    diff = scen - base.reindex(scen.index)
    c = cost.reindex(scen.index).astype(float)
    cm, clo, chi = _t_interval(c.to_numpy())
    rows = []
    for name in OUTCOMES:
        d = diff[name].to_numpy(float)
        m, lo, hi = _t_interval(d)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(c.to_numpy() > 0, d / (c.to_numpy() / 1e6), np.nan)
        pm, plo, phi = _t_interval(ratio)
        rows.append({"outcome": name, "mean_diff": m, "ci_low": lo, "ci_high": hi,
                     "cost_dkk": cm, "cost_low": clo, "cost_high": chi, "per_million": pm,
                     "per_million_low": plo, "per_million_high": phi, "n": len(d)})
    return pd.DataFrame(rows)
