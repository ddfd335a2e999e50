"""Benchmark of the whole model: init time, stepping throughput, per-process time, peak memory.

Each repeat runs in a fresh process (``multiprocessing`` "spawn"), so the world cache of
:func:`sim.world.get_world` is cold and the peak resident memory (``ru_maxrss``) belongs to
that run alone. A repeat

1. builds the world (:func:`sim.world.get_world`) and times it,
2. builds :class:`sim.model.RegionModel` on that world (synthetic population, services,
   housing, kernels) and times it,
3. steps from the base year (2021) to ``--end-year`` and times every step.

Throughput is household-years per second: the number of households at the start of each step
summed over steps, divided by the seconds spent in ``step()``. Per-process seconds come from
``model.timings``. Then, in one more fresh process, the naive object-per-household Mesa
reference of the relocation rule (:mod:`naive_mesa`) is timed against the vectorised rule on
the same sample of households. Medians, minima and maxima over repeats are printed next to the
targets and written as JSON.

Usage::

    python benchmarks/bench_model.py --scale 1.0 --end-year 2050 --repeats 3 \
        --out benchmarks/out/results.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import naive_mesa  # noqa: E402
from sim.model import RegionModel  # noqa: E402
from sim.params import Parameters  # noqa: E402
from sim.world import get_world  # noqa: E402

#: Targets printed next to the results.
TARGET_HHY_PER_S = 2_500_000
GOAL_HHY_PER_S = 3_000_000
TARGET_PEAK_MB = 350.0
TARGET_RATIO = 20.0
PROCESSES = ("demography", "migration", "services", "relocation", "housing", "records")


def _peak_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if sys.platform != "darwin" else rss / 2**20


def sim_digest() -> str:
    """Short SHA-256 of the source of ``sim/`` (to tell whether the code changed mid-run)."""
    h = hashlib.sha256()
    for f in sorted((ROOT / "sim").glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def run_once(scale: float, end_year: int, seed: int) -> dict[str, Any]:
    """One timed run (meant to be called in a fresh process).

    Args:
        scale: Share of households simulated.
        end_year: Last simulated 1 January.
        seed: Seed of the run.

    Returns:
        Seconds of world build, model init and stepping, household-years per second,
        per-process seconds and peak memory.
    """
    from sim import kernels

    digest = sim_digest()
    params = Parameters(scale=scale, end_year=end_year)
    t0 = time.perf_counter()
    world = get_world(params)
    t1 = time.perf_counter()
    model = RegionModel(params, seed=seed, world=world)
    t2 = time.perf_counter()
    peak_after_init = _peak_mb()
    households_start = len(model.pop.households)
    household_years = 0
    step_s: list[float] = []
    while model.year < end_year:
        household_years += len(model.pop.households)
        ts = time.perf_counter()
        model.step()
        step_s.append(time.perf_counter() - ts)
    stepping = sum(step_s)
    timings = {k: float(model.timings.get(k, 0.0)) for k in PROCESSES}
    timings.update({k: float(v) for k, v in model.timings.items() if k not in timings})
    return {
        "seed": seed,
        "numba": kernels.ENABLED,
        "sim_digest": digest,
        "sim_digest_after": sim_digest(),
        "load_avg_1min_end": os.getloadavg()[0],
        "world_s": t1 - t0,
        "init_s": t2 - t1,
        "init_total_s": t2 - t0,
        "years": len(step_s),
        "households_start": households_start,
        "households_end": len(model.pop.households),
        "persons_end": len(model.pop.persons),
        "household_years": household_years,
        "stepping_s": stepping,
        "step_s": step_s,
        "household_years_per_s": household_years / stepping,
        "relocation_households_per_s": household_years / max(timings["relocation"], 1e-12),
        "timings_s": timings,
        "untimed_step_s": stepping - sum(timings.values()),
        "peak_rss_mb_after_init": peak_after_init,
        "peak_rss_mb": _peak_mb(),
    }


def run_naive(scale: float, sample: int, reps: int, seed: int,
              step_reps: int = 3) -> dict[str, Any]:
    """Naive Mesa references vs the model (meant to be called in a fresh process).

    Both comparisons run in this one process on the same sample of households: the
    relocation rule alone (:func:`naive_mesa.compare`) and the whole step, demography and
    relocation with households and persons as agents (:func:`naive_mesa.compare_step`).
    """
    t0 = time.perf_counter()
    model = naive_mesa.build_model(scale, seed)
    inputs = naive_mesa.inputs_from_model(model)
    res = naive_mesa.compare(inputs, sample=sample, reps=reps, seed=seed)
    res["whole_step"] = naive_mesa.compare_step(naive_mesa.StepInputs(inputs, model),
                                                sample=sample, reps=step_reps, seed=seed)
    res["sim_digest"] = sim_digest()
    res["inputs_build_s"] = time.perf_counter() - t0
    res["peak_rss_mb"] = _peak_mb()
    return res


def in_fresh_process(func: Any, *args: Any) -> Any:
    """Call ``func(*args)`` in a new spawned process and return its result."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(func, args)


def summarise(values: list[float]) -> dict[str, float]:
    """Median, minimum and maximum of ``values``."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def machine() -> dict[str, Any]:
    """Machine and library versions (for the JSON and the README)."""
    import mesa
    import numpy as np

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       cpu)
    except OSError:
        pass
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gb = float("nan")
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gb": round(mem_gb, 1),
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "mesa": mesa.__version__}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median / min / max over repeats of every headline figure."""
    keys = ("household_years_per_s", "world_s", "init_s", "init_total_s", "stepping_s",
            "peak_rss_mb", "peak_rss_mb_after_init", "relocation_households_per_s",
            "household_years")
    out: dict[str, Any] = {k: summarise([r[k] for r in runs]) for k in keys}
    out["timings_s"] = {k: summarise([r["timings_s"].get(k, 0.0) for r in runs])
                        for k in runs[0]["timings_s"]}
    return out


def _row(label: str, s: dict[str, float], fmt: str, target: str = "", ok: bool | None = None
         ) -> str:
    verdict = "" if ok is None else ("  met" if ok else "  NOT met")
    return (f"{label:<34}{s['median']:>14{fmt}}{s['min']:>14{fmt}}{s['max']:>14{fmt}}"
            f"  {target}{verdict}")


def format_table(result: dict[str, Any]) -> str:
    """Readable table of the headline figures with targets."""
    s = result["summary"]
    meta = result["meta"]
    hhy = s["household_years_per_s"]
    stepping = s["stepping_s"]["median"]
    lines = [
        f"landsim benchmark: scale {meta['scale']}, {meta['base_year']}->{meta['end_year']} "
        f"({meta['years']} steps), {meta['repeats']} repeats, each in a fresh process",
        f"machine: {meta['machine']['cpus']} cpus ({meta['machine']['cpu']}), "
        f"{meta['machine']['memory_gb']} GB; python {meta['machine']['python']}, "
        f"compiled kernels (numba) {'on' if meta.get('numba') else 'off'}; "
        f"numpy {meta['machine']['numpy']}, mesa {meta['machine']['mesa']}; load average "
        f"{meta['load_avg_1min']['start']:.2f} at start, {meta['load_avg_1min']['end']:.2f} at end "
        "(> 0.2 before the run means other work shares the cpus)",
        "",
        f"{'metric':<34}{'median':>14}{'min':>14}{'max':>14}  target",
        "-" * 100,
        _row("household-years / s", hhy, ",.0f",
             f">= {TARGET_HHY_PER_S:,} (goal {GOAL_HHY_PER_S:,})",
             hhy["median"] >= TARGET_HHY_PER_S),
        _row("household-years stepped", s["household_years"], ",.0f"),
        _row("world build s (get_world)", s["world_s"], ".2f"),
        _row("init s (RegionModel, world given)", s["init_s"], ".2f"),
        _row("init s total", s["init_total_s"], ".2f"),
        _row("stepping s", s["stepping_s"], ".2f"),
        _row("peak memory MB (ru_maxrss)", s["peak_rss_mb"], ",.0f",
             f"<= {TARGET_PEAK_MB:,.0f}", s["peak_rss_mb"]["median"] <= TARGET_PEAK_MB),
        _row("  of which after init MB", s["peak_rss_mb_after_init"], ",.0f"),
        "",
        "per process (model.timings, s summed over steps)                    share of stepping",
    ]
    for k, v in s["timings_s"].items():
        lines.append(_row(f"  {k}", v, ".2f", f"{100 * v['median'] / stepping:5.1f}%"))
    lines.append(_row("  relocation households / s", s["relocation_households_per_s"], ",.0f"))
    naive = result.get("naive")
    if naive:
        lines += ["", naive_mesa.format_report(naive)]
        ok = naive["ratio"] >= TARGET_RATIO
        lines.append(f"  ratio vs target: {naive['ratio']:.1f}x >= {TARGET_RATIO:.0f}x "
                     f"{'met' if ok else 'NOT met'}")
        model_rel = s["relocation_households_per_s"]["median"]
        lines.append(f"  whole relocation process of the model (above) vs naive: "
                     f"{model_rel / naive['naive']['households_per_s']:.1f}x")
        if naive.get("whole_step"):
            lines += ["", naive_mesa.format_step_report(naive["whole_step"])]
    if len(set(result["meta"]["sim_digests"])) > 1:
        lines.append("\nWARNING: sim/ changed during the benchmark (digests "
                     f"{', '.join(result['meta']['sim_digests'])}); figures mix code versions")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="share of households simulated")
    ap.add_argument("--end-year", type=int, default=2050,
                    help="last simulated 1 January (steps run from the base year 2021)")
    ap.add_argument("--repeats", type=int, default=3, help="runs, each in a fresh process")
    ap.add_argument("--seed", type=int, default=0, help="seed of every repeat")
    ap.add_argument("--vary-seeds", action="store_true",
                    help="use seed + repeat index (default: the same seed, identical work)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "results.json")
    ap.add_argument("--naive-sample", type=int, default=20_000,
                    help="households in the naive-vs-vectorised comparison")
    ap.add_argument("--naive-reps", type=int, default=5, help="naive repetitions")
    ap.add_argument("--naive-scale", type=float, default=None,
                    help="model scale the comparison's inputs come from (default --scale)")
    ap.add_argument("--skip-naive", action="store_true", help="do not run the naive reference")
    ap.add_argument("--no-numba", action="store_true",
                    help="run the numpy twins of the compiled kernels (LANDSIM_NUMBA=0)")
    args = ap.parse_args(argv)
    if args.no_numba:
        os.environ["LANDSIM_NUMBA"] = "0"  # inherited by the spawned processes

    base_year = Parameters().base_year
    Parameters(scale=args.scale, end_year=args.end_year)  # validate before spawning
    runs = []
    load_start = os.getloadavg()[0]
    t_all = time.perf_counter()
    for r in range(args.repeats):
        seed = args.seed + r if args.vary_seeds else args.seed
        res = in_fresh_process(run_once, args.scale, args.end_year, seed)
        runs.append(res)
        print(f"repeat {r + 1}/{args.repeats} (seed {seed}): "
              f"{res['household_years_per_s']:,.0f} household-years/s, "
              f"init {res['init_total_s']:.2f} s, stepping {res['stepping_s']:.1f} s, "
              f"peak {res['peak_rss_mb']:,.0f} MB", flush=True)
    naive = None
    if not args.skip_naive:
        scale = args.naive_scale if args.naive_scale is not None else args.scale
        naive = in_fresh_process(run_naive, scale, args.naive_sample, args.naive_reps,
                                 args.seed)
    result = {
        "meta": {"scale": args.scale, "base_year": base_year, "end_year": args.end_year,
                 "years": args.end_year - base_year, "repeats": args.repeats,
                 "seeds": [r["seed"] for r in runs], "machine": machine(),
                 "numba": all(r["numba"] for r in runs),
                 "sim_digests": sorted({d for r in runs
                                        for d in (r["sim_digest"], r["sim_digest_after"])}
                                       | ({naive["sim_digest"]} if naive else set())),
                 "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                 "wall_s": time.perf_counter() - t_all,
                 "load_avg_1min": {"start": load_start, "end": os.getloadavg()[0]}},
        "targets": {"household_years_per_s": TARGET_HHY_PER_S,
                    "household_years_per_s_goal": GOAL_HHY_PER_S,
                    "peak_rss_mb": TARGET_PEAK_MB, "naive_ratio": TARGET_RATIO},
        "summary": summary(runs),
        "runs": runs,
        "naive": naive,
    }
    print()
    print(format_table(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
