"""Naive object-per-household Mesa reference of the relocation rule, and its comparison.

The model (:mod:`sim.relocation`) decides relocation for all households at once: move
probabilities as one array expression, destinations by an exact multinomial logit computed
once per (origin, segment) row and drawn by inverse CDF. This module implements the *same*
rule the way a first Mesa model would: one :class:`mesa.Agent` per household, a
:class:`mesa.Model` whose step calls every agent in random order
(``model.agents.shuffle_do("step")``), and each agent

1. computing its yearly moving probability
   ``move_rate[stage] * 2 / (1 + exp(-gain * (logsum[segment] - V[segment, home])))``
   (clipped to [0, 1]) and drawing one uniform number against it;
2. if it moves, computing its own row of logit weights over all places,
   ``vacant_j * exp(V[segment, j] - max V[segment]) * kernel[stage, home, j]`` (with
   ``kernel = exp(-lambda_stage * km)``), drawing one destination by inverse CDF, and taking
   the vacant dwelling at once (freeing its old one), so vacancies are respected
   sequentially.

Both implementations get the same inputs, taken from a freshly built
:class:`sim.model.RegionModel`: place values ``V`` (16 segments x places), the distance
kernels, the vacant dwellings per place, the segment logsums and the households' place,
segment and stage. The comparison times both on the same random sample of households and
checks that they produce the same distribution of moves (share of households moving, share
of moves under 10 km, mean move km and a chi-square test on distance bands).

Run ``python benchmarks/naive_mesa.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim import relocation  # noqa: E402
from sim.model import RegionModel  # noqa: E402
from sim.params import Parameters  # noqa: E402
from sim.relocation import SHORT_MOVE_KM  # noqa: E402
from sim.world import get_world  # noqa: E402

#: Upper edges (km) of the distance bands of the chi-square check (last band is open).
KM_BANDS = (2.5, 5.0, 10.0, 20.0, 40.0)
#: Allowed difference between naive and vectorised statistics, in combined standard errors.
TOLERANCE_SE = 4.0
#: Smallest chi-square p-value accepted by the distribution check.
MIN_P_VALUE = 1e-3


@dataclass
class RuleInputs:
    """Everything the relocation rule reads, taken from a model at the start of a year.

    Attributes:
        values: Systematic utility per segment and place, shape (16, n), float64.
        kernels: ``exp(-lambda_stage * km)`` per stage, shape (4, n + 1, npad), float32.
        stage_of_seg: Stage of each segment, shape (16,).
        vacant: Vacant dwellings per place, shape (n,), int64.
        logsum: Dwelling-weighted logsum per segment, shape (16,).
        move_rate: Base yearly moving chance per stage, shape (4,).
        gain: Dissatisfaction gain of the moving probability.
        rounds: Choice rounds of the vectorised allocation.
        dist_km: Road distance between places, shape (n, n).
        intra_place_km: Length counted for a move inside one place.
        place: Place of every household, shape (n_households,).
        seg: Segment of every household.
        stage: Stage of every household.
        scale: Share of households simulated in the source model.
    """

    values: np.ndarray
    kernels: np.ndarray
    stage_of_seg: np.ndarray
    vacant: np.ndarray
    logsum: np.ndarray
    move_rate: np.ndarray
    gain: float
    rounds: int
    dist_km: np.ndarray
    intra_place_km: float
    place: np.ndarray
    seg: np.ndarray
    stage: np.ndarray
    scale: float

    @property
    def n_places(self) -> int:
        """Number of places."""
        return self.values.shape[1]

    @property
    def n_households(self) -> int:
        """Number of households in the source model."""
        return len(self.place)


def inputs_from_model(m: RegionModel) -> RuleInputs:
    """Relocation inputs of ``m`` in its current state (all housed households).

    Segments and stages are derived as in :meth:`sim.relocation.Relocation.run`: stage from
    the head's age and the number of minors, segment from stage, car and whether anyone
    works.
    """
    pop = m.pop
    hh = pop.households
    keep = hh.housed
    stage = pop.stage()
    worker = pop.workers() > 0
    seg = m.segments.of(stage=stage, car=hh.car, worker=worker, tenure=hh.renter)
    values = m.place_values()
    occupied = np.bincount(hh.place[hh.housed], minlength=m.world.n)
    p = m.params.relocation
    return RuleInputs(
        values=values,
        kernels=m.relocation.kernels,
        stage_of_seg=np.asarray(m.segments.stage, np.int64),
        vacant=m.housing.vacant(occupied).astype(np.int64),
        logsum=relocation.logsums(values, m.housing.dwellings),
        move_rate=np.asarray(p.move_rate, np.float64),
        gain=float(p.dissatisfaction_gain),
        rounds=int(p.rounds),
        dist_km=m.world.dist_km,
        intra_place_km=float(m.params.world.intra_place_km),
        place=hh.place[keep].astype(np.int64),
        seg=seg[keep].astype(np.int64),
        stage=stage[keep].astype(np.int64),
        scale=float(m.params.scale),
    )


def build_model(scale: float, seed: int) -> RegionModel:
    """A :class:`RegionModel` at ``scale`` in its start year."""
    params = Parameters(scale=scale)
    return RegionModel(params, seed=seed, world=get_world(params))


def build_inputs(scale: float, seed: int) -> RuleInputs:
    """Build a :class:`RegionModel` at ``scale`` and take its year-one relocation inputs."""
    return inputs_from_model(build_model(scale, seed))


# ---------------------------------------------------------------------------- naive Mesa
class HouseholdAgent(mesa.Agent):
    """One household as a Mesa agent: it decides for itself whether and where to move.

    Args:
        model: The :class:`NaiveRelocationModel` the agent belongs to.
        place: Current place index.
        segment: Segment ``stage * 4 + car * 2 + worker``.
        stage: Life stage (0 young, 1 family, 2 adult, 3 senior).
    """

    def __init__(self, model: NaiveRelocationModel, place: int, segment: int,
                 stage: int) -> None:
        super().__init__(model)
        self.place = place
        self.segment = segment
        self.stage = stage

    def step(self) -> None:
        """Decide whether to move this year and, if so, choose and take a vacant dwelling."""
        m: NaiveRelocationModel = self.model
        seg = self.segment
        v_home = float(m.values[seg, self.place])
        factor = 2.0 / (1.0 + math.exp(-m.gain * (float(m.logsum[seg]) - v_home)))
        p_move = min(max(float(m.move_rate[self.stage]) * factor, 0.0), 1.0)
        if m.rng.random() >= p_move:
            return
        m.choosers += 1
        # this household's own row of logit weights over every place
        weights = (m.vacant * np.exp(m.values[seg] - m.vmax[seg])
                   * m.kernels[self.stage, self.place, :m.n_places])
        cdf = np.cumsum(weights)
        total = cdf[-1]
        if total <= 0.0:
            return
        dest = min(int(np.searchsorted(cdf, m.rng.random() * total, side="right")),
                   m.n_places - 1)
        m.vacant[dest] -= 1.0
        m.vacant[self.place] += 1.0
        m.origins.append(self.place)
        m.destinations.append(dest)
        self.place = dest


class NaiveRelocationModel(mesa.Model):
    """Mesa model with one :class:`HouseholdAgent` per household; one step is one year.

    Args:
        inputs: Relocation inputs (values, kernels, vacancies, ...).
        rows: Households of ``inputs`` to create agents for.
        seed: Seed of the model's random generators (``model.rng`` and ``model.random``).
    """

    def __init__(self, inputs: RuleInputs, rows: np.ndarray, seed: int) -> None:
        super().__init__(seed=seed)
        self.values = inputs.values
        self.vmax = inputs.values.max(axis=1)
        self.kernels = inputs.kernels
        self.logsum = inputs.logsum
        self.move_rate = inputs.move_rate
        self.gain = inputs.gain
        self.n_places = inputs.n_places
        self.vacant = inputs.vacant.astype(np.float64)
        self.choosers = 0
        self.origins: list[int] = []
        self.destinations: list[int] = []
        for r in rows:
            HouseholdAgent(self, int(inputs.place[r]), int(inputs.seg[r]), int(inputs.stage[r]))

    def step(self) -> None:
        """Every household agent decides in random order."""
        self.agents.shuffle_do("step")


# ---------------------------------------------------------------------------- vectorised
def vectorised_decision(inputs: RuleInputs, rows: np.ndarray,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """The model's rule on households ``rows``: moving draw, then vacancy-limited logit choice.

    Returns:
        Origins and destinations of the households that moved, and the number of choosers.
    """
    place = inputs.place[rows]
    seg = inputs.seg[rows]
    stage = inputs.stage[rows]
    pm = relocation.move_probability(stage, inputs.values[seg, place], inputs.logsum[seg],
                                     inputs.move_rate, inputs.gain)
    choosers = np.flatnonzero(rng.random(len(rows)) < pm)
    alloc = relocation.allocate(place[choosers], seg[choosers], np.ones(len(choosers), bool),
                                inputs.kernels, inputs.stage_of_seg, inputs.values,
                                inputs.vacant, inputs.rounds, rng)
    got = alloc.dest >= 0
    return place[choosers][got], alloc.dest[got], len(choosers)


# ---------------------------------------------------------------------------- comparison
@dataclass
class MoveSample:
    """Moves pooled over repetitions of one implementation."""

    households: int = 0
    choosers: int = 0
    km: list[np.ndarray] | None = None

    def add(self, inputs: RuleInputs, households: int, choosers: int, origin: np.ndarray,
            dest: np.ndarray) -> None:
        """Add one repetition's moves."""
        o = np.asarray(origin, np.int64)
        d = np.asarray(dest, np.int64)
        km = np.where(o == d, inputs.intra_place_km, inputs.dist_km[o, d]).astype(np.float64)
        self.households += households
        self.choosers += choosers
        self.km = [*(self.km or []), km]

    def stats(self) -> dict[str, float]:
        """Move share, share of moves under 10 km and mean km, with standard errors."""
        km = np.concatenate(self.km or [np.zeros(0)])
        n = max(len(km), 1)
        move_share = len(km) / max(self.households, 1)
        short = float((km < SHORT_MOVE_KM).mean()) if len(km) else 0.0
        return {
            "households": self.households,
            "choosers": self.choosers,
            "moves": len(km),
            "move_share": move_share,
            "move_share_se": math.sqrt(move_share * (1 - move_share) / max(self.households, 1)),
            "share_under_10km": short,
            "share_under_10km_se": math.sqrt(short * (1 - short) / n),
            "mean_km": float(km.mean()) if len(km) else 0.0,
            "mean_km_se": float(km.std(ddof=1) / math.sqrt(n)) if len(km) > 1 else 0.0,
        }

    def band_counts(self) -> np.ndarray:
        """Moves per distance band (:data:`KM_BANDS`, last band open)."""
        km = np.concatenate(self.km or [np.zeros(0)])
        return np.bincount(np.searchsorted(KM_BANDS, km, side="right"),
                           minlength=len(KM_BANDS) + 1)


def distribution_check(naive: MoveSample, vec: MoveSample) -> dict[str, Any]:
    """Compare the two move samples statistic by statistic (z within :data:`TOLERANCE_SE`)."""
    a, b = naive.stats(), vec.stats()
    out: dict[str, Any] = {"naive": a, "vectorised": b, "tolerance_se": TOLERANCE_SE}
    ok = True
    for key in ("move_share", "share_under_10km", "mean_km"):
        se = math.sqrt(a[f"{key}_se"] ** 2 + b[f"{key}_se"] ** 2)
        z = (a[key] - b[key]) / se if se > 0 else 0.0
        out[key] = {"naive": a[key], "vectorised": b[key], "diff": a[key] - b[key],
                    "tolerance": TOLERANCE_SE * se, "z": z, "ok": abs(z) <= TOLERANCE_SE}
        ok &= out[key]["ok"]
    table = np.stack([naive.band_counts(), vec.band_counts()])
    table = table[:, table.sum(axis=0) > 0]
    chi2, p_value, dof, _ = stats.chi2_contingency(table)
    out["bands_km"] = list(KM_BANDS)
    out["band_counts"] = {"naive": naive.band_counts().tolist(),
                          "vectorised": vec.band_counts().tolist()}
    out["chi2"] = {"statistic": float(chi2), "dof": int(dof), "p_value": float(p_value),
                   "ok": bool(p_value >= MIN_P_VALUE)}
    out["ok"] = bool(ok and out["chi2"]["ok"])
    return out


def compare(inputs: RuleInputs, sample: int = 20_000, reps: int = 5, vec_reps: int = 20,
            full_reps: int = 3, seed: int = 0) -> dict[str, Any]:
    """Time the naive Mesa reference and the vectorised rule and compare their moves.

    Args:
        inputs: Relocation inputs from a model.
        sample: Households drawn at random (without replacement) for both implementations.
        reps: Repetitions of the naive step (each on a fresh naive model).
        vec_reps: Repetitions of the vectorised rule on the same sample (interleaved with
            the naive ones).
        full_reps: Repetitions of the vectorised rule on every household of ``inputs``.
        seed: Seed of the sample and of every repetition's random generator.

    Returns:
        Households per second of both (median over repetitions), their ratio, and the
        distribution check.
    """
    rng = np.random.default_rng([seed, 0])
    sample = min(sample, inputs.n_households)
    rows = np.sort(rng.choice(inputs.n_households, sample, replace=False))

    # naive steps and vectorised calls are interleaved, so that a busy spell of the machine
    # slows both rather than only one of them
    naive, vec = MoveSample(), MoveSample()
    naive_s: list[float] = []
    naive_init_s: list[float] = []
    vec_s: list[float] = []
    vectorised_decision(inputs, rows, np.random.default_rng([seed, 9]))  # warm-up
    reps = max(reps, 1)
    vec_per_naive = -(-vec_reps // reps)
    for r in range(reps):
        t0 = time.perf_counter()
        model = NaiveRelocationModel(inputs, rows, seed=seed * 1_000 + r)
        t1 = time.perf_counter()
        model.step()
        t2 = time.perf_counter()
        naive_init_s.append(t1 - t0)
        naive_s.append(t2 - t1)
        naive.add(inputs, sample, model.choosers, np.array(model.origins),
                  np.array(model.destinations))
        for v in range(r * vec_per_naive, min((r + 1) * vec_per_naive, vec_reps)):
            vrng = np.random.default_rng([seed, 1, v])
            t0 = time.perf_counter()
            o, d, n_choosers = vectorised_decision(inputs, rows, vrng)
            vec_s.append(time.perf_counter() - t0)
            vec.add(inputs, sample, n_choosers, o, d)

    all_rows = np.arange(inputs.n_households)
    full_s = []
    for r in range(full_reps):
        frng = np.random.default_rng([seed, 2, r])
        t0 = time.perf_counter()
        vectorised_decision(inputs, all_rows, frng)
        full_s.append(time.perf_counter() - t0)

    naive_hps = sample / float(np.median(naive_s))
    vec_hps = sample / float(np.median(vec_s))
    full_hps = inputs.n_households / float(np.median(full_s)) if full_reps else float("nan")
    return {
        "scale": inputs.scale,
        "n_places": inputs.n_places,
        "n_households": inputs.n_households,
        "sample": sample,
        "naive": {"reps": reps, "step_s": naive_s, "agent_creation_s": naive_init_s,
                  "households_per_s": naive_hps},
        "vectorised_sample": {"reps": len(vec_s), "s": vec_s, "households_per_s": vec_hps},
        "vectorised_full": {"reps": full_reps, "households": inputs.n_households,
                            "s": full_s, "households_per_s": full_hps},
        "ratio": vec_hps / naive_hps,
        "ratio_full_population": full_hps / naive_hps,
        "check": distribution_check(naive, vec),
    }


# ---------------------------------------------------------------------------- whole step
@dataclass
class StepInputs:
    """What the naive whole step needs besides the relocation inputs: the population sample.

    Attributes:
        rule: Relocation inputs (values, kernels, vacancies, logsums, rates) of the model.
        model: The model the sample comes from (its rates, parameters and segments).
    """

    rule: RuleInputs
    model: RegionModel


def step_inputs_from_model(m: RegionModel) -> StepInputs:
    """Inputs of the whole-step comparison, taken from ``m`` at the start of a year."""
    return StepInputs(rule=inputs_from_model(m), model=m)


def sample_population(pop, rows: np.ndarray):
    """The households ``rows`` of ``pop`` and their members, as a new population."""
    from sim.household import Population

    rows = np.sort(np.asarray(rows))
    keep_hh = np.zeros(len(pop.households), bool)
    keep_hh[rows] = True
    members = np.flatnonzero(keep_hh[pop.persons.hh])
    hh = pop.households.take(rows)
    pp = pop.persons.take(members)
    new_row = np.full(len(pop.households), -1, np.int32)
    new_row[rows] = np.arange(len(rows), dtype=np.int32)
    pp.hh = new_row[pp.hh]
    return Population(hh, pp)


class PersonAgent(mesa.Agent):
    """One person as a Mesa agent (age, sex, employment, living with a parent)."""

    def __init__(self, model: NaiveStepModel, age: int, sex: int, employed: bool,
                 child: bool) -> None:
        super().__init__(model)
        self.age, self.sex, self.employed, self.child = age, sex, employed, child
        self.household: NaiveHousehold | None = None


class NaiveHousehold(mesa.Agent):
    """One household as a Mesa agent holding its member agents; it lives its own year.

    :meth:`demography` ages its members and applies the model's per-person rules in the
    model's order (death, birth to a surviving woman, employment entry or exit, leaving
    home into a new one-person household that looks for a dwelling); :meth:`relocate`
    decides whether to move and where (the relocation rule of :class:`HouseholdAgent`).
    """

    def __init__(self, model: NaiveStepModel, place: int, car: bool, housed: bool) -> None:
        super().__init__(model)
        self.place, self.car, self.housed = place, car, housed
        self.members: list[PersonAgent] = []

    def add(self, person: PersonAgent) -> None:
        """Make ``person`` a member."""
        person.household = self
        self.members.append(person)

    def demography(self) -> None:
        """One year of the members' demography (scalar Python, one person at a time)."""
        m: NaiveStepModel = self.model
        d = m.dem
        for p in list(self.members):
            p.age = min(p.age + 1, 110)
            if m.rng.random() < m.death[p.sex, p.age]:
                self.members.remove(p)
                m.deaths += 1
                p.remove()
                continue
            if p.sex == 1 and m.birth[p.age] > 0 and m.rng.random() < m.birth[p.age]:
                baby = PersonAgent(m, 0, int(m.rng.random() < m.girl_share), False, True)
                self.add(baby)
                m.births += 1
            if 18 <= p.age < d.retirement_age:
                r = m.rng.random()
                if p.employed and r < d.employment_exit_rate:
                    p.employed = False
                elif not p.employed and r < d.employment_entry_rate:
                    p.employed = True
            elif p.employed and p.age >= d.retirement_age:
                p.employed = False
            if p.child and p.age >= 18 and (p.age >= d.leave_home_max_age
                                             or m.rng.random() < d.leave_home_rate):
                self.members.remove(p)
                p.child = False
                new = NaiveHousehold(m, self.place, False, False)
                new.add(p)
                m.leavers += 1
        if not self.members:
            self.remove()

    def segment(self) -> tuple[int, int]:
        """(segment, stage) from the head's age, minors, car and workers (the model's rule)."""
        adults = [p.age for p in self.members if not p.child]
        head = max(adults) if adults else max(p.age for p in self.members)
        if any(p.age < 18 for p in self.members):
            stage = 1
        else:
            stage = 0 if head < 30 else (3 if head >= 65 else 2)
        worker = any(p.employed for p in self.members)
        return stage * 4 + int(self.car) * 2 + int(worker), stage

    def relocate(self) -> None:
        """Decide whether to move (unhoused households always look) and take a dwelling."""
        m: NaiveStepModel = self.model
        seg, stage = self.segment()
        if self.housed:
            v_home = float(m.values[seg, self.place])
            factor = 2.0 / (1.0 + math.exp(-m.gain * (float(m.logsum[seg]) - v_home)))
            if m.rng.random() >= min(max(float(m.move_rate[stage]) * factor, 0.0), 1.0):
                return
        m.choosers += 1
        weights = (m.vacant * np.exp(m.values[seg] - m.vmax[seg])
                   * m.kernels[stage, self.place, :m.n_places])
        cdf = np.cumsum(weights)
        if cdf[-1] <= 0.0:
            return
        dest = min(int(np.searchsorted(cdf, m.rng.random() * cdf[-1], side="right")),
                   m.n_places - 1)
        m.vacant[dest] -= 1.0
        if self.housed:
            m.vacant[self.place] += 1.0
        m.moves += 1
        self.place, self.housed = dest, True


class NaiveStepModel(mesa.Model):
    """Households and persons as Mesa agents; one step is the demography and moves of a year.

    Args:
        inputs: Whole-step inputs (rates from the source model, relocation inputs).
        pop: The households and persons to create agents for.
        year: The year simulated (mortality improvement).
        seed: Seed of the model's random generators.
    """

    def __init__(self, inputs: StepInputs, pop, year: int, seed: int) -> None:
        super().__init__(seed=seed)
        src = inputs.model
        r = inputs.rule
        d = self.dem = src.params.demography
        improve = (1.0 - d.mortality_improvement) ** max(year - d.mortality_year, 0)
        self.death = src.rates.death * improve
        self.birth = src.rates.birth
        self.girl_share = src.rates.girl_share
        self.values, self.vmax, self.kernels = r.values, r.values.max(axis=1), r.kernels
        self.logsum, self.move_rate, self.gain = r.logsum, r.move_rate, r.gain
        self.n_places = r.n_places
        self.vacant = r.vacant.astype(np.float64)
        self.deaths = self.births = self.leavers = self.choosers = self.moves = 0
        hh, pp = pop.households, pop.persons
        homes = [NaiveHousehold(self, int(hh.place[i]), bool(hh.car[i]), bool(hh.housed[i]))
                 for i in range(len(hh))]
        for i in range(len(pp)):
            homes[pp.hh[i]].add(PersonAgent(self, int(pp.age[i]), int(pp.sex[i]),
                                            bool(pp.employed[i]), bool(pp.child[i])))

    def step(self) -> None:
        """Demography of every household in random order, then every household's move."""
        self.agents_by_type[NaiveHousehold].shuffle_do("demography")
        self.agents_by_type[NaiveHousehold].shuffle_do("relocate")


def vectorised_step(inputs: StepInputs, pop, year: int, seed: int) -> dict[str, int]:
    """The model's own stages on ``pop``: :func:`sim.demography.step` (which also forms
    unions and compacts the tables, work the naive step does not do), then the moving
    decision and :func:`sim.relocation.allocate` for the housed movers and the new
    households."""
    from sim import demography
    from sim.rng import Streams

    src = inputs.model
    r = inputs.rule
    streams = Streams(seed)
    n_before = len(pop.persons)
    dem = demography.step(pop, src.rates, src.params.demography, year, r.n_places, streams)
    hh = pop.households
    stage = pop.stage()
    seg = src.segments.of(stage=stage, car=hh.car, worker=pop.workers() > 0,
                          tenure=hh.renter)
    rng = np.random.default_rng([seed, 3])
    pm = relocation.move_probability(stage, r.values[seg, hh.place], r.logsum[seg],
                                     r.move_rate, r.gain)
    choosers = np.flatnonzero((hh.housed & (rng.random(len(hh)) < pm)) | ~hh.housed)
    alloc = relocation.allocate(hh.place[choosers].astype(np.int64), seg[choosers],
                                hh.housed[choosers], r.kernels, r.stage_of_seg, r.values,
                                r.vacant, r.rounds, rng)
    got = alloc.dest >= 0
    hh.place[choosers[got]] = alloc.dest[got].astype(np.int32)
    hh.housed[choosers[got]] = True
    return {"deaths": int(dem.deaths.sum()), "births": int(dem.births.sum()),
            "leavers": len(dem.leaver_hid), "choosers": len(choosers),
            "moves": int(got.sum()), "persons": n_before}


def compare_step(inputs: StepInputs, sample: int = 20_000, reps: int = 3, vec_reps: int = 9,
                 seed: int = 0) -> dict[str, Any]:
    """Time the naive whole step and the model's stages on the same household sample.

    The naive steps and the vectorised calls are interleaved (3 vectorised calls after each
    naive step); each works on a fresh copy of the sample. Creating the agents is not
    timed. Rates per person (deaths, births, leavers) and per household (moves) are
    compared as in :func:`distribution_check` (within :data:`TOLERANCE_SE` standard errors).
    """
    import copy

    src = inputs.model
    year = src.year + 1
    rng = np.random.default_rng([seed, 5])
    n_hh = len(src.pop.households)
    rows = np.sort(rng.choice(n_hh, min(sample, n_hh), replace=False))
    base = sample_population(src.pop, rows)
    n_persons = len(base.persons)
    vectorised_step(inputs, copy.deepcopy(base), year, seed)  # warm-up
    naive_s, vec_s, naive_c, vec_c = [], [], [], []
    per = -(-vec_reps // reps)
    for r in range(reps):
        t0 = time.perf_counter()
        model = NaiveStepModel(inputs, base, year, seed * 1_000 + r)
        t1 = time.perf_counter()
        model.step()
        naive_s.append(time.perf_counter() - t1)
        naive_c.append({"deaths": model.deaths, "births": model.births,
                        "leavers": model.leavers, "choosers": model.choosers,
                        "moves": model.moves, "persons": n_persons,
                        "agent_creation_s": t1 - t0})
        for v in range(per):
            work = copy.deepcopy(base)
            t0 = time.perf_counter()
            vec_c.append(vectorised_step(inputs, work, year, seed * 1_000 + 100 + r * per + v))
            vec_s.append(time.perf_counter() - t0)
    naive_hps = len(rows) / float(np.median(naive_s))
    vec_hps = len(rows) / float(np.median(vec_s))
    check: dict[str, Any] = {"ok": True}
    for key, per_what in (("deaths", "persons"), ("births", "persons"),
                          ("leavers", "persons"), ("moves", "households")):
        tot_n = len(rows) if per_what == "households" else n_persons
        a = sum(c[key] for c in naive_c) / (tot_n * len(naive_c))
        b = sum(c[key] for c in vec_c) / (tot_n * len(vec_c))
        se = math.sqrt(a * (1 - a) / (tot_n * len(naive_c)) + b * (1 - b) / (tot_n * len(vec_c)))
        ok = abs(a - b) <= TOLERANCE_SE * se
        check[key] = {"naive": a, "vectorised": b, "per": per_what, "tolerance":
                      TOLERANCE_SE * se, "ok": bool(ok)}
        check["ok"] = bool(check["ok"] and ok)
    return {"sample": len(rows), "persons": n_persons, "year": year,
            "naive": {"reps": reps, "step_s": naive_s, "households_per_s": naive_hps,
                      "counts": naive_c},
            "vectorised": {"reps": len(vec_s), "s": vec_s, "households_per_s": vec_hps},
            "ratio": vec_hps / naive_hps, "check": check}


def format_step_report(res: dict[str, Any]) -> str:
    """Readable summary of :func:`compare_step`."""
    c = res["check"]
    lines = [
        f"whole step (demography + relocation): naive Mesa households and persons vs the "
        f"model's stages (sample {res['sample']:,} households, {res['persons']:,} persons, "
        f"year {res['year']})",
        f"  naive Mesa       {res['naive']['households_per_s']:>14,.0f} households/s "
        f"(median of {res['naive']['reps']} steps)",
        f"  vectorised       {res['vectorised']['households_per_s']:>14,.0f} households/s "
        f"(median of {res['vectorised']['reps']})",
        f"  ratio            {res['ratio']:>14.1f}x",
        f"    {'rate':<10}{'per':>12}{'naive':>10}{'vectorised':>12}{'tol':>9}   ok",
    ]
    for key in ("deaths", "births", "leavers", "moves"):
        s = c[key]
        lines.append(f"    {key:<10}{s['per']:>12}{s['naive']:>10.4f}{s['vectorised']:>12.4f}"
                     f"{s['tolerance']:>9.4f}   {'yes' if s['ok'] else 'NO'}")
    lines.append(f"    check {'PASSED' if c['ok'] else 'FAILED'}")
    return "\n".join(lines)


def format_report(res: dict[str, Any]) -> str:
    """Readable summary of :func:`compare`'s result."""
    c = res["check"]
    lines = [
        f"relocation rule: naive Mesa agents vs vectorised (scale {res['scale']}, "
        f"{res['n_places']} places, sample {res['sample']:,} of {res['n_households']:,} "
        "households)",
        f"  naive Mesa       {res['naive']['households_per_s']:>14,.0f} households/s "
        f"(median of {res['naive']['reps']} steps; agent creation "
        f"{np.median(res['naive']['agent_creation_s']):.2f} s, not timed)",
        f"  vectorised       {res['vectorised_sample']['households_per_s']:>14,.0f} "
        f"households/s (same sample, median of {res['vectorised_sample']['reps']})",
        f"  vectorised, all  {res['vectorised_full']['households_per_s']:>14,.0f} "
        f"households/s (all {res['n_households']:,} households)",
        f"  ratio            {res['ratio']:>14.1f}x  (target >= 20x; all households: "
        f"{res['ratio_full_population']:.1f}x)",
        f"  distribution check ({c['naive']['moves']:,} naive moves vs "
        f"{c['vectorised']['moves']:,} vectorised; tolerance {c['tolerance_se']:.0f} SE):",
        f"    {'statistic':<18}{'naive':>10}{'vectorised':>12}{'diff':>10}{'tol':>9}   ok",
    ]
    for key, fmt in (("move_share", ".4f"), ("share_under_10km", ".4f"), ("mean_km", ".2f")):
        s = c[key]
        ok = "yes" if s["ok"] else "NO"
        lines.append(f"    {key:<18}{s['naive']:>10{fmt}}{s['vectorised']:>12{fmt}}"
                     f"{s['diff']:>+10{fmt}}{s['tolerance']:>9{fmt}}   {ok}")
    edges = [0.0, *KM_BANDS]
    labels = [f"{lo:g}-{hi:g}" for lo, hi in itertools.pairwise(edges)]
    labels.append(f">={KM_BANDS[-1]:g}")
    lines.append(f"    {'km band':<10} {' '.join(f'{b:>8}' for b in labels)}")
    for name in ("naive", "vectorised"):
        counts = np.asarray(c["band_counts"][name], float)
        share = counts / max(counts.sum(), 1)
        lines.append(f"    {name:<10} {' '.join(f'{s:>8.3f}' for s in share)}")
    lines.append(f"    chi-square p = {c['chi2']['p_value']:.3f} (dof {c['chi2']['dof']}); "
                 f"check {'PASSED' if c['ok'] else 'FAILED'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: build inputs, compare, print, optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="model scale of the inputs")
    ap.add_argument("--sample", type=int, default=20_000, help="households in the sample")
    ap.add_argument("--reps", type=int, default=5, help="naive repetitions")
    ap.add_argument("--vec-reps", type=int, default=20, help="vectorised repetitions (sample)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    ap.add_argument("--step-reps", type=int, default=3, help="naive whole-step repetitions")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    model = build_model(args.scale, args.seed)
    inputs = inputs_from_model(model)
    res = compare(inputs, sample=args.sample, reps=args.reps, vec_reps=args.vec_reps,
                  seed=args.seed)
    res["inputs_build_s"] = time.perf_counter() - t0
    res["whole_step"] = compare_step(StepInputs(inputs, model), sample=args.sample,
                                     reps=args.step_reps, seed=args.seed)
    print(format_report(res))
    print(format_step_report(res["whole_step"]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2))
    return 0 if res["check"]["ok"] and res["whole_step"]["check"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
