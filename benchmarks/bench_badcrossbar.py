"""cimspice's exact solvers against badcrossbar on the same passive arrays, side by side.

    .venv/bin/python benchmarks/bench_badcrossbar.py [--sizes 64,128,256,512] [--vectors 100]

badcrossbar (PyPI, ``pip install badcrossbar``; Joksas and Mehonic, SoftwareX 2020) solves the
same circuit as cimspice's reference topology: word lines driven at their first cell through
one segment, bit lines read at their last cell through one segment into 0 V, ``r`` ohm per
segment on both. For each size: random conductances in 1-100 uS, ``--vectors`` random input
vectors in 0-0.2 V, 2 ohm segments (one seed); the ``nodal`` engine with ``solver="lu"``
(program + run: one sparse LU, every vector from it; benchmarks/bench_large_tiles.py has the
port reduction, the engine's choice from 128x128 on), the admittance cascade's transfer
matrix (dense row-by-row algebra, memory ``O(cols (rows + cols))``, then one matmul) and
``badcrossbar.compute`` (its own sparse solve of the node network, output currents only), each
timed once in the same run, the peak memory each adds (tracemalloc: numpy's and Python's
allocations, not SuperLU's C heap), and the largest difference of each from the nodal
engine's output currents, as a fraction of full scale.
"""

from __future__ import annotations

import argparse
import logging
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from cimspice.engines.cascade import transfer_matrix
from cimspice.result import Result
from cimspice.simulation import get_engine
from cimspice.spec import CrossbarSpec, spec_from_dict
from cimspice.topology import PassiveTopology


def timed(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """``(result, seconds, peak MiB traced)`` of ``function(*args, **kwargs)``."""
    tracemalloc.start()
    start = time.perf_counter()
    out = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, seconds, peak


def run_nodal(spec: CrossbarSpec, g: np.ndarray, v: np.ndarray) -> Result:
    """The nodal engine: program (one sparse LU), then every vector."""
    return get_engine("nodal", solver="lu").program(spec, g).run(v)


def run_cascade(topology: PassiveTopology, g: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The admittance cascade's transfer matrix, then one matmul."""
    return v @ transfer_matrix(topology, g)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,128,256,512")
    parser.add_argument("--vectors", type=int, default=100)
    parser.add_argument("--r", type=float, default=2.0, help="ohm per segment")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImportWarning)  # its plotting needs pycairo
        import badcrossbar
    logging.getLogger("badcrossbar").setLevel(logging.WARNING)  # its per-solve INFO lines
    logging.getLogger().setLevel(logging.WARNING)
    print(f"{args.vectors} vectors, {args.r:g} ohm segments, G in 1-100 uS, inputs 0-0.2 V")
    print(
        f"{'size':>6} {'nodal (s)':>10} {'cascade (s)':>12} {'badcrossbar (s)':>16} "
        f"{'bc / nodal':>11} {'cascade err':>12} {'badcrossbar err':>16} "
        f"{'MiB nodal':>10} {'MiB cascade':>12} {'MiB bc':>8}"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        rng = np.random.default_rng(n)
        g = rng.uniform(1e-6, 100e-6, (n, n))
        v = rng.uniform(0.0, 0.2, (args.vectors, n))
        spec = spec_from_dict(
            {"array": {"rows": n, "cols": n}, "wire": {"r_row": args.r, "r_col": args.r}}
        )
        nodal, t_nodal, m_nodal = timed(run_nodal, spec, g, v)
        topology = PassiveTopology.from_spec(spec)
        cascade, t_cascade, m_cascade = timed(run_cascade, topology, g, v)
        solution, t_bc, m_bc = timed(
            badcrossbar.compute, v.T, 1.0 / g, r_i=args.r, node_voltages=False, all_currents=False
        )
        bc = np.asarray(solution.currents.output).reshape(args.vectors, n)
        full = np.abs(nodal.currents).max()
        err_cascade = np.abs(cascade - nodal.currents).max() / full
        err_bc = np.abs(bc - nodal.currents).max() / full
        print(
            f"{n:>6} {t_nodal:10.2f} {t_cascade:12.2f} {t_bc:16.2f} {t_bc / t_nodal:11.2f} "
            f"{err_cascade:12.1e} {err_bc:16.1e} {m_nodal:10.0f} {m_cascade:12.0f} {m_bc:8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
