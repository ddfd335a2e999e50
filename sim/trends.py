"""Trends: exogenous changes a scenario can switch on (registry of small plugins).

A trend kind subclasses :class:`Trend`, declares ``Settings`` (pydantic, unknown keys
rejected) and, every year from ``start`` to ``end``, declares region-wide effects
(:mod:`sim.effects`) exactly as initiatives do for their places. Shipped kinds:

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

from .effects import Effect, InMigrantAgeWeight, ValueShift
from .infra import FrozenModel
from .registry import Registry


class TrendSettings(FrozenModel):
    """Base of trend settings."""


@dataclass
class Trend:
    """A region-wide exogenous change active from ``start`` to ``end``."""

    kind: ClassVar[str] = ""
    Settings: ClassVar[type[TrendSettings]] = TrendSettings

    start: int
    end: int | None
    settings: Any
    name: str = ""

    def active(self, year: int) -> bool:
        """Whether the trend acts in ``year``."""
        return year >= self.start and (self.end is None or year <= self.end)

    def step(self, view: Any, year: int, volunteers: Any = None) -> list[Effect]:
        """Effects for ``year`` (none outside the trend's years)."""
        return list(self.effects(view, year)) if self.active(year) else []

    def effects(self, view: Any, year: int) -> list[Effect]:
        """Region-wide effects in an active year (kinds implement this)."""
        return []


TRENDS: Registry[type[Trend]] = Registry("trend kind", "landsim.trends")


def register_trend(name: str):
    """Class decorator registering a trend kind under ``name``."""

    def deco(cls: type[Trend]) -> type[Trend]:
        if not (isinstance(cls, type) and issubclass(cls, Trend)):
            raise TypeError(f"{getattr(cls, '__name__', cls)} must subclass sim.trends.Trend")
        cls.kind = name
        TRENDS.register(name, cls)
        return cls

    return deco


def job_access_gain(view: Any, car_minutes: float, bus_minutes: float | None = None,
                    ) -> np.ndarray:
    """Weighted job-access gain per segment and place, shape (n_segments, n_places).

    Worker segments with a car gain ``w * (log10(1 + jobs within car_minutes) - log10(1 +
    jobs within 30 min))``; with ``bus_minutes``, car-less workers gain likewise against their
    45-minute bus access. Other rows are zero; ``w`` is the job_access weight of the
    segment's stage.
    """
    seg = view.segments
    w = np.asarray(view.params.relocation.weights.get("job_access", (0.0,) * 4), float)
    gain = np.zeros((seg.n, view.world.n))
    modes = [(True, car_minutes, False, view.access.car30)]
    if bus_minutes is not None:
        modes.append((False, bus_minutes, True, view.access.bus45))
    for car, minutes, by_bus, now in modes:
        delta = np.log10(1.0 + view.jobs_within(minutes, by_bus)) - np.log10(1.0 + now)
        rows = seg.select(car=car, worker=True)
        gain[rows] = w[seg.stage[rows]][:, None] * delta[None, :]
    return gain


class RemoteWorkSettings(TrendSettings):
    """Settings of the remote-work trend."""

    share: float = Field(0.3, ge=0.0, le=1.0, description="share of workers working remotely")
    days: float = Field(2.0, ge=0.0, le=5.0, description="remote days per week")


@register_trend("remote_work")
class RemoteWork(Trend):
    """More remote work: a longer commute becomes acceptable for workers with a car."""

    Settings = RemoteWorkSettings

    def effects(self, view: Any, year: int) -> list[Effect]:
        """Job access of car workers counted within the longer commute, region-wide."""
        s = self.settings
        minutes = 30.0 / max(1.0 - s.share * s.days / 5.0, 0.2)
        return [ValueShift(delta=job_access_gain(view, minutes))]


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

    def effects(self, view: Any, year: int) -> list[Effect]:
        """Job access of car workers counted within the shorter commute, region-wide."""
        s = self.settings
        minutes = 30.0 / (1.0 + s.elasticity * s.increase_pct / 100.0)
        return [ValueShift(delta=job_access_gain(view, minutes))]


class ElderlySettings(TrendSettings):
    """Settings of the elderly in-migration trend."""

    factor: float = Field(2.0, ge=0.0, le=20.0,
                          description="relative weight of in-migrant households headed 55+")


@register_trend("elderly_inmigration")
class ElderlyInmigration(Trend):
    """More in-migrants of 55 and over (e.g. retirees moving to the countryside)."""

    Settings = ElderlySettings

    def effects(self, view: Any, year: int) -> list[Effect]:
        """Weight older in-migrant households."""
        return [InMigrantAgeWeight(factor=self.settings.factor)]
