"""Common random numbers: the same entity draws the same numbers in both arms of a pair."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import demography
from sim import rng as draws
from sim.household import Households, Persons, Population
from sim.params import DemographyParams, ServiceParams, default_parameters
from sim.rng import Streams, all_draws, derived_ids, unique_ids
from sim.services import ORIGINS, Services, update_services
from sim.world import World


def test_keyed_uniforms_are_uniform_reproducible_and_independent():
    """Rule: keyed draws are U(0,1), fixed by (seed, process, year, slot, id), and differ
    between slots, years, processes and seeds."""
    ids = np.arange(200_000)
    s = Streams(7)
    u = s.keyed_uniform("demography", ids, 2030, 0)
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    assert (u == Streams(7).keyed_uniform("demography", ids, 2030, 0)).all()
    assert (u[5000:6000] == s.keyed_uniform("demography", ids[5000:6000], 2030, 0)).all()
    for other in (s.keyed_uniform("demography", ids, 2030, 1),
                  s.keyed_uniform("demography", ids, 2031, 0),
                  s.keyed_uniform("relocation", ids, 2030, 0),
                  Streams(8).keyed_uniform("demography", ids, 2030, 0)):
        assert abs(np.corrcoef(u, other)[0, 1]) < 0.01
        assert (u != other).mean() > 0.999


def test_keyed_uniforms_use_all_64_bits_of_an_id():
    """Rule: ids that differ only above bit 32 (derived 63-bit ids) draw unrelated uniforms
    (a hash of the truncated id would give them the same number)."""
    ids = np.arange(100_000, dtype=np.int64)
    s = Streams(3)
    u = s.keyed_uniform("relocation", ids, 2030, 0)
    for shift in (32, 40, 62):
        v = s.keyed_uniform("relocation", ids + (np.int64(1) << shift), 2030, 0)
        assert (u != v).all() and abs(np.corrcoef(u, v)[0, 1]) < 0.02


def test_derived_ids_are_stable_63_bit_and_unique():
    """Rule: a derived id is a fixed function of its tag and parts, non-negative, and 4
    million ids from distinct inputs (two tags) are all distinct."""
    a = derived_ids(draws.ID_NEWBORN, np.arange(2_000_000), 2030)
    b = derived_ids(draws.ID_IN_MIGRANT, 2030, np.arange(2_000_000), 0)
    assert (a >= 0).all() and (b >= 0).all()
    assert len(np.unique(np.concatenate([a, b]))) == 4_000_000
    assert (a[:10] == derived_ids(draws.ID_NEWBORN, np.arange(10), 2030)).all()
    assert (a[:10] != derived_ids(draws.ID_NEWBORN, np.arange(10), 2031)).all()


def test_unique_ids_rehash_collisions_deterministically():
    """Rule: a candidate id that repeats a living id or an earlier candidate is replaced by a
    new one, the same every time; the others are kept."""
    existing = derived_ids(draws.ID_NEWBORN, np.arange(1000), 2022)
    cand = np.array([existing[5], 17, 17, existing[999], 42], np.int64)
    out = unique_ids(cand, existing)
    assert (out == unique_ids(cand, existing)).all()
    assert len(np.unique(np.concatenate([out, existing]))) == len(out) + len(existing)
    assert out[1] == 17 and out[4] == 42 and out[2] != 17


def _pop(extra_household: bool) -> Population:
    """Women aged 29 (one per household) in place 0; optionally one more household."""
    n = 5000 + int(extra_household)
    persons = Persons(age=np.full(n, 29, np.int16), sex=np.ones(n, np.int8),
                      hh=np.arange(n, dtype=np.int32), child=np.zeros(n, bool),
                      employed=np.zeros(n, bool), workplace=np.full(n, -1, np.int32),
                      pid=np.arange(n, dtype=np.int64))
    if extra_household:  # the extra woman comes first: every other row shifts by one
        persons.pid = np.concatenate([[10**12], np.arange(n - 1)])
    hh = Households(place=np.zeros(n, np.int32), hid=persons.pid.copy(),
                    car=np.ones(n, bool), renter=np.zeros(n, bool),
                    years=np.zeros(n, np.int16), housed=np.ones(n, bool),
                    key=persons.pid.copy())
    return Population(hh, persons)


def test_a_newborn_has_the_same_id_in_both_arms():
    """Rule: a newborn's id depends on its mother and the year, not on how many persons or
    births came before it: with one extra woman (and so shifted rows and an extra birth or
    not), every mother present in both gives birth to a baby with the same id and sex."""
    p = DemographyParams(fertility_multiplier=1.5)
    rates = demography.load_rates(p)
    babies = []
    for extra in (False, True):
        pop = _pop(extra)
        demography.step(pop, rates, p, 2030, 1, Streams(4))
        pp = pop.persons
        new = pp.age == 0
        babies.append(pd.Series(pp.sex[new], index=pp.pid[new]))
    a, b = babies
    assert len(a) > 500
    assert a.index.isin(b.index).all()
    assert (b.reindex(a.index) == a).all()


def _grid_world(n: int) -> World:
    dist = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :]).astype(np.float32) * 50
    np.fill_diagonal(dist, 1.0)
    places = pd.DataFrame({"municipality_code": np.arange(n), "name": [f"p{i}" for i in range(n)],
                           "population": np.full(n, 100)})
    z = np.zeros(n)
    return World(places, dist, dist, dist, z, z, z, z, 0.5, 0.1)


def _units(with_extra: bool) -> Services:
    s = Services(*(np.zeros(0, t) for t in (np.int8, np.int32, bool, np.int16, np.int8,
                                             np.int32, np.int32, np.float64)))
    s._append(np.zeros(300), np.arange(300) % 50, ORIGINS.index("osm"), 0)
    if with_extra:  # an initiative's shop, before the units opened later
        s._append(np.zeros(1), np.array([49]), ORIGINS.index("initiative"), 2022)
    s._append(np.zeros(40), np.arange(40), ORIGINS.index("opened"), 2024)
    return s


def test_one_extra_service_unit_leaves_every_other_units_closure_draw_alone():
    """Rule: closure draws are keyed by the unit (kind, place, origin, opened year, order), not
    by its row: with one extra unit in the table, every other unit closes in the same year as
    without it (all units are unviable; hazard 0.5 a year)."""
    w = _grid_world(50)
    p = ServiceParams(viability_threshold=(10**9, 10**9, 10**9, 10**9), closure_years=1,
                      closure_hazard=0.5, opening_factor=5.0)
    users = [np.zeros(50)] * 4
    closed = []
    for extra in (False, True):
        s = _units(extra)
        for year in range(2025, 2031):
            update_services(w, s, p, users, year, Streams(9))
        closed.append(pd.Series(s.closed_year, index=s.key))
    a, b = closed
    assert a.index.isin(b.index).all() and len(b) == len(a) + 1
    assert (b.reindex(a.index) == a).all()
    assert a.between(2025, 2030).mean() > 0.5 and (a == 0).any()  # random, not all at once


def test_unit_keys_are_unique_and_independent_of_the_row():
    """Rule: unit keys are unique in a table, and a unit's key is the same wherever its row."""
    a, b = _units(False), _units(True)
    assert len(np.unique(b.key)) == len(b.key)
    assert (a.key[:300] == b.key[:300]).all() and (a.key[300:] == b.key[301:]).all()


@pytest.fixture(scope="module")
def paired_arms():
    """Both arms (seed 5, scale 0.05, calibrated defaults) to 2026: a coop grocer in Fabjerg
    (Lemvig, 379 inhabitants, no grocer) from 2022 in the second."""
    from sim.conformance import make
    from sim.model import RegionModel
    from sim.similar import find_place

    params = default_parameters().with_overrides(scale=0.05, end_year=2026)
    a = RegionModel(params, seed=5)
    b = RegionModel(params, seed=5)
    village = find_place(a.world.places, "Fabjerg")
    b.with_interventions([make("coop_grocer", village, 2022, settings={"type": "B"})])
    start = set(a.pop.persons.pid.tolist())
    a.run()
    b.run()
    return a, b, village, start


def test_far_away_households_live_in_the_same_place_in_both_arms(paired_arms):
    """Rule: five years after a coop grocer opens in one village, fewer than 2% of the
    households living more than 40 km away are somewhere else (or absent) in the other arm,
    while the village itself responds."""
    a, b, village, _ = paired_arms
    ha = pd.Series(a.pop.households.place, index=a.pop.households.hid)
    hb = pd.Series(b.pop.households.place, index=b.pop.households.hid)
    far = a.world.dist_km[village][ha.to_numpy()] > 40
    differ = hb.reindex(ha.index).to_numpy() != ha.to_numpy()
    print(f"far households in another place: {differ[far].mean():.4f} of {far.sum()}")
    assert far.sum() > 2000 and differ[far].mean() < 0.02
    py_a, py_b = a.place_year(), b.place_year()
    grocer = "grocer_open"
    assert (py_b.query("place_id == @village")[grocer].iloc[-1]
            > py_a.query("place_id == @village")[grocer].iloc[-1])


def test_new_persons_have_the_same_ids_in_both_arms(paired_arms):
    """Rule: persons born or arrived after the start carry ids derived from stable keys, so
    almost all of them (over 99%) are the same persons (id, age, sex) in both arms."""
    a, b, _, start = paired_arms
    pa = pd.DataFrame({"age": a.pop.persons.age, "sex": a.pop.persons.sex},
                      index=a.pop.persons.pid)
    pb = pd.DataFrame({"age": b.pop.persons.age, "sex": b.pop.persons.sex},
                      index=b.pop.persons.pid)
    new = pa[~pa.index.isin(list(start))]
    same = (pb.reindex(new.index) == new).all(axis=1)
    print(f"{len(new)} new persons, same in the other arm {same.mean():.4f}")
    assert len(new) > 3000 and same.mean() > 0.99
    assert pa.index.is_unique and pb.index.is_unique
    hid = a.pop.households.hid
    assert len(np.unique(hid)) == len(hid)


def test_every_keyed_draw_has_its_own_slot():
    """Rule: no two named keyed draws share (process, slot): each draw is independent."""
    found = all_draws()
    keys = [(d.process, d.slot) for d in found]
    assert len(keys) == len(set(keys)), sorted(keys)
    assert {d.process for d in found} <= {"demography", "migration", "relocation", "services",
                                          "initiatives"}
