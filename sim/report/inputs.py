"""Find, check and load the comparison folders a report is made from (RESULTS).

RESULTS is one or more folders written by ``landsim compare``, or folders that contain such
folders (e.g. ``results/``). Every comparison holds the baseline and its scenario for the same
seeds; the report draws the region overview from the baseline of the first comparison, so all
comparisons must share one baseline (same resolved-baseline hash, seeds and scale). Anything
else is refused with one message naming the folder, the file or field, and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from .. import records
from ..infra import InputFileError, read_json

#: Files of a comparison folder the report reads, with the columns it needs.
REQUIRED: dict[str, tuple[str, ...]] = {
    "difference_place.parquet": ("year", "place_id", "targeted", "mean_diff", "ci_low",
                                 "ci_high", "n", "baseline", "scenario"),
    "difference_targeted.parquet": ("year", "mean_diff", "ci_low", "ci_high", "n", "baseline",
                                    "scenario"),
    "difference_region.parquet": ("year", "mean_diff", "ci_low", "ci_high", "n"),
    "targeted_places.parquet": ("place_id", "name", "municipality", "year", "mean_diff",
                                "ci_low", "ci_high", "n", "note"),
    "initiative_events.parquet": ("kind", "place_id", "year", "event", "reason", "seed"),
    "services_targeted.parquet": ("year", "baseline_grocer_open", "scenario_grocer_open"),
    "place_year_seeds.parquet": tuple(records.seed_columns()),
    "places.parquet": ("place_id", "name", "kind", "parish_name", "municipality", "lat", "lon",
                       "population", "estimated"),
    "similar_places.parquet": ("ref_place_id", "rank", "place_id", "note"),
}
#: Files of newer comparison folders that the report reads when present (costs, value per
#: krone, volunteers, varied magnitudes); without them those parts say so.
OPTIONAL: dict[str, tuple[str, ...]] = {
    "effectiveness.parquet": ("outcome", "cost_end", "mean_diff", "ci_low", "ci_high",
                              "cost_dkk", "per_million", "per_million_low",
                              "per_million_high", "n"),
    "costs_seeds.parquet": ("arm", "seed", "kind", "place_id", "cost_central"),
    "community_year_seeds.parquet": ("arm", "seed", "year", "place_id", "potential",
                                     "available", "used", "refused"),
    "magnitudes_seeds.parquet": ("seed", "name", "value"),
}
MANIFEST_FIELDS = ("scenario", "scenario_sha256", "baseline", "baseline_sha256", "seeds",
                   "scale")
#: Fields that must agree across comparisons (they share one baseline).
SHARED_FIELDS = ("baseline_sha256", "seeds", "scale")


class ReportError(ValueError):
    """RESULTS cannot make a report; the message says which folder or file and the fix."""


@dataclass
class Comparison:
    """One ``landsim compare`` folder: its manifest and tables (loaded on first use)."""

    folder: Path
    manifest: dict[str, Any]
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name`` (file stem, e.g. ``"difference_place"``)."""
        if name not in self._tables:
            self._tables[name] = pd.read_parquet(self.folder / f"{name}.parquet")
        return self._tables[name]

    def has(self, name: str) -> bool:
        """Whether the folder has the table ``name`` (optional tables, :data:`OPTIONAL`)."""
        return (self.folder / f"{name}.parquet").is_file()

    @property
    def name(self) -> str:
        """The scenario's name."""
        return str(self.manifest["scenario"])


_HOW = ("make one with `landsim compare SCENARIO --seeds 20` (it writes the baseline and the "
        "scenario over seeds)")


def _read_manifest(path: Path) -> dict[str, Any]:
    """A folder's manifest (read by :func:`sim.infra.read_json`).

    Raises:
        ReportError: Not a readable JSON object (the message names the file).
    """
    fix = "the folder looks damaged, rerun `landsim compare`"
    try:
        m = read_json(path, what="manifest", fix=fix)
    except InputFileError as e:
        raise ReportError(f"{path}: not a readable JSON manifest ({e.problem}); {e.fix}") \
            from None
    if not isinstance(m, dict):
        raise ReportError(f"{path}: not a JSON object; {fix}")
    return m


def _is_comparison(folder: Path) -> bool:
    p = folder / "manifest.json"
    if not p.is_file():
        return False
    return "baseline_sha256" in _read_manifest(p)


def find(paths: list[Path]) -> list[Path]:
    """The comparison folders named by ``paths`` (each a comparison or a folder of them).

    Raises:
        ReportError: A path is missing, is a single run, or holds no comparison.
    """
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise ReportError(f"RESULTS folder {path} does not exist; give a folder written "
                              f"by `landsim compare` (or one that contains such folders)")
        if not path.is_dir():
            what = "a file, not a folder" if path.is_file() else \
                "not a folder (a device, pipe or socket)"
            raise ReportError(f"RESULTS {path} is {what}; give a folder written by "
                              f"`landsim compare` (or one that contains such folders)")
        if _is_comparison(path):
            found.append(path)
            continue
        if (path / "manifest.json").is_file():
            raise ReportError(f"{path} holds a single run (`landsim run`, one seed); the report "
                              f"needs comparisons over seeds: {_HOW}")
        try:
            entries = list(path.iterdir())
        except OSError as e:
            raise ReportError(f"RESULTS {path}: cannot be read ({e.strerror}); check the "
                              f"folder's permissions") from None
        subs = sorted(p for p in entries
                      if p.is_dir() and not p.name.startswith(".") and _is_comparison(p))
        if not subs:
            raise ReportError(f"no comparison folder in {path} (none of its folders has a "
                              f"manifest.json written by `landsim compare`); {_HOW}")
        found.extend(subs)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique



def _check_columns(p: Path, cols: tuple[str, ...]) -> None:
    """Raise ReportError unless ``p`` is a readable Parquet file with the columns ``cols``."""
    try:
        have = set(pq.read_schema(p).names)
    except Exception as e:  # pyarrow raises several types for damaged files
        raise ReportError(f"{p}: not a readable Parquet file ({e}); rerun "
                          f"`landsim compare`") from None
    lacking = [c for c in cols if c not in have]
    if lacking:
        raise ReportError(f"{p}: column(s) {', '.join(lacking)} missing; rerun "
                          f"`landsim compare` with this version of landsim")

def check(folder: Path) -> Comparison:
    """Check one comparison folder's manifest and files; return it (tables not yet loaded).

    Raises:
        ReportError: A missing file, column or manifest field.
    """
    manifest = _read_manifest(folder / "manifest.json")
    for key in MANIFEST_FIELDS:
        if key not in manifest:
            raise ReportError(f"{folder / 'manifest.json'}: field '{key}' is missing; rerun "
                              f"`landsim compare` to write a complete folder")
    for name, cols in REQUIRED.items():
        p = folder / name
        if not p.is_file():
            raise ReportError(f"{folder}: file {name} is missing (comparisons made before the "
                              f"report existed lack it); rerun `landsim compare` for "
                              f"'{manifest['scenario']}'")
        _check_columns(p, cols)
    for name, cols in OPTIONAL.items():
        if (folder / name).is_file():
            _check_columns(folder / name, cols)
    return Comparison(folder, manifest)


def load(paths: list[Path]) -> list[Comparison]:
    """Find and check every comparison of RESULTS; they must share one baseline.

    Raises:
        ReportError: See :func:`find` and :func:`check`; also two comparisons with different
            baselines, seeds or scales, or the same scenario twice.
    """
    comps = [check(f) for f in find(paths)]
    first = comps[0]
    for c in comps[1:]:
        for key in SHARED_FIELDS:
            if c.manifest[key] != first.manifest[key]:
                raise ReportError(
                    f"{c.folder} and {first.folder} differ in '{key}' ({c.manifest[key]!r} vs "
                    f"{first.manifest[key]!r}); a report compares scenarios with one baseline: "
                    f"run `landsim compare` with the same baseline, --seeds, --first-seed and "
                    f"--scale, or make one report per baseline")
    names = [c.name for c in comps]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ReportError(f"scenario '{dup[0]}' appears in more than one RESULTS folder: "
                          + ", ".join(str(c.folder) for c in comps if c.name == dup[0])
                          + "; give each scenario once")
    return comps
