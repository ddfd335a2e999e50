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
one village (scale 0.1, 5 seeds) leaves 1-10% (mean 7%) of the households more than 40 km
away in another place by 2035, against 58% before ids and draws were keyed by identity
(``benchmarks/crn_divergence.py``; docs/ODD.md section 7.12.7). Paired differences of totals
far from the targets therefore still carry noise; the intervals include it.

Besides the difference tables, a comparison folder keeps what the forum report
(:mod:`sim.report`) draws on: ``place_year_seeds.parquet`` (both arms, every seed, year and
place: population and age groups as full-scale estimates, open services, km to the nearest
grocer), ``places.parquet`` (names, kinds, municipalities, coordinates) and
``similar_places.parquet`` (the five most similar places of every place, start state).
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

from . import records
from .infra import atomic_dir
from .model import RegionModel
from .places import SIZE_CLASSES, settlement_class
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


@dataclass
class RunOutput:
    """What one run contributes to a comparison."""

    place_year: pd.DataFrame
    events: pd.DataFrame
    targeted: np.ndarray


def run_one(scenario: Scenario, seed: int, scale: float,
            threads: int | None = None) -> RunOutput:
    """Run one scenario for one seed (a pure, top-level function: safe for process pools).

    Returns the place columns that comparisons keep (:data:`SEED_COLUMNS` plus the movers),
    simulated counts divided by ``scale``.
    """
    params = parameters(scenario).with_overrides(scale=scale)
    m = RegionModel(params, seed=seed, scenario=scenario, threads=threads)
    m.run()
    keep = [*records.columns("place", "seeds"), "in_movers", "out_movers"]
    py = m.place_year()[keep].copy()
    for col in SCALED:
        py[col] = py[col] / scale
    ev = m.initiative_events().assign(seed=seed)
    places = [np.asarray(obj.places, int) for obj in m.interventions.initiatives]
    targeted = np.unique(np.concatenate(places)) if places else np.zeros(0, int)
    return RunOutput(py.assign(seed=seed), ev, targeted)


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


def compare(scenario: Scenario, baseline: Scenario, seeds: list[int], scale: float,
            out_dir: Path, name: str, jobs: int = 1) -> Path:
    """Run both arms for every seed and write the comparison to ``out_dir/name``."""
    final = Path(out_dir) / name
    hint = "choose another --name or remove it"
    if final.exists():
        raise FileExistsError(f"{final} already exists; {hint}")
    jobs = max(1, min(jobs, os.cpu_count() or 1))
    tasks = [(sc, s) for s in seeds for sc in (baseline, scenario)]
    if jobs == 1:
        results = [run_one(sc, s, scale) for sc, s in tasks]
    else:
        with ProcessPoolExecutor(jobs) as ex:
            results = list(ex.map(run_one, [t[0] for t in tasks], [t[1] for t in tasks],
                                  [scale] * len(tasks)))
    base = pd.concat([r.place_year for r in results[0::2]], ignore_index=True)
    scen = pd.concat([r.place_year for r in results[1::2]], ignore_index=True)
    events = pd.concat([r.events for r in results[1::2]], ignore_index=True)
    # the places the scenario runs actually targeted (union over seeds)
    targeted = np.unique(np.concatenate([r.targeted for r in results[1::2]]))
    probe = RegionModel(parameters(scenario).with_overrides(scale=scale, end_year=2022),
                        seed=seeds[0])
    places = probe.world.places
    tables = summarise(base, scen, places, targeted)
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
        places[PLACE_COLUMNS].to_parquet(tmp / "places.parquet", index=False)
        similar_places(probe).to_parquet(tmp / "similar_places.parquet", index=False)
        per_place = targeted_effects(tables["place"], targeted, scenario, probe)
        per_place.to_parquet(tmp / "targeted_places.parquet", index=False)
        per_place.to_csv(tmp / "targeted_places.csv", index=False)
        from .charts import comparison_charts
        comparison_charts(tables, places, tmp, scenario.name)
        import json

        from .results import git_commit, input_choices, versions
        from .scenario import digest
        (tmp / "manifest.json").write_text(json.dumps({
            "scenario": scenario.name, "scenario_sha256": digest(scenario),
            "baseline": baseline.name, "baseline_sha256": digest(baseline),
            "seeds": seeds, "scale": scale, "targeted_places": targeted.tolist(),
            "git_commit": git_commit(), "versions": versions(), **input_choices(),
            "resolved_scenario": scenario.model_dump(mode="json"),
            "resolved_baseline": baseline.model_dump(mode="json"),
        }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return final
