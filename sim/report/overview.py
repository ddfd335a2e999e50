"""Part 1 of the report: the region without new initiatives (the baseline over seeds).

Every figure is computed per seed first and then summarised over seeds: the line is the mean
of the runs and the band spans the lowest to the highest run (with few seeds, a range says
more honestly than a percentile how far the runs spread). Places are grouped by their size in
the start year, like ``landsim compare`` does, so a size class follows the same places over
time.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import records
from ..data import data_dir
from ..places import SIZE_CLASSES, settlement_class
from ..registry import Registry
from . import figures
from .captions import direction_key
from .i18n import AGE_LABELS, SERVICE_LABELS, SIZE_CLASS_LABELS, number, percent, text

AGES = records.AGE_LABELS
#: Size classes counted as "open countryside and towns under 2,000" (age structure).
RURAL_CLASSES = (0, 1, 2, 3)
#: Size classes comparable with Statistics Denmark's "rural districts and villages < 500".
SMALL_CLASSES = (0, 1)
#: Distance (km) of the grocer-access measure (Statistics Denmark's).
GROCER_KM = 5.0
LOSS_KINDS = ("grocer", "school", "doctor")
#: Rows of the loss table shown on the page (all are in its CSV).
LOSS_ROWS_SHOWN = 25


@dataclass
class Figure:
    """One figure of the report: image, alt text, caption and its data."""

    key: str
    title: str
    image: str
    alt: str
    caption: str
    csv: str
    csv_name: str
    note: str = ""
    table: list[dict] | None = None
    table_caption: str = ""
    #: A generic table shown under the figure: header cells and rows of cells (text).
    columns: list[str] | None = None
    rows: list[list[str]] | None = None


@dataclass(frozen=True)
class RegionFigure:
    """A registered figure of the report's region overview.

    Attributes:
        name: Registered name.
        order: Position on the page (smaller first; shipped figures use 10, 20, ... 50).
        make: ``make(overview) -> Figure`` (the :class:`Overview` holds the baseline runs).
    """

    name: str
    order: int
    make: Callable[[Overview], Figure]


#: The region overview's figures; plugins add theirs (entry-point group
#: ``landsim.report_figures``).
FIGURES: Registry[RegionFigure] = Registry("report figure", "landsim.report_figures")


def register_figure(name: str, order: int = 100) -> Callable:
    """Decorator registering ``make(overview) -> Figure`` as a region-overview figure."""

    def deco(make: Callable[[Overview], Figure]) -> Callable[[Overview], Figure]:
        FIGURES.register(name, RegionFigure(name, order, make))
        return make

    return deco


def region_figures(ov: Overview) -> list[Figure]:
    """Every registered region figure for ``ov``, in page order.

    A figure function may return None when the results lack what it draws (it is left out).
    """
    made = (f.make(ov) for f in sorted(FIGURES.values(), key=lambda f: (f.order, f.name)))
    return [fig for fig in made if fig is not None]


@dataclass
class Reference:
    """Statistics Denmark's access-to-grocer figures (data/calibration_figures.csv)."""

    share_all: float
    share_small: float
    year: int
    citation: str
    url: str


def grocer_reference() -> Reference:
    """Read the 2022 shares of people more than 5 km from a grocer (all; rural and < 500).

    Raises:
        ValueError: The rows are not in ``data/calibration_figures.csv`` (a broken install).
    """
    path = data_dir() / "calibration_figures.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    share_all = share_small = None
    cite = url = ""
    for r in rows:
        if r["figure"] == "persons with >5 km to nearest grocery shop" and r["year"] == "2022":
            m = re.search(r"([\d.]+)% of pop", r["unit"])
            if m:
                share_all = float(m.group(1)) / 100
                cite = f"{r['author_or_publisher']}, \"{r['title']}\""
                url = r["url"]
        if r["figure"].startswith("share of residents of rural districts/villages <500") \
                and r["year"] == "2022":
            share_small = float(r["value"]) / 100
    if share_all is None or share_small is None:
        raise ValueError(f"{path}: the 2022 access-to-grocer rows of Statistics Denmark are "
                         f"missing; reinstall landsim's data")
    return Reference(share_all, share_small, 2022, cite, url)


def size_class_of_places(base: pd.DataFrame, places: pd.DataFrame) -> np.ndarray:
    """Size class per place (index = place_id) by mean start-year population over seeds."""
    first = base[base["year"] == base["year"].min()]
    start = first.groupby("place_id")["population"].mean().reindex(places["place_id"])
    return settlement_class(start.fillna(0).to_numpy(),
                            (places["kind"] == "countryside").to_numpy())


def over_seeds(per_seed: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Mean, lowest and highest of ``value`` over the seeds, per ``keys`` (for band charts)."""
    g = per_seed.groupby(keys)[value]
    return pd.DataFrame({"mean": g.mean(), "low": g.min(), "high": g.max()}).reset_index()


class Overview:
    """The baseline figures of the region, in one language."""

    def __init__(self, base: pd.DataFrame, places: pd.DataFrame, lang: str,
                 community: pd.DataFrame | None = None) -> None:
        #: The baseline's volunteer capacity per seed, year and place (None: not in the
        #: results, made before costs and volunteers were recorded).
        self.community = community
        self.base = base
        self.places = places.sort_values("place_id").reset_index(drop=True)
        self.lang = lang
        self.start = int(base["year"].min())
        self.end = int(base["year"].max())
        self.seeds = sorted(base["seed"].unique().tolist())
        cls = size_class_of_places(base, self.places)
        self.cls = cls
        self.base = base.assign(cls=cls[base["place_id"].to_numpy()])

    # ------------------------------------------------------------------ size classes
    def size_classes(self) -> Figure:
        """Population by size class over time (lines and lowest-highest bands)."""
        lang, b = self.lang, self.base
        per = b.groupby(["seed", "year", "cls"])["population"].sum().reset_index()
        tot = b.groupby(["seed", "year"])["population"].sum().reset_index().assign(cls=-1)
        stats = over_seeds(pd.concat([per, tot]), ["cls", "year"], "population")
        labels = SIZE_CLASS_LABELS[lang]
        image = figures.size_classes(stats, labels, text("size_total", lang), lang)
        # caption: largest fall and growth among classes, with the runs' agreement
        change = []
        for c in range(len(SIZE_CLASSES)):
            s = per[per["cls"] == c].pivot(index="seed", columns="year", values="population")
            if s.empty or s[self.start].mean() <= 0:
                continue
            a, z = s[self.start].mean(), s[self.end].mean()
            change.append((z / a - 1, c, a, z, s[self.start].tolist(), s[self.end].tolist()))
        change.sort()
        pct, c, a, z, starts, ends = change[0]
        n = len(self.seeds)
        agree = text(direction_key(starts, ends), lang, n=n)
        if pct < 0:
            best = change[-1]
            growth = text("size_cap_growth", lang, label=labels[best[1]],
                          pct=percent(best[0], lang, 1, sign=True)) if best[0] > 0 else ""
            cap = text("size_cap", lang, worst_label=labels[c], a=number(a, lang),
                       b=number(z, lang), pct=percent(pct, lang, 1, sign=True),
                       end=self.end, growth=growth, agree=agree).strip()
        else:
            cap = text("size_cap_none_fall", lang, label=labels[c],
                       pct=percent(pct, lang, 1, sign=True))
        table = stats.assign(size_class=[labels[c] if c >= 0 else text("size_total", lang)
                                         for c in stats["cls"]])
        table = table[["size_class", "year", "mean", "low", "high"]].round(0)
        return Figure("size", text("size_h", lang), image,
                      text("size_alt", lang, start=self.start, end=self.end, cap=cap), cap,
                      figures.csv_uri(table, lang), "population_by_size_class.csv",
                      note=text("size_note", lang, start=self.start))

    # ------------------------------------------------------------------ map
    def place_change(self) -> pd.DataFrame:
        """Mean start and end population per place and the change in percent."""
        b = self.base
        a = b[b["year"] == self.start].groupby("place_id")["population"].mean()
        z = b[b["year"] == self.end].groupby("place_id")["population"].mean()
        t = self.places[["place_id", "name", "municipality", "kind"]].copy()
        t["start"] = a.reindex(t["place_id"]).fillna(0).to_numpy()
        t["end"] = z.reindex(t["place_id"]).fillna(0).to_numpy()
        t["change_pct"] = np.where(t["start"] > 0,
                                   (t["end"] - t["start"]) / t["start"].clip(lower=1) * 100,
                                   0.0)
        return t

    def change_map(self) -> Figure:
        """Map of the relative change by place with municipality borders."""
        lang = self.lang
        t = self.place_change()
        image = figures.change_map(self.places, t["start"].to_numpy(),
                                   t["change_pct"].to_numpy(), self.start, self.end, lang)
        big = t[t["start"] >= 200]
        worst = big.loc[big["change_pct"].idxmin()] if len(big) else t.iloc[0]
        cap = text("map_cap", lang, down=number((t["end"] < t["start"]).sum(), lang),
                   up=number((t["end"] > t["start"]).sum(), lang), n=number(len(t), lang),
                   end=self.end, worst=f"{worst['name']} ({worst['municipality']})",
                   worst_pct=percent(worst["change_pct"] / 100, lang, 0, sign=True))
        out = t.rename(columns={"start": f"population_{self.start}",
                                "end": f"population_{self.end}"}).round(1)
        return Figure("map", text("map_h", lang), image,
                      text("map_alt", lang, start=self.start, end=self.end, cap=cap), cap,
                      figures.csv_uri(out, lang), "population_change_by_place.csv")

    # ------------------------------------------------------------------ service loss
    def service_loss(self) -> tuple[Figure, pd.DataFrame]:
        """Places that lose their last grocer, school or doctor: how many, which, when."""
        lang, b = self.lang, self.base
        years = np.array(sorted(b["year"].unique()))
        series, rows, ends = [], [], {}
        names = self.places.set_index("place_id")
        for j, kind in enumerate(LOSS_KINDS):
            wide = b.pivot_table(index=["seed", "place_id"], columns="year",
                                 values=f"{kind}_open", aggfunc="sum").reindex(columns=years)
            arr = wide.to_numpy()
            had = arr[:, 0] > 0
            zero = (arr == 0) & had[:, None]
            per_seed = pd.DataFrame(zero, index=wide.index, columns=years).groupby(
                level="seed").sum()
            long = per_seed.stack().rename("n").reset_index()
            s = over_seeds(long.rename(columns={"level_1": "year"}), ["year"], "n")
            series.append((SERVICE_LABELS[lang][kind], figures.OKABE_ITO[[0, 4, 5][j]], s))
            ends[kind] = number(s["mean"].iloc[-1], lang)
            lost = pd.DataFrame({"place_id": wide.index.get_level_values("place_id"),
                                 "had": had, "lost": zero[:, -1],
                                 "year": np.where(zero.any(axis=1),
                                                  years[np.argmax(zero, axis=1)], 0)})
            lost = lost[lost["had"]]
            g = lost.groupby("place_id")
            share = g["lost"].mean()
            when = lost[lost["lost"]].groupby("place_id")["year"].median()
            for pid in share[share >= 0.5].index:
                rows.append({"place_id": int(pid), "place": names.loc[pid, "name"],
                             "municipality": names.loc[pid, "municipality"],
                             "service": SERVICE_LABELS[lang][kind],
                             "year": int(np.round(when.get(pid, 0))),
                             "share_of_runs": float(share[pid])})
        image = figures.band_lines(series, text("loss_axis", lang, start=self.start), lang)
        cap = text("loss_cap", lang, end=self.end, **ends)
        table = pd.DataFrame(rows, columns=["place_id", "place", "municipality", "service",
                                            "year", "share_of_runs"])
        table = table.sort_values(["year", "place"]).reset_index(drop=True)
        data = pd.concat([s.assign(service=label) for label, _, s in series])
        fig = Figure("loss", text("loss_h", lang), image, text("loss_alt", lang, cap=cap), cap,
                     figures.csv_uri(data[["service", "year", "mean", "low", "high"]], lang),
                     "places_without_last_service.csv")
        shown = table.head(LOSS_ROWS_SHOWN)
        fig.table = [{"place_id": r.place_id, "place": r.place, "municipality": r.municipality,
                      "service": r.service, "year": r.year,
                      "share": percent(r.share_of_runs, lang, 0)} for r in shown.itertuples()]
        fig.table_caption = (text("loss_table_cap", lang, service=" / ".join(
            SERVICE_LABELS[lang][k] for k in LOSS_KINDS), k=number(len(table), lang),
            shown=number(len(shown), lang)) if len(table) else
            text("loss_none", lang, service=" / ".join(SERVICE_LABELS[lang][k]
                                                     for k in LOSS_KINDS)))
        return fig, table

    # ------------------------------------------------------------------ age structure
    def age_structure(self) -> Figure:
        """Shares of the age groups at the start and the end, region and rural places."""
        lang, b = self.lang, self.base
        panels, raw, caps = [], [], []
        for title, mask in ((text("age_panel_region", lang), np.ones(len(b), bool)),
                            (text("age_panel_rural", lang),
                             np.isin(b["cls"].to_numpy(), RURAL_CLASSES))):
            sub = b[mask & b["year"].isin([self.start, self.end]).to_numpy()]
            tot = sub.groupby(["seed", "year"])[list(AGES)].sum()
            share = tot.div(tot.sum(axis=1), axis=0)
            first = share.xs(self.start, level="year")
            last = share.xs(self.end, level="year")
            t = pd.DataFrame({"start": first.mean(), "end": last.mean(),
                              "end_low": last.min(), "end_high": last.max()})
            panels.append((title, t))
            raw.append(t.assign(area=title, age=[AGE_LABELS[lang][a] for a in AGES]))
            caps.append(t.loc["age_65_plus"])
        image = figures.age_structure(panels, [AGE_LABELS[lang][a] for a in AGES], self.start,
                                      self.end, lang)
        r, q = caps
        cap = text("age_cap", lang, a=percent(r["start"], lang, 0), b=percent(r["end"], lang, 0),
                   c=percent(q["start"], lang, 0), d=percent(q["end"], lang, 0),
                   lo=percent(q["end_low"], lang, 0), hi=percent(q["end_high"], lang, 0),
                   start=self.start, end=self.end)
        data = pd.concat(raw)[["area", "age", "start", "end", "end_low", "end_high"]].round(4)
        data = data.rename(columns={"start": f"share_{self.start}", "end": f"share_{self.end}",
                                    "end_low": f"lowest_run_{self.end}",
                                    "end_high": f"highest_run_{self.end}"})
        return Figure("age", text("age_h", lang, end=self.end), image,
                      text("age_alt", lang, start=self.start, end=self.end, cap=cap), cap,
                      figures.csv_uri(data, lang), "age_structure.csv")

    # ------------------------------------------------------------------ grocer distance
    def grocer_access(self, ref: Reference) -> Figure:
        """Share of inhabitants more than 5 km from a grocer, vs Statistics Denmark 2022."""
        lang, b = self.lang, self.base
        far = b.assign(far=b["population"] * (b["grocer_km"] > GROCER_KM))
        series, data = [], []
        for label, colour, mask in (
                (text("dist_region", lang), figures.OKABE_ITO[4], np.ones(len(b), bool)),
                (text("dist_rural", lang), figures.OKABE_ITO[5],
                 np.isin(b["cls"].to_numpy(), SMALL_CLASSES))):
            g = far[mask].groupby(["seed", "year"])[["far", "population"]].sum()
            share = (g["far"] / g["population"].clip(lower=1)).rename("share").reset_index()
            s = over_seeds(share, ["year"], "share")
            series.append((label, colour, s))
            data.append(s.assign(area=label))
        refs = [(ref.share_all, text("dist_ref_dk", lang, v=percent(ref.share_all, lang)),
                 figures.OKABE_ITO[4]),
                (ref.share_small, text("dist_ref_rural", lang,
                                       v=percent(ref.share_small, lang, 0)),
                 figures.OKABE_ITO[5])]
        image = figures.band_lines(series, text("dist_axis", lang), lang, refs, percent=True)
        s = series[0][2]
        cap = text("dist_cap", lang, start=self.start, end=self.end,
                   a=percent(s["mean"].iloc[0], lang), b=percent(s["mean"].iloc[-1], lang),
                   lo=percent(s["low"].iloc[-1], lang), hi=percent(s["high"].iloc[-1], lang),
                   dk=percent(ref.share_all, lang))
        table = pd.concat(data)[["area", "year", "mean", "low", "high"]].round(4)
        return Figure("grocer", text("dist_h", lang), image, text("dist_alt", lang,
                      start=self.start, end=self.end, cap=cap), cap,
                      figures.csv_uri(table, lang), "share_over_5km_from_grocer.csv")


register_figure("size_classes", 10)(Overview.size_classes)
register_figure("change_map", 20)(Overview.change_map)
register_figure("service_loss", 30)(lambda ov: ov.service_loss()[0])
register_figure("age_structure", 40)(Overview.age_structure)
register_figure("grocer_access", 50)(lambda ov: ov.grocer_access(grocer_reference()))
