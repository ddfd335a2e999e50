"""Forum question 2: the villages' volunteers, where they run short, and how they age to 2050.

Two parts, both from ``community_year_seeds.parquet`` (:mod:`sim.compare`):

- a region figure (registered as ``volunteer_capacity``): the residents' free volunteer hours
  per inhabitant by settlement size, baseline, 2022 to the last year, with a table of the
  capacity by size against the survey figures it is built from (:mod:`sim.community`);
- a section per scenario with initiatives that need volunteers: the villages where the
  capacity is thin (the initiatives use more than the share a place can sustain) or
  exhausted (claims refused), which initiatives failed for lack of volunteers and where.

A place's capacity "binds" in a run when some claim there was refused; it binds in the
scenario when that happens in at least half of the runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..community import CommunityRules, national_share
from ..initiatives import InitiativeSettings
from . import figures
from .i18n import SIZE_CLASS_LABELS, add_strings, initiative_label, number, percent, text
from .inputs import Comparison
from .overview import Figure, Overview, over_seeds, register_figure

#: Size classes drawn (open countryside, under 500, 500-999, 1,000-1,999, 2,000-4,999).
CLASSES = (0, 1, 2, 3, 4)
#: Rows of the volunteer table shown on the page (all are in its CSV).
ROWS_SHOWN = 30

add_strings({
    "vol_h": {"da": "Frivillige timer i byer og landsbyer frem til {end}",
              "en": "Volunteer hours in towns and villages up to {end}"},
    "vol_axis": {"da": "frie frivillige timer pr. indbygger og år",
                 "en": "free volunteer hours per inhabitant and year"},
    "vol_cap": {"da": "Beboernes frie frivillige timer (dem der ikke allerede er bundet i "
                      "foreninger) i landsbyer under 1.000 indbyggere: {a} timer pr. "
                      "indbygger i {start}, {b} i {end} (i alt {ta} og {tb} timer; kørsler: "
                      "{lo} til {hi} timer pr. indbygger). Andelen af frie timer fra "
                      "beboere på 70 år og derover går fra {oa} til {ob}.",
                "en": "The residents' free volunteer hours (those not already bound in "
                      "associations) in villages under 1,000 inhabitants: {a} hours per "
                      "inhabitant in {start}, {b} in {end} (in total {ta} and {tb} hours; "
                      "runs: {lo} to {hi} hours per inhabitant). The share of the free "
                      "hours given by residents aged 70 and over goes from {oa} to {ob}."},
    "vol_note": {"da": "Timerne er beregnet ud fra beboernes alder med landsdækkende "
                       "undersøgelser: {share} af de 16-årige og ældre er frivillige, "
                       "{hours} timer om måneden i gennemsnit, to tredjedele af timerne "
                       "bundet i foreninger; i Vestjylland {west} gange så mange frivillige. "
                       "Nytilflyttere tæller halvt de første år.",
                 "en": "The hours come from the residents' ages and national surveys: {share} "
                       "of those aged 16 and over volunteer, {hours} hours a month on "
                       "average, two thirds of the hours bound in associations; in "
                       "Vestjylland {west} times as many volunteers. Newcomers count half in "
                       "their first years."},
    "vol_alt": {"da": "Linjediagram over frie frivillige timer pr. indbygger efter "
                      "bystørrelse, {start}-{end}. {cap}",
                "en": "Line chart of free volunteer hours per inhabitant by settlement size, "
                      "{start}-{end}. {cap}"},
    "vol_table_cap": {"da": "Kapacitet efter bystørrelse i {year} mod undersøgelsernes tal: "
                            "{survey} frie timer pr. voksen på landsplan ({west} i "
                            "Vestjylland).",
                      "en": "Capacity by settlement size in {year} against the survey "
                            "figures: {survey} free hours per adult nationally ({west} in "
                            "Vestjylland)."},
    "vol_col_class": {"da": "Bystørrelse", "en": "Settlement size"},
    "vol_col_places": {"da": "Steder", "en": "Places"},
    "vol_col_median": {"da": "Frie timer pr. sted (median)",
                       "en": "Free hours per place (median)"},
    "vol_col_per_inh": {"da": "Pr. indbygger", "en": "Per inhabitant"},
    "vol_col_per_adult": {"da": "Pr. voksen (18+)", "en": "Per adult (18+)"},
    "vol_col_change": {"da": "Ændring til {end}", "en": "Change to {end}"},
    "q2_h": {"da": "Frivillige: hvor slår kræfterne ikke til?",
             "en": "Volunteers: where do they run short?"},
    "q2_lead": {"da": "Initiativerne i en landsby trækker på de samme frivillige. Et sted er "
                      "»presset«, når initiativerne bruger mere end den andel af timerne, "
                      "stedet kan holde til år efter år ({sus}), og »udtømt«, når et "
                      "initiativ ikke kunne få sine timer. Et initiativ opgives efter "
                      "{fail} år i træk uden timer nok.",
                "en": "The initiatives of a village draw on the same volunteers. A place is "
                      "\"thin\" when its initiatives use more than the share of its hours it "
                      "can sustain year after year ({sus}), and \"exhausted\" when an "
                      "initiative could not get its hours. An initiative fails after {fail} "
                      "years in a row without enough hours."},
    "q2_scen": {"da": "{name}: {k} af {n} målrettede steder er udtømt i mindst halvdelen af "
                      "kørslerne{names}; {t} er pressede. {f} initiativer (sted og kørsel) "
                      "blev opgivet af mangel på frivillige. Initiativerne kræver {h} timer "
                      "om året pr. sted; stederne har {c} frie timer i {start} og {d} i {end} "
                      "(median).",
                "en": "{name}: {k} of {n} targeted places are exhausted in at least half of "
                      "the runs{names}; {t} are thin. {f} initiatives (place and run) failed "
                      "for lack of volunteers. The initiatives need {h} hours a year per "
                      "place; the places have {c} free hours in {start} and {d} in {end} "
                      "(median)."},
    "q2_none": {"da": "Ingen af scenarierne har initiativer, der kræver frivillige timer.",
                "en": "None of the scenarios has initiatives that need volunteer hours."},
    "q2_col_scenario": {"da": "Scenarie", "en": "Scenario"},
    "q2_col_exhausted": {"da": "Udtømt", "en": "Exhausted"},
    "q2_col_first": {"da": "Første år udtømt", "en": "First year exhausted"},
    "q2_col_peak": {"da": "Højeste andel brugt", "en": "Highest share used"},
    "q2_col_failed": {"da": "Opgivet af mangel på frivillige",
                      "en": "Failed for lack of volunteers"},
    "q2_table_cap": {"da": "Steder hvor de frivillige ikke slog til i mindst én kørsel ({k} "
                           "steder; de første {shown} vises, alle står i CSV-filen).",
                     "en": "Places where the volunteers ran short in at least one run ({k} "
                           "places; the first {shown} are shown, all are in the CSV file)."},
    "q2_table_none": {"da": "De frivillige slog til overalt i alle kørsler.",
                      "en": "The volunteers sufficed everywhere in every run."},
})


def _per_seed_capacity(com: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """Baseline potential with the residents at the start of each step (year - 1)."""
    pop = base[["seed", "year", "place_id", "population", "cls"]].assign(year=lambda d:
                                                                          d["year"] + 1)
    return com.merge(pop, on=["seed", "year", "place_id"], how="inner")


def capacity_figure(ov: Overview) -> Figure | None:
    """Free volunteer hours per inhabitant by settlement size, baseline, over the runs.

    None when the results have no volunteer hours (comparisons made before they were kept).
    """
    lang = ov.lang
    if ov.community is None:
        return None
    d = _per_seed_capacity(ov.community, ov.base)
    g = d.groupby(["seed", "year", "cls"])[["potential", "population"]].sum().reset_index()
    g["per"] = g["potential"] / g["population"].clip(lower=1)
    labels = SIZE_CLASS_LABELS[lang]
    series, data = [], []
    for j, c in enumerate(CLASSES):
        s = over_seeds(g[g["cls"] == c], ["year"], "per")
        if len(s):
            series.append((labels[c], figures.OKABE_ITO[[7, 0, 1, 2, 4][j]], s))
            data.append(s.assign(size_class=labels[c]))
    image = figures.band_lines(series, text("vol_axis", lang), lang)
    small = d[d["cls"].isin([1, 2])]
    sg = small.groupby(["seed", "year"])[["potential", "population"]].sum()
    sg["per"] = sg["potential"] / sg["population"].clip(lower=1)
    first, last = int(d["year"].min()), int(d["year"].max())
    a = sg.xs(first, level="year")
    z = sg.xs(last, level="year")
    rules = CommunityRules()
    cap = text("vol_cap", lang, start=first, end=last, a=number(a["per"].mean(), lang, 1),
               b=number(z["per"].mean(), lang, 1), ta=number(a["potential"].mean(), lang),
               tb=number(z["potential"].mean(), lang), lo=number(z["per"].min(), lang, 1),
               hi=number(z["per"].max(), lang, 1), oa=_old_share(d, first, lang),
               ob=_old_share(d, last, lang))
    note = text("vol_note", lang, share=percent(national_share(rules), lang, 0),
                hours=number(rules.hours_per_month, lang), west=number(rules.west_factor,
                                                                       lang, 2))
    fig = Figure("volunteers", text("vol_h", lang, end=last), image,
                 text("vol_alt", lang, start=first, end=last, cap=cap), cap,
                 figures.csv_uri(pd.concat(data)[["size_class", "year", "mean", "low",
                                                  "high"]].round(2), lang),
                 "volunteer_hours_by_size.csv", note=note)
    fig.columns, fig.rows = _capacity_table(ov, d, first, last, rules)
    fig.table_caption = text("vol_table_cap", lang, year=first,
                             survey=number(_survey_per_adult(rules), lang, 1),
                             west=number(_survey_per_adult(rules) * rules.west_factor, lang, 1))
    return fig


def _survey_per_adult(rules: CommunityRules) -> float:
    """Free hours per adult (16+) a year nationally by the survey figures and the rules."""
    return national_share(rules) * rules.hours_per_month * 12 * (1 - rules.bound_share) \
        * rules.local_share


def _old_share(d: pd.DataFrame, year: int, lang: str) -> str:
    """Share of the villages' (under 1,000) free hours given by residents aged 70+."""
    x = d[(d["year"] == year) & d["cls"].isin([1, 2])]
    if x.empty or "potential_70" not in x:
        return "–"
    return percent(x["potential_70"].sum() / max(x["potential"].sum(), 1e-9), lang, 0)


def _capacity_table(ov: Overview, d: pd.DataFrame, first: int, last: int,
                    rules: CommunityRules) -> tuple[list[str], list[list[str]]]:
    lang = ov.lang
    cols = [text("vol_col_class", lang), text("vol_col_places", lang),
            text("vol_col_median", lang), text("vol_col_per_inh", lang),
            text("vol_col_per_adult", lang), text("vol_col_change", lang, end=last)]
    b = ov.base.assign(year=ov.base["year"] + 1)
    adults = b.assign(adults=b["age_18_29"] + b["age_30_64"] + b["age_65_plus"])[
        ["seed", "year", "place_id", "adults"]]
    d = d.merge(adults, on=["seed", "year", "place_id"], how="left")
    rows = []
    for c in CLASSES:
        a = d[(d["cls"] == c) & (d["year"] == first)]
        z = d[(d["cls"] == c) & (d["year"] == last)]
        if a.empty:
            continue
        per_place = a.groupby("place_id")["potential"].mean()
        tot_a = a.groupby("seed")[["potential", "population", "adults"]].sum().mean()
        tot_z = z.groupby("seed")["potential"].sum().mean()
        rows.append([SIZE_CLASS_LABELS[lang][c], number(len(per_place), lang),
                     number(per_place.median(), lang),
                     number(tot_a["potential"] / max(tot_a["population"], 1), lang, 1),
                     number(tot_a["potential"] / max(tot_a["adults"], 1), lang, 1),
                     percent(tot_z / max(tot_a["potential"], 1e-9) - 1, lang, 0, sign=True)])
    return cols, rows


register_figure("volunteer_capacity", 60)(capacity_figure)


# --------------------------------------------------------------------------- question 2
@dataclass
class VolunteerSection:
    """What the page shows for forum question 2."""

    lead: str
    summaries: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    caption: str = ""
    csv: str = ""


def _needs_hours(comp: Comparison) -> float:
    from ..ranking import hours_needed

    return hours_needed(comp.manifest.get("resolved_scenario") or {})


def place_table(comp: Comparison, places: pd.DataFrame) -> pd.DataFrame:
    """Per targeted place of a scenario: runs exhausted, first year, peak use, failures."""
    com = comp.table("community_year_seeds")
    targeted = np.asarray(comp.manifest.get("targeted_places", []), int)
    s = com[(com["arm"] == "scenario") & com["place_id"].isin(targeted)]
    s = s.assign(use=s["used"] / s["available"].clip(lower=1e-9))
    g = s.groupby(["place_id", "seed"])
    per = pd.DataFrame({"exhausted": g["refused"].max() > 0, "peak": g["use"].max()})
    first = s[s["refused"] > 0].groupby(["place_id", "seed"])["year"].min()
    per["first"] = first.reindex(per.index)
    ev = comp.table("initiative_events")
    vol = ev[(ev["event"] == "failed") & ev["reason"].str.startswith("volunteer capacity")]
    fails = vol.groupby("place_id").apply(
        lambda x: sorted(set(x["kind"])), include_groups=False) if len(vol) else pd.Series(
        dtype=object)
    n_fail = vol.groupby("place_id").size() if len(vol) else pd.Series(dtype=int)
    names = places.set_index("place_id")
    out = per.groupby(level="place_id").agg(exhausted=("exhausted", "mean"),
                                            runs=("exhausted", "size"),
                                            peak=("peak", "median"), first=("first", "median"))
    out["failed"] = n_fail.reindex(out.index).fillna(0).astype(int)
    out["kinds"] = [fails.get(p, []) for p in out.index]
    out["place"] = names["name"].reindex(out.index).to_numpy()
    out["municipality"] = names["municipality"].reindex(out.index).to_numpy()
    return out.reset_index()


def section(comps: list[Comparison], places: pd.DataFrame, lang: str) -> VolunteerSection:
    """Forum question 2 over the scenarios of the report."""
    rules = CommunityRules()
    sec = VolunteerSection(text("q2_lead", lang, sus=percent(rules.sustainable_share(), lang,
                                                              0),
                                fail=InitiativeSettings().fail_years))
    rows = []
    for comp in comps:
        if not comp.has("community_year_seeds") or _needs_hours(comp) <= 0:
            continue
        if comp.manifest.get("ranking"):  # the ranking says whether volunteers carry them
            continue
        r = CommunityRules.model_validate((comp.manifest.get("resolved_scenario") or {})
                                          .get("community") or {})
        t = place_table(comp, places)
        hours = _needs_hours(comp)
        binds = t[t["exhausted"] >= 0.5]
        thin = int((t["peak"] >= r.sustainable_share()).sum())
        com = comp.table("community_year_seeds")
        tg = com[(com["arm"] == "scenario") & com["place_id"].isin(t["place_id"])]
        y0, y1 = int(tg["year"].min()), int(tg["year"].max())
        starts = [int(i["start"]) for i in comp.manifest["resolved_scenario"]["initiatives"]]
        y0 = max(y0, min(starts))
        c0 = tg[tg["year"] == y0].groupby("place_id")["potential"].mean().median()
        c1 = tg[tg["year"] == y1].groupby("place_id")["potential"].mean().median()
        names = "" if binds.empty else ": " + ", ".join(
            f"{p} ({m})" for p, m in zip(binds["place"], binds["municipality"], strict=True))
        sec.summaries.append(text(
            "q2_scen", lang, name=comp.name, k=number(len(binds), lang),
            n=number(len(t), lang), names=names, t=number(thin, lang),
            f=number(int(t["failed"].sum()), lang), h=number(hours, lang),
            c=number(c0, lang), d=number(c1, lang), start=y0, end=y1))
        for r_ in t[t["exhausted"] > 0].itertuples():
            rows.append({"place_id": int(r_.place_id), "place": r_.place,
                         "municipality": r_.municipality, "scenario": comp.name,
                         "exhausted": text("failed_runs", lang, k=round(r_.exhausted * r_.runs),
                                           n=r_.runs),
                         "first": "" if not np.isfinite(r_.first) else str(int(r_.first)),
                         "peak": percent(r_.peak, lang, 0),
                         "failed": ", ".join(initiative_label(k, lang) for k in r_.kinds)
                         + (f" ({r_.failed})" if r_.failed else ""),
                         "_order": -r_.exhausted})
    if not sec.summaries:
        sec.summaries.append(text("q2_none", lang))
    sec.columns = [text("col_place", lang), text("col_municipality", lang),
                   text("q2_col_scenario", lang), text("q2_col_exhausted", lang),
                   text("q2_col_first", lang), text("q2_col_peak", lang),
                   text("q2_col_failed", lang)]
    table = pd.DataFrame(rows)
    if len(table):
        table = table.sort_values(["_order", "place"]).drop(columns="_order")
        sec.rows = table.head(ROWS_SHOWN).to_dict("records")
        sec.caption = text("q2_table_cap", lang, k=number(len(table), lang),
                           shown=number(min(len(table), ROWS_SHOWN), lang))
        sec.csv = figures.csv_uri(table.drop(columns="place_id"), lang)
    else:
        sec.caption = text("q2_table_none", lang)
    return sec
