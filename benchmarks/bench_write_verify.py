"""Write-verify of a 64x64 1T1R array in SPICE, row by row, and the programming model
calibrated from SPICE against it (issue 16).

    .venv/bin/python benchmarks/bench_write_verify.py [--size 64] [--calib-size 16]
        [--jobs 2] [--tol 0.03] [--max-pulses 50] [--on-crossing halve] [--osdi]
        [--out out/write_verify]

1. Calibration: write-verify of a ``--calib-size`` square array (its own random targets and
   device spread) in ngspice; :func:`cimspice.write.calibrate.calibrate_programming` turns it
   into the programming model (empirical per target level) and the generic device model's
   Gaussian fit (``prog_noise_abs + prog_noise_rel * target``).
2. The ``--size`` square array: write-verify of uniform random targets in ngspice, row decks
   (:func:`cimspice.write.verify.write_verify` with ``row_decks=True``: per iteration a deck
   per row in which only that row's cells are dynamic VTEAM devices, the other rows' cells
   left out, ``static_cells="open"``), ``--jobs`` decks at a time: wall time, pulses per cell,
   simulated programming time and energy, and the programmed-conductance error against the
   targets beside the two models' errors drawn for the same targets (quantiles, RMS,
   Kolmogorov-Smirnov distance to SPICE).
3. The row-deck approximation at full size: one more SET pulse and read on the middle row
   from the programmed states, in a deck whose other rows are fixed resistors with their
   access transistors (``static_cells="resistor"``) and in the open deck: read conductances,
   states and energy side by side, and both decks' wall times.

Device: VTEAM (Kvatinsky et al. 2015, the published switching parameters of
``models/vteam.lib``) with ``r_on`` = 18 kohm and ``r_off`` = 1 Mohm (the window over the 5-50 uS
targets), 20% log-normal device-to-device spread of the switching rates; 1T1R with the built-in
65 nm NMOS (w 500 nm), 2 ohm wire segments, 50 ns pulses with 1 ns edges. Policy: SET at
0.8 V (gate 1.0 V; a VTEAM SET is abrupt and ends near ``r_on``), RESET from 30 mV in 2 mV
steps (gate 3.0 V), verify reads at 0.2 V.

Writes the calibration report under ``--out`` (:func:`write_calibration_report`:
``errors.png``, the histogram of the calibration run, the large array and both models' draws
for its targets; ``report.md``) and ``programming.json`` (the model).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from cimspice.outputs import OutputPlan
from cimspice.spec import spec_from_dict
from cimspice.write.calibrate import (
    calibrate_programming,
    compare,
    model_errors,
    write_calibration_report,
)
from cimspice.write.models import dynamic_model, read_table
from cimspice.write.pulses import Program, read_row, row_pulse
from cimspice.write.run import run_program
from cimspice.write.verify import VerifyPolicy, VerifyResult, write_verify

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def array_spec(size: int, seed: int, osdi: bool = False) -> object:
    """The benchmark's 1T1R array (``seed``: its device-to-device spread; ``osdi``: the
    VTEAM device compiled through ngspice's OSDI interface, ``write.osdi``)."""
    return spec_from_dict(
        {
            "array": {"rows": size, "cols": size, "cell": "1T1R"},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "device": {"g_min": 5e-6, "g_max": 50e-6},
            "write": {
                "model": "vteam",
                "model_params": {"r_on": 1.8e4, "r_off": 1e6},
                "t_pulse": 50e-9,
                "t_edge": 1e-9,
                "v_gate_set": 1.0,
                "v_gate_reset": 3.0,
                "variation": 0.2,
                "seed": seed,
                "osdi": osdi,
            },
        }
    )


def policy(tol: float, max_pulses: int, on_crossing: str = "halve") -> VerifyPolicy:
    """The benchmark's write-verify policy (BENCHMARKS.md's figures: ``on_crossing="restart"``,
    the rule before the crossing rule of cimspice.write.verify changed)."""
    return VerifyPolicy(
        tol=tol,
        v_set_start=0.8,
        v_reset_start=0.03,
        step=0.002,
        max_pulses=max_pulses,
        on_crossing=on_crossing,
    )


def targets(size: int, seed: int) -> np.ndarray:
    """Uniform random targets over the window, siemens."""
    return np.random.default_rng(seed).uniform(5e-6, 50e-6, (size, size))


def load() -> str:
    return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg())


def describe(run: VerifyResult, what: str) -> None:
    s = run.summary()
    print(
        f"{what}: {int(s['cells'])} cells, wall {run.elapsed_s:.1f} s of ngspice runs; "
        f"converged {s['converged']:.1%}; pulses per cell mean {s['pulses_mean']:.2f}, "
        f"max {int(s['pulses_max'])}; simulated programming time {s['time_s'] * 1e6:.2f} us "
        f"(rows in turn); energy {s['energy_j'] * 1e9:.3f} nJ "
        f"({s['energy_per_cell_j'] * 1e12:.3f} pJ per cell)"
    )


def row_check(spec: object, run: VerifyResult) -> None:
    """Part 3: a SET pulse and a read on the middle row, static rows as resistors vs open."""
    n = run.targets.shape[0]
    row = n // 2
    amplitudes = np.full(n, 0.8)
    program = Program((row_pulse(spec, row, amplitudes, "set"), read_row(spec, row, 20e-9)), 1e-9)
    read_table(dynamic_model(spec), spec.driver.v_read)  # measured once, outside the timing
    out = {}
    for cells in ("resistor", "open"):
        t0 = time.perf_counter()
        r = run_program(
            spec, program, run.states, progress=False, dynamic_rows=[row], static_cells=cells
        )
        out[cells] = (r, time.perf_counter() - t0)
    (a, ta), (b, tb) = out["resistor"], out["open"]
    window = 45e-6
    dg = np.abs(a.bit_currents[-1] - b.bit_currents[-1]) / 0.2 / window
    dx = np.abs(a.final_states[row] - b.final_states[row])
    de = abs(a.total_energy - b.total_energy) / a.total_energy
    print(
        f"row {row} SET + read, other rows as resistors + transistors ({ta:.1f} s) vs left out "
        f"({tb:.1f} s): read conductance differs by at most {dg.max():.2e} of the window, "
        f"state by {dx.max():.2e}, energy by {de:.2e} relative"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--calib-size", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tol", type=float, default=0.03)
    parser.add_argument("--max-pulses", type=int, default=50)
    parser.add_argument("--on-crossing", choices=("halve", "restart"), default="halve")
    parser.add_argument("--out", default="out/write_verify")
    parser.add_argument(
        "--osdi", action="store_true", help="the OSDI VTEAM device (needs the osdi extra)"
    )
    args = parser.parse_args()
    plan = OutputPlan()
    plan.folder(args.out, "--out", ["errors.png", "report.md", "programming.json"])
    plan.check()
    pol = policy(args.tol, args.max_pulses, args.on_crossing)
    print(f"start: {load()} (2-core machine shared with other agents)")

    spec_c = array_spec(args.calib_size, seed=1, osdi=args.osdi)
    t0 = time.perf_counter()
    calib = write_verify(
        spec_c, targets(args.calib_size, 1), pol, row_decks=True, static_cells="open",
        jobs=args.jobs,
    )  # fmt: skip
    print(f"calibration run done in {time.perf_counter() - t0:.1f} s wall; {load()}")
    describe(calib, f"calibration, {args.calib_size}x{args.calib_size}")
    model = calibrate_programming(
        [calib], bins=4, source=f"{args.calib_size}x{args.calib_size} VTEAM 1T1R row decks"
    )
    print(
        f"generic Gaussian fit: sigma = {model.prog_noise_abs:.3g} S + "
        f"{model.prog_noise_rel:.3g} * target"
    )

    spec = array_spec(args.size, seed=0, osdi=args.osdi)
    t0 = time.perf_counter()
    run = write_verify(
        spec, targets(args.size, 0), pol, row_decks=True, static_cells="open", jobs=args.jobs
    )
    wall = time.perf_counter() - t0
    print(
        f"\n{args.size}x{args.size} write-verify: {wall:.1f} s wall ({wall / 60:.1f} min); {load()}"
    )
    describe(run, f"{args.size}x{args.size}")

    c = compare(model, run)
    model_err, generic_err, _ = model_errors(model, run.targets)
    spice_err = run.errors.ravel()
    print("\nprogrammed - target, fraction of the window (models drawn 20x for the same targets)")
    print("| | " + " | ".join(f"q{q:g}" for q in QUANTILES) + " | std | RMS | KS to SPICE |")
    print("|---" * (len(QUANTILES) + 4) + "|")
    for name, e, ks in (
        ("SPICE", spice_err, 0.0),
        ("programming model (empirical)", model_err, c["ks"]),
        ("generic Gaussian fit", generic_err, c["ks_generic"]),
    ):
        q = np.quantile(e, QUANTILES)
        print(
            f"| {name} | " + " | ".join(f"{v:+.4f}" for v in q)
            + f" | {np.std(e):.4f} | {np.sqrt(np.mean(e**2)):.4f} | {ks:.3f} |"
        )  # fmt: skip
    print(f"mean pulses: SPICE {c['pulses_spice']:.2f}, programming model {c['pulses_model']:.2f}")

    row_check(spec, run)

    with plan:
        folder = plan.stage(args.out)
        model.save(folder / "programming.json")
        write_calibration_report(model, folder, held_out=run)
    print(f"\nwrote {args.out}/errors.png, report.md, programming.json; end: {load()}")


if __name__ == "__main__":
    main()
