"""A conformance suite for initiative kinds (in the spirit of scikit-learn's check_estimator).

``check_initiative(kind)`` runs small models and raises :class:`ConformanceError` naming the
first rule the kind breaks. The rules every kind must keep:

1. **Documented settings.** ``Settings`` subclasses ``InitiativeSettings``, rejects unknown
   keys, gives every field a default and a description; the module says **Mechanism.** and
   **Evidence.**.
2. **Effects only.** ``step`` returns :mod:`sim.effects` instances on the initiative's own
   places, and reading the model leaves every array of the model as it was (it never
   writes into the model).
3. **No trace.** From the year after its end, it declares nothing; the place state is then
   exactly the state without interventions, and no service unit is held for it.
4. **Composes.** Two instances on one place (A 2022-2023, B 2023-2025) run together; from
   2024 A declares nothing, and a service unit held there is held for B alone.
5. **Deterministic.** The same seed gives identical place-year records and events.

The helpers :func:`declared`, :func:`state_with` and :func:`values_with` compute what an
initiative declares and what movers would see, without stepping the model; tests of kinds
use them. A university runs the suite on its own kinds::

    from sim.conformance import check_initiative
    check_initiative("au_mobile_shop", {"access_km": 4.0})
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .effects import Effect, EffectSet
from .initiatives import INITIATIVES, Initiative, InitiativeSettings
from .interventions import make_view
from .model import RegionModel
from .params import Parameters
from .place_state import PlaceState, build_place_state, place_values

#: The small run the suite uses (2% of households; a few years).
SUITE_PARAMS = {"scale": 0.02, "end_year": 2025}


class ConformanceError(AssertionError):
    """An initiative kind breaks a rule of the protocol; the message says which and where."""


class Unlimited:
    """Volunteers that never run short (to test an initiative's own rules)."""

    def claim(self, place: int, hours: float) -> bool:
        """Always available."""
        return True


def declared(model: RegionModel, items: Iterable[Any], year: int | None = None,
             volunteers: Any = None) -> EffectSet:
    """What ``items`` (initiatives or trends) declare for ``year`` (default: the next year).

    Reads the model only. The items' own run state advances as in a real step (call once per
    year, in order).
    """
    year = model.year + 1 if year is None else year
    view = make_view(year, model.params, model.world, model.segments, model.access,
                     model._jobs_within, model.state, model.pop, model.services,
                     model.housing.dwellings, model.streams)
    vol = volunteers or Unlimited()
    return EffectSet([e for it in items for e in it.step(view, year, vol)], model.world.n)


def state_with(model: RegionModel, effects: EffectSet) -> PlaceState:
    """The place state the model would build now with ``effects`` (services as they are)."""
    w = model.world
    return build_place_state(w, model.access, effects, model.services.open_count(w.n),
                             model.housing.price, model.pop.place_persons(w.n)
                             / model.params.scale, model.segments, model.year,
                             model.location)


def values_with(model: RegionModel, effects: EffectSet) -> np.ndarray:
    """Utility per segment and place with ``effects`` (see :func:`state_with`)."""
    return place_values(state_with(model, effects), model.segments,
                        model.params.relocation.weights)


def make(kind: str, places: Any, start: int, end: int | None = None,
         settings: Mapping[str, Any] | None = None, name: str = "check") -> Initiative:
    """An initiative object of ``kind`` (settings validated)."""
    cls = INITIATIVES[kind]
    return cls(name=name, places=np.atleast_1d(np.asarray(places, np.int64)), start=start,
               end=end, settings=cls.Settings.model_validate(dict(settings or {})))


def _fail(kind: str, rule: str, why: str) -> None:
    raise ConformanceError(f"initiative kind {kind!r} breaks rule '{rule}': {why}")


def _fingerprint(model: RegionModel) -> str:
    """Hash of every array the model's stages own (population, services, housing, state)."""
    h = hashlib.sha256()
    objs = [model.pop.households, model.pop.persons, model.services, model.housing]
    for obj in objs:
        for name, value in sorted(vars(obj).items()):
            if isinstance(value, np.ndarray):
                h.update(name.encode())
                h.update(np.ascontiguousarray(value).tobytes())
    for name in ("service_km", "bus_level", "nature", "community", "price", "population"):
        h.update(np.ascontiguousarray(getattr(model.state, name)).tobytes())
    h.update(repr(sorted(model.services.held.items())).encode())
    return h.hexdigest()


def _effects_digest(effects: EffectSet) -> str:
    """Hash of the declared effects (types, fields and array values) of one year."""
    h = hashlib.sha256()
    for e in effects.effects:
        h.update(type(e).__name__.encode())
        for key, value in sorted(vars(e).items()):
            h.update(key.encode())
            if isinstance(value, np.ndarray):
                h.update(np.ascontiguousarray(value).tobytes())
            elif callable(value):
                h.update(getattr(value, "__qualname__", "?").encode())
            else:
                h.update(repr(value).encode())
    return h.hexdigest()


def _village(model: RegionModel) -> int:
    """A town of 300-1,500 inhabitants (data) without a grocer: most kinds apply there."""
    pl = model.world.places
    ok = ((pl["kind"] == "town") & pl["population"].between(300, 1500)).to_numpy()
    no_grocer = model.services.open_count(model.world.n)[:, 0] == 0
    cand = np.flatnonzero(ok & no_grocer)
    return int(cand[0] if len(cand) else np.flatnonzero(ok)[0])


def check_initiative(kind: str | type[Initiative], settings: Mapping[str, Any] | None = None,
                     *, params: Parameters | None = None, seed: int = 3) -> None:
    """Run the conformance suite on one initiative kind.

    Args:
        kind: Registered name or the class.
        settings: Settings for the test instances (defaults if None).
        params: Parameters of the small runs (default: :data:`SUITE_PARAMS` on the
            uncalibrated defaults; pass the calibrated ones to test what users run).
        seed: Seed of the runs.

    Raises:
        ConformanceError: Naming the first rule broken.
    """
    cls = INITIATIVES[kind] if isinstance(kind, str) else kind
    name = cls.kind or cls.__name__
    settings = dict(settings or {})
    params = (params or Parameters()).with_overrides(**SUITE_PARAMS)
    _check_settings(cls, name)

    # 2. effects only: reading the model changes nothing; effects are on its own places
    m = RegionModel(params, seed=seed)
    place = _village(m)
    ini = make(name, place, 2022, 2023, settings)
    for year in (2022, 2023, 2024):
        before = _fingerprint(m)
        eff = declared(m, [ini], year)
        if _fingerprint(m) != before:
            _fail(name, "effects only", f"step() in {year} changed the model's arrays")
        for e in eff.effects:
            if not isinstance(e, Effect):
                _fail(name, "effects only", f"step() returned {type(e).__name__}, not an "
                      "effect of sim.effects")
            if not set(np.asarray(e.places).tolist()) <= {place}:
                _fail(name, "effects only", f"{type(e).__name__} on places "
                      f"{sorted(set(np.asarray(e.places).tolist()))}, not only its own {place}")
        if year == 2024 and len(eff):
            _fail(name, "no trace", f"it still declares {len(eff)} effects after its end year")

    # 3. no trace (stepped through the model) and 5. deterministic
    runs = []
    for _ in range(2):
        m = RegionModel(params, seed=seed)
        m.with_interventions([make(name, place, 2022, 2023, settings)])
        declared_log = []
        for _ in range(params.end_year - params.base_year):
            m.step()
            declared_log.append(_effects_digest(m.last_effects))
            if m.year >= 2024:
                base = state_with(m, EffectSet([], m.world.n))
                for attr in ("service_km", "bus_level", "nature", "community"):
                    if not np.array_equal(getattr(m.state, attr), getattr(base, attr)):
                        _fail(name, "no trace", f"in {m.year} the place state's {attr} "
                              "differs from the state without interventions")
                if (m.state.value_shift is not None or m.state.car_access is not None
                        or m.state.adjusters or m.state.extra):
                    _fail(name, "no trace", f"utility changes remain in {m.year}")
                if m.services.held:
                    _fail(name, "no trace", f"service units still held in {m.year}")
        runs.append((m.place_year(), m.initiative_events(), declared_log))
    if runs[0][2] != runs[1][2]:
        _fail(name, "deterministic", "two runs with the same seed declare different effects")
    if not (runs[0][0].equals(runs[1][0]) and runs[0][1].equals(runs[1][1])):
        _fail(name, "deterministic", "two runs with the same seed differ")

    # 4. composes: A 2022-2023 and B 2023-2025 on one place
    m = RegionModel(params, seed=seed)
    m.with_interventions([make(name, place, 2022, 2023, settings, name="A"),
                          make(name, place, 2023, 2025, settings, name="B")])
    for _ in range(params.end_year - params.base_year):
        m.step()
        sources = {e.source for e in m.last_effects.effects}
        if m.year >= 2024 and "1:A" in sources:
            _fail(name, "composes", f"A still acts in {m.year} after its end year")
        if 2024 <= m.year <= 2025 and any(h != {"2:B"} for h in m.services.holders.values()):
            _fail(name, "composes", f"in {m.year} a unit is not held for B alone: "
                  f"{sorted(map(sorted, m.services.holders.values()))}")


def _check_settings(cls: type[Initiative], name: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Initiative)):
        _fail(name, "documented settings", "the class does not subclass Initiative")
    s = cls.Settings
    if not issubclass(s, InitiativeSettings):
        _fail(name, "documented settings", "Settings does not subclass InitiativeSettings")
    if s.model_config.get("extra") != "forbid":
        _fail(name, "documented settings", "Settings accepts unknown keys")
    for field, info in s.model_fields.items():
        if info.is_required():
            _fail(name, "documented settings", f"setting {field!r} has no default")
        if not info.description:
            _fail(name, "documented settings", f"setting {field!r} has no description")
    doc = (__import__(cls.__module__, fromlist=["_"]).__doc__ or "") + (cls.__doc__ or "")
    if "Mechanism." not in doc or "Evidence" not in doc:
        _fail(name, "documented settings", "its docstring lacks a Mechanism. or an "
              "Evidence. paragraph")
