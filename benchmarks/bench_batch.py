"""Benchmark of the Dask batch engine: throughput with 1 and 2 workers, overhead.

The same runs (baseline scenario, N seeds, scale and end year below, so that one run takes
several seconds) are made three ways, each starting cold (a fresh process or cluster, the
world built once per process as in real use):

* plain: one fresh Python process calling ``sim.batch.runner.execute`` run after run and
  writing the same Parquet parts (no Dask);
* Dask with a local cluster of 1 worker process;
* Dask with a local cluster of 2 worker processes.

Reported: wall seconds, runs per minute, speed-up of 2 workers over 1 (goal >= 1.8x) and
the overhead of the 1-worker Dask engine over the plain process (goal <= 10%). The machine's
load average is recorded before and after each measurement: other processes on the machine
disturb the figures (with 2 cores, any other load lowers the 2-worker speed-up).

Usage::

    python benchmarks/bench_batch.py [--runs 12] [--scale 0.05] [--end-year 2040]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PLAIN = """
import sys, time
from pathlib import Path
from sim.batch.experiment import load, plan
from sim.batch.outcomes import _places
from sim.batch.runner import build_index, execute, write_part
res = load(sys.argv[1], _places())
out = Path(sys.argv[2])
for spec in plan(res):
    write_part(out, spec, execute(spec))
build_index(out)
"""


def experiment(folder: Path, runs: int, scale: float, end_year: int) -> Path:
    p = folder / "bench.toml"
    p.write_text(f"""
name = "bench"
scenarios = ["{ROOT / 'scenarios' / 'baseline.toml'}"]
replications = {runs}
seed = 1
scale = {scale}
end_year = {end_year}
""", encoding="utf-8")
    return p


def timed(label: str, fn) -> dict:
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()
    print(f"{label}: {wall:.1f} s (load {load0[0]:.2f} -> {load1[0]:.2f})", file=sys.stderr)
    return {"engine": label, "wall_seconds": round(wall, 2),
            "load_before": [round(x, 2) for x in load0],
            "load_after": [round(x, 2) for x in load1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--end-year", type=int, default=2040)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = ap.parse_args()

    from sim.batch.experiment import load
    from sim.batch.outcomes import _places
    from sim.batch.runner import run_batch

    tmp = Path(tempfile.mkdtemp(prefix="bench_batch-"))
    try:
        path = experiment(tmp, args.runs, args.scale, args.end_year)
        res = load(path, _places())
        rows = [timed("plain process", lambda: subprocess.run(
            [sys.executable, "-c", PLAIN, str(path), str(tmp / "plain")], check=True,
            cwd=ROOT))]
        for n in (1, 2):
            rows.append(timed(f"dask {n} worker{'s' if n > 1 else ''}",
                              lambda n=n: run_batch(res, tmp / f"dask{n}", workers=n)))
        same = all((tmp / "plain" / "runs.parquet").read_bytes()
                   == (tmp / f"dask{n}" / "runs.parquet").read_bytes() for n in (1, 2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for r in rows:
        r["runs_per_minute"] = round(60 * args.runs / r["wall_seconds"], 2)
    plain, d1, d2 = (r["wall_seconds"] for r in rows)
    summary = {"runs": args.runs, "scale": args.scale, "end_year": args.end_year,
               "cpu_count": os.cpu_count(), "results": rows,
               "speedup_2_over_1_workers": round(d1 / d2, 3),
               "dask_overhead_vs_plain": round(d1 / plain - 1, 4),
               "identical_results": same,
               "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_batch.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("| engine | wall s | runs/min | load avg before -> after (1 min) |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['engine']} | {r['wall_seconds']:.1f} | {r['runs_per_minute']:.2f} | "
              f"{r['load_before'][0]:.2f} -> {r['load_after'][0]:.2f} |")
    print(f"\nspeed-up 2 vs 1 workers: {summary['speedup_2_over_1_workers']:.2f}x; Dask "
          f"(1 worker) overhead vs plain process: {summary['dask_overhead_vs_plain']:+.1%}; "
          f"identical results: {same}")


if __name__ == "__main__":
    main()
