"""EMA Workbench adapter and scenario discovery with PRIM (optional extra ``ema``).

Two ways to use the EMA Workbench (2.5.3) with landsim:

* :func:`ema_model` wraps an experiment as an EMA ``ReplicatorModel``: its uncertainties and
  levers become EMA parameters, its outcomes ``ScalarOutcome`` (mean over replications), and
  the replications carry the experiment's seeds (child ``SeedSequence`` per replication, as
  with ``common_random_numbers``). Any EMA evaluator can then run landsim::

      from ema_workbench import SequentialEvaluator
      with SequentialEvaluator(ema_model(res)) as ev:
          experiments, outcomes = ev.perform_experiments(scenarios=50)

* :func:`discover` applies EMA's PRIM to the runs of a finished ``landsim batch`` (Dask
  engine): the cases of interest are runs whose ``[discovery] outcome`` is above (or below)
  a value; PRIM finds the box of uncertainties and levers where such runs concentrate. The
  box reported is the densest on the peeling trajectory whose coverage is at least
  ``min_coverage``; its limits, quasi-p-values, coverage and density go to a table and a
  plot in ``RESULTS/discovery/``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .experiment import Resolved, RunSpec, apply_factors, run_seed

log = logging.getLogger(__name__)


def _ema():
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import ema_workbench
    except ImportError:
        raise ImportError("the EMA Workbench adapter needs the 'ema' extra: "
                          "pip install -e \".[ema]\"") from None
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return ema_workbench


class LandsimFunction:
    """The model function EMA calls: factor values and a seed in, end-year outcomes out.

    A top-level class (picklable), so EMA's multiprocessing evaluators can use it.
    """

    def __init__(self, res: Resolved, scenario: int = 0) -> None:
        self.res = res
        self.scenario = res.scenarios[scenario]

    def __call__(self, **kwargs: Any) -> dict[str, float]:
        """Run one replication; ``kwargs`` hold every factor by label, ``seed``, ``key``."""
        from .runner import execute

        res = self.res
        values = {f.label: f.cast(kwargs[f.label]) for f in res.factors}
        exp = res.experiment
        spec = RunSpec(-1, apply_factors(self.scenario, values, res.factors), -1,
                       int(kwargs["replication"]), values, int(kwargs["seed"]), exp.seed,
                       tuple(kwargs["spawn_key"]), exp.scale, tuple(exp.outcomes.keep),
                       tuple(res.places))
        t = execute(spec)
        last = t[t["year"] == t["year"].max()]
        return dict(zip(last["outcome"], last["value"].astype(float), strict=True))


def ema_model(res: Resolved, scenario: int = 0):
    """An EMA ``ReplicatorModel`` running landsim for scenario ``scenario`` of ``res``."""
    ema = _ema()
    from ema_workbench import (
        CategoricalParameter,
        IntegerParameter,
        RealParameter,
        ReplicatorModel,
        ScalarOutcome,
    )

    def param(f):
        if f.categorical:
            return CategoricalParameter(f.label, list(f.values))
        if f.integer:
            return IntegerParameter(f.label, int(f.low), int(f.high))
        return RealParameter(f.label, f.low, f.high)

    model = ReplicatorModel("landsim", function=LandsimFunction(res, scenario))
    model.uncertainties = [param(f) for f in res.uncertainties]
    model.levers = [param(f) for f in res.levers]
    model.outcomes = [ScalarOutcome(o, function=np.mean) for o in res.outcome_names()]
    root = np.random.SeedSequence(res.experiment.seed).spawn(2)[1]
    keys = [c.spawn_key for c in root.spawn(res.experiment.replications)]
    model.replications = [{"seed": run_seed(res.experiment.seed, k), "spawn_key": list(k),
                           "replication": r} for r, k in enumerate(keys)]
    del ema
    return model


# --------------------------------------------------------------------------- PRIM
def _cases(res: Resolved, runs: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    d = res.experiment.discovery
    assert d is not None
    ok = runs[runs["status"] == "complete"]
    if d.scenario is not None:
        ok = ok[ok["scenario"] == d.scenario]
    if ok.empty:
        raise ValueError("no complete runs to discover from; run the batch first")
    x = pd.DataFrame(index=ok.index)
    for f in res.factors:
        col = ok[f.label]
        # whole-number factors go in as floats: EMA 2.5.3's pasting step writes half-way
        # limits into the box, which pandas >= 3 refuses in an integer column
        x[f.label] = col.astype("category") if f.categorical else col.astype(np.float64)
    y = (ok[d.outcome] > d.above).to_numpy() if d.above is not None else \
        (ok[d.outcome] < d.below).to_numpy()
    return x.reset_index(drop=True), y, ok


def choose_box(trajectory: pd.DataFrame, min_coverage: float) -> int:
    """Index of the densest box whose coverage is at least ``min_coverage`` (else the first)."""
    ok = trajectory[trajectory["coverage"] >= min_coverage]
    if ok.empty:
        return 0
    return int(ok["density"].astype(float).idxmax())


def discover(res: Resolved, folder: Path) -> dict[str, Any]:
    """PRIM on a finished batch; writes ``folder/discovery`` and returns its tables.

    Returns:
        ``{"box": limits table, "stats": one-row table, "trajectory": peeling trajectory}``.
    """
    _ema()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ema_workbench.analysis import prim

    d = res.experiment.discovery
    if d is None:
        raise ValueError(f"{res.path}: no [discovery] table; add one to run PRIM")
    runs = pd.read_parquet(Path(folder) / "runs.parquet")
    x, y, _ok = _cases(res, runs)
    if y.sum() == 0 or y.all():
        raise ValueError(f"{d.outcome}: {'no' if y.sum() == 0 else 'every'} run is a case of "
                         "interest; PRIM needs both; change the threshold or the ranges")
    alg = prim.Prim(x, y, threshold=d.threshold, peel_alpha=d.peel_alpha)
    box = alg.find_box()
    traj = box.peeling_trajectory.copy()
    i = choose_box(traj, d.min_coverage)
    stats_row, limits = box.inspect(i, style="data")[0]
    by_label = {f.label: f for f in res.factors}
    rows = []
    for name, r in limits.iterrows():
        f = by_label[name]
        lo, hi, qp_lo, qp_hi = (r.iloc[0], r.iloc[1], r.iloc[2], r.iloc[3])
        if f.categorical:
            kept = sorted(map(str, lo)) if isinstance(lo, (set, frozenset)) else [str(lo)]
            rows.append({"factor": name, "path": f.path, "kind": f.kind,
                         "box": "{" + ", ".join(kept) + "}",
                         "full_range": "{" + ", ".join(map(str, f.values)) + "}",
                         "box_min": np.nan, "box_max": np.nan,
                         "qp_low": qp_lo, "qp_high": qp_hi})
        else:
            rows.append({"factor": name, "path": f.path, "kind": f.kind,
                         "box": f"{lo:.4g} - {hi:.4g}", "full_range": f"{f.low:.4g} - "
                         f"{f.high:.4g}", "box_min": float(lo), "box_max": float(hi),
                         "qp_low": qp_lo, "qp_high": qp_hi})
    table = pd.DataFrame(rows)
    st = pd.DataFrame([{"box_index": i, "coverage": float(stats_row["coverage"]),
                        "density": float(stats_row["density"]),
                        "mass": float(stats_row["mass"]),
                        "restricted_dimensions": int(stats_row["res_dim"]),
                        "runs": len(y), "cases_of_interest": int(y.sum()),
                        "base_rate": float(y.mean()), "outcome": d.outcome,
                        "case": (f"> {d.above:g}" if d.above is not None else
                                 f"< {d.below:g}"),
                        "scenario": d.scenario or "all", "min_coverage": d.min_coverage}])
    out = Path(folder) / "discovery"
    out.mkdir(exist_ok=True)
    table.to_csv(out / "prim_box.csv", index=False)
    table.to_parquet(out / "prim_box.parquet", index=False)
    st.to_csv(out / "prim_stats.csv", index=False)
    traj.drop(columns=[c for c in traj.columns if traj[c].dtype == object], errors="ignore") \
        .to_csv(out / "prim_trajectory.csv", index=False)
    box.inspect(i, style="graph", boxlim_formatter="{: .4g}")
    fig = plt.gcf()
    fig.suptitle(f"{res.experiment.name}: {d.outcome} {st['case'].iloc[0]} "
                 f"(box {i}: coverage {st['coverage'].iloc[0]:.2f}, density "
                 f"{st['density'].iloc[0]:.2f})", fontsize=9)
    fig.set_size_inches(8, 0.6 * max(len(table), 1) + 2.5)
    fig.tight_layout()
    fig.savefig(out / "prim_box.png", dpi=110)
    plt.close("all")
    fig = box.show_tradeoff()
    fig.savefig(out / "prim_tradeoff.png", dpi=110)
    plt.close("all")
    return {"box": table, "stats": st, "trajectory": traj}


def format_box(found: dict[str, Any]) -> str:
    """The PRIM box as a Markdown table with its statistics."""
    st = found["stats"].iloc[0]
    lines = [f"Cases of interest: {st['outcome']} {st['case']} ({st['cases_of_interest']} of "
             f"{st['runs']} runs, base rate {st['base_rate']:.2f}); box {st['box_index']}: "
             f"coverage {st['coverage']:.2f}, density {st['density']:.2f}, "
             f"mass {st['mass']:.2f}.", "",
             "| factor | path | box | full range | quasi-p |", "| --- | --- | --- | --- | --- |"]
    for _, r in found["box"].iterrows():
        qp = ", ".join(f"{v:.2g}" for v in (r["qp_low"], r["qp_high"]) if pd.notna(v))
        lines.append(f"| {r['factor']} | `{r['path']}` | {r['box']} | {r['full_range']} | "
                     f"{qp} |")
    return "\n".join(lines)
