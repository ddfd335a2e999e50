"""Fit behavioural parameters and location constants to observed statistics up to fit_end.

Two parts, alternated (docs/CALIBRATION.md):

**Location constants** (:func:`contract`): one alternative-specific constant per
municipality, added to the utility of its places, fitted by iterative contraction (the
standard way to make a logit reproduce observed shares, Berry-Levinsohn-Pakes style) on the
arrivals each municipality needs: ``c_m <- c_m + damping * ln(I_needed / I_sim) / (1 - s_m)``
with ``I_needed = I_sim + P_obs - P_sim`` at ``fit_end`` (:func:`_required_inflow_step`).
Constants are normalised to a population-weighted mean of 0.

**Behavioural parameters** (:func:`fit`): differential evolution over the configured
parameters. Every candidate first runs with the current constants, then (with
``constants.correct_each_candidate``) once more after one contraction step of its own, so
each candidate is judged with constants nearly fitted to it. Its distance is a weighted sum
of parts, each in its own unit:

- root mean square error of municipal growth base_year -> fit_end, percentage points;
- mean absolute error of the FOLK1A age-band shares of every municipality at fit_end, pp;
- share of moves under 10 km and share within the municipality, counted like Statistics
  Denmark (persons; moves across the region's border to the rest of Denmark included), pp
  off DST's figures;
- mean move distance inside the region, 100 x |log(simulated / DST)| (weight 0 by default:
  DST's mean includes moves to other regions, whose length the model does not know);
- yearly change of open grocers in villages under 2,000 against 896 -> 597 shops 2007-2017,
  pp per year.

Every candidate runs with the same seeds (common random numbers), statistics are averaged
over the seeds, then the distance is taken. The optimiser is
:func:`scipy.optimize.differential_evolution` with a process pool (or any map-like, e.g. a
Dask client's) evaluating a generation in parallel.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from .. import __version__
from ..infra import deep_merge, get_path, set_path
from ..params import Parameters
from .config import CalibrationConfig, CalibrationError
from .simulate import RunSummary, mean_summary, simulate
from .targets import FitTargets, fit_targets, target_files_sha256

log = logging.getLogger(__name__)


def _default_value(path: str) -> Any:
    """The uncalibrated default at a fitted parameter's dotted ``path``."""
    return get_path(Parameters().resolved(), path)


def overrides(cfg: CalibrationConfig, x: Iterable[float]) -> dict[str, Any]:
    """Nested parameter overrides for the vector ``x`` (one value per fitted parameter).

    ``set`` parameters take the value (rounded when the default is an integer); ``scale``
    parameters multiply every element of the (uncalibrated) default.
    """
    out: dict[str, Any] = {}
    for fp, v in zip(cfg.parameters, x, strict=True):
        default = _default_value(fp.path)
        if fp.mode == "scale":
            value: Any = [float(d) * float(v) for d in default] if isinstance(default, list) \
                else float(default) * float(v)
        elif isinstance(default, int) and not isinstance(default, bool):
            value = round(float(v))
        else:
            value = float(v)
        set_path(out, fp.path, value)
    return out


def candidate(cfg: CalibrationConfig, x: Iterable[float], **run: Any) -> Parameters:
    """Parameters of a candidate: uncalibrated defaults + ``x`` + run settings."""
    merged = deep_merge(Parameters().resolved(), overrides(cfg, x))
    return Parameters.model_validate(deep_merge(merged, run))


def check_bounds(cfg: CalibrationConfig, where: str) -> None:
    """Raise CalibrationError if a bound gives an invalid model parameter."""
    problems = []
    for i, fp in enumerate(cfg.parameters):
        for b in fp.bounds:
            x = [p.bounds[0] if j != i else b for j, p in enumerate(cfg.parameters)]
            try:
                candidate(cfg, x)
            except ValidationError as e:
                msg = e.errors()[0]["msg"]
                problems.append(f"{where}: parameters[{i + 1}] ({fp.path}) bound {b}: gives an "
                                f"invalid parameter ({msg}); narrow the bounds")
    if problems:
        raise CalibrationError("\n".join(problems))


@dataclass
class Distance:
    """The distance and its parts (each part already weighted)."""

    total: float
    parts: dict[str, float]
    stats: dict[str, float]


def distance(cfg: CalibrationConfig, targets: FitTargets, runs: list[RunSummary]) -> Distance:
    """Weighted distance between simulated runs (averaged over seeds) and the targets."""
    s = mean_summary(runs)
    pr, w = cfg.protocol, cfg.weights
    sim_growth = (s["municipal"][pr.fit_end] / s["municipal"][pr.base_year] - 1) * 100
    obs_growth = targets.growth_pct()
    err = (sim_growth - obs_growth).dropna()
    rmse = float(np.sqrt(np.mean(err.to_numpy() ** 2)))
    band_mae = band_error(s["bands"], targets, pr.fit_end)
    stats = {"growth_rmse_pp": rmse, "age_band_mae_pp": band_mae,
             "dst_short_share_pct": s["dst_short_share_pct"],
             "dst_within_share_pct": s["dst_within_share_pct"],
             "short_share_pct": s["short_share_pct"],
             "within_share_pct": s["within_share_pct"], "mean_move_km": s["mean_km"],
             "village_grocer_rate_pct": s["grocer_rate_pct"]}
    parts = {
        "municipal_growth": w.municipal_growth * rmse,
        "age_bands": w.age_bands * band_mae,
        "short_moves": w.short_moves
        * abs(s["dst_short_share_pct"] - targets.short_move_share_pct),
        "within_municipality": w.within_municipality
        * abs(s["dst_within_share_pct"] - targets.within_municipality_pct),
        "mean_move_km": w.mean_move_km * 100
        * abs(math.log(max(s["mean_km"], 1e-6) / targets.mean_move_km)),
        "village_grocers": w.village_grocers
        * abs(s["grocer_rate_pct"] - targets.village_grocer_rate_pct),
    }
    return Distance(float(sum(parts.values())), parts, stats)


def band_error(bands, targets: FitTargets, year: int) -> float:
    """Mean absolute error (pp) of the age-band shares of every municipality in ``year``."""
    if bands is None or targets.bands is None:
        return 0.0
    b = bands.xs(year, level="year")
    sim = 100 * b.div(b.sum(axis=1), axis=0)
    obs = targets.bands.reindex(index=sim.index, columns=sim.columns)
    return float((sim - obs).abs().to_numpy().mean())


# --------------------------------------------------------------------- location constants
@dataclass
class Constants:
    """Location constants per municipality and what their contraction measured.

    Attributes:
        values: Municipality code (str) -> constant (utility units).
        slope: Unused (kept for the report's manifest).
        history: Largest |ln observed - ln simulated| after each contraction iteration.
    """

    values: dict[str, float] = field(default_factory=dict)
    slope: dict[str, float] = field(default_factory=dict)
    history: list[float] = field(default_factory=list)
    stage: dict[str, list[float]] = field(default_factory=dict)
    stage_history: list[float] = field(default_factory=list)

    def overrides(self) -> dict[str, Any]:
        """The relocation parameters these constants set."""
        out: dict[str, Any] = {"location_constants": self.values}
        if self.stage:
            out["stage_constants"] = self.stage
        return out

    def copy(self) -> Constants:
        """An independent copy (histories copied too)."""
        return Constants(dict(self.values), dict(self.slope), list(self.history),
                         {k: list(v) for k, v in self.stage.items()},
                         list(self.stage_history))


#: FOLK1A bands whose persons a life stage's location choice places (young: households
#: headed by someone under 30 without children; family: households with children; adult:
#: 30-64 without children; senior: 65+). A stage's constant is contracted on its bands.
STAGE_BANDS: dict[str, tuple[str, ...]] = {
    "young": ("a17_19", "a20_34"), "family": ("a0_5", "a6_16"), "adult": ("a35_64",),
    "senior": ("a65_79", "a80p")}


def _stage_shares(frame: pd.DataFrame) -> pd.DataFrame:
    """Share of each municipality's persons in each stage's bands (rows sum to 1)."""
    out = pd.DataFrame({s: frame[list(b)].sum(axis=1) for s, b in STAGE_BANDS.items()})
    return out.div(out.sum(axis=1), axis=0)


def _stage_mix(cfg: CalibrationConfig, targets: FitTargets, runs: list[RunSummary],
               ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None:
    """Observed and simulated stage shares at fit_end and the simulated band counts."""
    if targets.bands is None or any(r.bands is None for r in runs):
        return None
    sim = sum(r.bands.xs(cfg.protocol.fit_end, level="year") for r in runs) / len(runs)
    obs = _stage_shares(targets.bands)
    return obs, _stage_shares(sim).reindex(index=obs.index, columns=obs.columns), sim


def _stage_gap(cfg: CalibrationConfig, targets: FitTargets,
               runs: list[RunSummary]) -> pd.DataFrame | None:
    """ln(observed / simulated) of each municipality's stage shares at fit_end (or None)."""
    mix = _stage_mix(cfg, targets, runs)
    if mix is None:
        return None
    obs, simulated, _ = mix
    return np.log(obs / simulated.clip(lower=1e-9)).dropna()


def _stage_step(cfg: CalibrationConfig, targets: FitTargets,
                runs: list[RunSummary]) -> pd.DataFrame | None:
    """The change of each municipality's stage constants towards the observed age mix.

    A stage's arrivals in a municipality over the fit years are taken as the municipality's
    arrivals ``I`` times the stage's simulated share ``s_g`` of its persons; the stock of the
    stage misses ``(o_g - s_g) P`` persons (``o_g`` observed share, ``P`` simulated
    population), so its arrivals would have to be ``I s_g + (o_g - s_g) P``; the step is
    ``damping * ln(needed / I s_g)`` like the municipal one, then centred within the
    municipality (weights ``s_g``) so that it changes the mix, not the municipality's pull,
    which the municipal constant carries. Stages not named in ``[constants] stages`` get 0.
    """
    mix = _stage_mix(cfg, targets, runs)
    if mix is None:
        return None
    obs, share, sim = mix
    persons = sim.sum(axis=1).reindex(obs.index)
    inflow = (sum(r.inflow for r in runs) / len(runs)).reindex(obs.index).clip(lower=1.0)
    arrivals = share.mul(inflow, axis=0).clip(lower=1.0)
    need = (arrivals + (obs - share).mul(persons, axis=0)).clip(lower=0.2 * arrivals)
    step = cfg.constants.damping * np.log(need / arrivals)
    step = step.sub((step * share).sum(axis=1) / share.sum(axis=1), axis=0)
    step[[s for s in STAGE_BANDS if s not in cfg.constants.stages]] = 0.0
    return step.dropna()


def _log_error(cfg: CalibrationConfig, targets: FitTargets,
               runs: list[RunSummary]) -> pd.Series:
    """ln(observed) - ln(simulated mean) of each municipality's population at fit_end."""
    pr = cfg.protocol
    sim = sum(r.municipal[pr.fit_end] for r in runs) / len(runs)
    obs = targets.municipal[pr.fit_end]
    return (np.log(obs) - np.log(sim.reindex(obs.index))).dropna()


def _normalised(values: dict[str, float], targets: FitTargets) -> dict[str, float]:
    """Constants shifted to a population-weighted mean of 0 (only differences matter)."""
    first = targets.municipal[targets.municipal.columns.min()]
    w = first.rename(index=str)
    v = pd.Series(values, dtype=float).reindex(w.index).fillna(0.0)
    mean = float((v * w).sum() / w.sum())
    return {k: float(x - mean) for k, x in v.items()}


def _required_inflow_step(cfg: CalibrationConfig, targets: FitTargets,
                          runs: list[RunSummary]) -> pd.Series:
    """The change of each constant that brings the inflows to what the observed stock needs.

    A municipality's arrivals from outside it (other municipalities and the border) over the
    fit years, ``I``, would have to be ``I + P_obs - P_sim`` at fit_end. In a logit the log
    of a destination's share of choices moves by ``1 - s`` per unit of its constant (``s``:
    its share of all arrivals), so the step is ``damping * ln(I_needed / I) / (1 - s)``.
    """
    pr = cfg.protocol
    sim = sum(r.municipal[pr.fit_end] for r in runs) / len(runs)
    inflow = sum(r.inflow for r in runs) / len(runs)
    obs = targets.municipal[pr.fit_end]
    gap = (obs - sim.reindex(obs.index)).dropna()
    flow = inflow.reindex(gap.index).clip(lower=1.0)
    need = (flow + gap).clip(lower=0.2 * flow)
    share = flow / flow.sum()
    return cfg.constants.damping * np.log(need / flow) / (1.0 - share)


def step_constants(c: Constants, step: pd.Series, cfg: CalibrationConfig,
                   targets: FitTargets, stage_step: pd.DataFrame | None = None) -> Constants:
    """Add ``step`` (and ``stage_step``; clipped to +- ``max_step``) to the constants.

    The municipal constants are renormalised to a population-weighted mean of 0.
    """
    cc = cfg.constants
    values = dict(c.values)
    for code, d in step.items():
        k = str(int(code))
        values[k] = values.get(k, 0.0) + float(np.clip(d, -cc.max_step, cc.max_step))
    out = c.copy()
    out.values = _normalised(values, targets)
    if stage_step is not None and cc.stages:
        for code, row in stage_step.iterrows():
            k = str(int(code))
            old = np.asarray(out.stage.get(k, [0.0] * len(STAGE_BANDS)), float)
            d = np.clip(row.reindex(list(STAGE_BANDS)).to_numpy(float), -cc.max_step,
                        cc.max_step)
            out.stage[k] = [float(v) for v in old + d]
    return out


def _steps(cfg: CalibrationConfig, targets: FitTargets,
           runs: list[RunSummary]) -> tuple[pd.Series, pd.DataFrame | None]:
    """The municipal and the stage steps of one contraction iteration."""
    stage = _stage_step(cfg, targets, runs) if cfg.constants.stages else None
    return _required_inflow_step(cfg, targets, runs), stage


def contract(cfg: CalibrationConfig, targets: FitTargets, x: Iterable[float],
             start: Constants | None = None, pool_map: Callable | None = None,
             iterations: int | None = None) -> Constants:
    """Iterative contraction of the location constants for candidate ``x``.

    Each iteration runs every fit seed, measures each municipality's log error at fit_end
    and steps the constants by :func:`_required_inflow_step`. Stops when the largest error is
    below ``constants.tolerance`` or after ``iterations``.
    """
    cc = cfg.constants
    c = start or Constants()
    mapper = pool_map or map
    x = list(x)
    for _ in range(iterations if iterations is not None else cc.iterations):
        params = candidate(cfg, x, **Objective(cfg, targets, constants=c).run_settings())
        seeds = cfg.simulation.seeds
        runs = list(mapper(simulate, [params] * len(seeds), seeds))
        err = _log_error(cfg, targets, runs)
        c.history.append(float(err.abs().max()))
        gap = _stage_gap(cfg, targets, runs) if cc.stages else None
        if gap is not None:
            c.stage_history.append(float(gap.abs().to_numpy().max()))
        log.info("contraction: largest log error %.4f (municipalities), %s (stage shares)",
                 c.history[-1], f"{c.stage_history[-1]:.4f}" if gap is not None else "-")
        if c.history[-1] < cc.tolerance and (gap is None or
                                             c.stage_history[-1] < cc.stage_tolerance):
            break
        step, stage_step = _steps(cfg, targets, runs)
        c = step_constants(c, step, cfg, targets, stage_step)
    return c


def final_contraction_config(cfg: CalibrationConfig) -> CalibrationConfig:
    """The configuration of the contraction after the search.

    ``constants.final_scale`` and ``constants.final_seeds`` replace the fit runs' scale and
    seeds when set, so the constants the projections keep are fitted on a larger sample than
    each candidate's runs.
    """
    cc = cfg.constants
    update: dict[str, Any] = {}
    if cc.final_scale is not None:
        update["scale"] = cc.final_scale
    if cc.final_seeds is not None:
        update["seeds"] = list(cc.final_seeds)
    if not update:
        return cfg
    return cfg.model_copy(update={"simulation": cfg.simulation.model_copy(update=update)})


@dataclass
class Objective:
    """Picklable objective: distance of a candidate vector over the configured seeds.

    With ``constants`` the candidate runs with those location constants; with
    ``cfg.constants.correct_each_candidate`` it then takes one contraction step of its own
    and is judged on the second run.
    """

    cfg: CalibrationConfig
    targets: FitTargets
    seeds: list[int] = field(default_factory=list)
    constants: Constants | None = None

    def run_settings(self, constants: Constants | None = None) -> dict[str, Any]:
        """Run settings of every fit run (historical base year to fit_end)."""
        pr = self.cfg.protocol
        c = constants if constants is not None else (self.constants or Constants())
        return {"base_year": pr.base_year, "end_year": pr.fit_end,
                "scale": self.cfg.simulation.scale,
                "migration": {"net_years": pr.flow_years()},
                "relocation": {"location_constants": c.values,
                               "stage_constants": c.stage}}

    def evaluate(self, x: Iterable[float]) -> Distance:
        """Run the candidate for every seed and measure its distance."""
        x = list(x)
        seeds = self.seeds or self.cfg.simulation.seeds
        runs = [simulate(candidate(self.cfg, x, **self.run_settings()), s) for s in seeds]
        if self.constants is not None and self.cfg.constants.correct_each_candidate:
            step, stage_step = _steps(self.cfg, self.targets, runs)
            c = step_constants(self.constants, step, self.cfg, self.targets, stage_step)
            runs = [simulate(candidate(self.cfg, x, **self.run_settings(c)), s)
                    for s in seeds]
        return distance(self.cfg, self.targets, runs)

    def __call__(self, x: np.ndarray) -> float:
        """The distance (what the optimiser minimises)."""
        return self.evaluate(x).total


def _eval_one(objective: Objective, x: list[float]) -> Distance:
    return objective.evaluate(x)


def fit_hash(cfg: CalibrationConfig) -> str:
    """SHA-256 of what determines the fit: configuration, target files, landsim version."""
    blob = json.dumps({"config": cfg.resolved(), "targets": target_files_sha256(),
                       "landsim": __version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class FitResult:
    """Outcome of :func:`fit`."""

    x: list[float]
    overrides: dict[str, Any]
    best: Distance
    start: Distance
    noise: list[float]  # distance of the optimum, one seed at a time (noise seeds)
    history: list[float]  # best distance after each generation
    evaluations: int
    fit_hash: str
    targets: FitTargets
    constants: Constants = field(default_factory=Constants)
    spread: list[float] = field(default_factory=list)  # population's distance spread per gen.
    converged: bool = False
    message: str = ""
    at_bounds: list[str] = field(default_factory=list)
    constants_start: Constants = field(default_factory=Constants)


def near_bounds(cfg: CalibrationConfig, x: list[float], margin: float = 0.02) -> list[str]:
    """Fitted parameters within ``margin`` (share of the range) of a bound."""
    out = []
    for fp, v in zip(cfg.parameters, x, strict=True):
        lo, hi = fp.bounds
        if v - lo < margin * (hi - lo):
            out.append(f"{fp.path} at its lower bound ({v:.4g} of [{lo:g}, {hi:g}])")
        elif hi - v < margin * (hi - lo):
            out.append(f"{fp.path} at its upper bound ({v:.4g} of [{lo:g}, {hi:g}])")
    return out


def fit(cfg: CalibrationConfig, pool_map: Callable | None = None,
        progress: Callable[[int, float], None] | None = None) -> FitResult:
    """Run the calibration: contraction, differential evolution, contraction again.

    Args:
        cfg: Validated configuration.
        pool_map: Map-like callable evaluating a generation (default: a process pool of
            ``cfg.optimizer.workers`` processes; 1 = in this process).
        progress: Called with (generation, best distance) after each generation.
    """
    from scipy.optimize import differential_evolution

    targets = fit_targets(cfg)
    bounds = [fp.bounds for fp in cfg.parameters]
    history: list[float] = []
    spread: list[float] = []
    opt = cfg.optimizer
    executor = None
    if pool_map is None and opt.workers > 1:
        executor, pool_map = process_pool(opt.workers, candidate(
            cfg, [_default_x(fp) for fp in cfg.parameters],
            **Objective(cfg, targets).run_settings()))
    mapper = pool_map or map
    default_x = [_default_x(fp) for fp in cfg.parameters]

    def callback(intermediate_result) -> None:
        history.append(float(intermediate_result.fun))
        energies = getattr(intermediate_result, "population_energies", None)
        spread.append(float(np.std(energies)) if energies is not None else float("nan"))
        if progress is not None:
            progress(len(history), float(intermediate_result.fun))

    try:
        start_constants = contract(cfg, targets, default_x, pool_map=mapper)
        objective = Objective(cfg, targets, constants=start_constants)
        res = differential_evolution(
            objective, bounds, maxiter=opt.maxiter, popsize=opt.popsize, tol=opt.tol,
            seed=opt.seed, polish=False, init="latinhypercube", updating="deferred",
            workers=pool_map if pool_map is not None else 1, callback=callback)
        x = [float(v) for v in res.x]
        constants = contract(final_contraction_config(cfg), targets, x, start=Constants(
            dict(start_constants.values), dict(start_constants.slope),
            stage={k: list(v) for k, v in start_constants.stage.items()}), pool_map=mapper)
        as_is = cfg.model_copy(update={"constants": cfg.constants.model_copy(
            update={"correct_each_candidate": False})})
        jobs = [Objective(as_is, targets),  # uncalibrated: default values, no constants
                Objective(as_is, targets, constants=constants),
                *[Objective(as_is, targets, [s], constants=constants)
                  for s in cfg.simulation.noise_seeds]]
        start, best, *noise = list(mapper(_eval_one, jobs,
                                          [default_x, x, *([x] * (len(jobs) - 2))]))
    finally:
        if executor is not None:
            executor.shutdown()
    return FitResult(
        x=x, overrides=deep_merge(overrides(cfg, x), {"relocation": constants.overrides()}),
        best=best, start=start, noise=[d.total for d in noise], history=history,
        evaluations=int(res.nfev), fit_hash=fit_hash(cfg), targets=targets,
        constants=constants, spread=spread, converged=bool(res.success),
        message=str(res.message), at_bounds=near_bounds(cfg, x),
        constants_start=start_constants)


def process_pool(workers: int, params: Parameters) -> tuple[ProcessPoolExecutor, Callable]:
    """A process pool whose workers share one world, and a map over it in few round trips.

    The world of ``params`` is built here first: forked workers inherit it (built once, not
    once per worker); under another start method each worker builds it once and reuses it.
    The map sends each worker a few chunks of the iterables instead of one task per item.
    """
    from ..world import get_world

    get_world(params)
    executor = ProcessPoolExecutor(max_workers=workers)

    def mapper(func: Callable, *iterables: Iterable) -> list:
        items = [list(it) for it in iterables]
        n = len(items[0]) if items else 0
        chunk = max(1, -(-n // (2 * workers)))
        return list(executor.map(func, *items, chunksize=chunk))

    return executor, mapper


def dask_map(client) -> Callable:
    """A map-like over a Dask client (the batch engine): ``map(f, *iterables)`` -> list."""
    def mapper(func: Callable, *iterables: Iterable) -> list:
        return client.gather(client.map(func, *[list(it) for it in iterables], pure=False))
    return mapper


def _default_x(fp) -> float:
    """The vector value that reproduces the uncalibrated default (1 for scale factors)."""
    if fp.mode == "scale":
        return 1.0
    return float(_default_value(fp.path))
