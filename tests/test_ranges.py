"""Plausible ranges: declared next to each setting, scenarios run at their ends or sampled."""

from __future__ import annotations

import pytest

from sim.initiatives import INITIATIVES
from sim.places import build_places
from sim.ranges import Plausible, at_end, magnitudes, ranges_of, sampled
from sim.scenario import load


@pytest.fixture(scope="module")
def package():
    return load("scenarios/village_package_west.toml", build_places().places)


@pytest.mark.parametrize("kind", sorted(INITIATIVES))
def test_every_assumed_setting_of_every_kind_has_a_range(kind):
    """Rule: every numeric setting whose description says 'assumption:' declares a plausible
    range (low <= central <= high), central = its default (the coop grocer's by type)."""
    cls = INITIATIVES[kind]
    settings = cls.Settings()
    ranges = settings.ranges()
    for name, info in cls.Settings.model_fields.items():
        if (info.description or "").startswith("assumption:"):
            assert name in ranges, f"{kind}.{name} has no plausible range"
    for name, r in ranges.items():
        assert r.low <= r.central <= r.high, (kind, name)
        default = cls.Settings.model_fields[name].default
        assert default is None or r.central == pytest.approx(default), (kind, name)


def test_coop_grocer_ranges_follow_its_type():
    """Rule: the coop grocer's threshold factor and hours have one range per type."""
    c = INITIATIVES["coop_grocer"].Settings
    assert c(type="C").ranges()["volunteer_hours"].central > c(type="B").ranges()[
        "volunteer_hours"].central
    assert c(type="A").ranges()["threshold_factor"].central == c(type="A").factor()


def test_a_range_must_be_ordered():
    """Rule: low <= central <= high, else a clear error."""
    with pytest.raises(ValueError, match="low <= central <= high"):
        Plausible(1.0, 0.5, 2.0, "assumption")


def test_at_end_sets_every_item_of_the_kind_and_renames(package):
    """Rule: at_end sets the named magnitude of every item of its kind (or the community
    rule) to that end of the range and names the scenario after it."""
    sc, values = at_end(package, ["car_sharing.access_share"], "low")
    assert values == {"car_sharing.access_share": 0.25}
    assert sc.name == "village_package_west.car_sharing.access_share-low"
    items = [i for i in sc.initiatives if i.kind == "car_sharing"]
    assert items and all(i.settings["access_share"] == 0.25 for i in items)
    sc, _ = at_end(package, ["community.local_share"], "low")
    assert sc.community.local_share == ranges_of(type(sc.community))["local_share"].low


def test_sampling_is_reproducible_within_the_range_and_per_name(package):
    """Rule: a sampled value lies in its range, is the same for the same seed, differs
    between seeds, and does not change when other names are sampled too."""
    name = "nature_project.nature_gain" if "nature_project.nature_gain" in magnitudes(package) \
        else "community_house.community_gain"
    r = magnitudes(package)[name].range
    a = sampled(package, [name], 7)[1][name]
    assert r.low <= a <= r.high
    assert sampled(package, [name], 7)[1][name] == a
    assert sampled(package, [name], 8)[1][name] != a
    both = sampled(package, [name, "community.level"], 7)[1]
    assert both[name] == a
    fy = sampled(package, ["coop_grocer.fail_years"], 3)[0]
    assert isinstance(fy.initiatives[0].settings["fail_years"], int)


def test_unknown_magnitudes_are_named_with_a_suggestion(package):
    """Rule: a misspelt magnitude is an error that suggests the nearest name."""
    with pytest.raises(ValueError, match=r"did you mean 'car_sharing\.access_share'"):
        at_end(package, ["car_sharing.acess_share"], "low")
