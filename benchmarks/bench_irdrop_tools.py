"""IR drop on one passive array by cimspice, badcrossbar and aihwkit, side by side in one run.

    nice -n 10 .venv/bin/python benchmarks/bench_irdrop_tools.py \\
        [--aihwkit-python .venv-aihwkit/bin/python] [--aihwkit-cpp-python PYTHON] \\
        [--sizes 64,128,256,512,1024] [--vectors 10] [--bc-max 512] [--t8-max 512] \\
        [--timeout 900]

For each size ``n``: conductances uniform in 1-100 uS and ``--vectors`` read-voltage vectors
in 0-0.2 V on the 8-bit PWM grid ``0.2 k / 127`` (seed ``n``; aihwkit's time-dependent model
takes PWM inputs, and on the grid it quantises none of them), 2 ohm wire segments. The
circuit is cimspice's reference passive crossbar: word lines driven at their first cell and
bit lines read at their last cell into 0 V, one segment each way, ``r`` on both lines. Each
tool runs in a process of its own, one after another (its peak resident set is its own):

- ``nodal``: the nodal engine (``solver="auto"``: the sparse LU below 128x128, the port
  reduction from there on): the **exact solution**, every error is measured against it;
- ``nodal, aihwkit's circuit``: the nodal engine's sparse LU on the circuit aihwkit's
  time-dependent model describes (ideal word lines, ``r`` per bit-line segment, half a
  segment into the sense node, even columns read at the last row, odd ones at the first);
- ``badcrossbar``: ``badcrossbar.compute`` (PyPI; the same circuit as ``nodal``);
- ``aihwkit IRDropT (n seg)`` / ``(8 seg)``: ``TorchInferenceRPUConfigIRDropT`` with one
  Thevenin segment per row / its default 8 segments, in aihwkit's own environment
  (``--aihwkit-python``, as ``bench_aihwkit.py``) through ``aihwkit_irdrop_side.py``, which
  documents the mapping of the array onto its parameters;
- ``aihwkit C++ ir_drop``: ``InferenceRPUConfig`` with ``forward.ir_drop = 1`` and
  ``ir_drop_g_ratio = 1 / (r g_max)``, where ``--aihwkit-cpp-python`` names an environment
  whose torch aihwkit's C++ extension accepts (1.1.0's refuses torch 2.13's tensors);
- ``ideal V @ G``: no wires.

Columns: seconds (the tool's work on all vectors; aihwkit's includes building its tile),
peak MiB (the process's ``ru_maxrss``), and the largest difference of its output currents
from ``nodal``'s and from ``nodal, aihwkit's circuit``'s, as fractions of full scale (the
largest ``nodal`` current), with the mean signed difference from ``nodal`` (positive: the
tool reads more current than the circuit passes, i.e. it underestimates the IR drop).
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

HERE = Path(__file__).resolve().parent
V_READ = 0.2
LEVELS = 127
CIMSPICE = ("nodal", "aihwkit-circuit", "badcrossbar", "ideal")
AIHWKIT = ("irdrop-t", "irdrop-t8", "cpp")
NAMES = {
    "nodal": "cimspice nodal (exact)",
    "aihwkit-circuit": "cimspice nodal, aihwkit's circuit",
    "badcrossbar": "badcrossbar",
    "ideal": "ideal V @ G",
    "irdrop-t": "aihwkit IRDropT (n seg)",
    "irdrop-t8": "aihwkit IRDropT (8 seg)",
    "cpp": "aihwkit C++ ir_drop",
}


def arrays(n: int, vectors: int) -> tuple[np.ndarray, np.ndarray]:
    """Conductances (S) and read voltages (V, on the 8-bit PWM grid) of size ``n``."""
    rng = np.random.default_rng(n)
    g = rng.uniform(1e-6, 100e-6, (n, n))
    return g, V_READ * rng.integers(0, LEVELS + 1, (vectors, n)) / LEVELS


def aihwkit_circuit(g: np.ndarray, v: np.ndarray, r: float) -> np.ndarray:
    """The output currents of the circuit aihwkit's time-dependent model describes, by the
    nodal engine's sparse LU: ideal word lines, ``r`` per bit-line segment and ``r / 2`` into
    the sense node; even columns sensed after the last row, odd columns after the first
    (its "north and south ADCs": the same network with the rows in reverse order)."""
    from cimspice.engines.nodal import NodalSolver
    from cimspice.spec import spec_from_dict
    from cimspice.topology import PassiveTopology

    rows, cols = g.shape
    spec = spec_from_dict({"array": {"rows": rows, "cols": cols}, "wire": {"r_col": r}})
    topology = PassiveTopology(rows, cols, r_first=0.0, r_row=0.0, r_col=r, r_last=r / 2)
    south = NodalSolver(spec, g, topology=topology).solve(v).currents
    north = NodalSolver(spec, g[::-1], topology=topology).solve(v[:, ::-1]).currents
    south[:, 1::2] = north[:, 1::2]
    return south


def child(method: str, src: Path, dst: Path) -> None:
    """Run one cimspice-side ``method`` on the arrays in ``src``; save the currents to
    ``dst`` and print its figures as one JSON line."""
    from cimspice.simulation import get_engine
    from cimspice.spec import spec_from_dict

    if method == "badcrossbar":  # imported only where it runs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ImportWarning)  # its plotting needs pycairo
            import badcrossbar
        logging.getLogger("badcrossbar").setLevel(logging.WARNING)
        logging.getLogger().setLevel(logging.WARNING)
    with np.load(src) as f:
        g, v, r = f["g"], f["v"], float(f["r"])
    n = len(g)
    start = time.perf_counter()
    if method == "nodal":
        spec = spec_from_dict({"array": {"rows": n, "cols": n}, "wire": {"r_row": r, "r_col": r}})
        currents = get_engine("nodal", solver="auto").program(spec, g).run(v).currents
    elif method == "aihwkit-circuit":
        currents = aihwkit_circuit(g, v, r)
    elif method == "ideal":
        currents = v @ g
    else:
        solution = badcrossbar.compute(v.T, 1.0 / g, r_i=r, node_voltages=False, all_currents=False)
        currents = np.asarray(solution.currents.output).reshape(v.shape[0], n)
    seconds = time.perf_counter() - start
    np.save(dst, currents)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak}))


def run(command: list[str], out: Path, timeout: float) -> tuple[dict, np.ndarray] | str:
    """Run one tool's process: its figures and currents, or why there are none."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"no result within {timeout:g} s"
    if done.returncode != 0:
        return f"failed: {(done.stderr.strip().splitlines() or ['(no output)'])[-1]}"
    return json.loads(done.stdout.strip().splitlines()[-1]), np.load(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aihwkit-python", default=str(HERE.parent / ".venv-aihwkit/bin/python"))
    parser.add_argument("--aihwkit-cpp-python", help="an environment where aihwkit's C++ tile runs")
    parser.add_argument("--sizes", default="64,128,256,512,1024")
    parser.add_argument("--vectors", type=int, default=10)
    parser.add_argument("--r", type=float, default=2.0, help="ohm per segment")
    parser.add_argument("--bc-max", type=int, default=512, help="largest size for badcrossbar")
    parser.add_argument("--t8-max", type=int, default=512, help="largest size for 8 segments")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--child", choices=CIMSPICE, help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dst", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.src, args.dst)
        return
    print(
        f"{args.vectors} vectors on the 8-bit PWM grid in 0-{V_READ:g} V, {args.r:g} ohm "
        f"segments, G in 1-100 uS; load average {os.getloadavg()[0]:.2f} (1 min) at the start",
        flush=True,
    )
    print("| size | tool | seconds | peak MiB | err vs exact | mean signed | err vs its circuit |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            src = Path(tmp) / f"arrays_{n}.npz"
            g, v = arrays(n, args.vectors)
            np.savez(src, g=g, v=v, r=args.r, v_read=V_READ)
            methods = [m for m in CIMSPICE if m != "badcrossbar" or n <= args.bc_max]
            methods += ["irdrop-t"] + (["irdrop-t8"] if n <= args.t8_max else [])
            methods += ["cpp"] if args.aihwkit_cpp_python else []
            results: dict[str, tuple[dict, np.ndarray] | str] = {}
            for method in methods:
                out = Path(tmp) / f"{method}_{n}.npy"
                if method in CIMSPICE:
                    command = [sys.executable, __file__, "--child", method, "--src", str(src)]
                    command += ["--dst", str(out)]
                else:
                    python = args.aihwkit_cpp_python if method == "cpp" else args.aihwkit_python
                    command = [python, str(HERE / "aihwkit_irdrop_side.py"), method, str(src)]
                    command += [str(out)]
                results[method] = got = run(command, out, args.timeout)
                print_row(n, method, got, results)
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end", flush=True)


def print_row(n: int, method: str, got: tuple[dict, np.ndarray] | str, results: dict) -> None:
    """One markdown row: ``method``'s figures at size ``n`` against the references."""
    if isinstance(got, str):
        print(f"| {n} | {NAMES[method]} | {got} | | | | |", flush=True)
        return
    figures, currents = got
    cells = []
    exact = results.get("nodal")
    own = results.get("aihwkit-circuit")
    if isinstance(exact, tuple):
        full = np.abs(exact[1]).max()
        cells += [f"{np.abs(currents - exact[1]).max() / full:.2e}"]
        cells += [f"{np.mean(currents - exact[1]) / full:+.2e}"]
        if isinstance(own, tuple):
            cells += [f"{np.abs(currents - own[1]).max() / full:.2e}"]
    cells += [""] * (3 - len(cells))
    print(
        f"| {n} | {NAMES[method]} | {figures['seconds']:.2f} | {figures['peak_mib']:.0f} | "
        + " | ".join(cells)
        + " |",
        flush=True,
    )


if __name__ == "__main__":
    main()
