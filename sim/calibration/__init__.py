"""Calibration against observed data and out-of-sample validation (``landsim calibrate``).

Modules: :mod:`.config` (calibration files), :mod:`.targets` (observed targets; the only door
to observed data, closed after ``fit_end``), :mod:`.simulate` (one run -> summary
statistics), :mod:`.fit` (distance and differential evolution), :mod:`.validation` (held-out
years against two baselines), :mod:`.report` (tables and charts), :mod:`.workflow` (the
commands). See docs/CALIBRATION.md.
"""

from __future__ import annotations

from .config import CalibrationConfig, CalibrationError, load_config
from .fit import FitResult, distance, fit, fit_hash
from .targets import FitTargets, fit_targets
from .validation import Validation, baselines, validate
from .workflow import calibrate, validate_model

__all__ = [
    "CalibrationConfig",
    "CalibrationError",
    "FitResult",
    "FitTargets",
    "Validation",
    "baselines",
    "calibrate",
    "distance",
    "fit",
    "fit_hash",
    "fit_targets",
    "load_config",
    "validate",
    "validate_model",
]
