"""The Dask runner: identical results on every engine, resume after SIGKILL, worker death.

These tests start real Dask processes on 127.0.0.1 (a `dask scheduler` and two `dask
worker` processes on random free ports, and local clusters) and tiny runs (1% of the
households, one simulated year).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

pytest.importorskip("distributed")

from sim.batch.experiment import check, plan
from sim.batch.outcomes import _places
from sim.batch.runner import (
    build_index,
    completed,
    execute,
    run_batch,
    write_part,
)

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"
EXPERIMENT = f"""
name = "tiny"
scenarios = ["{SCEN / 'baseline.toml'}", "{SCEN / 'coop_grocers_west.toml'}"]
replications = 2
seed = 99
scale = 0.01
end_year = 2022

[design]
kind = "latin_hypercube"
samples = 2

[[uncertainties]]
path = "services.closure_hazard"
[[uncertainties]]
path = "relocation.move_rate[1]"
range = [0.15, 0.35]

[outcomes]
places = ["Asp"]
"""
N_RUNS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def stop(proc: subprocess.Popen) -> None:
    """End a process this test started, and its process group."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)
    else:
        try:  # children left behind by a killed client
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exp")
    path = folder / "tiny.toml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    res, problems = check(path, _places())
    assert not problems, problems
    return res


@pytest.fixture(scope="module")
def cluster():
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1."""
    port = free_port()
    env = {**os.environ, "DASK_LOGGING__DISTRIBUTED": "error"}
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host",
                               "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                              start_new_session=True)]
    try:
        wait_port(port)
        address = f"tcp://127.0.0.1:{port}"
        for _ in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dask", "worker", address, "--nworkers", "1",
                 "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT,
                start_new_session=True))
        from distributed import Client
        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for p in reversed(procs):
            stop(p)


def contents(folder: Path) -> dict[str, bytes]:
    """Bytes of every part and of runs.parquet, by relative path."""
    files = [*sorted((folder / "parts").rglob("*.parquet")), folder / "runs.parquet"]
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def reference(experiment, tmp_path_factory):
    """The experiment run without Dask, one run after the other in this process."""
    folder = tmp_path_factory.mktemp("reference")
    for spec in plan(experiment):
        write_part(folder, spec, execute(spec))
    build_index(folder)
    return folder


def test_reference_has_every_run_once(reference):
    """The plain reference holds one part per run and an index row per run."""
    idx = pd.read_parquet(reference / "runs.parquet")
    assert list(idx["run_id"]) == list(range(N_RUNS))
    assert (idx["status"] == "complete").all()
    assert set(idx["scenario"]) == {"baseline", "coop_grocers_west"}
    assert len(contents(reference)) == N_RUNS + 1


def test_identical_results_on_every_engine(experiment, reference, cluster, tmp_path):
    """Local cluster (one worker per core), external scheduler with two workers, a local
    cluster of 1 and of 2 workers: byte-identical parts and index, equal to running the
    same runs in one plain process."""
    want = contents(reference)
    engines = {"local": {}, "external": {"scheduler": cluster}, "one": {"workers": 1},
               "two": {"workers": 2}}
    for label, kw in engines.items():
        r = run_batch(experiment, tmp_path / label, **kw)
        assert (r.total, r.completed, r.failed) == (N_RUNS, N_RUNS, 0), label
        got = contents(tmp_path / label)
        assert got.keys() == want.keys(), label
        for k in want:
            assert got[k] == want[k], f"{label}: {k} differs"
        mf = json.loads((tmp_path / label / "manifest.json").read_text())
        assert mf["status"] == "complete" and mf["n_runs"] == N_RUNS


def test_a_plain_process_pool_gives_the_dask_results(experiment, reference, tmp_path):
    """Runs executed by a plain process pool (no Dask) write byte-identical parts and index
    to the Dask engine's and the in-process reference's."""
    from concurrent.futures import ProcessPoolExecutor

    specs = plan(experiment)
    with ProcessPoolExecutor(2) as ex:
        tables = list(ex.map(execute, specs))
    for spec, table in zip(specs, tables, strict=True):
        write_part(tmp_path, spec, table)
    build_index(tmp_path)
    assert contents(tmp_path) == contents(reference)
    run_batch(experiment, tmp_path / "dask", workers=2)
    assert contents(tmp_path / "dask") == contents(tmp_path)


def test_resume_skips_finished_runs_and_retries_missing_ones(experiment, reference, tmp_path):
    """Parts that exist are never recomputed; deleted ones are; the result is identical."""
    folder = tmp_path / "resume"
    shutil.copytree(reference, folder)
    gone = sorted(completed(folder).items())[3:6]
    for _, p in gone:
        p.unlink()
    (folder / "runs.parquet").unlink()
    before = {rid: p.stat().st_mtime_ns for rid, p in completed(folder).items()}
    r = run_batch(experiment, folder, workers=1)
    assert (r.skipped, r.completed) == (N_RUNS - 3, 3)
    assert {rid: p.stat().st_mtime_ns for rid, p in completed(folder).items()
            if rid in before} == before
    assert contents(folder) == contents(reference)


def test_other_experiment_in_the_folder_is_refused(experiment, reference, tmp_path):
    """Resuming into a folder of another experiment (different hash) is an error."""
    from sim.batch.runner import BatchError

    folder = tmp_path / "other"
    shutil.copytree(reference, folder)
    (folder / "manifest.json").write_text(json.dumps({"experiment_sha256": "0" * 64}))
    with pytest.raises(BatchError, match="another experiment"):
        run_batch(experiment, folder, workers=1)


def _default_sigint() -> None:
    # like a command started in a terminal: a test suite started in the background by a
    # script inherits an ignored SIGINT, which the child would inherit too
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_default_sigint, **kw)


def test_sigkill_of_the_client_then_rerun_gives_the_uninterrupted_result(
        experiment, reference, tmp_path):
    """`landsim batch` killed with SIGKILL mid-batch and run again ends with exactly the
    results of an uninterrupted batch: no run lost, none duplicated."""
    out = tmp_path / "out"
    args = ("batch", str(experiment.path), "--out", str(out), "--workers", "2",
            "--no-progress")
    proc = cli(*args)
    folder = out / "tiny"
    try:
        t0 = time.time()
        while len(completed(folder)) < 3 and time.time() - t0 < 300:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        stop(proc)
    n_before = len(completed(folder))
    assert 3 <= n_before < N_RUNS, "the kill came too late to test resuming"
    proc = cli(*args)
    try:
        _, stderr = proc.communicate(timeout=600)
    finally:
        stop(proc)
    assert proc.returncode == 0, stderr
    assert f"{n_before} already done" in stderr
    assert contents(folder) == contents(reference)
    idx = pd.read_parquet(folder / "runs.parquet")
    assert sorted(idx["run_id"]) == list(range(N_RUNS))


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(experiment, tmp_path):
    """SIGINT to the batch's process group (what Ctrl-C in a terminal sends): exit 130, a
    message saying how to resume, no traceback, manifest marked interrupted, index of the
    runs completed so far."""
    # many runs, so the batch cannot finish before the interrupt arrives
    path = tmp_path / "long.toml"
    path.write_text(EXPERIMENT.replace('name = "tiny"', 'name = "long"')
                    .replace("replications = 2", "replications = 25"), encoding="utf-8")
    proc = cli("batch", str(path), "--out", str(tmp_path), "--workers", "2", "--no-progress")
    folder = tmp_path / "long"
    try:
        t0 = time.time()
        while len(completed(folder)) < 1 and time.time() - t0 < 300:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        stop(proc)
    assert proc.returncode == 130, stderr
    assert "Run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    mf = json.loads((folder / "manifest.json").read_text())
    assert mf["status"] == "interrupted"
    idx = pd.read_parquet(folder / "runs.parquet")
    assert set(idx["run_id"]) == set(completed(folder))


def test_a_worker_killed_mid_run_is_survived(experiment, reference, cluster, tmp_path):
    """SIGKILL of a worker process while it runs: the nanny replaces it, the run is
    retried, and the batch ends complete with the reference results."""
    from distributed import Client

    proc = cli("batch", str(experiment.path), "--out", str(tmp_path), "--scheduler", cluster,
               "--no-progress")
    killed = None
    try:
        with Client(cluster, timeout="30s") as c:
            t0 = time.time()
            while killed is None and time.time() - t0 < 300:
                busy = {w: len(v) for w, v in c.processing().items() if v}
                if busy:
                    pids = c.run(os.getpid, workers=list(busy))
                    w, pid = next(iter(pids.items()))
                    os.kill(pid, signal.SIGKILL)
                    killed = w
                time.sleep(0.05)
        _, stderr = proc.communicate(timeout=600)
    finally:
        stop(proc)
    assert killed is not None
    assert proc.returncode == 0, stderr
    assert contents(tmp_path / "tiny") == contents(reference)


def boom_on_run_4(spec, threads=None):
    """A run function that fails for run 4 (to test failure records)."""
    if spec.run_id == 4:
        raise RuntimeError("deliberate failure in run 4")
    return execute(spec, threads)


def test_a_failing_run_is_retried_then_recorded_failed(experiment, tmp_path):
    """A run that keeps raising is retried, then recorded failed with its error; the other
    runs complete; running again retries only the failed run."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    r = run_batch(experiment, tmp_path, workers=1, retries=1, run=boom_on_run_4)
    assert (r.completed, r.failed) == (N_RUNS - 1, 1)
    idx = pd.read_parquet(tmp_path / "runs.parquet").set_index("run_id")
    assert idx.loc[4, "status"] == "failed"
    assert "deliberate failure in run 4" in idx.loc[4, "error"]
    assert json.loads((tmp_path / "manifest.json").read_text())["status"] == "incomplete"
    r = run_batch(experiment, tmp_path, workers=1)
    assert (r.skipped, r.completed, r.failed) == (N_RUNS - 1, 1, 0)
    idx = pd.read_parquet(tmp_path / "runs.parquet")
    assert (idx["status"] == "complete").all() and len(idx) == N_RUNS


def test_any_run_recreated_alone_from_its_stored_seed(experiment, reference):
    """A run rebuilt from runs.parquet alone (entropy, spawn key, factor values, scenario)
    reproduces its stored part exactly."""
    from sim.batch.experiment import RunSpec, apply_factors, run_seed
    from sim.batch.runner import part_table

    idx = pd.read_parquet(reference / "runs.parquet")
    row = idx.iloc[7]
    key = tuple(int(k) for k in row["spawn_key"].split(","))
    seed = run_seed(int(row["entropy"]), key)
    assert seed == row["seed"]
    sc = next(s for s in experiment.scenarios if s.name == row["scenario"])
    values = {f.label: row[f.label] for f in experiment.factors}
    spec = RunSpec(int(row["run_id"]), apply_factors(sc, values, experiment.factors),
                   int(row["point"]), int(row["replication"]), values, seed,
                   int(row["entropy"]), key, float(row["scale"]),
                   tuple(experiment.experiment.outcomes.keep), tuple(experiment.places))
    stored = pq.read_table(completed(reference)[7])
    assert part_table(spec, execute(spec)).equals(stored)


def test_dry_run_counts_runs_and_estimates_time(experiment, tmp_path):
    """--dry-run prints the number of runs and an estimate, and runs nothing."""
    proc = cli("batch", str(experiment.path), "--out", str(tmp_path), "--dry-run")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert f"{N_RUNS} runs (0 already done, {N_RUNS} to run)" in stdout
    assert "s per run" in stdout and "min with" in stdout
    assert not (tmp_path / "tiny").exists()


def test_bad_experiment_file_exits_2_without_traceback(tmp_path):
    """A broken experiment: exit status 2, one line per problem, nothing run."""
    p = tmp_path / "bad.toml"
    p.write_text(EXPERIMENT.replace("replications = 2", "replications = 0"))
    proc = cli("batch", str(p), "--out", str(tmp_path))
    _stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 2
    assert "replications" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "tiny").exists()


def test_local_workers_keep_glibcs_dynamic_mmap_threshold():
    """Rule: local Dask workers start without MALLOC_TRIM_THRESHOLD_ (Dask's nanny sets it by
    default, which disables glibc's dynamic mmap threshold and doubled a landsim run's time),
    while Dask's other worker settings (one BLAS thread) stay."""
    from sim.batch.runner import dask_client

    with dask_client(workers=1) as client:
        trim = client.submit(os.environ.get, "MALLOC_TRIM_THRESHOLD_", pure=False).result()
        omp = client.submit(os.environ.get, "OMP_NUM_THREADS", pure=False).result()
    assert trim is None
    assert omp == "1"


def test_a_second_batch_into_a_locked_folder_is_refused_at_once(experiment, tmp_path):
    """Rule: while a process holds the folder's lock, run_batch refuses with
    BatchLockedError naming the folder and that process's PID, before it writes anything."""
    from sim.batch.runner import LOCK_FILE, BatchLockedError, lock_folder

    folder = tmp_path / "tiny"
    folder.mkdir()
    with lock_folder(folder):
        t0 = time.perf_counter()
        with pytest.raises(BatchLockedError) as e:
            run_batch(experiment, folder, workers=1)
        assert time.perf_counter() - t0 < 5
    assert e.value.pid == os.getpid() and e.value.folder == folder
    assert f"{folder} is in use: a batch with PID {os.getpid()} is running" in str(e.value)
    assert sorted(p.name for p in folder.iterdir()) == [LOCK_FILE]


def test_second_batch_refused_while_the_first_runs_and_sigkill_resume_loses_nothing(
        experiment, reference, tmp_path):
    """`landsim batch` A runs (frozen with SIGSTOP after its first parts, so it surely still
    holds the lock); the same command B exits 2 at once with one line naming the folder and
    A's PID, and writes nothing. A is then killed with SIGKILL: the lock dies with it, and
    the same command again resumes and ends with every run present exactly once (the
    results of an uninterrupted batch)."""
    out = tmp_path / "out"
    args = ("batch", str(experiment.path), "--out", str(out), "--workers", "2",
            "--no-progress")
    folder = out / "tiny"
    a = cli(*args)
    try:
        t0 = time.time()
        while len(completed(folder)) < 2 and time.time() - t0 < 300:
            assert a.poll() is None, a.communicate()
            time.sleep(0.05)
        a.send_signal(signal.SIGSTOP)
        before = {p.name: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
        b = cli(*args)
        try:
            _, b_err = b.communicate(timeout=120)
        finally:
            stop(b)
        assert b.returncode == 2, b_err
        lines = b_err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in b_err
        assert f"{folder} is in use: a batch with PID {a.pid} is running into it" in lines[0]
        assert "run the same command again to resume" in lines[0]
        after = {p.name: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
        assert after == before
        a.send_signal(signal.SIGKILL)
        a.wait(30)
    finally:
        stop(a)
    n_before = len(completed(folder))
    assert 2 <= n_before < N_RUNS, "the kill came too late to test resuming"
    c = cli(*args)
    try:
        _, stderr = c.communicate(timeout=600)
    finally:
        stop(c)
    assert c.returncode == 0, stderr
    assert f"{n_before} already done" in stderr
    parts = sorted((folder / "parts").rglob("run-*.parquet"))
    assert [p.name for p in parts] == sorted(f"run-{i:06d}.parquet" for i in range(N_RUNS))
    idx = pd.read_parquet(folder / "runs.parquet")
    assert sorted(idx["run_id"]) == list(range(N_RUNS))
    assert contents(folder) == contents(reference)
