"""Surrogate on sinh cells: held-out error vs ngspice, throughput of both modes.

    .venv/bin/python benchmarks/bench_surrogate_sinh.py [--sizes 64 128] [--v0 0.15 0.25]

Per size and v0: calibration against ngspice (4 random + structured training matrices, held-out
cases of other distributions, 8 vectors each, inputs to 0.3 V); then, on one conductance matrix:
the fast mode's MVM throughput vs numpy's `V @ G` on the same batch of 1,000 (interleaved
pairs, median), and the accurate mode's time per vector vs the ngspice path's on the same
batch of 100 (one after the other; both modes once the matrix is prepared, as for the transfer
matrix of linear tiles). The accurate mode is timed twice: its first call (which also
allocates its work arrays) and the median of --repeats further calls; ngspice runs once per
case (tens of seconds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from _common import interleaved

from cimspice.simulation import get_engine
from cimspice.spec import spec_from_dict
from cimspice.surrogate.calibrate import calibrate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--v0", type=float, nargs="+", default=[0.15, 0.25])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--spice-batch", type=int, default=100)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        for v0 in args.v0:
            print(f"[bench] {n}x{n}, v0 = {v0} V ...", file=sys.stderr, flush=True)
            spec = spec_from_dict(
                {
                    "array": {"rows": n, "cols": n},
                    "wire": {"r_row": 2.0, "r_col": 2.0},
                    "driver": {"v_read": 0.3},
                    "device": {"iv": "sinh", "v0": v0},
                }
            )
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                cal = calibrate(spec, samples=4, batch=8, seed=0, cache_dir=Path(tmp))
                t_cal = time.perf_counter() - start
            rng = np.random.default_rng(1)
            g = rng.uniform(1e-6, 1e-4, (n, n))
            v = rng.uniform(0.0, 0.3, (args.batch, n))
            fast = cal.surrogate.prepare(g, "fast")
            _, _, fast_ratio = interleaved(
                partial(fast.currents, v), partial(np.matmul, v, g), args.pairs
            )
            v_spice = v[: args.spice_batch]
            accurate = cal.surrogate.prepare(g, "accurate")  # once per matrix, like T
            t0 = time.perf_counter()
            accurate.currents(v_spice)
            first = time.perf_counter() - t0
            again = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                accurate.currents(v_spice)
                again.append(time.perf_counter() - t0)
            t1 = time.perf_counter()
            get_engine("ngspice").run(spec, g, v_spice)
            spice = time.perf_counter() - t1
            m = cal.metrics
            rows.append(
                (
                    n,
                    v0,
                    t_cal,
                    m["surrogate"]["nrmse"],
                    m["surrogate-fast"]["nrmse"],
                    m["ideal"]["nrmse"],
                    fast.prepare_s,
                    fast_ratio,
                    first / len(v_spice),
                    statistics.median(again) / len(v_spice),
                    spice / len(v_spice),
                )
            )
    print(
        f"\nsinh cells, 2 ohm segments, inputs U(0, 0.3) V; held-out NRMSE vs ngspice (fraction "
        f"of full scale); fast throughput on batches of {args.batch} (median of {args.pairs} "
        f"pairs); accurate vs ngspice on {args.spice_batch} vectors.\n"
    )
    print(
        "| N | v0 (V) | calibration (s) | accurate NRMSE | fast NRMSE | ideal NRMSE | fast prepare "
        "(s) | fast throughput vs V @ G | accurate ms/vector (first call / median) | ngspice "
        "ms/vector | ngspice / accurate (first call / median) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r[0]} | {r[1]} | {r[2]:.1f} | {r[3]:.1e} | {r[4]:.1e} | {r[5]:.1e} | {r[6]:.2f} "
            f"| {r[7]:.3f}x | {1e3 * r[8]:.2f} / {1e3 * r[9]:.2f} | {1e3 * r[10]:.1f} | "
            f"{r[10] / r[8]:.1f}x / {r[10] / r[9]:.1f}x |"
        )


if __name__ == "__main__":
    main()
