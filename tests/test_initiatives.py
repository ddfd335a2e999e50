"""Initiative kinds: each test proves the mechanism the kind's docstring claims.

Tests run on the calibrated defaults (what users run). An initiative never writes into the
model: the tests read what it declares (:func:`sim.conformance.declared`) and what movers
would see with it (:func:`sim.conformance.values_with`), or step the model.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.community import CommunityRules, free_hours, west_mask
from sim.conformance import _fingerprint, declared, make, state_with, values_with
from sim.effects import EffectSet
from sim.initiatives import INITIATIVES
from sim.model import RegionModel
from sim.params import default_parameters
from sim.services import KINDS, catchments, users

CALIBRATED = default_parameters()
SMALL = CALIBRATED.with_overrides(scale=0.02, end_year=2024)
#: Service contests need more households per place (less sampling noise in catchments) and
#: deterministic closures: a unit unviable for 2 years closes.
CONTEST = CALIBRATED.with_overrides(scale=0.1, end_year=2026,
                                    services={"closure_years": 2, "closure_hazard": 1.0})


def _model(params=SMALL) -> RegionModel:
    return RegionModel(params, seed=1)


def _none(m: RegionModel) -> EffectSet:
    return EffectSet([], m.world.n)


def _village(m: RegionModel, lo: float = 500, hi: float = 3000, nth: int = 0) -> int:
    """The ``nth`` town with ``lo``-``hi`` inhabitants (volunteer capacity to spare)."""
    pl = m.world.places
    ok = (pl["kind"] == "town").to_numpy() & pl["population"].between(lo, hi).to_numpy()
    return int(np.flatnonzero(ok)[nth])


def _weight(m: RegionModel, term: str) -> np.ndarray:
    """Weight of ``term`` per segment (by the segment's stage)."""
    return np.asarray(m.params.relocation.weights[term], float)[m.segments.stage]


def _others(m: RegionModel, p: int) -> np.ndarray:
    return np.flatnonzero(np.arange(m.world.n) != p)


def _unviable_units(m: RegionModel, kind: str, lo: float, hi: float) -> np.ndarray:
    """Units of ``kind``, each the only one of its town, with ``lo``-``hi`` x the threshold
    as catchment and no unviable years counted yet, nearest the middle of that band first."""
    k = KINDS.index(kind)
    sv = m.services
    thr = m.params.services.viability_threshold[k]
    everyone = np.ones(len(m.pop.households), bool)
    c = catchments(m.world, sv, users(m.pop, everyone, m.world.n, m.params.scale)[k], k)
    sel = sv.open & (sv.kind == k)
    alone = np.bincount(sv.place[sel], minlength=m.world.n)[sv.place] == 1
    town = (m.world.places["kind"] == "town").to_numpy()[sv.place]
    fresh = sv.below == 0
    cand = np.flatnonzero(sel & alone & town & fresh & (c >= lo * thr) & (c < hi * thr))
    return cand[np.argsort(np.abs(c[cand] - 0.5 * (lo + hi) * thr), kind="stable")]


def _contest(kind: str, lo: float, hi: float, **settings):
    """Run the same seed without and with the initiative in a town whose only unit is
    unviable (``lo``-``hi`` x the threshold) and closes without the initiative."""
    base = RegionModel(CONTEST, seed=1)
    cand = _unviable_units(base, kind, lo, hi)
    for _ in range(CONTEST.end_year - CONTEST.base_year):
        base.step()
    closed = cand[~base.services.open[cand]]
    assert len(closed), f"no unviable {kind} closed in the baseline"
    unit = int(closed[0])
    ini = make({"grocer": "coop_grocer", "school": "village_school"}[kind],
               int(base.services.place[unit]), 2022, settings=settings)
    with_ini = RegionModel(CONTEST, seed=1).with_interventions([ini])
    for _ in range(CONTEST.end_year - CONTEST.base_year):
        with_ini.step()
    return base, with_ini, unit, ini


def test_coop_grocer_survives_where_commercial_grocer_closes():
    """Rule: a coop grocer needs only threshold_factor x the grocer threshold, so in a town
    whose only grocer has 60-90% of the commercial customer base and closes after the
    closure years without the coop, the coop-run shop (same seed) stays open."""
    base, coop, unit, ini = _contest("grocer", 0.6, 0.9, type="B")
    place = int(base.services.place[unit])
    assert coop.services.held_unit(place, "grocer") == unit  # the coop took the shop over
    assert base.services.closed_year[unit] > 0
    assert coop.services.open[unit]
    assert coop.services.threshold_factor[unit] == pytest.approx(0.5)
    assert not [e for e in ini.events_ if e.event == "failed"]


#: Coop shops in many villages, closure rules made quick: a unit unviable for 2 years closes.
HAZARD_RUN = CALIBRATED.with_overrides(scale=0.02, end_year=2026,
                                       services={"closure_years": 2, "closure_hazard": 1.0})


def _villages(m: RegionModel, n: int, lo: float = 300, hi: float = 1500) -> np.ndarray:
    """The first ``n`` towns with ``lo``-``hi`` inhabitants."""
    pl = m.world.places
    ok = (pl["kind"] == "town").to_numpy() & pl["population"].between(lo, hi).to_numpy()
    return np.flatnonzero(ok)[:n]


def _closures(ini) -> dict[int, tuple[int, str]]:
    """Year and reason of every place's failure."""
    return {e.place_id: (e.year, e.reason) for e in ini.events_ if e.event == "failed"}


class _CustomerRuleOnly(INITIATIVES["coop_grocer"]):
    """The coop grocer's failure rules as they were before the closure hazard."""

    def check(self, view, i, year):
        out = {}
        for j in i:
            unit = view.unit(int(self.places[j]), "grocer")
            if unit.row >= 0 and not unit.open:
                out[int(j)] = "turnover too low"
        return out


def test_coop_grocer_without_closure_hazard_runs_as_before():
    """Rule: with closure_hazard 0 the run is exactly the run of the kind without the hazard
    (customer and volunteer rules only): the same failures in the same years, the same place
    table and the same arrays, on a run where shops do fail for lack of customers."""
    runs = []
    for cls in (INITIATIVES["coop_grocer"], _CustomerRuleOnly):
        m = RegionModel(HAZARD_RUN, seed=1)
        places = _villages(m, 20)
        settings = cls.Settings(threshold_factor=1.0, closure_hazard=0.0)
        ini = cls(name="check", places=places, start=2022, end=None, settings=settings)
        m.with_interventions([ini])
        m.run()
        runs.append((m, ini))
    (a, ia), (b, ib) = runs
    ca, cb = _closures(ia), _closures(ib)
    assert len(ca) >= 3  # the customer rule is exercised
    assert {p: y for p, (y, _) in ca.items()} == {p: y for p, (y, _) in cb.items()}
    assert all(r.startswith("turnover too low") for _, r in ca.values())
    pd_a, pd_b = a.place_year(), b.place_year()
    assert pd_a.equals(pd_b)
    assert _fingerprint(a) == _fingerprint(b)


def test_coop_grocer_closure_hazard_closes_shops_at_its_rate():
    """Rule: every year after its first, an open coop shop closes with probability
    closure_hazard (reason 'closure hazard'). With the hazard at 0.2 on 150 shops started in
    2022 (draws 2023-26; customer and volunteer rules kept out of the way), closures per
    exposed shop-year lie within 3 binomial standard deviations of 0.2, and each place
    closes in the first year its keyed uniform (sim.rng.COOP_CLOSURE) is under the hazard."""
    from sim.rng import COOP_CLOSURE

    hazard = 0.2
    m = RegionModel(HAZARD_RUN, seed=2)
    places = _villages(m, 150, 200, 5000)
    assert len(places) == 150
    ini = make("coop_grocer", places, 2022, settings={
        "closure_hazard": hazard, "threshold_factor": 0.01, "volunteer_hours": 0.0})
    m.with_interventions([ini])
    m.run()
    failed = _closures(ini)
    hazard_closed = {p: y for p, (y, r) in failed.items() if r.startswith("closure hazard")}
    # a few villages have no customers of their own (a neighbour is nearer): they fail on
    # the customer rule in 2024 and are censored then (their 2024 draw is not made)
    other = {p: y for p, (y, r) in failed.items() if p not in hazard_closed}
    assert all(failed[p][1].startswith("turnover too low") for p in other)
    assert len(other) < 15
    last = HAZARD_RUN.end_year  # the last year simulated
    # draws per place: the years after the start up to its closure (or the last year)
    stop = {p: hazard_closed.get(p, other.get(p, last + 1) - 1) for p in places.tolist()}
    exposed = sum(s - 2022 for s in stop.values())
    rate = len(hazard_closed) / exposed
    sd = np.sqrt(hazard * (1 - hazard) / exposed)
    print(f"{len(hazard_closed)} closures in {exposed} shop-years: {rate:.3f} (sd {sd:.3f})")
    assert abs(rate - hazard) < 3 * sd
    years = np.arange(2023, last + 1)
    u = np.stack([m.streams.uniform(COOP_CLOSURE, places, y) for y in years])
    first = {}
    for k, p in enumerate(places.tolist()):
        under = (u[:, k] < hazard) & (years <= stop[p])
        if under.any():
            first[p] = int(years[np.argmax(under)])
    assert hazard_closed == first


def test_coop_grocer_closure_hazard_is_validated_and_can_be_varied():
    """Rule: closure_hazard is a probability (0-1, pydantic rejects others) with the range
    derived from coop-04 (0.004 / 0.009 / 0.017), which ``landsim compare --vary
    coop_grocer.closure_hazard --at low|high|sample`` finds like the other coop settings."""
    from pydantic import ValidationError

    from sim.places import build_places
    from sim.ranges import at_end, magnitudes
    from sim.scenario import load

    settings = INITIATIVES["coop_grocer"].Settings
    for bad in (-0.01, 1.5):
        with pytest.raises(ValidationError):
            settings(closure_hazard=bad)
    r = settings().ranges()["closure_hazard"]
    assert (r.low, r.central, r.high) == (0.004, 0.009, 0.017)
    assert r.basis.startswith("derived from evidence coop-04 (estimated)")
    sc = load("scenarios/coop_grocers_west.toml", build_places().places)
    assert magnitudes(sc)["coop_grocer.closure_hazard"].range == r
    high, values = at_end(sc, ["coop_grocer.closure_hazard"], "high")
    assert values == {"coop_grocer.closure_hazard": 0.017}
    assert all(i.settings["closure_hazard"] == 0.017 for i in high.initiatives
               if i.kind == "coop_grocer")


def test_coop_grocer_closure_draw_is_keyed_by_place_and_year():
    """Rule: the hazard draw is keyed by place and year, not by the shop's row or position:
    a shop closes in the same year in two runs (same seed) that differ only by an unrelated
    coop shop listed before it and a car-sharing scheme elsewhere."""
    m = RegionModel(HAZARD_RUN, seed=3)
    shops = _villages(m, 12)
    shop, other, cars = int(shops[-1]), int(shops[0]), int(shops[5])
    settings = {"closure_hazard": 0.3, "threshold_factor": 0.01, "volunteer_hours": 0.0}
    alone = make("coop_grocer", shop, 2022, settings=settings)
    m.with_interventions([alone])
    m.run()
    b = RegionModel(HAZARD_RUN, seed=3)
    both = make("coop_grocer", [other, shop], 2022, settings=settings)
    b.with_interventions([make("car_sharing", cars, 2022), both])
    b.run()
    assert shop in _closures(alone), "pick a seed where the shop closes"
    assert _closures(both)[shop][0] == _closures(alone)[shop][0]


def test_village_school_survives_where_commercial_threshold_closes_it():
    """Rule: a parent-run school needs only threshold_factor x the school threshold (pupils
    6-15). In a town whose only school has 75% of the pupils the municipal threshold needs
    (the threshold set so, for a school of 100-400 pupils, the least noisy case), the school
    closes without the initiative and stays open with it (same seed)."""
    probe = RegionModel(CONTEST, seed=1)
    k = KINDS.index("school")
    sv = probe.services
    everyone = np.ones(len(probe.pop.households), bool)
    c = catchments(probe.world, sv, users(probe.pop, everyone, probe.world.n,
                                          probe.params.scale)[k], k)
    sel = sv.open & (sv.kind == k)
    alone = np.bincount(sv.place[sel], minlength=probe.world.n)[sv.place] == 1
    town = (probe.world.places["kind"] == "town").to_numpy()[sv.place]
    cand = np.flatnonzero(sel & alone & town & (c >= 100) & (c <= 400))
    unit = int(cand[np.argmax(c[cand])])
    thr = list(CONTEST.services.viability_threshold)
    thr[k] = int(c[unit] / 0.75)
    params = CONTEST.with_overrides(services={"viability_threshold": thr})
    place = int(sv.place[unit])
    runs = {}
    for with_school in (False, True):
        m = RegionModel(params, seed=1)
        if with_school:
            m.with_interventions([make("village_school", place, 2022,
                                       settings={"volunteer_hours": 0.0})])
        for _ in range(params.end_year - params.base_year):
            m.step()
        runs[with_school] = m
    base, with_ini = runs[False], runs[True]
    assert not base.services.open[unit] and base.services.closed_year[unit] > 0
    assert with_ini.services.held_unit(place, "school") == unit
    assert with_ini.services.open[unit]


def test_village_school_fails_when_pupils_too_few_and_its_unit_closes():
    """Rule: a parent-run school that stays under its lowered threshold for the closure years
    fails with a 'too few pupils' reason; it then requests nothing and its unit closes."""
    # a school threshold no village reaches, one unviable year before closing
    thr = list(SMALL.services.viability_threshold)
    thr[KINDS.index("school")] = 10**6
    m = RegionModel(SMALL.with_overrides(services={"closure_years": 1, "closure_hazard": 0.0,
                                                   "viability_threshold": thr}), seed=1)
    p = _village(m, 100, 300)
    ini = make("village_school", p, 2022, settings={"threshold_factor": 1.0,
                                                    "volunteer_hours": 0.0})
    m.with_interventions([ini])
    m.step()
    u = m.services.held_unit(p, "school")
    assert u >= 0 and m.services.open[u]
    m.step()  # under its threshold in 2022: it fails in 2023
    failed = [e for e in ini.events_ if e.event == "failed"]
    assert failed and "pupils" in failed[0].reason and failed[0].year == 2023
    assert not m.services.open[u] and m.services.closed_year[u] == 2023
    assert m.services.held_unit(p, "school") == -1


def _carless(m: RegionModel, p: int) -> float:
    """Full-scale households without a car in place ``p``."""
    hh = m.pop.households
    return float(np.sum((hh.place == p) & ~hh.car)) / m.params.scale


def test_car_sharing_raises_carless_values_only():
    """Rule: car sharing adds access_share x coverage x the car households' advantage (if
    positive) to car-less segments in the targeted place, coverage = min(1, cars x
    members_per_car / car-less households); car segments and other places are unchanged."""
    m = _model()
    p = _village(m)
    seg = m.segments
    car, nocar = seg.select(car=True), seg.select(car=False)
    before = values_with(m, _none(m))
    settings = {"access_share": 0.5, "cars": 3, "members_per_car": 10.0}
    after = values_with(m, declared(m, [make("car_sharing", p, 2022, settings=settings)]))
    others = _others(m, p)
    np.testing.assert_array_equal(after[car], before[car])
    np.testing.assert_array_equal(after[:, others], before[:, others])
    cover = min(1.0, 30.0 / _carless(m, p))
    gap = np.maximum(before[seg.counterpart(nocar, car=True), p] - before[nocar, p], 0.0)
    np.testing.assert_allclose(after[nocar, p], before[nocar, p] + 0.5 * cover * gap,
                               rtol=1e-5)
    assert (after[nocar, p] > before[nocar, p]).any()


def test_a_larger_fleet_covers_more_carless_households():
    """Rule (members per car, evidence car-06/car-07): where a place has more car-less
    households than the fleet's members, the share gained grows with the cars until every
    car-less household can join; beyond that more cars add nothing."""
    m = _model()
    p = _village(m)
    n = _carless(m, p)
    assert n > 30, "the test needs a place with more car-less households than 3 cars serve"
    shares = []
    for cars in (3, 6, int(np.ceil(n / 10)), int(np.ceil(n / 10)) + 5):
        eff = declared(m, [make("car_sharing", p, 2022, settings={
            "cars": cars, "members_per_car": 10.0, "access_share": 0.5})])
        shares.append(float(eff.car_access()[p]))
    assert shares[0] == pytest.approx(0.5 * 30 / n, rel=1e-5)
    assert shares[1] == pytest.approx(2 * shares[0], rel=1e-5)
    assert shares[2] == pytest.approx(0.5) and shares[3] == pytest.approx(0.5)


def test_two_car_sharing_schemes_in_one_place_count_the_larger_share():
    """Rule (CarAccess combines by maximum): two schemes with shares 0.3 and 0.6 in one place
    give what the 0.6 scheme gives alone, not a compounded 0.72."""
    m = _model()
    p = _village(m)
    both = declared(m, [make("car_sharing", p, 2022, settings={"access_share": s})
                        for s in (0.3, 0.6)])
    alone = declared(m, [make("car_sharing", p, 2022, settings={"access_share": 0.6})])
    np.testing.assert_array_equal(values_with(m, both), values_with(m, alone))


def test_flex_transit_raises_bus_level_for_carless_only_and_ends():
    """Rule: flex transit raises the place's bus level to at least service_level, which only
    car-less segments value (bus weight x rise); after the end year it declares nothing."""
    m = _model()
    p = _village(m)
    level0 = m.world.bus_level
    assert level0[p] < 0.8
    ini = make("flex_transit", p, 2022, 2022, {"service_level": 0.8})
    eff = declared(m, [ini], 2022)
    st = state_with(m, eff)
    assert st.bus_level[p] == pytest.approx(0.8)
    np.testing.assert_array_equal(st.bus_level[_others(m, p)], level0[_others(m, p)])
    before, after = values_with(m, _none(m)), values_with(m, eff)
    car, nocar = m.segments.select(car=True), m.segments.select(car=False)
    np.testing.assert_array_equal(after[car], before[car])
    np.testing.assert_allclose(after[nocar, p] - before[nocar, p],
                               _weight(m, "bus")[nocar] * (0.8 - level0[p]))
    assert len(declared(m, [ini], 2023)) == 0
    assert [e.event for e in ini.events_] == ["started", "ended"]


def test_remote_work_hub_raises_worker_segments_only():
    """Rule: a remote-work hub adds job_access weight x (log10 jobs within the stretched
    commute time - log10 jobs within 30 min car / 45 min bus) to worker segments in the
    place; non-worker segments and other places are unchanged."""
    m = _model()
    p = _village(m)
    before = values_with(m, _none(m))
    after = values_with(m, declared(m, [make("remote_work_hub", p, 2022,
                                             settings={"remote_share": 0.5, "days": 2.0})]))
    seg = m.segments
    worker, idle = seg.select(worker=True), seg.select(worker=False)
    np.testing.assert_array_equal(after[idle], before[idle])
    np.testing.assert_array_equal(after[:, _others(m, p)], before[:, _others(m, p)])
    stretch = 1.0 / (1.0 - 0.5 * 2.0 / 5.0)
    car_gain = (np.log10(1 + m.jobs.within(m.world, 30 * stretch)[p])
                - np.log10(1 + m.access.car30[p]))
    bus_gain = (np.log10(1 + m.jobs.within(m.world, 45 * stretch, by_bus=True)[p])
                - np.log10(1 + m.access.bus45[p]))
    has_car = seg.attribute("car").astype(bool)
    expected = _weight(m, "job_access") * np.where(has_car, car_gain, bus_gain)
    np.testing.assert_allclose(after[worker, p] - before[worker, p], expected[worker],
                               rtol=1e-5)
    assert car_gain > 0 and (after[worker, p] > before[worker, p]).any()


def test_housing_build_adds_and_demolish_keeps_occupied():
    """Rule: 'build' adds dwellings x scale to the place's stock in the start year;
    'demolish' removes vacant dwellings only, never leaving fewer dwellings than occupied
    households; nothing happens in later years."""
    m = _model()
    hh = m.pop.households
    occupied = np.bincount(hh.place[hh.housed], minlength=m.world.n)
    p = _village(m)
    # the next village that has vacant dwellings at the start (some have none at scale 0.02)
    q = next(v for v in (_village(m, nth=k) for k in range(1, 50))
             if m.housing.dwellings[v] > occupied[v])
    build = make("housing", p, 2022, settings={"dwellings": 500, "mode": "build"})
    razed = make("housing", q, 2022, settings={"dwellings": 10000, "mode": "demolish"})
    change = declared(m, [build, razed], 2022).dwelling_change()
    assert change[p] == 10  # 500 x scale 0.02
    assert change[q] == -(m.housing.dwellings[q] - occupied[q])
    assert np.count_nonzero(change) == 2
    assert {e.event for e in build.events_} == {"built", "started"}
    assert len(declared(m, [build, razed], 2023)) == 0
    stock0 = m.housing.dwellings.copy()
    m.with_interventions([make("housing", p, 2022, settings={"dwellings": 500})]).step()
    assert m.housing.dwellings[p] >= stock0[p] + 10  # (plus whatever the market built)


def test_community_house_raises_community_and_relieves_fatigue_next_year():
    """Rule: a community house raises the place's community score by community_gain (every
    segment gains community weight x gain there), recruits, and lowers its volunteers'
    fatigue by fatigue_relief at the next renewal."""
    m = _model()
    p = _village(m)
    ini = make("community_house", p, 2022, settings={"community_gain": 0.5,
                                                     "fatigue_relief": 0.1})
    eff = declared(m, [ini], 2022)
    st = state_with(m, eff)
    assert st.community[p] == pytest.approx(m.world.community[p] + 0.5)
    np.testing.assert_array_equal(st.community[_others(m, p)],
                                  m.world.community[_others(m, p)])
    diff = values_with(m, eff)[:, p] - values_with(m, _none(m))[:, p]
    np.testing.assert_allclose(diff, 0.5 * _weight(m, "community"))
    assert eff.volunteer_relief()[p] == pytest.approx(0.1)
    assert eff.volunteer_recruitment()[p] == pytest.approx(ini.settings.recruitment)
    # through the model: after a year using 95% of the capacity, fatigue is wear x 0.95
    # without the house, and fatigue_relief lower with it
    rules = CommunityRules()
    west = west_mask(m.world.places["municipality"].to_numpy())
    hours = 0.95 * free_hours(m.pop, west, m.params.scale, rules)[p]
    runs = []
    for house in (True, False):
        items = [make("nature_project", p, 2022, settings={"volunteer_hours": hours})]
        if house:
            items.append(make("community_house", p, 2022, settings={"fatigue_relief": 0.1,
                                                                    "volunteer_hours": 0.0}))
        m2 = RegionModel(SMALL, seed=1).with_interventions(items)
        m2.step()
        m2.step()
        runs.append(m2.interventions.community.fatigue[p])
    f_house, f_alone = runs
    assert f_alone == pytest.approx(rules.wear * 0.95)
    assert f_house == pytest.approx(f_alone - 0.1)


def test_health_outreach_shortens_doctor_distance_in_target_only():
    """Rule: health outreach makes the targeted place's doctor distance access_km; no other
    place or service kind changes, and seniors (highest doctor weight) gain most."""
    m = _model()
    doc = KINDS.index("doctor")
    km0 = m.service_km()
    p = int(np.flatnonzero(km0[:, doc] > 10)[0])
    eff = declared(m, [make("health_outreach", p, 2022, settings={"access_km": 5.0})])
    km = state_with(m, eff).service_km
    expected = np.array(km0)
    expected[p, doc] = 5.0
    np.testing.assert_allclose(km, expected)
    before, after = values_with(m, _none(m)), values_with(m, eff)
    gain = _weight(m, "doctor") * (min(km0[p, doc], 30.0) - 5.0) / 10.0
    np.testing.assert_allclose(after[:, p] - before[:, p], gain, rtol=1e-5)
    senior = m.segments.stage == 3
    assert senior[np.argmax(after[:, p] - before[:, p])]
    np.testing.assert_array_equal(after[:, _others(m, p)], before[:, _others(m, p)])


def test_nature_project_raises_nature_in_target_only():
    """Rule: a nature project raises the place's nature score by nature_gain from the start
    year (every segment gains nature weight x gain there, nowhere else)."""
    m = _model()
    p = _village(m)
    ini = make("nature_project", p, 2023, 2023, {"nature_gain": 0.5})
    assert len(declared(m, [ini], 2022)) == 0  # before the start year: nothing
    eff = declared(m, [ini], 2023)
    expected = m.world.nature.copy()
    expected[p] += 0.5
    np.testing.assert_allclose(state_with(m, eff).nature, expected)
    before, after = values_with(m, _none(m)), values_with(m, eff)
    np.testing.assert_allclose(after[:, p] - before[:, p], 0.5 * _weight(m, "nature"))
    np.testing.assert_array_equal(after[:, _others(m, p)], before[:, _others(m, p)])
    assert len(declared(m, [ini], 2024)) == 0


def test_initiative_fails_when_volunteers_run_short():
    """Rule: an initiative needing more volunteer hours than the place can give runs while
    short for fewer than fail_years years, then fails with a reason naming the volunteers
    and its effect is gone (stepped through the model, which renews capacity yearly)."""
    m = _model()
    p = _village(m)
    ini = make("community_house", p, 2022, settings={"volunteer_hours": 1e9, "fail_years": 2})
    m.with_interventions([ini])
    m.step()
    assert ini.active_[0] and ini.short_years_[0] == 1
    assert m.state.community[p] == pytest.approx(m.world.community[p] + 0.5)
    m.step()
    failed = [e for e in ini.events_ if e.event == "failed"]
    assert len(failed) == 1 and failed[0].year == 2023 and failed[0].place_id == p
    assert "volunteer" in failed[0].reason
    assert not ini.active_[0]
    np.testing.assert_array_equal(m.state.community, m.world.community)


@pytest.mark.parametrize("kind", sorted(INITIATIVES))
def test_every_kind_documents_itself_and_rejects_unknown_settings(kind):
    """Rule: every registered kind states its mechanism and evidence and rejects unknown
    settings keys (a misspelt setting never silently does nothing)."""
    cls = INITIATIVES[kind]
    doc = __import__(cls.__module__, fromlist=["_"]).__doc__
    assert "**Mechanism.**" in doc and "**Evidence" in doc
    with pytest.raises(ValueError, match="Extra inputs"):
        cls.Settings.model_validate({"no_such_setting": 1})


def test_community_house_recruits_volunteers_for_the_next_year():
    """Rule: a community house's recruitment s turns s of the place's non-volunteers into
    volunteers at the next renewal: the place's capacity is then free_hours with
    recruitment s, and other places' capacity is unchanged."""
    m = _model()
    p = _village(m)
    house = make("community_house", p, 2022, settings={"recruitment": 0.2,
                                                        "volunteer_hours": 0.0})
    m.with_interventions([house]).step()
    rules = CommunityRules()
    west = west_mask(m.world.places["municipality"].to_numpy())
    r = np.zeros(m.world.n)
    r[p] = 0.2
    expected = free_hours(m.pop, west, m.params.scale, rules, recruitment=r)
    plain = free_hours(m.pop, west, m.params.scale, rules)
    m.step()
    cap = m.interventions.community.capacity
    assert cap[p] == pytest.approx(expected[p]) and cap[p] > plain[p]
    np.testing.assert_allclose(np.delete(cap, p), np.delete(plain, p))


def test_village_school_needs_the_friskole_minimum_of_pupils():
    """Rule (Friskoleloven § 19, school-01): without a threshold_factor the school is viable
    on min_pupils / (0.8 x attendance) pupils aged 6-15, i.e. that over the municipal
    threshold; a given threshold_factor wins."""
    m = _model()
    p = _village(m)
    thr = m.params.services.viability_threshold[KINDS.index("school")]
    for settings, factor in (({}, 32 / (0.8 * thr)),
                             ({"attendance": 0.67}, 32 / (0.8 * 0.67 * thr)),
                             ({"threshold_factor": 0.3}, 0.3)):
        eff = declared(m, [make("village_school", p, 2022, settings=settings)])
        (unit,) = eff.unit_requests()
        assert unit.factor == pytest.approx(min(factor, 1.0))
