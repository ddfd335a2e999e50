"""The ``landsim batch``, ``sensitivity`` and ``summarise`` commands (part of sim.cli).

:func:`add_parsers` registers each command's handler; :func:`sim.cli.main` calls it with the
CLI's error handling. Parsing stays light (nothing heavy is imported until a command runs).
Bad files or arguments give one line per problem and exit status 2; Ctrl-C stops cleanly
(exit 130) and says how to resume.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..cli import EXIT_INTERRUPTED, EXIT_USAGE, _fail, _fail_all, show_progress

BATCH_HELP = """\
Run every run of an experiment (scenarios x design points x seeds) on Dask distributed and
stream each finished run to OUT/NAME (NAME defaults to the experiment's name):

  parts/scenario=<name>/run-NNNNNN.parquet  outcomes per year of one run
  runs.parquet                              one row per run: seed (entropy, spawn key,
                                            integer seed), factor values, end-year outcomes,
                                            status and error
  manifest.json                             experiment, scenarios, seeds, commit, versions
  discovery/                                PRIM box (table and plot) if the experiment has
                                            a [discovery] table (needs the 'ema' extra)

Running the same command again resumes: finished runs are kept, missing and failed runs are
run. By default a local cluster on 127.0.0.1 with one worker process per core; --scheduler
tcp://HOST:8786 uses a running `dask scheduler` (workers started with `dask worker`).
"""


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"takes a whole number of at least 1, not {text!r}")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"takes a whole number of at least 0, not {text!r}")
    return int(text)


def _scheduler(text: str) -> str:
    if not re.fullmatch(r"(tcp|tls|ws|wss|inproc)://[^\s/]+(:\d+)?|[^\s/:]+:\d+", text):
        raise argparse.ArgumentTypeError(f"--scheduler takes an address like "
                                         f"tcp://127.0.0.1:8786, not {text!r}")
    return text


def _engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", type=Path, metavar="EXPERIMENT",
                   help="experiment file (see experiments/ and docs/BATCH.md)")
    p.add_argument("--out", type=Path, default=Path("results"),
                   help="folder for result folders (default ./results)")
    p.add_argument("--name", default=None, help="result folder name (default: the "
                   "experiment's name); the same name resumes")
    p.add_argument("--workers", type=_positive, default=None,
                   help="worker processes of the local cluster (default: one per core)")
    p.add_argument("--scheduler", type=_scheduler, default=None, metavar="ADDRESS",
                   help="use a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--retries", type=_count, default=2,
                   help="extra attempts for a run that raises an error (default 2)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the number of runs and a time estimate; run nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_parsers(sub) -> None:
    """Add ``batch``, ``sensitivity`` and ``summarise`` to the landsim subparsers."""
    b = sub.add_parser("batch", help="run an experiment on Dask (resumable)",
                       description=BATCH_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _engine_options(b)
    b.set_defaults(func=batch)
    s = sub.add_parser("sensitivity", help="Morris / Sobol sensitivity analysis (SALib)",
                       description="Run a Morris or Sobol experiment (as `landsim batch`, "
                       "resumable) and write to OUT/NAME/sensitivity: indices with bootstrap "
                       "confidence intervals, plots, and how many seeds each outcome needs.")
    _engine_options(s)
    s.set_defaults(func=sensitivity)
    m = sub.add_parser("summarise", help="outcome distributions and fan charts of a batch",
                       description="Tables of outcome distributions per scenario and year "
                       "(n, mean, median, 5/25/75/95%) and fan charts, written to "
                       "RESULTS/summary.")
    m.add_argument("results", type=Path, metavar="RESULTS", help="a folder written by "
                   "`landsim batch`")
    m.add_argument("--no-charts", action="store_true", help="tables only")
    m.set_defaults(func=summarise)


def _load(args: argparse.Namespace):
    from ..places import build_places
    from .experiment import check

    res, problems = check(args.experiment, build_places().places)
    if problems:
        _fail_all(problems)
    return res


def _folder(args: argparse.Namespace, res) -> Path | None:
    name = args.name or res.experiment.name
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        _fail(f"--name may use letters, digits, '.', '_' and '-' only, not {name!r}")
        return None
    return args.out / name


def _run(args: argparse.Namespace, res, folder: Path) -> int | None:
    """Dry run or the batch itself; returns an exit status to stop with, or None."""
    import os

    from .runner import BatchError, BatchInterrupted, check_folder, estimate, run_batch

    if args.scheduler and args.workers:
        return _fail("give either --workers (local cluster) or --scheduler, not both")
    if args.dry_run:
        try:
            check_folder(folder, res)
        except BatchError as e:
            return _fail(str(e))
        workers = args.workers or (os.cpu_count() or 1)
        e = estimate(res, folder, workers)
        print(f"{res.experiment.name}: {e['runs']} runs ({e['done']} already done, "
              f"{e['to_run']} to run); about {e['seconds_per_run']:.1f} s per run "
              f"({e['source']}); about {e['wall_seconds'] / 60:.1f} min with {workers} "
              "busy worker(s)" + (" (workers of the external scheduler not counted)"
                                  if args.scheduler else ""))
        return 0
    show = show_progress(args)
    try:
        r = run_batch(res, folder, workers=args.workers, scheduler=args.scheduler,
                      retries=args.retries, progress=show)
    except BatchError as e:
        return _fail(str(e))
    except BatchInterrupted as e:
        sys.stderr.write(f"landsim: interrupted; {e.done} of {e.total} runs are complete in "
                         f"{folder}. Run the same command again to resume.\n")
        return EXIT_INTERRUPTED
    print(f"{res.experiment.name}: {r.total} runs: {r.skipped} already done, {r.completed} "
          f"run now, {r.failed} failed, in {r.seconds:.0f} s", file=sys.stderr)
    if r.failed:
        sys.stderr.write(f"landsim: {r.failed} run(s) failed (see the 'error' column of "
                         f"{folder / 'runs.parquet'}); run the same command again to retry "
                         "them\n")
        return 1
    return None


def batch(args: argparse.Namespace) -> int:
    """``landsim batch EXPERIMENT``."""
    res = _load(args)
    if res is None:
        return EXIT_USAGE
    folder = _folder(args, res)
    if folder is None:
        return EXIT_USAGE
    status = _run(args, res, folder)
    if status is not None:
        return status
    if res.experiment.discovery is not None:
        from .ema import discover, format_box
        try:
            found = discover(res, folder)
        except ImportError as e:
            return _fail(f"{e}; then run the same command again (the runs are kept)")
        except ValueError as e:
            return _fail(f"scenario discovery: {e}")
        except Exception as e:  # a failure inside the EMA Workbench: runs are kept
            sys.stderr.write(f"landsim: scenario discovery failed ({type(e).__name__}: {e}); "
                             f"the runs are complete in {folder}\n")
            return 1
        print(format_box(found), file=sys.stderr)
    print(folder)
    return 0


def sensitivity(args: argparse.Namespace) -> int:
    """``landsim sensitivity EXPERIMENT``."""
    res = _load(args)
    if res is None:
        return EXIT_USAGE
    if res.experiment.design.kind not in ("morris", "sobol"):
        return _fail(f"{args.experiment}: design.kind = '{res.experiment.design.kind}': "
                     "sensitivity analysis needs design.kind = 'morris' or 'sobol'")
    folder = _folder(args, res)
    if folder is None:
        return EXIT_USAGE
    try:
        from .sensitivity import _salib
        _salib()
    except ImportError as e:
        return _fail(str(e))
    status = _run(args, res, folder)
    if status is not None:
        return status
    from .sensitivity import analyse, format_ranking
    try:
        tables = analyse(res, folder)
    except ValueError as e:
        return _fail(str(e))
    if "morris" in tables:
        print("Morris ranking (mu*, bootstrap CI):\n" + format_ranking(tables["morris"]),
              file=sys.stderr)
    adv = tables["seeds_needed"]
    for _, a in adv.iterrows():
        need = "n/a (needs 2+ replications)" if a["seeds_needed"] != a["seeds_needed"] \
            else f"{int(a['seeds_needed'])}"
        print(f"seeds for ±{a['target_relative_half_width']:.0%} on {a['outcome']} "
              f"({a['group']}): {need}", file=sys.stderr)
    print(folder / "sensitivity")
    return 0


def summarise(args: argparse.Namespace) -> int:
    """``landsim summarise RESULTS``."""
    from .runner import BatchError
    from .summarise import format_end_year
    from .summarise import summarise as run

    try:
        out = run(args.results, charts=not args.no_charts)
    except (FileNotFoundError, BatchError) as e:
        return _fail(str(e))
    print(format_end_year(args.results), file=sys.stderr)
    print(out)
    return 0
