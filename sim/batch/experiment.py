"""Experiment files: which scenarios, seeds, uncertain parameters, levers and outcomes.

An experiment is a TOML file in ``experiments/`` (read with :mod:`tomllib`, validated with
pydantic, unknown keys rejected), in the vocabulary of the EMA Workbench::

    # Question: how sure are we about 2050 village populations?
    name = "demo"
    scenarios = ["../scenarios/baseline.toml"]   # paths relative to this file
    replications = 2           # seeds per design point
    seed = 20260101            # entropy of the batch's numpy SeedSequence
    scale = 0.01               # share of households simulated
    end_year = 2030            # optional: overrides the scenarios' [years] end

    [design]
    kind = "latin_hypercube"   # none | full_factorial | latin_hypercube | sobol | morris
    samples = 8

    [[uncertainties]]          # model parameters (default range: the parameter's bounds)
    path = "services.closure_hazard"
    [[uncertainties]]
    path = "relocation.move_rate[1]"
    range = [0.15, 0.35]

    [[levers]]                 # policy choices, crossed with every design point
    path = "initiatives[1].settings.type"
    values = ["A", "B", "C"]

    [outcomes]
    keep = ["village_population", "villages_without_grocer", "region_population"]
    places = ["Asp"]

A factor's ``path`` names a model parameter by its nested name (``services.closure_hazard``;
``[i]`` picks an element of a per-stage or per-kind list; ``relocation.weights.grocer[1]``)
or a field of one of the scenario's initiatives (``initiatives[1].start``,
``initiatives[1].settings.threshold_factor``; 1-based like every item number in the
messages). Without ``range`` or ``values`` a parameter varies over its documented plausible
bounds (``ge``/``le`` in :mod:`sim.params`).

:func:`check` reports every problem at once (file, field, value, what is allowed, did you
mean); :func:`plan` turns a valid experiment into the list of runs, each with its own child
:class:`numpy.random.SeedSequence`.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError, model_validator

from ..infra import (
    InputFileError,
    PathError,
    StrictModel,
    format_errors,
    read_toml,
    set_path,
    split_path,
)
from ..initiatives import INITIATIVES
from ..params import Parameters
from ..scenario import Scenario, digest

#: End-year outcomes a run can keep (per-place outcomes are added by ``[outcomes] places``).
OUTCOMES = {
    "village_population": "inhabitants of the villages (towns of 200-999 inhabitants in the "
                          "2021 data), full-scale estimate",
    "villages_without_grocer": "number of those villages with no open grocer",
    "region_population": "inhabitants of the region, full-scale estimate",
}
DesignKind = Literal["none", "full_factorial", "latin_hypercube", "sobol", "morris"]
_NAME = re.compile(r"^[^\W\d]\w*$")
#: Most runs an experiment may have (a larger design is almost surely a typing error, and
#: drawing and checking it would exhaust memory).
MAX_RUNS = 100_000


class Factor(StrictModel):
    """One uncertainty or lever: a model parameter or an initiative field, and its range."""

    path: str = Field(description="parameter (services.closure_hazard, relocation.move_rate[1])"
                      " or initiative field (initiatives[1].settings.type)")
    name: str | None = Field(None, description="column name in results (default: from the path)")
    range: tuple[float, float] | None = Field(
        None, description="[low, high]; default: the parameter's documented bounds")
    values: list[Any] | None = Field(None, min_length=1,
                                     description="explicit values (categories or levels)")
    integer: bool | None = Field(None, description="whole numbers only (default: from the "
                                 "parameter's type)")

    @model_validator(mode="after")
    def _check(self) -> Factor:
        try:
            split_path(self.path)
        except PathError:
            raise ValueError(f"path {self.path!r} is not a dotted name such as "
                             "'services.closure_hazard' or 'initiatives[1].start' (element "
                             "numbers in [] start at 1)") from None
        if self.name is not None and not _NAME.match(self.name):
            raise ValueError(f"name {self.name!r} must be an identifier (letters, digits, _)")
        if self.range is not None and self.values is not None:
            raise ValueError("give either range or values, not both")
        if self.range is not None and not all(map(math.isfinite, self.range)):
            raise ValueError(f"range {list(self.range)} must be two finite numbers")
        if self.range is not None and self.range[0] >= self.range[1]:
            raise ValueError(f"range {list(self.range)} must have low < high")
        return self

    @property
    def label(self) -> str:
        """Column name: ``name`` or the path with non-word characters as ``_``."""
        return self.name or re.sub(r"\W+", "_", self.path).strip("_")


class Design(StrictModel):
    """How uncertainties are sampled."""

    kind: DesignKind = Field("none", description="none (defaults only), full_factorial, "
                             "latin_hypercube, sobol (Saltelli, for Sobol indices) or morris")
    samples: int | None = Field(None, ge=1, description="latin_hypercube: points; sobol: base "
                                "sample N (a power of 2); morris: trajectories r")
    levels: int | None = Field(None, ge=2, le=100, description="full_factorial: levels per "
                               "numeric factor; morris: grid levels (SALib default 4)")
    second_order: bool = Field(False, description="sobol: also second-order indices")


class Outcomes(StrictModel):
    """What each run keeps (every simulated year, end year in the run index)."""

    keep: list[str] = Field(list(OUTCOMES), description=f"any of {', '.join(OUTCOMES)}")
    places: list[str] = Field([], description="places whose population and grocer are kept")


class Sensitivity(StrictModel):
    """Settings of ``landsim sensitivity``."""

    outcomes: list[str] = Field([], description="outcomes to analyse (default: all kept)")
    num_resamples: int = Field(1000, ge=10, description="bootstrap resamples for the CIs")
    conf_level: float = Field(0.95, gt=0, lt=1, description="confidence level of the CIs")
    target_relative_half_width: float = Field(
        0.01, gt=0, lt=1, description="seeds guidance: the half-width of an outcome's interval "
        "of the mean, as a share of the mean, that the recommended number of seeds reaches")


class Discovery(StrictModel):
    """Scenario discovery with PRIM (EMA Workbench) after the batch."""

    outcome: str = Field(description="outcome defining the cases of interest")
    above: float | None = Field(None, description="cases of interest: outcome > above")
    below: float | None = Field(None, description="cases of interest: outcome < below")
    scenario: str | None = Field(None, description="only runs of this scenario (by name)")
    threshold: float = Field(0.8, gt=0, le=1, description="PRIM density threshold (EMA "
                             "default 0.8)")
    peel_alpha: float = Field(0.05, gt=0, lt=0.5, description="PRIM peeling share (EMA "
                              "default 0.05)")
    min_coverage: float = Field(0.5, ge=0, le=1, description="the box reported is the densest "
                                "on the peeling trajectory with at least this coverage")

    @model_validator(mode="after")
    def _check(self) -> Discovery:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' or 'below'")
        return self


class Experiment(StrictModel):
    """An experiment file."""

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$", description="short id used in results")
    description: str = ""
    scenarios: list[str] = Field(min_length=1, description="scenario files (relative to this "
                                 "file)")
    replications: int = Field(1, ge=1, le=10_000, description="seeds per design point")
    seed: int = Field(ge=0, lt=2**63, description="entropy of the batch's SeedSequence")
    common_random_numbers: bool = Field(
        False, description="false: every run its own child seed; true: replication r uses the "
        "same child seed at every design point and scenario (less noise in differences)")
    scale: float = Field(gt=0, le=1, description="share of households simulated")
    end_year: int | None = Field(None, ge=2022, le=2100, description="overrides the "
                                 "scenarios' [years] end")
    design: Design = Design()
    uncertainties: list[Factor] = Field([])
    levers: list[Factor] = Field([])
    outcomes: Outcomes = Outcomes()
    sensitivity: Sensitivity = Sensitivity()
    discovery: Discovery | None = None


class ExperimentError(ValueError):
    """One or more problems in an experiment file (one line each)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --------------------------------------------------------------------------- factors
@dataclass(frozen=True)
class FactorInfo:
    """A validated factor: where it points and the values it may take."""

    label: str
    path: str
    kind: Literal["uncertainty", "lever"]
    low: float | None = None
    high: float | None = None
    values: tuple | None = None
    integer: bool = False

    @property
    def categorical(self) -> bool:
        """True when the factor takes listed values rather than a range."""
        return self.values is not None

    def from_unit(self, u: float) -> Any:
        """Value at position ``u`` in [0, 1) of the factor's range or list."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        return self.cast(self.low + u * (self.high - self.low))

    def cast(self, x: Any) -> Any:
        """Python value of ``x`` (rounded for whole-number factors)."""
        if self.values is not None:
            return x
        return round(float(x)) if self.integer else float(x)


def _bounds(meta: list) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in meta:
        lo = getattr(m, "ge", lo) if getattr(m, "ge", None) is not None else lo
        lo = getattr(m, "gt", lo) if getattr(m, "gt", None) is not None else lo
        hi = getattr(m, "le", hi) if getattr(m, "le", None) is not None else hi
        hi = getattr(m, "lt", hi) if getattr(m, "lt", None) is not None else hi
    return lo, hi


def parameter_info(path: str) -> tuple[Any, float | None, float | None]:
    """Default value and documented bounds of the model parameter at ``path``.

    Raises:
        KeyError: With a message naming the unknown part and close names.
    """
    keys = split_path(path)
    node: Any = Parameters
    value: Any = Parameters().resolved()
    meta: list = []
    shown = ""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(value, list) or not 0 <= key < len(value):
                n = len(value) if isinstance(value, list) else 0
                raise KeyError(f"'{shown}' has no element [{key + 1}]"
                               + (f"; it has {n} (1-{n})" if n else "; it is not a list"))
            value = value[key]
            args = typing.get_args(node)
            node = args[min(key, len(args) - 1)] if args else node
            meta = list(getattr(node, "__metadata__", ()))
            meta = [m for x in meta for m in getattr(x, "metadata", [x])]
            node = typing.get_args(node)[0] if typing.get_origin(node) is typing.Annotated \
                else node
            shown += f"[{key + 1}]"
            continue
        if not isinstance(value, dict) or key not in value:
            known = sorted(value) if isinstance(value, dict) else []
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else \
                (f"; known here: {', '.join(known)}" if known else "")
            raise KeyError(f"'{shown + ('.' if shown else '') + key}' is not a model "
                           f"parameter{hint}")
        value = value[key]
        if isinstance(node, type) and issubclass(node, BaseModel):
            info = node.model_fields[key]
            node, meta = info.annotation, list(info.metadata)
            if typing.get_origin(node) in (typing.Union, getattr(__import__("types"),
                                                                  "UnionType", None)):
                node = next(a for a in typing.get_args(node) if a is not type(None))
        elif typing.get_origin(node) is dict:
            node, meta = typing.get_args(node)[1], []
        shown += ("." if shown else "") + key
    if isinstance(value, (dict, list)):
        raise KeyError(f"'{path}' is a table or list; name one value, e.g. '{path}"
                       + ("[1]'" if isinstance(value, list) else f".{next(iter(value))}'"))
    lo, hi = _bounds(meta)
    return value, lo, hi


def _factor_info(f: Factor, kind: Literal["uncertainty", "lever"],
                 scenarios: list[Scenario]) -> FactorInfo:
    """Resolve one factor; raises ValueError with the reason."""
    keys = split_path(f.path)
    if keys[0] == "initiatives":
        i = keys[1] if len(keys) > 2 else None
        if not isinstance(i, int):
            raise ValueError("name an initiative's field with its number, e.g. "
                             "'initiatives[1].start' or 'initiatives[1].settings.type'")
        for sc in scenarios:
            if i >= len(sc.initiatives):
                raise ValueError(f"scenario '{sc.name}' has {len(sc.initiatives)} "
                                 f"initiative(s), not {i + 1}")
        if f.values is None and f.range is None:
            raise ValueError("an initiative field needs 'range' or 'values'")
        integer = bool(f.integer) if f.integer is not None else keys[2:] in (("start",),
                                                                            ("end",))
        if f.values is not None:
            return FactorInfo(f.label, f.path, kind, values=tuple(f.values), integer=integer)
        assert f.range is not None
        return FactorInfo(f.label, f.path, kind, f.range[0], f.range[1], integer=integer)
    try:
        default, lo, hi = parameter_info(f.path)
    except KeyError as e:
        raise ValueError(e.args[0]) from None
    if isinstance(default, bool) or isinstance(default, str):
        if f.values is None:
            raise ValueError("a true/false or text parameter needs 'values'")
    integer = f.integer if f.integer is not None else (
        isinstance(default, int) and not isinstance(default, bool))
    if f.values is not None:
        return FactorInfo(f.label, f.path, kind, values=tuple(f.values), integer=integer)
    if f.range is not None:
        low, high = f.range
        if (lo is not None and low < lo) or (hi is not None and high > hi):
            raise ValueError(f"range {list(f.range)} leaves the parameter's bounds "
                             f"[{lo}, {hi}]; narrow it")
        return FactorInfo(f.label, f.path, kind, low, high, integer=integer)
    if lo is None or hi is None:
        raise ValueError(f"the parameter has no documented upper and lower bound "
                         f"(ge={lo}, le={hi}); give 'range = [low, high]'")
    return FactorInfo(f.label, f.path, kind, float(lo), float(hi), integer=integer)


def apply_factors(sc: Scenario, values: dict[str, Any], infos: list[FactorInfo]) -> Scenario:
    """Copy of ``sc`` with the factor values written into its parameters and initiatives.

    Raises:
        ValueError: When the values make the scenario or its parameters invalid.
    """
    from ..scenario import parameters

    if not infos:
        return sc
    raw = sc.model_dump(mode="json")
    params = parameters(sc).resolved()
    for info in infos:
        keys = split_path(info.path)
        try:
            set_path(raw if keys[0] == "initiatives" else params, keys, values[info.label])
        except KeyError as e:
            raise ValueError(f"{info.path}: {e.args[0]} in scenario '{sc.name}'") from None
    for k in ("base_year", "end_year", "scale"):
        params.pop(k, None)
    raw["parameters"] = params
    out = Scenario.model_validate(raw)
    for spec in out.initiatives:
        if spec.kind not in INITIATIVES:
            raise ValueError(f"initiative kind {spec.kind!r} is not registered")
        INITIATIVES[spec.kind].Settings.model_validate(spec.settings)
    parameters(out)
    return out


# --------------------------------------------------------------------------- loading
@dataclass
class Resolved:
    """A validated experiment with its scenarios and factors resolved."""

    experiment: Experiment
    path: Path
    scenarios: list[Scenario]
    uncertainties: list[FactorInfo]
    levers: list[FactorInfo]
    places: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def factors(self) -> list[FactorInfo]:
        """Uncertainties then levers."""
        return [*self.uncertainties, *self.levers]

    def outcome_names(self) -> list[str]:
        """Names of every outcome a run keeps, in column order."""
        per_place = [f"{what}_{slug}" for _, _, slug in self.places
                     for what in ("population", "grocer")]
        return [*self.experiment.outcomes.keep, *per_place]

    def digest(self) -> str:
        """SHA-256 of the resolved experiment and its resolved scenarios."""
        blob = json.dumps({"experiment": self.experiment.model_dump(mode="json"),
                           "scenarios": [digest(s) for s in self.scenarios]},
                          sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def _slug(name: str) -> str:
    return re.sub(r"\W+", "_", name).strip("_").lower()


def check(path: str | Path, places) -> tuple[Resolved | None, list[str]]:
    """Validate an experiment file and its scenarios; returns (resolved or None, problems)."""
    from ..scenario import check as check_scenario
    from ..similar import find_place

    path = Path(path)
    try:
        raw = read_toml(path, what="experiment file",
                        fix="give the path of an experiment .toml file (see experiments/)")
    except InputFileError as e:
        return None, [str(e)]
    try:
        exp = Experiment.model_validate(raw)
    except ValidationError as e:
        return None, format_errors(path, e)
    problems: list[str] = []
    scenarios: list[Scenario] = []
    for i, rel in enumerate(exp.scenarios, start=1):
        sc, probs = check_scenario(path.parent / rel, places)
        problems += [f"{path}: scenarios[{i}]: {p}" for p in probs]
        if sc is not None:
            if exp.end_year is not None:
                sc = sc.model_copy(update={"years": sc.years.model_copy(
                    update={"end": exp.end_year})})
            scenarios.append(sc)
    names = [s.name for s in scenarios]
    for n in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{path}: scenarios: two files have the name '{n}'; results are "
                        "partitioned by scenario name, so give each file its own name")
    infos: dict[str, list[FactorInfo]] = {"uncertainty": [], "lever": []}
    labels: list[str] = []
    for key, kind in (("uncertainties", "uncertainty"), ("levers", "lever")):
        for i, f in enumerate(getattr(exp, key), start=1):
            try:
                infos[kind].append(_factor_info(f, kind, scenarios))  # type: ignore[arg-type]
            except ValueError as e:
                problems.append(f"{path}: {key}[{i}].path = {f.path!r}: {e}")
            if f.label in labels:
                problems.append(f"{path}: {key}[{i}]: name '{f.label}' is used twice; give "
                                "one of them another 'name'")
            labels.append(f.label)
    for i, lv in enumerate(exp.levers, start=1):
        if lv.values is None:
            problems.append(f"{path}: levers[{i}] ({lv.path}): levers need 'values' (they are "
                            "crossed with every design point)")
    d = exp.design
    if d.kind != "none" and not exp.uncertainties:
        problems.append(f"{path}: design.kind = '{d.kind}' needs at least one [[uncertainties]]")
    if d.kind in ("latin_hypercube", "sobol", "morris") and d.samples is None:
        problems.append(f"{path}: design.samples is required for design.kind = '{d.kind}'")
    if d.kind == "sobol" and d.samples is not None and d.samples & (d.samples - 1):
        problems.append(f"{path}: design.samples = {d.samples}: Sobol sampling needs a power "
                        f"of 2, e.g. {1 << max(d.samples.bit_length() - 1, 1)} or "
                        f"{1 << d.samples.bit_length()}")
    if d.kind in ("sobol", "morris"):
        for i, f in enumerate(exp.uncertainties, start=1):
            if f.values is not None:
                problems.append(f"{path}: uncertainties[{i}] ({f.path}): {d.kind} designs need "
                                "a numeric range, not 'values'")
    for i, o in enumerate(exp.outcomes.keep, start=1):
        if o not in OUTCOMES:
            close = difflib.get_close_matches(o, list(OUTCOMES), n=1, cutoff=0.6)
            problems.append(f"{path}: outcomes.keep[{i}] = {o!r}: unknown outcome; allowed: "
                            f"{', '.join(OUTCOMES)}"
                            + (f"; did you mean '{close[0]}'?" if close else ""))
    resolved_places = []
    for i, name in enumerate(exp.outcomes.places, start=1):
        try:
            pid = find_place(places, name)
            resolved_places.append((name, pid, _slug(name)))
        except ValueError as e:
            problems.append(f"{path}: outcomes.places[{i}]: {e}")
    res = Resolved(exp, path, scenarios, infos["uncertainty"], infos["lever"], resolved_places)
    known = res.outcome_names()
    wanted = [("sensitivity.outcomes", o) for o in exp.sensitivity.outcomes]
    if exp.discovery is not None:
        wanted.append(("discovery.outcome", exp.discovery.outcome))
        if exp.discovery.scenario is not None and exp.discovery.scenario not in names:
            problems.append(f"{path}: discovery.scenario = {exp.discovery.scenario!r}: not one "
                            f"of the experiment's scenarios ({', '.join(names)})")
    for where, o in wanted:
        if o not in known:
            close = difflib.get_close_matches(o, known, n=1, cutoff=0.6)
            problems.append(f"{path}: {where} = {o!r}: not an outcome this experiment keeps "
                            f"({', '.join(known)})"
                            + (f"; did you mean '{close[0]}'?" if close else ""))
    n_runs = count_runs(res)
    if n_runs > MAX_RUNS:
        problems.append(f"{path}: the experiment has {n_runs:,} runs (scenarios x design points "
                        f"x levers x replications), more than {MAX_RUNS:,}; lower "
                        "design.samples, design.levels or replications, or split it")
    if not problems:
        try:
            points = design_points(res)
            for sc in scenarios:
                for values in points:
                    apply_factors(sc, values, res.factors)
        except (ValueError, ValidationError) as e:
            problems.append(f"{path}: a design point makes a scenario invalid: "
                            f"{str(e).splitlines()[0]}; narrow the ranges")
    return (res if not problems else None), problems


def count_runs(res: Resolved) -> int:
    """Number of runs of a checked experiment, computed without drawing the design."""
    exp, d = res.experiment, res.experiment.design
    k = len(res.uncertainties)
    n = d.samples or 1
    if d.kind == "none":
        points = 1
    elif d.kind == "full_factorial":
        points = 1
        for f in res.uncertainties:
            points *= len(f.values) if f.categorical else (d.levels or 3)
    elif d.kind == "latin_hypercube":
        points = n
    elif d.kind == "sobol":
        points = n * (2 * k + 2 if d.second_order else k + 2)
    else:
        points = n * (k + 1)
    for f in res.levers:
        points *= len(f.values or ())
    return len(exp.scenarios) * points * exp.replications


def load(path: str | Path, places) -> Resolved:
    """Validated experiment; raises :class:`ExperimentError` with every problem."""
    res, problems = check(path, places)
    if problems:
        raise ExperimentError(problems)
    assert res is not None
    return res


# --------------------------------------------------------------------------- design
def salib_problem(res: Resolved) -> dict[str, Any]:
    """The SALib problem of the experiment's uncertainties."""
    return {"num_vars": len(res.uncertainties),
            "names": [f.label for f in res.uncertainties],
            "bounds": [[f.low, f.high] for f in res.uncertainties]}


def _seeds(res: Resolved) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """(design sequence, runs sequence), both children of the batch's SeedSequence."""
    root = np.random.SeedSequence(res.experiment.seed)
    design, runs = root.spawn(2)
    return design, runs


def design_matrix(res: Resolved) -> np.ndarray:
    """Uncertainty sample as drawn (rows = design points, unrounded), for SALib analysis."""
    d = res.experiment.design
    k = len(res.uncertainties)
    seed = int(_seeds(res)[0].generate_state(1)[0])
    if d.kind == "none":
        return np.zeros((1, 0))
    if d.kind == "full_factorial":
        levels = []
        for f in res.uncertainties:
            if f.categorical:
                levels.append(list(range(len(f.values))))
            else:
                grid = np.linspace(f.low, f.high, d.levels or 3)
                levels.append(list(dict.fromkeys(f.cast(x) for x in grid)))
        return np.array(list(itertools.product(*levels)), dtype=object)
    if d.kind == "latin_hypercube":
        from scipy.stats import qmc
        return qmc.LatinHypercube(d=k, seed=np.random.default_rng(seed)).random(d.samples)
    from ..batch.sensitivity import _salib
    _salib()
    if d.kind == "sobol":
        from SALib.sample import sobol
        return sobol.sample(salib_problem(res), d.samples, calc_second_order=d.second_order,
                            seed=seed)
    from SALib.sample import morris
    return morris.sample(salib_problem(res), d.samples, num_levels=d.levels or 4, seed=seed)


def design_points(res: Resolved) -> list[dict[str, Any]]:
    """Every design point (uncertainties x levers) as {factor label: value}, in run order."""
    d = res.experiment.design
    x = design_matrix(res)
    unc: list[dict[str, Any]] = []
    for row in x:
        point = {}
        for f, v in zip(res.uncertainties, row, strict=True):
            if d.kind == "full_factorial":
                point[f.label] = f.values[v] if f.categorical else v
            elif d.kind == "latin_hypercube":
                point[f.label] = f.from_unit(float(v))
            else:
                point[f.label] = f.cast(v)
        unc.append(point)
    levers = [dict(zip([f.label for f in res.levers], combo, strict=True))
              for combo in itertools.product(*[f.values for f in res.levers])]
    return [{**lv, **u} for lv in levers for u in unc]


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs: a pure function of this gives the run's tables."""

    run_id: int
    scenario: Scenario
    point: int
    replication: int
    factors: dict[str, Any]
    seed: int
    entropy: int
    spawn_key: tuple[int, ...]
    scale: float
    keep: tuple[str, ...]
    places: tuple[tuple[str, int, str], ...]

    def meta(self) -> dict[str, Any]:
        """JSON-ready description (stored with the run's results)."""
        return {"run_id": self.run_id, "scenario": self.scenario.name, "point": self.point,
                "replication": self.replication, "seed": self.seed, "entropy": self.entropy,
                "spawn_key": list(self.spawn_key), "scale": self.scale,
                "factors": self.factors, "scenario_sha256": digest(self.scenario)}


def run_seed(entropy: int, spawn_key: tuple[int, ...]) -> int:
    """The integer model seed of a run, from its stored entropy and spawn key."""
    ss = np.random.SeedSequence(entropy, spawn_key=spawn_key)
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def plan(res: Resolved) -> list[RunSpec]:
    """Every run of the experiment: scenarios x design points x replications, numbered."""
    exp = res.experiment
    points = design_points(res)
    n = len(exp.scenarios) * len(points) * exp.replications
    if exp.common_random_numbers:
        keys = [c.spawn_key for c in _seeds(res)[1].spawn(exp.replications)]
    else:
        keys = [c.spawn_key for c in _seeds(res)[1].spawn(n)]
    runs: list[RunSpec] = []
    run_id = 0
    for sc in res.scenarios:
        for p, values in enumerate(points):
            applied = apply_factors(sc, values, res.factors)
            for r in range(exp.replications):
                key = keys[r] if exp.common_random_numbers else keys[run_id]
                runs.append(RunSpec(run_id, applied, p, r, values,
                                    run_seed(exp.seed, key), exp.seed, tuple(key), exp.scale,
                                    tuple(exp.outcomes.keep), tuple(res.places)))
                run_id += 1
    return runs


__all__ = ["MAX_RUNS", "OUTCOMES", "Experiment", "ExperimentError", "FactorInfo", "Resolved",
           "RunSpec", "apply_factors", "check", "count_runs", "design_matrix", "design_points",
           "load", "parameter_info", "plan", "run_seed", "salib_problem"]
