"""Large passive tiles: the port reduction against the sparse LU, the cascade and badcrossbar.

    nice -n 10 .venv/bin/python benchmarks/bench_large_tiles.py \\
        [--sizes 64,128,256,512,1024] [--vectors 100] [--lu-max 512] [--cascade-max 512] \\
        [--bc-max 1024] [--timeout 900]

For each size ``n``: random conductances in 1-100 uS, ``--vectors`` random inputs in 0-0.2 V,
2 ohm segments (the seed is ``n``, as in bench_badcrossbar.py), solved by

- ``ports``: the nodal engine with ``solver="ports"`` (the nested-dissection Cholesky reduced to
  the ports, :mod:`cimspice.engines.port_reduction`): program (= the tile's transfer matrix,
  what the surrogate's preparation computes) then run every vector (one matmul);
- ``lu``: the nodal engine with ``solver="lu"`` (SuperLU of every node, every vector solved);
- ``cascade``: the admittance cascade's transfer matrix (dense), then one matmul;
- ``badcrossbar``: ``badcrossbar.compute`` (PyPI; the same circuit, its own sparse solve),
  output currents only.

Each runs in a process of its own, one after another, so that its peak memory is its own: the
peak resident set (``ru_maxrss``) of that process, and the part it added to the process's
resident set after its imports and arrays. Errors are the largest difference of the output
currents from the sparse LU's as a fraction of full scale (the largest LU current), where the
LU ran; ``bc-ports`` is badcrossbar's difference from the ports'. ``--lu-max``,
``--cascade-max`` and ``--bc-max`` leave out the slow or memory-hungry ones above a size (the
LU outgrew 11 GB at 1024x1024; badcrossbar needed 9.4 GB for one vector there). The machine's
load average is printed before and after: the machines are shared, and times drift with it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

METHODS = ("ports", "lu", "cascade", "badcrossbar")


def arrays(n: int, vectors: int) -> tuple[np.ndarray, np.ndarray]:
    """The conductances and inputs of size ``n`` (seed ``n``)."""
    rng = np.random.default_rng(n)
    return rng.uniform(1e-6, 100e-6, (n, n)), rng.uniform(0.0, 0.2, (vectors, n))


def peak_mib() -> float:
    """This process's peak resident set so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(method: str, n: int, vectors: int, r: float, out: Path) -> None:
    """Run one method on one size in this process; print its figures as one JSON line and
    save its currents to ``out``."""
    from cimspice.engines.cascade import transfer_matrix
    from cimspice.simulation import get_engine
    from cimspice.spec import spec_from_dict
    from cimspice.topology import PassiveTopology

    if method == "badcrossbar":  # imported only where it runs: its modules count in the peak
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ImportWarning)  # its plotting needs pycairo
            import badcrossbar
        logging.getLogger("badcrossbar").setLevel(logging.WARNING)
        logging.getLogger().setLevel(logging.WARNING)
    g, v = arrays(n, vectors)
    spec = spec_from_dict({"array": {"rows": n, "cols": n}, "wire": {"r_row": r, "r_col": r}})
    base = peak_mib()
    prepare = float("nan")
    start = time.perf_counter()
    if method in ("ports", "lu"):
        tile = get_engine("nodal", solver=method).program(spec, g)
        prepare = time.perf_counter() - start
        currents = tile.run(v).currents
    elif method == "cascade":
        matrix = transfer_matrix(PassiveTopology.from_spec(spec), g)
        prepare = time.perf_counter() - start
        currents = v @ matrix
    else:
        solution = badcrossbar.compute(v.T, 1.0 / g, r_i=r, node_voltages=False, all_currents=False)
        currents = np.asarray(solution.currents.output).reshape(vectors, n)
    seconds = time.perf_counter() - start
    np.save(out, currents)
    print(
        json.dumps(
            {"seconds": seconds, "prepare_s": prepare, "peak_mib": peak_mib(), "base_mib": base}
        )
    )


def measure(
    method: str, n: int, args: argparse.Namespace, folder: Path
) -> tuple[dict[str, float], np.ndarray] | None:
    """One method on one size in its own process: its figures and currents, or ``None`` if it
    failed or timed out (the reason printed)."""
    out = folder / f"{method}_{n}.npy"
    command = [
        sys.executable,
        __file__,
        "--child",
        method,
        "--sizes",
        str(n),
        "--vectors",
        str(args.vectors),
        "--r",
        str(args.r),
        "--out",
        str(out),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        print(f"  {method} {n}x{n}: no result within {args.timeout:g} s", flush=True)
        return None
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        print(f"  {method} {n}x{n} failed (exit {done.returncode}): {tail}", flush=True)
        return None
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures, np.load(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,128,256,512,1024")
    parser.add_argument("--vectors", type=int, default=100)
    parser.add_argument("--r", type=float, default=2.0, help="ohm per segment")
    parser.add_argument("--lu-max", type=int, default=512)
    parser.add_argument("--cascade-max", type=int, default=512)
    parser.add_argument("--bc-max", type=int, default=1024)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.child:
        child(args.child, sizes[0], args.vectors, args.r, args.out)
        return
    limits = {"ports": 1 << 30, "lu": args.lu_max, "cascade": args.cascade_max}
    limits["badcrossbar"] = args.bc_max
    print(
        f"{args.vectors} vectors, {args.r:g} ohm segments, G in 1-100 uS, inputs 0-0.2 V; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (1 min) at the start",
        flush=True,
    )
    print(
        f"{'size':>5} {'method':>12} {'total s':>8} {'prepare s':>10} {'peak MiB':>9} "
        f"{'added MiB':>10} {'err vs lu':>10} {'bc-ports':>9} {'x ports':>8}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            results = {}
            for method in METHODS:
                if n <= limits[method]:
                    got = measure(method, n, args, Path(tmp))
                    if got is not None:
                        results[method] = got
            lu = results.get("lu")
            ports = results.get("ports")
            for method, (figures, currents) in results.items():
                err = (
                    f"{np.abs(currents - lu[1]).max() / np.abs(lu[1]).max():10.1e}"
                    if lu is not None
                    else f"{'-':>10}"
                )
                bc = (
                    f"{np.abs(currents - ports[1]).max() / np.abs(ports[1]).max():9.1e}"
                    if ports is not None and method == "badcrossbar"
                    else f"{'':>9}"
                )
                ratio = (
                    f"{figures['seconds'] / ports[0]['seconds']:8.1f}"
                    if ports is not None
                    else f"{'-':>8}"
                )
                print(
                    f"{n:>5} {method:>12} {figures['seconds']:8.2f} {figures['prepare_s']:10.2f} "
                    f"{figures['peak_mib']:9.0f} {figures['peak_mib'] - figures['base_mib']:10.0f} "
                    f"{err} {bc} {ratio}",
                    flush=True,
                )
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end", flush=True)


if __name__ == "__main__":
    main()
