"""Out-of-sample validation: held-out municipal growth, model against two naive baselines.

The model runs from the historical base year to ``validation_end`` with the fitted
parameters; its growth fit_end -> validation_end per municipality (the median over seeds,
with the spread) is compared with the observed growth, as are two baselines that use only
data up to fit_end (plus, for the second, the region's observed total in validation_end, as
its definition requires):

(a) **trend**: each municipality continues its base_year -> fit_end yearly growth rate;
(b) **share**: each municipality keeps its fit_end share of the region.

Reported: mean absolute error of the growth (percentage points) and the number of
municipalities whose growth has the observed sign. The same for the **age structure**: the
share of each municipality's persons in each FOLK1A age band at validation_end, against
(a) each share's base -> fit_end change continued linearly (FOLK1A starts in 2016, so the
trend is 2016 -> fit_end) and (b) the fit_end shares kept.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..infra import deep_merge
from ..params import Parameters
from .config import CalibrationConfig
from .simulate import RunSummary, simulate
from .targets import held_out, municipality_names, trend_baseline


@dataclass
class Validation:
    """Per-municipality table, summary rows and the runs behind them."""

    table: pd.DataFrame
    summary: pd.DataFrame
    runs: list[RunSummary]
    bands: pd.DataFrame | None = None  # age-band share errors (pp) by predictor


def validation_params(cfg: CalibrationConfig, fitted: dict[str, Any]) -> Parameters:
    """Uncalibrated defaults + fitted overrides, from base_year to validation_end."""
    pr, sim = cfg.protocol, cfg.simulation
    merged = deep_merge(Parameters().resolved(), fitted)
    merged.update(base_year=pr.base_year, end_year=pr.validation_end,
                  scale=sim.validation_scale)
    merged["migration"] = {**merged["migration"], "net_years": pr.flow_years()}
    return Parameters.model_validate(merged)


def _sign_agree(pred: pd.Series, obs: pd.Series) -> int:
    return int((np.sign(pred) == np.sign(obs)).sum())


def baselines(cfg: CalibrationConfig) -> pd.DataFrame:
    """Growth fit_end -> validation_end (%) predicted by the trend and share baselines."""
    pr = cfg.protocol
    past = trend_baseline(cfg)
    years = pr.fit_end - pr.base_year
    rate = (past[pr.fit_end] / past[pr.base_year]) ** (1 / years) - 1
    horizon = pr.validation_end - pr.fit_end
    trend = ((1 + rate) ** horizon - 1) * 100
    obs = held_out(cfg)
    region_growth = obs[pr.validation_end].sum() / obs[pr.fit_end].sum() - 1
    share = pd.Series(region_growth * 100, index=trend.index)
    return pd.DataFrame({"trend_pct": trend, "share_pct": share})


def validate(cfg: CalibrationConfig, fitted: dict[str, Any],
             pool_map: Callable | None = None) -> Validation:
    """Run the validation seeds and compare held-out growth with the baselines."""
    params = validation_params(cfg, fitted)
    seeds = cfg.simulation.validation_seeds
    executor = None
    if pool_map is None and cfg.optimizer.workers > 1:
        executor = ProcessPoolExecutor(max_workers=cfg.optimizer.workers)
        pool_map = executor.map
    try:
        runs = list((pool_map or map)(simulate, [params] * len(seeds), seeds))
    finally:
        if executor is not None:
            executor.shutdown()
    pr = cfg.protocol
    obs = held_out(cfg)
    observed = (obs[pr.validation_end] / obs[pr.fit_end] - 1) * 100
    per_seed = pd.concat([r.growth_pct(pr.fit_end, pr.validation_end) for r in runs], axis=1)
    base = baselines(cfg)
    names = obs.index.map(municipality_names())
    table = pd.DataFrame({
        "municipality": names, "observed_pct": observed,
        "model_median_pct": per_seed.median(axis=1),
        "model_p05_pct": per_seed.quantile(0.05, axis=1),
        "model_p95_pct": per_seed.quantile(0.95, axis=1),
        "trend_pct": base["trend_pct"], "share_pct": base["share_pct"],
    })
    table.index.name = "municipality_code"
    rows = []
    for label, col in (("model (median over seeds)", "model_median_pct"),
                       ("(a) trend 2014-2018 continued", "trend_pct"),
                       ("(b) 2018 share of the region kept", "share_pct")):
        err = (table[col] - table["observed_pct"]).abs()
        rows.append({"predictor": label, "mae_pp": float(err.mean()),
                     "sign_right": _sign_agree(table[col], table["observed_pct"]),
                     "municipalities": len(table)})
    seed_mae = [(per_seed[c] - observed).abs().mean() for c in per_seed.columns]
    summary = pd.DataFrame(rows)
    summary["mae_pp_seed_min"] = [min(seed_mae), np.nan, np.nan]
    summary["mae_pp_seed_max"] = [max(seed_mae), np.nan, np.nan]
    summary.loc[0, "predictor"] = (f"model (median over {len(seeds)} seeds, scale "
                                   f"{cfg.simulation.validation_scale:g})")
    return Validation(table.reset_index(), summary, runs, band_validation(cfg, runs))


def band_validation(cfg: CalibrationConfig, runs: list[RunSummary]) -> pd.DataFrame:
    """Age-band shares per municipality at validation_end: model against the baselines.

    Returns one row per predictor with the MAE (pp) over all municipality-band cells and per
    band.
    """
    from ..migration_rates import BAND_LABELS, BAND_NAMES
    from .targets import observed_band_shares

    pr = cfg.protocol
    obs = observed_band_shares(pr.validation_end)
    first = observed_band_shares(2016)
    last = observed_band_shares(pr.fit_end)
    trend = last + (last - first) * (pr.validation_end - pr.fit_end) / (pr.fit_end - 2016)
    bands = sum(r.bands for r in runs) / len(runs)
    model = bands.xs(pr.validation_end, level="year")
    model = 100 * model.div(model.sum(axis=1), axis=0)
    rows = []
    for label, pred in ((f"model (mean over {len(runs)} seeds)", model),
                        (f"(a) 2016-{pr.fit_end} share change continued", trend),
                        (f"(b) {pr.fit_end} shares kept", last)):
        err = (pred.reindex(index=obs.index, columns=obs.columns) - obs).abs()
        row = {"predictor": label, "mae_pp": float(err.to_numpy().mean())}
        row.update({f"mae_{lab}": float(err[b].mean())
                    for b, lab in zip(BAND_NAMES, BAND_LABELS, strict=True)})
        rows.append(row)
    return pd.DataFrame(rows)


def format_summary(v: Validation, cfg: CalibrationConfig) -> str:
    """Plain-text validation table for the terminal."""
    pr = cfg.protocol
    lines = [f"held-out municipal growth {pr.fit_end}->{pr.validation_end} "
             f"(fit used years {pr.base_year}-{pr.fit_end} only)",
             f"{'predictor':48s} {'MAE (pp)':>9s} {'sign right':>11s}"]
    for _, r in v.summary.iterrows():
        extra = ""
        if not np.isnan(r["mae_pp_seed_min"]):
            extra = f"  (single seeds {r['mae_pp_seed_min']:.2f}-{r['mae_pp_seed_max']:.2f})"
        lines.append(f"{r['predictor']:48s} {r['mae_pp']:9.2f} "
                     f"{int(r['sign_right']):>6d} of {int(r['municipalities'])}{extra}")
    if v.bands is not None:
        lines.append(f"age-band shares of every municipality in {pr.validation_end} "
                     "(MAE over municipalities and the 7 FOLK1A bands)")
        for _, r in v.bands.iterrows():
            lines.append(f"{r['predictor']:48s} {r['mae_pp']:9.2f}")
    model, trend = v.summary.loc[0, "mae_pp"], v.summary.loc[1, "mae_pp"]
    lines.append(f"model error vs trend extrapolation: {100 * (model / trend - 1):+.0f}% "
                 "(project aim: -30% or better, sign right in >= 17 of 19)")
    return "\n".join(lines)
