"""BLAS thread pools and the cores this process may really use.

OpenBLAS (numpy's and scipy's) starts one thread per core it sees. Its threads spin while they
wait for work, so when another process is busy on one of the cores they fight over it: the
``nodal`` engine's sparse solves, which gain nothing from BLAS threads even on an idle machine,
ran 1.6x (up to 7x) slower with two threads than with one on a 2-core machine with one core
busy (``benchmarks/bench_threads.py``; BENCHMARKS.md). Work made of many small dense
products (a crossbar's row-by-row admittance cascade, a network's tiles) fares the same: on
the project's 2-core machines under load, a 128x128 admittance cascade took 6.7 s with two
BLAS threads and 0.26 s with one, the tiles of a network's layer 2-3x longer. And every
process of a pool that starts its own multi-threaded BLAS oversubscribes the machine the
same way. The policy:

- **solvers** (:class:`~cimspice.engines.nodal.NodalSolver`: the ``nodal`` engine, every
  transfer matrix of the surrogate and of the compensation schemes) run with
  :func:`solver_threads` BLAS threads: 1, or ``$CIMSPICE_BLAS_THREADS`` if set;
- **small products** (the admittance cascade of :mod:`cimspice.engines.cascade`, a network's
  tile reads) run with one BLAS thread: :func:`one_blas_thread`, :func:`single_threaded`;
- **workers** (ngspice worker processes, Dask workers running SPICE cases) run with one BLAS
  thread each: :func:`worker_environment` for processes cimspice starts,
  :func:`call_with_one_blas_thread` for tasks sent to workers it did not start;
- **pools** are sized to :func:`available_cpus`, the cores this process may use (its CPU
  affinity and its cgroup's CPU quota), not the machine's count; the command line also caps
  its own BLAS pool to them (:func:`cap_process_threads`).

Limits are process-wide (BLAS libraries have one thread count per process) and
:func:`blas_threads` is safe to enter from several threads at once: while any holder is
inside, the smallest limit asked for applies, and the original counts come back when the
last one leaves. Like threadpoolctl itself, it is meant for the main thread: OpenBLAS (0.3.31,
numpy's and scipy's wheels) ignores a thread count set from another thread once the main
thread has set one, so each holder applies the limit from its own thread, and a limit
entered only from other threads may not take. Workers therefore get their one thread from
their environment, before BLAS loads. Importing this module changes nothing.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from cimspice.arguments import integer
from cimspice.errors import InputError

__all__ = [
    "BLAS_THREADS_ENV",
    "THREAD_ENV_VARS",
    "available_cpus",
    "blas_threads",
    "call_with_one_blas_thread",
    "cap_process_threads",
    "cgroup_cpu_limit",
    "one_blas_thread",
    "single_threaded",
    "solver_blas_threads",
    "solver_threads",
    "worker_environment",
]

BLAS_THREADS_ENV = "CIMSPICE_BLAS_THREADS"
"""Environment variable: BLAS threads of cimspice's solvers (a whole number >= 1)."""

SOLVER_THREADS = 1
"""BLAS threads of the solvers by default: threads never sped up the sparse nodal solves
(measured up to 256x256 and 1,000 vectors), and cost 1.6x or more on a busy machine."""

THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
"""The variables the BLAS and OpenMP runtimes read when they load."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def cgroup_cpu_limit(root: str | Path = "/sys/fs/cgroup") -> float | None:
    """CPUs the cgroup's quota allows (e.g. 1.5), or ``None`` without a quota.

    Reads cgroup v2's ``cpu.max`` (``"<quota> <period>"`` or ``"max <period>"``), else cgroup
    v1's ``cpu/cpu.cfs_quota_us`` and ``cpu/cpu.cfs_period_us`` (quota -1: none), under
    ``root``. Anything unreadable counts as no quota.
    """
    base = Path(root)
    try:
        fields = (base / "cpu.max").read_text().split()
        if len(fields) == 2 and fields[0] != "max":
            quota, period = int(fields[0]), int(fields[1])
            return quota / period if quota > 0 and period > 0 else None
        if fields:
            return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((base / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((base / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def available_cpus() -> int:
    """The cores this process may run on: its CPU affinity, capped by its cgroup's quota
    (rounded up, as joblib does), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    else:  # pragma: no cover  (not Linux)
        count = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    if quota is not None:
        count = min(count, math.ceil(quota))
    return max(1, count)


def solver_threads() -> int:
    """BLAS threads of cimspice's solvers: ``$CIMSPICE_BLAS_THREADS`` if set, else
    :data:`SOLVER_THREADS`; never more than :func:`available_cpus`.

    Raises:
        InputError: the variable is set to anything but a whole number >= 1.
    """
    raw = os.environ.get(BLAS_THREADS_ENV, "").strip()
    if not raw:
        return SOLVER_THREADS
    try:
        wanted = int(raw)
    except ValueError:
        wanted = 0
    if wanted < 1:
        raise InputError(f"{BLAS_THREADS_ENV} must be a whole number >= 1, got {raw!r}")
    return min(wanted, available_cpus())


class _Limits:
    """The process-wide state of :func:`blas_threads` (one BLAS thread count per process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.applied: int | None = None
        self.saved: list[tuple[Any, int]] = []


_LIMITS = _Limits()


def _blas_libraries() -> list[Any]:
    """The controllers (threadpoolctl's) of the BLAS libraries loaded in this process.

    Finding them walks every loaded shared library (about 1 ms, a quarter of a small
    network layer's serial time when asked for at every call), so the answer is kept until
    a module is imported: libraries arrive with the extension modules that load them (numpy's,
    then scipy's own OpenBLAS)."""
    from threadpoolctl import ThreadpoolController

    modules = len(sys.modules)
    if _BLAS_FOUND.get("modules") != modules:
        controller = ThreadpoolController().select(user_api="blas")
        _BLAS_FOUND.update(modules=modules, libraries=list(controller.lib_controllers))
    return list(_BLAS_FOUND["libraries"])


_BLAS_FOUND: dict[str, Any] = {}
"""The libraries :func:`_blas_libraries` found, and ``len(sys.modules)`` then."""


@contextlib.contextmanager
def blas_threads(threads: int) -> Iterator[None]:
    """Run the block with at most ``threads`` threads in every loaded BLAS library.

    Safe from several threads at once: the smallest limit of the holders inside applies; the
    counts the libraries had come back when the last holder leaves.

    Raises:
        InputError: ``threads`` is not an integer >= 1.
    """
    threads = integer(threads, "threads", minimum=1)
    state = _LIMITS
    with state.lock:
        if state.holders == 0:
            state.saved = [(lib, lib.num_threads) for lib in _blas_libraries()]
            state.applied = None
        state.applied = threads if state.applied is None else min(state.applied, threads)
        for lib, _ in state.saved:  # from this thread too: see the module on OpenBLAS
            lib.set_num_threads(state.applied)
        state.holders += 1
    try:
        yield
    finally:
        with state.lock:
            state.holders -= 1
            if state.holders == 0:
                for lib, original in state.saved:
                    lib.set_num_threads(original)
                state.saved = []
                state.applied = None


def solver_blas_threads() -> contextlib.AbstractContextManager[None]:
    """:func:`blas_threads` with :func:`solver_threads`: what the solvers run under."""
    return blas_threads(solver_threads())


def one_blas_thread() -> contextlib.AbstractContextManager[None]:
    """:func:`blas_threads` with one thread: what work made of many small products runs
    under (see the module)."""
    return blas_threads(1)


def single_threaded(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` run under :func:`one_blas_thread`."""

    @functools.wraps(function)
    def limited(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with one_blas_thread():
            return function(*args, **kwargs)

    return limited


def call_with_one_blas_thread(function: Callable[..., _R], *args: Any) -> _R:
    """``function(*args)`` with one BLAS thread: how tasks run on pool or Dask workers (a
    worker started elsewhere may have a BLAS pool as large as its machine)."""
    with one_blas_thread():
        return function(*args)


def worker_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a worker process cimspice starts: ``base`` (default this
    process's) with every BLAS and OpenMP runtime limited to one thread, read when they load.
    """
    env = dict(os.environ if base is None else base)
    env.update(dict.fromkeys(THREAD_ENV_VARS, "1"))
    return env


def cap_process_threads() -> int:
    """Cap this process's BLAS and OpenMP pools to :func:`available_cpus` (the command line
    calls it first); returns that count.

    Runtimes not yet loaded get the cap through the environment variables they read (unless
    the user set them); those already loaded are capped through threadpoolctl.
    """
    cpus = available_cpus()
    for name in THREAD_ENV_VARS:
        os.environ.setdefault(name, str(cpus))
    if (os.cpu_count() or 1) > cpus:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=cpus)
    return cpus
