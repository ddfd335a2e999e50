"""The calibration report: tables and charts written to ``calibration/report/``.

* ``fit_municipal.png``: observed vs simulated population per municipality over time, with
  the calibration / validation split marked.
* ``parameters.csv``: every fitted parameter: bounds, default, estimate.
* ``convergence.png``: best distance per generation and the optimum's distance seed by seed.
* ``mobility.csv`` / ``mobility.png``: simulated moves against Statistics Denmark's figures.
* ``closure_lag.csv`` / ``closure_lag.png``: population and house prices around the closing
  of a village's last grocer (does decline precede closure?).
* ``validation.csv`` / ``validation_summary.csv``: held-out growth, model vs baselines.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import data
from ..charts import OKABE_ITO
from ..infra import get_path
from ..model import RegionModel
from ..params import STAGES, Parameters
from .config import CalibrationConfig
from .fit import FitResult, _default_value
from .targets import NATIONAL_SHOPS_FIGURE, VILLAGE_SHOPS_FIGURE, figure_trend
from .validation import Validation

#: Years before and after a closure shown in the closure-lag chart.
LAG_BEFORE, LAG_AFTER = 6, 4


def parameters_table(cfg: CalibrationConfig, result: FitResult) -> pd.DataFrame:
    """One row per fitted parameter."""
    rows = []
    for fp, x in zip(cfg.parameters, result.x, strict=True):
        default = _default_value(fp.path)
        rows.append({"parameter": fp.path, "mode": fp.mode, "low": fp.bounds[0],
                     "high": fp.bounds[1], "default": str(default), "estimate_x": x,
                     "estimate": str(_resolved(result.overrides, fp.path))})
    return pd.DataFrame(rows)


def _resolved(over: dict, path: str):
    cur = get_path(over, path)
    return [round(v, 4) for v in cur] if isinstance(cur, list) else cur


def municipal_chart(cfg: CalibrationConfig, v: Validation, path: Path) -> None:
    """Small multiples: observed vs simulated population, fit / held-out split marked."""
    pr = cfg.protocol
    m = data.municipal_population()
    obs = m.pivot_table(index="year", columns="municipality_code", values="population_1jan")
    obs = obs.loc[pr.base_year - 4: pr.validation_end]
    names = m.drop_duplicates("municipality_code").set_index("municipality_code")[
        "municipality_name"]
    sims = np.stack([r.municipal.T.reindex(columns=obs.columns).to_numpy() for r in v.runs])
    years = np.asarray(v.runs[0].municipal.columns)
    codes = list(obs.columns)
    fig, axes = plt.subplots(4, 5, figsize=(15, 10), dpi=100, sharex=True)
    for ax, code in zip(axes.flat, codes, strict=False):
        j = codes.index(code)
        s = sims[:, :, j] / 1000
        ax.axvspan(pr.fit_end, pr.validation_end, color="#DDDDDD", lw=0)
        ax.fill_between(years, np.quantile(s, 0.05, 0), np.quantile(s, 0.95, 0),
                        color=OKABE_ITO[1], alpha=0.4, lw=0)
        ax.plot(years, np.median(s, 0), color=OKABE_ITO[4], lw=2, label="model (median)")
        ax.plot(obs.index, obs[code] / 1000, color="black", lw=1.2, ls="--", label="observed")
        ax.set_title(str(names.get(code, code)), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(codes):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"Population (thousands), observed vs simulated from {pr.base_year}; fit on "
                 f"{pr.base_year}-{pr.fit_end}, grey = held-out {pr.fit_end}-"
                 f"{pr.validation_end}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def convergence_chart(result: FitResult, path: Path) -> None:
    """Best distance and population spread per generation; contraction; seed noise."""
    fig, (c, a, b) = plt.subplots(1, 3, figsize=(14, 3.8), dpi=110)
    for label, hist, colour in (("before the search", result.constants_start.history,
                                 OKABE_ITO[5]),
                                ("after the search", result.constants.history, OKABE_ITO[4])):
        if hist:
            c.plot(range(1, len(hist) + 1), hist, marker="o", color=colour, label=label)
    c.set_yscale("log")
    c.set_xlabel("contraction iteration")
    c.set_ylabel("largest |ln obs - ln sim| at fit end")
    c.legend(frameon=False, fontsize=8)
    c.set_title("Location constants")
    gens = range(1, len(result.history) + 1)
    a.plot(gens, result.history, marker="o", color=OKABE_ITO[4], label="best")
    if result.spread and len(result.spread) == len(result.history):
        a.plot(gens, np.asarray(result.history) + np.asarray(result.spread), color=OKABE_ITO[0],
               lw=1, label="best + SD of the population")
    a.axhline(result.start.total, color=OKABE_ITO[5], ls="--", label="uncalibrated defaults")
    a.set_xlabel("generation")
    a.set_ylabel("distance (fit seeds)")
    a.legend(frameon=False, fontsize=8)
    a.set_title("Differential evolution")
    b.plot(np.arange(len(result.noise)), result.noise, "o", color=OKABE_ITO[0],
           label="optimum, one seed each")
    b.axhline(result.start.total, color=OKABE_ITO[5], ls="--", label="defaults (fit seeds)")
    b.axhline(result.best.total, color=OKABE_ITO[4], label="optimum (fit seeds)")
    b.set_xlabel("extra seed")
    b.set_ylabel("distance")
    b.legend(frameon=False, fontsize=8)
    b.set_title("Is the improvement larger than seed noise?")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def mobility_table(cfg: CalibrationConfig, v: Validation) -> pd.DataFrame:
    """Simulated (validation runs) vs DST mobility figures."""
    runs = v.runs
    moves = sum(r.moves for r in runs)
    dst_like = [r.dst_like() for r in runs]
    sim = {"moves under 10 km (%), counted like DST": np.mean(
               [d["short_share_pct"] for d in dst_like]),
           "moves within the municipality (%), counted like DST": np.mean(
               [d["within_share_pct"] for d in dst_like]),
           "mean move distance (km), moves inside the region only": sum(r.km for r in runs)
           / moves,
           "household moves inside the region under 10 km (%)": 100 * sum(
               r.short for r in runs) / moves,
           "household moves inside the region within the municipality (%)": 100 * sum(
               r.within for r in runs) / moves}
    mob = cfg.mobility
    dst = dict(zip(sim, [mob.short_move_share_pct, mob.within_municipality_pct,
                         mob.mean_move_km, "", ""], strict=True))
    rows = [{"figure": k, "simulated": round(float(sim[k]), 1), "dst": dst[k],
             "source": mob.source if dst[k] != "" else ""} for k in sim]
    stage = {s: sum(r.stage_moves[s] for r in runs) for s in STAGES}
    total = max(sum(stage.values()), 1)
    rows += [{"figure": f"moving households in stage '{s}' (%)",
              "simulated": round(100 * n / total, 1),
              "dst": "movers concentrate at ages 20-29" if s == "young" else "",
              "source": mob.source if s == "young" else ""} for s, n in stage.items()]
    return pd.DataFrame(rows)


def grocer_table(v: Validation) -> pd.DataFrame:
    """Simulated grocer trends (validation runs) beside the published figures."""
    runs = v.runs
    years = f"{runs[0].village_grocers.index.min()}-{runs[0].village_grocers.index.max()}"
    rows = []
    for village, prefix, note in ((True, VILLAGE_SHOPS_FIGURE, "Denmark; fitted"),
                                  (False, NATIONAL_SHOPS_FIGURE, "Denmark; not fitted")):
        rate, (y0, y1), (v0, v1) = figure_trend(prefix)
        sim = float(np.mean([r.grocer_rate_pct(village=village) for r in runs]))
        rows.append({
            "figure": ("grocers in towns under 2,000" if village else "all grocers")
            + ", yearly change (%)", "simulated": round(sim, 2), "simulated_years": years,
            "observed": round(rate, 2), "observed_years": f"{y0}-{y1} ({note})",
            "source": f"calibration_figures.csv: {prefix} {v0:,.0f} -> {v1:,.0f}"})
    return pd.DataFrame(rows)


def mobility_chart(table: pd.DataFrame, path: Path) -> None:
    """Bars of the three DST mobility figures, simulated vs DST."""
    t = table.iloc[:3]
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=110)
    y = np.arange(len(t))
    ax.barh(y - 0.2, t["simulated"].astype(float), 0.4, color=OKABE_ITO[4], label="model")
    ax.barh(y + 0.2, t["dst"].astype(float), 0.4, color=OKABE_ITO[0], label="Statistics Denmark")
    ax.set_yticks(y, t["figure"])
    ax.invert_yaxis()
    ax.legend(frameon=False)
    ax.set_title("Moves: model (validation runs) vs Statistics Denmark")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def closure_lag(params: Parameters, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Population and price index around the closing of a village's last grocer.

    Runs ``params`` (normally the calibrated defaults from 2021), finds every town whose
    grocers fell from one or more to none in some year t with LAG_BEFORE years before and
    LAG_AFTER after inside the run, and averages population and house-price index relative
    to year t - LAG_BEFORE. Also: the share of closures preceded by a falling price index
    over those years (Boligsiden: house prices fell before 10 of 14 shop closures).
    """
    model = RegionModel(params, seed=seed)
    model.run()
    py = model.place_year()
    towns = model.world.places["kind"].to_numpy() == "town"
    g = py.pivot(index="year", columns="place_id", values="grocer_open")
    pop = py.pivot(index="year", columns="place_id", values="population").astype(float)
    price = py.pivot(index="year", columns="place_id", values="price_index")
    years = list(g.index)
    rows, fell = [], []
    for j in np.flatnonzero(towns):
        col = g[j].to_numpy()
        for i in range(LAG_BEFORE, len(years) - LAG_AFTER):
            if col[i - 1] > 0 and col[i] == 0:
                ref = i - LAG_BEFORE
                if pop[j].iloc[ref] <= 0:
                    continue
                for k in range(-LAG_BEFORE, LAG_AFTER + 1):
                    rows.append({"place_id": j, "closure_year": years[i], "k": k,
                                 "population_index": pop[j].iloc[i + k] / pop[j].iloc[ref],
                                 "price_index": price[j].iloc[i + k] / price[j].iloc[ref]})
                fell.append(price[j].iloc[i - 1] < price[j].iloc[ref])
    ev = pd.DataFrame(rows, columns=["place_id", "closure_year", "k", "population_index",
                                     "price_index"])
    mean = ev.groupby("k")[["population_index", "price_index"]].mean().reset_index()
    info = {"closures": len(fell), "price_fell_before": int(sum(fell)),
            "years": f"{years[0]}-{years[-1]}", "scale": params.scale, "seed": seed,
            "observed": "house prices fell before 10 of 14 village shop closures "
                        "(Boligsiden, closures 2011-2016; calibration_figures.csv)"}
    return mean, info


def closure_chart(mean: pd.DataFrame, info: dict, path: Path) -> None:
    """Average population and price index around closure."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if len(mean):
        ax.plot(mean["k"], mean["population_index"], marker="o", color=OKABE_ITO[4],
                label="population")
        ax.plot(mean["k"], mean["price_index"], marker="s", color=OKABE_ITO[5],
                label="house-price index")
    ax.axvline(0, color="grey", ls=":")
    ax.axhline(1, color="grey", lw=0.5)
    ax.set_xlabel("years relative to the closing of the last grocer")
    ax.set_ylabel(f"relative to {LAG_BEFORE} years before")
    ax.set_title(f"Decline before closure: {info['closures']} simulated closures, price fell "
                 f"before {info['price_fell_before']}", fontsize=10)
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
