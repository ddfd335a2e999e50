"""Sensitivity analysis of batch results: Morris screening and Sobol indices (SALib).

The experiment's design (``kind = "morris"`` or ``"sobol"``) is drawn by SALib from the
batch's SeedSequence (:func:`sim.batch.experiment.design_matrix`); after the batch, each
design point's outcome is the mean of its replications at the end year, and SALib computes

* Morris: mu* (mean absolute elementary effect, the ranking measure), mu and sigma, with a
  bootstrap confidence interval of mu*;
* Sobol: first-order (S1) and total (ST) indices with bootstrap confidence intervals.

Seeds guidance: the model is stochastic, so every outcome has seed noise. For each outcome
the half-width of the t-interval of a design point's mean is computed from the first *n*
replications (n = 2 .. replications), averaged over design points, and projected with the
pooled standard deviation to the number of seeds at which the half-width falls to
``target_relative_half_width`` of the outcome's mean.

The analysis runs once per scenario and lever combination.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .experiment import Resolved, design_matrix, salib_problem

log = logging.getLogger(__name__)


def _salib():
    try:
        import SALib
    except ImportError:
        raise ImportError("sensitivity analysis needs SALib: pip install -e \".[batch]\"") \
            from None
    return SALib


def _groups(res: Resolved, runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, runs) per scenario and lever combination, with ``upoint`` = design row."""
    n_unc = len(design_matrix(res))
    runs = runs.assign(upoint=runs["point"] % n_unc, lever=runs["point"] // n_unc)
    out = []
    for (sc, _lv), g in runs.groupby(["scenario", "lever"], sort=True):
        label = sc if not res.levers else \
            f"{sc} | " + ", ".join(f"{f.label}={g[f.label].iloc[0]}" for f in res.levers)
        out.append((label, g))
    return out


def _point_means(res: Resolved, g: pd.DataFrame, outcome: str) -> np.ndarray:
    n_unc = len(design_matrix(res))
    ok = g[g["status"] == "complete"]
    y = ok.groupby("upoint")[outcome].mean().reindex(range(n_unc))
    missing = int(y.isna().sum())
    if missing:
        raise ValueError(f"{missing} of {n_unc} design points have no complete run (see "
                         "runs.parquet: status, error); run the batch again to retry them")
    return y.to_numpy(float)


def morris(res: Resolved, runs: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """Morris mu*, its bootstrap CI, mu and sigma per group, outcome and parameter."""
    _salib()
    from SALib.analyze import morris as ma

    problem = salib_problem(res)
    x = design_matrix(res)
    s = res.experiment.sensitivity
    rows = []
    for label, g in _groups(res, runs):
        for o in outcomes:
            si = ma.analyze(problem, x, _point_means(res, g, o), num_resamples=s.num_resamples,
                            conf_level=s.conf_level, num_levels=res.experiment.design.levels
                            or 4, seed=res.experiment.seed % 2**32)
            t = pd.DataFrame({"group": label, "outcome": o, "parameter": problem["names"],
                              "mu_star": si["mu_star"], "mu_star_conf": si["mu_star_conf"],
                              "mu": si["mu"], "sigma": si["sigma"]})
            t["rank"] = t["mu_star"].rank(ascending=False, method="min").astype(int)
            rows.append(t.sort_values("rank"))
    return pd.concat(rows, ignore_index=True)


def sobol(res: Resolved, runs: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """Sobol S1 and ST with bootstrap CIs per group, outcome and parameter."""
    _salib()
    from SALib.analyze import sobol as sa

    problem = salib_problem(res)
    s = res.experiment.sensitivity
    rows = []
    for label, g in _groups(res, runs):
        for o in outcomes:
            si = sa.analyze(problem, _point_means(res, g, o),
                            calc_second_order=res.experiment.design.second_order,
                            num_resamples=s.num_resamples, conf_level=s.conf_level,
                            seed=res.experiment.seed % 2**32)
            rows.append(pd.DataFrame({"group": label, "outcome": o,
                                      "parameter": problem["names"], "S1": si["S1"],
                                      "S1_conf": si["S1_conf"], "ST": si["ST"],
                                      "ST_conf": si["ST_conf"]}))
    return pd.concat(rows, ignore_index=True)


def seeds_needed(res: Resolved, runs: pd.DataFrame, outcomes: list[str],
                 conf_level: float | None = None,
                 target: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Interval width as seeds grow, and the seeds an outcome needs.

    Returns:
        (curve, advice): ``curve`` has per group, outcome and n (2..replications) the mean
        half-width of the interval of a design point's mean from its first n seeds, absolute
        and relative to the outcome's mean; ``advice`` has per group and outcome the pooled
        seed-to-seed standard deviation and the seeds needed to reach the target.
    """
    s = res.experiment.sensitivity
    conf = conf_level or s.conf_level
    target = target or s.target_relative_half_width
    ok = runs[runs["status"] == "complete"]
    curve, advice = [], []
    for label, g in _groups(res, ok):
        for o in outcomes:
            mean = float(g[o].mean())
            per_point = [v.sort_values("replication")[o].to_numpy(float)
                         for _, v in g.groupby("upoint")]
            r_max = max((len(v) for v in per_point), default=0)
            for n in range(2, r_max + 1):
                hw = [stats.t.ppf(0.5 + conf / 2, n - 1) * v[:n].std(ddof=1) / np.sqrt(n)
                      for v in per_point if len(v) >= n]
                curve.append({"group": label, "outcome": o, "seeds": n,
                              "half_width": float(np.mean(hw)),
                              "relative_half_width": float(np.mean(hw) / abs(mean))
                              if mean else np.nan})
            var = [v.var(ddof=1) for v in per_point if len(v) >= 2]
            sd = float(np.sqrt(np.mean(var))) if var else np.nan
            need = np.nan
            if var and mean:
                goal = target * abs(mean)
                for n in range(2, 100_001):
                    if stats.t.ppf(0.5 + conf / 2, n - 1) * sd / np.sqrt(n) <= goal:
                        need = n
                        break
            advice.append({"group": label, "outcome": o, "mean": mean, "seed_sd": sd,
                           "replications": r_max, "target_relative_half_width": target,
                           "seeds_needed": need})
    return (pd.DataFrame(curve, columns=["group", "outcome", "seeds", "half_width",
                                         "relative_half_width"]),
            pd.DataFrame(advice, columns=["group", "outcome", "mean", "seed_sd",
                                          "replications", "target_relative_half_width",
                                          "seeds_needed"]))


# --------------------------------------------------------------------------- plots
def _plot_morris(t: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = t.sort_values("mu_star")
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 0.45 * len(t) + 2))
    a.barh(t["parameter"], t["mu_star"], xerr=t["mu_star_conf"], color="#4c72b0", capsize=3)
    a.set_xlabel("mu* (mean |elementary effect|), bootstrap CI")
    b.scatter(t["mu_star"], t["sigma"], color="#dd8452")
    for _, r in t.iterrows():
        b.annotate(r["parameter"], (r["mu_star"], r["sigma"]), fontsize=7)
    b.set_xlabel("mu*")
    b.set_ylabel("sigma (non-linearity / interactions)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_sobol(t: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(1.1 * len(t) + 3, 4))
    ax.bar(x - 0.2, t["S1"], 0.4, yerr=t["S1_conf"], label="S1 (first order)", capsize=3)
    ax.bar(x + 0.2, t["ST"], 0.4, yerr=t["ST_conf"], label="ST (total)", capsize=3)
    ax.set_xticks(x, t["parameter"], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("Sobol index, bootstrap CI")
    ax.legend()
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_seeds(c: pd.DataFrame, a: pd.Series, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(c["seeds"], c["relative_half_width"] * 100, "o-", label="observed (first n seeds)")
    if np.isfinite(a["seed_sd"]) and a["mean"]:
        n = np.arange(2, max(int(np.nan_to_num(a["seeds_needed"], nan=0)), int(c["seeds"].max()),
                             3) + 1)
        proj = stats.t.ppf(0.975, n - 1) * a["seed_sd"] / np.sqrt(n) / abs(a["mean"]) * 100
        ax.plot(n, proj, "--", label="projected (pooled seed SD)")
    ax.axhline(a["target_relative_half_width"] * 100, color="grey", lw=0.8, label="target")
    ax.set_xlabel("seeds per design point")
    ax.set_ylabel("interval half-width, % of mean")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _safe(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in s)


def analyse(res: Resolved, folder: Path) -> dict[str, pd.DataFrame]:
    """Sensitivity tables and plots of a finished batch, written to ``folder/sensitivity``.

    Raises:
        ValueError: The design is not morris or sobol, or design points lack results.
    """
    kind = res.experiment.design.kind
    if kind not in ("morris", "sobol"):
        raise ValueError(f"{res.path}: design.kind = '{kind}': sensitivity analysis needs "
                         "design.kind = 'morris' or 'sobol'")
    runs = pd.read_parquet(Path(folder) / "runs.parquet")
    outcomes = res.experiment.sensitivity.outcomes or res.outcome_names()
    out = Path(folder) / "sensitivity"
    out.mkdir(exist_ok=True)
    tables: dict[str, pd.DataFrame] = {}
    if kind == "morris":
        tables["morris"] = morris(res, runs, outcomes)
    else:
        tables["sobol"] = sobol(res, runs, outcomes)
    tables["seeds_curve"], tables["seeds_needed"] = seeds_needed(res, runs, outcomes)
    for name, t in tables.items():
        t.to_parquet(out / f"{name}.parquet", index=False)
        t.to_csv(out / f"{name}.csv", index=False)
    main = tables[kind]
    for (group, o), t in main.groupby(["group", "outcome"], sort=False):
        title = f"{res.experiment.name}: {o} at the end year ({group})"
        stem = _safe(f"{kind}_{o}_{group}")
        (_plot_morris if kind == "morris" else _plot_sobol)(t, out / f"{stem}.png", title)
    for (group, o), c in tables["seeds_curve"].groupby(["group", "outcome"], sort=False):
        a = tables["seeds_needed"].set_index(["group", "outcome"]).loc[(group, o)]
        _plot_seeds(c, a, out / (_safe(f"seeds_{o}_{group}") + ".png"),
                    f"seed noise of {o} ({group})")
    return tables


def format_ranking(t: pd.DataFrame) -> str:
    """Plain-text Morris ranking (one block per group and outcome)."""
    lines = []
    for (group, o), g in t.groupby(["group", "outcome"], sort=False):
        lines.append(f"{o} ({group}):")
        for _, r in g.sort_values("rank").iterrows():
            lines.append(f"  {r['rank']:>2}. {r['parameter']:<36} mu* {r['mu_star']:>12,.1f} "
                         f"± {r['mu_star_conf']:,.1f}   sigma {r['sigma']:>12,.1f}")
    return "\n".join(lines)
