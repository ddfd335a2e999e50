"""Trends: region-wide exogenous changes act on the segments they claim."""

from __future__ import annotations

import numpy as np

from sim.conformance import declared, values_with
from sim.effects import EffectSet
from sim.model import RegionModel
from sim.params import default_parameters
from sim.trends import TRENDS

PARAMS = default_parameters().with_overrides(scale=0.02, end_year=2023)


def _trend(kind: str, start: int = 2022, end: int | None = None, **settings):
    cls = TRENDS[kind]
    return cls(start=start, end=end, settings=cls.Settings(**settings))


def _values_with(kind: str, **settings) -> tuple[np.ndarray, np.ndarray, RegionModel]:
    m = RegionModel(PARAMS, seed=2)
    before = values_with(m, EffectSet([], m.world.n))
    return before, values_with(m, declared(m, [_trend(kind, **settings)], 2022)), m


def test_remote_work_raises_only_car_worker_segments():
    """Rule: remote work lengthens the acceptable commute: worker households with a car gain
    (somewhere), every other segment is unchanged."""
    before, after, m = _values_with("remote_work", share=0.5, days=3.0)
    car_worker = m.segments.select(car=True, worker=True)
    others = np.setdiff1d(np.arange(m.segments.n), car_worker)
    assert (after[car_worker] >= before[car_worker] - 1e-12).all()
    assert (after[car_worker] > before[car_worker]).any()
    assert np.array_equal(after[others], before[others])


def test_fuel_price_lowers_car_worker_values_and_ends():
    """Rule: dearer fuel shrinks car job access; after the end year it declares nothing."""
    before, after, m = _values_with("fuel_price", increase_pct=100.0)
    seg = m.segments
    weighted = np.asarray(m.params.relocation.weights["job_access"])[seg.stage] > 0
    car_worker = np.flatnonzero(seg.mask(car=True, worker=True) & weighted)
    assert (after[car_worker] <= before[car_worker] + 1e-12).all()
    assert (after[car_worker] < before[car_worker]).any()
    t = _trend("fuel_price", end=2022)
    assert len(declared(m, [t], 2022)) == 1 and len(declared(m, [t], 2023)) == 0


def test_elderly_inmigration_weights_older_arrivals_while_active():
    """Rule: the trend weights older in-migrant households while active (1 otherwise)."""
    m = RegionModel(PARAMS.with_overrides(scale=0.01), seed=1)
    t = _trend("elderly_inmigration", end=2022, factor=3.0)
    assert declared(m, [t], 2022).in_migrant_old_weight() == 3.0
    assert declared(m, [t], 2023).in_migrant_old_weight() == 1.0
