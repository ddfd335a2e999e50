"""Part 2 of the report: each scenario against the baseline ("with vs without").

All verdicts come from the 95% intervals that ``landsim compare`` wrote (paired t-intervals
of the mean difference over seeds), through :func:`sim.report.captions.verdict_key`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import figures
from .captions import verdict, verdict_key
from .i18n import initiative_label, number, reason_key, text
from .inputs import Comparison
from .overview import Figure
from .value import Table, sensitivity_table, value_table

#: Colours by verdict (Okabe-Ito blue / vermillion, grey for "cannot tell").
VERDICT_COLOURS = {"clearly_more": "#0072B2", "clearly_fewer": "#D55E00",
                   "cannot_tell": "#8c8c8c", "no_difference": "#8c8c8c"}
#: Targeted places drawn in the dot chart (the largest differences; all are in the table).
DOTS_MAX = 30


@dataclass
class ScenarioSection:
    """Everything the page shows for one scenario."""

    index: int
    name: str
    description: str
    n_targeted: int
    figures: list[Figure] = field(default_factory=list)
    villages: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    failed_caption: str = ""
    failed_csv: str = ""
    value: Table | None = None
    sensitivity: Table | None = None


def _signed(x: float, lang: str) -> str:
    return number(x, lang, sign=True)


def failures(events: pd.DataFrame, places: pd.DataFrame, lang: str) -> tuple[pd.DataFrame, str]:
    """Initiatives that failed, per place and kind: in how many runs, when, why.

    Returns:
        The table (one row per place and kind that failed in at least one run) and the
        caption (counts over place-runs, the most common reason).
    """
    started = events[events["event"] == "started"]
    failed = events[events["event"] == "failed"]
    n_started = len(started)
    if failed.empty:
        return pd.DataFrame(), text("failed_none", lang, s=number(n_started, lang))
    names = places.set_index("place_id")
    keys = failed["reason"].map(reason_key)
    top = Counter(keys).most_common(1)[0][0]
    rows = []
    runs = started.groupby(["place_id", "kind"])["seed"].nunique()
    for (pid, kind), g in failed.assign(key=keys).groupby(["place_id", "kind"]):
        why = Counter(g["key"]).most_common(1)[0][0]
        rows.append({"place_id": int(pid), "place": names.loc[pid, "name"],
                     "municipality": names.loc[pid, "municipality"],
                     "initiative": initiative_label(kind, lang),
                     "failed_runs": int(g["seed"].nunique()),
                     "started_runs": int(runs.get((pid, kind), g["seed"].nunique())),
                     "median_year": int(np.median(g["year"])), "why": text(why, lang),
                     "detail": str(g["reason"].iloc[0])})
    table = pd.DataFrame(rows).sort_values(["failed_runs", "place"], ascending=[False, True])
    cap = text("failed_cap", lang, f=number(len(failed), lang), s=number(n_started, lang),
               reason=text(top, lang))
    return table.reset_index(drop=True), cap


def section(index: int, comp: Comparison, places: pd.DataFrame, lang: str,
            others: list[Comparison] | None = None) -> ScenarioSection:
    """The section of one scenario: totals, place by place, map, failures, costs.

    ``others`` are the report's other comparisons (varied magnitudes of this scenario are
    read from them).
    """
    m = comp.manifest
    targeted = comp.table("difference_targeted").sort_values("year")
    region = comp.table("difference_region").sort_values("year")
    services = comp.table("services_targeted").sort_values("year")
    tp = comp.table("targeted_places")
    desc = (m.get("resolved_scenario") or {}).get("description") or ""
    sec = ScenarioSection(index, comp.name, desc, len(m.get("targeted_places", tp)))
    last, rlast = targeted.iloc[-1], region.iloc[-1]
    year = int(last["year"])

    # totals: with vs without, difference, services
    cap = text("total_cap", lang, year=year, diff=_signed(last["mean_diff"], lang),
               lo=_signed(last["ci_low"], lang), hi=_signed(last["ci_high"], lang),
               n=int(last["n"]), verdict=verdict(last["mean_diff"], last["ci_low"],
                                                 last["ci_high"], lang),
               rdiff=_signed(rlast["mean_diff"], lang),
               rverdict=verdict(rlast["mean_diff"], rlast["ci_low"], rlast["ci_high"], lang))
    sv = services.iloc[-1]
    cap += " " + text("services_cap", lang, year=year,
                      s=number(sv["scenario_grocer_open"], lang, 1),
                      b=number(sv["baseline_grocer_open"], lang, 1))
    data = targeted.merge(region, on="year", suffixes=("_targeted", "_region")).merge(
        services, on="year")
    sec.figures.append(Figure(
        f"s{index}-total", text("total_h", lang), figures.initiative_total(
            targeted, region, services, lang), text("total_alt", lang, cap=cap), cap,
        figures.csv_uri(data.round(2), lang), f"{comp.name}_total.csv"))

    # place by place (last year)
    tp = tp.sort_values("mean_diff", ascending=False).reset_index(drop=True)
    keys = [verdict_key(r.mean_diff, r.ci_low, r.ci_high) for r in tp.itertuples()]
    count = Counter(keys)
    shown = tp.assign(v=keys)
    extra = ""
    if len(shown) > DOTS_MAX:
        shown = shown.reindex(shown["mean_diff"].abs().sort_values(ascending=False).index)
        shown = shown.head(DOTS_MAX).sort_values("mean_diff", ascending=False)
        extra = text("village_more", lang, k=DOTS_MAX)
    vcap = text("village_cap", lang, n=number(len(tp), lang),
                up=number(count["clearly_more"], lang), down=number(count["clearly_fewer"], lang),
                none=number(count["cannot_tell"] + count["no_difference"], lang), year=year,
                extra=extra)
    if len(tp):
        rows = shown.assign(label=[f"{r.name} ({r.municipality})" for r in shown.itertuples()])
        image = figures.village_dots(rows, [VERDICT_COLOURS[v] for v in rows["v"]], year, lang)
        sec.figures.append(Figure(
            f"s{index}-villages", text("village_h", lang), image,
            text("village_alt", lang, year=year, cap=vcap), vcap,
            figures.csv_uri(tp.round(2), lang), f"{comp.name}_targeted_places.csv"))
    sec.villages = [{"place_id": int(r.place_id), "place": r.name,
                     "municipality": r.municipality, "baseline": number(r.baseline, lang),
                     "scenario": number(r.scenario, lang),
                     "diff": _signed(r.mean_diff, lang),
                     "interval": f"{_signed(r.ci_low, lang)} … {_signed(r.ci_high, lang)}",
                     "verdict": text(k, lang), "verdict_key": k}
                    for r, k in zip(tp.itertuples(), keys, strict=True)]

    # map of the difference
    dp = comp.table("difference_place")
    dl = dp[dp["year"] == dp["year"].max()].set_index("place_id").reindex(places["place_id"])
    vk = [verdict_key(a, b, c) for a, b, c in
          zip(dl["mean_diff"].fillna(0), dl["ci_low"].fillna(0), dl["ci_high"].fillna(0),
              strict=True)]
    up, down = vk.count("clearly_more"), vk.count("clearly_fewer")
    where = ""
    if up:
        best = dl.assign(v=vk)[np.array(vk) == "clearly_more"]["mean_diff"].idxmax()
        where = text("dmap_where", lang, best=places.set_index("place_id").loc[best, "name"],
                     v=_signed(dl.loc[best, "mean_diff"], lang))
    mcap = text("dmap_cap", lang, year=year, up=number(up, lang), down=number(down, lang),
                where=where)
    compared = len(vk) - vk.count("no_difference")
    if compared >= 20:
        mcap += text("dmap_chance", lang, n=number(compared, lang),
                     k=number(0.05 * compared, lang))
    targeted_mask = dl["targeted"].fillna(False).to_numpy(bool)
    image = figures.difference_map(places, dl["mean_diff"].fillna(0).to_numpy(),
                                   targeted_mask, year, lang)
    out = places[["place_id", "name", "municipality"]].assign(
        targeted=targeted_mask, baseline=dl["baseline"].to_numpy(),
        scenario=dl["scenario"].to_numpy(), mean_diff=dl["mean_diff"].to_numpy(),
        ci_low=dl["ci_low"].to_numpy(), ci_high=dl["ci_high"].to_numpy(),
        verdict=[text(k, lang) for k in vk]).round(2)
    sec.figures.append(Figure(
        f"s{index}-map", text("dmap_h", lang), image, text("dmap_alt", lang, year=year,
                                                            cap=mcap), mcap,
        figures.csv_uri(out, lang), f"{comp.name}_difference_by_place.csv"))

    # failures
    table, sec.failed_caption = failures(comp.table("initiative_events"), places, lang)
    if len(table):
        sec.failed = [{**r, "runs": text("failed_runs", lang, k=r["failed_runs"],
                                         n=r["started_runs"])}
                      for r in table.to_dict("records")]
        sec.failed_csv = figures.csv_uri(table, lang)

    # costs, per million, and the assumed magnitudes
    sec.value = value_table(comp, lang)
    sec.sensitivity = sensitivity_table(comp, others or [], lang)
    return sec
