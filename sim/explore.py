"""Interactive explorer: Mesa's SolaraViz on a small run (optional extra ``explore``).

For researchers and teaching: ``landsim explore`` starts a local Solara server with a map of
the places coloured by population, a chart of the region's population, and sliders for the
main parameters (scale, end year, fertility, the pull of distance, service closure and
opening). Every slider range lies inside the parameter's validated range
(:mod:`sim.params`); the explorer builds the same :class:`sim.model.RegionModel` as
``landsim run``, so what it shows is the model, not a copy.

Install with ``pip install -e ".[explore]"`` (solara with its bundled front-end assets, so
that the page needs no CDN, and networkx and altair, which Mesa's visualisation package
imports). Without them the command says so and exits with status 2.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from . import data
from .charts import _rings
from .model import RegionModel
from .params import Parameters

#: Packages the explorer needs (the ``explore`` extra).
NEEDS = ("solara", "networkx", "altair")

#: Slider settings: name -> (label, default, min, max, step). The ranges are inside the
#: parameters' validated ranges; ``distance_decay_factor`` multiplies the four per-stage
#: decays and ``fertility`` is ``demography.fertility_multiplier``.
SLIDERS: dict[str, tuple[str, float, float, float, float]] = {
    "scale": ("share of households simulated", 0.02, 0.01, 0.1, 0.01),
    "end_year": ("end year", 2035, 2022, 2050, 1),
    "fertility": ("fertility (x 2020 rates)", 1.0, 0.5, 1.5, 0.05),
    "distance_decay_factor": ("pull of distance (x default decay)", 1.0, 0.25, 3.0, 0.25),
    "closure_hazard": ("closure chance a year", 0.3, 0.0, 1.0, 0.05),
    "opening_factor": ("opening threshold (x viability)", 2.0, 1.0, 5.0, 0.25),
}


class MissingExtraError(RuntimeError):
    """The ``explore`` extra is not installed."""


def check_extra() -> None:
    """Raise :class:`MissingExtraError` with the install command if a package is missing."""
    missing = [m for m in NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtraError(f"the explorer needs {', '.join(missing)}: install them with "
                           f"pip install -e \".[explore]\" (in the landsim folder)")


def parameters(scale: float = 0.02, end_year: int = 2035, fertility: float = 1.0,
               distance_decay_factor: float = 1.0, closure_hazard: float = 0.3,
               opening_factor: float = 2.0) -> Parameters:
    """Validated :class:`Parameters` from the explorer's slider values."""
    base = Parameters()
    decay = [d * distance_decay_factor for d in base.relocation.distance_decay_per_km]
    return base.with_overrides(
        scale=scale, end_year=int(end_year),
        demography={"fertility_multiplier": fertility},
        relocation={"distance_decay_per_km": decay},
        services={"closure_hazard": closure_hazard, "opening_factor": opening_factor})


class ExplorerModel(RegionModel):
    """:class:`RegionModel` with keyword parameters, as SolaraViz re-creates models.

    Stepping past the end year does nothing (the model stays at its last year).
    """

    def __init__(self, scale: float = 0.02, end_year: int = 2035, fertility: float = 1.0,
                 distance_decay_factor: float = 1.0, closure_hazard: float = 0.3,
                 opening_factor: float = 2.0, seed: int = 0) -> None:
        params = parameters(scale, end_year, fertility, distance_decay_factor,
                            closure_hazard, opening_factor)
        super().__init__(params, seed=int(seed))

    def step(self) -> None:
        """One year, until the end year."""
        if self.year < self.params.end_year:
            super().step()


def population_map(model: RegionModel) -> Figure:
    """Places coloured by population (full-scale estimate, log scale), municipality borders."""
    places = model.world.places
    pop = model.persons_per_place() / model.params.scale
    fig = Figure(figsize=(6.5, 5.6))
    ax = fig.subplots()
    rings = [r for f in data.boundaries()["features"] for r in _rings(f["geometry"])]
    ax.add_collection(PolyCollection(rings, facecolor="#f4f4f4", edgecolor="#555555", lw=0.5))
    size = 4 + 60 * np.sqrt(pop / max(float(pop.max()), 1.0))
    sc = ax.scatter(places["lon"], places["lat"], c=np.log10(np.maximum(pop, 1)), s=size,
                    cmap="viridis", vmin=1, vmax=5.5, edgecolors="#333333", linewidths=0.2)
    fig.colorbar(sc, ax=ax, shrink=0.6, label="inhabitants (log10, full-scale estimate)")
    ax.set_aspect(1 / np.cos(np.deg2rad(56.2)))
    ax.autoscale_view()
    ax.set_axis_off()
    ax.set_title(f"Population by place, 1 January {model.year}")
    fig.tight_layout()
    return fig


def population_chart(model: RegionModel) -> Figure:
    """The region's population by year (full-scale estimate) and by settlement size class."""
    from .charts import OKABE_ITO
    from .places import SIZE_CLASSES

    r = model.region_year()
    fig = Figure(figsize=(6.5, 3.8))
    ax = fig.subplots()
    for i, label in enumerate(SIZE_CLASSES):
        ax.plot(r["year"], r[f"pop_{label}"] / model.params.scale, label=label,
                color=OKABE_ITO[i % len(OKABE_ITO)], lw=1.8, marker="o", ms=3)
    ax.set_xlim(model.params.base_year - 0.5, model.params.end_year + 0.5)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("year (1 January)")
    ax.set_ylabel("inhabitants by settlement size (full-scale estimate)")
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title(f"Region, {model.year}: {r['population'].iloc[-1] / model.params.scale:,.0f} "
                 "inhabitants")
    ax.legend(fontsize=7, ncol=2, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def model_params() -> dict[str, Any]:
    """SolaraViz ``model_params``: one slider per entry of :data:`SLIDERS`, and the seed."""
    out: dict[str, Any] = {}
    for name, (label, value, lo, hi, step) in SLIDERS.items():
        kind = "SliderInt" if name == "end_year" else "SliderFloat"
        out[name] = {"type": kind, "value": value, "label": label, "min": lo, "max": hi,
                     "step": step}
    out["seed"] = {"type": "InputText", "value": 0, "label": "seed"}
    return out


def make_page(model: RegionModel | None = None):
    """The SolaraViz page (a Solara element); builds a default small model if none given."""
    check_extra()
    import solara
    from mesa.visualization import SolaraViz
    from mesa.visualization.utils import update_counter

    @solara.component
    def map_view(model):
        update_counter.get()
        solara.FigureMatplotlib(population_map(model), format="png")

    @solara.component
    def chart_view(model):
        update_counter.get()
        solara.FigureMatplotlib(population_chart(model), format="png")

    if model is None:
        model = ExplorerModel()
    return SolaraViz(model, components=[(map_view, 0), (chart_view, 0)],
                     model_params=model_params(), name="landsim explorer", play_interval=300)


def __getattr__(name: str):
    # ``solara run sim.explore`` looks up ``Page``/``page``; build it only then.
    if name in ("Page", "page"):
        return make_page()
    raise AttributeError(name)


def serve(host: str = "localhost", port: int = 8765, open_browser: bool = True) -> int:
    """Run ``solara run sim.explore`` until interrupted; returns its exit status."""
    check_extra()
    cmd = [sys.executable, "-m", "solara", "run", "sim.explore", "--host", host, "--port",
           str(port)]
    if not open_browser:
        cmd.append("--no-open")
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130
