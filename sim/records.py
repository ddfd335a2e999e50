"""The output schema: every recorded column declared once, with what it means.

Each :class:`Column` names a column of ``place_year`` (one row per place and year) or of
``region_year`` (one row per year), its type, its unit, whether it is a simulated count
(divide by the scale for a full-scale estimate) and the function that computes it from the
year's :class:`YearRecord`. From this one declaration come the Parquet tables, the Mesa
``DataCollector`` (its model reporters are the region columns, so ``mesa.batch_run`` works on
:class:`sim.model.RegionModel`), and the column lists that ``landsim compare`` keeps per
seed and that the forum report requires (:func:`columns`).

A new output is one :class:`Column` added to :data:`PLACE_COLUMNS` or :data:`REGION_COLUMNS`
(with ``tags=("seeds",)`` if comparisons should keep it per seed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .params import SERVICE_KINDS, STAGES
from .places import SIZE_CLASSES, settlement_class

if TYPE_CHECKING:  # the record's inputs; imported for type hints only (keeps this module light)
    from .demography import DemographyResult
    from .household import Population
    from .housing import Housing, HousingResult
    from .migration import MigrationResult
    from .place_state import PlaceState
    from .relocation import MoveStats, RelocationResult
    from .services import Services, ServicesResult
    from .world import World

#: Labels of the FOLK1A age bands (region columns by band).
BAND_LABELS = ("0_5", "6_16", "17_19", "20_34", "35_64", "65_79", "80_plus")
#: Age groups of the place records (inclusive bounds; the last is open).
AGE_GROUPS = ((0, 17), (18, 29), (30, 64), (65, 200))
AGE_EDGES = np.array([lo for lo, _ in AGE_GROUPS[1:]])
AGE_LABELS = tuple(f"age_{lo}_{hi}" if hi < 200 else f"age_{lo}_plus" for lo, hi in AGE_GROUPS)
#: Age group of every age 0..127 (a look-up instead of a search per person).
_AGE_GROUP_LUT = np.searchsorted(AGE_EDGES, np.arange(128), side="right")


@dataclass
class YearRecord:
    """What the records of one year are computed from (the state after the year's stages).

    The stage results are None in the start year (nothing happened yet: flows are zero).
    """

    year: int
    world: World
    pop: Population
    services: Services
    housing: Housing
    state: PlaceState
    scale: float
    town_min: int
    demography: DemographyResult | None = None
    migration: MigrationResult | None = None
    relocation: RelocationResult | None = None
    services_result: ServicesResult | None = None
    housing_result: HousingResult | None = None

    @property
    def n(self) -> int:
        """Number of places."""
        return self.world.n

    @cached_property
    def home(self) -> np.ndarray:
        """Place of every person."""
        return self.pop.households.place[self.pop.persons.hh]

    @cached_property
    def persons(self) -> np.ndarray:
        """Persons per place (simulated)."""
        return self.by_age.sum(axis=1)

    @cached_property
    def by_age(self) -> np.ndarray:
        """Persons per place and age group, (n, len(AGE_GROUPS))."""
        from . import kernels

        age = self.pop.persons.age
        g = _AGE_GROUP_LUT[age] if age.size and 0 <= age.min() and age.max() < 128 else \
            np.searchsorted(AGE_EDGES, age, side="right")
        return kernels.place_group_counts(self.pop.households.place, self.pop.persons.hh, g,
                                          self.n, len(AGE_GROUPS))

    @cached_property
    def open_count(self) -> np.ndarray:
        """Open service units per place and kind."""
        return self.services.open_count(self.n)

    @cached_property
    def occupied(self) -> np.ndarray:
        """Occupied dwellings per place."""
        hh = self.pop.households
        return np.bincount(hh.place[hh.housed], minlength=self.n)

    @cached_property
    def by_class(self) -> np.ndarray:
        """Persons per settlement size class (by the places' current full-scale size)."""
        cls = settlement_class(self.persons / self.scale,
                               (self.world.places["kind"] == "countryside").to_numpy(),
                               self.town_min)
        return np.bincount(cls, weights=self.persons, minlength=len(SIZE_CLASSES))

    def flow(self, name: str) -> np.ndarray:
        """A yearly flow per place (zeros in the start year)."""
        zero = np.zeros(self.n, np.int64)
        dem, mig, rel = self.demography, self.migration, self.relocation
        if dem is None or mig is None or rel is None:
            return zero
        return {
            "births": dem.births, "deaths": dem.deaths, "in_movers": rel.in_movers,
            "out_movers": rel.out_movers, "immigrants": rel.immigrants,
            "in_from_other_municipality": rel.in_from_other_municipality,
            "out_to_other_municipality": rel.out_to_other_municipality,
            "emigrants": mig.emigrants + rel.extra_emigrants, "applicants": rel.applicants,
        }[name]

    @property
    def moves(self) -> MoveStats:
        """Move statistics (all zero in the start year)."""
        if self.relocation is not None:
            return self.relocation.moves
        from .relocation import MoveStats

        z = (0,) * len(STAGES)
        return MoveStats(0, 0, 0, 0.0, z, z, 0, 0, 0)


@dataclass(frozen=True)
class Column:
    """One recorded column.

    Attributes:
        name: Column name.
        dtype: numpy dtype of the column.
        unit: What a value counts or measures ("persons", "km", "index", ...).
        description: What the column means (shown in docs and ``landsim run --help``).
        value: ``value(record) -> array`` (one per place; a scalar for region columns).
        scaled: A simulated count: divide by the run's scale for a full-scale estimate.
        tags: ``"seeds"``: comparisons keep it per seed and arm.
    """

    name: str
    dtype: str
    unit: str
    description: str
    value: Callable[[YearRecord], object]
    scaled: bool = False
    tags: tuple[str, ...] = field(default=())


def _flow(name: str, description: str) -> Column:
    return Column(name, "int64", "persons", description,
                  lambda r: r.flow(name), scaled=True)


_KIND_COLUMNS = [
    Column(f"{k}_open", "int32", "units", f"open {k} units in the place",
           (lambda r, i=i: r.open_count[:, i]), tags=("seeds",))
    for i, k in enumerate(SERVICE_KINDS)
]

#: Columns of ``place_year`` (one row per place and year), in file order.
PLACE_COLUMNS: tuple[Column, ...] = (
    Column("year", "int16", "year", "1 January of the year", lambda r: np.full(r.n, r.year),
           tags=("seeds",)),
    Column("place_id", "int32", "id", "place (see places.parquet)", lambda r: np.arange(r.n),
           tags=("seeds",)),
    Column("population", "int64", "persons", "residents", lambda r: r.persons, scaled=True,
           tags=("seeds",)),
    Column("households", "int64", "households", "households living in the place",
           lambda r: np.bincount(r.pop.households.place, minlength=r.n), scaled=True),
    *(Column(label, "int64", "persons", f"residents aged {lo}-{hi}" if hi < 200 else
             f"residents aged {lo}+", (lambda r, g=g: r.by_age[:, g]), scaled=True,
             tags=("seeds",))
      for g, (label, (lo, hi)) in enumerate(zip(AGE_LABELS, AGE_GROUPS, strict=True))),
    _flow("births", "births in the past year"),
    _flow("deaths", "deaths in the past year"),
    _flow("in_movers", "persons who moved in from another place of the region"),
    _flow("out_movers", "persons who moved out to another place of the region"),
    _flow("immigrants", "persons who arrived from outside the region"),
    _flow("emigrants", "persons who left the region"),
    _flow("applicants", "households whose first choice was the place (demand signal)"),
    *_KIND_COLUMNS,
    Column("dwellings", "int64", "dwellings", "dwellings (the housing stock)",
           lambda r: r.housing.dwellings, scaled=True),
    Column("vacant", "int64", "dwellings", "vacant dwellings",
           lambda r: np.maximum(r.housing.dwellings - r.occupied, 0), scaled=True),
    Column("price_index", "float64", "index", "house-price index (1 = start)",
           lambda r: r.housing.price),
    *(Column(f"{k}_km", "float32", "km", f"effective distance to the nearest {k} that movers "
             "saw this year (nearest open unit, or an initiative's reach if shorter)",
             (lambda r, i=i: r.state.service_km[:, i]), tags=("seeds",))
      for i, k in enumerate(SERVICE_KINDS)),
    _flow("in_from_other_municipality", "of the in-movers, those from another municipality "
          "of the region (a young adult following a moved parental home not counted)"),
    _flow("out_to_other_municipality", "of the out-movers, those to another municipality"),
    Column("built", "int64", "dwellings", "dwellings built in the past year",
           lambda r: (r.housing_result.built if r.housing_result is not None
                      else np.zeros(r.n)), scaled=True),
    Column("derelict", "int64", "dwellings", "dwellings gone derelict in the past year",
           lambda r: (r.housing_result.derelict if r.housing_result is not None
                      else np.zeros(r.n)), scaled=True),
)


def _place_sum(name: str) -> Callable[[YearRecord], object]:
    col = next(c for c in PLACE_COLUMNS if c.name == name)
    return lambda r: np.asarray(col.value(r)).sum()


def _region(c: Column) -> Column:
    """The region total of a place count column."""
    return Column(c.name, c.dtype if c.dtype != "int32" else "int64", c.unit,
                  f"{c.description} (region total)", _place_sum(c.name), scaled=c.scaled)


_MOVES = [
    Column("moves", "int64", "households", "household moves within the region",
           lambda r: r.moves.moves, scaled=True),
    Column("moves_short", "int64", "households",
           "moves under 10 km (straight line x circuity; within a place: intra_place_km)",
           lambda r: r.moves.short, scaled=True),
    Column("moves_within_municipality", "int64", "households",
           "moves that stay in the municipality", lambda r: r.moves.within_municipality,
           scaled=True),
    Column("move_km_sum", "float64", "km", "total distance of the moves",
           lambda r: r.moves.km_sum, scaled=True),
    *(Column(f"moves_{s}", "int64", "households", f"moves of {s} households",
             (lambda r, i=i: r.moves.by_stage[i]), scaled=True) for i, s in enumerate(STAGES)),
    *(Column(f"households_{s}", "int64", "households",
             f"{s} households present at the start of the year",
             (lambda r, i=i: r.moves.households_by_stage[i]), scaled=True)
      for i, s in enumerate(STAGES)),
    Column("move_persons", "int64", "persons", "persons moving within the region (each member "
           "of a moving household, as Statistics Denmark counts moves)",
           lambda r: r.moves.persons, scaled=True),
    Column("move_persons_short", "int64", "persons", "of these, moving under 10 km",
           lambda r: r.moves.persons_short, scaled=True),
    Column("move_persons_within_municipality", "int64", "persons",
           "of these, moving within their municipality",
           lambda r: r.moves.persons_within_municipality, scaled=True),
]

_BY_NAME = {c.name: c for c in PLACE_COLUMNS}

#: Columns of ``region_year`` (one row per year), in file order.
REGION_COLUMNS: tuple[Column, ...] = (
    Column("year", "int64", "year", "1 January of the year", lambda r: r.year),
    _region(_BY_NAME["population"]),
    _region(_BY_NAME["households"]),
    *(_region(c) for c in _KIND_COLUMNS),
    *(_region(_BY_NAME[k]) for k in ("births", "deaths", "in_movers", "out_movers",
                                     "immigrants", "emigrants", "applicants")),
    *(Column(f"pop_{label}", "int64", "persons", f"residents of places of size {label}",
             (lambda r, i=i: r.by_class[i]), scaled=True)
      for i, label in enumerate(SIZE_CLASSES)),
    *_MOVES,
    *(Column(f"emigrants_{label}", "int64", "persons",
             f"persons aged {label} who left the region (household moves abroad or to the rest "
             "of Denmark)", (lambda r, i=i: r.migration.out_by_band[i]
                             if r.migration is not None else 0), scaled=True)
      for i, label in enumerate(BAND_LABELS)),
    *(Column(f"immigrants_{label}", "int64", "persons",
             f"persons aged {label} who arrived from outside the region and found a dwelling",
             (lambda r, i=i: r.relocation.arrived_by_band[i]
              if r.relocation is not None else 0), scaled=True)
      for i, label in enumerate(BAND_LABELS)),
    Column("closed", "int64", "units", "service units closed for lack of users",
           lambda r: r.services_result.closed if r.services_result is not None else 0),
    Column("opened", "int64", "units", "service units opened where demand grew",
           lambda r: r.services_result.opened if r.services_result is not None else 0),
)


def columns(table: str, tag: str | None = None) -> list[str]:
    """Names of the columns of ``table`` ("place" or "region"), optionally with ``tag``."""
    cols = {"place": PLACE_COLUMNS, "region": REGION_COLUMNS}[table]
    return [c.name for c in cols if tag is None or tag in c.tags]


def seed_columns() -> list[str]:
    """Columns of a comparison's ``place_year_seeds.parquet`` (both arms, every seed)."""
    return ["arm", "seed", *columns("place", "seeds")]


def column(table: str, name: str) -> Column:
    """The declaration of one column."""
    cols = {"place": PLACE_COLUMNS, "region": REGION_COLUMNS}[table]
    for c in cols:
        if c.name == name:
            return c
    raise KeyError(f"no {table} column {name!r}")


class Recorder:
    """Collects the declared columns year by year."""

    def __init__(self) -> None:
        # one array per place column and year (tables are built when asked for)
        self._place: list[dict[str, np.ndarray]] = []
        self._region: list[dict[str, object]] = []

    def record(self, r: YearRecord) -> None:
        """Add the rows of one year."""
        # copies: a value may be a stage's own array, changed in place later
        self._place.append({c.name: np.array(c.value(r), dtype=c.dtype)
                            for c in PLACE_COLUMNS})
        self._region.append({c.name: np.asarray(c.value(r)).astype(c.dtype).item()
                             for c in REGION_COLUMNS})

    @property
    def last_region(self) -> dict[str, object]:
        """The region row of the latest year."""
        return self._region[-1]

    @property
    def first_place(self) -> pd.DataFrame:
        """The place rows of the start year."""
        return pd.DataFrame(self._place[0])

    def place_year(self) -> pd.DataFrame:
        """Every place-year row so far."""
        if not self._place:
            return pd.DataFrame({c.name: np.zeros(0, c.dtype) for c in PLACE_COLUMNS})
        return pd.DataFrame({c.name: np.concatenate([y[c.name] for y in self._place])
                             for c in PLACE_COLUMNS})

    def region_year(self) -> pd.DataFrame:
        """Every region row so far, typed as declared."""
        df = pd.DataFrame(self._region, columns=[c.name for c in REGION_COLUMNS])
        return df.astype({c.name: c.dtype for c in REGION_COLUMNS})


def datacollector_reporters() -> dict[str, Callable]:
    """Mesa ``model_reporters`` for the region columns (read from the model's recorder)."""
    return {c.name: (lambda m, name=c.name: m.records.last_region[name])
            for c in REGION_COLUMNS}
