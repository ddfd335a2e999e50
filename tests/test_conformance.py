"""The conformance suite passes for every shipped kind and catches kinds that break a rule."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import Field

from sim.conformance import ConformanceError, check_initiative
from sim.effects import BusLevel, ScoreBoost
from sim.initiatives import INITIATIVES, Initiative, InitiativeSettings, register_initiative
from sim.params import default_parameters

CALIBRATED = default_parameters()


@pytest.mark.parametrize("kind", sorted(INITIATIVES))
def test_every_shipped_kind_passes_the_suite_on_the_calibrated_defaults(kind):
    """Rule: all five rules of sim.conformance hold for every shipped kind."""
    check_initiative(kind, params=CALIBRATED)


class _Settings(InitiativeSettings):
    """Settings of the broken test kinds."""

    level: float = Field(0.9, ge=0, le=1, description="bus level")


def _broken(name: str, **methods):
    """A registered test kind (removed again by the fixture) with the given methods."""
    doc = "Broken test kind.\n\n**Mechanism.** Test.\n\n**Evidence.** None (test)."
    cls = type(name, (Initiative,), {"Settings": _Settings, "__doc__": doc,
                                     "__module__": __name__, **methods})
    return register_initiative(f"test_{name}")(cls)


@pytest.fixture()
def scratch():
    with INITIATIVES.scratch():
        yield


def test_a_kind_that_writes_into_the_model_is_caught(scratch):
    """Rule 'effects only': writing into a stage's arrays (here through the view's private
    services table) is caught even though the view's public arrays are read-only."""
    def effects(self, view, i, year):
        view._services.below[:] = 7
        return []

    cls = _broken("Writer", effects=effects)
    with pytest.raises(ConformanceError, match="effects only"):
        check_initiative(cls)


def test_a_kind_acting_on_other_places_is_caught(scratch):
    """Rule 'effects only': effects on places the initiative does not target are caught."""
    def effects(self, view, i, year):
        return [BusLevel(places=np.append(self.places[i], 0), level=0.9)]

    with pytest.raises(ConformanceError, match="not only its own"):
        check_initiative(_broken("Sprawler", effects=effects))


def test_a_kind_that_keeps_acting_after_its_end_is_caught(scratch):
    """Rule 'no trace': a kind that overrides the calendar and declares after its end year
    is caught."""
    def step(self, view, year, volunteers):
        return [BusLevel(places=self.places, level=0.9)]

    with pytest.raises(ConformanceError, match="no trace"):
        check_initiative(_broken("Lingerer", step=step))


def test_a_kind_drawing_from_global_random_state_is_caught(scratch):
    """Rule 'deterministic': effects drawn from numpy's global random state differ between
    two runs with the same seed."""
    def effects(self, view, i, year):
        return [ScoreBoost(places=self.places[i], score="nature",
                           delta=float(np.random.random()))]  # the bug tested

    with pytest.raises(ConformanceError, match="deterministic"):
        check_initiative(_broken("Gambler", effects=effects))


def test_undocumented_settings_are_caught(scratch):
    """Rule 'documented settings': a setting without a description is caught."""
    class Bare(InitiativeSettings):
        """Settings without descriptions."""

        level: float = 0.5

    cls = _broken("Bare")
    cls.Settings = Bare
    with pytest.raises(ConformanceError, match="has no description"):
        check_initiative(cls)
