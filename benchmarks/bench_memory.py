"""Breakdown of the peak memory of a 1:1 run: imports, world, model state, step temporaries.

Each repeat runs in a fresh process (``multiprocessing`` "spawn"). Resident memory
(``VmRSS``, and its high-water mark ``VmHWM``, which is ``ru_maxrss``) is read from
``/proc/self/status`` after each group of imports, after the world is built, after the model
is built and after stepping; ``tracemalloc`` (which sees numpy's arrays) gives the bytes the
parts of the model hold and the peak of temporaries above them while building the
population, during the spin-up and during a step. Resident memory includes shared libraries
(counted once per process) and heap that the allocator keeps after temporaries are freed,
so it exceeds the traced bytes.

Usage::

    python benchmarks/bench_memory.py --scale 1.0 --end-year 2050 [--no-numba]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _status() -> tuple[float, float]:
    """(VmRSS, VmHWM) in MiB."""
    with open("/proc/self/status", encoding="ascii") as f:
        d = dict(line.split(":", 1) for line in f)
    return int(d["VmRSS"].split()[0]) / 1024, int(d["VmHWM"].split()[0]) / 1024


def _nbytes(obj: Any, seen: set[int] | None = None) -> int:
    """Bytes of the numpy arrays reachable from ``obj`` (dataclasses, dicts, lists)."""
    import numpy as np

    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        # a view of another array is counted with it; an array that numba returned has a
        # non-array base (its memory record) and owns its data
        return obj.nbytes if not isinstance(obj.base, np.ndarray) else 0
    if isinstance(obj, dict):
        return sum(_nbytes(v, seen) for v in obj.values())
    if isinstance(obj, list | tuple):
        return sum(_nbytes(v, seen) for v in obj)
    if hasattr(obj, "__dict__"):
        return sum(_nbytes(v, seen) for v in vars(obj).values())
    return 0


def measure(scale: float, end_year: int, seed: int) -> dict[str, Any]:
    """One breakdown (meant to be called in a fresh process)."""
    steps: list[tuple[str, float, float]] = [("python", *_status())]
    import numpy
    steps.append(("numpy", *_status()))
    import pandas  # noqa: F401
    steps.append(("pandas", *_status()))
    import pyarrow  # noqa: F401
    import scipy.optimize
    import scipy.spatial  # noqa: F401
    steps.append(("scipy, pyarrow", *_status()))
    import pyproj  # noqa: F401
    import shapely  # noqa: F401
    steps.append(("shapely, pyproj", *_status()))
    import mesa  # noqa: F401
    steps.append(("mesa", *_status()))
    from sim import kernels
    if kernels.ENABLED:
        import numba  # noqa: F401
    steps.append(("numba" if kernels.ENABLED else "(numba off)", *_status()))
    import tracemalloc

    from sim.model import RegionModel
    from sim.params import Parameters
    from sim.world import get_world
    steps.append(("sim", *_status()))
    params = Parameters(scale=scale, end_year=end_year)
    world = get_world(params)
    world.nearer_sums(numpy.zeros(world.n), numpy.zeros(world.n))  # its sorted rows too
    steps.append(("world", *_status()))
    tracemalloc.start()
    model = RegionModel(params, seed=seed, world=world)
    init_traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    steps.append(("model (population, services, kernels, spin-up)", *_status()))
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    step_peak = 0.0
    while model.year < end_year:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        model.step()
        step_peak = max(step_peak, (tracemalloc.get_traced_memory()[1] - before) / 2**20)
    steps.append(("stepping", *_status()))
    grown = (tracemalloc.get_traced_memory()[0] - base) / 2**20
    tracemalloc.stop()
    mb = 2**20
    parts = {
        "world matrices (dist, car, bus, sorted rows)": _nbytes(world) / mb,
        "distance kernels": model.relocation.kernels.nbytes / mb,
        "jobs (workplace CDF)": _nbytes(model.jobs) / mb,
        "households": _nbytes(model.pop.households) / mb,
        "persons": _nbytes(model.pop.persons) / mb,
        "services": _nbytes(model.services) / mb,
        "records (all years)": _nbytes(model.records._place) / mb,
    }
    return {"scale": scale, "end_year": end_year, "numba": kernels.ENABLED,
            "rss": [{"after": k, "rss_mb": r, "peak_mb": h} for k, r, h in steps],
            "arrays_mb": parts, "households_end": len(model.pop.households),
            "persons_end": len(model.pop.persons),
            "traced_peak_during_init_mb": init_traced_peak,
            "traced_step_peak_above_state_mb": step_peak,
            "traced_growth_while_stepping_mb": grown,
            "peak_rss_mb": _status()[1]}


def format_report(res: dict[str, Any]) -> str:
    """The breakdown as a table."""
    lines = [f"memory at scale {res['scale']}, 2021-{res['end_year']}, compiled kernels "
             f"{'on' if res['numba'] else 'off'}: peak {res['peak_rss_mb']:.0f} MB (VmHWM)",
             f"{'after':<50}{'RSS MB':>9}{'+MB':>8}{'peak MB':>9}"]
    prev = 0.0
    for r in res["rss"]:
        lines.append(f"{r['after']:<50}{r['rss_mb']:>9.0f}{r['rss_mb'] - prev:>+8.0f}"
                     f"{r['peak_mb']:>9.0f}")
        prev = r["rss_mb"]
    lines.append("arrays held at the end (MB):")
    for k, v in res["arrays_mb"].items():
        lines.append(f"  {k:<48}{v:>9.1f}")
    lines.append(f"  traced peak while building the model          "
                 f"{res['traced_peak_during_init_mb']:>9.1f}")
    lines.append(f"  largest temporaries of a step (traced)        "
                 f"{res['traced_step_peak_above_state_mb']:>9.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--end-year", type=int, default=2050)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-numba", action="store_true", help="LANDSIM_NUMBA=0")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "memory.json")
    args = ap.parse_args(argv)
    if args.no_numba:
        os.environ["LANDSIM_NUMBA"] = "0"
    with mp.get_context("spawn").Pool(1) as pool:
        res = pool.apply(measure, (args.scale, args.end_year, args.seed))
    print(format_report(res))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
