"""SPICE sweeps: cache hits, resume after a kill, corrupt entries, parallel = serial."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, make_spec

from cimspice.sweep import Case, SweepCache, run_cases

pytestmark = pytest.mark.ngspice

SPEC = make_spec(6, 5, r_row=2.0, r_col=2.0)


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def cases(n: int) -> list[Case]:
    rng = np.random.default_rng(11)
    return [
        Case(f"c{k}", rng.uniform(1e-6, 1e-4, (6, 5)), rng.uniform(0, 0.2, (3, 6)))
        for k in range(n)
    ]


def test_cache_makes_a_rerun_instant_and_identical(tmp_path):
    cache = SweepCache(tmp_path)
    first = run_cases(SPEC, cases(4), cache=cache, jobs=2)
    assert not any(r.cached for r in first)
    assert len(list(tmp_path.glob("*.npz"))) == 4
    again = run_cases(SPEC, cases(4), cache=cache, jobs=2)
    assert all(r.cached for r in again)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.currents, b.currents)
        np.testing.assert_array_equal(a.power, b.power)


def test_parallel_equals_serial(tmp_path):
    serial = run_cases(SPEC, cases(4), jobs=1)
    parallel = run_cases(SPEC, cases(4), jobs=3)
    assert [r.case.name for r in parallel] == ["c0", "c1", "c2", "c3"]
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a.currents, b.currents)


def test_corrupt_entry_is_run_again(tmp_path):
    cache = SweepCache(tmp_path)
    first = run_cases(SPEC, cases(2), cache=cache, jobs=1)
    victim = sorted(tmp_path.glob("*.npz"))[0]
    victim.write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="failed its check"):
        again = run_cases(SPEC, cases(2), cache=cache, jobs=1)
    assert sum(r.cached for r in again) == 1
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.currents, b.currents)


def test_sweep_killed_midway_resumes_without_redoing_finished_runs(tmp_path):
    cache_dir = tmp_path / "cache"
    script = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "from test_sweep import SPEC, cases\n"
        "from cimspice.sweep import SweepCache, run_cases\n"
        "run_cases(SPEC, cases(12), cache=SweepCache(sys.argv[1]), jobs=1)\n"
    )
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(cache_dir), str(REPO / "tests")],
        start_new_session=True,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CIMSPICE_RUN_DIR": str(runs)},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if cache_dir.exists() and len(list(cache_dir.glob("*.npz"))) >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(cache_dir.glob("*.npz")))
    assert 3 <= finished < 12, "the sweep should have been killed midway"
    # the ngspice worker that was running dies with its caller (no orphan keeps running)
    time.sleep(0.5)
    for pid_file in runs.glob("run-*/worker.pid"):
        assert not running(int(pid_file.read_text()))
    resumed = run_cases(SPEC, cases(12), cache=SweepCache(cache_dir), jobs=2)
    # every run finished before the kill is reused, and only the missing ones run
    assert sum(r.cached for r in resumed) == finished
    assert len(list(cache_dir.glob("*.npz"))) == 12
    fresh = run_cases(SPEC, cases(12), jobs=2)
    for a, b in zip(resumed, fresh, strict=True):
        np.testing.assert_array_equal(a.currents, b.currents)


def test_truncated_entry_is_run_again(tmp_path):
    cache = SweepCache(tmp_path)
    run_cases(SPEC, cases(1), cache=cache, jobs=1)
    (entry,) = tmp_path.glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:100])  # a zip cut short
    with pytest.warns(RuntimeWarning, match="failed its check"):
        (again,) = run_cases(SPEC, cases(1), cache=cache, jobs=1)
    assert not again.cached


def test_ctrl_c_stops_a_sweep_and_its_workers(tmp_path):
    cache_dir = tmp_path / "cache"
    runs = tmp_path / "runs"
    script = (
        "import signal, sys; sys.path.insert(0, sys.argv[2])\n"
        # a shell may start us with SIGINT ignored (background jobs): restore Ctrl-C
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from test_sweep import SPEC, cases\n"
        "from cimspice.sweep import SweepCache, run_cases\n"
        "try:\n"
        "    run_cases(SPEC, cases(40), cache=SweepCache(sys.argv[1]), jobs=2)\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(130)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(cache_dir), str(REPO / "tests")],
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CIMSPICE_RUN_DIR": str(runs)},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if cache_dir.exists() and len(list(cache_dir.glob("*.npz"))) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=90) == 130  # generous: a loaded machine runs slowly
    assert len(list(cache_dir.glob("*.npz"))) < 40  # it stopped instead of finishing
    for pid_file in runs.glob("run-*/worker.pid"):
        assert not running(int(pid_file.read_text()))


def test_dask_local_cluster_gives_the_same_dataset_as_the_local_pool(tmp_path):
    local = run_cases(SPEC, cases(4), jobs=2)
    cache = SweepCache(tmp_path)
    dask = run_cases(SPEC, cases(4), jobs=2, executor="dask", cache=cache)
    assert [r.case.name for r in dask] == ["c0", "c1", "c2", "c3"]
    for a, b in zip(local, dask, strict=True):
        np.testing.assert_array_equal(a.currents, b.currents)
        np.testing.assert_array_equal(a.power, b.power)
    # the Dask results went into the caller's cache as they arrived
    again = run_cases(SPEC, cases(4), jobs=2, cache=cache)
    assert all(r.cached for r in again)


def test_unreachable_dask_scheduler_is_a_clear_error():
    from cimspice.errors import CimspiceError

    address = "tcp://127.0.0.1:9"  # the discard port: nothing listens there
    with pytest.raises(
        CimspiceError, match=re.escape(f"cannot reach the Dask scheduler at {address}")
    ):
        run_cases(SPEC, cases(1), executor="dask", scheduler=address)
