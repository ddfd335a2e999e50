"""Initiative kinds: each test proves the mechanism the kind's docstring claims."""

from __future__ import annotations

import numpy as np
import pytest

from sim.community import renew
from sim.initiatives import INITIATIVES
from sim.model import RegionModel
from sim.params import Parameters
from sim.services import KINDS, catchments

SMALL = Parameters(scale=0.02, end_year=2024)
#: Service contests need more households per place (less sampling noise in catchments) and
#: deterministic closures: a unit unviable for 2 years closes.
CONTEST = Parameters(scale=0.1, end_year=2026,
                     services={"closure_years": 2, "closure_hazard": 1.0})
SEGMENTS = np.arange(16)
CAR = (SEGMENTS // 2) % 2 == 1
WORKER = SEGMENTS % 2 == 1
STAGE = SEGMENTS // 4


def _model(params: Parameters = SMALL) -> RegionModel:
    m = RegionModel(params, seed=1)
    renew(m.community_capacity, m)
    return m


def _make(kind: str, place: int, start: int = 2022, end: int | None = None, **settings):
    cls = INITIATIVES[kind]
    return cls(name="t", places=np.array([place]), start=start, end=end,
               settings=cls.Settings(**settings))


def _village(m: RegionModel, lo: float = 500, hi: float = 3000, nth: int = 0) -> int:
    """The ``nth`` town with ``lo``-``hi`` inhabitants (volunteer capacity to spare)."""
    pl = m.world.places
    ok = (pl["kind"] == "town").to_numpy() & pl["population"].between(lo, hi).to_numpy()
    return int(np.flatnonzero(ok)[nth])


def _weight(m: RegionModel, term: str) -> np.ndarray:
    """Weight of ``term`` per segment (by the segment's stage)."""
    return np.asarray(m.params.relocation.weights[term], float)[STAGE]


def _others(m: RegionModel, p: int) -> np.ndarray:
    return np.flatnonzero(np.arange(m.world.n) != p)


def _unviable_units(m: RegionModel, kind: str, lo: float, hi: float) -> np.ndarray:
    """Units of ``kind``, each the only one of its town, with ``lo``-``hi`` x the threshold
    as catchment and no unviable years counted yet, nearest the middle of that band first."""
    k = KINDS.index(kind)
    sv = m.services
    thr = m.params.services.viability_threshold[k]
    c = catchments(m.world, sv, m.service_users(None)[k], k)
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
    with_ini = RegionModel(CONTEST, seed=1)
    ini = _make({"grocer": "coop_grocer", "school": "village_school"}[kind],
                int(base.services.place[unit]), **settings)
    with_ini.interventions.append(ini)
    for _ in range(CONTEST.end_year - CONTEST.base_year):
        with_ini.step()
    return base, with_ini, unit, ini


def test_coop_grocer_survives_where_commercial_grocer_closes():
    """Rule: a coop grocer needs only threshold_factor x the grocer threshold, so in a town
    whose only grocer has 60-90% of the commercial customer base and closes after the
    closure years without the coop, the coop-run shop (same seed) stays open."""
    base, coop, unit, ini = _contest("grocer", 0.6, 0.9, type="B")
    assert ini.unit[0] == unit  # the coop took the village's shop over
    assert base.services.closed_year[unit] > 0
    assert coop.services.open[unit]
    assert coop.services.threshold_factor[unit] == pytest.approx(0.5)
    assert not [e for e in ini.events if e.event == "failed"]


def test_village_school_survives_where_commercial_threshold_closes_it():
    """Rule: a parent-run school needs only threshold_factor x the school threshold (pupils
    6-15), so where the town's only school has 60-90% of the pupils the municipal threshold
    needs and closes without the initiative, it stays open with it (same seed)."""
    base, with_ini, unit, ini = _contest("school", 0.6, 0.9)
    assert ini.unit[0] == unit
    assert not base.services.open[unit] and base.services.closed_year[unit] > 0
    assert with_ini.services.open[unit]
    assert not [e for e in ini.events if e.event == "failed"]


def test_village_school_fails_when_pupils_too_few():
    """Rule: a parent-run school that stays under its lowered threshold for the closure years
    fails with a 'too few pupils' reason and its unit closes."""
    m = _model()
    p = _village(m, 100, 300)
    ini = _make("village_school", p, threshold_factor=1.0, volunteer_hours=0.0)
    ini.step(m, 2022)
    u = ini.unit[0]
    m.services.below[u] = m.params.services.closure_years  # as if unviable for years
    ini.step(m, 2023)
    failed = [e for e in ini.events if e.event == "failed"]
    assert failed and "pupils" in failed[0].reason
    assert not m.services.open[u]


def test_car_sharing_raises_carless_values_only():
    """Rule: car sharing adds access_share x the car households' advantage (if positive) to
    car-less segments in the targeted place; car segments and other places are unchanged."""
    m = _model()
    p = _village(m)
    before = m.place_values()
    ini = _make("car_sharing", p, access_share=0.5)
    m.interventions.append(ini)
    ini.step(m, 2022)
    after = m.place_values()
    others = _others(m, p)
    np.testing.assert_array_equal(after[CAR], before[CAR])
    np.testing.assert_array_equal(after[:, others], before[:, others])
    gap = np.maximum(before[SEGMENTS[~CAR] + 2, p] - before[~CAR, p], 0.0)
    np.testing.assert_allclose(after[~CAR, p], before[~CAR, p] + 0.5 * gap)
    assert (after[~CAR, p] > before[~CAR, p]).any()
    ini.step(m, 2023)  # still running: the adjuster stays installed once
    assert m.value_adjusters.count(ini.adjust) == 1


def test_flex_transit_raises_bus_level_for_carless_only_and_restores():
    """Rule: flex transit raises the place's bus level to at least service_level, which only
    car-less segments value (bus weight x rise); after the end year the level is restored."""
    m = _model()
    p = _village(m)
    level0 = m.bus_level.copy()
    assert level0[p] < 0.8
    before = m.place_values()
    ini = _make("flex_transit", p, end=2022, service_level=0.8)
    ini.step(m, 2022)
    assert m.bus_level[p] == pytest.approx(0.8)
    np.testing.assert_array_equal(m.bus_level[_others(m, p)], level0[_others(m, p)])
    after = m.place_values()
    np.testing.assert_array_equal(after[CAR], before[CAR])
    np.testing.assert_allclose(after[~CAR, p] - before[~CAR, p],
                               _weight(m, "bus")[~CAR] * (0.8 - level0[p]))
    ini.step(m, 2023)
    np.testing.assert_allclose(m.bus_level, level0)
    assert [e.event for e in ini.events] == ["started", "ended"]


def test_remote_work_hub_raises_worker_segments_only():
    """Rule: a remote-work hub adds job_access weight x (log10 jobs within the stretched
    commute time - log10 jobs within 30 min car / 45 min bus) to worker segments in the
    place; non-worker segments and other places are unchanged."""
    m = _model()
    p = _village(m)
    before = m.place_values()
    ini = _make("remote_work_hub", p, remote_share=0.5, days=2.0)
    m.interventions.append(ini)
    ini.step(m, 2022)
    after = m.place_values()
    np.testing.assert_array_equal(after[~WORKER], before[~WORKER])
    np.testing.assert_array_equal(after[:, _others(m, p)], before[:, _others(m, p)])
    stretch = 1.0 / (1.0 - 0.5 * 2.0 / 5.0)
    car_gain = (np.log10(1 + m.world.jobs_within(30 * stretch)[p])
                - np.log10(1 + m.jobs30_car[p]))
    bus_gain = (np.log10(1 + m.world.jobs_within(45 * stretch, by_bus=True)[p])
                - np.log10(1 + m.jobs45_bus[p]))
    expected = _weight(m, "job_access") * np.where(CAR, car_gain, bus_gain)
    np.testing.assert_allclose(after[WORKER, p] - before[WORKER, p], expected[WORKER],
                               rtol=1e-5)
    assert car_gain > 0 and (after[WORKER, p] > before[WORKER, p]).any()


def test_housing_build_adds_and_demolish_keeps_occupied():
    """Rule: 'build' adds dwellings x scale to the place's stock; 'demolish' removes vacant
    dwellings only, never leaving fewer dwellings than occupied households."""
    m = _model()
    p, q, r = _village(m), _village(m, nth=1), _village(m, nth=2)
    stock0 = m.housing.dwellings.copy()
    build = _make("housing", p, dwellings=500, mode="build")
    build.step(m, 2022)
    assert m.housing.dwellings[p] == stock0[p] + 10  # 500 x scale 0.02
    assert {e.event for e in build.events} == {"built", "started"}
    hh = m.pop.households
    occupied = np.bincount(hh.place[hh.housed], minlength=m.world.n)
    m.housing.dwellings[r] = occupied[r] + 5  # five vacant dwellings
    razed = _make("housing", q, dwellings=10000, mode="demolish")
    razed.step(m, 2022)
    assert m.housing.dwellings[q] == occupied[q]
    few = _make("housing", r, dwellings=100, mode="demolish")  # 2 simulated dwellings
    few.step(m, 2022)
    assert m.housing.dwellings[r] == occupied[r] + 3
    untouched = np.setdiff1d(np.arange(m.world.n), [p, q, r])
    np.testing.assert_array_equal(m.housing.dwellings[untouched], stock0[untouched])


def test_community_house_raises_community_relieves_fatigue_and_restores():
    """Rule: a community house raises the place's community score by community_gain (every
    segment gains community weight x gain there), lowers its volunteer fatigue by
    fatigue_relief each year, and takes the gain back on stop."""
    m = _model()
    p = _village(m)
    com0 = m.community.copy()
    before = m.place_values()
    m.community_capacity.fatigue[p] = 0.3
    ini = _make("community_house", p, end=2022, community_gain=0.5, fatigue_relief=0.1)
    ini.step(m, 2022)
    assert m.community[p] == pytest.approx(com0[p] + 0.5)
    np.testing.assert_array_equal(m.community[_others(m, p)], com0[_others(m, p)])
    assert m.community_capacity.fatigue[p] == pytest.approx(0.2)
    after = m.place_values()
    np.testing.assert_allclose(after[:, p] - before[:, p], 0.5 * _weight(m, "community"))
    ini.step(m, 2023)
    np.testing.assert_allclose(m.community, com0)


def test_health_outreach_shortens_doctor_distance_in_target_only():
    """Rule: health outreach makes the targeted place's doctor distance access_km; no other
    place or service kind changes, and seniors (doctor weight 0.4) gain most; stop restores."""
    m = _model()
    doc = KINDS.index("doctor")
    km0 = m.service_km()
    p = int(np.flatnonzero(km0[:, doc] > 10)[0])
    before = m.place_values()
    ini = _make("health_outreach", p, end=2022, access_km=5.0)
    ini.step(m, 2022)
    km = m.service_km()
    assert km[p, doc] == pytest.approx(5.0)
    expected = km0.copy()
    expected[p, doc] = 5.0
    np.testing.assert_allclose(km, expected)
    after = m.place_values()
    gain = _weight(m, "doctor") * (min(km0[p, doc], 30.0) - 5.0) / 10.0
    np.testing.assert_allclose(after[:, p] - before[:, p], gain, rtol=1e-5)
    assert np.argmax(after[:, p] - before[:, p]) // 4 == 3  # a senior segment gains most
    np.testing.assert_array_equal(after[:, _others(m, p)], before[:, _others(m, p)])
    ini.step(m, 2023)
    assert np.isinf(m.service_access_km).all()


def test_nature_project_raises_nature_in_target_only():
    """Rule: a nature project raises the place's nature score by nature_gain from the start
    year (every segment gains nature weight x gain there, nowhere else); stop restores."""
    m = _model()
    p = _village(m)
    nat0 = m.nature.copy()
    before = m.place_values()
    ini = _make("nature_project", p, start=2023, end=2023, nature_gain=0.5)
    ini.step(m, 2022)  # before the start year: nothing
    np.testing.assert_array_equal(m.nature, nat0)
    ini.step(m, 2023)
    expected = nat0.copy()
    expected[p] += 0.5
    np.testing.assert_allclose(m.nature, expected)
    after = m.place_values()
    np.testing.assert_allclose(after[:, p] - before[:, p], 0.5 * _weight(m, "nature"))
    np.testing.assert_array_equal(after[:, _others(m, p)], before[:, _others(m, p)])
    ini.step(m, 2024)
    np.testing.assert_allclose(m.nature, nat0)


def test_initiative_fails_when_volunteers_run_short():
    """Rule: an initiative needing more volunteer hours than the place can give runs while
    short for fewer than fail_years years, then fails with a reason naming the volunteers
    and its effect is undone (stepped through the model, which renews capacity yearly)."""
    m = RegionModel(SMALL, seed=1)
    p = _village(m)
    com0 = m.community.copy()
    ini = _make("community_house", p, volunteer_hours=1e9, fail_years=2)
    m.interventions.append(ini)
    m.step()
    assert ini.active[0] and ini.short_years[0] == 1
    assert m.community[p] == pytest.approx(com0[p] + 0.5)
    m.step()
    failed = [e for e in ini.events if e.event == "failed"]
    assert len(failed) == 1 and failed[0].year == 2023 and failed[0].place_id == p
    assert "volunteer" in failed[0].reason
    assert not ini.active[0]
    np.testing.assert_allclose(m.community, com0)


@pytest.mark.parametrize("kind", sorted(INITIATIVES))
def test_every_kind_documents_itself_and_rejects_unknown_settings(kind):
    """Rule: every registered kind states its mechanism and evidence and rejects unknown
    settings keys (a misspelt setting never silently does nothing)."""
    cls = INITIATIVES[kind]
    doc = __import__(cls.__module__, fromlist=["_"]).__doc__
    assert "**Mechanism.**" in doc and "**Evidence" in doc
    with pytest.raises(ValueError, match="Extra inputs"):
        cls.Settings.model_validate({"no_such_setting": 1})
