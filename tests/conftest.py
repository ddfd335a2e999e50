"""Shared fixtures: small-scale runs (the full scale lives in benchmarks/).

Behaviour tests run on the calibrated defaults (``default_parameters()``), what users run.
"""

from __future__ import annotations

import pytest

from sim.model import RegionModel
from sim.params import Parameters, default_parameters

SMALL_SCALE = 0.03


@pytest.fixture(scope="session")
def small_params() -> Parameters:
    return default_parameters().with_overrides(scale=SMALL_SCALE, end_year=2027)


@pytest.fixture(scope="session")
def small_run(small_params: Parameters) -> RegionModel:
    """A 3% run 2021-2027, checked step by step for dwelling over-filling."""
    m = RegionModel(small_params, seed=11)
    m.overfull_years = []
    for _ in range(small_params.end_year - small_params.base_year):
        m.step()
        hh = m.pop.households
        import numpy as np

        occupied = np.bincount(hh.place[hh.housed], minlength=m.world.n)
        if (occupied > m.housing.dwellings).any():
            m.overfull_years.append(m.year)
    return m


@pytest.fixture(scope="session")
def full_scale_start() -> RegionModel:
    """The full-scale initial state (no steps)."""
    return RegionModel(Parameters(scale=1.0, end_year=2022), seed=0)
