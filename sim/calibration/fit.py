"""Fit behavioural parameters to observed summary statistics (differential evolution).

The distance between a candidate and the observations (all years <= ``fit_end``) is a
weighted sum of parts, each in its own unit (docs/CALIBRATION.md):

- root mean square error of municipal growth base_year -> fit_end, percentage points;
- share of moves under 10 km and share within the municipality, pp off DST's figures;
- mean move distance, 100 x |log(simulated / DST)| (per cent off);
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
    stats = {"growth_rmse_pp": rmse, "short_share_pct": s["short_share_pct"],
             "within_share_pct": s["within_share_pct"], "mean_move_km": s["mean_km"],
             "village_grocer_rate_pct": s["grocer_rate_pct"]}
    parts = {
        "municipal_growth": w.municipal_growth * rmse,
        "short_moves": w.short_moves * abs(s["short_share_pct"] - targets.short_move_share_pct),
        "within_municipality": w.within_municipality
        * abs(s["within_share_pct"] - targets.within_municipality_pct),
        "mean_move_km": w.mean_move_km * 100
        * abs(math.log(max(s["mean_km"], 1e-6) / targets.mean_move_km)),
        "village_grocers": w.village_grocers
        * abs(s["grocer_rate_pct"] - targets.village_grocer_rate_pct),
    }
    return Distance(float(sum(parts.values())), parts, stats)


@dataclass
class Objective:
    """Picklable objective: distance of a candidate vector over the configured seeds."""

    cfg: CalibrationConfig
    targets: FitTargets
    seeds: list[int] = field(default_factory=list)

    def run_settings(self) -> dict[str, Any]:
        """Run settings of every fit run (historical base year to fit_end)."""
        pr = self.cfg.protocol
        return {"base_year": pr.base_year, "end_year": pr.fit_end,
                "scale": self.cfg.simulation.scale,
                "migration": {"net_years": pr.flow_years()}}

    def evaluate(self, x: Iterable[float]) -> Distance:
        """Run the candidate for every seed and measure its distance."""
        params = candidate(self.cfg, x, **self.run_settings())
        runs = [simulate(params, s) for s in (self.seeds or self.cfg.simulation.seeds)]
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


def fit(cfg: CalibrationConfig, pool_map: Callable | None = None,
        progress: Callable[[int, float], None] | None = None) -> FitResult:
    """Run the calibration.

    Args:
        cfg: Validated configuration.
        pool_map: Map-like callable evaluating a generation (default: a process pool of
            ``cfg.optimizer.workers`` processes; 1 = in this process).
        progress: Called with (generation, best distance) after each generation.
    """
    from scipy.optimize import differential_evolution

    targets = fit_targets(cfg)
    objective = Objective(cfg, targets)
    bounds = [fp.bounds for fp in cfg.parameters]
    history: list[float] = []

    def callback(intermediate_result) -> None:
        history.append(float(intermediate_result.fun))
        if progress is not None:
            progress(len(history), float(intermediate_result.fun))

    opt = cfg.optimizer
    executor = None
    if pool_map is None and opt.workers > 1:
        executor = ProcessPoolExecutor(max_workers=opt.workers)
        pool_map = executor.map
    try:
        res = differential_evolution(
            objective, bounds, maxiter=opt.maxiter, popsize=opt.popsize, tol=opt.tol,
            seed=opt.seed, polish=False, init="latinhypercube", updating="deferred",
            workers=pool_map if pool_map is not None else 1, callback=callback)
        x = [float(v) for v in res.x]
        mapper = pool_map or map
        default_x = [_default_x(fp) for fp in cfg.parameters]
        jobs = [Objective(cfg, targets, [s]) for s in cfg.simulation.noise_seeds]
        start, best, *noise = list(mapper(_eval_one, [objective, objective, *jobs],
                                          [default_x, x, *([x] * len(jobs))]))
    finally:
        if executor is not None:
            executor.shutdown()
    return FitResult(x=x, overrides=overrides(cfg, x), best=best, start=start,
                     noise=[d.total for d in noise], history=history,
                     evaluations=int(res.nfev), fit_hash=fit_hash(cfg), targets=targets)


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
