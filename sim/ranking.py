"""Which initiatives give the most per krone in a village, and which its volunteers can carry.

:func:`rank` tries every initiative kind (or the kinds named) alone in the same places, a
village or a class of similar villages, from the same start year, and compares each with one
baseline over the same seeds (:func:`sim.compare.compare_many`: the baseline runs once per
seed). Each kind's comparison is a complete comparison folder, so ``landsim report`` reads
them together and shows the ranking as a section of the forum report.

:func:`ranking_table` orders the kinds by the difference per DKK million in an outcome
(residents of the targeted places in the last year by default; :data:`sim.costs.OUTCOMES`),
with the 95% interval over seeds, and says whether the villages' volunteers can carry the
kind:

- ``hours``: the volunteer hours a year the kind needs per place;
- ``capacity_start`` / ``capacity_end``: the targeted places' free volunteer hours (mean over
  places and seeds of the baseline arm's potential) in the start year and the last year;
- ``short_places``: share of the targeted places whose need exceeds what they can sustain in
  the last year (``sustainable_share x potential``, :class:`sim.community.CommunityRules`),
  over seeds;
- ``failed_volunteers``: share of the place-runs in which it failed for lack of volunteers;
- ``carry``: ``no`` if it failed for lack of volunteers in at least half of the place-runs or
  half of the places cannot sustain it by the last year, ``at_risk`` if either happens at
  all, else ``yes``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .community import CommunityRules
from .costs import OUTCOMES
from .infra import atomic_dir
from .initiatives import INITIATIVES
from .scenario import InitiativeSpec, Scenario, Target

log = logging.getLogger(__name__)

#: Columns of the ranking table.
COLUMNS = ["rank", "kind", "places", "cost_dkk", "per_million", "per_million_low",
           "per_million_high", "mean_diff", "ci_low", "ci_high", "hours", "capacity_start",
           "capacity_end", "short_places", "failed_volunteers", "carry", "outcome",
           "scenario"]


def candidates(target: Target, label: str, kinds: Iterable[str], start: int,
               end_year: int) -> list[Scenario]:
    """One scenario per kind: the kind alone, default settings, in ``target`` from ``start``.

    Raises:
        ValueError: A kind is not registered.
    """
    out = []
    for kind in kinds:
        if kind not in INITIATIVES:
            raise ValueError(f"unknown initiative kind {kind!r}; known: "
                             f"{', '.join(sorted(INITIATIVES))}")
        out.append(Scenario(
            name=f"rank-{kind}", description=f"{kind} alone in {label}, from {start}",
            years={"end": end_year},
            initiatives=[InitiativeSpec(kind=kind, start=start, target=target)]))
    return out


def rank(target: Target, label: str, kinds: Iterable[str], seeds: list[int], scale: float,
         out_dir: Path, name: str, start: int = 2027, end_year: int = 2050,
         baseline: Scenario | None = None, jobs: int = 1, by: str = "residents") -> Path:
    """Run one comparison per kind and write them and the ranking to ``out_dir/name``.

    Returns:
        The folder, holding ``compare-rank-<kind>/`` per kind and ``ranking.csv``.

    Raises:
        FileExistsError: The folder exists.
        ValueError: Unknown kind or outcome.
    """
    from .compare import compare_many

    if by not in OUTCOMES:
        raise ValueError(f"--by must be one of {', '.join(OUTCOMES)}, not {by!r}")
    folder = Path(out_dir) / name
    if folder.exists():
        raise FileExistsError(f"{folder} already exists; choose another --name or remove it")
    kinds = list(kinds)
    scenarios = candidates(target, label, kinds, start, end_year)
    baseline = baseline or Scenario(name="baseline", years={"end": end_year})
    with atomic_dir(folder) as tmp:
        where = {"label": label, "kinds": kinds, "like": target.similar_to, "k": target.k,
                 "places": list(target.places)}
        paths = compare_many(scenarios, baseline, seeds, scale, tmp, jobs,
                             extra={"ranking": where})
        table = ranking_table([ComparisonFolder(p) for p in paths], by)
        (tmp / "ranking.csv").write_text(table.to_csv(index=False), encoding="utf-8")
    return folder


class ComparisonFolder:
    """A comparison folder read lazily (the report's ``Comparison`` has the same interface)."""

    def __init__(self, path: Path) -> None:
        self.folder = Path(path)
        self.manifest = json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))
        self._tables: dict[str, pd.DataFrame] = {}

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name`` (file stem) of the folder."""
        if name not in self._tables:
            self._tables[name] = pd.read_parquet(self.folder / f"{name}.parquet")
        return self._tables[name]


def hours_needed(resolved: dict[str, Any]) -> float:
    """Volunteer hours a year per place the scenario's initiatives need (summed)."""
    total = 0.0
    for item in resolved.get("initiatives", []):
        cls = INITIATIVES[item["kind"]]
        total += cls.Settings.model_validate(item.get("settings") or {}).required_hours()
    return total


def carrying(comp: Any) -> dict[str, Any]:
    """Whether the targeted villages' volunteers can carry a comparison's initiatives."""
    m = comp.manifest
    resolved = m.get("resolved_scenario") or {}
    rules = CommunityRules.model_validate(resolved.get("community") or {})
    targeted = np.asarray(m.get("targeted_places", []), int)
    hours = hours_needed(resolved)
    starts = [int(i["start"]) for i in resolved.get("initiatives", [])]
    first = min(starts) if starts else None
    try:
        com = comp.table("community_year_seeds")
    except (FileNotFoundError, OSError):
        com = None
    cap_start = cap_end = short = np.nan
    if com is not None and len(targeted):
        base = com[(com["arm"] == "baseline") & com["place_id"].isin(targeted)]
        last = base["year"].max()
        if first is not None and (base["year"] == first).any():
            cap_start = float(base[base["year"] == first]["potential"].mean())
        end = base[base["year"] == last]
        cap_end = float(end["potential"].mean())
        short = float((hours > rules.sustainable_share() * end["potential"]).mean()) \
            if hours > 0 else 0.0
    ev = comp.table("initiative_events")
    started = int((ev["event"] == "started").sum())
    vol = ev[(ev["event"] == "failed") & ev["reason"].str.startswith("volunteer capacity")]
    failed = len(vol) / started if started else 0.0
    if hours <= 0:
        verdict = "yes"
    elif failed >= 0.5 or (np.isfinite(short) and short >= 0.5):
        verdict = "no"
    elif failed > 0 or (np.isfinite(short) and short > 0):
        verdict = "at_risk"
    else:
        verdict = "yes"
    return {"hours": hours, "capacity_start": cap_start, "capacity_end": cap_end,
            "short_places": short, "failed_volunteers": failed, "carry": verdict}


def ranking_table(comps: list[Any], by: str = "residents") -> pd.DataFrame:
    """The kinds ordered by the difference per DKK million in ``by`` (central costs).

    Args:
        comps: Comparison folders (objects with ``manifest`` and ``table(name)``).
        by: The outcome to rank by (:data:`sim.costs.OUTCOMES`).

    Returns:
        One row per comparison, :data:`COLUMNS`; the best first (by the mean per million;
        those without a cost last).
    """
    rows = []
    for comp in comps:
        m = comp.manifest
        eff = comp.table("effectiveness")
        e = eff[(eff["outcome"] == by) & (eff["cost_end"] == "central")].iloc[0]
        kinds = sorted({i["kind"] for i in (m.get("resolved_scenario") or {})
                        .get("initiatives", [])})
        rows.append({"kind": ", ".join(kinds), "places": len(m.get("targeted_places", [])),
                     "cost_dkk": e["cost_dkk"], "per_million": e["per_million"],
                     "per_million_low": e["per_million_low"],
                     "per_million_high": e["per_million_high"], "mean_diff": e["mean_diff"],
                     "ci_low": e["ci_low"], "ci_high": e["ci_high"], **carrying(comp),
                     "outcome": by, "scenario": m["scenario"]})
    t = pd.DataFrame(rows)
    if t.empty:
        return pd.DataFrame(columns=COLUMNS)
    t = t.sort_values(["per_million", "per_million_low"], ascending=False, na_position="last")
    t.insert(0, "rank", np.arange(1, len(t) + 1))
    return t[COLUMNS].reset_index(drop=True)


def format_table(t: pd.DataFrame) -> str:
    """The ranking as plain text for the terminal (English)."""
    unit = {"residents": "residents", "residents_region": "residents (region)",
            "grocer_person_years": "person-years near a grocer",
            "service_years": "service-years"}.get(str(t["outcome"].iloc[0]) if len(t) else "",
                                                  "")
    lines = [f"{'#':>2}  {'initiative':<17} {'cost (DKK m)':>12}  {unit + ' per DKK m':<34} "
             f"{'hours/yr':>8}  {'free hours':>10}  carry"]
    for r in t.itertuples():
        interval = (f"{r.per_million:+.1f} ({r.per_million_low:+.1f} to "
                    f"{r.per_million_high:+.1f})" if np.isfinite(r.per_million) else "no cost")
        cap = f"{r.capacity_end:,.0f}" if np.isfinite(r.capacity_end) else "-"
        lines.append(f"{r.rank:>2}  {r.kind:<17} {r.cost_dkk / 1e6:>12.2f}  {interval:<34} "
                     f"{r.hours:>8,.0f}  {cap:>10}  {r.carry}")
    return "\n".join(lines)
