"""Demography: rates come from the data; events change persons as they should."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import data, demography
from sim.household import Households, Persons, Population
from sim.params import DemographyParams
from sim.rng import Streams


def test_rates_are_read_from_the_data():
    """Rule: death probabilities are 1 - exp(-rate) of the chosen year; births the ASFR."""
    p = DemographyParams()
    r = demography.load_rates(p)
    m = data.mortality()
    row = m[(m["year"] == 2012) & (m["sex"] == "f") & (m["age"] == 80)].iloc[0]
    assert r.death[1, 80] == pytest.approx(1 - np.exp(-row["death_rate_per_1000"] / 1000))
    f = data.fertility()
    rate = f[f["mother_age_group"] == "30-34"]["asfr_per_1000_women"].iloc[0] / 1000
    assert r.birth[32] == pytest.approx(rate)
    assert r.birth[14] == 0 and r.birth[50] == 0
    assert 0.48 < r.girl_share < 0.5


def _pop(n_hh: int, ages: list[int], sexes: list[int]) -> Population:
    k = len(ages)
    persons = Persons(age=np.tile(np.array(ages, np.int16), n_hh),
                      sex=np.tile(np.array(sexes, np.int8), n_hh),
                      hh=np.repeat(np.arange(n_hh), k).astype(np.int32),
                      child=np.tile(np.array([a < 18 or i >= 2 for i, a in enumerate(ages)]),
                                    n_hh),
                      employed=np.zeros(n_hh * k, bool), workplace=np.full(n_hh * k, -1, np.int32),
                      pid=np.arange(n_hh * k, dtype=np.int64))
    hh = Households(place=np.zeros(n_hh, np.int32), hid=np.arange(n_hh, dtype=np.int64),
                    car=np.ones(n_hh, bool), renter=np.zeros(n_hh, bool),
                    years=np.zeros(n_hh, np.int16), housed=np.ones(n_hh, bool),
                    key=np.arange(n_hh, dtype=np.int64) * k)
    return Population(hh, persons)


def test_births_and_deaths_follow_the_rates():
    """Rule: yearly births per woman of 30 and deaths at 90 match the rates (large sample)."""
    pop = _pop(20000, [29, 89], [1, 0])
    r = demography.load_rates(DemographyParams(mortality_improvement=0.0))
    res = demography.step(pop, r, DemographyParams(mortality_improvement=0.0), 2022, 1,
                          Streams(0))
    assert res.births[0] / 20000 == pytest.approx(r.birth[30], rel=0.08)
    assert res.deaths[0] / 40000 == pytest.approx((r.death[1, 30] + r.death[0, 90]) / 2,
                                                  rel=0.08)
    assert (pop.persons.age[pop.persons.age < 1] == 0).all()


def test_adult_children_leave_home_as_new_unhoused_households():
    """Rule: an adult child at the maximum age always leaves and forms a one-person household."""
    p = DemographyParams(leave_home_rate=0.0, leave_home_max_age=25)
    pop = _pop(100, [55, 53, 24], [0, 1, 1])  # third member: a child aged 24 -> 25
    res = demography.step(pop, demography.load_rates(p), p, 2040, 1, Streams(1))
    assert len(res.leaver_hid) == (pop.persons.age == 25).sum() > 90
    new = pop.rows_of(res.leaver_hid)
    assert (~pop.households.housed[new]).all()
    assert (np.bincount(pop.persons.hh, minlength=len(pop.households))[new] == 1).all()


def test_retirement_ends_employment():
    """Rule: nobody at or above the pension age is employed after a step."""
    pop = _pop(500, [66, 40], [0, 1])
    pop.persons.employed[:] = True
    pop.persons.workplace[:] = 0
    p = DemographyParams()
    demography.step(pop, demography.load_rates(p), p, 2022, 1, Streams(2))
    pp = pop.persons
    assert not pp.employed[pp.age >= p.retirement_age].any()
    assert (pp.workplace[~pp.employed] == -1).all()


def test_mortality_data_covers_both_sexes_for_the_chosen_year():
    """Rule: a year without data gives a clear DataError naming the parameter."""
    m = data.mortality()
    assert set(pd.unique(m[m["year"] == 2012]["sex"])) == {"m", "f"}


def test_unions_are_decided_by_the_women_living_alone():
    """Rule: a woman living alone (20-59) looks for a partner with union_rate and, where her
    place has a man living alone, finds one: 2,000 places of one such woman and one such man
    give union_rate x 2,000 unions (pairing two random counts per place gave about
    union_rate squared, losing the unions of small places at a small scale)."""
    n = 2000
    persons = Persons(age=np.tile(np.array([35, 37], np.int16), n),
                      sex=np.tile(np.array([1, 0], np.int8), n),
                      hh=np.arange(2 * n, dtype=np.int32), child=np.zeros(2 * n, bool),
                      employed=np.zeros(2 * n, bool), workplace=np.full(2 * n, -1, np.int32),
                      pid=np.arange(2 * n, dtype=np.int64))
    hh = Households(place=np.repeat(np.arange(n), 2).astype(np.int32),
                    hid=np.arange(2 * n, dtype=np.int64), car=np.ones(2 * n, bool),
                    renter=np.zeros(2 * n, bool), years=np.zeros(2 * n, np.int16),
                    housed=np.ones(2 * n, bool), key=np.arange(2 * n, dtype=np.int64))
    pop = Population(hh, persons)
    p = DemographyParams(union_rate=0.4)
    s = Streams(6)
    unions = demography.form_unions(pop, p, lambda ids, slot: s.keyed_uniform(
        "demography", ids, 2030, slot))
    assert unions == pytest.approx(0.4 * n, rel=0.1)
    wives = pop.persons.sex == 1
    together = pop.persons.hh[wives] == pop.persons.hh[~wives]  # each pair shares a place
    assert together.sum() == unions
