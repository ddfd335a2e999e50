"""The interactive explorer (optional extra ``explore``): SolaraViz on a small run."""

from __future__ import annotations

import numpy as np
import pytest

from sim.explore import SLIDERS, ExplorerModel, parameters, population_chart, population_map
from sim.params import Parameters


def test_every_slider_range_is_a_valid_parameter_set():
    """Rule: both ends of every slider give parameters that pass validation, and the slider
    values land where they belong (the distance factor multiplies every stage's decay)."""
    for name, (_, default, lo, hi, _) in SLIDERS.items():
        for value in (lo, default, hi):
            p = parameters(**{name: value})
            assert isinstance(p, Parameters)
    p = parameters(scale=0.05, fertility=1.2, distance_decay_factor=2.0, closure_hazard=0.1,
                   opening_factor=3.0, end_year=2030)
    base = Parameters()
    assert p.scale == 0.05 and p.end_year == 2030
    assert p.demography.fertility_multiplier == 1.2
    assert np.allclose(p.relocation.distance_decay_per_km,
                       2 * np.asarray(base.relocation.distance_decay_per_km))
    assert p.services.closure_hazard == 0.1 and p.services.opening_factor == 3.0


def test_explorer_model_steps_to_its_end_year_and_draws():
    """Rule: the explorer's model is a RegionModel that stops at its end year; the map has one
    point per place and the chart one line per size class."""
    m = ExplorerModel(scale=0.01, end_year=2022, seed=3)
    m.step()
    m.step()
    assert m.year == 2022
    fig = population_map(m)
    assert len(fig.axes[0].collections[1].get_offsets()) == m.world.n
    chart = population_chart(m)
    assert len(chart.axes[0].lines) == 7


def test_solaraviz_page_renders():
    """Rule: Mesa's SolaraViz page builds and renders both components as images (needs the
    'explore' extra; skipped without it)."""
    solara = pytest.importorskip("solara")
    pytest.importorskip("networkx")
    pytest.importorskip("altair")
    import ipywidgets

    from sim.explore import make_page

    m = ExplorerModel(scale=0.01, end_year=2022)
    _, rc = solara.render(make_page(m), handle_error=False)
    images = rc.find(ipywidgets.Image).widgets
    assert len(images) == 2 and all(len(w.value) > 1000 for w in images)
