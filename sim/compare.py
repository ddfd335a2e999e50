"""Compare a scenario with a baseline over many seeds, with common random numbers.

For every seed the baseline and the scenario run with the same seed, so both draw from the
same named random streams (:mod:`sim.rng`); differences are paired per seed. Results per
place, parish, municipality, settlement size class (of the start year) and region, per year:
mean paired difference in population and its 95% t-interval over seeds, with the baseline
and scenario means. Initiatives that failed are listed with where, when and why.

Common random numbers are per entity: every draw about a person, household or service unit
is a fixed function of (seed, process, year, the entity's id)
(:meth:`sim.rng.Streams.keyed_uniform`), and ids are derived from stable keys (a newborn's
from its mother, an in-migrant's from the person it copies: :func:`sim.rng.derived_ids`), so
an entity that exists in both arms draws the same numbers in both. The arms still drift apart
through real interactions, most through the competition for vacancies (a household that loses
a dwelling to a newcomer chooses again, and the one it displaces in turn): one coop grocer in
one village (scale 0.1, 10 seeds) leaves 0-3.9% (mean 1.3%) of the households more than
40 km away in another place by 2035, against 58% before ids and draws were keyed by identity
(``benchmarks/crn_divergence.py``; docs/ODD.md section 7.12.7). Paired differences of totals
far from the targets therefore still carry noise; the intervals include it.

Besides the difference tables, a comparison folder keeps what the forum report
(:mod:`sim.report`) draws on: ``place_year_seeds.parquet`` (both arms, every seed, year and
place: population and age groups as full-scale estimates, open services, km to the nearest
grocer), ``places.parquet`` (names, kinds, municipalities, coordinates) and
``similar_places.parquet`` (the five most similar places of every place, start state).

What initiatives cost and what the volunteers gave (:mod:`sim.costs`, :mod:`sim.community`):
``costs_seeds.parquet`` (per arm, seed, initiative item and place: years active and the cost
at the low, central and high end of the kind's cost ranges), ``effectiveness.parquet`` (per
outcome and cost end: the difference, the extra cost and the difference per DKK million,
each with its 95% interval over seeds) and ``community_year_seeds.parquet`` (per arm, seed,
year and place: the residents' free volunteer hours, and where initiatives act the hours
available, used and refused).

``compare(..., vary=[...], at="low")`` runs the scenario with the named magnitudes at one end
of their plausible ranges (:mod:`sim.ranges`; ``at="sample"`` draws them per seed and writes
``magnitudes_seeds.parquet``); :func:`compare_many` runs several scenarios against one
baseline, running the baseline once per seed (``landsim rank``).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from . import costs as costs_mod
from . import records
from .community import CommunityRules, free_hours, west_mask
from .infra import atomic_dir
from .model import RegionModel
from .places import SIZE_CLASSES, settlement_class
from .ranges import ENDS, at_end, sampled
from .scenario import Scenario, parameters

log = logging.getLogger(__name__)

#: Columns of ``place_year_seeds.parquet`` (both arms, every seed; read by the report): the
#: place columns tagged ``seeds`` in :mod:`sim.records`, simulated counts as full-scale
#: estimates.
SEED_COLUMNS = records.seed_columns()
#: Of those, the simulated counts (converted to full-scale estimates, stored as float32).
SCALED = [c for c in records.columns("place", "seeds") if records.column("place", c).scaled]
#: Columns of the place table written as ``places.parquet``.
PLACE_COLUMNS = ["place_id", "name", "kind", "parish_name", "municipality", "lat", "lon",
                 "population", "estimated", "pop_source"]


#: Columns of ``community_year_seeds.parquet`` after ``arm`` and ``seed``.
COMMUNITY_COLUMNS = ["year", "place_id", "potential", "potential_70", "capacity", "available",
                     "used", "refused"]
#: Columns of ``costs_seeds.parquet`` after ``arm`` and ``seed``.
COST_COLUMNS = ["item", "name", "kind", "place_id", "started", "years", "resident_years",
                "cost_low", "cost_central", "cost_high"]


@dataclass
class RunOutput:
    """What one run contributes to a comparison.

    Attributes:
        place_year: The kept place columns, full-scale estimates.
        events: Initiative events.
        targeted: Places targeted by any initiative.
        community: Volunteer capacity per year and place (:data:`COMMUNITY_COLUMNS`).
        costs: Cost per initiative item and place (:data:`COST_COLUMNS`).
    """

    place_year: pd.DataFrame
    events: pd.DataFrame
    targeted: np.ndarray
    community: pd.DataFrame
    costs: pd.DataFrame


def _run_costs(m: RegionModel, py: pd.DataFrame) -> pd.DataFrame:
    """Cost of every initiative item per place at the three ends of its cost ranges."""
    frames = []
    pop = py[["year", "place_id", "population"]]
    for k, ini in enumerate(m.interventions.initiatives):
        u = costs_mod.cost_units(ini, pop, m.params.end_year)
        ranges = ini.cost_ranges()
        for end in ENDS:
            u[f"cost_{end}"] = costs_mod.priced(u, ranges.at(end)).to_numpy(float)
        frames.append(u.assign(item=k, name=ini.name, kind=ini.kind))
    if not frames:
        return pd.DataFrame(columns=COST_COLUMNS)
    return pd.concat(frames, ignore_index=True)[COST_COLUMNS]


def run_one(scenario: Scenario, seed: int, scale: float,
            threads: int | None = None) -> RunOutput:
    """Run one scenario for one seed (a pure, top-level function: safe for process pools).

    Returns the place columns that comparisons keep (:data:`SEED_COLUMNS` plus the movers),
    simulated counts divided by ``scale``, the events, the costs and the volunteer capacity.
    ``potential`` is the residents' free volunteer hours by the scenario's community rules
    (without recruitment), computed at the start of every step in both arms (``potential_70``:
    the part of residents aged 70 and over); ``capacity``,
    ``available``, ``used`` and ``refused`` are the pool the initiatives drew on (equal to
    the potential, and nothing used, where no initiative acts).
    """
    params = parameters(scenario).with_overrides(scale=scale)
    m = RegionModel(params, seed=seed, scenario=scenario, threads=threads)
    rules = scenario.community or CommunityRules()
    west = west_mask(m.world.places["municipality"].to_numpy())
    potential = []
    while m.year < params.end_year:
        potential.append((m.year + 1, free_hours(m.pop, west, scale, rules),
                          free_hours(m.pop, west, scale, rules, min_age=70)))
        m.step()
    keep = [*records.columns("place", "seeds"), "in_movers", "out_movers"]
    py = m.place_year()[keep].copy()
    for col in SCALED:
        py[col] = py[col] / scale
    ev = m.initiative_events().assign(seed=seed)
    places = [np.asarray(obj.places, int) for obj in m.interventions.initiatives]
    targeted = np.unique(np.concatenate(places)) if places else np.zeros(0, int)
    n = m.world.n
    com = pd.concat([pd.DataFrame({"year": y, "place_id": np.arange(n), "potential": cap,
                                   "potential_70": old}) for y, cap, old in potential],
                    ignore_index=True)
    pool = m.interventions.community_table()
    if len(pool):
        com = com.merge(pool[["year", "place_id", "capacity", "available", "used", "refused"]],
                        on=["year", "place_id"], how="left")
    for col in ("capacity", "available"):
        com[col] = com[col].fillna(com["potential"]) if col in com else com["potential"]
    for col in ("used", "refused"):
        com[col] = com[col].fillna(0.0) if col in com else 0.0
    return RunOutput(py.assign(seed=seed), ev, targeted,
                     com[COMMUNITY_COLUMNS].assign(seed=seed),
                     _run_costs(m, py).assign(seed=seed))


def similar_places(probe: RegionModel, k: int = 5) -> pd.DataFrame:
    """The ``k`` most similar places of every place (same kind) in the start state.

    The same ranking as :func:`sim.similar.rank_similar` (standardised features, Euclidean
    distance, same kind, stable order), computed for all places at once.

    Returns:
        ``ref_place_id``, ``rank``, ``place_id``, ``name``, ``municipality``, ``distance``
        and ``note`` (:func:`sim.similar.context_notes`), ``k`` rows per place.
    """
    from .similar import context_notes, features, standardise

    table = features(probe)
    z = standardise(table)
    dist = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=2))
    kind = table["kind"].to_numpy()
    dist = np.where(kind[:, None] == kind[None, :], dist, np.inf)
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    recs = table.to_dict("records")
    ids = table["place_id"].to_numpy()
    rows = []
    for i in range(len(table)):
        for rank, j in enumerate(order[i], start=1):
            if not np.isfinite(dist[i, j]):
                break
            rows.append((int(ids[i]), rank, int(ids[j]), recs[j]["name"],
                         recs[j]["municipality"], float(dist[i, j]),
                         context_notes(recs[i], recs[j])))
    return pd.DataFrame(rows, columns=["ref_place_id", "rank", "place_id", "name",
                                       "municipality", "distance", "note"])


def _interval(d: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    g = d.groupby(keys)
    out = g.agg(mean_diff=("diff", "mean"), sd=("diff", "std"), n=("diff", "size"),
                baseline=("baseline", "mean"), scenario=("scenario", "mean")).reset_index()
    half = stats.t.ppf(0.975, np.maximum(out["n"] - 1, 1)) * out["sd"].fillna(0) \
        / np.sqrt(out["n"])
    out["ci_low"] = out["mean_diff"] - half
    out["ci_high"] = out["mean_diff"] + half
    return out.drop(columns="sd")


def summarise(base: pd.DataFrame, scen: pd.DataFrame, places: pd.DataFrame,
              targeted: np.ndarray) -> dict[str, pd.DataFrame]:
    """Paired differences per level; ``base``/``scen`` have year, place_id, seed, population."""
    key = ["seed", "year", "place_id"]
    cols = [*key, "population"]
    d = base[cols].merge(scen[cols], on=key, suffixes=("_b", "_s"))
    d = d.rename(columns={"population_b": "baseline", "population_s": "scenario"})
    d["diff"] = d["scenario"] - d["baseline"]
    meta = places.set_index("place_id")
    start = base[base["year"] == base["year"].min()].groupby("place_id")["population"].mean()
    cls = settlement_class(start.reindex(meta.index).to_numpy(),
                           (meta["kind"] == "countryside").to_numpy())
    meta = meta.assign(size_class=np.array(SIZE_CLASSES)[cls],
                       targeted=np.isin(meta.index.to_numpy(), targeted))
    d = d.join(meta[["name", "parish_name", "municipality", "size_class", "targeted"]],
               on="place_id")
    out = {"place": _interval(d, ["year", "place_id", "name", "municipality", "targeted"])}
    for level, col in (("parish", "parish_name"), ("municipality", "municipality"),
                       ("size_class", "size_class")):
        agg = d.groupby(["seed", "year", col])[["baseline", "scenario", "diff"]].sum()
        out[level] = _interval(agg.reset_index(), ["year", col])
    for label, mask in (("targeted", d["targeted"]), ("region", np.ones(len(d), bool))):
        agg = d[mask].groupby(["seed", "year"])[["baseline", "scenario", "diff"]].sum()
        out[label] = _interval(agg.reset_index(), ["year"])
    return out


def services_difference(base: pd.DataFrame, scen: pd.DataFrame,
                        targeted: np.ndarray) -> pd.DataFrame:
    """Open grocers in the targeted places per year: baseline vs scenario (mean over seeds)."""
    cols = ["grocer_open", "school_open", "doctor_open", "pharmacy_open"]
    rows = []
    for label, df in (("baseline", base), ("scenario", scen)):
        t = df[df["place_id"].isin(targeted)].groupby(["seed", "year"])[cols].sum()
        rows.append(t.groupby("year").mean().add_prefix(f"{label}_"))
    return pd.concat(rows, axis=1).reset_index()


def targeted_effects(place_table: pd.DataFrame, targeted: np.ndarray, scenario: Scenario,
                     probe: RegionModel) -> pd.DataFrame:
    """Last-year effect in each targeted place, with its interval.

    For solutions copied from a place (``target.similar_to``) a plain-language note says where
    the context differs from the place the solution comes from.
    """
    last = place_table[(place_table["year"] == place_table["year"].max())
                       & place_table["place_id"].isin(targeted)].copy()
    last["note"] = ""
    for spec in scenario.initiatives:
        if spec.target.similar_to is None:
            continue
        from .similar import find_place, similar
        ref = find_place(probe.world.places, spec.target.similar_to)
        sim = similar(probe, ref, k=spec.target.k).set_index("place_id")
        notes = sim["note"].reindex(last["place_id"]).fillna("")
        label = f"like {sim['ref_name'].iloc[0]}: " if len(sim) else ""
        last["note"] = np.where(notes.to_numpy() != "", label + notes.to_numpy(),
                                last["note"].to_numpy())
    cols = ["place_id", "name", "municipality", "year", "baseline", "scenario", "mean_diff",
            "ci_low", "ci_high", "n", "note"]
    return last[cols].sort_values("mean_diff", ascending=False).reset_index(drop=True)


def _run_all(tasks: list[tuple[Scenario, int]], scale: float, jobs: int) -> list[RunOutput]:
    jobs = max(1, min(jobs, os.cpu_count() or 1, len(tasks)))
    if jobs == 1:
        return [run_one(sc, s, scale) for sc, s in tasks]
    with ProcessPoolExecutor(jobs) as ex:
        return list(ex.map(run_one, [t[0] for t in tasks], [t[1] for t in tasks],
                           [scale] * len(tasks)))


def first_start(scenario: Scenario) -> int:
    """First start year of the scenario's initiatives (the year after the base if none)."""
    starts = [spec.start for spec in scenario.initiatives]
    return min(starts) if starts else scenario.years.start + 1


def cost_per_seed(base_costs: pd.DataFrame, scen_costs: pd.DataFrame, seeds: list[int],
                  end: str = "central") -> pd.Series:
    """Extra cost of the scenario over the baseline per seed at one end of the cost ranges."""
    col = f"cost_{end}"
    s = scen_costs.groupby("seed")[col].sum().reindex(seeds, fill_value=0.0)
    b = base_costs.groupby("seed")[col].sum().reindex(seeds, fill_value=0.0)
    return (s - b).astype(float)


def effectiveness_table(base: pd.DataFrame, scen: pd.DataFrame, base_costs: pd.DataFrame,
                        scen_costs: pd.DataFrame, targeted: np.ndarray, first_year: int,
                        seeds: list[int]) -> pd.DataFrame:
    """:func:`sim.costs.effectiveness` at the low, central and high end of the costs."""
    ob = costs_mod.outcomes(base, targeted, first_year)
    os_ = costs_mod.outcomes(scen, targeted, first_year)
    return pd.concat([costs_mod.effectiveness(ob, os_, cost_per_seed(base_costs, scen_costs,
                                                                     seeds, end))
                      .assign(cost_end=end) for end in ENDS], ignore_index=True)


def _manifest(scenario: Scenario, baseline: Scenario, seeds: list[int], scale: float,
              targeted: np.ndarray, extra: dict) -> dict:
    from .results import git_commit, input_choices, versions
    from .scenario import digest

    return {"scenario": scenario.name, "scenario_sha256": digest(scenario),
            "baseline": baseline.name, "baseline_sha256": digest(baseline),
            "seeds": seeds, "scale": scale, "targeted_places": targeted.tolist(),
            "git_commit": git_commit(), "versions": versions(), **input_choices(),
            "resolved_scenario": scenario.model_dump(mode="json"),
            "resolved_baseline": baseline.model_dump(mode="json"), **extra}


def _write(final: Path, scenario: Scenario, baseline: Scenario, seeds: list[int],
           scale: float, base_runs: list[RunOutput], scen_runs: list[RunOutput],
           probe: RegionModel, extra: dict, magnitudes: pd.DataFrame | None = None) -> Path:
    """Write one comparison folder from the runs of both arms."""
    hint = "choose another --name or remove it"
    base = pd.concat([r.place_year for r in base_runs], ignore_index=True)
    scen = pd.concat([r.place_year for r in scen_runs], ignore_index=True)
    events = pd.concat([r.events for r in scen_runs], ignore_index=True)
    # the places the scenario runs actually targeted (union over seeds)
    targeted = np.unique(np.concatenate([r.targeted for r in scen_runs]))
    places = probe.world.places
    tables = summarise(base, scen, places, targeted)
    base_costs = pd.concat([r.costs for r in base_runs], ignore_index=True)
    scen_costs = pd.concat([r.costs for r in scen_runs], ignore_index=True)
    eff = effectiveness_table(base, scen, base_costs, scen_costs, targeted,
                              first_start(scenario), seeds)
    community = pd.concat([r.community.assign(arm=arm) for arm, runs in
                           (("baseline", base_runs), ("scenario", scen_runs)) for r in runs],
                          ignore_index=True)
    cost_table = pd.concat([base_costs.assign(arm="baseline"),
                            scen_costs.assign(arm="scenario")], ignore_index=True)
    with atomic_dir(final, exists_hint=hint) as tmp:
        for level, t in tables.items():
            t.to_parquet(tmp / f"difference_{level}.parquet", index=False)
        tables["targeted"].to_csv(tmp / "difference_targeted.csv", index=False)
        services_difference(base, scen, targeted).to_parquet(tmp / "services_targeted.parquet",
                                                             index=False)
        events.to_parquet(tmp / "initiative_events.parquet", index=False)
        seeds_table = pd.concat([base.assign(arm="baseline"), scen.assign(arm="scenario")],
                                ignore_index=True)[SEED_COLUMNS]
        seeds_table.astype({"seed": "int32", "year": "int16", "place_id": "int32",
                            **dict.fromkeys(SCALED, "float32")}).to_parquet(
            tmp / "place_year_seeds.parquet", index=False)
        community[["arm", "seed", *COMMUNITY_COLUMNS]].astype(
            {"seed": "int32", "year": "int16", "place_id": "int32",
             **dict.fromkeys(COMMUNITY_COLUMNS[2:], "float32")}).to_parquet(
            tmp / "community_year_seeds.parquet", index=False)
        cost_table[["arm", "seed", *COST_COLUMNS]].to_parquet(tmp / "costs_seeds.parquet",
                                                             index=False)
        eff.to_parquet(tmp / "effectiveness.parquet", index=False)
        eff.to_csv(tmp / "effectiveness.csv", index=False)
        if magnitudes is not None:
            magnitudes.to_parquet(tmp / "magnitudes_seeds.parquet", index=False)
        places[PLACE_COLUMNS].to_parquet(tmp / "places.parquet", index=False)
        similar_places(probe).to_parquet(tmp / "similar_places.parquet", index=False)
        per_place = targeted_effects(tables["place"], targeted, scenario, probe)
        per_place.to_parquet(tmp / "targeted_places.parquet", index=False)
        per_place.to_csv(tmp / "targeted_places.csv", index=False)
        from .charts import comparison_charts
        comparison_charts(tables, places, tmp, scenario.name)
        import json

        (tmp / "manifest.json").write_text(json.dumps(
            _manifest(scenario, baseline, seeds, scale, targeted, extra), indent=2,
            ensure_ascii=False) + "\n", encoding="utf-8")
    return final


def _probe(scenario: Scenario, scale: float, seed: int) -> RegionModel:
    return RegionModel(parameters(scenario).with_overrides(scale=scale, end_year=2022),
                       seed=seed)


def compare(scenario: Scenario, baseline: Scenario, seeds: list[int], scale: float,
            out_dir: Path, name: str, jobs: int = 1, vary: list[str] | None = None,
            at: str | None = None) -> Path:
    """Run both arms for every seed and write the comparison to ``out_dir/name``.

    Args:
        scenario: The scenario.
        baseline: The baseline.
        seeds: Seeds (both arms run each).
        scale: Share of households simulated.
        out_dir: Folder of the comparison folder.
        name: Name of the comparison folder.
        jobs: Parallel processes.
        vary: Magnitudes of the scenario to set (``kind.setting``, ``community.name`` or
            ``all``; :mod:`sim.ranges`); needs ``at``.
        at: ``low``, ``central`` or ``high``: the named magnitudes at that end of their
            ranges (the scenario is renamed ``<name>.<magnitude>-<end>``); ``sample``: drawn
            uniformly per seed.

    Raises:
        FileExistsError: ``out_dir/name`` exists.
        ValueError: ``vary`` names a magnitude the scenario does not have, or ``at`` is
            unknown.
    """
    final = Path(out_dir) / name
    if final.exists():
        raise FileExistsError(f"{final} already exists; choose another --name or remove it")
    extra: dict = {}
    magnitudes = None
    per_seed = {s: scenario for s in seeds}
    if vary:
        if at not in (*ENDS, "sample"):
            raise ValueError(f"--at must be low, central, high or sample, not {at!r}")
        if at == "sample":
            drawn = {s: sampled(scenario, vary, s) for s in seeds}
            per_seed = {s: sc for s, (sc, _) in drawn.items()}
            magnitudes = pd.DataFrame([(s, k, v) for s, (_, vals) in drawn.items()
                                       for k, v in vals.items()],
                                      columns=["seed", "name", "value"])
            extra["varied"] = {"of": scenario.name, "at": "sample",
                               "names": sorted(magnitudes["name"].unique().tolist())}
            scenario = scenario.model_copy(update={"name": f"{scenario.name}.sample"})
        else:
            of = scenario.name
            scenario, values = at_end(scenario, vary, at)
            per_seed = {s: scenario for s in seeds}
            extra["varied"] = {"of": of, "at": at, "names": sorted(values), "values": values}
    tasks = [(sc, s) for s in seeds for sc in (baseline, per_seed[s])]
    results = _run_all(tasks, scale, jobs)
    return _write(final, scenario, baseline, seeds, scale, results[0::2], results[1::2],
                  _probe(scenario, scale, seeds[0]), extra, magnitudes)


def compare_many(scenarios: list[Scenario], baseline: Scenario, seeds: list[int], scale: float,
                 out_dir: Path, jobs: int = 1, extra: dict | None = None,
                 extras: list[dict] | None = None, skip_existing: bool = False) -> list[Path]:
    """Compare several scenarios with one baseline; the baseline runs once per seed.

    Writes ``out_dir/compare-<scenario>`` for every scenario (each a complete comparison
    folder, so the report reads them together) and returns the folders. The scenarios run
    one after the other (each over all seeds), so only the baseline's runs are kept in
    memory throughout.

    Args:
        scenarios: The scenarios.
        baseline: The baseline they share.
        seeds: Seeds.
        scale: Share of households simulated.
        out_dir: Folder of the comparison folders.
        jobs: Parallel processes.
        extra: Manifest fields of every comparison.
        extras: Manifest fields per scenario (same order), added to ``extra``.
        skip_existing: Leave a comparison folder that exists already (resume a long run);
            otherwise an existing folder is an error.

    Raises:
        FileExistsError: A folder exists already (without ``skip_existing``).
    """
    finals = [Path(out_dir) / f"compare-{sc.name}" for sc in scenarios]
    if not skip_existing:
        for f in finals:
            if f.exists():
                raise FileExistsError(f"{f} already exists; choose another --name or remove it")
    todo = [k for k, f in enumerate(finals) if not f.exists()]
    if not todo:
        return finals
    base_runs = _run_all([(baseline, s) for s in seeds], scale, jobs)
    probe = _probe(baseline, scale, seeds[0])
    for k in todo:
        runs = _run_all([(scenarios[k], s) for s in seeds], scale, jobs)
        more = {**(extra or {}), **((extras or [{}] * len(scenarios))[k])}
        _write(finals[k], scenarios[k], baseline, seeds, scale, base_runs, runs, probe, more)
        log.info("compare: %s written", finals[k])
    return finals
