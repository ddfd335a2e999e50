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
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from sim.compare import PLACE_COLUMNS, run_one
from sim.initiatives import INITIATIVES
from sim.model import RegionModel
from sim.params import Parameters
from sim.relocation import RULES
from sim.report.i18n import STRINGS, missing
from sim.report.overview import FIGURES, Overview
from sim.scenario import Scenario, check, load, parameters
from sim.utility import TERMS
from sim.world import get_world

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
    registries = (INITIATIVES, TERMS, RULES, FIGURES)
    strings = dict(STRINGS)
    module = types.ModuleType("au_landsim")
    module.__file__ = str(GUIDE)
    previous = sys.modules.get(module.__name__)
    sys.modules[module.__name__] = module
    with ExitStack() as stack:
        for r in registries:
            stack.enter_context(r.scratch())
        try:
            for line, code in PYTHON:
                # pad so that tracebacks give the line numbers of docs/EXTENDING.md
                exec(compile("\n" * line + code, str(GUIDE), "exec"), module.__dict__)
            yield module.__dict__
        finally:
            STRINGS.clear()
            STRINGS.update(strings)
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


def test_guide_has_the_four_extensions_and_the_scenario_tables():
    """Rule: the guide shows a kind, a renter term, a rule, a figure, tests and the tables
    a scenario uses for each."""
    assert len(PYTHON) >= 5
    assert len(GUIDE_TESTS) >= 5
    assert any('kind = "au_mobile_shop"' in t for t in TOML)
    assert any("[parameters.relocation.weights]" in t for t in TOML)
    assert any('rule = "au_inertia"' in t for t in TOML)
    for decorator in ("@register_initiative", "@register_term", "@register_rule",
                      "@register_figure"):
        assert any(decorator in code for _, code in PYTHON), decorator


def test_example_plugins_register(guide):
    """Rule: importing the example registers its kind, its term (for renters), its rule and
    its figure, under their names."""
    cls = INITIATIVES["au_mobile_shop"]
    assert cls is guide["MobileShop"] and cls.kind == "au_mobile_shop"
    assert cls.Settings is guide["MobileShopSettings"]
    term = TERMS["au_town_life"]
    assert term.func is guide["au_town_life"] and dict(term.applies_to) == {"tenure": "renter"}
    assert RULES["au_inertia"] is guide["InertRelocation"]
    assert FIGURES["au_elderly_villages"].make is guide["elderly_villages"]
    assert not missing()


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
    """Rule: every test the guide shows passes (each plugin changes what it claims)."""
    guide[name]()


def _scenario_file(tmp_path: Path, settings_extra: str = "") -> Path:
    """A scenario made of the guide's TOML tables (not the pyproject example), to 2028."""
    tables = [t for t in TOML if "entry-points" not in t]
    text = 'name = "au_docs"\n[years]\nend = 2028\n\n' + "\n".join(tables)
    if settings_extra:
        text = text.replace("access_km = 4.0", f"access_km = 4.0\n{settings_extra}")
    path = tmp_path / "au_docs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_guide_scenario_tables_validate_and_run(guide, places, tmp_path):
    """Rule: the guide's scenario tables form a valid scenario: the rule and the term's
    weight are merged into the parameters, and the van acts from its start year in the
    targeted places, which then have a grocer within access_km."""
    sc = load(_scenario_file(tmp_path), places)
    params = parameters(sc).with_overrides(scale=0.02)
    weights = params.relocation.weights
    assert weights["au_town_life"] == (0.3, 0.0, 0.1, 0.2) and "grocer" in weights
    assert params.relocation.rule == "au_inertia"
    model = RegionModel(params, seed=1, scenario=sc)
    assert isinstance(model.relocation, guide["InertRelocation"])
    assert model.segments.has("tenure")
    (van,) = model.interventions.initiatives
    assert isinstance(van, INITIATIVES["au_mobile_shop"]) and len(van.places) > 0
    assert van.settings.access_km == 4.0
    model.run()
    started = {e.place_id for e in van.events_ if e.event == "started"}
    assert started == set(van.places.tolist())
    assert {e.year for e in van.events_ if e.event == "started"} == {2027}
    running = van.places[van.active_]
    assert len(running) > 0
    assert (model.service_km()[running, guide["GROCER"]] <= 4.0).all()


def test_unknown_setting_in_a_scenario_is_reported(guide, places, tmp_path):
    """Rule: a misspelt setting of the plugin kind is a validation problem naming the field."""
    sc, problems = check(_scenario_file(tmp_path, "acess_km = 2.0"), places)
    assert sc is None
    assert any("unknown field 'initiatives[1].settings.acess_km'" in p for p in problems)


def test_the_example_figure_is_drawn_in_page_order(guide):
    """Rule: the registered figure is made from baseline runs, sits between the age
    structure (40) and the grocer distance (50), and its data has one share per year."""
    sc = Scenario(name="base")
    base = pd.concat([run_one(sc, seed, 0.02).place_year for seed in (1, 2)])
    places = get_world(Parameters(scale=0.02)).places[PLACE_COLUMNS]
    ov = Overview(base, places, "en")
    order = [f.name for f in sorted(FIGURES.values(), key=lambda f: (f.order, f.name))]
    assert order.index("age_structure") < order.index("au_elderly_villages") \
        < order.index("grocer_access")
    fig = guide["elderly_villages"](ov)
    assert fig.key == "au_old" and "65" in fig.caption and fig.image.startswith("data:image")


def test_running_the_guide_leaves_the_registries_as_they_were(guide):
    """Rule: the guide's names are removed afterwards (the registries are as before)."""
    before = [dict(r) for r in (INITIATIVES, TERMS, RULES, FIGURES)]
    with guide_namespace() as ns:
        assert INITIATIVES["au_mobile_shop"] is ns["MobileShop"]
    assert [dict(r) for r in (INITIATIVES, TERMS, RULES, FIGURES)] == before
