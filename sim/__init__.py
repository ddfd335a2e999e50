"""landsim: households choosing where to live across Region Midtjylland's real geography.

The public API is ``__all__``, documented in docs/API.md (everything else is internal and may
change)::

    from sim import RegionModel, load_parameters, write_results
    model = RegionModel(load_parameters(calibrated=True, scale=0.1, end_year=2030), seed=1)
    model.run()
    write_results(model, "results", "example")

The names are imported on first use (PEP 562 module ``__getattr__``), so ``import sim`` and
``import sim.<module>`` load only what they need. To add a public name, add it to ``_API``
and to the table in docs/API.md (tests/test_api.py checks that both agree).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> the module defining it, as ``"module"`` or ``"module:attribute"`` when the
#: attribute has another name there.
_API: dict[str, str] = {
    # running the model
    "Parameters": "sim.params",
    "load_parameters": "sim.params",
    "ParameterFileError": "sim.params",
    "DataError": "sim.data",
    "RegionModel": "sim.model",
    "write_results": "sim.results",
    # scenarios
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "load_scenario": "sim.scenario:load",
    "validate_files": "sim.scenario",
    # extending: initiative kinds, utility terms, trends
    "Initiative": "sim.initiatives",
    "InitiativeSettings": "sim.initiatives",
    "register_initiative": "sim.initiatives",
    "TermContext": "sim.utility",
    "register_term": "sim.utility",
    "Trend": "sim.trends",
    "register_trend": "sim.trends",
    # the forum report and the data refresh
    "build_report": "sim.report",
    "ReportError": "sim.report",
    "refresh_data": "sim.refresh:refresh",
    "RefreshError": "sim.statbank",
    "StatbankUnreachableError": "sim.statbank",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    try:
        target = _API[name]
    except KeyError:
        raise AttributeError(f"module 'sim' has no attribute {name!r}") from None
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value  # the next look-up does not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
