"""landsim: households choosing where to live across Region Midtjylland's real geography.

Public API (everything else is internal and may change)::

    from sim import Parameters, RegionModel, write_results
    model = RegionModel(Parameters(scale=0.1, end_year=2030), seed=1)
    model.run()
    write_results(model, "results", "example")
"""

from __future__ import annotations

__version__ = "0.1.0"

from .batch import BatchError, Experiment, ExperimentError, load_experiment, run_batch
from .checks import forum_figures
from .data import DataError
from .household import Household, Households, Persons, Population
from .initiatives import INITIATIVES, Initiative, InitiativeSettings, register_initiative
from .model import RegionModel, get_world
from .params import ParameterFileError, Parameters, load_parameters
from .places import SIZE_CLASSES, build_places
from .refresh import refresh as refresh_data
from .results import write_results
from .rng import Streams
from .scenario import Scenario, ScenarioError, validate_files
from .scenario import load as load_scenario
from .statbank import RefreshError, StatbankClient, StatbankUnreachableError
from .trends import TRENDS, Trend, register_trend
from .utility import TERMS, TermContext, register_term
from .world import World, build_world

#: Exported lazily (the report pulls in Jinja2 and matplotlib only when used).
_LAZY = {"build_report": "sim.report", "ReportError": "sim.report"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


__all__ = [
    "INITIATIVES",
    "SIZE_CLASSES",
    "TERMS",
    "TRENDS",
    "BatchError",
    "DataError",
    "Experiment",
    "ExperimentError",
    "Household",
    "Households",
    "Initiative",
    "InitiativeSettings",
    "ParameterFileError",
    "Parameters",
    "Persons",
    "Population",
    "RefreshError",
    "RegionModel",
    "ReportError",
    "Scenario",
    "ScenarioError",
    "StatbankClient",
    "StatbankUnreachableError",
    "Streams",
    "TermContext",
    "Trend",
    "World",
    "__version__",
    "build_places",
    "build_report",
    "build_world",
    "forum_figures",
    "get_world",
    "load_experiment",
    "load_parameters",
    "load_scenario",
    "refresh_data",
    "register_initiative",
    "register_term",
    "register_trend",
    "run_batch",
    "validate_files",
    "write_results",
]
