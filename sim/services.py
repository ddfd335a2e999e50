"""Services (grocer, school, doctor, pharmacy): catchments, closure and opening.

Each service unit sits in a place. Every year a place's residents use the nearest place with
an open unit of each kind (by road distance); a unit's catchment is that population shared
equally among the open units of its place (schools count children aged 6-15). A unit whose
catchment stays below the kind's viability threshold for ``closure_years`` consecutive years
may close: each year after that it closes with probability ``closure_hazard`` (at most one
unit per place and kind per year; units of one place share its catchment equally). Units
already unviable at the start have been so for an unknown time: their counter starts at a
random value in ``0..closure_years``, so closures of the starting stock are spread out. A
place without the kind opens one unit when its would-be catchment exceeds ``opening_factor``
times the threshold (the best such place per municipality and kind per year).

Starting units: schools are the school locations of the official Institutionsregister
(:func:`register_school_locations`); the other kinds are OpenStreetMap 2019 nodes (a lower
bound: buildings mapped as polygons are missing), plus one inferred unit in every town at least
``infer_min_town_pop`` big that has none. Both are attached to the nearest place of their
municipality.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import data, kernels
from . import rng as draws
from .params import SERVICE_KINDS, ServiceParams
from .rng import Streams
from .world import World, _attach_points

KINDS = SERVICE_KINDS
OSM_TAGS = {
    "grocer": ("shop=supermarket", "shop=convenience"),
    "school": ("amenity=school",),
    "doctor": ("amenity=doctors", "amenity=clinic"),
    "pharmacy": ("amenity=pharmacy",),
}
ORIGINS = ("osm", "inferred", "opened", "initiative", "register")

#: Register types that are a school families choose by: folkeskoler and free/private schools
#: (1017, municipal international schools, has no unit in the region). Ungdomsskoler (1014,
#: leisure and 10th-grade teaching for teenagers) and special schools (1015, pupils referred
#: from the whole municipality) have no local catchment and are left out.
TEACHING_TYPES = (1012, 1013)
#: Names of units that teach only the optional 10th grade (a one-year class of 16-year-olds).
TENTH_GRADE_ONLY = re.compile(
    r"10\. ?klasse|10´eren|10'eren|\bEUD ?10\b|FUTURE10|STEP10|Learnmark 10|10KCD", re.I)


def register_school_locations(register: pd.DataFrame | None = None) -> pd.DataFrame:
    """School locations teaching pupils, one row per location, from the Institutionsregister.

    Rules, in order:

    1. Only rows of :data:`TEACHING_TYPES`.
    2. A department (``unit_kind`` "Afdeling") counts only if its main institution is in the
       register with a teaching type: departments of vocational schools, gymnasiums,
       ungdomsskoler or special schools are left out.
    3. Units whose name says they teach only the 10th grade are left out.
    4. Rows at the same point (coordinates rounded to 4 decimals, about 10 m) in one
       municipality are one location: a main school and its department at one address, or two
       institutions sharing a building, are not counted twice.

    Returns:
        Columns municipality_code, lat, lon, name (names joined by "; "), institutions (their
        numbers joined by "; ").
    """
    reg = data.schools_register() if register is None else register
    types = dict(zip(reg["institution_number"], reg["type_code"], strict=True))
    teach = reg["type_code"].isin(TEACHING_TYPES)
    dept = reg["unit_kind"].str.startswith("Afdeling")
    main_ok = reg["main_institution"].map(lambda m: types.get(m, 0) in TEACHING_TYPES)
    tenth = reg["name"].str.contains(TENTH_GRADE_ONLY)
    keep = reg[teach & (~dept | main_ok) & ~tenth].copy()
    keep["_lat"] = keep["lat"].round(4)
    keep["_lon"] = keep["lon"].round(4)
    out = keep.groupby(["municipality_code", "_lat", "_lon"], sort=True).agg(
        lat=("lat", "first"), lon=("lon", "first"),
        name=("name", lambda v: "; ".join(v)),
        institutions=("institution_number", lambda v: "; ".join(str(int(x)) for x in v)))
    return out.reset_index().drop(columns=["_lat", "_lon"])


@dataclass
class Services:
    """Columnar table of service units (one row per unit, never removed: closed units stay).

    Attributes:
        kind: Index into :data:`KINDS`.
        place: Place index.
        open: Whether the unit is open.
        below: Consecutive years below the viability threshold.
        origin: Index into :data:`ORIGINS`.
        opened_year: Year opened (0 for units present at the start).
        closed_year: Year closed (0 while open).
        catchment: Last computed catchment (persons, or pupils for schools), full scale.
        threshold_factor: Multiplier on the kind's viability threshold for this unit (1 for
            commercial units; initiatives such as citizen-run shops lower it).
        key: The unit's identity, derived from (kind, place, origin, opened year, order among
            the units with those four) (:func:`sim.rng.derived_ids`): a unit that exists in
            both arms of a comparison has the same key there and draws the same closure
            numbers, whatever other units open or close.
    """

    kind: np.ndarray
    place: np.ndarray
    open: np.ndarray
    below: np.ndarray
    origin: np.ndarray
    opened_year: np.ndarray
    closed_year: np.ndarray
    catchment: np.ndarray
    threshold_factor: np.ndarray = field(default_factory=lambda: np.zeros(0))
    key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: Unit held for interventions per (place, kind), and who holds it (see :meth:`hold`).
    held: dict[tuple[int, int], int] = field(default_factory=dict)
    holders: dict[tuple[int, int], frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.threshold_factor) != len(self.kind):
            self.threshold_factor = np.ones(len(self.kind))
        if len(self.key) != len(self.kind):
            self.key = unit_keys(self.kind, self.place, self.origin, self.opened_year)

    def hold(self, requests: Iterable, year: int) -> None:
        """Hold the units the interventions request this year; release the others.

        ``requests`` are :class:`sim.effects.ServiceUnit` effects. For each (place, kind)
        requested, the unit already held stays held; otherwise the place's first open unit
        of the kind is taken over (its unviable years reset), or a unit opens (origin
        ``initiative``). A held unit that is open survives on the smallest factor its
        holders ask for. A (place, kind) no intervention requests any more is released: its
        unit closes (it was run by the initiative). A held unit that closed for lack of users
        stays closed.
        """
        wanted: dict[tuple[int, int], tuple[set[str], float]] = {}
        for r in requests:
            k = KINDS.index(r.kind)
            for p in np.asarray(r.places).tolist():
                src, f = wanted.setdefault((int(p), k), (set(), np.inf))
                src.add(r.source)
                wanted[(int(p), k)] = (src, min(f, float(r.factor)))
        for key in [k for k in self.held if k not in wanted]:
            self.close(self.held.pop(key), year)
            self.holders.pop(key, None)
        for key, (src, factor) in wanted.items():
            place, k = key
            unit = self.held.get(key)
            if unit is None:
                mine = np.flatnonzero(self.open & (self.kind == k) & (self.place == place))
                if len(mine):
                    unit = int(mine[0])
                    self.below[unit] = 0
                else:
                    unit = int(self.add(k, np.array([place]), "initiative", year)[0])
                self.held[key] = unit
            self.holders[key] = frozenset(src)
            if self.open[unit]:
                self.threshold_factor[unit] = factor

    def held_unit(self, place: int, kind: str) -> int:
        """Row of the unit held for interventions at (place, kind), -1 if none."""
        return self.held.get((int(place), KINDS.index(kind)), -1)

    def open_count(self, n_places: int) -> np.ndarray:
        """Open units per place and kind, shape (n_places, len(KINDS))."""
        out = np.zeros((n_places, len(KINDS)), np.int32)
        np.add.at(out, (self.place[self.open], self.kind[self.open]), 1)
        return out

    def to_frame(self, places: pd.DataFrame) -> pd.DataFrame:
        """Readable table of all units."""
        return pd.DataFrame({
            "kind": np.array(KINDS)[self.kind], "place_id": self.place,
            "place": places["name"].to_numpy()[self.place], "open": self.open,
            "origin": np.array(ORIGINS)[self.origin], "opened_year": self.opened_year,
            "closed_year": self.closed_year, "catchment": self.catchment,
            "threshold_factor": self.threshold_factor,
        })

    def add(self, kind: int, places: np.ndarray, origin: str, year: int,
            threshold_factor: float = 1.0) -> np.ndarray:
        """Open new units of ``kind`` in ``places``; returns their row indices."""
        start = len(self.kind)
        places = np.asarray(places, np.int32)
        self._append(np.full(len(places), kind), places, ORIGINS.index(origin), year)
        self.threshold_factor[start:] = threshold_factor
        return np.arange(start, len(self.kind))

    def close(self, unit: int, year: int) -> None:
        """Close ``unit`` in ``year`` if it is open (no-op for a negative index)."""
        if unit >= 0 and self.open[unit]:
            self.open[unit] = False
            self.closed_year[unit] = year

    def _append(self, kind: np.ndarray, place: np.ndarray, origin: int, year: int) -> None:
        n = len(kind)
        self.kind = np.concatenate([self.kind, kind.astype(np.int8)])
        self.place = np.concatenate([self.place, place.astype(np.int32)])
        self.open = np.concatenate([self.open, np.ones(n, bool)])
        self.below = np.concatenate([self.below, np.zeros(n, np.int16)])
        self.origin = np.concatenate([self.origin, np.full(n, origin, np.int8)])
        self.opened_year = np.concatenate([self.opened_year, np.full(n, year, np.int32)])
        self.closed_year = np.concatenate([self.closed_year, np.zeros(n, np.int32)])
        self.catchment = np.concatenate([self.catchment, np.zeros(n, np.float64)])
        self.threshold_factor = np.concatenate([self.threshold_factor, np.ones(n)])
        start = len(self.key)
        keys = unit_keys(self.kind, self.place, self.origin, self.opened_year)[start:]
        self.key = np.concatenate([self.key, draws.unique_ids(keys, self.key)])


def unit_keys(kind: np.ndarray, place: np.ndarray, origin: np.ndarray,
              opened_year: np.ndarray) -> np.ndarray:
    """Key of every unit: (kind, place, origin, opened year, order among those), hashed.

    The order is the unit's rank among the units with the same four values, in table order
    (units of one place, kind, origin and year, e.g. two OSM shops of a town).
    """
    n = len(kind)
    if n == 0:
        return np.zeros(0, np.int64)
    group = np.stack([kind, place, origin, opened_year]).astype(np.int64)
    _, inv = np.unique(group, axis=1, return_inverse=True)
    inv = inv.ravel()
    order = np.argsort(inv, kind="stable")
    start = np.searchsorted(inv[order], inv[order], side="left")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - start
    return draws.derived_ids(draws.ID_SERVICE_UNIT, kind, place, origin, opened_year, rank)


def initial_services(world: World, params: ServiceParams,
                     users_by_kind: list[np.ndarray] | None = None,
                     rng: np.random.Generator | None = None) -> Services:
    """Register schools, OSM 2019 units of the other kinds, plus inferred units.

    Schools: one unit per school location of the Institutionsregister
    (:func:`register_school_locations`), origin ``register``. The register is the complete
    official list, so no school is inferred. Other kinds: OSM nodes, then one inferred unit in
    every town above ``infer_min_town_pop`` that has none; then, if ``users_by_kind`` is given,
    the opening rule is applied to those kinds until no place qualifies, so the start is a
    state the model's own rules would keep (no burst of openings in the first simulated years
    just because OSM misses buildings). With ``rng``, units already unviable get a random count
    of unviable years so far (0..closure_years): their closures spread out.
    """
    osm = data.services_osm()
    school = KINDS.index("school")
    s = Services(*(np.zeros(0, t) for t in (np.int8, np.int32, bool, np.int16, np.int8,
                                             np.int32, np.int32, np.float64)))
    for k, tags in enumerate(KINDS):
        if k == school:
            idx = _attach_points(register_school_locations(), world.places)
            s._append(np.full(len(idx), k), idx, ORIGINS.index("register"), 0)
        else:
            idx = _attach_points(osm[osm["osm_tag"].isin(OSM_TAGS[tags])], world.places)
            s._append(np.full(len(idx), k), idx, ORIGINS.index("osm"), 0)
    pop = world.places["population"].to_numpy()
    is_town = world.places["kind"].to_numpy() == "town"
    have = s.open_count(world.n)
    for k in range(len(KINDS)):
        if k == school:
            continue
        need = is_town & (pop >= params.infer_min_town_pop[k]) & (have[:, k] == 0)
        where = np.flatnonzero(need)
        s._append(np.full(len(where), k), where, ORIGINS.index("inferred"), 0)
    if users_by_kind is not None:
        # the opening rule fills OSM gaps only: an infinite school threshold opens no school
        thr = list(params.viability_threshold)
        thr[school] = np.iinfo(np.int64).max
        no_school = params.model_copy(update={"viability_threshold": tuple(thr)})
        for _ in range(200):
            if open_new(world, s, no_school, users_by_kind, 0, ORIGINS.index("inferred")) == 0:
                break
        if rng is not None:
            for k in range(len(KINDS)):
                c = catchments(world, s, users_by_kind[k], k)
                low = np.flatnonzero((s.kind == k) & (c < params.viability_threshold[k]))
                s.below[low] = rng.integers(0, params.closure_years + 1, len(low))
    return s


def catchments(world: World, services: Services, users: np.ndarray, kind: int) -> np.ndarray:
    """Catchment of every unit of ``kind`` (zeros for other units).

    Args:
        world: Geography.
        services: Units.
        users: Users per place at full scale (persons, or pupils for schools).
        kind: Kind index.
    """
    sel = services.open & (services.kind == kind)
    out = np.zeros(len(services.kind))
    if not sel.any():
        return out
    n_open = np.bincount(services.place[sel], minlength=world.n)
    has = n_open > 0
    cols = np.flatnonzero(has)
    nearest = cols[world.dist_km[:, cols].argmin(axis=1)]
    per_place = np.bincount(nearest, weights=users, minlength=world.n)
    out[sel] = per_place[services.place[sel]] / n_open[services.place[sel]]
    return out


@dataclass(frozen=True)
class ServicesResult:
    """Units closed for lack of users and opened where demand grew, this year."""

    closed: int
    opened: int


def run(world: World, services: Services, params: ServiceParams,
        users_by_kind: list[np.ndarray], requests: Iterable, year: int,
        streams: Streams) -> ServicesResult:
    """The services stage: hold the requested units, then one year of closures and openings.

    Args:
        world: Geography.
        services: Units, updated in place (the stage's own state).
        params: Thresholds.
        users_by_kind: For each kind, users per place at full scale.
        requests: This year's :class:`sim.effects.ServiceUnit` effects.
        year: The year simulated.
        streams: The run's streams (closures are keyed draws by unit).
    """
    services.hold(requests, year)
    counts = update_services(world, services, params, users_by_kind, year, streams)
    return ServicesResult(closed=counts["closed"], opened=counts["opened"])


def users(pop, present: np.ndarray, n_places: int, scale: float) -> list[np.ndarray]:
    """Users per place and kind at full scale: persons, pupils aged 6-15 for schools.

    Args:
        pop: The population.
        present: Per household row, whether it counts (not leaving, not arriving).
        n_places: Number of places.
        scale: The run's scale.
    """
    pp = pop.persons
    counts = kernels.place_group_counts(pop.households.place, pp.hh, _PUPIL[pp.age], n_places,
                                        2, hh_mask=present)
    persons = counts.sum(axis=1) / scale
    pupils = counts[:, 1] / scale
    return [persons if kind != "school" else pupils for kind in KINDS]


#: 1 for the ages that count as school pupils (6-15), by age 0..200.
_PUPIL = ((np.arange(201) >= 6) & (np.arange(201) <= 15)).astype(np.int8)


def update_services(world: World, services: Services, params: ServiceParams,
                    users_by_kind: list[np.ndarray], year: int,
                    streams: Streams) -> dict[str, int]:
    """One year of closures and openings; returns counts for the log/outputs.

    Args:
        world: Geography.
        services: Units, updated in place.
        params: Thresholds.
        users_by_kind: For each kind, users per place at full scale.
        year: Current year (recorded on opened/closed units).
        streams: The run's streams: the closure of a long-unviable unit is a yearly hazard,
            drawn by :data:`sim.rng.SERVICE_CLOSURE` keyed by the unit's :attr:`Services.key`
            (so one more or one fewer unit elsewhere leaves every other unit's draw alone).
    """
    closed = 0
    for k in range(len(KINDS)):
        users = users_by_kind[k]
        thr = params.viability_threshold[k]
        c = catchments(world, services, users, k)
        sel = services.open & (services.kind == k)
        services.catchment[sel] = c[sel]
        low = sel & (c < thr * services.threshold_factor)
        services.below[sel & ~low] = 0
        services.below[low] += 1
        due = np.flatnonzero(low & (services.below >= params.closure_years))
        u = streams.uniform(draws.SERVICE_CLOSURE, services.key[due], year)
        due = due[u < params.closure_hazard]
        if len(due):
            # at most one closure per place and kind a year
            order = due[np.lexsort((c[due], services.place[due]))]
            first = np.unique(services.place[order], return_index=True)[1]
            shut = order[first]
            services.open[shut] = False
            services.closed_year[shut] = year
            closed += len(shut)
    opened = open_new(world, services, params, users_by_kind, year, ORIGINS.index("opened"))
    return {"closed": closed, "opened": opened}


def open_new(world: World, services: Services, params: ServiceParams,
             users_by_kind: list[np.ndarray], year: int, origin: int) -> int:
    """Open one unit in the best qualifying place per municipality and kind; returns count.

    A place qualifies when it lacks the kind and the users nearer to it than to any open unit
    (its would-be catchment) reach ``opening_factor`` times the viability threshold.
    """
    muni = world.places["municipality_code"].to_numpy()
    opened = 0
    for k in range(len(KINDS)):
        thr = params.viability_threshold[k]
        sel = services.open & (services.kind == k)
        has = np.bincount(services.place[sel], minlength=world.n) > 0
        near = world.nearest_km(has)
        would = world.nearer_sums(users_by_kind[k], near)  # users nearer to j than to a unit
        cand = np.flatnonzero(~has & (would >= params.opening_factor * thr))
        if len(cand):
            order = cand[np.argsort(-would[cand], kind="stable")]
            first = np.unique(muni[order], return_index=True)[1]
            new = order[first]
            services._append(np.full(len(new), k), new, origin, year)
            opened += len(new)
    return opened
