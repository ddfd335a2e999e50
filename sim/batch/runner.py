"""Run an experiment's runs on Dask distributed and stream each result to Parquet.

A run is :func:`execute`, a pure top-level function of its :class:`RunSpec` (resolved
scenario with the factor values written in, integer seed, scale, outcomes to keep) returning
a compact table. The engine is a Dask ``LocalCluster`` on 127.0.0.1 (one single-threaded
worker process per core) or an existing scheduler (``tcp://host:8786``). The client keeps at
most a few runs in flight (``as_completed``), writes every finished run to its own Parquet
part and forgets it, so memory stays flat however many runs there are.

Results folder::

    RESULTS/
      parts/scenario=<name>/run-000042.parquet   one per finished run (year, outcome, value)
      failed/run-000042.json                     runs that failed after their retries
      runs.parquet                               index: one row per run (seeds, factors,
                                                 end-year outcomes, status), rebuilt from parts
      manifest.json                              provenance (experiment, seeds, commit, ...)
      .batch.lock                                held by the batch running into the folder

Parts are written to a temporary file and moved into place (:func:`sim.infra.atomic_file`),
so a part that exists is complete. Running the same experiment into the same folder again
skips every run whose part exists (resume); failed runs are tried again. A worker that dies
is replaced (nanny) and the scheduler reruns its task (``distributed.scheduler.allowed-
failures`` times); an error raised by a run is retried ``retries`` times; after that the run
is recorded as failed with its error.

While a batch runs it holds an operating-system lock on ``.batch.lock`` (its process id is
written in the file); a second batch into the same folder is refused at once
(:class:`BatchLockedError`). The lock dies with its process, SIGKILL included, so the run
that resumes a killed batch is never blocked.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..infra import (
    TMP_SUFFIX,
    InputFileError,
    LockedError,
    atomic_file,
    atomic_write,
    exclusive_lock,
    read_json,
)
from .experiment import Resolved, RunSpec, plan
from .outcomes import outcome_table

log = logging.getLogger(__name__)

PART = re.compile(r"^run-(\d{6,})\.parquet$")
META_KEY = b"landsim.run"
#: Lock file of a results folder, held by the batch writing into it (with its process id).
LOCK_FILE = ".batch.lock"


class BatchError(RuntimeError):
    """The batch cannot start (e.g. the folder holds another experiment's results)."""


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C: the batch stopped cleanly; completed runs are kept."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"{done} of {total} runs complete")
        self.done, self.total = done, total


def _need_dask():
    try:
        import distributed
    except ImportError:
        raise BatchError("batch runs need Dask distributed: pip install -e \".[batch]\"") \
            from None
    return distributed


# --------------------------------------------------------------------------- one run
def execute(spec: RunSpec, threads: int | None = None) -> pd.DataFrame:
    """One run: simulate ``spec`` and return its outcomes per year (pure, top-level).

    ``threads`` is the relocation draw's thread count (results do not depend on it).
    """
    from ..compare import run_one

    out = run_one(spec.scenario, spec.seed, spec.scale, threads=threads)
    return outcome_table(out.place_year, spec.keep, spec.places)


def part_table(spec: RunSpec, table: pd.DataFrame) -> pa.Table:
    """A run's Parquet part: its outcomes with run id, replication and seed on each row."""
    n = len(table)
    t = pa.table({
        "run_id": pa.array(np.full(n, spec.run_id), pa.int64()),
        "point": pa.array(np.full(n, spec.point), pa.int64()),
        "replication": pa.array(np.full(n, spec.replication), pa.int64()),
        "seed": pa.array(np.full(n, spec.seed), pa.int64()),
        "year": pa.array(table["year"].to_numpy(np.int16), pa.int16()),
        "outcome": pa.array(table["outcome"].astype(str).tolist(), pa.string()),
        "value": pa.array(table["value"].to_numpy(np.float64), pa.float64()),
    })
    return t.replace_schema_metadata({META_KEY: json.dumps(spec.meta(), sort_keys=True,
                                                           ensure_ascii=False)})


def part_path(folder: Path, spec: RunSpec) -> Path:
    """Where a run's part lives."""
    return folder / "parts" / f"scenario={spec.scenario.name}" / f"run-{spec.run_id:06d}.parquet"


def write_part(folder: Path, spec: RunSpec, table: pd.DataFrame) -> Path:
    """Write a run's part atomically; returns its path."""
    path = part_path(folder, spec)
    with atomic_file(path) as tmp:
        pq.write_table(part_table(spec, table), tmp)
    fail = folder / "failed" / f"run-{spec.run_id:06d}.json"
    fail.unlink(missing_ok=True)
    return path


def write_failure(folder: Path, spec: RunSpec, error: str) -> None:
    """Record a run that failed after its retries."""
    rec = {**spec.meta(), "status": "failed", "error": error}
    atomic_write(folder / "failed" / f"run-{spec.run_id:06d}.json",
                 json.dumps(rec, ensure_ascii=False, indent=1))


def completed(folder: Path) -> dict[int, Path]:
    """Run id -> part path of every complete part (temporary files are not parts)."""
    out: dict[int, Path] = {}
    for p in (Path(folder) / "parts").glob("scenario=*/run-*.parquet"):
        m = PART.match(p.name)
        if m:
            out[int(m.group(1))] = p
    return out


def remove_leftovers(folder: Path) -> int:
    """Delete temporary files left by a killed batch (call only when no batch is writing)."""
    n = 0
    for p in Path(folder).glob(f"**/.*{TMP_SUFFIX}"):
        p.unlink(missing_ok=True)
        n += 1
    return n


# --------------------------------------------------------------------------- index
def _read_part(p: Path) -> pq.ParquetFile:
    """A part, opened and checked to be one.

    Parts are written atomically, so a damaged part was damaged afterwards.

    Raises:
        BatchError: Not a readable part of a landsim batch.
    """
    try:
        f = pq.ParquetFile(p)
        if META_KEY not in (f.schema_arrow.metadata or {}):
            raise ValueError("no landsim run metadata")
    except (OSError, ValueError, pa.ArrowException) as e:
        raise BatchError(f"{p}: not a readable part of a landsim batch ({e}); delete it and "
                         "run the same `landsim batch` command again to redo that run") \
            from None
    return f


def read_parts(folder: Path) -> pd.DataFrame:
    """Every part of a results folder as one long table (with the ``scenario`` column)."""
    frames = []
    for _rid, p in sorted(completed(folder).items()):
        t = _read_part(p).read().to_pandas()
        t.insert(0, "scenario", p.parent.name.split("=", 1)[1])
        frames.append(t)
    if not frames:
        return pd.DataFrame(columns=["scenario", "run_id", "point", "replication", "seed",
                                     "year", "outcome", "value"])
    return pd.concat(frames, ignore_index=True)


def build_index(folder: Path) -> pd.DataFrame:
    """Rebuild ``runs.parquet`` from the parts and failure records (sorted by run id)."""
    folder = Path(folder)
    rows = []
    for _rid, p in sorted(completed(folder).items()):
        f = _read_part(p)
        meta = json.loads(f.schema_arrow.metadata[META_KEY])
        t = f.read().to_pandas()
        last = t[t["year"] == t["year"].max()]
        rows.append({**_meta_row(meta), "status": "complete", "error": "",
                     "end_year": int(last["year"].iloc[0]),
                     **dict(zip(last["outcome"], last["value"], strict=True))})
    done = {r["run_id"] for r in rows}
    for p in sorted((folder / "failed").glob("run-*.json")):
        try:
            meta = read_json(p, what="failure record", fix="delete it and run the same "
                             "`landsim batch` command again")
        except InputFileError as e:
            raise BatchError(str(e)) from None
        if meta["run_id"] not in done:
            rows.append({**_meta_row(meta), "status": "failed", "error": meta["error"]})
    df = pd.DataFrame(rows)
    if len(df):
        df = df.sort_values("run_id", kind="stable").reset_index(drop=True)
    with atomic_file(folder / "runs.parquet") as tmp:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
    return df


def _meta_row(meta: dict) -> dict:
    return {"run_id": meta["run_id"], "scenario": meta["scenario"], "point": meta["point"],
            "replication": meta["replication"], "seed": meta["seed"],
            "entropy": meta["entropy"], "spawn_key": ",".join(map(str, meta["spawn_key"])),
            "scale": meta["scale"], "scenario_sha256": meta["scenario_sha256"],
            **meta["factors"]}


# --------------------------------------------------------------------------- manifest
def _manifest(res: Resolved, n_runs: int, **extra) -> dict:
    from ..results import git_commit, input_choices, versions
    return {"experiment": res.experiment.name, "experiment_file": str(res.path),
            "experiment_sha256": res.digest(),
            "resolved_experiment": res.experiment.model_dump(mode="json"),
            "scenarios": {s.name: s.model_dump(mode="json") for s in res.scenarios},
            "factors": [vars(f) | {"values": list(f.values) if f.values else None}
                        for f in res.factors],
            "outcomes": res.outcome_names(),
            "seed": {"entropy": res.experiment.seed,
                     "method": "numpy SeedSequence(entropy); design = spawn 0, runs = "
                               "spawn 1; run i (or replication i with common random numbers) "
                               "= child i of runs; model seed = child.generate_state(1, "
                               "uint64) >> 1"},
            "n_runs": n_runs, "git_commit": git_commit(), "versions": versions(),
            **input_choices(), **extra}


def write_manifest(folder: Path, data: dict) -> None:
    """Write ``manifest.json`` atomically."""
    atomic_write(Path(folder) / "manifest.json",
                 json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


class BatchLockedError(BatchError):
    """Another ``landsim batch`` is running into the folder.

    Attributes:
        folder: The results folder.
        pid: Process id of the running batch (None if it could not be read).
    """

    def __init__(self, folder: Path, pid: int | None) -> None:
        who = f"a batch with PID {pid}" if pid is not None else "another batch"
        stop = f"kill {pid}" if pid is not None else "stop it"
        super().__init__(f"{folder} is in use: {who} is running into it; wait until it ends, "
                         f"or stop it (Ctrl-C in its terminal, or {stop}) and run the same "
                         "command again to resume")
        self.folder, self.pid = folder, pid


@contextlib.contextmanager
def lock_folder(folder: Path) -> Iterator[Path]:
    """Hold the batch lock of ``folder`` (the file :data:`LOCK_FILE` in it) for the block.

    The operating system drops the lock when the process ends in any way (SIGKILL
    included; see :func:`sim.infra.exclusive_lock`), so a killed batch never blocks the
    run that resumes it.

    Raises:
        BatchLockedError: Another process holds it.
    """
    try:
        with exclusive_lock(Path(folder) / LOCK_FILE) as path:
            yield path
    except LockedError as e:
        raise BatchLockedError(Path(folder), e.pid) from None


def check_folder(folder: Path, res: Resolved) -> dict | None:
    """The folder's manifest, after checking it holds this experiment's results.

    Raises:
        BatchError: The folder holds another experiment (or another version of this one).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BatchError(f"{folder} is a file, not a results folder; give another --out/--name")
    mf = folder / "manifest.json"
    if not os.path.lexists(mf):
        return None
    try:
        old = read_json(mf, what="batch manifest", fix="give another --out/--name, or remove "
                        "the folder to start again")
    except InputFileError as e:
        raise BatchError(str(e)) from None
    if not isinstance(old, dict) or old.get("experiment_sha256") != res.digest():
        raise BatchError(f"{folder} holds results of another experiment (or of an earlier "
                         f"version of {res.path.name}); give another --out/--name, or remove "
                         "the folder to start again")
    return old


# --------------------------------------------------------------------------- engine
@dataclass
class BatchResult:
    """What a batch did."""

    folder: Path
    total: int
    skipped: int
    completed: int
    failed: int
    seconds: float


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator:
    """A Dask client: on ``scheduler`` if given, else on a new LocalCluster on 127.0.0.1."""
    distributed = _need_dask()
    import dask

    for name in ("distributed", "bokeh", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in new workers; that disables glibc's dynamic
    # mmap threshold, so every large numpy temporary is mmapped and page-faulted afresh: a
    # landsim run took twice as long (benchmarks/README.md). Local workers go without it.
    with dask.config.set({"distributed.admin.tick.limit": "1h",
                          "logging.distributed": "critical",
                          "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        if scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout="20s")
            except OSError as e:
                raise BatchError(f"--scheduler {scheduler}: cannot connect ({e}); start it "
                                 "with `dask scheduler` or check the address") from None
            try:
                yield client
            finally:
                client.close()
            return
        n = workers or os.cpu_count() or 1
        # worker processes inherit an ignored SIGINT: Ctrl-C reaches the whole process group,
        # and only this client should react to it (cancel, write the index, shut down)
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            cluster = distributed.LocalCluster(
                host="127.0.0.1", n_workers=n, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.CRITICAL)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()


def run_batch(res: Resolved, folder: Path, *, workers: int | None = None,
              scheduler: str | None = None, retries: int = 2, progress: bool = False,
              max_in_flight: int | None = None,
              run: Callable[..., pd.DataFrame] = execute) -> BatchResult:
    """Run every run of ``res`` not yet in ``folder`` and stream results to it.

    Args:
        res: The validated experiment.
        folder: Results folder (created; resumed if it holds this experiment's results).
        workers: Worker processes of the local cluster (default: one per core).
        scheduler: Address of an existing Dask scheduler (then ``workers`` is ignored).
        retries: Extra attempts for a run that raises, before it is recorded as failed.
        progress: Show a tqdm bar with ETA.
        max_in_flight: Runs submitted at a time (default: twice the workers).
        run: The run function (a pure top-level function of a :class:`RunSpec`).

    Raises:
        BatchError: Dask missing, scheduler unreachable, or folder of another experiment.
        BatchLockedError: Another batch is running into ``folder``.
        BatchInterrupted: Ctrl-C; completed runs are kept, the index is rebuilt.
    """
    folder = Path(folder)
    runs = plan(res)
    check_folder(folder, res)  # before anything is written
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BatchError(f"{folder}: cannot create the results folder "
                         f"({e.strerror or type(e).__name__}); give another --out/--name") \
            from None
    with lock_folder(folder):
        return _run_locked(res, folder, runs, workers=workers, scheduler=scheduler,
                           retries=retries, progress=progress, max_in_flight=max_in_flight,
                           run=run)


def _run_locked(res: Resolved, folder: Path, runs: list[RunSpec], *, workers: int | None,
                scheduler: str | None, retries: int, progress: bool,
                max_in_flight: int | None,
                run: Callable[[RunSpec], pd.DataFrame]) -> BatchResult:
    """:func:`run_batch` while this process holds the folder's lock."""
    old = check_folder(folder, res)  # again: another batch may have written it meanwhile
    remove_leftovers(folder)  # safe: no other batch writes here
    have = completed(folder)
    todo = [s for s in runs if s.run_id not in have]
    engine = {"scheduler": scheduler} if scheduler else {"local_workers": workers or
                                                         os.cpu_count()}
    started = time.time()
    history = (old or {}).get("sessions", [])
    manifest = _manifest(res, len(runs), status="running", engine=engine, sessions=history)
    write_manifest(folder, manifest)
    n_ok = n_fail = 0
    seconds: list[float] = []
    interrupted = False
    bar = None
    try:
        if todo:
            from tqdm import tqdm
            bar = tqdm(total=len(runs), initial=len(runs) - len(todo), unit="run",
                       desc=res.experiment.name, disable=not progress, dynamic_ncols=True)
            with dask_client(workers, scheduler) as client:
                n_ok, n_fail, seconds = _drive(client, res, todo, folder, retries,
                                               max_in_flight, run, bar, scheduler is None)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
        index = build_index(folder)
        status = "interrupted" if interrupted else (
            "complete" if len(index) and (index["status"] == "complete").sum() == len(runs)
            else "incomplete")
        session = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                   "wall_seconds": round(time.time() - started, 2), "engine": engine,
                   "skipped": len(runs) - len(todo), "completed": n_ok, "failed": n_fail,
                   "mean_run_seconds": round(float(np.mean(seconds)), 3) if seconds else None}
        write_manifest(folder, {**manifest, "status": status,
                                "sessions": [*history, session],
                                "complete_runs": int((index["status"] == "complete").sum())
                                if len(index) else 0})
    if interrupted:
        raise BatchInterrupted(int((index["status"] == "complete").sum()) if len(index) else 0,
                               len(runs))
    return BatchResult(folder, len(runs), len(runs) - len(todo), n_ok, n_fail,
                       time.time() - started)


def _timed(run: Callable[..., pd.DataFrame], spec: RunSpec,
           threads: int) -> tuple[pd.DataFrame, float]:
    """Run on a worker with ``threads`` relocation threads (results do not depend on it)."""
    t0 = time.perf_counter()
    out = run(spec, threads=threads)
    return out, time.perf_counter() - t0


def _drive(client, res: Resolved, todo: list[RunSpec], folder: Path, retries: int,
           max_in_flight: int | None, run, bar,
           local: bool = True) -> tuple[int, int, list[float]]:
    """Submit runs with a bounded number in flight; write each result as it arrives."""
    from distributed import as_completed

    n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
    limit = max_in_flight or 2 * n_workers
    # the model draws destinations on up to 2 threads; with several worker processes on
    # the cores, one thread per run avoids oversubscription (processes are the parallelism)
    threads = max(1, (os.cpu_count() or 1) // n_workers) if local else 1
    tag = res.digest()[:10]
    pending = iter(todo)
    specs = {}

    def submit():
        spec = next(pending, None)
        if spec is None:
            return None
        fut = client.submit(_timed, run, spec, threads, key=f"landsim-{tag}-run-{spec.run_id}",
                            retries=retries, pure=False)
        specs[fut.key] = spec
        return fut

    first = [f for f in (submit() for _ in range(limit)) if f is not None]
    ac = as_completed(first)
    n_ok = n_fail = 0
    seconds: list[float] = []
    try:
        for fut in ac:
            spec = specs.pop(fut.key)
            if fut.status == "finished":
                table, secs = fut.result()
                write_part(folder, spec, table)
                seconds.append(secs)
                n_ok += 1
            else:
                try:
                    exc = fut.exception()
                except Exception as e:  # e.g. cancelled by a restarted scheduler
                    exc = e
                write_failure(folder, spec, f"{type(exc).__name__}: {exc}")
                log.warning("run %d failed: %s", spec.run_id, exc)
                n_fail += 1
            fut.release()
            bar.update(1)
            nxt = submit()
            if nxt is not None:
                ac.add(nxt)
    except BaseException:
        for f in list(ac.futures):
            f.cancel()
        raise
    return n_ok, n_fail, seconds


# --------------------------------------------------------------------------- dry run
def estimate(res: Resolved, folder: Path | None, workers: int) -> dict:
    """Number of runs and an estimate of the wall time.

    The time per run comes from earlier sessions in ``folder`` (their measured mean) or from
    a probe: one run of the first scenario built and stepped for two years in this process,
    extrapolated linearly to the run's years. Wall time assumes ``workers`` busy workers.
    """
    runs = plan(res)
    done = len(completed(folder)) if folder is not None and folder.is_dir() else 0
    todo = len(runs) - done
    per_run = None
    source = ""
    old = check_folder(folder, res) if folder is not None else None
    if old is not None:
        sessions = old.get("sessions", [])
        measured = [s["mean_run_seconds"] for s in sessions if isinstance(s, dict)
                    and isinstance(s.get("mean_run_seconds"), int | float)
                    and s["mean_run_seconds"] > 0]
        if measured:
            per_run, source = float(measured[-1]), "measured in the previous session"
    if per_run is None:
        from ..model import RegionModel
        from ..scenario import parameters
        from ..world import get_world
        spec = runs[0]
        params = parameters(spec.scenario).with_overrides(scale=spec.scale)
        get_world(params)
        t0 = time.perf_counter()
        m = RegionModel(params.with_overrides(end_year=params.base_year + 2),
                        seed=spec.seed, scenario=spec.scenario)
        t1 = time.perf_counter()
        m.run()
        t2 = time.perf_counter()
        years = params.end_year - params.base_year
        per_run = (t1 - t0) + (t2 - t1) / 2 * years
        source = "probe: the first run built and stepped 2 years here, extrapolated"
    workers = max(1, workers)
    return {"runs": len(runs), "done": done, "to_run": todo,
            "seconds_per_run": round(per_run, 2), "workers": workers,
            "wall_seconds": round(per_run * todo / workers, 1), "source": source}
