"""Surrogate benchmark: calibration time, held-out error vs ngspice, MVM throughput vs V @ G.

    .venv/bin/python benchmarks/bench_surrogate.py [--sizes 64 128] [--batch 1000]
        [--readout ideal|tia|cmos]

Throughput is measured once the conductance matrix is prepared (the transfer matrix computed),
interleaving the surrogate's MVM and numpy's `V @ G` on the same batch (median of 30 pairs).
`--readout tia` ends the bit lines in behavioural TIAs (r_f 2 kohm, gain 1e4, 1 mV offset),
`--readout cmos` in transistor-level ones (r_f 1 kohm, 50 uA bias): the surrogate then also
solves each TIA's loop, and the table adds its held-out error on the TIA outputs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from _common import interleaved

from cimspice.spec import spec_from_dict
from cimspice.surrogate.calibrate import calibrate

READOUTS = {
    "ideal": {},
    "tia": {"kind": "tia", "r_f": 2e3, "gain": 1e4, "v_offset": 1e-3},
    "cmos": {"kind": "tia", "opamp": "cmos", "r_f": 1e3, "i_bias": 50e-6},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--readout", choices=sorted(READOUTS), default="ideal")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        print(f"[bench] {n}x{n} ...", file=sys.stderr, flush=True)
        spec = spec_from_dict(
            {
                "array": {"rows": n, "cols": n},
                "wire": {"r_row": 2.0, "r_col": 2.0},
                "readout": READOUTS[args.readout],
            }
        )
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            cal = calibrate(spec, samples=4, batch=8, seed=0, cache_dir=Path(tmp))
            t_cal = time.perf_counter() - start
        rng = np.random.default_rng(1)
        g = rng.uniform(1e-6, 1e-4, (n, n))
        v = rng.uniform(0.0, 0.2, (args.batch, n))
        prepared = cal.surrogate.prepare(g)
        t_sur, t_ideal, ratio = interleaved(
            partial(prepared.currents, v), partial(np.matmul, v, g), args.pairs
        )
        m = cal.metrics
        rows.append(
            (
                n,
                t_cal,
                prepared.prepare_s,
                args.batch / t_sur,
                args.batch / t_ideal,
                ratio,
                m["surrogate"]["nrmse"],
                m["surrogate"]["max_error"],
                m["ideal"]["max_error"],
                m["analytical"]["max_error"],
                m["surrogate v_out"]["max_error"] if "surrogate v_out" in m else float("nan"),
            )
        )
    print(
        f"\nPassive NxN, 2 ohm segments, readout {args.readout}; calibration: 8 training + 3 "
        f"held-out ngspice runs of 8 vectors; throughput on batches of {args.batch}, median of "
        f"{args.pairs} pairs.\n"
    )
    print(
        "| N | calibration (s) | prepare (s) | surrogate MVM/s | V @ G MVM/s | throughput vs "
        "V @ G | held-out NRMSE | held-out max err | ideal max err | analytical max err | "
        "TIA outputs max err |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r[0]} | {r[1]:.1f} | {r[2]:.3f} | {r[3]:.3g} | {r[4]:.3g} | {r[5]:.2f}x | "
            f"{r[6]:.1e} | {r[7]:.1e} | {r[8]:.1e} | {r[9]:.1e} | "
            f"{'-' if np.isnan(r[10]) else format(r[10], '.1e')} |"
        )


if __name__ == "__main__":
    main()
