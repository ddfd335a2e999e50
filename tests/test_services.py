"""Services: catchments, closure after unviable years, opening above the threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim import data
from sim.params import ServiceParams, WorldParams
from sim.rng import Streams
from sim.services import (
    KINDS,
    ORIGINS,
    Services,
    catchments,
    initial_services,
    register_school_locations,
    update_services,
)
from sim.world import World, build_world


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
        update_services(w, s, p, users, year, Streams(0))
        assert s.open.all()
    update_services(w, s, p, users, 2024, Streams(0))
    assert s.open[:2].tolist() == [False, True] and s.closed_year[0] == 2024


def test_a_place_with_a_big_enough_would_be_catchment_opens_a_unit():
    """Rule: a place lacking the kind opens one when its would-be catchment reaches
    opening_factor x the threshold."""
    w = _world()
    s = _services([2])
    p = ServiceParams(viability_threshold=(500, 100, 1600, 5000), opening_factor=2.0)
    users = [np.array([1000.0, 300, 2000, 100])] + [np.zeros(4)] * 3
    out = update_services(w, s, p, users, 2022, Streams(0))
    assert out["opened"] == 1
    new = s.origin == ORIGINS.index("opened")
    assert s.place[new].tolist() == [0] and s.kind[new].tolist() == [KINDS.index("grocer")]


def _register(rows):
    cols = ["institution_number", "name", "type_code", "municipality_code", "lat", "lon",
            "unit_kind", "main_institution"]
    return pd.DataFrame(rows, columns=cols)


def test_register_counts_one_unit_per_school_location():
    """Rule: a school location teaches pupils (folkeskole or free school); a main school and
    its department at one address count once; departments of a vocational school, 10th-grade
    centres, ungdomsskoler and special schools do not count."""
    solo, main, dept = "Institution uden enheder", "Hovedskole (institution med enheder)", \
        "Afdeling (underordnet enhed)"
    reg = _register([
        (1, "Byskolen", 1012, 10, 56.0, 9.0, main, 1),
        (2, "Byskolen, folkeskoleafdeling", 1012, 10, 56.0, 9.0, dept, 1),  # same point
        (3, "Byskolen, afd. Landsby", 1012, 10, 56.1, 9.1, dept, 1),  # second location
        (4, "Friskolen", 1013, 10, 56.2, 9.2, solo, None),
        (5, "Tech College, 10. klasse", 1012, 10, 56.3, 9.3, dept, 99),  # main not a school
        (6, "10. Klasse Center", 1012, 10, 56.4, 9.4, solo, None),
        (7, "Ungdomsskolen", 1014, 10, 56.5, 9.5, solo, None),
        (8, "Specialskolen", 1015, 10, 56.6, 9.6, solo, None),
        (9, "Friskolen", 1013, 20, 56.2, 9.2, solo, None),  # same point, other municipality
    ])
    loc = register_school_locations(reg)
    assert len(loc) == 4
    assert sorted(loc["institutions"]) == ["1; 2", "3", "4", "9"]
    assert loc.groupby("municipality_code").size().to_dict() == {10: 3, 20: 1}


def test_initial_schools_are_the_register_locations_in_their_municipality():
    """Rule: every starting school unit is one register school location (origin 'register'),
    attached to a place of its own municipality; no school is inferred or opened at start."""
    world = build_world(WorldParams())
    users = [np.full(world.n, 1e6)] * len(KINDS)  # every place would qualify for an opening
    s = initial_services(world, ServiceParams(), users)
    school = s.kind == KINDS.index("school")
    loc = register_school_locations()
    assert school.sum() == len(loc) > 400
    assert (s.origin[school] == ORIGINS.index("register")).all()
    muni = world.places["municipality_code"].to_numpy()[s.place[school]]
    got = pd.Series(muni).value_counts().sort_index()
    want = loc["municipality_code"].astype(int).value_counts().sort_index()
    assert got.to_dict() == want.to_dict()
    assert set(want.index) == set(data.municipal_population()["municipality_code"].astype(int))
    grocers = s.kind == KINDS.index("grocer")
    assert (s.origin[grocers] == ORIGINS.index("inferred")).any()  # other kinds still infer


def test_would_be_catchments_equal_the_brute_force_sum():
    """Rule: World.nearer_sums gives, for every place j, the users of the places nearer to j
    than to their own nearest unit (the opening rule's would-be catchment), as the direct
    n x n sum does, for dense and sparse unit patterns."""
    from sim.params import Parameters
    from sim.world import get_world

    w = get_world(Parameters())
    rng = np.random.default_rng(3)
    users = rng.random(w.n) * 100
    for share in (0.5, 0.1, 0.01, 0.0):  # 0: no unit anywhere (every radius infinite)
        near = w.nearest_km(rng.random(w.n) < share)
        brute = (users[:, None] * (np.asarray(w.dist_km) < near[:, None])).sum(axis=0)
        np.testing.assert_allclose(w.nearer_sums(users, near), brute, rtol=1e-9)
