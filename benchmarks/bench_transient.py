"""Transient settling run of a tile: wall time and ngspice's own figures.

    .venv/bin/python benchmarks/bench_transient.py [--sizes 64] [--cell 1T1R]

A 1T1R tile with TIA readouts (gain 1e4, 1 GHz GBW, r_f 2 kohm), 2 ohm segments with 1 fF per
node; every word line steps to 0.2 V; 20 ns window, 20 ps print step, settling band 1e-2 (the
op-amp's 100 kHz open-loop pole leaves a microsecond tail of ~1/(gain * feedback factor),
about 1e-3, so a 1e-3 band needs microseconds).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cimspice.engines.ngspice import NgspiceEngine
from cimspice.engines.transient import run_transient
from cimspice.spec import spec_from_dict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64])
    parser.add_argument("--cell", default="1T1R")
    args = parser.parse_args()
    print("| N | cell | wall (s) | ngspice analysis (s) | time points | slowest settling (ns) |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        spec = spec_from_dict(
            {
                "array": {"rows": n, "cols": n, "cell": args.cell},
                "wire": {"r_row": 2.0, "r_col": 2.0, "c_row": 1e-15, "c_col": 1e-15},
                "device": {"c_cell": 1e-16},
                "readout": {"kind": "tia", "r_f": 2e3, "gain": 1e4, "gbw": 1e9},
            }
        )
        g = np.random.default_rng(n).uniform(1e-6, 1e-4, (n, n))
        start = time.perf_counter()
        r = run_transient(
            NgspiceEngine(), spec, g, np.full(n, 0.2), t_stop=20e-9, t_step=20e-12, tol=1e-2
        )
        wall = time.perf_counter() - start
        print(
            f"| {n} | {args.cell} | {wall:.2f} | {r.info['ngspice_analysis_s']:.2f} | "
            f"{r.time.size} | {r.settling_time.max() * 1e9:.2f} |"
        )


if __name__ == "__main__":
    main()
