"""RegionModel: the whole region as a Mesa model; one step is one year.

Household agents live in columnar arrays (:mod:`sim.household`); the model wires the yearly
processes together in a fixed order, each reading the model state and writing back to it:

1. demography (ageing, deaths, births, leaving home, employment)
2. out-migration from the region
3. services (catchments, closures, openings) on the current population
4. relocation of movers, leavers and in-migrants with vacancy limits
5. housing (prices, construction, dereliction)
6. records (place-year and region-year tables, Mesa DataCollector)

Every process draws from its own named random stream for the year (:mod:`sim.rng`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from functools import cache

import mesa
import numpy as np
import pandas as pd

from . import demography, migration, relocation
from .community import Community, renew
from .household import Population, stage_of
from .housing import Housing
from .params import STAGES, Parameters, WorldParams
from .places import SIZE_CLASSES, settlement_class
from .population import choose_workplaces, synthesize
from .rng import Streams
from .services import KINDS, initial_services, update_services
from .utility import TermContext, segment_values
from .world import World, build_world

log = logging.getLogger(__name__)

#: A worker whose job is further than this by car after a move changes job.
MAX_COMMUTE_MIN = 60.0
#: Moves shorter than this count as "short" in the records (DST reports moves under 10 km).
SHORT_MOVE_KM = 10.0
AGE_GROUPS = ((0, 17), (18, 29), (30, 64), (65, 200))
AGE_EDGES = np.array([lo for lo, _ in AGE_GROUPS[1:]])


@cache
def _cached_world(world_json: str, base_year: int) -> World:
    return build_world(WorldParams.model_validate_json(world_json), base_year)


def get_world(params: Parameters) -> World:
    """The world for ``params`` (built once per process and parameter set, then copied)."""
    w = _cached_world(params.world.model_dump_json(), params.base_year)
    return dataclasses.replace(w)


def distance_kernels(dist_km: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """``exp(-decay[stage] * km)`` per stage plus a final row of ones (from outside).

    Columns are padded with zeros to a multiple of the relocation draw's block size.
    """
    n = dist_km.shape[0]
    b = relocation.block_size(n)
    npad = -(-n // b) * b
    k = np.zeros((len(decay), n + 1, npad), np.float32)
    for s, lam in enumerate(decay):
        np.exp(-np.float32(lam) * dist_km, out=k[s, :n, :n])
        k[s, n, :n] = 1.0
    return k


class _Clock:
    """Adds the seconds since the previous lap to ``timings[name]`` (for benchmarks)."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self.t
        self.t = now


class RegionModel(mesa.Model):
    """Region Midtjylland's households choosing where to live, one step per year.

    Args:
        params: Validated parameters (defaults if None).
        seed: Seed of the run; all randomness derives from it.
        world: Prebuilt world (built from ``params.world`` if None).
        scenario: A validated :class:`sim.scenario.Scenario` whose initiatives and trends
            act on this run (its parameters must already be in ``params``).
    """

    def __init__(self, params: Parameters | None = None, seed: int = 0,
                 world: World | None = None, scenario=None) -> None:
        super().__init__(seed=seed)
        self.params = params or Parameters()
        self.seed_value = int(seed)
        self.streams = Streams(self.seed_value)
        # a shallow copy: the population step writes jobs and the workplace CDF into it
        self.world = dataclasses.replace(world) if world is not None else get_world(self.params)
        self.year = self.params.base_year
        p = self.params
        self.pop: Population = synthesize(self.world, p, self.streams.get("population"))
        self.services = initial_services(self.world, p.services, self.service_users(None),
                                         self.streams.get("services", p.base_year))
        self.rates = demography.load_rates(p.demography)
        self.housing = Housing.initial(
            np.bincount(self.pop.households.place, minlength=self.world.n), p.housing,
            self.streams.get("housing"))
        lam = np.asarray(p.relocation.distance_decay_per_km, np.float32)
        self.kernels = distance_kernels(self.world.dist_km, lam)
        self.stage_of_seg = np.repeat(np.arange(4), 4)
        self.jobs30_car = self.world.jobs_within(30)
        self.jobs45_bus = self.world.jobs_within(45, by_bus=True)
        self.extra_terms: dict[str, np.ndarray] = {}
        # per-place state that initiatives and trends may change (copies of the world's)
        self.bus_level = self.world.bus_level.copy()
        self.nature = self.world.nature.copy()
        self.community = self.world.community.copy()
        #: Distance (km) within which a kind's service is reachable regardless of open units
        #: (e.g. a mobile clinic); inf = no such access.
        self.service_access_km = np.full((self.world.n, len(KINDS)), np.inf, np.float32)
        #: Functions ``(model, values) -> values`` applied to the place values every year.
        self.value_adjusters: list = []
        #: Objects with ``step(model, year)`` called at the start of every year.
        self.interventions: list = []
        self.community_capacity = Community.empty(self.world.n)
        #: Relative weight of in-migrant households headed 55+ (trends may raise it).
        self.immigrant_old_weight = 1.0
        #: Per-run cache for derived arrays (e.g. job access within other times).
        self.cache: dict = {}
        if p.migration.net_migration_rate is None:
            d = p.demography
            factor = (1.0 - d.mortality_improvement) ** max(p.base_year + 1 - d.mortality_year, 0)
            nat = migration.natural_balance_rate(self.pop, self.rates.death, self.rates.birth,
                                                 factor)
            self.net_migration_rate = migration.observed_growth_rate(
                p.base_year - 5, p.base_year) - nat
        else:
            self.net_migration_rate = p.migration.net_migration_rate
        self.timings: dict[str, float] = {}
        self.place_rows: list[pd.DataFrame] = []
        self.region_rows: list[dict] = []
        self.datacollector = mesa.DataCollector(model_reporters={
            "population": lambda m: len(m.pop.persons),
            "households": lambda m: len(m.pop.households),
            **{f"{k}_open": (lambda m, k=k: int((m.services.open
                                                 & (m.services.kind == KINDS.index(k))).sum()))
               for k in KINDS},
        })
        self.scenario = scenario
        if scenario is not None:
            from .scenario import build_interventions
            self.interventions = build_interventions(scenario, self)
        zeros = np.zeros(self.world.n, np.int64)
        self._record(flows={k: zeros for k in ("births", "deaths", "in_movers", "out_movers",
                                                "immigrants", "emigrants", "applicants")},
                     moves={})
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ helpers
    def persons_per_place(self) -> np.ndarray:
        """Persons per place now (simulated scale)."""
        return self.pop.place_persons(self.world.n)

    def service_users(self, leaving: np.ndarray | None) -> list[np.ndarray]:
        """Users per place and kind at full scale: persons, pupils aged 6-15 for schools.

        Households in ``leaving`` (out-migrating this year) are not counted.
        """
        pp = self.pop.persons
        home = self.pop.households.place[pp.hh]
        staying = np.ones(len(pp), bool) if leaving is None else ~leaving[pp.hh]
        n = self.world.n
        persons = np.bincount(home[staying], minlength=n) / self.params.scale
        pupils = np.bincount(home[staying & (pp.age >= 6) & (pp.age <= 15)],
                             minlength=n) / self.params.scale
        return [persons if kind != "school" else pupils for kind in KINDS]

    def service_km(self) -> np.ndarray:
        """Distance to the nearest open unit of each kind, shape (n_places, len(KINDS))."""
        counts = self.services.open_count(self.world.n)
        km = np.stack([self.world.nearest_km(counts[:, k] > 0) for k in range(len(KINDS))],
                      axis=1)
        return np.minimum(km, self.service_access_km)

    def term_context(self, car: bool) -> TermContext:
        """Per-place inputs of the utility terms for households with/without a car."""
        return TermContext(jobs30_car=self.jobs30_car, jobs45_bus=self.jobs45_bus,
                           service_km=self._service_km, bus_level=self.bus_level,
                           nature=self.nature, community=self.community,
                           price=self.housing.price, car=car, extra=self.extra_terms)

    def place_values(self) -> np.ndarray:
        """Systematic utility per segment and place with the current state, (16, n)."""
        self._service_km = self.service_km()
        values = segment_values(self.term_context(True), self.term_context(False),
                                self.params.relocation.weights)
        for adjust in self.value_adjusters:
            values = adjust(self, values)
        return values

    # ------------------------------------------------------------------ the year
    def step(self) -> None:
        """Simulate one year (1 January ``year`` to 1 January ``year + 1``)."""
        p = self.params
        year = self.year + 1
        n = self.world.n
        clock = _Clock(self.timings)
        if self.interventions:
            renew(self.community_capacity, self)
        for intervention in self.interventions:
            intervention.step(self, year)
        clock.lap("initiatives")
        dem = demography.step(self.pop, self.rates, p.demography, year, n, self.streams)
        clock.lap("demography")
        head_age = self.pop.head_age()
        leaving, emigrants, out_tbl = migration.emigrate(
            self.pop, head_age, p.migration.emigration_rate_by_age, n,
            self.streams.keyed_uniform("migration", self.pop.households.key, year))
        clock.lap("migration")

        users = self.service_users(leaving)
        svc = update_services(self.world, self.services, p.services, users, year,
                              self.streams.get("services", year))
        clock.lap("services")

        values = self.place_values()
        moves = self._relocate(values, dem, leaving, head_age, out_tbl, emigrants, year)
        clock.lap("relocation")

        occupied = np.bincount(self.pop.households.place[self.pop.households.housed],
                               minlength=n)
        applicants = moves.pop("applicants")
        self.housing.update(occupied, applicants, moves.pop("vacant_before"),
                            p.housing, self.streams.get("housing", year))
        clock.lap("housing")
        self.year = year
        flows = {"births": dem.births, "deaths": dem.deaths, **moves.pop("flows"),
                 "emigrants": emigrants + moves.pop("extra_emigrants")}
        moves.update(svc)
        flows["applicants"] = applicants
        self._record(flows=flows, moves=moves)
        self.datacollector.collect(self)
        clock.lap("records")

    def _relocate(self, values: np.ndarray, dem: demography.DemographyResult,
                  leaving: np.ndarray, head_age: np.ndarray, out_tbl: Population,
                  emigrants: np.ndarray, year: int) -> dict:
        p = self.params
        n = self.world.n
        rng = self.streams.get("relocation", year)
        pop = self.pop
        # in-migrants: out-migrant persons this year plus the net rate
        n_now = len(pop.persons) - len(out_tbl.persons)
        expected_in = emigrants.sum() + self.net_migration_rate * n_now
        n_in = int(np.floor(expected_in) + (rng.random() < expected_in - np.floor(expected_in)))
        n_before = len(pop.households)
        imm_rows = migration.immigrants(pop, out_tbl, n_in, self.streams.get("immigration", year),
                                        old_weight=self.immigrant_old_weight)
        hh = pop.households
        pp = pop.persons
        incoming = np.zeros(len(hh), bool)
        incoming[imm_rows] = True
        gone = np.zeros(len(hh), bool)
        gone[:n_before] = leaving
        imm_head = np.zeros(len(imm_rows), np.int16)
        if len(imm_rows):
            sel = incoming[pp.hh] & ~pp.child
            np.maximum.at(imm_head, pp.hh[sel] - n_before, pp.age[sel])
        head_all = np.concatenate([head_age, imm_head])

        size = np.bincount(pp.hh, minlength=len(hh))
        stage = stage_of(head_all, np.bincount(pp.hh[pp.age < 18], minlength=len(hh)))
        worker = np.bincount(pp.hh[pp.employed], minlength=len(hh)) > 0
        seg = relocation.segment_of(stage, hh.car, worker)
        logsum = relocation.logsums(values, self.housing.dwellings)
        pm = relocation.move_probability(stage, values[seg, hh.place], logsum[seg],
                                         np.asarray(p.relocation.move_rate),
                                         p.relocation.dissatisfaction_gain)
        decide = hh.housed & (self.streams.keyed_uniform("relocation", hh.key, year, 0) < pm)
        choosers = np.flatnonzero(decide | (~hh.housed & ~gone))
        origin = np.where(incoming[choosers], -1, hh.place[choosers]).astype(np.int64)
        occupied = np.bincount(hh.place[hh.housed], minlength=n)
        vacant = self.housing.vacant(occupied)
        chooser_keys = hh.key[choosers]

        def keyed(rows: np.ndarray, slot: int) -> np.ndarray:
            return self.streams.keyed_uniform("relocation", chooser_keys[rows], year, slot)

        alloc = relocation.allocate(origin, seg[choosers], hh.housed[choosers], self.kernels,
                                    self.stage_of_seg, values, vacant, p.relocation.rounds, rng,
                                    keyed=keyed)
        got = alloc.dest >= 0
        c_got = choosers[got]
        dest = alloc.dest[got]
        org = origin[got]
        sizes = size[c_got]
        between = (org >= 0) & (org != dest)
        flows = {
            "in_movers": np.bincount(dest[between], weights=sizes[between], minlength=n),
            "out_movers": np.bincount(org[between], weights=sizes[between], minlength=n),
            "immigrants": np.bincount(dest[org < 0], weights=sizes[org < 0], minlength=n),
        }
        internal = org >= 0
        oi, di = org[internal], dest[internal]
        km = np.where(oi == di, p.world.intra_place_km, self.world.dist_km[oi, di])
        muni = self.world.places["municipality_code"].to_numpy()
        moved_stage = stage[c_got[internal]]
        present = ~gone & ~incoming  # households of the region at the start of the step
        moves = {
            "moves": int(internal.sum()),
            "moves_short": int((km < SHORT_MOVE_KM).sum()),
            "moves_within_municipality": int((muni[oi] == muni[di]).sum()),
            "move_km_sum": float(km.sum()),
            **{f"moves_{s}": int((moved_stage == i).sum()) for i, s in enumerate(STAGES)},
            **{f"households_{s}": int(np.count_nonzero(present & (stage == i)))
               for i, s in enumerate(STAGES)},
        }
        hh.place[c_got] = dest.astype(np.int32)
        hh.housed[c_got] = True
        hh.years[c_got] = 0
        # workers of moved households far from their job, and new entrants, take a job nearer
        moved = np.zeros(len(hh), bool)
        moved[c_got] = True
        check = np.flatnonzero(pp.employed & (moved[pp.hh] | (pp.workplace < 0)))
        home = hh.place[pp.hh[check]]
        wp = pp.workplace[check]
        far = (wp < 0) | (self.world.car_min[home, np.maximum(wp, 0)] > MAX_COMMUTE_MIN)
        u_job = self.streams.keyed_uniform("relocation", pp.pid[check[far]], year, 30)
        pp.workplace[check[far]] = choose_workplaces(self.world.workplace_cdf, home[far], u_job,
                                                     self.world.workplace_flat)
        extra_emigrants = self._settle_unhoused(incoming, gone, dem)
        flows["in_movers"] = flows["in_movers"] + self._follow_in
        flows["out_movers"] = flows["out_movers"] + self._follow_out
        moves["flows"] = flows
        moves["applicants"] = np.bincount(alloc.first_choice[alloc.first_choice >= 0],
                                          minlength=n)
        moves["vacant_before"] = vacant
        moves["extra_emigrants"] = extra_emigrants
        return moves

    def _settle_unhoused(self, incoming: np.ndarray, gone: np.ndarray,
                         dem: demography.DemographyResult) -> np.ndarray:
        """Young adults without a dwelling return home; in-migrants without one do not come.

        A young adult whose parental household no longer exists (died out or emigrated)
        leaves the region (returned as extra emigrants per place). Out-migrants and the
        households left empty are removed: the year's one compaction after demography.
        """
        pop = self.pop
        hh = pop.households
        pp = pop.persons
        n = self.world.n
        extra = np.zeros(n, np.int64)
        self._follow_out = self._follow_in = np.zeros(n, np.int64)
        left = np.flatnonzero(~hh.housed)
        if len(left) == 0:
            return extra
        drop_hh = gone.copy()
        drop_hh[left[incoming[left]]] = True
        # rows are found by id: ids only grow and compaction keeps order, so hid is sorted
        parent_rows = np.minimum(np.searchsorted(hh.hid, dem.parent_hid), len(hh) - 1)
        parent_alive = (hh.hid[parent_rows] == dem.parent_hid) & ~gone[parent_rows]
        leaver_rows = np.searchsorted(hh.hid, dem.leaver_hid)
        back = np.full(len(hh), -1, np.int64)
        back[leaver_rows] = np.where(parent_alive, parent_rows, -1)
        unhoused_leaver = ~hh.housed & ~incoming & ~gone
        returning = unhoused_leaver & (back >= 0)
        orphan = unhoused_leaver & (back < 0)
        drop_hh |= orphan
        ret_p = returning[pp.hh]
        # a parental household that moved this year takes the returning young adult along
        src = hh.place[pp.hh[ret_p]]
        dst = hh.place[back[pp.hh[ret_p]]]
        follow = src != dst
        self._follow_out = np.bincount(src[follow], minlength=n)
        self._follow_in = np.bincount(dst[follow], minlength=n)
        pp.hh[ret_p] = back[pp.hh[ret_p]].astype(np.int32)
        pp.child[ret_p] = True
        orphan_p = orphan[pp.hh]
        extra = np.bincount(hh.place[pp.hh[orphan_p]], minlength=n)
        pop.compact(~drop_hh[pp.hh])
        return extra

    # ------------------------------------------------------------------ records
    def _record(self, flows: dict[str, np.ndarray], moves: dict) -> None:
        n = self.world.n
        pp = self.pop.persons
        hh = self.pop.households
        place_of_person = hh.place[pp.hh]
        persons = np.bincount(place_of_person, minlength=n)
        counts = self.services.open_count(n)
        occupied = np.bincount(hh.place[hh.housed], minlength=n)
        frame = {
            "year": np.full(n, self.year, np.int16),
            "place_id": np.arange(n, dtype=np.int32),
            "population": persons,
            "households": np.bincount(hh.place, minlength=n),
        }
        group = np.searchsorted(AGE_EDGES, pp.age, side="right")
        by_age = np.bincount(place_of_person * len(AGE_GROUPS) + group,
                             minlength=n * len(AGE_GROUPS)).reshape(n, len(AGE_GROUPS))
        for g, (lo, hi) in enumerate(AGE_GROUPS):
            label = f"age_{lo}_{hi}" if hi < 200 else f"age_{lo}_plus"
            frame[label] = by_age[:, g]
        for k, v in flows.items():
            frame[k] = np.asarray(v).astype(np.int64)
        for k, name in enumerate(KINDS):
            frame[f"{name}_open"] = counts[:, k]
        frame["dwellings"] = self.housing.dwellings.copy()
        frame["vacant"] = self.housing.vacant(occupied)
        frame["price_index"] = self.housing.price.copy()
        self.place_rows.append(pd.DataFrame(frame))
        cls = settlement_class(persons / self.params.scale,
                               (self.world.places["kind"] == "countryside").to_numpy(),
                               self.params.world.settlement_town_min)
        by_class = np.bincount(cls, weights=persons, minlength=len(SIZE_CLASSES))
        row = {"year": self.year, "population": int(persons.sum()),
               "households": len(hh),
               **{f"{k}_open": int(counts[:, i].sum()) for i, k in enumerate(KINDS)},
               **{f"{k}": int(np.asarray(v).sum()) for k, v in flows.items()},
               **{f"pop_{lbl}": int(v) for lbl, v in zip(SIZE_CLASSES, by_class, strict=True)},
               **{k: v for k, v in moves.items() if not isinstance(v, np.ndarray)}}
        self.region_rows.append(row)

    def place_year(self) -> pd.DataFrame:
        """All place-year records so far, one row per place and year."""
        return pd.concat(self.place_rows, ignore_index=True)

    def initiative_events(self) -> pd.DataFrame:
        """What happened to every initiative in every place (started, failed, ended, why)."""
        rows = [vars(e) for obj in self.interventions for e in getattr(obj, "events", [])]
        df = pd.DataFrame(rows, columns=["kind", "name", "place_id", "year", "event", "reason"])
        df["place"] = self.world.places["name"].to_numpy()[df["place_id"].to_numpy(int)] \
            if len(df) else pd.Series(dtype=str)
        return df

    def region_year(self) -> pd.DataFrame:
        """Region totals per year."""
        return pd.DataFrame(self.region_rows).fillna(0)

    def run(self, progress: bool = False) -> None:
        """Step until ``params.end_year`` (with a tqdm bar if ``progress``)."""
        years = range(self.year, self.params.end_year)
        if progress:
            from tqdm import tqdm
            years = tqdm(years, desc="simulating", unit="year")
        for _ in years:
            self.step()

    def describe(self) -> str:
        """One-line JSON summary of the current state (for logs)."""
        return json.dumps({"year": self.year, "persons": len(self.pop.persons),
                           "households": len(self.pop.households)})
