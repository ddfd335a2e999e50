"""Scenario files: what a village, municipality or the region tries, against a baseline.

A scenario is a TOML file (read with :mod:`tomllib`, validated with pydantic, unknown keys
rejected; it can never execute code)::

    # What happens to villages in Lemvig and Struer that lost their shop if citizens open one?
    name = "coop_grocers_west"
    description = "Cooperative grocers in villages of 300-1,000 without a shop, from 2027"
    base = "baseline.toml"            # optional: inherit (deep merge; initiatives are added)

    [years]
    end = 2050

    [parameters]                      # any model parameter by its nested name
    relocation.move_rate = [0.25, 0.08, 0.07, 0.04]

    [[initiatives]]
    kind = "coop_grocer"
    start = 2027
    costs = { start_dkk = 600000 }    # optional: replaces the kind's own costs (per place)
    [initiatives.target]
    municipalities = ["Lemvig", "Struer"]
    population = [300, 1000]
    lacks = ["grocer"]
    [initiatives.settings]
    type = "B"

    [community]                       # optional: rules of the volunteer capacity
    bound_share = 0.63

:func:`validate_files` reports every problem of every file at once, with file, 1-based item,
field, value, what is allowed and "did you mean ..." for misspelt place or municipality names.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from .community import CommunityRules
from .costs import CostOverride
from .infra import (
    InputFileError,
    PathError,
    StrictModel,
    deep_merge,
    dotted_to_nested,
    format_errors,
    read_toml,
    show_value,
)
from .initiatives import INITIATIVES, Initiative
from .params import ParameterFileError, Parameters, default_parameters
from .places import SIZE_CLASSES, settlement_class
from .services import KINDS
from .trends import TRENDS

ServiceKind = Literal["grocer", "school", "doctor", "pharmacy"]
SizeClass = Literal["open countryside", "<500", "500-999", "1,000-1,999", "2,000-4,999",
                    "5,000-9,999", ">=10,000"]


class Target(StrictModel):
    """Which places an initiative applies to: names, or criteria on the start state.

    Names and criteria combine: a place must match every criterion given; if names are
    given, only those places (or places of those parishes/municipalities) are considered.
    """

    places: list[str] = Field(
        [], description="place names, e.g. 'Thyborøn'; a hamlet under 200 inhabitants selects "
        "the open countryside of its parish")
    parishes: list[str] = Field([], description="parish names (all places of the parish)")
    municipalities: list[str] = Field([], description="municipality names")
    kind: Literal["town", "countryside", "any"] = Field(
        "town", description="towns only (default), open countryside only, or any place")
    population: tuple[int, int] | None = Field(
        None, description="[min, max] inhabitants in 2021 (data; inclusive)")
    size_class: list[SizeClass] = Field([], description="settlement size classes")
    has: list[ServiceKind] = Field([], description="must have an open unit of these kinds")
    lacks: list[ServiceKind] = Field([], description="must lack these kinds")
    min_km_to: dict[ServiceKind, float] = Field(
        {}, description="nearest unit of the kind at least this far (km)")
    municipal_trend_max_pct: float | None = Field(
        None, description="the municipality's population change 2016-2021 (%) at most this")
    similar_to: str | None = Field(
        None, description="copy a solution: the k places most similar to this place "
        "(see `landsim similar`); 'Name' or 'Name, Municipality'")
    k: int = Field(5, ge=1, le=100, description="how many similar places (with similar_to)")

    @model_validator(mode="after")
    def _check(self) -> Target:
        if self.population is not None and self.population[0] > self.population[1]:
            raise ValueError(f"population range {list(self.population)} has min > max")
        if any(v < 0 for v in self.min_km_to.values()):
            raise ValueError("min_km_to distances must be >= 0")
        return self


class InitiativeSpec(StrictModel):
    """One ``[[initiatives]]`` item."""

    kind: str = Field(description="registered initiative kind, e.g. 'coop_grocer'")
    name: str | None = Field(None, description="label in reports (default: the kind)")
    start: int = Field(ge=2022, le=2100, description="first year it acts (1 January)")
    end: int | None = Field(None, ge=2022, le=2100, description="last year it acts")
    target: Target = Field(description="where it applies")
    budget_dkk: float | None = Field(
        None, ge=0, description="older name of costs.start_dkk: the start cost per place (DKK)")
    costs: CostOverride | None = Field(
        None, description="costs per place replacing the kind's own (DKK): start_dkk, "
        "yearly_dkk, yearly_per_resident_dkk")
    settings: dict[str, Any] = Field({}, description="kind-specific settings")

    @model_validator(mode="after")
    def _check(self) -> InitiativeSpec:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        if self.budget_dkk is not None and self.costs is not None \
                and self.costs.start_dkk is not None:
            raise ValueError("the start cost is given twice (budget_dkk and costs.start_dkk); "
                             "keep costs.start_dkk and remove budget_dkk")
        return self



class TrendSpec(StrictModel):
    """One ``[[trends]]`` item: an exogenous change (fuel prices, remote work, ...)."""

    kind: str = Field(description="registered trend kind, e.g. 'remote_work'")
    start: int = Field(ge=2022, le=2100)
    end: int | None = Field(None, ge=2022, le=2100)
    settings: dict[str, Any] = Field({})


class Years(StrictModel):
    """Simulated years: from the base year 2021 to ``end``."""

    start: Literal[2021] = 2021
    end: int = Field(2050, ge=2022, le=2100)


class Scenario(StrictModel):
    """A scenario file (after inheritance)."""

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$", description="short id used in results")
    description: str = ""
    base: str | None = Field(None, description="scenario file this one builds on")
    years: Years = Years()
    parameters: dict[str, Any] = Field({}, description="model parameter overrides")
    initiatives: list[InitiativeSpec] = Field([])
    trends: list[TrendSpec] = Field([])
    community: CommunityRules | None = Field(
        None, description="rules of the volunteer capacity (sim/community.py; defaults if "
        "absent)")


class ScenarioError(ValueError):
    """One or more problems in scenario files (one line each)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


#: What scenario files are called in messages.
WHAT = "scenario file"
_FIX = "give the path of a scenario .toml file (see scenarios/)"
_LISTS = ("initiatives", "trends")
#: Longest chain of ``base`` files followed.
MAX_BASES = 32


def read_raw(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file's table with its ``base`` chain merged in (base first, this file on top).

    Every file of the chain is read by :func:`sim.infra.read_toml` (UTF-8 only, regular files
    of at most 1 MiB, nesting limited); its ``[parameters]`` are nested
    (:func:`sim.infra.dotted_to_nested`) before the merge, so a dotted key in one file and a
    table in another combine.

    Raises:
        ScenarioError: Unreadable file, bad TOML, missing, circular or unusable base, or an
            inherited ``initiatives``/``trends`` that is not a list of tables.
    """
    path = Path(path)
    where = f"{chain[-1]}: field 'base': " if chain else ""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte
        resolved = path.absolute()
    if resolved in chain:
        cycle = " -> ".join(str(p.name) for p in (*chain, resolved))
        raise ScenarioError([f"{chain[-1]}: field 'base': circular inheritance ({cycle}); "
                             "remove one of the base references"])
    try:
        raw = read_toml(path, what=WHAT, fix=_FIX if not chain else
                        "give 'base' the path of a scenario .toml file, relative to this file")
    except InputFileError as e:
        raise ScenarioError([f"{where}{e}"]) from None
    if isinstance(raw.get("parameters"), dict):
        try:
            raw["parameters"] = dotted_to_nested(raw["parameters"])
        except PathError as e:
            raise ScenarioError([f"{path}: parameters: {e}"]) from None
    base = raw.get("base")
    if base is None:
        return raw
    if not isinstance(base, str) or not base.strip():
        raise ScenarioError([f"{path}: field 'base' = {show_value(base)}: must be the name of "
                             "a scenario file, e.g. base = \"baseline.toml\""])
    if len(chain) >= MAX_BASES:
        raise ScenarioError([f"{chain[0]}: field 'base': more than {MAX_BASES} files inherit "
                             f"from one another (the chain reaches {path}); shorten it"])
    parent = read_raw(path.parent / base, (*chain, resolved))
    for key in _LISTS:
        for name, table in ((path, raw), (path.parent / base, parent)):
            items = table.get(key, [])
            if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
                raise ScenarioError([
                    f"{name}: field '{key}' = {show_value(items)}: must be a list of tables "
                    f"([[{key}]] items) to be combined with "
                    + ("its base" if name == path else f"{path.name}, which inherits it")])
    merged = deep_merge({k: v for k, v in parent.items() if k not in ("name", "description")},
                       {k: v for k, v in raw.items() if k not in _LISTS})
    for key in _LISTS:
        merged[key] = parent.get(key, []) + raw.get(key, [])
    return merged


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _hamlet_index(places: pd.DataFrame) -> dict[str, list[int]]:
    """Hamlet name -> place ids of the open-countryside places that hold it."""
    out: dict[str, list[int]] = {}
    for pid, names in zip(places["place_id"], places.get("hamlets", pd.Series(dtype=str)),
                          strict=False):
        for name in filter(None, str(names or "").split("; ")):
            out.setdefault(name, []).append(int(pid))
    return out


def _check_kind(path: Path, item: dict[str, Any], registry: dict[str, Any], where: str,
                noun: str) -> list[str]:
    """Problems with an item's registered ``kind`` and its kind-specific ``settings``."""
    kind = item.get("kind")
    if not isinstance(kind, str):
        return []
    if kind not in registry:
        return [f"{path}: {where}.kind = {kind!r}: unknown {noun} kind; allowed: "
                f"{', '.join(sorted(registry))}{_suggest(kind, sorted(registry))}"]
    settings = item.get("settings", {})
    if not isinstance(settings, dict):
        return []
    try:
        registry[kind].Settings.model_validate(settings)
    except ValidationError as e:
        return format_errors(path, e, f"{where}.settings.")
    return []


def _items(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = raw.get(key, [])
    return [x if isinstance(x, dict) else {} for x in items] if isinstance(items, list) else []


def check(path: str | Path, places: pd.DataFrame) -> tuple[Scenario | None, list[str]]:
    """Validate one scenario file; returns (scenario or None, problems)."""
    path = Path(path)
    try:
        raw = read_raw(path)
    except ScenarioError as e:
        return None, e.problems
    problems: list[str] = []
    sc: Scenario | None = None
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as e:
        problems += format_errors(path, e)
    if sc is not None:
        try:
            parameters(sc)
        except ValidationError as e:
            problems += format_errors(path, e, "parameters.")
        except ParameterFileError as e:  # the calibrated defaults themselves are invalid
            problems += str(e).splitlines()
    # checks on the raw tables run even when the structure has problems elsewhere
    towns = sorted(set(places["name"]) | set(_hamlet_index(places)))
    munis = sorted(set(places["municipality"]))
    parishes = sorted(set(places["parish_name"]))
    end = sc.years.end if sc is not None else None
    for i, ini in enumerate(_items(raw, "initiatives"), start=1):
        where = f"{path}: initiatives[{i}]"
        problems += _check_kind(path, ini, INITIATIVES, f"initiatives[{i}]", "initiative")
        start = ini.get("start")
        if end is not None and isinstance(start, int) and start > end:
            problems.append(f"{where}.start = {start}: after the scenario's last year {end}")
        target = ini.get("target") if isinstance(ini.get("target"), dict) else {}
        if isinstance(target.get("similar_to"), str):
            from .similar import find_place
            try:
                find_place(places, target["similar_to"])
            except ValueError as e:
                problems.append(f"{where}.target.similar_to: {e}")
        for field, known, noun in (("places", towns, "place"),
                                   ("municipalities", munis, "municipality"),
                                   ("parishes", parishes, "parish")):
            names = target.get(field, [])
            for name in names if isinstance(names, list) else []:
                if isinstance(name, str) and name not in known:
                    problems.append(f"{where}.target.{field}: {name!r} is not a {noun} of the "
                                    f"region{_suggest(name, known)}")
    for i, tr in enumerate(_items(raw, "trends"), start=1):
        problems += _check_kind(path, tr, TRENDS, f"trends[{i}]", "trend")
    return (sc if not problems else None), problems


def parameters(sc: Scenario, base: Parameters | None = None) -> Parameters:
    """Model parameters of a scenario (defaults, then its overrides, then its years).

    The defaults are the calibrated ones (:func:`sim.params.default_parameters`) unless
    ``base`` is given.
    """
    base = base or default_parameters()
    merged = deep_merge(base.resolved(), sc.parameters)
    merged["end_year"] = sc.years.end
    return Parameters.model_validate(merged)


def load(path: str | Path, places: pd.DataFrame) -> Scenario:
    """Validated scenario; raises :class:`ScenarioError` with every problem."""
    sc, problems = check(path, places)
    if problems:
        raise ScenarioError(problems)
    assert sc is not None
    return sc


def validate_files(paths: list[str | Path], places: pd.DataFrame) -> list[str]:
    """Every problem of every file (empty list = all valid)."""
    problems: list[str] = []
    for p in paths:
        problems += check(p, places)[1]
    return problems


def digest(sc: Scenario) -> str:
    """SHA-256 of the resolved scenario (after inheritance and defaults)."""
    blob = json.dumps(sc.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files (for editors)."""
    return Scenario.model_json_schema()


# --------------------------------------------------------------------------- targeting
def resolve_target(target: Target, model) -> np.ndarray:
    """Place indices matching ``target`` in the model's start state."""
    places = model.world.places
    n = len(places)
    ok = np.ones(n, bool)
    if target.similar_to is not None:
        from .similar import find_place, similar
        ref = find_place(places, target.similar_to)
        ok[:] = False
        ok[similar(model, ref, k=target.k)["place_id"].to_numpy()] = True
    elif target.kind != "any":
        ok &= (places["kind"] == target.kind).to_numpy()
    if target.places or target.parishes or target.municipalities:
        hamlets = _hamlet_index(places)
        in_hamlet = np.isin(places["place_id"].to_numpy(),
                            [pid for name in target.places for pid in hamlets.get(name, [])])
        named = (places["name"].isin(target.places).to_numpy() | in_hamlet
                 | places["parish_name"].isin(target.parishes).to_numpy()
                 | places["municipality"].isin(target.municipalities).to_numpy())
        if target.places and not (target.parishes or target.municipalities):
            ok = named.copy()  # explicitly named places are taken whatever their kind
        else:
            ok &= named
    # population criteria use the data (2021), so targets do not depend on the seed or scale
    pop = places["population"].to_numpy(float)
    if target.population is not None:
        ok &= (pop >= target.population[0]) & (pop <= target.population[1])
    if target.size_class:
        cls = settlement_class(pop, (places["kind"] == "countryside").to_numpy(),
                               model.params.world.settlement_town_min)
        ok &= np.isin(cls, [SIZE_CLASSES.index(c) for c in target.size_class])
    counts = model.services.open_count(n)
    for k in target.has:
        ok &= counts[:, KINDS.index(k)] > 0
    for k in target.lacks:
        ok &= counts[:, KINDS.index(k)] == 0
    if target.min_km_to:
        km = model.service_km()
        for k, v in target.min_km_to.items():
            ok &= km[:, KINDS.index(k)] >= v
    if target.municipal_trend_max_pct is not None:
        from .migration import municipal_growth_pct
        trend = municipal_growth_pct(2016, 2021)
        ok &= places["municipality_code"].map(trend).to_numpy() <= target.municipal_trend_max_pct
    return np.flatnonzero(ok)


def build_interventions(sc: Scenario, model) -> list:
    """Initiative and trend objects of ``sc`` resolved against ``model``'s start state.

    The scenario's ``[community]`` rules, if given, come first (see
    :class:`sim.interventions.Interventions`).
    """
    out: list = [sc.community] if sc.community is not None else []
    for spec in sc.initiatives:
        cls = INITIATIVES[spec.kind]
        ini: Initiative = cls(name=spec.name or spec.kind,
                              places=resolve_target(spec.target, model), start=spec.start,
                              end=spec.end, settings=cls.Settings.model_validate(spec.settings),
                              budget_dkk=spec.budget_dkk, costs=spec.costs)
        out.append(ini)
    for spec in sc.trends:
        cls = TRENDS[spec.kind]
        out.append(cls(start=spec.start, end=spec.end,
                       settings=cls.Settings.model_validate(spec.settings)))
    return out
