"""docs/EXTENDING.md cannot rot: its example plugin and its tests are run here.

The guide's ```python blocks are executed in order in one fresh module (named
``au_landsim``, the file name the guide gives the plugin, so its example script's
``import au_landsim`` works); its ``test_*`` functions are then run as tests. Everything the
guide registers is removed from the registries afterwards.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from sim.initiatives import INITIATIVES
from sim.model import RegionModel, get_world
from sim.params import Parameters
from sim.scenario import check, load, parameters
from sim.utility import TERMS

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "EXTENDING.md"
TEXT = GUIDE.read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
PYTHON = [(TEXT[: m.start(2)].count("\n"), m.group(2)) for m in FENCE.finditer(TEXT)
          if m.group(1) == "python"]
TOML = [m.group(2) for m in FENCE.finditer(TEXT) if m.group(1) == "toml"]
GUIDE_TESTS = re.findall(r"^def (test_\w+)\(", "\n".join(code for _, code in PYTHON), re.M)


@contextmanager
def guide_namespace() -> Iterator[dict]:
    """Run the guide's python blocks in a fresh module; restore the registries on exit."""
    saved = dict(INITIATIVES), dict(TERMS)
    module = types.ModuleType("au_landsim")
    module.__file__ = str(GUIDE)
    previous = sys.modules.get(module.__name__)
    sys.modules[module.__name__] = module
    try:
        for line, code in PYTHON:
            # pad so that tracebacks give the line numbers of docs/EXTENDING.md
            exec(compile("\n" * line + code, str(GUIDE), "exec"), module.__dict__)
        yield module.__dict__
    finally:
        for registry, before in zip((INITIATIVES, TERMS), saved, strict=True):
            for name in set(registry) - set(before):
                registry.pop(name)
            registry.update(before)
        if previous is None:
            sys.modules.pop(module.__name__, None)
        else:
            sys.modules[module.__name__] = previous


@pytest.fixture(scope="module")
def places() -> pd.DataFrame:
    return get_world(Parameters(scale=0.02)).places


@pytest.fixture(scope="module")
def guide() -> Iterator[dict]:
    with guide_namespace() as ns:
        yield ns


def test_guide_has_the_example_blocks():
    """Rule: the guide shows the plugin, a term, a script, tests and the scenario tables."""
    assert len(PYTHON) >= 4
    assert len(GUIDE_TESTS) >= 3
    assert any("kind = \"au_mobile_shop\"" in t for t in TOML)
    assert any("[parameters.relocation.weights]" in t for t in TOML)


def test_example_initiative_and_terms_register(guide):
    """Rule: importing the example registers its kind (class and name) and its terms."""
    cls = INITIATIVES["au_mobile_shop"]
    assert cls is guide["MobileShop"]
    assert cls.kind == "au_mobile_shop"
    assert cls.Settings is guide["MobileShopSettings"]
    assert TERMS["au_pharmacy"].func is guide["au_pharmacy"]
    assert TERMS["au_pharmacy"].applies_to == "all"
    assert "pharmacy" in TERMS["au_pharmacy"].description
    assert "au_broadband" in TERMS


def test_example_settings_reject_unknown_keys_and_bad_values(guide):
    """Rule: the example's Settings has defaults, rejects unknown keys and out-of-range
    values, and keeps the common fields (volunteer_hours, fail_years)."""
    settings = INITIATIVES["au_mobile_shop"].Settings
    s = settings()
    assert s.access_km == 5.0 and s.volunteer_hours == 150.0 and s.fail_years == 2
    with pytest.raises(ValidationError, match="extra"):
        settings.model_validate({"acces_km": 3.0})
    with pytest.raises(ValidationError):
        settings(access_km=-1.0)


@pytest.mark.parametrize("name", GUIDE_TESTS)
def test_guide_tests_pass(guide, name):
    """Rule: every test the guide shows passes (the plugin changes what it claims)."""
    guide[name]()


def _scenario_file(tmp_path: Path, settings_extra: str = "") -> Path:
    """A scenario made of the guide's TOML tables, ending in 2028 (the van starts 2027)."""
    text = 'name = "au_docs"\n[years]\nend = 2028\n\n' + "\n".join(TOML)
    if settings_extra:
        text = text.replace("access_km = 4.0", f"access_km = 4.0\n{settings_extra}")
    path = tmp_path / "au_docs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_guide_scenario_tables_validate_and_run(guide, places, tmp_path):
    """Rule: the guide's scenario tables form a valid scenario: the van acts from its start
    year in the targeted places, which then have a grocer within access_km, and the term's
    weight is merged with the default weights."""
    sc = load(_scenario_file(tmp_path), places)
    params = parameters(sc).with_overrides(scale=0.02)
    weights = params.relocation.weights
    assert weights["au_pharmacy"] == (0.0, 0.1, 0.1, 0.4) and "grocer" in weights
    model = RegionModel(params, seed=1, scenario=sc)
    (van,) = model.interventions
    assert isinstance(van, INITIATIVES["au_mobile_shop"]) and len(van.places) > 0
    assert van.settings.access_km == 4.0
    model.run()
    started = {e.place_id for e in van.events if e.event == "started"}
    assert started == set(van.places.tolist())
    assert {e.year for e in van.events if e.event == "started"} == {2027}
    running = van.places[van.active]
    assert len(running) > 0
    assert (model.service_km()[running, guide["GROCER"]] <= 4.0).all()


def test_unknown_setting_in_a_scenario_is_reported(guide, places, tmp_path):
    """Rule: a misspelt setting of the plugin kind is a validation problem naming the field."""
    sc, problems = check(_scenario_file(tmp_path, "acess_km = 2.0"), places)
    assert sc is None
    assert any("unknown field 'initiatives[1].settings.acess_km'" in p for p in problems)


def test_running_the_guide_leaves_the_registries_as_they_were(guide):
    """Rule: the guide's names are removed (and replaced entries restored) afterwards."""
    before = dict(INITIATIVES), dict(TERMS)
    with guide_namespace() as ns:
        assert INITIATIVES["au_mobile_shop"] is ns["MobileShop"]
    assert dict(INITIATIVES) == before[0] and dict(TERMS) == before[1]
    assert INITIATIVES["au_mobile_shop"] is guide["MobileShop"]
