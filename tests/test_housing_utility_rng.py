"""Housing prices and stock; the utility-term registry; named random streams."""

from __future__ import annotations

import numpy as np
import pytest

from sim.housing import Housing
from sim.params import HousingParams, RelocationParams
from sim.rng import Streams
from sim.utility import TERMS, TermContext, register_term, segment_values


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


def _ctx(car: bool, n: int = 3) -> TermContext:
    return TermContext(jobs30_car=np.array([10.0, 1e4, 1e5]), jobs45_bus=np.array([1.0, 10, 100]),
                       service_km=np.tile(np.array([[1.0], [10.0], [40.0]]), (1, 4)),
                       bus_level=np.array([0.0, 0.5, 1.0]), nature=np.zeros(n),
                       community=np.zeros(n), price=np.ones(n), car=car)


def test_terms_apply_only_to_their_households():
    """Rule: job access counts only for workers, the bus only for car-less households."""
    w = {"job_access": (1.0, 1.0, 1.0, 1.0), "bus": (1.0, 1.0, 1.0, 1.0)}
    v = segment_values(_ctx(True), _ctx(False), w)
    young_car_worker, young_car_idle = v[0 * 4 + 2 + 1], v[0 * 4 + 2 + 0]
    young_nocar_idle = v[0 * 4 + 0 + 0]
    assert (young_car_idle == 0).all()
    assert young_car_worker[2] > young_car_worker[0]
    assert young_nocar_idle.tolist() == [0.0, 0.5, 1.0]


def test_a_registered_term_enters_the_utility():
    """Rule: a plugin term with a weight changes place values without touching the core."""
    @register_term("test_quiet")
    def quiet(ctx: TermContext) -> np.ndarray:
        """Quiet (test plugin)."""
        return ctx.extra["quiet"]

    try:
        ctx_c, ctx_n = _ctx(True), _ctx(False)
        ctx_c.extra["quiet"] = ctx_n.extra["quiet"] = np.array([0.0, 1.0, 2.0])
        v = segment_values(ctx_c, ctx_n, {"test_quiet": (0.0, 0.0, 0.0, 2.0)})
        assert v[12].tolist() == [0.0, 2.0, 4.0] and (v[:12] == 0).all()
    finally:
        TERMS.pop("test_quiet")


def test_unknown_term_weight_is_an_error():
    """Rule: a weight for a term nobody registered is rejected with the known names."""
    with pytest.raises(KeyError, match="unknown utility terms"):
        segment_values(_ctx(True), _ctx(False), {"beach": (1.0, 1.0, 1.0, 1.0)})
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
