"""Initiative kinds (plugins). Importing this package registers every shipped kind."""

from __future__ import annotations

from . import (  # noqa: F401  (registers the kinds)
    car_sharing,
    community_house,
    coop_grocer,
    flex_transit,
    health_outreach,
    housing,
    nature_project,
    remote_work_hub,
    village_school,
)
from .base import (
    INITIATIVES,
    Ended,
    Event,
    Initiative,
    InitiativeSettings,
    Volunteers,
    register_initiative,
)

__all__ = ["INITIATIVES", "Ended", "Event", "Initiative", "InitiativeSettings", "Volunteers",
           "register_initiative"]
