"""The Dask local cluster cimspice starts for itself: its settings reach the workers, and when
the block ends its worker processes are gone at once (not restarted by their nannies) and its
scratch files with them. That sweeps give the same results on it as in one process is
tests/test_evaluate.py's and tests/test_sweep.py's."""

import os
import time

import psutil
from dask.distributed import Client

from cimspice.executors import LOCAL_CLUSTER_CONFIG, local_cluster, map_tasks


def _settings() -> dict:
    import dask

    return {key: dask.config.get(key) for key in LOCAL_CLUSTER_CONFIG}


def _square(x: int) -> int:
    return x * x


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_the_local_cluster_stops_its_workers_and_removes_its_files():
    with local_cluster(2) as cluster, Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        folders = set(client.run(lambda dask_worker: dask_worker.local_directory).values())
        assert list(client.run(_settings).values()) == [LOCAL_CLUSTER_CONFIG] * 2
        assert len(pids) == 2 and all(os.path.isdir(f) for f in folders)
        assert client.submit(_square, 3).result() == 9
    assert all(_gone(pid) for pid in pids)
    assert not any(os.path.exists(f) for f in folders)
    # and no nanny started a worker again once the block had ended (multiprocessing's
    # resource tracker, started with the first spawned process, stays: it is not a worker)
    time.sleep(1.0)
    left = [
        c
        for c in psutil.Process().children(recursive=True)
        if c.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(c.cmdline())
    ]
    assert not left, [c.cmdline() for c in left]


def test_map_tasks_on_dask_hands_every_result_on():
    results: dict[int, int] = {}
    map_tasks(_square, [(k,) for k in range(6)], results.__setitem__, executor="dask", jobs=2)
    assert results == {k: k * k for k in range(6)}
