"""BLAS threads and the nodal engine: the policy against unconstrained threads, idle and loaded.

    .venv/bin/python benchmarks/bench_threads.py [--sizes 64] [--batch 100] [--pairs 15]

The `nodal` engine (a sparse LU factored once, every input vector solved from it) runs with
cimspice's thread policy (`cimspice.threads`: one BLAS thread for the solvers) and with
unconstrained BLAS threads (one per core this process may use, OpenBLAS's default and what
cimspice did before the policy: `CIMSPICE_BLAS_THREADS` set to that count), interleaved in
pairs, first without extra load, then with a busy-loop process occupying one core (started
and stopped by the benchmark). Ratios are unconstrained over policy: above 1, the policy is
faster. Both modes give the same currents (checked). The machine's 1-minute load average at
the start of each row says how idle "without extra load" really was (on a shared machine,
other users' processes load it too).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
from _common import interleaved, spec_text
from threadpoolctl import threadpool_info

from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict
from cimspice.threads import BLAS_THREADS_ENV, available_cpus

BUSY_LOOP = "while True:\n    pass\n"


def blas_pool() -> str:
    """The process's BLAS libraries and their thread counts, for the header."""
    return ", ".join(
        f"{lib['internal_api']} {lib['version']} ({lib['num_threads']} threads)"
        for lib in threadpool_info()
        if lib["user_api"] == "blas"
    )


def measure(n: int, batch: int, pairs: int, cpus: int) -> tuple[float, float, float, float]:
    """Median seconds with the policy and unconstrained, the median ratio, the max difference."""
    import tomllib

    spec = spec_from_dict(tomllib.loads(spec_text(n)))
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 100e-6, (n, n))
    v = rng.uniform(0.0, 0.2, (batch, n))

    def policy() -> np.ndarray:
        os.environ.pop(BLAS_THREADS_ENV, None)
        return simulate(spec, g, v, engine="nodal").currents

    def unconstrained() -> np.ndarray:
        os.environ[BLAS_THREADS_ENV] = str(cpus)
        try:
            return simulate(spec, g, v, engine="nodal").currents
        finally:
            os.environ.pop(BLAS_THREADS_ENV, None)

    diff = float(np.max(np.abs(policy() - unconstrained())))  # also warms both up
    t_policy, t_free, ratio = interleaved(policy, unconstrained, pairs)
    return t_policy, t_free, ratio, diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--pairs", type=int, default=15)
    args = parser.parse_args()
    cpus = available_cpus()
    measure(8, 2, 1, cpus)  # loads scipy's BLAS too, so that the header lists it
    print(
        f"\nnodal engine, NxN passive arrays, 2 ohm segments, {args.batch} input vectors; "
        f"{cpus} cores available; BLAS: {blas_pool()}; medians of {args.pairs} interleaved "
        "pairs\n"
    )
    print(
        "| extra load | load avg | N | policy: 1 BLAS thread (s) | unconstrained: "
        f"{cpus} BLAS threads (s) | unconstrained / policy | max current difference (A) |"
    )
    print("|---|---|---|---|---|---|---|")
    for load in ("none", "one core busy"):
        busy = None
        if load != "none":
            busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
            time.sleep(0.5)  # let it take its core
        try:
            for n in args.sizes:
                start_load = os.getloadavg()[0]
                t_policy, t_free, ratio, diff = measure(n, args.batch, args.pairs, cpus)
                cells = [load, f"{start_load:.1f}", str(n), f"{t_policy:.4f}", f"{t_free:.4f}"]
                cells += [f"{ratio:.2f}x", f"{diff:.1e}"]
                print("| " + " | ".join(cells) + " |", flush=True)
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()


if __name__ == "__main__":
    main()
