"""Housing prices and stock; the utility-term registry; named random streams."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.housing import Housing
from sim.params import HousingParams, RelocationParams
from sim.registry import RegistryError
from sim.rng import Streams
from sim.segments import Segments
from sim.utility import TERMS, TermContext, register_term, segment_values, segments_for


def test_prices_follow_demand_and_stock_reacts():
    """Rule: excess demand raises prices and, after the trigger years, the stock grows;
    persistent vacancy lowers prices and makes dwellings derelict."""
    p = HousingParams(build_trigger_years=2, derelict_years=2, derelict_rate=0.5)
    h = Housing.initial(np.array([100, 100]), p, np.random.default_rng(0))
    start = h.dwellings.copy()
    for _ in range(3):
        h.update(occupied=np.array([100, 60]), applicants=np.array([50, 0]),
                 vacant_before=np.array([5, 40]), params=p, rng=np.random.default_rng(1))
    assert h.price[0] > 1 > h.price[1]
    assert h.dwellings[0] > start[0] and h.dwellings[1] < start[1]


def test_price_signal_is_in_full_scale_counts():
    """Rule: the price update sees full-scale estimates: (a, v) simulated at scale 0.1 move
    the price exactly as (10 a, 10 v) at 1:1, so the "+ 1" is one full-scale household at
    every scale (with raw counts, 2 applicants and 1 vacancy at 0.1 gave log(3/2), not
    log(21/11))."""
    p = HousingParams()
    small = Housing.initial(np.array([100, 100, 100]), p, np.random.default_rng(0))
    full = Housing.initial(np.array([1000, 1000, 1000]), p, np.random.default_rng(0))
    a, v = np.array([2, 0, 7]), np.array([1, 3, 7])
    small.update(np.array([100, 100, 100]), a, v, p, np.random.default_rng(1), scale=0.1)
    full.update(np.array([1000, 1000, 1000]), 10 * a, 10 * v, p, np.random.default_rng(1))
    np.testing.assert_allclose(small.price, full.price)
    assert small.price[0] == pytest.approx((21 / 11) ** p.price_elasticity)



def test_construction_follows_expected_demand_alike_at_every_scale():
    """Rule: with the model's demand signal (expected first-round choosers per vacancy, q),
    construction starts where q > 1 and builds build_response * (q - 1) * vacancies (at most
    build_rate of the stock), whatever the realised first-round choices: a place at scale
    0.1 builds, in expectation, a tenth of what the same place builds at 1:1 (the realised
    excess max(A - V, 0) built relatively more in small samples: issue 12)."""
    p = HousingParams(build_trigger_years=1, build_response=0.5, build_rate=0.2)
    q = np.array([3.0, 1.5, 0.8, 1.2])
    v_small = np.array([2, 4, 5, 1])
    built = {0.1: np.zeros(4), 1.0: np.zeros(4)}
    reps = 400
    for scale, k in ((0.1, 1), (1.0, 10)):
        for r in range(reps):
            h = Housing.initial(np.array([200, 200, 200, 200]) * k, p,
                                np.random.default_rng(0))
            res = h.update(np.array([200, 200, 200, 200]) * k, np.zeros(4, int),
                           v_small * k, p, np.random.default_rng(r), scale=scale, demand=q)
            built[scale] += res.built
    expected = 0.5 * np.maximum(q - 1, 0) * v_small
    np.testing.assert_allclose(built[1.0] / reps, 10 * expected, atol=1e-9)
    np.testing.assert_allclose(built[0.1] / reps, expected, atol=0.12)
    assert built[0.1][2] == 0 and built[1.0][2] == 0  # q < 1: no construction


def _state(n: int = 3, **extra) -> SimpleNamespace:
    """A place state of three places: few, some and many jobs; near, mid and far services."""
    return SimpleNamespace(jobs30_car=np.array([10.0, 1e4, 1e5]),
                           jobs45_bus=np.array([1.0, 10, 100]),
                           service_km=np.tile(np.array([[1.0], [10.0], [40.0]]), (1, 4)),
                           bus_level=np.array([0.0, 0.5, 1.0]), nature=np.zeros(n),
                           community=np.zeros(n), price=np.ones(n), extra=extra)


def test_terms_apply_only_to_their_households():
    """Rule: job access counts only for workers (by car or bus), the bus only for car-less
    households."""
    seg = Segments()
    w = {"job_access": (1.0, 1.0, 1.0, 1.0), "bus": (1.0, 1.0, 1.0, 1.0)}
    v = segment_values(_state(), seg, w)
    (car_worker,) = seg.select(stage="young", car=True, worker=True)
    (car_idle,) = seg.select(stage="young", car=True, worker=False)
    (nocar_idle,) = seg.select(stage="young", car=False, worker=False)
    (nocar_worker,) = seg.select(stage="young", car=False, worker=True)
    assert (v[car_idle] == 0).all()
    np.testing.assert_allclose(v[car_worker], np.log10(1 + np.array([10.0, 1e4, 1e5])))
    assert v[nocar_idle].tolist() == [0.0, 0.5, 1.0]
    np.testing.assert_allclose(v[nocar_worker],
                               np.log10(1 + np.array([1.0, 10, 100])) + np.array([0.0, 0.5, 1.0]))


def test_a_registered_term_enters_the_utility_for_the_households_it_names():
    """Rule: a plugin term with a weight changes place values without touching the core, for
    the households its applies_to names only (here: senior renters), and its tenure criterion
    adds the tenure axis to the segments."""
    with TERMS.scratch():
        @register_term("test_quiet", applies_to={"tenure": "renter"})
        def quiet(ctx: TermContext) -> np.ndarray:
            """Quiet (test plugin)."""
            return ctx.extra["quiet"]

        w = {"test_quiet": (0.0, 0.0, 0.0, 2.0)}
        seg = segments_for(w)
        assert seg.has("tenure") and seg.n == 32
        v = segment_values(_state(quiet=np.array([0.0, 1.0, 2.0])), seg, w)
        hit = seg.mask(stage="senior", tenure="renter")
        assert (v[hit] == [0.0, 2.0, 4.0]).all() and (v[~hit] == 0).all()
    assert "test_quiet" not in TERMS


def test_a_term_name_used_twice_is_an_error():
    """Rule: registering another term under a used name raises, never replaces silently."""
    with TERMS.scratch(), pytest.raises(RegistryError, match="registered twice"):
        @register_term("nature")
        def other_nature(ctx: TermContext) -> np.ndarray:
            """Not the shipped nature term."""
            return ctx.nature


def test_unknown_term_weight_is_an_error_with_a_suggestion():
    """Rule: a weight for a term nobody registered is rejected, naming the known terms and
    the nearest one."""
    with pytest.raises(KeyError, match="did you mean 'grocer'"):
        segment_values(_state(), Segments(), {"grocerr": (1.0, 1.0, 1.0, 1.0)})
    with pytest.raises(ValueError, match="grocerr: no utility term"):
        RelocationParams(weights={"grocerr": (1.0, 1.0, 1.0, 1.0)})
    assert set(RelocationParams().weights) <= set(TERMS)


def test_streams_are_reproducible_and_independent():
    """Rule: the same (seed, process, year) gives the same draws; others differ."""
    s = Streams(42)
    a = s.get("relocation", 2030).random(5)
    assert (a == Streams(42).get("relocation", 2030).random(5)).all()
    assert not (a == s.get("relocation", 2031).random(5)).any()
    assert not (a == s.get("demography", 2030).random(5)).any()
    assert not (a == Streams(43).get("relocation", 2030).random(5)).any()
    with pytest.raises(KeyError):
        s.get("weather")


def test_price_signal_correction_removes_the_bias_of_a_noisier_demand():
    """Rule: with the variance a smaller sample adds to the demand per vacancy, the price
    update moves prices on average as the noise-free demand does (second-order correction of
    the concave log signal: at least 80 % of the bias goes); without the variance the noisy
    demand lowers prices; a zero variance (a 1:1 run) changes nothing."""
    params = HousingParams(price_elasticity=0.1)
    n = 200_000
    rng = np.random.default_rng(3)
    q_true = np.full(n, 0.8)
    var = np.full(n, 0.03)
    noisy = np.maximum(q_true + rng.normal(0, np.sqrt(var)), 0.0)

    def log_price(demand, demand_variance=None):
        h = Housing(dwellings=np.full(n, 100), price=np.ones(n),
                    demand_years=np.zeros(n, np.int16), decline_years=np.zeros(n, np.int16))
        h.update(np.full(n, 95), np.zeros(n), np.full(n, 5), params,
                 np.random.default_rng(0), demand=demand, demand_variance=demand_variance)
        return np.log(h.price).mean()

    exact = log_price(q_true)
    bias = log_price(noisy) - exact
    assert bias < -0.001  # the bias the correction is for
    assert abs(log_price(noisy, var) - exact) < 0.2 * abs(bias)
    # at 1:1 the added variance is (1 - 1) x thinning variance = 0: the update is unchanged
    assert log_price(noisy, np.zeros(n)) == log_price(noisy)
