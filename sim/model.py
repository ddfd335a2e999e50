"""RegionModel: the whole region as a Mesa model; one step is one year.

Household agents live in columnar arrays (:mod:`sim.household`). :meth:`RegionModel.step`
only sequences the year's typed stages; each lives in its own module, reads what it is given
and returns a typed result that the next stages receive explicitly:

1. interventions (:mod:`sim.interventions`): initiatives and trends declare effects
2. demography (:mod:`sim.demography`): ageing, deaths, births, leaving home, unions, jobs
3. migration (:mod:`sim.migration`): out-migration, in-migrants arrive (unhoused)
4. services (:mod:`sim.services`): requested units held, catchments, closures, openings
5. place state (:mod:`sim.place_state`): what movers see, rebuilt from base arrays + effects
6. relocation (:mod:`sim.relocation`): who moves where, vacancies, the unhoused
7. housing (:mod:`sim.housing`): prices, construction, dereliction
8. records (:mod:`sim.records`): the declared columns of place_year and region_year

Every random draw comes from a named stream or a named keyed draw (:mod:`sim.rng`).
"""

from __future__ import annotations

import copy
import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import mesa
import numpy as np
import pandas as pd

from . import demography, migration
from . import services as services_stage
from .data import data_dir
from .effects import EffectSet
from .housing import Housing
from .interventions import Interventions, make_view
from .params import STAGES, Parameters
from .place_state import JobAccess, PlaceState, build_place_state, place_values
from .population import synthesize
from .records import Recorder, YearRecord, datacollector_reporters
from .relocation import RULES
from .rng import Streams
from .services import initial_services
from .utility import segments_for
from .world import World, get_world

log = logging.getLogger(__name__)


def location_constants(world: World, constants: dict[str, float],
                       stage_constants: dict[str, tuple[float, ...]] | None = None,
                       ) -> np.ndarray | None:
    """The calibrated location constant of every place (its municipality's), or None.

    Returns:
        None without constants; the constant per place, (n,), with municipal constants only;
        with stage constants, (len(STAGES), n): the municipal constant plus the stage's.

    Raises:
        ValueError: A key is not a municipality of the region.
    """
    stage_constants = stage_constants or {}
    if not constants and not stage_constants:
        return None
    muni = world.places["municipality_code"].to_numpy().astype(int)
    for name, table in (("location_constants", constants),
                        ("stage_constants", stage_constants)):
        unknown = sorted(set(map(int, table)) - set(muni.tolist()))
        if unknown:
            raise ValueError(f"relocation.{name} names municipalities {unknown} that are not "
                             "in the region; use the 19 municipality codes (e.g. '751')")
    table = {int(k): float(v) for k, v in constants.items()}
    base = np.array([table.get(int(m), 0.0) for m in muni])
    if not stage_constants:
        return base
    by_stage = {int(k): np.asarray(v, float) for k, v in stage_constants.items()}
    zero = np.zeros(len(STAGES))
    return base[None, :] + np.stack([by_stage.get(int(m), zero) for m in muni], axis=1)


def _libc_malloc_trim():
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc: nothing to hand back
        return None


_MALLOC_TRIM = _libc_malloc_trim()


def release_freed_memory() -> None:
    """Hand the heap pages freed by the step's temporaries back to the OS (glibc only).

    glibc keeps freed memory of its arenas (one per thread that allocated) for reuse, and a
    year's temporaries come in many sizes, so the resident size crept up over a run
    although the arrays held did not. Trimming between steps keeps it near the arrays in
    use. It changes no value, only where the next temporaries' pages come from.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


#: Spin-up results per (parameters, seed, data folder): a pure function of them, memoised per
#: process so both arms of a comparison (same parameters and seed) share one spin-up.
_SPIN_UPS: dict[tuple[str, int, str], tuple[np.ndarray, np.ndarray]] = {}
_SPIN_UPS_KEPT = 8


class RegionModel(mesa.Model):
    """Region Midtjylland's households choosing where to live, one step per year.

    Args:
        params: Validated parameters (the uncalibrated defaults if None; what users run is
            :func:`sim.params.default_parameters`).
        seed: Seed of the run; all randomness derives from it.
        world: Prebuilt world (the process's shared world for ``params`` if None).
        scenario: A validated :class:`sim.scenario.Scenario` whose initiatives and trends
            act on this run (its parameters must already be in ``params``).
        threads: Threads of the relocation draw (results do not depend on it).
    """

    def __init__(self, params: Parameters | None = None, seed: int = 0,
                 world: World | None = None, scenario=None, threads: int | None = None,
                 ) -> None:
        super().__init__(seed=seed)
        p = self.params = params or Parameters()
        self.seed_value = int(seed)
        self.streams = Streams(self.seed_value)
        self.world = world if world is not None else get_world(p)
        self.year = p.base_year
        self.timings: dict[str, float] = {}
        self._jobs_cache: dict[tuple[float, bool], np.ndarray] = {}
        self.pop, self.jobs = synthesize(self.world, p, self.streams.get("population"))
        n = self.world.n
        everyone = np.ones(len(self.pop.households), bool)
        self.services = initial_services(
            self.world, p.services, services_stage.users(self.pop, everyone, n, p.scale),
            self.streams.get("services", p.base_year))
        self.rates = demography.load_rates(p.demography)
        self.housing = Housing.initial(np.bincount(self.pop.households.place, minlength=n),
                                       p.housing, self.streams.get("housing"))
        self.segments = segments_for(p.relocation.weights)
        self.location = location_constants(self.world, p.relocation.location_constants,
                                            p.relocation.stage_constants)
        self.relocation = RULES[p.relocation.rule](self.world, p, self.segments, threads)
        self.access = JobAccess(car30=self.jobs.within(self.world, 30),
                                bus45=self.jobs.within(self.world, 45, by_bus=True))
        self.border = migration.border_rates(self.world, self.pop, p)
        self.interventions = Interventions([], n)
        #: The effects declared in the latest year (none before the first step).
        self.last_effects = EffectSet([], n)
        if p.housing.spin_up_years:
            self._start_from_spin_up()
        self.state = self._place_state(EffectSet([], n))
        self.scenario = scenario
        if scenario is not None:
            from .scenario import build_interventions
            self.interventions = Interventions(build_interventions(scenario, self), n)
        self.records = Recorder()
        self.records.record(self._year_record())
        self.datacollector = mesa.DataCollector(model_reporters=datacollector_reporters())
        self.datacollector.collect(self)
        release_freed_memory()

    # ------------------------------------------------------------------ the year
    def step(self) -> None:
        """Simulate one year (1 January ``year`` to 1 January ``year + 1``)."""
        p = self.params
        year = self.year + 1
        n = self.world.n
        with self._clock("initiatives"):
            effects = EffectSet([], n)
            if self.interventions.items:
                view = make_view(year, p, self.world, self.segments, self.access,
                                 self._jobs_within, self.state, self.pop, self.services,
                                 self.housing.dwellings, self.streams)
                effects = self.interventions.run(view, self.pop, p.scale).effects
                self.housing.apply(effects.dwelling_change())
            self.last_effects = effects
        with self._clock("demography"):
            dem = demography.step(self.pop, self.rates, p.demography, year, n, self.streams)
        with self._clock("migration"):
            mig = migration.run(self.pop, self.border, effects.in_migrant_old_weight(), n,
                                self.streams, year)
        with self._clock("services"):
            present = np.ones(len(self.pop.households), bool)
            present[:mig.n_before] = ~mig.leaving
            present &= ~mig.incoming
            svc = services_stage.run(
                self.world, self.services, p.services,
                services_stage.users(self.pop, present, n, p.scale), effects.unit_requests(),
                year, self.streams)
        with self._clock("relocation"):
            self.state = self._place_state(effects, year)
            values = place_values(self.state, self.segments, p.relocation.weights)
            rel = self.relocation.run(self.pop, values, self.housing.dwellings, dem, mig,
                                      self.jobs, self.streams, year)
        with self._clock("housing"):
            hh = self.pop.households
            occupied = np.bincount(hh.place[hh.housed], minlength=n)
            built = self.housing.update(occupied, rel.applicants, rel.vacant_before, p.housing,
                                        self.streams.get("housing", year),
                                        p.scale, demand=rel.demand_per_vacancy,
                                        demand_variance=rel.demand_variance)
        self.year = year
        with self._clock("records"):
            self.records.record(self._year_record(dem, mig, rel, svc, built))
            self.datacollector.collect(self)
        if self.year >= p.end_year:
            self.running = False
        release_freed_memory()

    def with_interventions(self, items: list) -> RegionModel:
        """Act with these initiative and trend objects (before the first step; for tests).

        Scenario files are the way users add interventions (``scenario=``); this is for
        tests and notebooks that build initiative objects themselves.
        """
        if self.year != self.params.base_year:
            raise RuntimeError("interventions must be set before the first step")
        self.interventions = Interventions(items, self.world.n)
        return self

    # ------------------------------------------------------------------ helpers
    def _place_state(self, effects: EffectSet, year: int | None = None) -> PlaceState:
        return build_place_state(
            self.world, self.access, effects, self.services.open_count(self.world.n),
            self.housing.price, self.pop.place_persons(self.world.n) / self.params.scale,
            self.segments, self.year if year is None else year, self.location)

    def _year_record(self, dem=None, mig=None, rel=None, svc=None, built=None) -> YearRecord:
        return YearRecord(year=self.year, world=self.world, pop=self.pop,
                          services=self.services, housing=self.housing, state=self.state,
                          scale=self.params.scale,
                          town_min=self.params.world.settlement_town_min, demography=dem,
                          migration=mig, relocation=rel, services_result=svc,
                          housing_result=built)

    def _start_from_spin_up(self) -> None:
        """Start from the vacancy rates and relative prices the model's own dynamics reach.

        A copy of the start state (same parameters and seed, no interventions) runs
        ``housing.spin_up_years`` years; each place then starts with the copy's final vacancy
        rate (rescaled so the region's mean is ``housing.initial_vacancy_rate``) and price
        index (rescaled to a dwelling-weighted mean of 1). People, services and everything
        else start as the data say; only the housing market starts in its own balance.
        """
        p = self.params
        key = (p.model_dump_json(), self.seed_value, str(data_dir()))
        if key not in _SPIN_UPS:
            # read-only parts are shared with the copy (the world, the distance kernels, the
            # jobs, the rates): only the state the steps change is copied. The population is
            # shared too: the copy steps the run's own, and the start population comes back
            # from a compressed copy afterwards (about 8 MB at 1:1 rather than a second
            # population of 42 MB next to a step's temporaries, the peak of the start-up)
            packed = self.pop.pack()
            shared = (self.world, self.relocation.kernels, self.jobs, self.access, self.border,
                      self.rates, self.segments, self.location, self.pop)
            spin = copy.deepcopy(self, memo={id(o): o for o in shared if o is not None})
            spin.records = Recorder()
            spin.datacollector = mesa.DataCollector(model_reporters={})
            for _ in range(p.housing.spin_up_years):
                spin.step()
            hh = spin.pop.households
            occupied = np.bincount(hh.place[hh.housed], minlength=spin.world.n)
            dwellings = spin.housing.dwellings
            rate = np.maximum(dwellings - occupied, 0) / np.maximum(dwellings, 1)
            mean = (rate * occupied).sum() / max(occupied.sum(), 1)
            rate = np.clip(rate * p.housing.initial_vacancy_rate / max(mean, 1e-9), 0.0, 0.5)
            price = spin.housing.price * dwellings.sum() / (spin.housing.price
                                                            * dwellings).sum()
            # the copy is a Mesa model full of reference cycles: collect it now, not at some
            # later step, so its population is not held next to the run's own
            del spin, hh, occupied, dwellings
            gc.collect()
            self.pop.restore(packed)
            del packed
            while len(_SPIN_UPS) >= _SPIN_UPS_KEPT:
                _SPIN_UPS.pop(next(iter(_SPIN_UPS)))
            _SPIN_UPS[key] = (rate, price)
        rate, price = _SPIN_UPS[key]
        households = np.bincount(self.pop.households.place, minlength=self.world.n)
        self.housing = Housing.initial(households, p.housing, self.streams.get("housing"),
                                       rates=rate)
        self.housing.price = price.copy()

    def _jobs_within(self, minutes: float, by_bus: bool = False) -> np.ndarray:
        """Jobs within ``minutes`` by car (or bus), computed once per run and key."""
        key = (float(minutes), bool(by_bus))
        if key not in self._jobs_cache:
            self._jobs_cache[key] = self.jobs.within(self.world, minutes, by_bus)
        return self._jobs_cache[key]

    @contextmanager
    def _clock(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        yield
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t

    # ------------------------------------------------------------------ reading
    def persons_per_place(self) -> np.ndarray:
        """Persons per place now (simulated scale)."""
        return self.pop.place_persons(self.world.n)

    def place_values(self) -> np.ndarray:
        """Utility per segment and place with the latest place state."""
        return place_values(self.state, self.segments, self.params.relocation.weights)

    def service_km(self) -> np.ndarray:
        """Effective distance to each kind of service that movers saw in the latest year."""
        return self.state.service_km

    def place_year(self) -> pd.DataFrame:
        """All place-year records so far, one row per place and year."""
        return self.records.place_year()

    def region_year(self) -> pd.DataFrame:
        """Region totals per year."""
        return self.records.region_year()

    def initiative_events(self) -> pd.DataFrame:
        """What happened to every initiative in every place (started, failed, ended, why)."""
        rows = [vars(e) for e in self.interventions.events()]
        df = pd.DataFrame(rows, columns=["kind", "name", "place_id", "year", "event", "reason"])
        df["place"] = self.world.places["name"].to_numpy()[df["place_id"].to_numpy(int)] \
            if len(df) else pd.Series(dtype=str)
        return df

    def run(self, progress: bool = False) -> None:
        """Step until ``params.end_year`` (with a tqdm bar if ``progress``)."""
        years = range(self.year, self.params.end_year)
        if progress:
            from tqdm import tqdm
            years = tqdm(years, desc="simulating", unit="year")
        for _ in years:
            self.step()
