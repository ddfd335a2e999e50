"""Issue 13's measurements: volunteer capacity, the west package, cost-effectiveness, ranges.

Run from the repository root (long: about an hour at 20 seeds on two cores)::

    python experiments/villages_evidence.py --out results/villages --seeds 20 --scale 0.25 --jobs 2
    python experiments/villages_evidence.py --out results/villages --part summary

Parts (each resumes: a comparison folder that exists is kept):

1. ``capacity``: the residents' free volunteer hours at the start (2021 residents) by
   settlement size, against the survey figures they are built from (:mod:`sim.community`);
   ``ageing``: the free hours per inhabitant of villages under 1,000 in 2022 and 2050 over the
   ranges of the rules that decide how ageing counts (three baseline runs).
2. ``package``: ``scenarios/village_package_west.toml`` against the baseline, with the
   central community rules and with ``community.local_share`` at its low end, each also with
   unlimited capacity (``community.unlimited``): where capacity binds, the failures it
   causes, and the effect on 2050 against unlimited capacity (paired per seed).
3. ``ce``: eight initiative kinds alone in the villages of 300-1,000 inhabitants of Lemvig
   and Struer from 2027 (the ranking of ``landsim rank``), and each effect magnitude of six
   kinds at the low and the high end of its range.
4. ``summary``: the tables of the closing note, from the folders (written to
   ``OUT/summary.md``).

``landsim report OUT/package OUT/ce`` makes the forum report of all of it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.community import (
    AGE_STARTS,
    CommunityRules,
    free_hours,
    hours_by_age,
    national_share,
    west_mask,
)
from sim.compare import compare_many
from sim.initiatives.coop_grocer import HAZARD_REASON
from sim.model import RegionModel
from sim.places import SIZE_CLASSES, build_places, settlement_class
from sim.ranges import at_end, magnitudes, ranges_of
from sim.ranking import ComparisonFolder, candidates, ranking_table
from sim.scenario import Target, load, parameters

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "scenarios" / "village_package_west.toml"
BASELINE = ROOT / "scenarios" / "baseline.toml"
CLASS = Target(municipalities=["Lemvig", "Struer"], population=[300, 1000])
CLASS_LABEL = "villages of 300-1,000 inhabitants in Lemvig and Struer"
KINDS = ["coop_grocer", "car_sharing", "flex_transit", "community_house", "health_outreach",
         "nature_project", "remote_work_hub", "village_school"]
#: Effect magnitudes varied per kind (volunteer hours, fail years and a community house's
#: recruitment act only where the capacity binds, which the package part measures).
VARY = {"coop_grocer": ["threshold_factor", "closure_hazard"],
        "car_sharing": ["access_share", "members_per_car"],
        "flex_transit": ["service_level"],
        "community_house": ["community_gain"],
        "health_outreach": ["access_km"],
        "nature_project": ["nature_gain"]}


def t_interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval."""
    x = np.asarray(x, float)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


# --------------------------------------------------------------------------- 1 capacity
def capacity(scale: float, seeds: list[int]) -> pd.DataFrame:
    """Free hours at the start by settlement size (mean over seeds)."""
    places = build_places().places
    base = load(BASELINE, places)
    rules = CommunityRules()
    rows = []
    for seed in seeds[:5]:
        m = RegionModel(parameters(base).with_overrides(scale=scale, end_year=2022), seed=seed)
        west = west_mask(m.world.places["municipality"].to_numpy())
        hours = free_hours(m.pop, west, scale, rules)
        persons = m.pop.place_persons(m.world.n) / scale
        pp = m.pop.persons
        home = m.pop.households.place[pp.hh]
        adults = np.bincount(home, weights=(pp.age >= AGE_STARTS[0]), minlength=m.world.n) \
            / scale
        pop = m.world.places["population"].to_numpy(float)
        cls = settlement_class(pop, (m.world.places["kind"] == "countryside").to_numpy())
        rows.append(pd.DataFrame({"seed": seed, "place_id": np.arange(m.world.n), "cls": cls,
                                  "west": west, "hours": hours, "persons": persons,
                                  "adults": adults}))
    d = pd.concat(rows)
    g = d.groupby(["cls", "seed"]).agg(places=("place_id", "size"), hours=("hours", "sum"),
                                       persons=("persons", "sum"), adults=("adults", "sum"))
    per_place = d.groupby(["cls", "place_id"])["hours"].mean().groupby("cls").median()
    t = g.groupby("cls").mean()
    t["size_class"] = [SIZE_CLASSES[c] for c in t.index]
    t["median_hours_per_place"] = per_place.reindex(t.index)
    t["hours_per_inhabitant"] = t["hours"] / t["persons"]
    t["hours_per_adult_16"] = t["hours"] / t["adults"]
    survey = national_share(rules) * rules.hours_per_month * 12 * (1 - rules.bound_share)
    t["survey_per_adult_national"] = survey
    t["survey_per_adult_west"] = survey * rules.west_factor
    t["west_share_of_persons"] = d.groupby("cls").apply(
        lambda x: (x["persons"] * x["west"]).sum() / x["persons"].sum(), include_groups=False)
    h = hours_by_age(rules)
    print(f"survey shares weighted by Denmark's 16+ (2019): {national_share(rules):.3f}; hours a "
          f"year per volunteer by age band: {np.round(h, 1).tolist()} (mean "
          f"{rules.hours_per_month * 12:.0f} nationally)")
    return t.reset_index()[["size_class", "places", "median_hours_per_place",
                            "hours_per_inhabitant", "hours_per_adult_16",
                            "survey_per_adult_national", "survey_per_adult_west",
                            "west_share_of_persons"]]


def ageing(scale: float, seeds: list[int]) -> pd.DataFrame:
    """Free hours per inhabitant of villages under 1,000, 2022 and 2050, over rule ranges.

    Baseline runs; the rules varied are those that decide how ageing counts
    (``old_hours_ratio``, ``oldest_age``) and the level (``level``, ``hours_per_month``).
    """
    places = build_places().places
    base = load(BASELINE, places)
    variants = {"central": CommunityRules()}
    for field in ("old_hours_ratio", "oldest_age", "level", "hours_per_month"):
        for end in ("low", "high"):
            r = ranges_of(CommunityRules)[field]
            variants[f"{field}-{end}"] = CommunityRules(**{field: r.at(end)})
    rows = []
    for seed in seeds[:3]:
        m = RegionModel(parameters(base).with_overrides(scale=scale), seed=seed)
        pop0 = m.world.places["population"].to_numpy(float)
        village = ((m.world.places["kind"] == "town").to_numpy() & (pop0 < 1000))
        west = west_mask(m.world.places["municipality"].to_numpy())
        while m.year < m.params.end_year:
            if m.year + 1 in (2022, m.params.end_year):
                persons = (m.pop.place_persons(m.world.n) / scale)[village].sum()
                old = m.pop.persons.age >= 70
                home = m.pop.households.place[m.pop.persons.hh]
                share70 = float((old & village[home]).sum() / max(village[home].sum(), 1))
                for label, rules in variants.items():
                    h = free_hours(m.pop, west, scale, rules)[village].sum()
                    rows.append((seed, m.year + 1, label, h / persons, share70))
            m.step()
    d = pd.DataFrame(rows, columns=["seed", "year", "rules", "per_inhabitant", "share_70"])
    t = d.groupby(["rules", "year"])[["per_inhabitant", "share_70"]].mean().unstack("year")
    return t.round(3)


# --------------------------------------------------------------------------- 2 package
def package_scenarios(places: pd.DataFrame) -> list:
    """The package at central and low local share, each with and without limits."""
    pkg = load(PACKAGE, places)
    low, _ = at_end(pkg, ["community.local_share"], "low")
    out = []
    for sc, label in ((pkg, pkg.name), (low, f"{pkg.name}.local_share-low")):
        out.append(sc.model_copy(update={"name": label}))
        rules = (sc.community or CommunityRules()).model_copy(update={"unlimited": True})
        out.append(sc.model_copy(update={"name": f"{label}.unlimited", "community": rules}))
    return out


def _total(py: pd.DataFrame, year: int, places: np.ndarray | None) -> pd.Series:
    """Residents of the scenario arm in ``year`` per seed (of ``places``, or the region)."""
    x = py[(py["arm"] == "scenario") & (py["year"] == year)]
    if places is not None:
        x = x[x["place_id"].isin(places)]
    return x.groupby("seed")["population"].sum()


def package_summary(folder: Path) -> str:
    """Binding villages, failures and the effect on 2050 against unlimited capacity."""
    lines = []
    for label in ("village_package_west", "village_package_west.local_share-low"):
        lim = ComparisonFolder(folder / f"compare-{label}")
        unl = ComparisonFolder(folder / f"compare-{label}.unlimited")
        places = lim.table("places").set_index("place_id")
        tg = np.asarray(lim.manifest["targeted_places"], int)
        com = lim.table("community_year_seeds")
        s = com[(com["arm"] == "scenario") & com["place_id"].isin(tg)]
        runs = s.groupby(["place_id", "seed"])["refused"].max() > 0
        share = runs.groupby("place_id").mean()
        binds = share[share >= 0.5]
        ever = share[share > 0]
        ev = lim.table("initiative_events")
        vol = ev[(ev["event"] == "failed") & ev["reason"].str.startswith("volunteer")]
        started = int((ev["event"] == "started").sum())
        fails = vol.groupby(["kind"]).size().to_dict()
        py_l = lim.table("place_year_seeds")
        py_u = unl.table("place_year_seeds")
        last = py_l["year"].max()

        d_t = _total(py_l, last, tg) - _total(py_u, last, tg)
        d_r = _total(py_l, last, None) - _total(py_u, last, None)
        g_l = py_l[(py_l["arm"] == "scenario") & (py_l["year"] == last)
                   & py_l["place_id"].isin(tg)].groupby("seed")["grocer_open"].sum()
        g_u = py_u[(py_u["arm"] == "scenario") & (py_u["year"] == last)
                   & py_u["place_id"].isin(tg)].groupby("seed")["grocer_open"].sum()
        used = s.assign(u=s["used"] / s["available"].clip(lower=1e-9))
        need = used.groupby("place_id")["u"].median()
        cap = s[s["year"] == s["year"].min()].groupby("place_id")["potential"].mean()
        cap_end = s[s["year"] == last].groupby("place_id")["potential"].mean()
        lines.append(f"### {label}\n")
        lines.append(f"- targeted villages: {len(tg)}; free hours per village in "
                     f"{int(s['year'].min())}: "
                     + ", ".join(f"{places.loc[p, 'name']} {cap[p]:,.0f}" for p in cap.index)
                     + f"; in {last}: " + ", ".join(f"{places.loc[p, 'name']} {cap_end[p]:,.0f}"
                                                    for p in cap_end.index))
        lines.append("- median share of the available hours used: " + ", ".join(
            f"{places.loc[p, 'name']} {need[p]:.0%}" for p in need.index))
        bind_names = ", ".join(places.loc[binds.index, "name"]) or "none"
        ever_names = ", ".join(f"{places.loc[p, 'name']} {v:.0%}" for p, v in ever.items())
        lines.append(f"- capacity binds (claims refused) in >= half of the runs: {len(binds)} "
                     f"villages ({bind_names}); in at least one run: {len(ever)} "
                     f"({ever_names or 'none'})")
        lines.append(f"- failures for lack of volunteers: {len(vol)} of {started} place-runs "
                     f"started ({fails or 'none'})")
        m, lo, hi = t_interval(d_t.to_numpy())
        lines.append(f"- 2050 residents of the targeted villages, limited minus unlimited: "
                     f"{m:+.1f} (95% {lo:+.1f} to {hi:+.1f})")
        m, lo, hi = t_interval(d_r.to_numpy())
        lines.append(f"- 2050 residents of the region, limited minus unlimited: {m:+.1f} "
                     f"(95% {lo:+.1f} to {hi:+.1f})")
        m, lo, hi = t_interval((g_l - g_u).to_numpy())
        lines.append(f"- open grocers in the targeted villages in 2050, limited minus "
                     f"unlimited: {m:+.2f} (95% {lo:+.2f} to {hi:+.2f})\n")
    return "\n".join(lines)


def ageing_summary(folder: Path) -> str:
    """The baseline's free hours by settlement size from 2022 to the last year, and 70+."""
    c = ComparisonFolder(folder / "compare-village_package_west")
    com = c.table("community_year_seeds")
    com = com[com["arm"] == "baseline"]
    py = c.table("place_year_seeds")
    py = py[py["arm"] == "baseline"]
    start = py[py["year"] == py["year"].min()].groupby("place_id")["population"].mean()
    places = c.table("places").set_index("place_id")
    cls = pd.Series(settlement_class(start.reindex(places.index).fillna(0).to_numpy(),
                                     (places["kind"] == "countryside").to_numpy()),
                    index=places.index)
    pop = py.assign(year=py["year"] + 1)[["seed", "year", "place_id", "population"]]
    d = com.merge(pop, on=["seed", "year", "place_id"]).assign(cls=lambda x: cls.reindex(
        x["place_id"]).to_numpy())
    first, last = int(d["year"].min()), int(d["year"].max())
    lines = ["| size class (2021) | hours per inhabitant " + f"{first} | {last} | total hours "
             f"change | share from 70+ {first} | {last} |", "|---|---|---|---|---|---|"]
    for k in range(len(SIZE_CLASSES)):
        x = d[d["cls"] == k]
        if x.empty:
            continue
        g = x.groupby(["year", "seed"])[["potential", "potential_70", "population"]].sum()
        g = g.groupby("year").mean()
        a, z = g.loc[first], g.loc[last]
        lines.append(f"| {SIZE_CLASSES[k]} | {a['potential'] / a['population']:.1f} | "
                     f"{z['potential'] / z['population']:.1f} | "
                     f"{z['potential'] / a['potential'] - 1:+.0%} | "
                     f"{a['potential_70'] / a['potential']:.0%} | "
                     f"{z['potential_70'] / z['potential']:.0%} |")
    return "\n".join(lines)


#: Causes of a coop shop's failure, by how the event's reason begins.
CLOSURE_CAUSES = {"lack of customers": "turnover too low",
                  "closure hazard": HAZARD_REASON,
                  "volunteers short": "volunteer capacity ran out"}


def closures_by_cause(events: pd.DataFrame) -> dict[str, int]:
    """Failures of coop shops per cause (:data:`CLOSURE_CAUSES`) in an events table."""
    failed = events[events["event"] == "failed"]
    return {cause: int(failed["reason"].str.startswith(start).sum())
            for cause, start in CLOSURE_CAUSES.items()}


def survival_summary(folder: Path) -> str:
    """Closures of coop shops per shop-year in the ranking runs, by cause, against coop-04.

    The evidence (3 closures in about 350 shop-years, coop-04) counts closures of every
    cause; ``closure_hazard`` is set to it, so the model's rate of all causes is compared.
    """
    causes = list(CLOSURE_CAUSES)
    lines = ["| run | shop-years | " + " | ".join(f"closed: {c}" for c in causes)
             + " | all closures per shop-year | evidence |",
             "|---|---|" + "---|" * len(causes) + "---|---|"]
    for p in sorted(folder.glob("compare-rank-coop_grocer*")):
        c = ComparisonFolder(p)
        costs = c.table("costs_seeds")
        years = float(costs[costs["arm"] == "scenario"]["years"].sum())
        closed = closures_by_cause(c.table("initiative_events"))
        lines.append(f"| {p.name[len('compare-'):]} | {years:,.0f} | "
                     + " | ".join(str(closed[k]) for k in causes)
                     + f" | {sum(closed.values()) / max(years, 1):.2%} | "
                     "0.9% (0.4-1.7%) a year, coop-04 |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- 3 ce
def ce_scenarios() -> tuple[list, list[dict]]:
    """The kinds alone in the class, and each effect magnitude at its low and high end."""
    central = candidates(CLASS, CLASS_LABEL, KINDS, 2027, 2050)
    where = {"label": CLASS_LABEL, "label_da": "landsbyer med 300-1.000 indbyggere i Lemvig og "
             "Struer", "kinds": KINDS, "like": None, "k": None, "places": [],
             "target": CLASS.model_dump(mode="json")}
    scenarios, extras = list(central), [{"ranking": where} for _ in central]
    for sc in central:
        kind = sc.initiatives[0].kind
        for field in VARY.get(kind, []):
            name = f"{kind}.{field}"
            assert name in magnitudes(sc), name
            for end in ("low", "high"):
                v, values = at_end(sc, [name], end)
                scenarios.append(v)
                extras.append({"varied": {"of": sc.name, "at": end, "names": [name],
                                          "values": values}})
    return scenarios, extras


def ce_summary(folder: Path) -> str:
    """The cost-effectiveness table and its ranges."""
    comps = {p.name[len("compare-"):]: ComparisonFolder(p)
             for p in sorted(folder.glob("compare-*"))}
    central = [c for c in comps.values() if c.manifest.get("ranking")]
    lines = ["### Cost-effectiveness (central costs), " + CLASS_LABEL + "\n"]
    for by in ("residents", "residents_region", "grocer_person_years", "service_years"):
        t = ranking_table(central, by)
        lines.append(f"By {by} per DKK million:\n")
        lines.append("| rank | kind | cost DKK m | per DKK m (95%) | difference (95%) | hours | "
                     "free hours 2050 | carry |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for r in t.itertuples():
            lines.append(f"| {r.rank} | {r.kind} | {r.cost_dkk / 1e6:.2f} | "
                         f"{r.per_million:+.2f} ({r.per_million_low:+.2f} to "
                         f"{r.per_million_high:+.2f}) | {r.mean_diff:+.1f} ({r.ci_low:+.1f} to "
                         f"{r.ci_high:+.1f}) | {r.hours:.0f} | {r.capacity_end:,.0f} | "
                         f"{r.carry} |")
        lines.append("")
    lines.append("### Over the cost ranges (residents of the villages per DKK million)\n")
    lines.append("| kind | low costs | central | high costs |")
    lines.append("|---|---|---|---|")
    for c in central:
        e = c.table("effectiveness")
        e = e[e["outcome"] == "residents"].set_index("cost_end")
        lines.append(f"| {c.manifest['scenario'][5:]} | " + " | ".join(
            f"{e.loc[k, 'per_million']:+.2f} ({e.loc[k, 'per_million_low']:+.2f} to "
            f"{e.loc[k, 'per_million_high']:+.2f})" for k in ("low", "central", "high")) + " |")
    lines.append("\n### Over the effect magnitudes' ranges (residents of the villages in 2050)\n")
    lines.append("| magnitude | end | value | difference (95%) | per DKK m (95%) |")
    lines.append("|---|---|---|---|---|")
    for c in central:
        kind = c.manifest["scenario"][5:]
        rows = [(None, "central", c)] + [
            (v.manifest["varied"]["names"][0], v.manifest["varied"]["at"], v)
            for v in comps.values() if (v.manifest.get("varied") or {}).get("of")
            == c.manifest["scenario"]]
        for name, end, v in sorted(rows, key=lambda r: (r[0] or "", r[1])):
            e = v.table("effectiveness")
            e = e[(e["outcome"] == "residents") & (e["cost_end"] == "central")].iloc[0]
            value = "" if name is None else \
                f"{next(iter(v.manifest['varied']['values'].values())):g}"
            lines.append(f"| {name or kind} | {end} | {value} | {e['mean_diff']:+.1f} "
                         f"({e['ci_low']:+.1f} to {e['ci_high']:+.1f}) | "
                         f"{e['per_million']:+.2f} ({e['per_million_low']:+.2f} to "
                         f"{e['per_million_high']:+.2f}) |")
    return "\n".join(lines)


def _markdown(t: pd.DataFrame) -> str:
    cells = [[f"{v:,.1f}" if isinstance(v, float) else str(v) for v in row]
             for row in t.itertuples(index=False)]
    head = "| " + " | ".join(t.columns) + " |\n|" + "---|" * len(t.columns)
    return head + "\n" + "\n".join("| " + " | ".join(r) + " |" for r in cells)


def main(argv: list[str] | None = None) -> int:
    """Command line of the measurements."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/villages"))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--part", choices=("capacity", "ageing", "package", "ce", "summary", "all"),
                    default="all")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logging.getLogger("sim.compare").setLevel(logging.INFO)
    seeds = list(range(args.seeds))
    args.out.mkdir(parents=True, exist_ok=True)
    places = build_places().places
    baseline = load(BASELINE, places)
    if args.part in ("capacity", "all"):
        t = capacity(args.scale, seeds)
        t.to_csv(args.out / "capacity_by_size.csv", index=False)
        print(t.round(1).to_string(index=False))
    if args.part in ("ageing", "all"):
        t = ageing(args.scale, seeds)
        t.to_csv(args.out / "ageing_rules.csv")
        print(t.to_string())
    if args.part in ("package", "all"):
        compare_many(package_scenarios(places), baseline, seeds, args.scale,
                     args.out / "package", args.jobs, skip_existing=True)
    if args.part in ("ce", "all"):
        scenarios, extras = ce_scenarios()
        compare_many(scenarios, baseline, seeds, args.scale, args.out / "ce", args.jobs,
                     extras=extras, skip_existing=True)
    if args.part in ("summary", "all"):
        text = [f"# Issue 13 measurements ({args.seeds} seeds, scale {args.scale})\n",
                "## Capacity by settlement size (start)\n",
                _markdown(pd.read_csv(args.out / "capacity_by_size.csv"))
                if (args.out / "capacity_by_size.csv").exists() else "(not run)", "",
                "## The west package\n", package_summary(args.out / "package"), "",
                "## Free hours to the last year (baseline)\n",
                ageing_summary(args.out / "package"), "",
                "## Villages under 1,000: free hours per inhabitant over the rules' ranges\n",
                (args.out / "ageing_rules.csv").read_text(encoding="utf-8")
                if (args.out / "ageing_rules.csv").exists() else "(not run)", "",
                "## Coop shop survival\n", survival_summary(args.out / "ce"), "",
                "## Cost-effectiveness\n", ce_summary(args.out / "ce")]
        (args.out / "summary.md").write_text("\n".join(text) + "\n", encoding="utf-8")
        print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
