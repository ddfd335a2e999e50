"""The region's geography: places, travel, jobs, nature and community scores.

Travel distance is the straight line between projected points (EPSG:25832) times a circuity
factor; travel time divides by a mode speed, and the bus adds a wait that shrinks with the
destination's and origin's service level. Everything here is per place, so its cost does not
grow with the number of households.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import Voronoi
from shapely.geometry import Polygon, shape

from . import data
from .geo import _to_utm, pairwise_km, project
from .params import PARISH_YEAR, WorldParams
from .places import build_places, scale_to_year

log = logging.getLogger(__name__)

#: Offset between rows in the flattened sorted distances (larger than any distance, km).
_ROW_SPAN = 1.0e5
#: Minutes of waiting added to a bus trip from a place with the lowest service level.
BUS_MAX_WAIT_MIN = 60.0


@dataclass
class World:
    """Places and the fixed geography between them.

    Attributes:
        places: One row per place (see :func:`sim.places.build_places`).
        dist_km: Road distance between places (circuity applied), float32 (n, n).
        car_min: Car travel time in minutes.
        bus_min: Bus travel time in minutes (including waiting).
        bus_level: Bus service level per place in [0, 1].
        nature: Standardised nature score per place (openness of its parish).
        community: Standardised community score per place.
        parish_area_km2: Approximate parish area (Voronoi cell clipped to its municipality).
        town_share_of_remainder: Fitted share used to estimate unknown town populations.
        countryside_share_target: Share of people in places under 200 the fit aims at.
        allocation: Persons of each place by parish (a town may span several parishes).

    The arrays are read-only: one world is shared by every run of a process
    (:func:`get_world`), so nothing may write into it.
    """

    places: pd.DataFrame
    dist_km: np.ndarray
    car_min: np.ndarray
    bus_min: np.ndarray
    bus_level: np.ndarray
    nature: np.ndarray
    community: np.ndarray
    parish_area_km2: np.ndarray
    town_share_of_remainder: float
    countryside_share_target: float
    allocation: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __post_init__(self) -> None:
        for name in ("dist_km", "car_min", "bus_min", "bus_level", "nature", "community",
                     "parish_area_km2"):
            arr = np.asarray(getattr(self, name))
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    @property
    def n(self) -> int:
        """Number of places."""
        return len(self.places)

    def nearer_sums(self, weights: np.ndarray, radius: np.ndarray) -> np.ndarray:
        """``out[j] = sum of weights[i] over places i with dist_km[i, j] < radius[i]``.

        E.g. a place's would-be catchment: the users who live nearer to it than to their
        nearest open unit. Computed from each row's places sorted by distance (built once per
        world), so the work is the number of (i, j) pairs inside the radii, not n².
        """
        order, flat = self._sorted_rows()
        n = self.n
        offset = np.arange(n, dtype=np.float64) * _ROW_SPAN
        r = np.minimum(np.asarray(radius, np.float64), _ROW_SPAN / 2)  # inf: the whole row
        k = np.searchsorted(flat, r + offset, side="left") - np.arange(n) * n
        rows = np.repeat(np.arange(n), k)
        pos = np.arange(len(rows)) - np.repeat(np.cumsum(k) - k, k)
        return np.bincount(order[rows, pos], weights=np.asarray(weights, float)[rows],
                           minlength=n)

    def _sorted_rows(self) -> tuple[np.ndarray, np.ndarray]:
        cached = self.__dict__.get("_sorted")
        if cached is None:
            order = np.argsort(self.dist_km, axis=1, kind="stable").astype(np.int32)
            d = np.take_along_axis(self.dist_km, order, axis=1).astype(np.float64)
            flat = (d + np.arange(self.n)[:, None] * _ROW_SPAN).ravel()
            cached = (order, flat)
            object.__setattr__(self, "_sorted", cached)
        return cached

    def nearest_km(self, has: np.ndarray) -> np.ndarray:
        """Distance from each place to the nearest place where ``has`` is true (inf if none)."""
        if not has.any():
            return np.full(self.n, np.inf, np.float32)
        return self.dist_km[:, has].min(axis=1)


@cache
def _cached_world(world_json: str, base_year: int, data_folder: str) -> World:
    return build_world(WorldParams.model_validate_json(world_json), base_year)


def get_world(params) -> World:
    """The world of ``params`` (a :class:`sim.params.Parameters`), built once per process.

    Keyed by the world parameters, the base year and the data folder; the world is read-only,
    so every run of the process shares it.
    """
    return _cached_world(params.world.model_dump_json(), params.base_year,
                         str(data.data_dir()))


def _parish_areas(par: pd.DataFrame, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Voronoi cells of the parish centres clipped to their municipality, in km²."""
    gj = data.boundaries()
    tf = _to_utm().transform
    def to_utm(c: np.ndarray) -> np.ndarray:
        return np.column_stack(tf(c[:, 0], c[:, 1]))

    munis = {int(f["properties"]["code"]): shapely.transform(shape(f["geometry"]), to_utm)
             for f in gj["features"]}
    pts = np.column_stack([px, py])
    far = np.array([[-1e7, -1e7], [-1e7, 1e7], [1e7, -1e7], [1e7, 1e7]])
    vor = Voronoi(np.vstack([pts, far]))
    area = np.zeros(len(par))
    for i in range(len(par)):
        region = vor.regions[vor.point_region[i]]
        if -1 in region or not region:
            continue
        cell = Polygon(vor.vertices[region])
        m = munis.get(int(par["municipality_code"].iloc[i]))
        clipped = cell.intersection(m) if m is not None else cell
        area[i] = clipped.area / 1e6
    # cells that clip to almost nothing (centre outside its own polygon): median fallback
    bad = area < 0.5
    area[bad] = np.median(area[~bad])
    return area


def _zscore(v: np.ndarray, clip: float = 3.0) -> np.ndarray:
    """Standard score, clipped to +-``clip`` so a few extreme places cannot dominate."""
    sd = v.std()
    z = (v - v.mean()) / sd if sd > 0 else np.zeros_like(v)
    return np.clip(z, -clip, clip)


def build_world(params: WorldParams, base_year: int = 2021) -> World:
    """Build places and geography from the shipped data.

    Args:
        params: Travel and jobs parameters.
        base_year: First simulated year. Places are always built for 2021 (the year of the
            parish populations); an earlier year scales them to that year's municipal
            totals (:func:`sim.places.scale_to_year`).
    """
    pb = build_places(PARISH_YEAR, params.settlement_town_min)
    if base_year != PARISH_YEAR:
        pb = scale_to_year(pb, base_year)
    places = pb.places
    x = places["x"].to_numpy()
    y = places["y"].to_numpy()
    dist = pairwise_km(x, y) * np.float32(params.circuity)
    np.fill_diagonal(dist, np.float32(params.intra_place_km))

    pop = places["population"].to_numpy(float)
    osm = data.services_osm()
    bus_nodes = _attach_points(osm[osm["osm_tag"] == "amenity=bus_station"], places)
    # service level: log-size (100 inhabitants -> 0, 100,000 -> 1) plus a bus station bonus
    level = np.clip(np.log10(np.maximum(pop, 1) / 100) / 3, 0, 1)
    level = np.clip(level + 0.2 * (np.bincount(bus_nodes, minlength=len(places)) > 0), 0, 1)
    level = np.where(places["kind"].to_numpy() == "countryside", 0.0, level)
    car = dist / np.float32(params.car_speed_kmh) * np.float32(60)
    wait = (BUS_MAX_WAIT_MIN * (1 - 0.5 * (level[:, None] + level[None, :]))).astype(np.float32)
    bus = dist / np.float32(params.bus_speed_kmh) * np.float32(60) + wait

    par = data.parishes()
    px, py = project(par["lon_visual_centre"].to_numpy(), par["lat_visual_centre"].to_numpy())
    area = _parish_areas(par, px, py)
    density = par["population"].to_numpy() / area
    nature = _zscore(-np.log(density))[places["parish_idx"].to_numpy()]

    com_tags = ["amenity=community_centre", "amenity=library", "amenity=school"]
    com_nodes = _attach_points(osm[osm["osm_tag"].isin(com_tags)], places)
    facilities = np.bincount(com_nodes, minlength=len(places))
    community = _zscore(np.log1p(1000 * facilities / np.maximum(pop, 1)))

    return World(places=places, dist_km=dist, car_min=car, bus_min=bus, bus_level=level,
                 nature=nature, community=community, parish_area_km2=area,
                 town_share_of_remainder=pb.town_share_of_remainder,
                 countryside_share_target=pb.countryside_share_target,
                 allocation=pb.allocation)


def _attach_points(points: pd.DataFrame, places: pd.DataFrame) -> np.ndarray:
    """Index of the nearest place (same municipality) for each point."""
    if points.empty:
        return np.zeros(0, int)
    qx, qy = project(points["lon"].to_numpy(), points["lat"].to_numpy())
    d = pairwise_km(qx, qy, places["x"].to_numpy(), places["y"].to_numpy())
    same = points["municipality_code"].to_numpy()[:, None] == \
        places["municipality_code"].to_numpy()[None, :]
    d = np.where(same, d, np.inf)
    # prefer towns: a point in a town belongs to it rather than to the parish's countryside
    is_town = places["kind"].to_numpy() == "town"
    d = np.where(is_town[None, :], d, d + 1.0)
    return d.argmin(axis=1)
