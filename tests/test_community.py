"""Community capacity: hours from the residents by age, drawn down and recovering by the rules.

The rules are those of :mod:`sim.community`'s docstring; the tests build small populations by
hand where the arithmetic must be exact, and use the calibrated model (what users run) where
the claim is about a village.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from sim.community import (
    AGE_STARTS,
    SHARE_BY_AGE,
    SHARE_SOURCES,
    Community,
    CommunityRules,
    free_hours,
    hours_by_age,
    national_share,
    national_weights,
    renew,
)
from sim.data import data_dir
from sim.household import Households, Persons, Population
from sim.ranges import ranges_of


def _population(ages: list[int], years: list[int], places: list[int]) -> Population:
    """One household per person: ``ages``, years at the address, place."""
    n = len(ages)
    hh = Households(place=np.asarray(places, np.int32), hid=np.arange(n),
                    car=np.ones(n, bool), renter=np.zeros(n, bool),
                    years=np.asarray(years, np.int16), housed=np.ones(n, bool),
                    key=np.arange(n, dtype=np.int64))
    pp = Persons(age=np.asarray(ages, np.int16), sex=np.zeros(n, np.int8),
                 hh=np.arange(n, dtype=np.int32), child=np.zeros(n, bool),
                 employed=np.zeros(n, bool), workplace=np.full(n, -1, np.int32),
                 pid=np.arange(n, dtype=np.int64))
    return Population(hh, pp)


def _evidence() -> dict[str, dict[str, str]]:
    with (data_dir() / "evidence_figures.csv").open(encoding="utf-8") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def test_survey_shares_are_the_published_figures():
    """Rule: the shares by age band are the figures of the rows they cite (CFSA 2019 and
    2017), except the 60s, which has no figure and lies between its neighbours."""
    ev = _evidence()
    cfsa19 = [float(v) / 100 for v in ev["vol-13"]["value"].split(" / ")]  # 16-29,30s,50s,70+
    assert SHARE_BY_AGE[0] == cfsa19[0] and SHARE_BY_AGE[1] == cfsa19[1]
    assert SHARE_BY_AGE[3] == cfsa19[2] and SHARE_BY_AGE[5] == cfsa19[3]
    assert SHARE_BY_AGE[2] == float(ev["vol-11"]["value"].split(" / ")[1]) / 100  # 40-49
    assert SHARE_SOURCES[4].startswith("assumption")
    assert SHARE_BY_AGE[3] <= SHARE_BY_AGE[4] <= SHARE_BY_AGE[5]


def test_weighted_shares_and_hours_reproduce_the_national_survey_figures():
    """Rule: weighted by Denmark's population aged 16+ the shares give the surveys' ~40%, and
    the hours per volunteer average hours_per_month x 12 over Denmark's volunteers, with
    volunteers aged 70+ giving old_hours_ratio times a younger volunteer's hours."""
    rules = CommunityRules()
    assert 0.39 <= national_share(rules) <= 0.41
    w = national_weights(rules)
    assert len(w) == len(AGE_STARTS) and (w > 0).all()
    h = hours_by_age(rules)
    volunteers = w * np.asarray(SHARE_BY_AGE)
    assert (volunteers * h).sum() / volunteers.sum() == pytest.approx(12 * rules.hours_per_month)
    assert h[-1] / h[0] == pytest.approx(rules.old_hours_ratio)
    # the ratio's central value is the exponential reading of vol-16 (51% vs 23% > 5 h/week)
    assert rules.old_hours_ratio == pytest.approx(np.log(0.23) / np.log(0.51), abs=0.01)


def test_free_hours_are_share_times_hours_times_the_unbound_part():
    """Rule: a resident aged 16 to oldest_age adds share(age) x level [x west_factor in
    Vestjylland] x hours(age) x (1 - bound_share) x local_share, newcomers x newcomer_factor;
    under-16s and the oldest nothing; the sum per place is divided by the scale."""
    rules = CommunityRules()
    h = hours_by_age(rules)
    free = (1 - rules.bound_share) * rules.local_share
    pop = _population(ages=[10, 20, 45, 75, 20, 75, 90], years=[9, 9, 9, 9, 0, 9, 9],
                      places=[0, 0, 0, 0, 1, 1, 1])
    assert rules.oldest_age <= 90
    west = np.array([False, True])
    got = free_hours(pop, west, 0.5, rules)
    p0 = (0.43 * h[0] + 0.41 * h[2] + 0.42 * h[5]) * free / 0.5
    f = rules.west_factor
    p1 = (0.43 * f * h[0] * rules.newcomer_factor + 0.42 * f * h[5]) * free / 0.5
    np.testing.assert_allclose(got, [p0, p1])
    only_old = free_hours(pop, west, 0.5, rules, min_age=70)
    np.testing.assert_allclose(only_old, [0.42 * h[5] * free / 0.5, 0.42 * f * h[5] * free / 0.5])


def test_recruitment_turns_a_share_of_the_non_volunteers_into_volunteers():
    """Rule: with recruitment s the share p of every age band becomes p + s (1 - p)."""
    rules = CommunityRules()
    pop = _population(ages=[20, 50], years=[9, 9], places=[0, 0])
    west = np.array([False])
    base = free_hours(pop, west, 1.0, rules)[0]
    got = free_hours(pop, west, 1.0, rules, recruitment=np.array([0.25]))[0]
    h = hours_by_age(rules) * (1 - rules.bound_share) * rules.local_share
    expected = (0.43 + 0.25 * 0.57) * h[0] + (0.36 + 0.25 * 0.64) * h[3]
    assert got == pytest.approx(expected) and got > base


def test_capacity_is_drawn_down_by_use_and_recovers_by_the_stated_rule():
    """Rule: after a year using a share u of the capacity, fatigue = f (1 - recovery) + wear u
    (clipped to 0-0.9); the hours available are capacity x (1 - fatigue); with no use the
    fatigue falls by the share recovery every year."""
    rules = CommunityRules()
    pop = _population(ages=[40] * 10, years=[9] * 10, places=[0] * 10)
    west = np.array([False])
    c = Community.empty(1, rules)
    renew(c, pop, west, 1.0)
    cap = c.capacity[0]
    assert c.fatigue[0] == 0 and c.available()[0] == pytest.approx(cap)
    assert c.claim(0, 0.6 * cap)
    renew(c, pop, west, 1.0)
    assert c.fatigue[0] == pytest.approx(rules.wear * 0.6)
    assert c.available()[0] == pytest.approx(cap * (1 - rules.wear * 0.6))
    f = c.fatigue[0]
    for _ in range(3):  # no claims: recovery
        renew(c, pop, west, 1.0)
        f *= 1 - rules.recovery
        assert c.fatigue[0] == pytest.approx(f)
    # relief is subtracted at the renewal, and fatigue never falls below 0
    c.claim(0, 0.5 * cap)
    renew(c, pop, west, 1.0, relief=np.array([1.0]))
    assert c.fatigue[0] == 0.0


def test_a_place_sustains_only_recovery_over_recovery_plus_wear_of_its_capacity():
    """Rule: claiming a share u of the capacity every year is granted forever when u is below
    recovery / (recovery + wear), and is refused within a few years when above it."""
    rules = CommunityRules()
    pop = _population(ages=[40] * 10, years=[9] * 10, places=[0] * 10)
    west = np.array([False])
    s = rules.sustainable_share()
    assert s == pytest.approx(rules.recovery / (rules.recovery + rules.wear))
    for u, ok in ((s - 0.03, True), (s + 0.03, False)):
        c = Community.empty(1, rules)
        granted = []
        for _ in range(40):
            renew(c, pop, west, 1.0)
            granted.append(c.claim(0, u * c.capacity[0]))
        assert all(granted) == ok


def test_claims_are_all_or_nothing_and_refusals_are_recorded():
    """Rule: a claim larger than what is available uses nothing and is recorded as refused;
    with unlimited rules it is granted and still recorded as what would have been refused."""
    for unlimited in (False, True):
        c = Community.empty(1, CommunityRules(unlimited=unlimited))
        c.capacity[:] = 100.0
        assert c.claim(0, 80.0)
        assert c.claim(0, 30.0) == unlimited
        assert c.used[0] == (110.0 if unlimited else 80.0)
        assert c.refused[0] == 30.0


def test_every_rule_declares_a_plausible_range_and_its_basis():
    """Rule: every magnitude of the community rules has low <= central <= high and says
    whether it is evidence or an assumption (the evidence ids exist)."""
    ev = _evidence()
    ranges = ranges_of(CommunityRules)
    assert set(ranges) == set(CommunityRules.model_fields) - {"unlimited"}
    for name, r in ranges.items():
        assert r.low <= r.central <= r.high, name
        assert r.basis.startswith(("assumption", "evidence", "derived")), name
        for token in re.findall(r"\bvol-\d\d\b", r.basis):
            assert token in ev, (name, token)
        if r.basis.startswith("assumption"):
            assert CommunityRules.model_fields[name].description.startswith("assumption:")


def test_rules_reject_unknown_keys():
    """Rule: a misspelt rule in a scenario's [community] table is an error, not ignored."""
    with pytest.raises(ValueError, match="Extra inputs"):
        CommunityRules.model_validate({"bound_shar": 0.5})
