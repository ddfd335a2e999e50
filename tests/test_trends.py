"""Trends: region-wide exogenous changes act on the segments they claim."""

from __future__ import annotations

import numpy as np

from sim.model import RegionModel
from sim.params import Parameters
from sim.trends import TRENDS


def _values_with(kind: str, **settings) -> tuple[np.ndarray, np.ndarray, RegionModel]:
    m = RegionModel(Parameters(scale=0.02, end_year=2023), seed=2)
    before = m.place_values()
    cls = TRENDS[kind]
    trend = cls(start=2022, end=None, settings=cls.Settings(**settings))
    trend.step(m, 2022)
    return before, m.place_values(), m


def test_remote_work_raises_only_car_worker_segments():
    """Rule: remote work lengthens the acceptable commute: worker households with a car gain
    (somewhere), every other segment is unchanged."""
    before, after, _ = _values_with("remote_work", share=0.5, days=3.0)
    car_worker = [s * 4 + 3 for s in range(4)]
    others = [i for i in range(16) if i not in car_worker]
    assert (after[car_worker] >= before[car_worker] - 1e-12).all()
    assert (after[car_worker] > before[car_worker]).any()
    assert np.array_equal(after[others], before[others])


def test_fuel_price_lowers_car_worker_values_and_switches_off():
    """Rule: dearer fuel shrinks car job access; the effect disappears after the end year."""
    before, after, m = _values_with("fuel_price", increase_pct=100.0)
    car_worker = [s * 4 + 3 for s in range(3)]  # seniors have no job-access weight
    assert (after[car_worker] <= before[car_worker] + 1e-12).all()
    assert (after[car_worker] < before[car_worker]).any()
    trend = TRENDS["fuel_price"](start=2022, end=2022, settings=TRENDS["fuel_price"].Settings())
    trend.step(m, 2022)
    trend.step(m, 2023)
    assert len(m.value_adjusters) == 1  # only the first trend's adjuster remains


def test_elderly_inmigration_sets_and_resets_the_weight():
    """Rule: the trend weights older in-migrant households while active."""
    m = RegionModel(Parameters(scale=0.01, end_year=2023), seed=1)
    cls = TRENDS["elderly_inmigration"]
    t = cls(start=2022, end=2022, settings=cls.Settings(factor=3.0))
    t.step(m, 2022)
    assert m.immigrant_old_weight == 3.0
    t.step(m, 2023)
    assert m.immigrant_old_weight == 1.0
