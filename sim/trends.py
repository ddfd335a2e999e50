"""Trends: exogenous changes a scenario can switch on (registry of small plugins).

A trend kind subclasses :class:`Trend`, declares ``Settings`` (pydantic, unknown keys
rejected) and acts from ``start`` to ``end`` through the same model hooks as initiatives,
but region-wide. Shipped kinds:

* ``remote_work``: a share of workers works from home some days a week, so a longer commute
  is acceptable: job access for workers with a car is computed within ``30 / (1 - share *
  days / 5)`` minutes instead of 30 (assumption: the commute budget spreads over fewer trips).
* ``fuel_price``: fuel gets dearer by ``increase_pct``; car reach shrinks to ``30 / (1 +
  elasticity * increase_pct / 100)`` minutes for job access (assumption, elasticity 0.3).
* ``elderly_inmigration``: in-migrant households with a head aged 55+ become ``factor`` times
  as likely among in-migrants (the age profile of arrivals shifts older).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from .infra import StrictModel


class TrendSettings(StrictModel):
    """Base of trend settings."""


@dataclass
class Trend:
    """A region-wide exogenous change active from ``start`` to ``end``."""

    kind: ClassVar[str] = ""
    Settings: ClassVar[type[TrendSettings]] = TrendSettings

    start: int
    end: int | None
    settings: Any
    on: bool = False

    def step(self, model, year: int) -> None:
        """Switch on in the start year and off after the end year."""
        active = year >= self.start and (self.end is None or year <= self.end)
        if active and not self.on:
            self.switch_on(model)
            self.on = True
        elif not active and self.on:
            self.switch_off(model)
            self.on = False

    def switch_on(self, model) -> None:
        """Install the effect."""

    def switch_off(self, model) -> None:
        """Remove the effect."""


TRENDS: dict[str, type[Trend]] = {}


def register_trend(name: str):
    """Class decorator registering a trend kind under ``name``."""

    def deco(cls: type[Trend]) -> type[Trend]:
        cls.kind = name
        TRENDS[name] = cls
        return cls

    return deco


def job_access_gain(model, car_minutes: float, bus_minutes: float | None = None) -> np.ndarray:
    """Weighted job-access gain per segment and place, shape (16, n_places).

    Worker segments with a car gain ``w * (log10(1 + jobs within car_minutes) - log10(1 +
    jobs within 30 min))``; with ``bus_minutes``, car-less workers gain likewise against their
    45-minute bus access. Other rows are zero; ``w`` is the job_access weight per stage. Job
    counts are cached per run in ``model.cache``.
    """
    w = np.asarray(model.params.relocation.weights.get("job_access", (0.0,) * 4), float)
    gain = np.zeros((16, model.world.n))
    modes = [(1, car_minutes, False, model.jobs30_car)]
    if bus_minutes is not None:
        modes.append((0, bus_minutes, True, model.jobs45_bus))
    for car, minutes, by_bus, now in modes:
        key = ("jobs_within_bus" if by_bus else "jobs_within", minutes)
        if key not in model.cache:
            model.cache[key] = model.world.jobs_within(minutes, by_bus=by_bus)
        delta = np.log10(1.0 + model.cache[key]) - np.log10(1.0 + now)
        for stage in range(4):
            gain[stage * 4 + car * 2 + 1] = w[stage] * delta
    return gain


def _job_access_adjuster(minutes: float):
    """Value adjuster replacing the 30-minute car job access of workers by ``minutes``.

    Applies to worker households with a car (the car-less' bus access is left as it is).
    """
    gain: list[np.ndarray] = []

    def adjust(model, values: np.ndarray) -> np.ndarray:
        if not gain:
            gain.append(job_access_gain(model, minutes))
        return values + gain[0]

    return adjust


class RemoteWorkSettings(TrendSettings):
    """Settings of the remote-work trend."""

    share: float = Field(0.3, ge=0.0, le=1.0, description="share of workers working remotely")
    days: float = Field(2.0, ge=0.0, le=5.0, description="remote days per week")


@register_trend("remote_work")
class RemoteWork(Trend):
    """More remote work: a longer commute becomes acceptable for workers."""

    Settings = RemoteWorkSettings

    def switch_on(self, model) -> None:
        """Install the job-access adjuster."""
        s = self.settings
        minutes = 30.0 / max(1.0 - s.share * s.days / 5.0, 0.2)
        self._adj = _job_access_adjuster(minutes)
        model.value_adjusters.append(self._adj)

    def switch_off(self, model) -> None:
        """Remove the adjuster."""
        model.value_adjusters.remove(self._adj)


class FuelPriceSettings(TrendSettings):
    """Settings of the fuel-price trend."""

    increase_pct: float = Field(50.0, ge=0.0, le=500.0, description="fuel price rise (%)")
    elasticity: float = Field(0.3, ge=0.0, le=2.0,
                              description="assumption: shrink of acceptable car time per "
                              "unit relative price rise")


@register_trend("fuel_price")
class FuelPrice(Trend):
    """Dearer fuel: car households reach fewer jobs within an acceptable commute."""

    Settings = FuelPriceSettings

    def switch_on(self, model) -> None:
        """Install the job-access adjuster."""
        s = self.settings
        minutes = 30.0 / (1.0 + s.elasticity * s.increase_pct / 100.0)
        self._adj = _job_access_adjuster(minutes)
        model.value_adjusters.append(self._adj)

    def switch_off(self, model) -> None:
        """Remove the adjuster."""
        model.value_adjusters.remove(self._adj)


class ElderlySettings(TrendSettings):
    """Settings of the elderly in-migration trend."""

    factor: float = Field(2.0, ge=0.0, le=20.0,
                          description="relative weight of in-migrant households headed 55+")


@register_trend("elderly_inmigration")
class ElderlyInmigration(Trend):
    """More in-migrants of 55 and over (e.g. retirees moving to the countryside)."""

    Settings = ElderlySettings

    def switch_on(self, model) -> None:
        """Weight older template households."""
        model.immigrant_old_weight = self.settings.factor

    def switch_off(self, model) -> None:
        """Back to the out-migrants' own age profile."""
        model.immigrant_old_weight = 1.0
