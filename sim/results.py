"""Write a run's results: Parquet tables, charts, CSV download and a provenance manifest.

Results are written into a temporary folder next to the destination and moved into place
only when everything is written, so a crashed or interrupted run never leaves a folder that
looks complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import data
from .checks import forum_figures, municipal_change
from .infra import atomic_dir
from .migration_rates import BAND_LABELS
from .model import RegionModel
from .params import calibration_info
from .places import SIZE_CLASSES

log = logging.getLogger(__name__)

PACKAGES = ("numpy", "pandas", "mesa", "pyarrow", "pydantic", "scipy", "shapely", "pyproj",
            "matplotlib")


def git_commit() -> str:
    """Commit of the working tree the code runs from ("unknown" outside git)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5, check=False)
        commit = out.stdout.strip()
        if out.returncode != 0 or not commit:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=False,
                               cwd=Path(__file__).resolve().parent).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def versions() -> dict[str, str]:
    """Versions of Python, landsim and the main libraries."""
    out = {"python": platform.python_version()}
    for name in ("landsim", *PACKAGES):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def input_choices() -> dict[str, Any]:
    """Which data folder and calibrated file a run reads, and how each was chosen.

    ``chosen_by`` is ``package`` (the shipped copy), the environment variable or the
    command-line option (see :mod:`sim.shipped`).
    """
    return {"data_folder": data.data_source().record(), "calibration_file": calibration_info()}


def data_fingerprint() -> dict[str, str]:
    """SHA-256 of every shipped data file the model reads."""
    out = {}
    for name in sorted(set(data.FILES.values())):
        p = data.data_dir() / name
        out[name] = hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "missing"
    return out


def places_table(model: RegionModel) -> pd.DataFrame:
    """Static attributes of every place (for joining with place_year)."""
    cols = ["place_id", "name", "kind", "parish_code", "parish_name", "municipality_code",
            "municipality", "lat", "lon", "x", "y", "population", "estimated", "pop_source",
            "hamlets"]
    t = model.world.places[cols].rename(columns={"population": "population_2021_data"})
    t = t.assign(nature=model.world.nature, community=model.world.community,
                 bus_level=model.world.bus_level, jobs=model.jobs.per_place,
                 jobs_30min_car=model.access.car30, jobs_45min_bus=model.access.bus45)
    return t


def manifest(model: RegionModel, run_name: str, extra: dict[str, Any] | None = None,
             ) -> dict[str, Any]:
    """Provenance of a run: parameters and hash, seed, commit, versions, data, checks."""
    p = model.params
    initial = model.records.first_place["population"].to_numpy() / p.scale
    return {
        "run_name": run_name,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": model.seed_value,
        "scenario": None if model.scenario is None else {
            "name": model.scenario.name, "sha256": _scenario_digest(model.scenario),
            "resolved": model.scenario.model_dump(mode="json")},
        "parameters_sha256": p.digest(),
        "parameters": p.resolved(),
        **input_choices(),
        "git_commit": git_commit(),
        "versions": versions(),
        "data_sha256": data_fingerprint(),
        "places": int(model.world.n),
        "derived": {
            "town_share_of_parish_remainder": model.world.town_share_of_remainder,
            "countryside_share_target": model.world.countryside_share_target,
            "commute_decay_per_km": model.jobs.commute_decay,
            "border_migration": {
                "flow_years": list(model.border.years),
                "net_rate_by_band": dict(zip(BAND_LABELS, model.border.net_rate.round(6).tolist(),
                                             strict=True)),
                "out_scale": model.border.out_scale},
        },
        "initial_state": {
            "data": forum_figures(model.world.places),
            "simulated_full_scale": forum_figures(model.world.places, initial),
        },
        "municipal_change_2021_2023": _municipal_summary(model),
        "size_classes": list(SIZE_CLASSES),
        "timings_seconds": {k: round(v, 3) for k, v in model.timings.items()},
        "note": "Counts in place_year/region_year are simulated agents; divide by "
                "parameters.scale for full-scale estimates.",
        **(extra or {}),
    }


def _scenario_digest(sc) -> str:
    from .scenario import digest
    return digest(sc)


def _municipal_summary(model: RegionModel) -> dict[str, Any]:
    """Simulated vs observed municipal change 2021-2023 (if the run covers 2023)."""
    t = municipal_change(model.place_year(), model.world.places, model.params.scale)
    if t.empty:
        return {"note": "run does not reach 2023"}
    return {
        "mean_absolute_error_pp": round(float(t["error_pp"].abs().mean()), 3),
        "sign_agreement": int((np.sign(t["observed_change_pct"])
                               == np.sign(t["simulated_change_pct"])).sum()),
        "municipalities": len(t),
        "rows": json.loads(t.round(3).to_json(orient="records")),
    }


def write_results(model: RegionModel, out_dir: str | Path, run_name: str,
                  charts: bool = True, extra: dict[str, Any] | None = None) -> Path:
    """Write all outputs of ``model`` to ``out_dir/run_name`` atomically.

    Returns:
        The final results folder.

    Raises:
        FileExistsError: If the destination exists (results are never overwritten).
    """
    final = Path(out_dir) / run_name
    with atomic_dir(final, exists_hint="choose another --name or remove it") as tmp:
        place_year = model.place_year()
        region_year = model.region_year()
        place_year.to_parquet(tmp / "place_year.parquet", index=False)
        region_year.to_parquet(tmp / "region_year.parquet", index=False)
        places_table(model).to_parquet(tmp / "places.parquet", index=False)
        model.services.to_frame(model.world.places).to_parquet(tmp / "services.parquet",
                                                               index=False)
        if model.scenario is not None:
            model.initiative_events().to_parquet(tmp / "initiative_events.parquet",
                                                 index=False)
        region_year.to_csv(tmp / "region_year.csv", index=False)
        if charts:
            from .charts import write_charts
            write_charts(model, place_year, region_year, tmp)
        (tmp / "manifest.json").write_text(
            json.dumps(manifest(model, run_name, extra), indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8")
    log.info("results written to %s", final)
    return final
