"""Where independent tasks run: in this process, in local worker processes, or on Dask.

:func:`map_tasks` calls one picklable function on many argument tuples and hands each result
to a callback as it arrives (the caller stores it at once, so an interrupted study keeps what
finished). Three places, one behaviour:

- ``jobs = 1`` with the ``local`` executor: in this process, one task after the other;
- ``local``: a pool of ``jobs`` worker processes on this machine (started with ``spawn``, so no
  thread of this process is copied half-way through its work);
- ``dask``: Dask distributed, a local cluster of ``jobs`` single-threaded workers or a running
  scheduler's (every worker needs cimspice installed).

Every task runs with one BLAS thread wherever it runs, so a matrix product sums in the same
order in each place and results are identical whatever the executor (BLAS may split a product
differently over more threads). Warnings a worker raises are raised again here.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from cimspice.arguments import integer
from cimspice.errors import CimspiceError, InputError
from cimspice.threads import available_cpus, call_with_one_blas_thread, worker_environment

__all__ = [
    "EXECUTORS",
    "LOCAL_CLUSTER_CONFIG",
    "MAX_JOBS",
    "NO_DASK",
    "check_executor",
    "local_cluster",
    "map_tasks",
    "worker_count",
]

EXECUTORS = ("local", "dask")
"""The executors' names (command-line ``--executor`` choices)."""
MAX_JOBS = 64
"""At most this many tasks at a time (each worker is a process of ~100 MB or more)."""
NO_DASK = "--executor dask needs Dask: pip install 'dask[distributed]' (or cimspice[dask])"

_R = TypeVar("_R")


def check_executor(executor: str, scheduler: str | None = None) -> None:
    """Check an executor name and a Dask scheduler's address before any work.

    The address is checked as Dask reads it (``[scheme://]host[:port]``, scheme ``tcp`` by
    default), without connecting: a known scheme, and for network schemes a host and a port
    in 1..65535.

    Raises:
        InputError: an unknown executor, a scheduler without the Dask executor, Dask missing,
            or a malformed address (named, with the reason).
    """
    if executor not in EXECUTORS:
        raise InputError(f"executor must be 'local' or 'dask', got {executor!r}")
    if scheduler is None:
        return
    if executor != "dask":
        raise InputError("a scheduler address needs the Dask executor (--executor dask)")
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
        from distributed.comm.registry import get_backend
    except ImportError:
        raise InputError(NO_DASK) from None
    try:
        scheme, location = parse_address(scheduler)
        get_backend(scheme)
        if scheme in ("tcp", "tls", "ws", "wss"):
            host, port = parse_host_port(location, 8786)
            if not host:
                raise ValueError("no host")
            if not 1 <= int(port) <= 65535:
                raise ValueError(f"port {port} is not in 1..65535")
    except (ValueError, TypeError) as err:
        raise InputError(
            f"malformed Dask scheduler address {scheduler!r} ({err}); give "
            "[tcp://]HOST:PORT, e.g. tcp://127.0.0.1:8786"
        ) from None


def worker_count(jobs: int | None) -> int:
    """``jobs`` checked (1..:data:`MAX_JOBS`), or the cores this process may use.

    Raises:
        InputError: ``jobs`` is not an integer in range.
    """
    if jobs is None:
        return min(available_cpus(), MAX_JOBS)
    return integer(jobs, "jobs", minimum=1, maximum=MAX_JOBS)


@contextlib.contextmanager
def _one_blas_thread_environment() -> Iterator[dict[str, str]]:
    """For the block, this process's environment limits every BLAS and OpenMP runtime to one
    thread (what worker processes started inside it read when they load them); the variables
    are put back as they were afterwards. Yields the limits."""
    limits = worker_environment({})
    saved = {name: os.environ.get(name) for name in limits}
    os.environ.update(limits)
    try:
        yield limits
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing-interval": "1s",
}
"""Dask settings of the local cluster :func:`local_cluster` starts: no statistical profiler in
the workers (it samples the running task's stack every 10 ms, for a dashboard nobody here looks
at), and the periodic checks every process of the cluster runs slowed down (the event loops'
tick from 20 ms to 1 s, the system monitor from 0.5 to 5 s, the nannies' memory checks from
0.1 to 1 s, work stealing from 0.1 to 1 s): with Dask's defaults an idle two-worker cluster used
0.09-0.10 CPU seconds per second of this 2-core machine (this process 0.04-0.05, its workers
0.05), with these 0.02, CPU its workers' points get instead."""


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A Dask ``LocalCluster`` of ``workers`` single-threaded worker processes, each started
    with one BLAS thread and :data:`LOCAL_CLUSTER_CONFIG`; closed when the block ends.

    The limits go in Dask's ``distributed.nanny.pre-spawn-environ``, which a nanny sets
    before it starts a worker process (hence before the worker loads BLAS). Dask lets this
    process's own environment override that setting, and sets it in this process while it
    starts workers; so for the cluster's life this process's variables hold the limits too,
    and they are put back as they were afterwards.

    Dask's default ``MALLOC_TRIM_THRESHOLD_`` (64 KiB: memory handed back to the system at
    once, which also fixes glibc's threshold for serving large blocks from fresh pages) is left
    out: with it a sweep point took 1.13-1.17 CPU seconds in a worker against 1.01-1.06 in this
    process (the arrays of every forward pass page-faulted in afresh).

    The workers keep their scratch files in a temporary folder of this block's own, removed
    with it, and are stopped at once when the block ends (:func:`_stop_workers`): a graceful
    close, which waits for each worker process to wind down, took 1.1-1.6 s of a sweep's
    wall time here against 0.1 s.
    """
    import dask
    from dask.distributed import LocalCluster

    with (
        _one_blas_thread_environment() as limits,
        tempfile.TemporaryDirectory(prefix="cimspice-dask-") as scratch,
    ):
        environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
        environ.pop("MALLOC_TRIM_THRESHOLD_", None)  # glibc's own, as in a pool's worker
        environ.update(limits)
        settings = {"distributed.nanny.pre-spawn-environ": environ, **LOCAL_CLUSTER_CONFIG}
        with (
            dask.config.set(settings),
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                local_directory=scratch,
            ) as cluster,
        ):
            try:
                yield cluster
            finally:
                _stop_workers(cluster)


def _stop_workers(cluster: Any) -> None:
    """End a local cluster's worker processes at once (their results have all been handed
    on; nothing in them is wanted): each nanny is first told not to restart its worker."""
    for nanny in list(cluster.workers.values()):
        pid = getattr(nanny, "pid", None)
        close_gracefully = getattr(nanny, "close_gracefully", None)
        if pid is None or close_gracefully is None:
            continue  # a worker that never started, or a Dask without nannies' API
        close_gracefully(reason="cimspice-done")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))


def _recording_warnings(
    function: Callable[..., _R], *args: Any
) -> tuple[_R, list[tuple[str, type[Warning]]]]:
    """``function(*args)`` with one BLAS thread, and the warnings it raised (a worker's
    warnings would otherwise end in its own log, never reaching the user)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call_with_one_blas_thread(function, *args)
    return out, [(str(w.message), w.category) for w in caught]


def _raise_again(caught: list[tuple[str, type[Warning]]]) -> None:
    for message, category in caught:
        warnings.warn(message, category, stacklevel=3)


def map_tasks(
    function: Callable[..., _R],
    tasks: Sequence[tuple[Any, ...]],
    done: Callable[[int, _R], None],
    *,
    executor: str = "local",
    jobs: int | None = None,
    scheduler: str | None = None,
    name: str = "cimspice-task",
    shared: tuple[Any, ...] = (),
) -> None:
    """Call ``function(*shared, *tasks[k])`` for every ``k`` and ``done(k, result)`` in this
    process as each finishes (in any order).

    Args:
        function: a module-level (picklable) function.
        tasks: its argument tuples (picklable).
        done: called with each task's index and result as it arrives.
        shared: leading arguments every task shares (picklable), sent to each worker once
            rather than with every task (a model and its samples, say).
        executor: ``"local"`` or ``"dask"`` (see the module).
        jobs: tasks at a time (default: the cores this process may use); ``1`` with the
            local executor runs them in this process.
        scheduler: a running Dask scheduler's address (``None``: a local Dask cluster).
        name: prefix of the Dask task keys.

    Raises:
        InputError: a bad executor, scheduler address or ``jobs`` (before any task runs).
        CimspiceError: the Dask scheduler cannot be reached.
        Exception: the first exception a task raised; tasks not started are cancelled,
            finished ones were already handed to ``done``.
    """
    check_executor(executor, scheduler)
    workers = worker_count(jobs)
    if not tasks:
        return
    if executor == "dask":
        _map_dask(
            function, tasks, done, workers=workers, scheduler=scheduler, name=name, shared=shared
        )
    elif workers == 1 or len(tasks) == 1:
        for k, args in enumerate(tasks):
            out, caught = _recording_warnings(function, *shared, *args)
            _raise_again(caught)
            done(k, out)
    else:
        _map_processes(function, tasks, done, workers=min(workers, len(tasks)), shared=shared)


_SHARED: tuple[Any, ...] = ()
"""In a pool's worker process: the arguments every task shares (set once, when it starts)."""


def _keep_shared(shared: tuple[Any, ...]) -> None:
    """A pool worker's initializer: keep the shared arguments."""
    global _SHARED  # noqa: PLW0603 - one value per worker process, set once at its start
    _SHARED = shared


def _with_shared(function: Callable[..., _R], *args: Any) -> tuple[_R, list[Any]]:
    """In a pool's worker process: :func:`_recording_warnings` of ``function(*shared,
    *args)``."""
    return _recording_warnings(function, *_SHARED, *args)


def _map_processes(
    function: Callable[..., _R],
    tasks: Sequence[tuple[Any, ...]],
    done: Callable[[int, _R], None],
    *,
    workers: int,
    shared: tuple[Any, ...],
) -> None:
    """A pool of ``spawn``-started worker processes with one BLAS thread each (``shared``
    sent to each once, as it starts)."""
    context = multiprocessing.get_context("spawn")
    with _one_blas_thread_environment():
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_keep_shared, initargs=(shared,)
        )
        try:
            futures: dict[Future, int] = {
                pool.submit(_with_shared, function, *args): k for k, args in enumerate(tasks)
            }
            pending = set(futures)
            while pending:
                # wake up now and then: Ctrl-C reaches this thread only when it runs
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
                for future in finished:
                    out, caught = future.result()  # a task's exception is raised here
                    _raise_again(caught)
                    done(futures[future], out)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()  # the tasks in flight: their results are not wanted
            raise
        pool.shutdown(wait=True)


def _map_dask(
    function: Callable[..., _R],
    tasks: Sequence[tuple[Any, ...]],
    done: Callable[[int, _R], None],
    *,
    workers: int,
    scheduler: str | None,
    name: str,
    shared: tuple[Any, ...],
) -> None:
    """Dask distributed: one task each, results handed on as they arrive; a worker lost
    mid-task has its task rerun elsewhere (``retries``); ``shared`` scattered to every worker
    once."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise InputError(NO_DASK) from None
    with contextlib.ExitStack() as stack:
        try:
            if scheduler is None:
                cluster = stack.enter_context(local_cluster(workers))
                client = stack.enter_context(Client(cluster))
            else:
                client = stack.enter_context(Client(scheduler, timeout="10s"))
        except (OSError, TimeoutError, ValueError) as err:
            raise CimspiceError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
        scattered = client.scatter(list(shared), broadcast=True) if shared else []
        futures = {
            client.submit(
                _recording_warnings,
                function,
                *scattered,
                *args,
                key=f"{name}-{k}-{os.getpid()}-{id(tasks)}",
                retries=2,
                pure=False,
            ): k
            for k, args in enumerate(tasks)
        }
        for future in as_completed(futures):
            out, caught = future.result()
            _raise_again(caught)
            done(futures[future], out)
