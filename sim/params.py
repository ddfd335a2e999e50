"""All model parameters in one validated, documented set.

Every field says where its default comes from: ``data:`` (derived from a file in ``data/``),
``lit:`` (a published figure), ``assumption:`` (a modelling choice to be calibrated later) or
``run setting:`` (chosen per run, not a property of the world). Ranges (``ge``/``le``, per
element for lists) are the plausible bounds used for validation and, later, sensitivity
analysis. Parameter files are TOML with the same nesting, e.g.::

    [relocation]
    distance_decay_per_km = [0.05, 0.10, 0.08, 0.12]

Unknown keys are rejected so that a misspelt parameter never silently does nothing.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from . import shipped
from .infra import FrozenModel, InputFileError, deep_merge, format_errors, read_toml

#: Start years of the observed yearly flows (FOLK1A age bands 1 January 2016-2023).
FIRST_FLOW_YEAR, LAST_FLOW_YEAR = 2016, 2022
#: Year of the parish populations (the data's only year of place-level populations).
PARISH_YEAR = 2021
#: Earliest historical base year (the year of the municipal age-sex tables).
FIRST_BASE_YEAR = 2014

#: The calibrated parameter file in use (``shipped.CALIBRATION.chosen`` applies the option).
CALIBRATION = shipped.CALIBRATION
#: Environment variable naming the calibrated parameter file (``none``: uncalibrated).
CALIBRATION_ENV = CALIBRATION.env
#: Command-line option naming the calibrated parameter file (``landsim --calibration FILE``).
CALIBRATION_OPTION = CALIBRATION.option
#: Table of a parameter file holding the calibration's metadata (not parameters).
FIT_TABLE = "fit"

#: Life stages of a household (index order used by every per-stage parameter).
STAGES = ("young", "family", "adult", "senior")
#: Kinds of service (index order used by every per-kind parameter).
SERVICE_KINDS = ("grocer", "school", "doctor", "pharmacy")

#: A probability or share (0..1); the element type of list-valued parameters.
Prob = Annotated[float, Field(ge=0.0, le=1.0)]
#: A non-negative rate or count.
NonNeg = Annotated[float, Field(ge=0.0)]
NonNegInt = Annotated[int, Field(ge=0)]


class PopulationParams(FrozenModel):
    """How the synthetic population is built from the shipped tables."""

    couple_share_by_age: tuple[Prob, Prob, Prob, Prob, Prob] = Field(
        (0.20, 0.70, 0.80, 0.70, 0.35),
        description="assumption: share of women living with a partner at ages 18-24, 25-34, "
        "35-64, 65-79, 80+ (men are paired to them); to be calibrated.",
    )
    partner_age_gap: int = Field(
        2, ge=0, le=10, description="assumption: man's age minus woman's age in a couple."
    )
    mother_age_min: int = Field(
        18, ge=14, le=25,
        description="assumption: youngest woman children are placed with at the start (the "
        "2020 ASFR, from age 15, sets the rest).")
    employment_rate_by_age: tuple[Prob, Prob, Prob] = Field(
        (0.60, 0.80, 0.55),
        description="assumption: employed share at ages 18-24, 25-59, 60-retirement.",
    )
    car_share: tuple[Prob, Prob] = Field(
        (0.90, 0.60),
        description="assumption: households with a car in open countryside and in the largest "
        "town (Aarhus); log-linear in place size in between.",
    )
    renter_share: tuple[Prob, Prob] = Field(
        (0.15, 0.55),
        description="assumption: renting households in open countryside and in the largest town.",
    )


class DemographyParams(FrozenModel):
    """Births, deaths, leaving home, employment."""

    mortality_year: int = Field(
        2012, ge=2000, le=2012, description="data: year of the Danish age-sex death rates used."
    )
    mortality_improvement: float = Field(
        0.015, ge=0.0, le=0.04,
        description="assumption: yearly fall of death rates after mortality_year (Danish "
        "life expectancy has risen about 0.2 years per year).",
    )
    fertility_multiplier: float = Field(
        1.0, ge=0.5, le=1.5,
        description="assumption (scenario knob): multiplier on the 2020 age-specific fertility "
        "rates; 1 = data."
    )
    leave_home_rate: float = Field(
        0.17, ge=0.0, le=1.0,
        description="data (estimated): yearly chance a child aged 18+ leaves home; solved so "
        "that the start's share of 18-24-year-olds at home, (1 - rate) ** (age - 17) of the "
        "singles, equals DST's 40% (1 January 2022; sim.population.estimate_leave_home_rate; "
        "mean age at leaving 22.2, Eurostat 2022 for Denmark: 21.7). Was 0.30 (assumption).",
    )
    leave_home_max_age: int = Field(
        29, ge=20, le=40, description="assumption: a child at home this old always leaves."
    )
    union_rate: float = Field(
        0.10, ge=0.0, le=1.0,
        description="assumption: yearly chance that an adult aged 20-59 living alone looks for a "
        "partner; seekers of the other sex in the same place are paired by age rank and move "
        "in together (one dwelling is freed).",
    )
    retirement_age: int = Field(
        67, ge=60, le=75, description="lit: Danish state pension age from 2022."
    )
    employment_entry_rate: float = Field(
        0.25, ge=0, le=1, description="assumption: yearly chance a non-employed adult finds work."
    )
    employment_exit_rate: float = Field(
        0.05, ge=0, le=1, description="assumption: yearly chance an employed adult stops working."
    )


class MigrationParams(FrozenModel):
    """Exchange with the rest of Denmark and abroad (section 7.2 of docs/ODD.md)."""

    out_level: float = Field(
        0.035, ge=0.01, le=0.08,
        description="assumption: persons leaving the region per resident and year (to the rest "
        "of Denmark and abroad), spread over ages by the Rogers-Castro model schedule at the "
        "household head's age; no regional figure found (national emigration 1.28% in 2019 "
        "plus an assumed 2.2% to other regions); plausible range 0.025-0.045.",
    )
    net_years: tuple[int, int] | None = Field(
        None,
        description="data: first and last start year of the observed flows (FOLK1A cohort "
        "residuals, 2016->2017 ... 2022->2023) whose net border migration by age band and "
        "in-migrant destinations the run uses. None: the five years before the base year "
        "(2016-2020 for 2021); historical runs must name years inside their fit window.",
    )
    entry_size_exponent: float = Field(
        1.5, ge=0.0, le=4.0,
        description="assumption: an arriving household's first place in its entry "
        "municipality is one of its towns, drawn by population ** this (newcomers find homes "
        "where the rental market and the jobs are; no place-level data); 0 = any town alike. "
        "Plausible range 1-3.",
    )
    future_level: Literal["low", "central", "high"] = Field(
        "central",
        description="scenario assumption (not data): the level of net border migration: the "
        "mean band rates of net_years (central), or scaled to the lowest or highest yearly "
        "region rate of those years.",
    )

    @model_validator(mode="after")
    def _years(self) -> MigrationParams:
        if self.net_years is not None:
            a, b = self.net_years
            if not FIRST_FLOW_YEAR <= a <= b <= LAST_FLOW_YEAR:
                raise ValueError(f"net_years {list(self.net_years)} must be start years "
                                 f"{FIRST_FLOW_YEAR}-{LAST_FLOW_YEAR} with first <= last")
        return self


class ServiceParams(FrozenModel):
    """Service catchments, closure and opening (per kind: grocer, school, doctor, pharmacy)."""

    infer_min_town_pop: tuple[NonNegInt, NonNegInt, NonNegInt, NonNegInt] = Field(
        (600, 1000, 2000, 4000),
        description="assumption: every town at least this big has at least one of the kind "
        "(OSM 2019 nodes miss most services mapped as buildings). Grocer: Dagrofa's "
        "600-inhabitant pledge (calibration_figures.csv).",
    )
    viability_threshold: tuple[NonNegInt, NonNegInt, NonNegInt, NonNegInt] = Field(
        (600, 100, 1600, 5000),
        description="lit/assumption: catchment below which a service is unviable: grocer "
        "persons (lit: Dagrofa 600; range up to ~5,000 for discount chains), school pupils "
        "aged 6-15 (assumption), doctor persons per clinic (assumption: about one GP list), "
        "pharmacy persons (assumption).",
    )
    opening_factor: float = Field(
        2.0, ge=1.0, le=5.0,
        description="assumption: a place gets a new service when its would-be catchment exceeds "
        "this multiple of the viability threshold (hysteresis).",
    )
    closure_years: int = Field(
        3, ge=1, le=10,
        description="assumption: consecutive unviable years before a unit may close.",
    )
    closure_hazard: float = Field(
        0.3, ge=0.0, le=1.0,
        description="assumption: yearly chance that a unit unviable for closure_years closes "
        "(owners hold on for different lengths of time).",
    )


class RelocationParams(FrozenModel):
    """Who moves and where to (multinomial logit over all places)."""

    move_rate: tuple[Prob, Prob, Prob, Prob] = Field(
        (0.25, 0.08, 0.07, 0.04),
        description="assumption: base yearly moving chance per stage (young, family, adult, "
        "senior); DST: movers concentrate at ages 20-29.",
    )
    dissatisfaction_gain: float = Field(
        0.5, ge=0.0, le=5.0,
        description="assumption: how strongly a poor current place raises the moving chance.",
    )
    distance_decay_per_km: tuple[NonNeg, NonNeg, NonNeg, NonNeg] = Field(
        (0.09, 0.16, 0.14, 0.18),
        description="assumption: utility lost per km from the current home, per stage; tuned "
        "by hand so that about 57% of moves are under 10 km (DST).",
    )
    weights: dict[str, tuple[NonNeg, NonNeg, NonNeg, NonNeg]] = Field(
        default_factory=lambda: {
            "job_access": (0.6, 0.5, 0.5, 0.0),
            "grocer": (0.2, 0.3, 0.3, 0.4),
            "school": (0.0, 0.5, 0.0, 0.0),
            "doctor": (0.0, 0.1, 0.1, 0.4),
            "bus": (0.3, 0.1, 0.1, 0.3),
            "nature": (0.1, 0.3, 0.3, 0.3),
            "community": (0.1, 0.3, 0.2, 0.2),
            "housing_cost": (1.5, 1.0, 1.0, 1.0),
        },
        description="assumption: weight of each utility term per stage (young, family, adult, "
        "senior). Terms are registered in sim.utility; the bus term counts for car-less "
        "households only, job access for households with a worker only.",
    )
    rounds: int = Field(
        3, ge=1, le=10,
        description="assumption: rounds of re-choice for movers whose dwelling was taken."
    )
    location_constants: dict[str, float] = Field(
        default_factory=dict,
        description="calibration: alternative-specific constant of each municipality (key: "
        "municipality code), added to the utility of its places for every household; fitted by "
        "iterative contraction so that the model reproduces each municipality's observed "
        "change in the fit years (landsim calibrate); absent = 0. Held fixed in projections "
        "and scenarios.")
    stage_constants: dict[str, tuple[float, float, float, float]] = Field(
        default_factory=dict,
        description="calibration: alternative-specific constant of each municipality (key: "
        "municipality code) per life stage (young, family, adult, senior), added to "
        "location_constants for households of that stage; fitted by iterative contraction to "
        "each municipality's observed age-band shares at the end of the fit years when the "
        "calibration file names [constants] stages (the shipped fit names none); absent = 0. "
        "Held fixed in projections and scenarios.")
    rule: str = Field(
        "standard",
        description="run setting: the relocation rule (sim.relocation.RULES; 'standard' is "
        "the rule described here; plugins register others).")

    @field_validator("location_constants", "stage_constants")
    @classmethod
    def _municipality_codes(cls, asc: dict) -> dict:
        bad = [k for k in asc if not str(k).isdigit()]
        if bad:
            raise ValueError(f"keys must be municipality codes (e.g. '751'), not {bad[:3]}")
        return asc

    @field_validator("rule")
    @classmethod
    def _registered_rule(cls, rule: str) -> str:
        from .relocation import RULES  # the registered rules (plugins included)

        if rule not in RULES:
            raise ValueError(f"no relocation rule {rule!r}; registered: "
                             f"{', '.join(sorted(RULES))}")
        return rule

    @field_validator("weights")
    @classmethod
    def _registered_terms(cls, weights: dict) -> dict:
        from .utility import check_weights  # the registered terms (plugins included)

        problems = check_weights(weights)
        if problems:
            raise ValueError("; ".join(p.removeprefix("relocation.weights.") for p in problems))
        return weights


class HousingParams(FrozenModel):
    """Dwellings, vacancies and the house-price index."""

    initial_vacancy_rate: float = Field(
        0.05, ge=0.0, le=0.3, description="assumption: vacant share of dwellings at start "
        "(region mean)."
    )
    spin_up_years: int = Field(
        3, ge=0, le=10,
        description="run setting: years of a spin-up run (same parameters and seed, no "
        "interventions) whose vacancy rates and price index per place start the run, so the "
        "start is a state the model's own housing dynamics keep (no start-up transient); 0 = "
        "the same vacancy rate everywhere.",
    )
    price_elasticity: float = Field(
        0.10, ge=0.0, le=1.0,
        description="assumption: yearly log price change per unit log(demand / vacancies).",
    )
    build_trigger_years: int = Field(
        1, ge=1, le=10, description="assumption: years of expected excess demand before building."
    )
    build_response: float = Field(
        0.3, ge=0.0, le=1.0,
        description="assumption (calibrated): dwellings built in a place per year as a share "
        "of its expected excess first-round demand ((choosers per vacancy - 1) x vacancies) "
        "while the excess persists; supply follows demand, so growth is not capped by the "
        "initial stock.",
    )
    build_rate: float = Field(
        0.05, ge=0.0, le=0.2,
        description="assumption: the most a place can build in a year, as a share of its "
        "stock (developers' capacity).",
    )
    derelict_vacancy: float = Field(
        0.15, ge=0.0, le=1.0, description="assumption: vacancy rate counted as persistent decline."
    )
    derelict_years: int = Field(
        3, ge=1, le=20, description="assumption: years of decline before dwellings go derelict."
    )
    derelict_rate: float = Field(
        0.10, ge=0.0, le=1.0, description="assumption: share of vacant dwellings lost per year."
    )


class WorldParams(FrozenModel):
    """Geography, travel and jobs."""

    circuity: float = Field(
        1.3, ge=1.0, le=2.0, description="lit: road distance / straight line (typically 1.2-1.4)."
    )
    car_speed_kmh: float = Field(60.0, ge=20, le=120, description="assumption: door-to-door.")
    bus_speed_kmh: float = Field(30.0, ge=10, le=80, description="assumption: incl. stops.")
    intra_place_km: float = Field(
        2.0, ge=0.0, le=10.0, description="assumption: typical trip length inside one place."
    )
    commute_mean_km: float = Field(
        21.5, ge=5, le=60,
        description="data: mean home-work distance, DST Nyt Nov 2016; the workplace choice "
        "decay is solved so simulated commutes match it.",
    )
    jobs_scaling_exponent: float = Field(
        1.1, ge=0.8, le=1.4,
        description="assumption/lit: jobs per place proportional to population**exponent "
        "(urban scaling, Bettencourt et al. 2007 PNAS: 1.0-1.15).",
    )
    settlement_town_min: int = Field(
        200, ge=0, le=1000, description="data/lit: DST urban-area threshold (200 inhabitants)."
    )


class Parameters(FrozenModel):
    """The complete, validated parameter set of a run."""

    base_year: int = Field(
        2021, ge=FIRST_BASE_YEAR, le=PARISH_YEAR,
        description="run setting: first simulated 1 January. 2021 is the year of the parish "
        "populations; an earlier year (from 2014, the year of the municipal age tables) is a "
        "historical start for calibration: every place keeps its 2021 share of its "
        "municipality, scaled to the municipality's observed population that year "
        "(estimated, see docs/ODD.md).")
    end_year: int = Field(2050, ge=FIRST_BASE_YEAR + 1, le=2100,
                          description="run setting: last simulated 1 January.")
    scale: float = Field(
        1.0, gt=0.0, le=1.0,
        description="run setting: share of households simulated (1.0 = one per household).")
    population: PopulationParams = PopulationParams()
    demography: DemographyParams = DemographyParams()
    migration: MigrationParams = MigrationParams()
    services: ServiceParams = ServiceParams()
    relocation: RelocationParams = RelocationParams()
    housing: HousingParams = HousingParams()
    world: WorldParams = WorldParams()

    @model_validator(mode="after")
    def _check(self) -> Parameters:
        if self.end_year <= self.base_year:
            raise ValueError(
                f"end_year ({self.end_year}) must be after base_year ({self.base_year})")
        return self

    def resolved(self) -> dict[str, Any]:
        """Plain dict of every value (defaults included), JSON-ready."""
        return json.loads(self.model_dump_json())

    def digest(self) -> str:
        """SHA-256 of the resolved parameters (stable key order)."""
        blob = json.dumps(self.resolved(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    def with_overrides(self, **updates: Any) -> Parameters:
        """Copy with top-level or nested overrides, re-validated."""
        merged = deep_merge(self.resolved(), updates)
        return Parameters.model_validate(merged)


class ParameterFileError(ValueError):
    """A parameter file could not be read or validated; the message names file, field, fix."""


def format_validation_error(path: str | Path, err: ValidationError) -> str:
    """One readable line per problem: file, parameter path (1-based elements), value, rule."""
    return "\n".join(format_errors(path, err, noun="parameter", see=" (see `landsim run "
                                   "--help` and docs/ODD.md for the names)"))


def read_parameter_file(path: str | Path) -> dict[str, Any]:
    """The parameter tables of a TOML file (a ``[fit]`` table of metadata is left out).

    The file is read by :func:`sim.infra.read_toml` (UTF-8, a regular file of at most 1 MiB).

    Raises:
        ParameterFileError: If the file is missing, unreadable or not valid TOML.
    """
    try:
        raw = read_toml(path, what="parameter file", fix="give the path of a .toml file")
    except InputFileError as e:
        raise ParameterFileError(str(e)) from None
    raw.pop(FIT_TABLE, None)
    return raw


def calibrated_file() -> Path | None:
    """The calibrated parameter file in use, or None (uncalibrated defaults).

    ``landsim --calibration FILE`` or ``$LANDSIM_CALIBRATION`` name another file, or ``none``
    for the uncalibrated defaults; otherwise the shipped ``calibration/params.toml`` (package
    data; the repository's file in a checkout or editable install), if there is one.
    """
    return CALIBRATION.current().path


def calibration_info() -> dict[str, Any]:
    """Provenance of the calibration in use, for manifests.

    Returns:
        ``file`` (None: uncalibrated) and ``chosen_by`` (``package``, ``LANDSIM_CALIBRATION`` or
        ``--calibration``); with a file also its ``sha256`` and the fit's metadata (``fit``).
    """
    choice = CALIBRATION.current()
    info: dict[str, Any] = {"file": None, "chosen_by": choice.chosen_by}
    if choice.path is None:
        return info
    raw = choice.path.read_bytes()
    try:
        fit = tomllib.loads(raw.decode("utf-8")).get(FIT_TABLE, {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        fit = {}
    return {**info, "file": str(choice.path), "sha256": hashlib.sha256(raw).hexdigest(),
            "fit": fit}


def default_parameters() -> Parameters:
    """The defaults every scenario and ``landsim run`` start from.

    The uncalibrated defaults overlaid with the calibrated file (:func:`calibrated_file`),
    when there is one.

    Raises:
        ParameterFileError: If the calibrated file is invalid.
    """
    return load_parameters(None, calibrated=True)


def load_parameters(path: str | Path | None = None, calibrated: bool = False,
                    **overrides: Any) -> Parameters:
    """Read a TOML parameter file (optional) and apply overrides.

    Args:
        path: Parameter file (partial tables keep the other defaults).
        calibrated: Start from the calibrated defaults (:func:`default_parameters`) rather
            than the uncalibrated ones.
        **overrides: Nested overrides applied last.

    Raises:
        ParameterFileError: With one line per problem, naming the file and the field.
    """
    base = Parameters().resolved()
    cal = calibrated_file() if calibrated else None
    if cal is not None:
        try:
            base = Parameters.model_validate(
                deep_merge(base, read_parameter_file(cal))).resolved()
        except ValidationError as e:
            raise ParameterFileError(format_validation_error(cal, e) + "\n(rerun `landsim "
                                     "calibrate`, or use the uncalibrated defaults: "
                                     "LANDSIM_CALIBRATION=none or --calibration none)") from None
    data = read_parameter_file(path) if path is not None else {}
    # merged over the defaults so a partial table (e.g. one utility weight) keeps the rest
    data = deep_merge(base, deep_merge(data, overrides))
    try:
        return Parameters.model_validate(data)
    except ValidationError as e:
        raise ParameterFileError(format_validation_error(path or "parameters", e)) from None
