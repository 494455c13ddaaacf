"""Nonlinear (sinh) cells: nodal Newton vs ngspice, time and agreement, side by side.

    .venv/bin/python benchmarks/bench_sinh.py [--sizes 64 128] [--batch 100] [--v0 0.2]

Both engines solve the same batch (inputs up to 0.3 V, conductances 1-100 uS, 2 ohm segments);
errors are fractions of full scale (the largest ngspice current).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from cimspice.metrics import max_error
from cimspice.simulation import get_engine
from cimspice.spec import spec_from_dict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--v0", type=float, default=0.2)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        print(f"[bench] {n}x{n} ...", file=sys.stderr, flush=True)
        spec = spec_from_dict(
            {
                "array": {"rows": n, "cols": n},
                "wire": {"r_row": 2.0, "r_col": 2.0},
                "device": {"iv": "sinh", "v0": args.v0},
            }
        )
        rng = np.random.default_rng(n)
        g = rng.uniform(1e-6, 1e-4, (n, n))
        v = rng.uniform(0.0, 0.3, (args.batch, n))
        t0 = time.perf_counter()
        nodal = get_engine("nodal").run(spec, g, v)
        t1 = time.perf_counter()
        spice = get_engine("ngspice").run(spec, g, v)
        t2 = time.perf_counter()
        linear = spec_from_dict({**spec.to_dict(), "device": {"iv": "linear"}})
        lin = get_engine("nodal").run(linear, g, v)
        rows.append(
            (
                n,
                t2 - t1,
                t1 - t0,
                (t2 - t1) / (t1 - t0),
                max_error(nodal.currents, spice.currents),
                max_error(lin.currents, spice.currents),
            )
        )
    print(f"\nsinh cells, v0 = {args.v0} V, inputs U(0, 0.3) V, {args.batch} vectors\n")
    print(
        "| N | ngspice (s) | nodal Newton (s) | ngspice / nodal | nodal vs ngspice max err "
        "| linear-cell model max err |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.1f}x | {r[4]:.1e} | {r[5]:.1e} |")


if __name__ == "__main__":
    main()
