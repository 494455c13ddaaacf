"""Dynamics and noise as a resource: NARMA-10 on a dynamic-memristor reservoir, and read
noise as the sampler of stochastic inference.

    .venv/bin/python benchmarks/bench_reservoir.py [--devices 50] [--sizes 10,25,50,100]
        [--steps 3000] [--seeds 3] [--seed-devices 50,100] [--reads 30]
        [--read-noise 0.1,0.3] [--plot-dir out/reservoir]

1. NARMA-10 (3000 steps: 1500 train, 700 validation, the rest held out) on a reservoir of
   ``--devices`` VTEAM memristors (cimspice.dynamics.reservoir: 12-step windows of 4 pulses,
   10% device-to-device rate spread), an echo-state network of as many units (spectral
   radius, leak and input scale chosen on the validation split) and linear regression on as
   many delayed inputs and on the window's 12: the test NMSE table, the reservoir once more
   with 2% read noise on its features; the test NMSE of each model over ``--seeds`` seeds
   (series, masks, device spread and ESN weights all drawn anew) at each of
   ``--seed-devices`` sizes; then the test NMSE against
   the number of features (``--sizes``).
2. The reservoir's integrator against ngspice: one device's 12-pulse window in ngspice
   (cimspice.write.run, reltol 1e-7) against all ``steps x devices`` windows integrated in
   numpy, seconds per window side by side, and their largest state difference on that window.
3. digits-mlp on 64x64 tiles (ideal engine) with read noise ``--read-noise``: accuracy, NLL
   and ECE of the deterministic network, one noisy read, and the mean of ``--reads`` reads
   by the hardware sampler (HardwareMatMul) and by the software sampler (each cell's
   conductance perturbed in numpy).

With ``--plot-dir``: narma_prediction.png, narma_nmse_vs_size.png, reliability.png.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cimspice.dynamics.comparison import NARMA_RANGE, NarmaTable, narma_table
from cimspice.dynamics.reservoir import (
    DeviceReservoir,
    integrate_pulses,
    pulse_program,
    reservoir_spec,
)
from cimspice.dynamics.stochastic import calibration_bins, compare_samplers
from cimspice.dynamics.tasks import narma10
from cimspice.nn.zoo import builtin_model
from cimspice.outputs import OutputPlan
from cimspice.plots import save_figure
from cimspice.plots.dynamics import plot_nmse_vs_size, plot_prediction, plot_reliability
from cimspice.spec import spec_from_dict
from cimspice.write.run import run_program


def _floats(text: str) -> list[float]:
    return [float(t) for t in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--sizes", default="10,25,50,100")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed-devices", default="50,100")
    parser.add_argument("--reads", type=int, default=30)
    parser.add_argument("--read-noise", default="0.1,0.3")
    parser.add_argument("--plot-dir")
    args = parser.parse_args()
    plan = OutputPlan()
    if args.plot_dir:
        names = ["narma_prediction.png", "narma_nmse_vs_size.png", "reliability.png"]
        plan.folder(args.plot_dir, "--plot-dir", names)
        plan.check()  # before the work

    print(f"== NARMA-10, {args.devices} features, {args.steps} steps (seed 0)")
    start = time.perf_counter()
    table = narma_table(args.devices, steps=args.steps, progress=True)
    print(table.format())
    noisy = narma_table(args.devices, steps=args.steps, read_noise=0.02, progress=True).row(
        "memristor reservoir"
    )
    print(f"memristor reservoir, 2% read noise: {noisy.val_nmse:.4f} {noisy.test_nmse:.4f}")
    print(f"({time.perf_counter() - start:.1f} s)")

    tables = {(args.devices, 0): table}

    def run(n: int, seed: int) -> NarmaTable:
        if (n, seed) not in tables:
            tables[n, seed] = narma_table(n, steps=args.steps, seed=seed, progress=True)
        return tables[n, seed]

    seeds = range(args.seeds)
    for n in [int(s) for s in args.seed_devices.split(",")]:
        per_seed: dict[str, list[float]] = {}
        for seed in seeds:
            for r in run(n, seed).rows:
                per_seed.setdefault(r.name, []).append(r.test_nmse)
        print(f"\n== {n} features: test NMSE over seeds {list(seeds)} (series, masks, devices, "
              "ESN weights)")  # fmt: skip
        for name, values in per_seed.items():
            v = np.array(values)
            spread = v.std(ddof=1) if len(v) > 1 else 0.0
            print(f"{name:<24} mean {v.mean():.4f}  std {spread:.4f}  "
                  f"per seed {' '.join(f'{x:.4f}' for x in v)}")  # fmt: skip

    sizes = [int(s) for s in args.sizes.split(",")]
    curves: dict[str, list[float]] = {}
    for n in sizes:
        for r in run(n, 0).rows[:3]:
            curves.setdefault(r.name, []).append(r.test_nmse)
    print("\n== test NMSE against features")
    print(f"{'features':>8} " + " ".join(f"{k:>22}" for k in curves))
    for k, n in enumerate(sizes):
        print(f"{n:>8d} " + " ".join(f"{v[k]:>22.4f}" for v in curves.values()))

    print("\n== the reservoir's integrator against ngspice (one 12-pulse window)")
    u, _ = narma10(args.steps, 0)
    reservoir = DeviceReservoir(reservoir_spec(args.devices))
    amplitudes = reservoir.amplitudes(u, NARMA_RANGE)
    a = amplitudes[30, 0]
    one = reservoir_spec(1)
    x0 = reservoir.reset_state()
    t0 = time.perf_counter()
    spice = run_program(
        one, pulse_program(one, reservoir.model, a, reservoir.encoding), np.full((1, 1), x0),
        reltol=1e-7, progress=False,
    )  # fmt: skip
    spice_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    states = integrate_pulses(
        reservoir.model, amplitudes, x0, reservoir.encoding, factors=reservoir.factors
    )
    numpy_s = (time.perf_counter() - t0) / states.size
    ours = integrate_pulses(
        reservoir.model, a, x0, reservoir.encoding, factors=reservoir.factors[0], keep=True
    )[1:]
    diff = float(np.max(np.abs(ours - spice.states[2::2, 0, 0])))
    print(
        f"ngspice {spice_s * 1e3:.1f} ms per window; numpy {numpy_s * 1e6:.2f} us per window "
        f"({states.size} windows at once): {spice_s / numpy_s:.0f}x; largest state difference "
        f"{diff:.2e} (state range 1)"
    )

    print(f"\n== stochastic inference: digits-mlp, 64x64 tiles, {args.reads} reads")
    model, data = builtin_model("digits-mlp")
    comparisons = {}
    for level in _floats(args.read_noise):
        spec = spec_from_dict(
            {"array": {"rows": 64, "cols": 64}, "nonideal": {"read_noise": level}}
        )
        t0 = time.perf_counter()
        c = compare_samplers(model, data.x_test, data.y_test, spec, args.reads, progress=True)
        comparisons[level] = c
        print(f"read noise {level:g} ({len(data.y_test)} test samples, "
              f"{time.perf_counter() - t0:.1f} s)")  # fmt: skip
        print(c.format())

    if args.plot_dir:
        with plan:
            folder = plan.stage(args.plot_dir)
            caption = f"NARMA-10, seed 0, {args.devices} features; VTEAM model (write.equations)"
            fig = plot_prediction(
                table.target, {r.name: r.prediction for r in table.rows[:3]}, caption=caption
            )
            save_figure(fig, folder / "narma_prediction.png")
            fig = plot_nmse_vs_size(sizes, curves, caption="NARMA-10, seed 0, test segment")
            save_figure(fig, folder / "narma_nmse_vs_size.png")
            level = max(comparisons)
            c = comparisons[level]
            bins = {k: calibration_bins(p, c.labels) for k, p in c.probs.items() if "one" not in k}
            fig = plot_reliability(
                bins, caption=f"digits-mlp, 64x64 ideal tiles, read noise {level:g}"
            )
            save_figure(fig, folder / "reliability.png")
        print(f"\nplots in {args.plot_dir}")


if __name__ == "__main__":
    main()
