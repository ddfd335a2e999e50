"""Experiments: many runs on Dask, sensitivity analysis, scenario discovery, summaries.

An experiment file (``experiments/<name>.toml``, :mod:`sim.batch.experiment`) names scenarios,
replications, uncertainties and levers with a design, and outcomes. :func:`run_batch`
(:mod:`sim.batch.runner`) runs it on Dask distributed, streaming each run to Parquet;
:mod:`sim.batch.sensitivity` computes Morris and Sobol indices (SALib),
:mod:`sim.batch.ema` adapts landsim to the EMA Workbench and applies PRIM, and
:mod:`sim.batch.summarise` tabulates outcome distributions with fan charts.
"""

from __future__ import annotations

from .experiment import (
    OUTCOMES,
    Experiment,
    ExperimentError,
    Resolved,
    RunSpec,
    design_points,
    plan,
    run_seed,
)
from .experiment import check as check_experiment
from .experiment import load as load_experiment
from .runner import (
    BatchError,
    BatchInterrupted,
    BatchResult,
    build_index,
    estimate,
    execute,
    read_parts,
    run_batch,
)

__all__ = [
    "OUTCOMES",
    "BatchError",
    "BatchInterrupted",
    "BatchResult",
    "Experiment",
    "ExperimentError",
    "Resolved",
    "RunSpec",
    "build_index",
    "check_experiment",
    "design_points",
    "estimate",
    "execute",
    "load_experiment",
    "plan",
    "read_parts",
    "run_batch",
    "run_seed",
]
