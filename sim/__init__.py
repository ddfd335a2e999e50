"""landsim: households choosing where to live across Region Midtjylland's real geography.

Public API (everything else is internal and may change)::

    from sim import Parameters, RegionModel, write_results
    model = RegionModel(Parameters(scale=0.1, end_year=2030), seed=1)
    model.run()
    write_results(model, "results", "example")
"""

from __future__ import annotations

__version__ = "0.1.0"

from .checks import forum_figures  # noqa: E402
from .data import DataError  # noqa: E402
from .household import Household, Households, Persons, Population  # noqa: E402
from .model import RegionModel, get_world  # noqa: E402
from .params import ParameterFileError, Parameters, load_parameters  # noqa: E402
from .places import SIZE_CLASSES, build_places  # noqa: E402
from .results import write_results  # noqa: E402
from .rng import Streams  # noqa: E402
from .utility import TERMS, TermContext, register_term  # noqa: E402
from .world import World, build_world  # noqa: E402

__all__ = [
    "SIZE_CLASSES",
    "TERMS",
    "DataError",
    "Household",
    "Households",
    "ParameterFileError",
    "Parameters",
    "Persons",
    "Population",
    "RegionModel",
    "Streams",
    "TermContext",
    "World",
    "__version__",
    "build_places",
    "build_world",
    "forum_figures",
    "get_world",
    "load_parameters",
    "register_term",
    "write_results",
]
