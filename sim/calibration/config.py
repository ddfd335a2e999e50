"""Calibration configuration files (``calibration/<name>.toml``), validated like scenarios.

A configuration says which parameters are fitted (dotted path, how the value is set, bounds),
the protocol (historical base year, the last year the fit may read, the held-out years), the
simulation size (scale, seeds), the optimiser's budget, the weights of the distance and the
mobility targets (Statistics Denmark figures with their source). Unknown keys are rejected.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from ..infra import (
    FrozenModel,
    InputFileError,
    PathError,
    format_errors,
    get_path,
    read_toml,
    split_path,
)
from ..params import FIRST_BASE_YEAR, FIRST_FLOW_YEAR, Parameters


class CalibrationError(ValueError):
    """A calibration file is invalid; one line per problem, naming file, field and fix."""


class Protocol(FrozenModel):
    """Which years the fit sees and which it must never read."""

    base_year: int = Field(FIRST_BASE_YEAR, ge=FIRST_BASE_YEAR, le=2018,
                           description="historical start (municipal age tables are from 2014)")
    fit_end: int = Field(2018, ge=FIRST_BASE_YEAR + 1, le=2022,
                         description="last year of observed data the fit may read")
    validation_end: int = Field(2023, ge=FIRST_BASE_YEAR + 2, le=2023,
                                description="last held-out year (data end in 2023)")

    @model_validator(mode="after")
    def _order(self) -> Protocol:
        if not self.base_year < self.fit_end < self.validation_end:
            raise ValueError(f"need base_year < fit_end < validation_end, got {self.base_year}, "
                             f"{self.fit_end}, {self.validation_end}")
        if self.fit_end - 1 < FIRST_FLOW_YEAR:
            raise ValueError(f"fit_end {self.fit_end}: the observed flows by age band start "
                             f"in {FIRST_FLOW_YEAR}; choose fit_end >= {FIRST_FLOW_YEAR + 1}")
        return self

    def flow_years(self) -> tuple[int, int]:
        """Start years of the observed flows inside the fit window (their ends <= fit_end)."""
        return FIRST_FLOW_YEAR, self.fit_end - 1


class Simulation(FrozenModel):
    """Size of each simulated run of the fit and of the validation."""

    scale: float = Field(0.1, gt=0, le=1, description="share of households simulated")
    seeds: list[int] = Field([0, 1], min_length=1,
                             description="seeds of every candidate (the same for all: common "
                             "random numbers make candidates comparable)")
    validation_scale: float = Field(0.25, gt=0, le=1)
    validation_seeds: list[int] = Field([0, 1, 2, 3, 4], min_length=1)
    noise_seeds: list[int] = Field(
        [10, 11, 12, 13, 14, 15], min_length=2,
        description="extra seeds evaluated at the optimum to show the fit is not noise")
    baseline_scale: float = Field(
        1.0, gt=0, le=1, description="scale of the default run 2021-2040 checked against the "
        "data in the report (baseline.md; 1 = one agent per household)")
    closure_lag_years: int = Field(
        20, ge=11, le=60,
        description="length of the run from 2021 (calibrated values, validation scale) in "
        "which the population and prices around grocer closures are measured")


class Optimizer(FrozenModel):
    """scipy.optimize.differential_evolution settings."""

    method: Literal["differential_evolution"] = "differential_evolution"
    maxiter: int = Field(6, ge=1, le=1000)
    popsize: int = Field(4, ge=1, le=100, description="population = popsize x parameters")
    seed: int = Field(0, ge=0, description="the optimiser's own seed")
    tol: float = Field(0.01, ge=0)
    workers: int = Field(2, ge=1, description="parallel processes")


class ConstantsSettings(FrozenModel):
    """Iterative contraction of the location constants (per municipality and life stage)."""

    iterations: int = Field(10, ge=0, le=100,
                            description="contraction iterations before and after the search")
    tolerance: float = Field(0.004, gt=0, description="stop when every municipality's "
                             "|ln observed - ln simulated| at fit_end is below this")
    damping: float = Field(0.8, gt=0, le=1, description="share of the full contraction step "
                           "taken (departures also respond, so a full step overshoots)")
    max_step: float = Field(1.0, gt=0, description="largest change of a constant per step")
    stages: list[Literal["young", "family", "adult", "senior"]] = Field(
        default_factory=list, description="life stages that also get a constant per "
        "municipality (relocation.stage_constants), contracted on the municipality's observed "
        "age-band shares at fit_end (young: 17-34, family: 0-16, adult: 35-64, senior: 65+); "
        "empty: none (the shipped fit; docs/CALIBRATION.md says what they did when tried)")
    stage_tolerance: float = Field(
        0.02, gt=0, description="with stages: stop only when every municipality's |ln "
        "observed - ln simulated| stage share at fit_end is also below this")
    correct_each_candidate: bool = Field(
        True, description="each candidate takes one contraction step of its own and is "
        "judged on a second run (twice the runs per candidate)")
    final_scale: float | None = Field(
        None, gt=0, le=1, description="scale of the contraction after the search (default: "
        "the fit runs' scale); a larger scale keeps the constants from absorbing the fit "
        "seeds' sampling noise")
    final_seeds: list[int] | None = Field(
        None, min_length=1, description="seeds of the contraction after the search (default: "
        "the fit seeds); seeds other than the validation seeds keep the validation honest")


class FittedParameter(FrozenModel):
    """One fitted model parameter."""

    path: str = Field(description="dotted path in the parameters, e.g. relocation.rounds")
    mode: Literal["set", "scale"] = Field(
        "set", description="set: the value itself; scale: a factor on every default element")
    bounds: tuple[float, float]

    @model_validator(mode="after")
    def _bounds(self) -> FittedParameter:
        if not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"bounds {list(self.bounds)} must be [low, high] with low < high")
        return self


class Weights(FrozenModel):
    """Weights of the distance's parts (each part is in its own unit; see docs/CALIBRATION.md)."""

    municipal_growth: float = Field(1.0, ge=0, description="per pp RMSE of municipal growth")
    age_bands: float = Field(1.0, ge=0, description="per pp MAE of municipal age-band shares")
    short_moves: float = Field(0.1, ge=0, description="per pp off the share of moves < 10 km")
    within_municipality: float = Field(0.1, ge=0, description="per pp off the within share")
    mean_move_km: float = Field(0.0, ge=0, description="per % (log ratio x 100) off the mean "
                                "(0: DST's mean includes moves to other regions)")
    village_grocers: float = Field(0.5, ge=0, description="per pp/year off the grocer trend")


class MobilityTarget(FrozenModel):
    """Statistics Denmark's mobility figures (values and where they come from)."""

    short_move_share_pct: float = Field(ge=0, le=100)
    within_municipality_pct: float = Field(ge=0, le=100)
    mean_move_km: float = Field(gt=0)
    source: str = Field(min_length=10)


class CalibrationConfig(FrozenModel):
    """A whole calibration file."""

    description: str = ""
    protocol: Protocol = Protocol()
    simulation: Simulation = Simulation()
    optimizer: Optimizer = Optimizer()
    constants: ConstantsSettings = ConstantsSettings()
    parameters: list[FittedParameter] = Field(min_length=1)
    weights: Weights = Weights()
    mobility: MobilityTarget

    def resolved(self) -> dict:
        """Plain JSON-ready dict (defaults included)."""
        return json.loads(self.model_dump_json())

    def digest(self) -> str:
        """SHA-256 of the resolved configuration."""
        return hashlib.sha256(json.dumps(self.resolved(), sort_keys=True).encode()).hexdigest()


_ABSENT = object()


def load_config(path: str | Path) -> CalibrationConfig:
    """Read and validate a calibration file.

    Raises:
        CalibrationError: One line per problem (file, field, value, what is allowed).
    """
    p = Path(path)
    try:
        raw = read_toml(p, what="calibration file",
                        fix="give a calibration .toml file (see calibration/default.toml)")
    except InputFileError as e:
        raise CalibrationError(str(e)) from None
    try:
        cfg = CalibrationConfig.model_validate(raw)
    except ValidationError as e:
        raise CalibrationError("\n".join(format_errors(p, e, noun="key"))) from None
    defaults = Parameters().resolved()
    problems = []
    for i, fp in enumerate(cfg.parameters, start=1):
        try:
            parts = split_path(fp.path)
        except PathError:
            parts = ()
        value = get_path(defaults, parts, _ABSENT) if parts else _ABSENT
        where = f"{p}: parameters[{i}].path = {fp.path!r}"
        if value is _ABSENT or isinstance(value, dict) or any(isinstance(x, int) for x in parts):
            problems.append(f"{where}: not a model parameter; use a dotted name from "
                            "docs/ODD.md (e.g. relocation.distance_decay_per_km)")
        elif fp.mode == "set" and isinstance(value, list):
            problems.append(f"{where}: holds a list; use mode = \"scale\" to fit a factor on it")
    if problems:
        raise CalibrationError("\n".join(problems))
    return cfg
