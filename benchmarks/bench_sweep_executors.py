"""A 60-point network sweep (or a compensation study) in one process, on local worker
processes and on Dask.

    .venv/bin/python benchmarks/bench_sweep_executors.py [--workers 2] [--values 30]
        [--seeds 2] [--samples 300] [--model digits-mlp] [--repeat 1] [--study compensation]

``evaluate --sweep nonideal.read_noise=...`` with ``--seeds``: ``values x seeds`` points
(60 by default) of the built-in model on 32x32 passive tiles (1 ohm wires, read noise swept,
the nominal surrogate), run three ways in turn, no result cache: in this process (``jobs=1``),
on a local pool of ``--workers`` spawn-started processes, and on a Dask ``LocalCluster`` of
``--workers`` single-threaded workers (start-up included in both), then on an already-running
Dask cluster (``--scheduler ADDR``, as ``evaluate --executor dask --scheduler ADDR``: a
``LocalCluster`` of the same workers started before the clock, with one BLAS thread each as
cimspice starts its own; its workers fresh, so they import cimspice during the first points).
``--repeat`` rounds, the four in turn in each (on a shared machine the load changes from
minute to minute): per round the load average before and after, each wall time and its
speed-up over that round's one-process time, and the CPU seconds this process and its worker
processes used (a running cluster's counted when it closes, its start included; the figure
the other agents' load does not inflate as much as wall time); then the medians over the
rounds, and whether every result is identical to the first.

``--study compensation``: instead of the sweep, the cases of ``cimspice pareto``'s report
(every scheme and the combinations, partitioning at 16x16, no hardware-aware model) on the
same 32x32 tiles with 2 ohm wires, an 8-bit ADC and programming noise, each over ``--seeds``
device seeds (:func:`cimspice.studies.case_runs.run_network_cases`, no cache); identical means
every case's outcome (accuracy, energy, pulses) equal to the first executor's.
"""

from __future__ import annotations

import argparse
import contextlib
import operator
import os
import resource
import time

import numpy as np

from cimspice.executors import local_cluster
from cimspice.spec import spec_from_dict
from cimspice.studies import case_runs
from cimspice.studies.case_runs import CaseData, run_network_cases
from cimspice.studies.evaluate import resolve_model, samples_of
from cimspice.studies.pareto_report import report_cases
from cimspice.studies.sweeps import run_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--values", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--model", default="digits-mlp")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the four executors")
    parser.add_argument("--study", choices=["sweep", "compensation"], default="sweep")
    args = parser.parse_args()
    model, data = resolve_model(args.model)
    x, y = samples_of(data, "test")
    x, y = x[: args.samples], y[: args.samples]
    if args.study == "sweep":
        spec = spec_from_dict(
            {"array": {"rows": 32, "cols": 32}, "wire": {"r_row": 1.0, "r_col": 1.0}}
        )
        values = [float(v) for v in np.linspace(0.0, 0.3, args.values)]
        common = {"key": "nonideal.read_noise", "values": values, "seeds": args.seeds}

        def study(**options):
            return run_sweep(model, x, y, spec, **common, **options).accuracy

        what = f"{args.values * args.seeds} points"
    else:
        spec = spec_from_dict(
            {
                "array": {"rows": 32, "cols": 32},
                "wire": {"r_row": 2.0, "r_col": 2.0},
                "readout": {"adc_bits": 8, "adc_full_scale": 20e-6},
                "device": {"g_min": 1e-6, "g_max": 25e-6},
                "nonideal": {"prog_noise_rel": 0.05, "verify_tol": 0.5e-6},
            }
        )
        cases = [(case, args.seeds) for case in report_cases(spec, 0.0, (16,))]
        shared = CaseData({0.0: model}, x, y, data.x_train[:1000])

        def study(**options):
            case_runs._predistorter.cache_clear()  # this process solves them afresh each time
            return run_network_cases(cases, shared, **options)

        what = f"{len(cases)} compensation cases x {args.seeds} seeds"
    dask = {"executor": "dask", "jobs": args.workers}
    executors = {
        "one process": {"jobs": 1},
        f"local pool, {args.workers} processes": {"jobs": args.workers},
        f"Dask LocalCluster, {args.workers} workers": dask,
        f"Dask, running cluster of {args.workers}": {**dask, "scheduler": "running"},
    }
    equal = np.array_equal if args.study == "sweep" else operator.eq
    times: dict[str, list[float]] = {label: [] for label in executors}
    cpu: dict[str, list[float]] = {label: [] for label in executors}
    same = dict.fromkeys(executors, True)
    base = None
    print(
        f"{what} ({args.model}, {len(x)} samples each, 32x32 "
        f"tiles), {args.repeat} round(s), the executors in turn in each",
        flush=True,
    )
    for round_ in range(args.repeat):
        load = os.getloadavg()[0]
        for label, chosen in executors.items():
            with contextlib.ExitStack() as stack:
                options = dict(chosen)
                if options.get("scheduler") == "running":  # started before the clock
                    cluster = stack.enter_context(local_cluster(args.workers))
                    options["scheduler"] = cluster.scheduler_address
                start, used = time.perf_counter(), cpu_seconds()
                result = study(**options)
                times[label].append(time.perf_counter() - start)
            cpu[label].append(cpu_seconds() - used)  # a running cluster's: after it closed
            base = result if base is None else base
            same[label] &= bool(equal(result, base))
        ratios = ", ".join(f"{times['one process'][-1] / t[-1]:.2f}" for t in times.values())
        print(
            f"round {round_ + 1}: load average {load:.2f} -> {os.getloadavg()[0]:.2f} (1 min); "
            f"seconds {', '.join(f'{t[-1]:.1f}' for t in times.values())}; speed-ups {ratios}; "
            f"CPU seconds {', '.join(f'{c[-1]:.1f}' for c in cpu.values())}",
            flush=True,
        )
    one = float(np.median(times["one process"]))
    print(f"{'executor':<34} {'median (s)':>10} {'speed-up':>9} {'CPU s':>7}  identical")
    for label, seconds in times.items():
        median = float(np.median(seconds))
        used = float(np.median(cpu[label]))
        print(f"{label:<34} {median:10.1f} {one / median:9.2f} {used:7.1f}  {same[label]}")


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its ended (waited-for) children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
