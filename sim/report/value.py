"""What each krone buys: costs, differences per DKK million, rankings and assumed ranges.

From ``effectiveness.parquet`` (:mod:`sim.compare`, :mod:`sim.costs`) of every comparison:

- per scenario, a table of the outcomes (residents of the targeted places and of the region in
  the last year, person-years with a grocer within 5 km, service-years) with the difference
  and the difference per DKK million, each with its 95% interval over seeds, and the per
  million at the low and high end of the cost ranges;
- per scenario, how the answer depends on an assumed magnitude, when the report also holds
  comparisons of the same scenario with that magnitude at the ends of its range (``landsim
  compare --vary NAME --at low|high``) or sampled from it (``--at sample``: the change of the
  difference over the range, from a regression over the seeds);
- a section "what each krone buys": every scenario ordered by residents per DKK million, and
  each ranking of ``landsim rank`` (kinds tried alone in the same villages) with whether the
  villages' volunteers can carry them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .. import costs as costs_mod
from ..ranking import ranking_table
from . import figures
from .captions import verdict_key
from .i18n import add_strings, initiative_label, number, text
from .inputs import Comparison

add_strings({
    "out_residents": {"da": "indbyggere i de målrettede steder ({year})",
                      "en": "residents of the targeted places ({year})"},
    "out_residents_region": {"da": "indbyggere i hele regionen ({year})",
                             "en": "residents of the whole region ({year})"},
    "out_grocer_person_years": {"da": "personår med dagligvarebutik inden for 5 km",
                                "en": "person-years with a grocer within 5 km"},
    "out_service_years": {"da": "år med åben butik, skole, læge eller apotek",
                          "en": "years of an open grocer, school, doctor or pharmacy"},
    "val_h": {"da": "Hvad koster det, og hvad får man for en million?",
              "en": "What does it cost, and what does a million buy?"},
    "val_cap": {"da": "Initiativerne koster {cost} mio. kr. ud over grundforløbet fra {start} "
                      "til {end} (95 %-interval {lo} til {hi}; med de lave og høje "
                      "omkostningsskøn {clo} til {chi} mio. kr.). Omkostningerne er start- og "
                      "årlige udgifter pr. sted, så længe initiativet kører, ikke "
                      "tilbagediskonteret.",
                "en": "The initiatives cost DKK {cost} million beyond the baseline from {start} "
                      "to {end} (95% interval {lo} to {hi}; with the low and high cost "
                      "estimates DKK {clo} to {chi} million). Costs are start and yearly costs "
                      "per place while the initiative runs, not discounted."},
    "val_nocost": {"da": "Scenariet har ingen omkostninger ud over grundforløbet.",
                   "en": "The scenario costs nothing beyond the baseline."},
    "val_missing": {"da": "Resultaterne har ingen omkostninger (lavet før landsim regnede "
                          "dem); kør `landsim compare` igen.",
                    "en": "The results have no costs (made before landsim computed them); "
                          "rerun `landsim compare`."},
    "val_col_outcome": {"da": "Udfald", "en": "Outcome"},
    "val_col_diff": {"da": "Forskel (95 %-interval)", "en": "Difference (95% interval)"},
    "val_col_pm": {"da": "Pr. mio. kr. (95 %-interval)", "en": "Per DKK million (95% interval)"},
    "val_col_pm_lo": {"da": "Pr. mio. kr., høje omkostninger",
                      "en": "Per DKK million, high costs"},
    "val_col_pm_hi": {"da": "Pr. mio. kr., lave omkostninger",
                      "en": "Per DKK million, low costs"},
    "sens_h": {"da": "Hvor meget afhænger svaret af antagelserne?",
               "en": "How much does the answer depend on the assumptions?"},
    "sens_cap": {"da": "Forskellen i indbyggere i de målrettede steder i {year} med hver antaget "
                       "størrelse sat til den lave eller høje ende af dens skøn (samme frø).",
                 "en": "The difference in residents of the targeted places in {year} with each "
                       "assumed magnitude set to the low or high end of its range (same "
                       "seeds)."},
    "sens_col_name": {"da": "Antagelse", "en": "Assumption"},
    "sens_col_at": {"da": "Ende", "en": "End"},
    "sens_col_value": {"da": "Værdi", "en": "Value"},
    "sens_col_verdict": {"da": "Vurdering", "en": "Verdict"},
    "sens_sample": {"da": "trukket", "en": "sampled"},
    "sens_sample_row": {"da": "ændring over skønnet {lo} til {hi}",
                        "en": "change over the range {lo} to {hi}"},
    "end_low": {"da": "lav", "en": "low"},
    "end_central": {"da": "central", "en": "central"},
    "end_high": {"da": "høj", "en": "high"},
    "value_h": {"da": "Hvad giver mest for pengene?", "en": "What gives most per krone?"},
    "value_lead": {"da": "Alle scenarier i rapporten, ordnet efter forskellen i indbyggere i "
                         "de målrettede steder pr. million kroner (centrale omkostninger). "
                         "Scenarier med forskellige målrettede steder kan ikke sammenlignes "
                         "direkte; rangordningerne nedenfor prøver initiativerne i de samme "
                         "landsbyer.",
                   "en": "Every scenario of the report, ordered by the difference in residents "
                         "of the targeted places per DKK million (central costs). Scenarios "
                         "that target different places cannot be compared directly; the "
                         "rankings below try the initiatives in the same villages."},
    "value_col_scenario": {"da": "Scenarie", "en": "Scenario"},
    "value_col_cost": {"da": "Omkostning, mio. kr.", "en": "Cost, DKK million"},
    "rank_h": {"da": "Rangordning: {label}", "en": "Ranking: {label}"},
    "rank_like": {"da": "de {k} landsbyer der ligner {name} mest",
                  "en": "the {k} villages most like {name}"},
    "rank_cap": {"da": "Hvert initiativ prøvet alene i {label} fra {start}, {n} kørsler med de "
                       "samme frø. Bedst pr. million: {best}. Frivillige timer: hvad "
                       "initiativet kræver om året pr. sted og hvad stederne har frit i {end} "
                       "(gennemsnit).",
                 "en": "Each initiative tried alone in {label} from {start}, {n} runs with the "
                       "same seeds. Best per million: {best}. Volunteer hours: what the "
                       "initiative needs a year per place and what the places have free in "
                       "{end} (mean)."},
    "rank_col_rank": {"da": "Nr.", "en": "No."},
    "rank_col_kind": {"da": "Initiativ", "en": "Initiative"},
    "rank_col_hours": {"da": "Timer/år", "en": "Hours/year"},
    "rank_col_free": {"da": "Frie timer {end}", "en": "Free hours {end}"},
    "rank_col_carry": {"da": "Kan de frivillige bære det?", "en": "Can the volunteers carry it?"},
    "carry_yes": {"da": "ja", "en": "yes"},
    "carry_at_risk": {"da": "usikkert", "en": "at risk"},
    "carry_no": {"da": "nej", "en": "no"},
    "pm_none": {"da": "ingen omkostning", "en": "no cost"},
})

OUTCOME_KEYS = tuple(costs_mod.OUTCOMES)


@dataclass
class Table:
    """A table for the page: caption, header cells, rows of cells, its CSV."""

    title: str
    caption: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    csv: str = ""
    csv_name: str = "table.csv"


def _iv(m: float, lo: float, hi: float, lang: str, digits: int = 1) -> str:
    if not np.isfinite(m):
        return text("pm_none", lang)
    return (f"{number(m, lang, digits, sign=True)} ({number(lo, lang, digits, sign=True)} … "
            f"{number(hi, lang, digits, sign=True)})")


def _outcome(key: str, lang: str, year: int) -> str:
    return text(f"out_{key}", lang, year=year)


def _end_year(comp: Comparison) -> int:
    return int((comp.manifest.get("resolved_scenario") or {}).get("years", {}).get("end", 2050))


def _start_year(comp: Comparison) -> int:
    starts = [int(i["start"]) for i in (comp.manifest.get("resolved_scenario") or {})
              .get("initiatives", [])]
    return min(starts) if starts else 2022


def value_table(comp: Comparison, lang: str) -> Table:
    """The scenario's costs and what each million buys."""
    title = text("val_h", lang)
    if not comp.has("effectiveness"):
        return Table(title, text("val_missing", lang))
    eff = comp.table("effectiveness")
    year = _end_year(comp)
    by = {end: eff[eff["cost_end"] == end].set_index("outcome") for end in ("low", "central",
                                                                              "high")}
    c = by["central"].iloc[0]
    if not c["cost_dkk"] > 0:
        cap = text("val_nocost", lang)
    else:
        cap = text("val_cap", lang, cost=number(c["cost_dkk"] / 1e6, lang, 2),
                   lo=number(c["cost_low"] / 1e6, lang, 2),
                   hi=number(c["cost_high"] / 1e6, lang, 2),
                   clo=number(by["low"].iloc[0]["cost_dkk"] / 1e6, lang, 2),
                   chi=number(by["high"].iloc[0]["cost_dkk"] / 1e6, lang, 2),
                   start=_start_year(comp), end=year)
    cols = [text("val_col_outcome", lang), text("val_col_diff", lang), text("val_col_pm", lang),
            text("val_col_pm_hi", lang), text("val_col_pm_lo", lang)]
    rows = []
    for key in OUTCOME_KEYS:
        e = by["central"].loc[key]
        lo, hi = by["low"].loc[key], by["high"].loc[key]
        digits = 0 if key in ("grocer_person_years",) else 1
        rows.append([_outcome(key, lang, year), _iv(e["mean_diff"], e["ci_low"], e["ci_high"],
                                                    lang, 0),
                     _iv(e["per_million"], e["per_million_low"], e["per_million_high"], lang,
                         digits),
                     _iv(lo["per_million"], lo["per_million_low"], lo["per_million_high"],
                         lang, digits),
                     _iv(hi["per_million"], hi["per_million_low"], hi["per_million_high"],
                         lang, digits)])
    return Table(title, cap, cols, rows, figures.csv_uri(eff.round(3), lang),
                 f"{comp.name}_effectiveness.csv")


def _per_seed_residents(comp: Comparison) -> pd.Series:
    """Difference in residents of the targeted places in the last year, per seed."""
    py = comp.table("place_year_seeds")
    last = py[py["year"] == py["year"].max()]
    tg = np.asarray(comp.manifest.get("targeted_places", []), int)
    g = last[last["place_id"].isin(tg)].groupby(["arm", "seed"])["population"].sum()
    return g["scenario"] - g["baseline"]


def sensitivity_table(comp: Comparison, others: list[Comparison], lang: str) -> Table | None:
    """How the scenario's difference depends on its assumed magnitudes (None: not tried)."""
    varied = [c for c in others if (c.manifest.get("varied") or {}).get("of") == comp.name]
    if not varied:
        return None
    tp_all = comp.table("difference_targeted")
    year = int(tp_all["year"].max())
    cols = [text("sens_col_name", lang), text("sens_col_at", lang), text("sens_col_value", lang),
            text("val_col_diff", lang), text("sens_col_verdict", lang), text("val_col_pm", lang)]
    rows = []

    def row(c: Comparison, name: str, at: str, value: str) -> list[str]:
        t = c.table("difference_targeted")
        e = t[t["year"] == t["year"].max()].iloc[0]
        pm = ""
        if c.has("effectiveness"):
            eff = c.table("effectiveness")
            r = eff[(eff["outcome"] == "residents") & (eff["cost_end"] == "central")].iloc[0]
            pm = _iv(r["per_million"], r["per_million_low"], r["per_million_high"], lang)
        return [name, at, value, _iv(e["mean_diff"], e["ci_low"], e["ci_high"], lang, 0),
                text(verdict_key(e["mean_diff"], e["ci_low"], e["ci_high"]), lang), pm]

    rows.append(row(comp, "–", text("end_central", lang), "–"))
    for c in sorted(varied, key=lambda c: (",".join(c.manifest["varied"]["names"]),
                                           c.manifest["varied"]["at"])):
        v = c.manifest["varied"]
        if v["at"] == "sample":
            if not c.has("magnitudes_seeds"):
                continue
            mags = c.table("magnitudes_seeds").pivot(index="seed", columns="name",
                                                     values="value")
            d = _per_seed_residents(c).reindex(mags.index)
            for name in mags.columns:
                x = mags[name].to_numpy(float)
                if len(x) < 3 or np.ptp(x) == 0:
                    continue
                fit = stats.linregress(x, d.to_numpy(float))
                span = float(x.max() - x.min())
                half = stats.t.ppf(0.975, len(x) - 2) * fit.stderr * span
                eff_ = fit.slope * span
                rows.append([name, text("sens_sample", lang),
                             text("sens_sample_row", lang, lo=number(x.min(), lang, 2),
                                  hi=number(x.max(), lang, 2)),
                             _iv(eff_, eff_ - half, eff_ + half, lang, 0),
                             text(verdict_key(eff_, eff_ - half, eff_ + half), lang), ""])
            continue
        values = ", ".join(number(val, lang, 2) for val in v.get("values", {}).values())
        rows.append(row(c, ", ".join(v["names"]), text(f"end_{v['at']}", lang), values))
    return Table(text("sens_h", lang), text("sens_cap", lang, year=year), cols, rows)


def overview_table(comps: list[Comparison], lang: str) -> Table:
    """Every (not varied) scenario ordered by residents of the targeted places per million."""
    rows, data = [], []
    for c in comps:
        if c.manifest.get("varied") or not c.has("effectiveness"):
            continue
        eff = c.table("effectiveness")
        e = eff[eff["cost_end"] == "central"].set_index("outcome")
        data.append((e.loc["residents", "per_million"], c, e))
    data.sort(key=lambda t: -t[0] if np.isfinite(t[0]) else np.inf)
    for _, c, e in data:
        rows.append([c.name, number(e.loc["residents", "cost_dkk"] / 1e6, lang, 2),
                     *[_iv(e.loc[k, "per_million"], e.loc[k, "per_million_low"],
                           e.loc[k, "per_million_high"], lang,
                           0 if k == "grocer_person_years" else 1) for k in OUTCOME_KEYS]])
    year = _end_year(comps[0]) if comps else 2050
    cols = [text("value_col_scenario", lang), text("value_col_cost", lang),
            *[f"{_outcome(k, lang, year)}: {text('val_col_pm', lang)}" for k in OUTCOME_KEYS]]
    return Table(text("value_h", lang), text("value_lead", lang), cols, rows)


def rankings(comps: list[Comparison], lang: str) -> list[Table]:
    """One table per ``landsim rank`` target in the results."""
    groups: dict[str, list[Comparison]] = {}
    labels: dict[str, str] = {}
    for c in comps:
        r = c.manifest.get("ranking")
        if r and c.has("effectiveness"):
            key = str(r.get("label", ""))
            groups.setdefault(key, []).append(c)
            labels[key] = (text("rank_like", lang, k=r["k"], name=r["like"]) if r.get("like")
                           else r.get(f"label_{lang}") or ", ".join(r.get("places") or [])
                           or key)
    out = []
    for key, group in groups.items():
        label = labels[key]
        t = ranking_table(group)
        end = _end_year(group[0])
        cols = [text("rank_col_rank", lang), text("rank_col_kind", lang),
                text("value_col_cost", lang),
                f"{_outcome('residents', lang, end)}: {text('val_col_pm', lang)}",
                text("val_col_diff", lang), text("rank_col_hours", lang),
                text("rank_col_free", lang, end=end), text("rank_col_carry", lang)]
        rows = []
        for r in t.itertuples():
            rows.append([str(r.rank), initiative_label(r.kind, lang),
                         number(r.cost_dkk / 1e6, lang, 2),
                         _iv(r.per_million, r.per_million_low, r.per_million_high, lang),
                         _iv(r.mean_diff, r.ci_low, r.ci_high, lang, 0),
                         number(r.hours, lang), number(r.capacity_end, lang),
                         text(f"carry_{r.carry}", lang)])
        best = initiative_label(t.iloc[0]["kind"], lang) if len(t) else "–"
        cap = text("rank_cap", lang, label=label, start=_start_year(group[0]),
                   n=len(group[0].manifest["seeds"]), best=best, end=end)
        out.append(Table(text("rank_h", lang, label=label), cap, cols, rows,
                         figures.csv_uri(t.round(3), lang), "ranking.csv"))
    return out
