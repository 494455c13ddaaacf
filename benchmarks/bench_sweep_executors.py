"""A 60-point network sweep in one process, on local worker processes and on Dask.

    .venv/bin/python benchmarks/bench_sweep_executors.py [--workers 2] [--values 30]
        [--seeds 2] [--samples 300] [--model digits-mlp]

``evaluate --sweep nonideal.read_noise=...`` with ``--seeds``: ``values x seeds`` points
(60 by default) of the built-in model on 32x32 passive tiles (1 ohm wires, read noise swept,
the nominal surrogate), run three ways in turn, no result cache: in this process (``jobs=1``),
on a local pool of ``--workers`` spawn-started processes, and on a Dask ``LocalCluster`` of
``--workers`` single-threaded workers (start-up included in both), then on an already-running
Dask cluster (``--scheduler ADDR``, as ``evaluate --executor dask --scheduler ADDR``: a
``LocalCluster`` of the same workers started before the clock, with one BLAS thread each as
cimspice starts its own; its workers fresh, so they import cimspice during the first points).
Prints each wall time, the speed-ups over one process, whether the results are identical, and
the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import numpy as np

from cimspice.executors import local_cluster
from cimspice.spec import spec_from_dict
from cimspice.studies.evaluate import resolve_model, samples_of
from cimspice.studies.sweeps import run_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--values", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--model", default="digits-mlp")
    args = parser.parse_args()
    model, data = resolve_model(args.model)
    x, y = samples_of(data, "test")
    x, y = x[: args.samples], y[: args.samples]
    spec = spec_from_dict({"array": {"rows": 32, "cols": 32}, "wire": {"r_row": 1.0, "r_col": 1.0}})
    values = [float(v) for v in np.linspace(0.0, 0.3, args.values)]
    common = {"key": "nonideal.read_noise", "values": values, "seeds": args.seeds}
    runs = {}
    load = os.getloadavg()[0]
    dask = {"executor": "dask", "jobs": args.workers}
    for label, chosen in (
        ("one process", {"jobs": 1}),
        (f"local pool, {args.workers} processes", {"jobs": args.workers}),
        (f"Dask LocalCluster, {args.workers} workers", dask),
        (f"Dask, running cluster of {args.workers}", {**dask, "scheduler": "running"}),
    ):
        with contextlib.ExitStack() as stack:
            options = dict(chosen)
            if options.get("scheduler") == "running":  # started before the clock
                cluster = stack.enter_context(local_cluster(args.workers))
                options["scheduler"] = cluster.scheduler_address
            start = time.perf_counter()
            result = run_sweep(model, x, y, spec, **common, **options)
            runs[label] = (time.perf_counter() - start, result.accuracy)
    points = args.values * args.seeds
    base_time, base = runs["one process"]
    print(
        f"{points} points ({args.model}, {len(x)} samples each, 32x32 tiles); load average "
        f"{load:.2f} before, {os.getloadavg()[0]:.2f} after (1 min)"
    )
    print(f"{'executor':<34} {'time (s)':>9} {'speed-up':>9}  identical")
    for label, (seconds, accuracy) in runs.items():
        same = bool(np.array_equal(accuracy, base))
        print(f"{label:<34} {seconds:9.1f} {base_time / seconds:9.2f}  {same}")


if __name__ == "__main__":
    main()
