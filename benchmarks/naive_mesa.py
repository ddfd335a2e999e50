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


def build_inputs(scale: float, seed: int) -> RuleInputs:
    """Build a :class:`RegionModel` at ``scale`` and take its year-one relocation inputs."""
    params = Parameters(scale=scale)
    m = RegionModel(params, seed=seed, world=get_world(params))
    return inputs_from_model(m)


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
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    inputs = build_inputs(args.scale, args.seed)
    res = compare(inputs, sample=args.sample, reps=args.reps, vec_reps=args.vec_reps,
                  seed=args.seed)
    res["inputs_build_s"] = time.perf_counter() - t0
    print(format_report(res))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2))
    return 0 if res["check"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
