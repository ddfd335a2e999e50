"""The report's charts: matplotlib figures returned as embeddable PNG data URIs.

Every figure uses the colour-blind-safe Okabe-Ito palette (and the purple-orange diverging map
for changes), large type so that it stays legible when a phone shrinks it, and is written as a
palette PNG (about a third of the size of a full-colour one) that goes straight into the HTML
as a ``data:`` URI: the report makes no request for an image.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.ticker import FuncFormatter
from PIL import Image

from .. import data
from ..charts import OKABE_ITO, _rings
from .i18n import number, text

DPI = 110
STYLE = {"font.size": 11, "axes.titlesize": 11.5, "axes.labelsize": 10.5,
         "legend.fontsize": 9.5, "xtick.labelsize": 9.5, "ytick.labelsize": 9.5,
         "axes.spines.top": False, "axes.spines.right": False}
GREY = "#555555"
#: Colours of the arms: without (baseline) and with (scenario).
WITHOUT, WITH = OKABE_ITO[4], OKABE_ITO[5]


def png_uri(fig: plt.Figure) -> str:
    """Render ``fig`` as a 256-colour PNG ``data:`` URI and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.08)
    plt.close(fig)
    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    out = io.BytesIO()
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="png", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def csv_uri(df: pd.DataFrame, lang: str) -> str:
    """A table as a CSV ``data:`` URI for download.

    Danish files use ``;`` between fields and a decimal comma, as Danish spreadsheet programs
    expect; both carry a UTF-8 byte-order mark so that æ, ø and å survive.
    """
    if lang == "da":
        body = df.to_csv(index=False, sep=";", decimal=",")
    else:
        body = df.to_csv(index=False)
    raw = ("\ufeff" + body).encode("utf-8")
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(raw).decode("ascii")


def _fmt(lang: str) -> FuncFormatter:
    return FuncFormatter(lambda v, _: number(v, lang))


def _style():
    return plt.rc_context(STYLE)


def _map_axes(ax: plt.Axes) -> None:
    rings = [r for f in data.boundaries()["features"] for r in _rings(f["geometry"])]
    ax.add_collection(PolyCollection(rings, facecolor="#f4f4f4", edgecolor=GREY, lw=0.5))
    ax.set_aspect(1 / np.cos(np.deg2rad(56.2)))
    ax.set_axis_off()


def size_classes(stats: pd.DataFrame, labels: Sequence[str], total_label: str,
                 lang: str) -> str:
    """Small multiples: population per size class (mean line, lowest-highest band).

    Args:
        stats: Columns ``cls`` (index into ``labels``, -1 = region total), ``year``,
            ``mean``, ``low``, ``high``.
        labels: Size class labels.
        total_label: Title of the region-total panel.
        lang: Language of labels and numbers.
    """
    with _style():
        fig, axes = plt.subplots(4, 2, figsize=(7.5, 9.0), sharex=True)
        for ax, cls in zip(axes.flat, [*range(len(labels)), -1], strict=True):
            s = stats[stats["cls"] == cls]
            colour = OKABE_ITO[cls % len(OKABE_ITO)] if cls >= 0 else "#000000"
            ax.fill_between(s["year"], s["low"], s["high"], color=colour, alpha=0.3, lw=0)
            ax.plot(s["year"], s["mean"], color=colour, lw=2)
            ax.set_title(labels[cls] if cls >= 0 else total_label, loc="left")
            ax.yaxis.set_major_formatter(_fmt(lang))
            lo, hi = float(s["low"].min()), float(s["high"].max())
            pad = max((hi - lo) * 0.15, hi * 0.03, 1.0)
            ax.set_ylim(max(lo - pad, 0), hi + pad)
            ax.grid(alpha=0.3)
        for ax in axes[-1]:
            ax.set_xlabel(text("axis_year", lang))
        fig.supylabel(text("axis_people", lang))
        fig.tight_layout()
        return png_uri(fig)


def change_map(places: pd.DataFrame, start_pop: np.ndarray, change_pct: np.ndarray,
               start: int, end: int, lang: str, lim: float = 30.0) -> str:
    """Map of relative change per place (circle area ~ start population), borders drawn."""
    with _style():
        fig, ax = plt.subplots(figsize=(7.5, 6.4))
        _map_axes(ax)
        size = 5 + 70 * np.sqrt(np.maximum(start_pop, 0) / max(float(start_pop.max()), 1.0))
        order = np.argsort(-size)
        sc = ax.scatter(places["lon"].to_numpy()[order], places["lat"].to_numpy()[order],
                        c=np.clip(change_pct[order], -lim, lim), s=size[order], cmap="PuOr",
                        vmin=-lim, vmax=lim, edgecolors="#333333", linewidths=0.25)
        ax.autoscale_view()
        cb = fig.colorbar(sc, ax=ax, shrink=0.55, pad=0.01)
        cb.set_label(text("map_legend", lang, start=start, end=end, lim=f"{lim:.0f}"))
        ax.set_title(text("map_title", lang, start=start, end=end), fontsize=10.5)
        fig.tight_layout()
        return png_uri(fig)


def band_lines(series: list[tuple[str, str, pd.DataFrame]], ylabel: str, lang: str,
               refs: Sequence[tuple[float, str, str]] = (), percent: bool = False) -> str:
    """Lines with lowest-highest bands; optional horizontal reference lines.

    Args:
        series: (label, colour, frame with ``year``, ``mean``, ``low``, ``high``).
        ylabel: Label of the y axis.
        lang: Language of labels and numbers.
        refs: (value, label, colour) of dashed reference lines.
        percent: Values are shares shown as percentages.
    """
    k = 100.0 if percent else 1.0
    with _style():
        fig, ax = plt.subplots(figsize=(7.5, 4.4))
        for label, colour, s in series:
            ax.fill_between(s["year"], k * s["low"], k * s["high"], color=colour, alpha=0.25,
                            lw=0)
            ax.plot(s["year"], k * s["mean"], color=colour, lw=2.2, label=label)
        for value, label, colour in refs:
            ax.axhline(k * value, color=colour, lw=1.4, ls="--", label=label)
        ax.set_xlabel(text("axis_year", lang))
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_formatter(FuncFormatter(
            lambda v, _: number(v, lang, 1 if percent else 0)))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, loc="best")
        fig.tight_layout()
        return png_uri(fig)


def age_structure(panels: list[tuple[str, pd.DataFrame]], groups: Sequence[str],
                  start: int, end: int, lang: str) -> str:
    """Grouped bars: share per age group at start and end, error bars lowest-highest run.

    Args:
        panels: (title, frame indexed by age column with ``start``, ``end``, ``end_low``,
            ``end_high`` as shares).
        groups: Labels of the age groups (same order as the frames' index).
        start: First year.
        end: Last year.
        lang: Language of labels.
    """
    with _style():
        fig, axes = plt.subplots(1, len(panels), figsize=(7.5, 4.0), sharey=True)
        x = np.arange(len(groups))
        for ax, (title, t) in zip(np.atleast_1d(axes), panels, strict=True):
            ax.bar(x - 0.2, 100 * t["start"], 0.4, color=OKABE_ITO[1], label=str(start))
            err = 100 * np.vstack([t["end"] - t["end_low"], t["end_high"] - t["end"]])
            ax.bar(x + 0.2, 100 * t["end"], 0.4, color=OKABE_ITO[5], label=str(end),
                   yerr=err, capsize=3, ecolor="#222222")
            ax.set_xticks(x, groups, rotation=20)
            ax.set_title(title, loc="left")
            ax.grid(axis="y", alpha=0.3)
        np.atleast_1d(axes)[0].set_ylabel(text("age_axis", lang))
        np.atleast_1d(axes)[0].legend(frameon=False)
        fig.tight_layout()
        return png_uri(fig)


def initiative_total(targeted: pd.DataFrame, region: pd.DataFrame, services: pd.DataFrame,
                     lang: str) -> str:
    """Three panels: targeted places with vs without, the difference, open grocers/schools."""
    with _style():
        fig, axes = plt.subplots(1, 3, figsize=(11.0, 3.9))
        ax = axes[0]
        ax.plot(targeted["year"], targeted["baseline"], color=WITHOUT, lw=2.2,
                label=text("without", lang))
        ax.plot(targeted["year"], targeted["scenario"], color=WITH, lw=2.2, ls="--",
                label=text("with", lang))
        ax.set_title(text("panel_with_without", lang), loc="left")
        ax.yaxis.set_major_formatter(_fmt(lang))
        ax.legend(frameon=False)
        ax = axes[1]
        for label, colour, t in ((text("targeted_total", lang), OKABE_ITO[0], targeted),
                                 (text("region_total", lang), OKABE_ITO[2], region)):
            ax.fill_between(t["year"], t["ci_low"], t["ci_high"], color=colour, alpha=0.25,
                            lw=0)
            ax.plot(t["year"], t["mean_diff"], color=colour, lw=2.2, label=label)
        ax.axhline(0, color="#222222", lw=0.8)
        ax.set_title(text("panel_difference", lang), loc="left")
        ax.set_ylabel(text("diff_axis", lang))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v, lang, sign=True)))
        ax.legend(frameon=False)
        ax = axes[2]
        for kind, marker in (("grocer", "o"), ("school", "s")):
            ax.plot(services["year"], services[f"baseline_{kind}_open"], color=WITHOUT, lw=1.8,
                    marker=marker, ms=3.5, label=f"{_service(kind, lang)}, "
                    f"{text('without', lang)}")
            ax.plot(services["year"], services[f"scenario_{kind}_open"], color=WITH, lw=1.8,
                    ls="--", marker=marker, ms=3.5,
                    label=f"{_service(kind, lang)}, {text('with', lang)}")
        ax.set_title(text("panel_services", lang), loc="left")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, fontsize=8, loc="best")
        for ax in axes:
            ax.set_xlabel(text("axis_year", lang))
            ax.grid(alpha=0.3)
        fig.tight_layout()
        return png_uri(fig)


def _service(kind: str, lang: str) -> str:
    from .i18n import SERVICE_LABELS
    return SERVICE_LABELS[lang][kind]


def village_dots(rows: pd.DataFrame, colours: Sequence[str], year: int, lang: str) -> str:
    """Dot and whisker per targeted place: last-year difference and its 95% interval.

    Args:
        rows: ``label``, ``mean_diff``, ``ci_low``, ``ci_high`` (drawn top to bottom).
        colours: One colour per row (by verdict).
        year: The year of the differences.
        lang: Language of labels and numbers.
    """
    n = len(rows)
    with _style():
        fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.32 * n))
        y = np.arange(n)[::-1]
        ax.hlines(y, rows["ci_low"], rows["ci_high"], colors=list(colours), lw=2.2)
        ax.scatter(rows["mean_diff"], y, c=list(colours), s=36, zorder=3,
                   edgecolors="#222222", linewidths=0.4)
        ax.axvline(0, color="#222222", lw=0.8)
        ax.set_yticks(y, rows["label"])
        ax.set_xlabel(text("dmap_legend", lang, year=year))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v, lang, sign=True)))
        ax.grid(axis="x", alpha=0.3)
        ax.set_ylim(-0.7, n - 0.3)
        fig.tight_layout()
        return png_uri(fig)


def difference_map(places: pd.DataFrame, diff: np.ndarray, targeted: np.ndarray, year: int,
                   lang: str) -> str:
    """Map of the last year's mean difference per place; targeted places edged in black."""
    with _style():
        fig, ax = plt.subplots(figsize=(7.5, 6.4))
        _map_axes(ax)
        lim = max(float(np.abs(diff).max()), 1.0)
        size = 6 + 90 * np.abs(diff) / lim
        order = np.argsort(size)
        sc = ax.scatter(places["lon"].to_numpy()[order], places["lat"].to_numpy()[order],
                        c=diff[order], s=size[order], cmap="PuOr", vmin=-lim, vmax=lim,
                        edgecolors=np.where(targeted[order], "#000000", "#999999"),
                        linewidths=np.where(targeted[order], 1.3, 0.2))
        ax.autoscale_view()
        cb = fig.colorbar(sc, ax=ax, shrink=0.55, pad=0.01)
        cb.set_label(text("dmap_legend", lang, year=year))
        cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v, lang, sign=True)))
        fig.tight_layout()
        return png_uri(fig)
