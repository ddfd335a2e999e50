"""Plausible ranges of assumed magnitudes, and scenarios run at their ends (or sampled).

Every magnitude of an initiative kind or of the community rules that no source fixes is an
**assumption** with a stated range: low, central (the default) and high, declared next to
the setting in the pydantic field's metadata by :func:`magnitude`::

    access_share: float = magnitude(0.5, 0.25, 0.75, "assumption",
                                    "share of the car advantage gained", ge=0.0, le=1.0)

A magnitude with evidence says so (``"evidence: car-06, car-07"``; the ids are rows of
``data/evidence_figures.csv``) or how it is derived (``"derived: ..."``). :func:`ranges_of`
reads the declarations of a settings model.

``landsim compare --vary NAME --at low|central|high|sample`` runs a scenario with the named
magnitudes of its initiatives (``coop_grocer.threshold_factor``) or of its community rules
(``community.bound_share``) at one end of their range, or drawn uniformly from it per seed
(:func:`at_end`, :func:`sampled`, :func:`magnitudes`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field

End = Literal["low", "central", "high"]
ENDS: tuple[End, ...] = ("low", "central", "high")


@dataclass(frozen=True)
class Plausible:
    """A magnitude's plausible range and what it rests on.

    Attributes:
        low: Lowest plausible value.
        central: The value used unless told otherwise (the default).
        high: Highest plausible value.
        basis: ``"assumption"``, ``"evidence: <ids>"`` or ``"derived: <how>"``.
    """

    low: float
    central: float
    high: float
    basis: str

    def __post_init__(self) -> None:
        if not self.low <= self.central <= self.high:
            raise ValueError(f"range must have low <= central <= high, not "
                             f"{self.low}, {self.central}, {self.high}")

    def at(self, end: End) -> float:
        """The value at ``end``."""
        return float({"low": self.low, "central": self.central, "high": self.high}[end])

    def scaled(self, factor: float) -> Plausible:
        """The range times ``factor`` (e.g. a per-car cost times the cars)."""
        return Plausible(self.low * factor, self.central * factor, self.high * factor,
                         self.basis)


def magnitude(default: float, low: float, high: float, basis: str, description: str,
              **constraints: Any) -> Any:
    """A pydantic field with a plausible range (``low <= default <= high``) and its basis.

    ``constraints`` are the usual ``Field`` bounds (``ge``, ``le``, ...). The description
    should start with ``assumption:`` when the basis is an assumption.
    """
    Plausible(low, default, high, basis)  # checks the order
    return Field(default, description=description,
                 json_schema_extra={"plausible": [low, high], "basis": basis}, **constraints)


def ranges_of(model: Any) -> dict[str, Plausible]:
    """The declared ranges of a pydantic model class or instance (central = the default)."""
    cls = model if isinstance(model, type) else type(model)
    out = {}
    for name, info in cls.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and "plausible" in extra:
            lo, hi = extra["plausible"]
            out[name] = Plausible(float(lo), float(info.default), float(hi), str(extra["basis"]))
    return out


# --------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Magnitude:
    """One variable magnitude of a scenario: ``kind.setting`` or ``community.name``."""

    name: str
    range: Plausible


def magnitudes(scenario: Any) -> dict[str, Magnitude]:
    """Every magnitude with a range in ``scenario``: its kinds' settings and the community.

    For a setting whose range depends on others (e.g. the coop grocer's type), the range of
    the scenario's first item of that kind is given.
    """
    from .community import CommunityRules
    from .initiatives import INITIATIVES

    out: dict[str, Magnitude] = {}
    for spec in scenario.initiatives:
        cls = INITIATIVES[spec.kind]
        settings = cls.Settings.model_validate(spec.settings)
        for field, rng in settings.ranges().items():
            out.setdefault(f"{spec.kind}.{field}", Magnitude(f"{spec.kind}.{field}", rng))
    if scenario.initiatives:
        for field, rng in ranges_of(CommunityRules).items():
            out[f"community.{field}"] = Magnitude(f"community.{field}", rng)
    return out


def _select(scenario: Any, names: Iterable[str]) -> list[str]:
    known = magnitudes(scenario)
    chosen: list[str] = []
    for name in names:
        if name == "all":
            chosen += [n for n in known if n not in chosen]
        elif name in known:
            chosen.append(name)
        else:
            import difflib
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"--vary {name!r}: not a magnitude with a range in scenario "
                             f"{scenario.name!r}{hint} (known: {', '.join(sorted(known))})")
    return chosen


def with_values(scenario: Any, values: dict[str, float], name: str) -> Any:
    """A copy of ``scenario`` named ``name`` with the magnitudes set to ``values``."""
    from .initiatives import INITIATIVES

    data = scenario.model_dump(mode="python", exclude_unset=False)
    for key, value in values.items():
        head, field = key.split(".", 1)
        if head == "community":
            data["community"] = {**(data.get("community") or {}), field: value}
            continue
        info = INITIATIVES[head].Settings.model_fields[field]
        if info.annotation is int:
            value = round(value)
        for item in data["initiatives"]:
            if item["kind"] == head:
                item["settings"] = {**item.get("settings", {}), field: value}
    data["name"] = name
    return type(scenario).model_validate(data)


def at_end(scenario: Any, names: Iterable[str], end: End) -> tuple[Any, dict[str, float]]:
    """``scenario`` with the named magnitudes at ``end`` of their ranges, and the values.

    Raises:
        ValueError: A name is not a magnitude of the scenario (the message lists them).
    """
    chosen = _select(scenario, names)
    known = magnitudes(scenario)
    values = {n: known[n].range.at(end) for n in chosen}
    label = "all" if len(chosen) > 1 else chosen[0]
    return with_values(scenario, values, f"{scenario.name}.{label}-{end}"), values


def sampled(scenario: Any, names: Iterable[str], seed: int) -> tuple[Any, dict[str, float]]:
    """``scenario`` with the named magnitudes drawn uniformly from their ranges for ``seed``.

    The draw is a fixed function of the seed and the magnitude's name (its own
    ``numpy.random.SeedSequence``), so a run is reproducible and adding a name does not
    change the others' draws.
    """
    chosen = _select(scenario, names)
    known = magnitudes(scenario)
    values = {}
    for n in chosen:
        salt = int.from_bytes(hashlib.sha256(n.encode()).digest()[:4], "little")
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), salt]))
        r = known[n].range
        values[n] = float(rng.uniform(r.low, r.high)) if r.high > r.low else r.low
    label = "all" if len(chosen) > 1 else chosen[0]
    return with_values(scenario, values, f"{scenario.name}.{label}-sample"), values
