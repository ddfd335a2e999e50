"""PNG charts of one run (matplotlib, no display needed).

* ``population_by_size_class.png``: population by settlement size class over time.
* ``population_change_map.png``: change in population per place, base year to last year,
  with municipality borders.
* ``services_open.png``: open services by kind over time.

Colours come from the colour-blind-safe Okabe-Ito palette and a diverging blue-orange map.
Values are full-scale estimates (simulated counts divided by the run's scale).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection

from . import data
from .places import SIZE_CLASSES
from .services import KINDS

OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#000000")


def _rings(geometry: dict) -> list[np.ndarray]:
    polys = geometry["coordinates"] if geometry["type"] == "MultiPolygon" \
        else [geometry["coordinates"]]
    return [np.asarray(poly[0]) for poly in polys]


def size_class_chart(region_year: pd.DataFrame, scale: float, path: Path) -> None:
    """Lines of population per settlement size class over time."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for i, label in enumerate(SIZE_CLASSES):
        ax.plot(region_year["year"], region_year[f"pop_{label}"] / scale, label=label,
                color=OKABE_ITO[i % len(OKABE_ITO)], lw=2)
    ax.set_xlabel("year (1 January)")
    ax.set_ylabel("inhabitants")
    ax.set_title("Population by settlement size class, Region Midtjylland")
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.legend(title="settlement size", fontsize=8, ncol=2, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def change_map(places: pd.DataFrame, place_year: pd.DataFrame, path: Path) -> None:
    """Map of relative population change per place with municipality borders."""
    first, last = place_year["year"].min(), place_year["year"].max()
    a = place_year[place_year["year"] == first].set_index("place_id")["population"]
    b = place_year[place_year["year"] == last].set_index("place_id")["population"]
    a = a.reindex(places["place_id"]).to_numpy(float)
    b = b.reindex(places["place_id"]).to_numpy(float)
    change = np.where(a > 0, (b - a) / np.maximum(a, 1), 0.0) * 100
    fig, ax = plt.subplots(figsize=(7, 7.5), dpi=120)
    rings = [r for f in data.boundaries()["features"] for r in _rings(f["geometry"])]
    ax.add_collection(PolyCollection(rings, facecolor="#f2f2f2", edgecolor="#555555", lw=0.5))
    lim = 30.0
    size = 4 + 60 * np.sqrt(np.maximum(a, 0) / max(a.max(), 1))
    order = np.argsort(-size)
    sc = ax.scatter(places["lon"].to_numpy()[order], places["lat"].to_numpy()[order],
                    c=np.clip(change[order], -lim, lim), s=size[order], cmap="PuOr",
                    vmin=-lim, vmax=lim, edgecolors="#333333", linewidths=0.2)
    cb = fig.colorbar(sc, ax=ax, shrink=0.6)
    cb.set_label(f"population change {first}-{last}, % (clipped at ±{lim:.0f}%)")
    ax.set_aspect(1 / np.cos(np.deg2rad(56.2)))
    ax.autoscale_view()
    ax.set_axis_off()
    ax.set_title(f"Population change by place, {first}-{last}\n(circle area ~ population "
                 f"{first}; municipality borders)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def services_chart(region_year: pd.DataFrame, path: Path) -> None:
    """Open services by kind over time."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for i, k in enumerate(KINDS):
        ax.plot(region_year["year"], region_year[f"{k}_open"], label=k, lw=2,
                color=OKABE_ITO[i])
    ax.set_xlabel("year (1 January)")
    ax.set_ylabel("open units (simulated)")
    ax.set_title("Services open over time (start: OpenStreetMap 2019 + inferred)")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_charts(model, place_year: pd.DataFrame, region_year: pd.DataFrame,
                 folder: Path) -> list[Path]:
    """Write the three PNG charts into ``folder``; returns their paths."""
    folder = Path(folder)
    paths = [folder / "population_by_size_class.png", folder / "population_change_map.png",
             folder / "services_open.png"]
    size_class_chart(region_year, model.params.scale, paths[0])
    change_map(model.world.places, place_year, paths[1])
    services_chart(region_year, paths[2])
    return paths


def comparison_charts(tables: dict[str, pd.DataFrame], places: pd.DataFrame, folder: Path,
                      name: str) -> list[Path]:
    """Difference trajectories with 95% bands and a map of the last year's difference."""
    folder = Path(folder)
    paths = []
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for i, label in enumerate(("targeted", "region")):
        t = tables[label]
        ax.plot(t["year"], t["mean_diff"], color=OKABE_ITO[i], lw=2,
                label=f"{label} places" if label == "targeted" else "whole region")
        ax.fill_between(t["year"], t["ci_low"], t["ci_high"], color=OKABE_ITO[i], alpha=0.25)
    ax.axhline(0, color="#333333", lw=0.8)
    ax.set_xlabel("year (1 January)")
    ax.set_ylabel("inhabitants, scenario minus baseline")
    ax.set_title(f"{name}: difference from baseline (mean over seeds, 95% band)")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths.append(folder / "difference_trajectory.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    t = tables["place"]
    last = t[t["year"] == t["year"].max()].set_index("place_id").reindex(places["place_id"])
    diff = last["mean_diff"].fillna(0).to_numpy()
    fig, ax = plt.subplots(figsize=(7, 7.5), dpi=120)
    rings = [r for f in data.boundaries()["features"] for r in _rings(f["geometry"])]
    ax.add_collection(PolyCollection(rings, facecolor="#f2f2f2", edgecolor="#555555", lw=0.5))
    lim = max(float(np.abs(diff).max()), 1.0)
    size = 6 + 80 * np.abs(diff) / lim
    sc = ax.scatter(places["lon"], places["lat"], c=diff, s=size, cmap="PuOr", vmin=-lim,
                    vmax=lim, edgecolors="#333333", linewidths=0.2)
    cb = fig.colorbar(sc, ax=ax, shrink=0.6)
    cb.set_label(f"inhabitants, scenario minus baseline, {int(t['year'].max())}")
    ax.set_aspect(1 / np.cos(np.deg2rad(56.2)))
    ax.autoscale_view()
    ax.set_axis_off()
    ax.set_title(f"{name}: difference by place in {int(t['year'].max())} (mean over seeds)",
                 fontsize=10)
    fig.tight_layout()
    paths.append(folder / "difference_map.png")
    fig.savefig(paths[-1])
    plt.close(fig)
    return paths
