"""Remote-work hub (fælleskontor, fast broadband): workers commute on fewer days.

**Mechanism.** A shared office with fast broadband in the village lets ``remote_share`` of
its workers work there ``days`` days a week. With the commute spread over fewer trips, a
longer one becomes acceptable (assumption, as in the ``remote_work`` trend): job access is
counted within ``30 / (1 - f)`` minutes by car and ``45 / (1 - f)`` by bus instead of 30 and
45, with ``f = remote_share * days / 5`` (the divisor floored at 0.2). A value shift
(:class:`sim.effects.ValueShift`; shifts add up) adds, for worker segments in the targeted
places::

    weight_job_access[stage] * (log10(1 + jobs within the longer time) - log10(1 + jobs now))

(the car or bus version by the segment's car bit). The gains are computed once, in the first
start year. Segments without a worker are unaffected. The hub adds to the ``remote_work``
trend if both are on (each counts from the 30/45-minute base).

**Evidence** (ids of ``data/evidence_figures.csv``; ``data/calibration_figures.csv``): in a
2020 YouGov survey for Bolius, 42% named fast internet as the most effective measure for
rural areas. Business Region Aarhus's three pilot hubs (2018) were funded for internet,
shared equipment and furnishing, and their operation must pay for itself (Jyllands-Posten,
hub-01; no amounts; CLF's report on rural coworking says a critical mass of users is
needed): start DKK 250,000 (100,000-500,000, an assumption), yearly 0 (0-50,000). The share of
workers using the hub (0.2, 0.1-0.4), the days (2 a week, 1-3) and the volunteer hours (100,
50-300 a year: keys, bookings, upkeep) are assumptions.
"""

from __future__ import annotations

import numpy as np

from ..costs import KindCosts
from ..effects import Effect, ValueShift
from ..ranges import Plausible, magnitude
from ..trends import job_access_gain
from .base import Initiative, InitiativeSettings, register_initiative


class RemoteWorkHubSettings(InitiativeSettings):
    """Settings of a remote-work hub."""

    remote_share: float = magnitude(
        0.2, 0.1, 0.4, "assumption", "assumption: share of the place's workers who work at "
        "the hub", ge=0.0, le=1.0)
    days: float = magnitude(2.0, 1.0, 3.0, "assumption", "assumption: hub days per week",
                            ge=0.0, le=5.0)
    volunteer_hours: float = magnitude(
        100.0, 50.0, 300.0, "assumption", "assumption: volunteer hours a year per place "
        "(keys, bookings, upkeep)", ge=0.0)


def hub_job_access_gain(view, remote_share: float, days: float) -> np.ndarray:
    """Weighted job-access gain per segment and place, shape (n_segments, n_places).

    The commute budget stretches by ``1 / (1 - remote_share * days / 5)`` for car (30 min) and
    bus (45 min) workers alike (:func:`sim.trends.job_access_gain`).
    """
    stretch = 1.0 / max(1.0 - remote_share * days / 5.0, 0.2)
    return job_access_gain(view, 30.0 * stretch, 45.0 * stretch)


@register_initiative("remote_work_hub")
class RemoteWorkHub(Initiative):
    """Remote-work hub: worker households in the places reach more jobs."""

    Settings = RemoteWorkHubSettings
    COSTS = KindCosts(start=Plausible(100_000.0, 250_000.0, 500_000.0, "assumption (hub-01: "
                                      "no amounts)"),
                      yearly=Plausible(0.0, 0.0, 50_000.0, "evidence: hub-01 (operation must "
                                       "pay for itself; upper end an assumption)"))

    def __post_init__(self) -> None:
        super().__post_init__()
        self.gain_: np.ndarray | None = None

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """The job-access gain of worker segments in the places (computed once)."""
        if self.gain_ is None:
            self.gain_ = hub_job_access_gain(view, self.settings.remote_share,
                                             self.settings.days)
        return [ValueShift(places=self.places[i], delta=self.gain_)]
