"""Experiments: many runs on Dask, sensitivity analysis, scenario discovery, summaries.

An experiment file (``experiments/<name>.toml``, :mod:`sim.batch.experiment`) names scenarios,
replications, uncertainties and levers with a design, and outcomes. :func:`run_batch`
(:mod:`sim.batch.runner`) runs it on Dask distributed, streaming each run to Parquet;
:mod:`sim.batch.sensitivity` computes Morris and Sobol indices (SALib),
:mod:`sim.batch.ema` adapts landsim to the EMA Workbench and applies PRIM, and
:mod:`sim.batch.summarise` tabulates outcome distributions with fan charts.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> ``"module"`` or ``"module:attribute"``; imported on first use (so that
#: ``import sim.batch.commands``, which the CLI's parser needs, stays light).
_API: dict[str, str] = {
    "OUTCOMES": "sim.batch.experiment",
    "Experiment": "sim.batch.experiment",
    "ExperimentError": "sim.batch.experiment",
    "Resolved": "sim.batch.experiment",
    "RunSpec": "sim.batch.experiment",
    "design_points": "sim.batch.experiment",
    "plan": "sim.batch.experiment",
    "run_seed": "sim.batch.experiment",
    "check_experiment": "sim.batch.experiment:check",
    "load_experiment": "sim.batch.experiment:load",
    "BatchError": "sim.batch.runner",
    "BatchInterrupted": "sim.batch.runner",
    "BatchResult": "sim.batch.runner",
    "build_index": "sim.batch.runner",
    "estimate": "sim.batch.runner",
    "execute": "sim.batch.runner",
    "read_parts": "sim.batch.runner",
    "run_batch": "sim.batch.runner",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    try:
        target = _API[name]
    except KeyError:
        raise AttributeError(f"module 'sim.batch' has no attribute {name!r}") from None
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
