"""Summaries of batch results: outcome distributions per scenario and year, fan charts.

Over all complete runs of a scenario (every design point and seed: the spread mixes
parameter uncertainty and seed noise), per year and outcome: number of runs, mean, median,
5%, 25%, 75% and 95% quantiles. Written to ``RESULTS/summary/`` as Parquet (and CSV for
people), with one fan chart per outcome (median line, 25-75% and 5-95% bands per scenario).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..infra import atomic_dir
from .runner import read_parts

QUANTILES = {"p5": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95}


def distributions(parts: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, outcome and year: n, mean and the quantiles of :data:`QUANTILES`."""
    g = parts.groupby(["scenario", "outcome", "year"], sort=True)["value"]
    out = g.agg(n="size", mean="mean")
    for name, q in QUANTILES.items():
        out[name] = g.quantile(q)
    return out.reset_index()


def fan_chart(table: pd.DataFrame, outcome: str, path: Path, title: str = "") -> None:
    """One outcome over the years: median and 25-75% / 5-95% bands per scenario."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table[table["outcome"] == outcome]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (sc, g) in enumerate(t.groupby("scenario", sort=True)):
        colour = f"C{i % 10}"
        ax.fill_between(g["year"], g["p5"], g["p95"], color=colour, alpha=0.15, lw=0)
        ax.fill_between(g["year"], g["p25"], g["p75"], color=colour, alpha=0.3, lw=0)
        ax.plot(g["year"], g["median"], color=colour,
                label=f"{sc} (median, 25-75%, 5-95%; {int(g['n'].max())} runs)")
    ax.set_xlabel("year")
    ax.set_ylabel(outcome.replace("_", " "))
    ax.set_title(title or outcome, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summarise(folder: Path, charts: bool = True) -> Path:
    """Write ``folder/summary`` (tables and fan charts) from a batch's parts.

    Raises:
        FileNotFoundError: The folder holds no batch results.
    """
    folder = Path(folder)
    if not (folder / "runs.parquet").exists():
        raise FileNotFoundError(f"{folder}: no runs.parquet; give a folder written by "
                                "`landsim batch`")
    parts = read_parts(folder)
    if parts.empty:
        raise FileNotFoundError(f"{folder}: no complete runs yet; run `landsim batch` first")
    table = distributions(parts)
    final = folder / "summary"
    with atomic_dir(final, exist="replace") as tmp:
        table.to_parquet(tmp / "distributions.parquet", index=False)
        table.to_csv(tmp / "distributions.csv", index=False)
        last = table[table["year"] == table["year"].max()]
        last.to_csv(tmp / "end_year.csv", index=False)
        if charts:
            for o in table["outcome"].unique():
                safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in o)
                fan_chart(table, o, tmp / f"fan_{safe}.png", f"{folder.name}: {o}")
    return final


def format_end_year(folder: Path) -> str:
    """The end-year table as text (median and 5-95% per scenario and outcome)."""
    t = pd.read_csv(Path(folder) / "summary" / "end_year.csv")
    lines = [f"{'scenario':<24} {'outcome':<30} {'runs':>5} {'median':>12} {'5%':>12} "
             f"{'95%':>12}"]
    for _, r in t.iterrows():
        lines.append(f"{r['scenario']:<24} {r['outcome']:<30} {int(r['n']):>5} "
                     f"{r['median']:>12,.0f} {r['p5']:>12,.0f} {r['p95']:>12,.0f}")
    return "\n".join(lines)
