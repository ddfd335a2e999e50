"""Costs: every kind's documented costs, what they are counted over, and per DKK million."""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pytest

from sim.conformance import make
from sim.costs import CostOverride, CostRates, cost_units, effectiveness, outcomes, priced
from sim.data import data_dir
from sim.initiatives import INITIATIVES, Event


def _evidence_ids() -> set[str]:
    with (data_dir() / "evidence_figures.csv").open(encoding="utf-8") as f:
        return {r["id"] for r in csv.DictReader(f)}


@pytest.mark.parametrize("kind", sorted(INITIATIVES))
def test_every_kind_documents_its_costs_with_a_source_or_as_an_assumption(kind):
    """Rule: each kind declares start, yearly and per-resident costs as ranges (low <=
    central <= high), each citing rows of data/evidence_figures.csv that exist, derived from
    them, or marked as an assumption (or none)."""
    cls = INITIATIVES[kind]
    costs = cls.kind_costs(cls.Settings())
    known = _evidence_ids()
    for part in (costs.start, costs.yearly, costs.per_resident):
        assert part.low <= part.central <= part.high
        assert re.match(r"(evidence|derived|assumption|none)", part.basis), part.basis
        for ref in re.findall(r"\b[a-z]+-\d\d\b", part.basis):
            assert ref in known, ref
    assert costs.start.central + costs.yearly.central + costs.per_resident.central > 0


def test_costs_scale_with_the_settings_they_depend_on():
    """Rule: car sharing costs its yearly cost per car; housing its cost per dwelling (build
    or demolish); a coop grocer's start cost depends on its type."""
    car = INITIATIVES["car_sharing"]
    one = car.kind_costs(car.Settings(cars=1)).yearly.central
    assert car.kind_costs(car.Settings(cars=4)).yearly.central == pytest.approx(4 * one)
    h = INITIATIVES["housing"]
    build = h.kind_costs(h.Settings(dwellings=20)).start
    assert build.central == pytest.approx(20 * h.PER_DWELLING["build"].central)
    demo = h.kind_costs(h.Settings(dwellings=5, mode="demolish")).start
    assert demo.central == pytest.approx(5 * h.PER_DWELLING["demolish"].central)
    coop = INITIATIVES["coop_grocer"]
    assert coop.kind_costs(coop.Settings(type="C")).start.central < \
        coop.kind_costs(coop.Settings(type="B")).start.central


def test_scenario_costs_replace_the_kinds_and_budget_dkk_is_the_start_cost():
    """Rule: a scenario item's costs table replaces the fields it gives (fixed, no range);
    the older budget_dkk means the start cost per place."""
    ini = make("community_house", [1, 2], 2025)
    own = ini.cost_rates()
    ini.costs = CostOverride(yearly_dkk=1000.0)
    assert ini.cost_rates("low").yearly_dkk == ini.cost_rates("high").yearly_dkk == 1000.0
    assert ini.cost_rates().start_dkk == own.start_dkk
    ini.budget_dkk = 600_000.0
    assert ini.cost_rates("low").start_dkk == 600_000.0


def test_an_initiative_costs_its_start_once_and_its_yearly_cost_while_active():
    """Rule: the start cost is paid in every place where it started; the yearly cost (and
    the cost per resident) for every year from the start to the year before it fails or
    ends there, or to the last simulated year."""
    ini = make("flex_transit", [0, 1, 2], 2025, None)
    ini.events_ = [Event("flex_transit", "x", 0, 2025, "started"),
                   Event("flex_transit", "x", 1, 2025, "started"),
                   Event("flex_transit", "x", 2, 2025, "started"),
                   Event("flex_transit", "x", 1, 2028, "failed", "why")]
    pop = pd.DataFrame([(y, p, 100.0 * (p + 1)) for y in range(2021, 2031) for p in range(3)],
                       columns=["year", "place_id", "population"])
    u = cost_units(ini, pop, 2030).set_index("place_id")
    assert u.loc[0, "years"] == 6 and u.loc[1, "years"] == 3 and u.loc[2, "years"] == 6
    assert u.loc[1, "resident_years"] == pytest.approx(3 * 200.0)
    cost = priced(u, CostRates(start_dkk=10.0, yearly_dkk=2.0, yearly_per_resident_dkk=0.5))
    assert cost.loc[1] == pytest.approx(10 + 3 * 2 + 0.5 * 600)
    ended = make("flex_transit", [0], 2025, 2026)
    assert cost_units(ended, pop, 2030)["years"].iloc[0] == 2
    later = make("flex_transit", [0], 2035)
    assert cost_units(later, pop, 2030)["started"].iloc[0] == 0


def test_per_million_is_the_paired_difference_over_the_extra_cost_per_seed():
    """Rule: per seed, (scenario - baseline) / (extra cost / 1e6); mean and t-interval over
    seeds; no cost gives no ratio."""
    idx = pd.Index([0, 1, 2], name="seed")
    base = pd.DataFrame({k: [10.0, 20.0, 30.0] for k in ("residents", "residents_region",
                                                          "grocer_person_years",
                                                          "service_years")}, index=idx)
    scen = base + np.array([[2.0], [4.0], [9.0]])
    cost = pd.Series([1e6, 2e6, 3e6], index=idx)
    t = effectiveness(base, scen, cost).set_index("outcome")
    r = t.loc["residents"]
    assert r["mean_diff"] == pytest.approx(5.0)
    assert r["per_million"] == pytest.approx(np.mean([2.0, 2.0, 3.0]))
    half = 4.302652729911275 * np.std([2.0, 2.0, 3.0], ddof=1) / np.sqrt(3)
    assert r["per_million_high"] == pytest.approx(r["per_million"] + half)
    assert r["cost_dkk"] == pytest.approx(2e6) and r["n"] == 3
    none = effectiveness(base, scen, pd.Series(0.0, index=idx)).set_index("outcome")
    assert np.isnan(none.loc["residents", "per_million"])


def test_outcomes_count_residents_grocer_person_years_and_service_years():
    """Rule: residents of the targeted places and of the region in the last year; person-
    years within 5 km of a grocer and years of open services from the first start year."""
    rows = []
    for year in (2025, 2026, 2027):
        for p, km in ((0, 2.0), (1, 8.0)):
            rows.append({"seed": 0, "year": year, "place_id": p, "population": 100.0 * (p + 1),
                         "grocer_km": km, "grocer_open": 1 - p, "school_open": 1,
                         "doctor_open": 0, "pharmacy_open": 0})
    o = outcomes(pd.DataFrame(rows), np.array([1]), 2026).iloc[0]
    assert o["residents"] == 200.0 and o["residents_region"] == 300.0
    assert o["grocer_person_years"] == 2 * 100.0
    assert o["service_years"] == 2 * (2 + 1)
