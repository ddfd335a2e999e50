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

**Evidence** (``data/calibration_figures.csv``): in a 2020 YouGov survey for Bolius, 42%
named fast internet as the most effective measure for rural areas. The share of workers
using the hub (0.2), the days (2 a week) and the volunteer hours (100 a year, running the
hub) are assumptions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..effects import Effect, ValueShift
from ..trends import job_access_gain
from .base import Initiative, InitiativeSettings, register_initiative


class RemoteWorkHubSettings(InitiativeSettings):
    """Settings of a remote-work hub."""

    remote_share: float = Field(
        0.2, ge=0.0, le=1.0, description="assumption: share of the place's workers who work "
        "at the hub")
    days: float = Field(2.0, ge=0.0, le=5.0, description="assumption: hub days per week")
    volunteer_hours: float = Field(
        100.0, ge=0.0, description="assumption: volunteer hours a year per place (keys, "
        "bookings, upkeep)")


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

    def __post_init__(self) -> None:
        super().__post_init__()
        self.gain_: np.ndarray | None = None

    def effects(self, view, i: np.ndarray, year: int) -> list[Effect]:
        """The job-access gain of worker segments in the places (computed once)."""
        if self.gain_ is None:
            self.gain_ = hub_job_access_gain(view, self.settings.remote_share,
                                             self.settings.days)
        return [ValueShift(places=self.places[i], delta=self.gain_)]
