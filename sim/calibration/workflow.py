"""``landsim calibrate`` and ``landsim validate-model``: fit, write params.toml, report.

:func:`calibrate` fits (only years <= fit_end are read), writes ``params.toml`` (the fitted
values plus a ``[fit]`` table of metadata: configuration, fit hash, distance) and regenerates
the whole report folder; :func:`validate_model` reruns the held-out validation with the
current ``params.toml``. Both write to temporary paths and move them into place, so a crash
never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from .. import __version__
from ..infra import atomic_dir, atomic_write, deep_merge
from ..params import (
    FIT_TABLE,
    PARISH_YEAR,
    ParameterFileError,
    Parameters,
    read_parameter_file,
)
from ..results import git_commit, versions
from . import report
from .config import CalibrationConfig, load_config
from .fit import FitResult, check_bounds, fit
from .targets import target_files_sha256
from .validation import Validation, format_summary, validate

log = logging.getLogger(__name__)


def write_params(result: FitResult, cfg: CalibrationConfig, config_path: Path,
                 path: Path) -> None:
    """Write the fitted values and the fit's metadata to ``path`` (atomically)."""
    doc: dict[str, Any] = {FIT_TABLE: {
        "config": str(config_path), "config_sha256": cfg.digest(),
        "fit_hash": result.fit_hash, "distance": round(result.best.total, 6),
        "distance_uncalibrated": round(result.start.total, 6),
        "fit_years": [cfg.protocol.base_year, cfg.protocol.fit_end],
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "landsim": __version__}}
    doc.update(result.overrides)
    text = ("# Calibrated parameters, written by `landsim calibrate`. Every scenario and\n"
            "# `landsim run` start from these values unless they override them\n"
            "# (LANDSIM_CALIBRATION=none: uncalibrated defaults). Do not edit by hand:\n"
            "# rerun the calibration. The [fit] table is metadata, not parameters.\n"
            + tomli_w.dumps(doc))
    atomic_write(path, text)


def fitted_overrides(path: Path) -> dict[str, Any]:
    """The parameter tables of a params.toml (metadata left out)."""
    return read_parameter_file(path)


def _write_validation(folder: Path, cfg: CalibrationConfig, v: Validation) -> None:
    v.table.round(3).to_csv(folder / "validation.csv", index=False)
    v.summary.round(3).to_csv(folder / "validation_summary.csv", index=False)
    report.municipal_chart(cfg, v, folder / "fit_municipal.png")
    mob = report.mobility_table(cfg, v)
    mob.to_csv(folder / "mobility.csv", index=False)
    report.mobility_chart(mob, folder / "mobility.png")
    report.grocer_table(v).to_csv(folder / "grocers.csv", index=False)


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = [f"{x:.2f}" if isinstance(x, float) else str(x) for x in r]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calibrate(config_path: str | Path, out_dir: str | Path = "calibration",
              pool_map: Callable | None = None,
              progress: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Fit, write ``out_dir/params.toml`` and regenerate ``out_dir/report/``.

    Args:
        config_path: Calibration configuration file.
        out_dir: Folder for params.toml and report/.
        pool_map: Map-like callable for parallel runs (default: process pool).
        progress: Called after every generation with (generation, best distance).

    Returns:
        The manifest written to report/manifest.json.
    """
    config_path = Path(config_path)
    out_dir = Path(out_dir)
    cfg = load_config(config_path)
    check_bounds(cfg, str(config_path))
    result = fit(cfg, pool_map=pool_map, progress=progress)
    v = validate(cfg, result.overrides, pool_map=pool_map)
    with atomic_dir(out_dir / "report", exist="replace") as tmp:
        report.parameters_table(cfg, result).to_csv(tmp / "parameters.csv", index=False)
        report.convergence_chart(result, tmp / "convergence.png")
        _write_validation(tmp, cfg, v)
        lag_run = {"end_year": PARISH_YEAR + cfg.simulation.closure_lag_years,
                   "scale": cfg.simulation.validation_scale}
        lag_params = Parameters.model_validate(deep_merge(
            Parameters().resolved(), {**result.overrides, **lag_run}))
        lag, lag_info = report.closure_lag(lag_params, seed=cfg.simulation.seeds[0])
        lag.to_csv(tmp / "closure_lag.csv", index=False)
        report.closure_chart(lag, lag_info, tmp / "closure_lag.png")
        write_baseline(cfg, result.overrides, tmp)
        manifest = _manifest(cfg, config_path, result, v, lag_info)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n",
                                           encoding="utf-8")
        (tmp / "README.md").write_text(_readme(cfg, config_path, result, v, lag_info),
                                       encoding="utf-8")
        write_params(result, cfg, config_path, out_dir / "params.toml")
    return manifest


def write_baseline(cfg: CalibrationConfig, fitted: dict[str, Any], folder: Path) -> None:
    """The default run 2021-2040 with the fitted values, checked against the data."""
    from .baseline import baseline_check, to_markdown

    params = Parameters.model_validate(deep_merge(
        Parameters().resolved(), {**fitted, "scale": cfg.simulation.baseline_scale}))
    b = baseline_check(params, seed=cfg.simulation.seeds[0], end_year=2040)
    (folder / "baseline.md").write_text(to_markdown(b), encoding="utf-8")
    b.municipal.to_csv(folder / "baseline_municipal.csv")
    b.towns.to_csv(folder / "baseline_towns.csv", index=False)


def _manifest(cfg: CalibrationConfig, config_path: Path, result: FitResult, v: Validation,
              lag_info: dict) -> dict[str, Any]:
    noise = pd.Series(result.noise)
    return {
        "config": str(config_path), "config_resolved": cfg.resolved(),
        "config_sha256": cfg.digest(), "fit_hash": result.fit_hash,
        "targets_sha256": target_files_sha256(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(), "versions": versions(),
        "estimate": result.overrides, "x": result.x,
        "distance": {"optimum": result.best.total, "parts": result.best.parts,
                     "stats": result.best.stats, "uncalibrated": result.start.total,
                     "uncalibrated_parts": result.start.parts,
                     "uncalibrated_stats": result.start.stats},
        "noise": {"seeds": cfg.simulation.noise_seeds, "distance": result.noise,
                  "sd_single_seed": float(noise.std(ddof=1)),
                  "se_of_fit_mean": float(noise.std(ddof=1)
                                          / len(cfg.simulation.seeds) ** 0.5)},
        "history": result.history, "population_spread": result.spread,
        "evaluations": result.evaluations,
        "runs_per_evaluation": len(cfg.simulation.seeds)
        * (2 if cfg.constants.correct_each_candidate else 1),
        "converged": result.converged, "optimizer_message": result.message,
        "at_bounds": result.at_bounds,
        "location_constants": result.constants.values,
        "stage_constants": result.constants.stage,
        "contraction": {"before_search": result.constants_start.history,
                        "after_search": result.constants.history,
                        "stage_shares_before_search": result.constants_start.stage_history,
                        "stage_shares_after_search": result.constants.stage_history},
        "validation": v.summary.to_dict(orient="records"),
        "closure_lag": lag_info,
    }


def _stage_text(cfg: CalibrationConfig, result: FitResult) -> str:
    """The README's paragraph on the stage constants (empty without them)."""
    stages = cfg.constants.stages
    if not stages or not result.constants.stage_history:
        return ""
    return (f"\nConstants per municipality and life stage ({', '.join(stages)}; "
            "`relocation.stage_constants`), contracted on the observed age-band shares of "
            f"{cfg.protocol.fit_end}: largest |ln observed - ln simulated| stage share "
            f"{result.constants_start.stage_history[-1]:.4f} before the search, "
            f"{result.constants.stage_history[-1]:.4f} after it.\n")


def _readme(cfg: CalibrationConfig, config_path: Path, result: FitResult, v: Validation,
            lag_info: dict) -> str:
    pr, sim = cfg.protocol, cfg.simulation
    noise = pd.Series(result.noise)
    se = noise.std(ddof=1) / len(sim.seeds) ** 0.5
    parts = pd.DataFrame({"part": list(result.best.parts),
                          "uncalibrated": list(result.start.parts.values()),
                          "fitted": list(result.best.parts.values())})
    stats = pd.DataFrame({"statistic": list(result.best.stats),
                          "uncalibrated": list(result.start.stats.values()),
                          "fitted": list(result.best.stats.values())})
    return f"""# Calibration report

Regenerated by `landsim calibrate {config_path}` (this folder is rewritten as a whole).
Configuration SHA-256 `{cfg.digest()[:16]}`, fit hash `{result.fit_hash[:16]}`.

## Protocol
Historical start {pr.base_year} (municipal age tables of 2014; places keep their 2021 share of
their municipality). The fit reads observed data up to {pr.fit_end} only; {pr.fit_end}-
{pr.validation_end} are held out. Every candidate ran {len(sim.seeds)} seeds
({', '.join(map(str, sim.seeds))}) at scale {sim.scale:g}; differential evolution,
{result.evaluations} candidates in {len(result.history)} generations (each candidate
{2 if cfg.constants.correct_each_candidate else 1} run(s) per seed). The optimiser
{"converged" if result.converged else "stopped without converging"}: {result.message}.
Parameters at a bound: {"; ".join(result.at_bounds) if result.at_bounds else "none"}.

Location constants (one per municipality, `relocation.location_constants`), by iterative
contraction to the observed populations of {pr.fit_end}: largest log error
{result.constants_start.history[-1] if result.constants_start.history else float("nan"):.4f}
before the search, {result.constants.history[-1] if result.constants.history
                    else float("nan"):.4f} after it (`convergence.png`).
{_stage_text(cfg, result)}

## Estimates
See `parameters.csv`.

{_md_table(report.parameters_table(cfg, result))}

## Distance
Optimum {result.best.total:.3f} against {result.start.total:.3f} for the uncalibrated
defaults (same seeds). The optimum's distance over {len(noise)} other single seeds: mean
{noise.mean():.3f}, SD {noise.std(ddof=1):.3f}; standard error of the fit's
{len(sim.seeds)}-seed mean about {se:.3f}, against an improvement of
{result.start.total - result.best.total:.3f} (`convergence.png`).

{_md_table(parts)}

{_md_table(stats)}

## Held-out validation ({pr.fit_end}->{pr.validation_end})

```
{format_summary(v, cfg)}
```

Per municipality: `validation.csv`; chart: `fit_municipal.png`.

## Mobility (validation runs, {pr.base_year}-{pr.validation_end})

{_md_table(report.mobility_table(cfg, v))}

## Grocery shops

{_md_table(report.grocer_table(v))}

## Decline before closure
{lag_info['closures']} simulated closures of a town's last grocer ({lag_info['years']}, scale
{lag_info['scale']:g}); the house-price index fell over the {report.LAG_BEFORE} years before
{lag_info['price_fell_before']} of them. Observed: {lag_info['observed']}. Chart:
`closure_lag.png`.
"""


def validate_model(config_path: str | Path, params_path: str | Path = "calibration/params.toml",
                   out_dir: str | Path | None = "calibration/report",
                   pool_map: Callable | None = None) -> tuple[Validation, str]:
    """Rerun the held-out validation with the fitted values in ``params_path``.

    Returns:
        The validation and its plain-text table. Writes validation tables and charts into
        ``out_dir`` (if given).

    Raises:
        ParameterFileError: If params.toml is missing or invalid.
    """
    cfg = load_config(config_path)
    params_path = Path(params_path)
    if not params_path.exists():
        raise ParameterFileError(f"{params_path}: not found; run `landsim calibrate "
                                 f"{config_path}` first")
    v = validate(cfg, fitted_overrides(params_path), pool_map=pool_map)
    if out_dir is not None:
        with atomic_dir(Path(out_dir), exist="merge") as tmp:
            _write_validation(tmp, cfg, v)
    return v, format_summary(v, cfg)
