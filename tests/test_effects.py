"""Effects combine by their stated rules, and the place state is rebuilt from them."""

from __future__ import annotations

import numpy as np
import pytest

from sim.effects import (
    BusLevel,
    CarAccess,
    DwellingChange,
    EffectSet,
    InMigrantAgeWeight,
    ScoreBoost,
    ServiceReach,
    ServiceUnit,
    ValueAdjuster,
    ValueShift,
    VolunteerRecruitment,
    VolunteerRelief,
)
from sim.params import SERVICE_KINDS

N = 5
DOC = SERVICE_KINDS.index("doctor")


def test_service_reach_combines_by_minimum_per_place_and_kind():
    """Rule: several reaches on one place and kind count as the shortest; other places and
    kinds stay unreachable (inf)."""
    e = EffectSet([ServiceReach(places=[1], kind="doctor", km=5.0),
                   ServiceReach(places=[1, 2], kind="doctor", km=3.0),
                   ServiceReach(places=[2], kind="doctor", km=4.0)], N)
    r = e.reach_km()
    assert r[1, DOC] == 3.0 and r[2, DOC] == 3.0
    assert np.isinf(np.delete(r[:, DOC], [1, 2])).all()
    assert np.isinf(np.delete(r, DOC, axis=1)).all()


def test_bus_level_combines_by_maximum_and_scores_by_sum():
    """Rule: bus levels take the highest declared; score boosts add up per score."""
    e = EffectSet([BusLevel(places=[0], level=0.3), BusLevel(places=[0, 3], level=0.6),
                   ScoreBoost(places=[0], score="nature", delta=0.5),
                   ScoreBoost(places=[0, 1], score="nature", delta=0.25),
                   ScoreBoost(places=[4], score="au_quiet", delta=1.0)], N)
    assert e.bus_level_floor().tolist() == [0.6, 0, 0, 0.6, 0]
    b = e.score_boosts()
    assert b["nature"].tolist() == [0.75, 0.25, 0, 0, 0]
    assert b["au_quiet"].tolist() == [0, 0, 0, 0, 1.0]


def test_car_access_by_maximum_value_shifts_by_sum_dwellings_and_relief_by_sum():
    """Rule: car-access shares take the highest; value shifts, dwelling changes and fatigue
    relief add up; the in-migrant age weight takes the highest (1 when none)."""
    shift = np.arange(2 * N, dtype=float).reshape(2, N)
    e = EffectSet([CarAccess(places=[2], share=0.3), CarAccess(places=[2], share=0.6),
                   ValueShift(places=[1], delta=np.array([1.0, 2.0])),
                   ValueShift(places=[1], delta=shift),
                   ValueShift(delta=shift),  # region-wide
                   DwellingChange(places=[3, 3], count=np.array([5, -2])),
                   VolunteerRelief(places=[4], amount=0.1),
                   VolunteerRelief(places=[4], amount=0.05),
                   InMigrantAgeWeight(factor=2.0), InMigrantAgeWeight(factor=3.0)], N)
    assert e.car_access().tolist() == [0, 0, 0.6, 0, 0]
    v = e.value_shift(2)
    expected = shift.copy()
    expected[:, 1] += [1.0, 2.0]
    expected[:, 1] += shift[:, 1]
    np.testing.assert_array_equal(v, expected)
    assert e.dwelling_change().tolist() == [0, 0, 0, 3, 0]
    assert e.volunteer_relief()[4] == pytest.approx(0.15)
    assert e.in_migrant_old_weight() == 3.0
    assert EffectSet([], N).in_migrant_old_weight() == 1.0


def test_volunteer_recruitment_adds_up_to_at_most_everyone():
    """Rule: recruitment shares on one place add up, capped at 1; none means 0."""
    e = EffectSet([VolunteerRecruitment(places=[1], share=0.1),
                   VolunteerRecruitment(places=[1, 2], share=0.2),
                   VolunteerRecruitment(places=[3], share=0.7),
                   VolunteerRecruitment(places=[3], share=0.6)], N)
    np.testing.assert_allclose(e.volunteer_recruitment(), [0, 0.3, 0.2, 1.0, 0])
    assert EffectSet([], N).volunteer_recruitment().tolist() == [0.0] * N


def test_no_effects_means_the_neutral_value_of_every_rule():
    """Rule: an empty set changes nothing: no reach, no floors, no shifts, no units."""
    e = EffectSet([], N)
    assert np.isinf(e.reach_km()).all()
    assert e.bus_level_floor() is None and e.car_access() is None
    assert e.value_shift(16) is None and e.score_boosts() == {}
    assert not e.dwelling_change().any() and not e.unit_requests() and not e.adjusters()


def test_adjusters_keep_declaration_order():
    """Rule: value adjusters apply in the order declared."""
    def first(v, s, st):
        return v

    def second(v, s, st):
        return v

    e = EffectSet([ValueAdjuster(func=first), BusLevel(places=[0], level=1.0),
                   ValueAdjuster(func=second)], N)
    assert e.adjusters() == [first, second]


def test_effects_name_real_service_kinds():
    """Rule: a reach or a unit request for a kind that does not exist is refused at once."""
    with pytest.raises(ValueError, match="not one of"):
        ServiceReach(places=[0], kind="dentist", km=1.0)
    with pytest.raises(ValueError, match="not one of"):
        ServiceUnit(places=[0], kind="baker")
