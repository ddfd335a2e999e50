"""Services: catchments, closure after unviable years, opening above the threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.params import ServiceParams
from sim.services import KINDS, ORIGINS, Services, catchments, update_services
from sim.world import World


def _world(n=4):
    xy = np.array([[0, 0], [5, 0], [40, 0], [80, 0]], float)[:n]
    dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)).astype(np.float32)
    np.fill_diagonal(dist, 1.0)
    places = pd.DataFrame({"municipality_code": [1, 1, 2, 3][:n], "name": list("abcd")[:n],
                           "population": [1000, 300, 2000, 100][:n]})
    z = np.zeros(n)
    return World(places, dist, dist, dist, z, z, z, z, 0.5, 0.1)


def _services(places):
    s = Services(*(np.zeros(0, t) for t in (np.int8, np.int32, bool, np.int16, np.int8,
                                             np.int32, np.int32, np.float64)))
    s._append(np.zeros(len(places)), np.array(places), ORIGINS.index("osm"), 0)
    return s


def test_catchment_is_the_population_nearest_to_each_unit():
    """Rule: residents use the nearest open unit; units in one place share its catchment."""
    w = _world()
    s = _services([0, 0, 2])
    users = np.array([1000.0, 300, 2000, 100])
    c = catchments(w, s, users, 0)
    assert c.tolist() == [650.0, 650.0, 2100.0]


def test_unviable_unit_closes_only_after_the_documented_years():
    """Rule: below the threshold for closure_years -> closes (hazard 1), not before."""
    w = _world()
    s = _services([1, 2])
    p = ServiceParams(viability_threshold=(800, 100, 1600, 5000), closure_years=3,
                      closure_hazard=1.0, opening_factor=5.0)
    users = [np.array([0.0, 300, 2000, 100])] + [np.zeros(4)] * 3
    for year in (2022, 2023):
        update_services(w, s, p, users, year, np.random.default_rng(0))
        assert s.open.all()
    update_services(w, s, p, users, 2024, np.random.default_rng(0))
    assert s.open[:2].tolist() == [False, True] and s.closed_year[0] == 2024


def test_a_place_with_a_big_enough_would_be_catchment_opens_a_unit():
    """Rule: a place lacking the kind opens one when its would-be catchment reaches
    opening_factor x the threshold."""
    w = _world()
    s = _services([2])
    p = ServiceParams(viability_threshold=(500, 100, 1600, 5000), opening_factor=2.0)
    users = [np.array([1000.0, 300, 2000, 100])] + [np.zeros(4)] * 3
    out = update_services(w, s, p, users, 2022, np.random.default_rng(0))
    assert out["opened"] == 1
    new = s.origin == ORIGINS.index("opened")
    assert s.place[new].tolist() == [0] and s.kind[new].tolist() == [KINDS.index("grocer")]
