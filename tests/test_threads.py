"""BLAS thread pools: solvers and workers run with the threads the policy gives them.

Correctness only (never timing): the thread counts are read back with threadpoolctl where
the work runs: inside the nodal solver, inside worker processes, inside Dask tasks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from cimspice import simulate, spec_from_dict
from cimspice.engines import nodal
from cimspice.engines.ngspice_process import WorkerProcess
from cimspice.errors import InputError
from cimspice.threads import (
    BLAS_THREADS_ENV,
    THREAD_ENV_VARS,
    available_cpus,
    blas_threads,
    call_with_one_blas_thread,
    cgroup_cpu_limit,
    solver_threads,
    worker_environment,
)

SPEC = spec_from_dict({"array": {"rows": 8, "cols": 8}, "wire": {"r_row": 2.0, "r_col": 2.0}})
G = np.full((8, 8), 1e-5)
V = np.full((3, 8), 0.1)


def blas_counts() -> list[int]:
    """The thread count of every loaded BLAS library."""
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def probe() -> list[int]:
    """What a worker sees (numpy loaded first, so its BLAS is)."""
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def two_blas_threads():
    """The process's BLAS at 2 threads (as on an idle 2-core machine), whatever it was."""
    if not blas_counts():
        pytest.fail("numpy's BLAS is not visible to threadpoolctl")
    with threadpool_limits(limits=2, user_api="blas"):
        yield


# ----- the cores a process has -----


def test_cgroup_v2_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path) == 2.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_no_cgroup_files_mean_no_quota(tmp_path):
    assert cgroup_cpu_limit(tmp_path) is None
    (tmp_path / "cpu.max").write_text("garbage\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_available_cpus_follow_affinity_and_quota(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr("cimspice.threads.cgroup_cpu_limit", lambda: None)
    assert available_cpus() == 4
    monkeypatch.setattr("cimspice.threads.cgroup_cpu_limit", lambda: 1.5)
    assert available_cpus() == 2  # rounded up, as joblib does
    monkeypatch.setattr("cimspice.threads.cgroup_cpu_limit", lambda: 0.2)
    assert available_cpus() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    monkeypatch.setattr("cimspice.threads.cgroup_cpu_limit", lambda: 8.0)
    assert available_cpus() == 1


# ----- the solvers' policy -----


def test_solver_threads_default_and_override(monkeypatch):
    monkeypatch.delenv(BLAS_THREADS_ENV, raising=False)
    assert solver_threads() == 1
    monkeypatch.setattr("cimspice.threads.available_cpus", lambda: 4)
    monkeypatch.setenv(BLAS_THREADS_ENV, "3")
    assert solver_threads() == 3
    monkeypatch.setenv(BLAS_THREADS_ENV, "16")
    assert solver_threads() == 4  # never more than the cores the process has


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_override_is_an_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(BLAS_THREADS_ENV, value)
    with pytest.raises(InputError, match=BLAS_THREADS_ENV):
        solver_threads()


def test_blas_threads_limits_and_restores(two_blas_threads):
    assert set(blas_counts()) == {2}
    with blas_threads(1):
        assert set(blas_counts()) == {1}
        with blas_threads(2):  # a nested, larger request does not raise the limit
            assert set(blas_counts()) == {1}
        assert set(blas_counts()) == {1}
    assert set(blas_counts()) == {2}


def test_the_blas_libraries_are_looked_for_again_after_an_import(two_blas_threads, monkeypatch):
    # finding the loaded BLAS libraries walks every shared library, so blas_threads keeps
    # the answer, and looks again once a module has been imported (libraries arrive with
    # extension modules, e.g. scipy's own OpenBLAS after numpy's)
    import threadpoolctl

    from cimspice import threads

    scans = []
    real = threadpoolctl.ThreadpoolController.__init__

    def counting(self: threadpoolctl.ThreadpoolController) -> None:
        scans.append(1)
        real(self)

    monkeypatch.setattr(threadpoolctl.ThreadpoolController, "__init__", counting)
    monkeypatch.setattr(threads, "_BLAS_FOUND", {})
    for _ in range(3):
        with blas_threads(1):
            pass
    assert len(scans) == 1
    monkeypatch.setitem(sys.modules, "cimspice_test_newly_imported", sys)
    with blas_threads(1):
        assert len(scans) == 2
        assert set(blas_counts()) == {1}  # the libraries found again are limited
    assert set(blas_counts()) == {2}


def test_a_thread_leaving_first_does_not_lift_the_main_threads_limit(two_blas_threads):
    # threadpool_limits alone: a thread that enters first saves 2, and restores 2 when it
    # leaves while the main thread still relies on its limit of 1
    entered, leave, left = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        with blas_threads(1):
            entered.set()
            leave.wait(10)
        left.set()

    worker = threading.Thread(target=hold)
    worker.start()
    assert entered.wait(10)
    with blas_threads(1):
        assert set(blas_counts()) == {1}
        leave.set()
        assert left.wait(10)
        assert set(blas_counts()) == {1}  # still limited
    worker.join()
    assert set(blas_counts()) == {2}  # and the original count is back


def test_nodal_solves_run_with_the_solver_threads(two_blas_threads, monkeypatch):
    monkeypatch.delenv(BLAS_THREADS_ENV, raising=False)
    seen: list[set[int]] = []
    original = nodal.NodalSolver.node_potentials

    def spy(self, inputs):
        seen.append(set(blas_counts()))
        return original(self, inputs)

    monkeypatch.setattr(nodal.NodalSolver, "node_potentials", spy)
    simulate(SPEC, G, V, engine="nodal")  # the conditioning check's solve, then the batch's
    assert seen and all(counts == {1} for counts in seen)
    seen.clear()
    monkeypatch.setenv(BLAS_THREADS_ENV, "2")
    monkeypatch.setattr("cimspice.threads.available_cpus", lambda: 2)
    simulate(SPEC, G, V, engine="nodal")
    assert seen and all(counts == {2} for counts in seen)
    assert set(blas_counts()) == {2}  # and the process's own count is back


def test_nonlinear_nodal_solves_run_with_the_solver_threads(two_blas_threads, monkeypatch):
    monkeypatch.delenv(BLAS_THREADS_ENV, raising=False)
    seen: list[set[int]] = []
    original = nodal.solve_cell_voltages

    def spy(*args, **kwargs):
        seen.append(set(blas_counts()))
        return original(*args, **kwargs)

    monkeypatch.setattr(nodal, "solve_cell_voltages", spy)
    sinh = spec_from_dict({"array": {"rows": 8, "cols": 8}, "device": {"iv": "sinh"}})
    simulate(sinh, G, V, engine="nodal")
    assert seen == [{1}]


# ----- workers -----


def test_worker_environment_sets_every_runtime_to_one_thread():
    env = worker_environment({"OPENBLAS_NUM_THREADS": "8", "PATH": "/bin"})
    assert env["PATH"] == "/bin"
    assert all(env[name] == "1" for name in THREAD_ENV_VARS)


def test_a_process_started_with_the_worker_environment_has_one_blas_thread():
    code = "import json, numpy; from threadpoolctl import threadpool_info; " + (
        "print(json.dumps([i['num_threads'] for i in threadpool_info() "
        "if i['user_api'] == 'blas']))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=worker_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    counts = json.loads(out.stdout)
    assert counts and set(counts) == {1}


def test_the_ngspice_worker_process_starts_with_one_blas_thread(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # the caller's own setting
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    worker = WorkerProcess(tmp_path / "run")
    try:
        environ = Path(f"/proc/{worker._proc.pid}/environ").read_bytes().split(b"\0")
    finally:
        worker.discard()
    entries = dict(e.decode().split("=", 1) for e in environ if b"=" in e)
    for name in THREAD_ENV_VARS:
        assert entries.get(name) == "1", name


def test_call_with_one_blas_thread(two_blas_threads):
    assert set(call_with_one_blas_thread(blas_counts)) == {1}
    assert set(blas_counts()) == {2}


def test_dask_workers_and_tasks_run_with_one_blas_thread(monkeypatch):
    pytest.importorskip("dask.distributed")
    import dask
    from dask.distributed import Client, LocalCluster

    from cimspice.executors import local_cluster

    # A user whose environment and Dask configuration give BLAS two threads (Dask lets the
    # environment override its configuration, and writes the configuration into it).
    busy = {name: "2" for name in THREAD_ENV_VARS}
    for name, value in busy.items():
        monkeypatch.setenv(name, value)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": busy}):
        with (
            LocalCluster(
                n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            assert set(client.submit(probe, pure=False).result()) == {2}
            # a task submitted the way run_cases submits its cases
            wrapped = client.submit(call_with_one_blas_thread, probe, pure=False)
            assert set(wrapped.result()) == {1}
        # the cluster run_cases starts itself: one thread in every worker from the start
        with local_cluster(1) as cluster, Client(cluster) as client:
            assert [set(c) for c in client.run(probe).values()] == [{1}]
    # and this process's environment is the user's again
    assert all(os.environ[name] == "2" for name in THREAD_ENV_VARS)


def test_cap_process_threads_sizes_blas_to_the_cores_the_process_has():
    script = (
        "import json\n"
        "import cimspice.threads as t\n"
        "t.available_cpus = lambda: 1\n"
        "t.cap_process_threads()\n"
        "import numpy\n"
        "from threadpoolctl import threadpool_info\n"
        "print(json.dumps([i['num_threads'] for i in threadpool_info() "
        "if i['user_api'] == 'blas']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert set(json.loads(out.stdout)) == {1}


def test_the_cli_caps_its_threads_before_the_work(tmp_path, monkeypatch):
    from cimspice.cli import main

    calls: list[int] = []
    monkeypatch.setattr("cimspice.threads.cap_process_threads", lambda: calls.append(1) or 1)
    spec = tmp_path / "spec.toml"
    spec.write_text("[array]\nrows = 2\ncols = 2\n")
    assert main(["netlist", str(spec), "-o", str(tmp_path / "deck.cir")]) == 0
    assert calls == [1]
