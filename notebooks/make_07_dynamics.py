"""Writes notebooks/07_dynamics.ipynb (run from the repository root); outputs are left
empty, the test suite executes the notebook."""

from _notebook import code, write
from nbformat.v4 import new_markdown_cell

cells = [
    new_markdown_cell(
        "# Device dynamics and read noise as a resource\n\n"
        "Two uses of what is otherwise an error: the switching dynamics of a memristor as "
        "the memory and nonlinearity of a **reservoir computer**, and its **read noise** as "
        "the random source of stochastic inference. Small settings, so that the notebook runs "
        "in under a minute; `benchmarks/bench_reservoir.py` runs the full-size tables "
        "(BENCHMARKS.md)."
    ),
    new_markdown_cell(
        "## A reservoir of VTEAM memristors on NARMA-10\n\n"
        "Each device gets, for every time step, the last 12 inputs as voltage pulses (4 of "
        "them, at random positions, each scaled by its own random mask: "
        "`cimspice.dynamics.reservoir`); its conductance read afterwards is one feature, and a "
        "ridge readout is trained on them. The device states are integrated from the VTEAM "
        "equations (`cimspice.write.equations`, the ones checked against ngspice). Beside it: "
        "an echo-state network of as many units (tuned on the validation split) and linear "
        "regression on delayed inputs."
    ),
    code(
        """
        from pathlib import Path

        import numpy as np
        from IPython.display import Image, display

        from cimspice.dynamics.comparison import NARMA_RANGE, narma_table
        from cimspice.plots import save_figure
        from cimspice.plots.dynamics import plot_prediction

        out = Path("out/notebook06")
        out.mkdir(parents=True, exist_ok=True)
        table = narma_table(30, steps=1600, train=800, val=380)
        print(table.format())
        fig = plot_prediction(
            table.target,
            {r.name: r.prediction for r in table.rows[:3]},
            caption="NARMA-10, 30 features, seed 0; VTEAM (write.equations)",
        )
        display(Image(save_figure(fig, out / "narma_prediction.png")))
        """
    ),
    new_markdown_cell(
        "## One device's trajectory: numpy against ngspice\n\n"
        "The same 12-slot pulse train on one device, as a write program in ngspice "
        "(`cimspice.write.run`) and through the reservoir's Runge-Kutta integrator."
    ),
    code(
        """
        from cimspice.dynamics.reservoir import (
            DeviceReservoir,
            integrate_pulses,
            pulse_program,
            reservoir_spec,
        )
        from cimspice.dynamics.tasks import narma10
        from cimspice.write.run import run_program

        u, _ = narma10(50, 0)
        reservoir = DeviceReservoir(reservoir_spec(8))
        a = reservoir.amplitudes(u, NARMA_RANGE)[30, 0]
        one = reservoir_spec(1)
        x0 = reservoir.reset_state()
        program = pulse_program(one, reservoir.model, a, reservoir.encoding)
        spice = run_program(one, program, np.full((1, 1), x0), reltol=1e-7, progress=False)
        ours = integrate_pulses(
            reservoir.model, a, x0, reservoir.encoding, factors=reservoir.factors[0], keep=True
        )
        print("pulse amplitudes (V):", np.round(a, 3))
        print("state after each slot, ngspice:", np.round(spice.states[::2, 0, 0], 4))
        print("largest difference:", float(np.max(np.abs(ours - spice.states[::2, 0, 0]))))
        """
    ),
    new_markdown_cell(
        "## Writing the array in SPICE: disturb and write-verify\n\n"
        "Half-select disturb of a small passive array of Stanford-PKU RRAM cells: four RESET "
        "pulses on the centre cell under V/2 and under V/3 biasing, every cell's conductance "
        "change as a fraction of the model's window (`cimspice.write.disturb`, ngspice "
        "transients). Then write-verify of 4x4 1T1R arrays of VTEAM cells in ngspice, row by "
        "row (`write_verify(..., row_decks=True)`: a deck per row with only that row's cells "
        "dynamic, the other rows left out behind their off transistors), two runs calibrating "
        "the programming model (`cimspice.write.calibrate`) and a third held out: the "
        "histogram of programmed minus target conductance, with the model's draws and its "
        "generic Gaussian fit for the held-out targets. `benchmarks/bench_write_verify.py` "
        "runs it at 64x64 (BENCHMARKS.md)."
    ),
    code(
        """
        from cimspice.plots.write import plot_disturb_maps
        from cimspice.spec import spec_from_dict
        from cimspice.write.disturb import half_select_disturb

        passive = {
            "array": {"rows": 5, "cols": 5},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "write": {"model": "stanford", "v_reset": 2.0, "t_pulse": 50e-9},
        }
        maps = {}
        for bias in ("v/2", "v/3"):
            passive["write"]["bias"] = bias
            d = half_select_disturb(spec_from_dict(passive), 4, kind="reset", progress=False)
            maps[bias] = d.disturb_map()
            print(f"{bias}: largest disturb of another cell {d.worst_disturb()[-1]:.3g}")
        caption = "5x5 0T1R, Stanford RRAM, 4 RESET pulses"
        fig = plot_disturb_maps(maps, cell=(2, 2), caption=caption)
        display(Image(save_figure(fig, out / "disturb.png")))
        """
    ),
    code(
        """
        from cimspice.write.calibrate import (
            calibrate_programming,
            compare,
            write_calibration_report,
        )
        from cimspice.write.verify import VerifyPolicy, write_verify


        def one_t(seed):
            write = {
                "model": "vteam",
                "model_params": {"r_on": 1.8e4, "r_off": 1e6},
                "t_pulse": 50e-9,
                "v_gate_set": 1.0,
                "v_gate_reset": 3.0,
                "variation": 0.2,
                "seed": seed,
            }
            return spec_from_dict(
                {
                    "array": {"rows": 4, "cols": 4, "cell": "1T1R"},
                    "wire": {"r_row": 2.0, "r_col": 2.0},
                    "device": {"g_min": 5e-6, "g_max": 50e-6},
                    "write": write,
                }
            )


        start = {"v_set_start": 0.8, "v_reset_start": 0.03}
        policy = VerifyPolicy(tol=0.04, step=0.004, max_pulses=30, **start)
        runs = []
        for seed in (0, 1, 2):
            targets = np.random.default_rng(10 + seed).uniform(5e-6, 50e-6, (4, 4))
            run = write_verify(
                one_t(seed),
                targets,
                policy,
                row_decks=True,
                static_cells="open",
                jobs=2,
                progress=False,
            )
            runs.append(run)
            print(seed, {k: round(v, 4) for k, v in run.summary().items() if "_j" not in k})
        model = calibrate_programming(runs[:2], bins=2, source="two 4x4 VTEAM 1T1R runs")
        print({k: round(v, 4) for k, v in compare(model, runs[2]).items()})
        report, png = write_calibration_report(model, out / "write_verify", held_out=runs[2])
        display(Image(png))
        """
    ),
    new_markdown_cell(
        "## Network accuracy under SPICE write-verify\n\n"
        "The programming model just calibrated, saved as a file and selected by a network spec "
        '(`nonideal.model = "spice-verify"`, `nonideal.programming_file`): every tile of the '
        "digits MLP is programmed by drawing each cell's error from the SPICE cells with "
        "targets like its own (same window as the write-verify runs). Beside it: ideal devices "
        "and the zero-mean Gaussian fitted to the same spread (`cimspice evaluate --spec` does "
        "the same from the command line)."
    ),
    code(
        """
        from cimspice.nn.zoo import builtin_model
        from cimspice.spec import load_spec
        from cimspice.studies.evaluate import evaluate

        model.save(out / "write_verify" / "programming.json")
        mlp, digits = builtin_model("digits-mlp")
        tiles = "[array]\\nrows = 32\\ncols = 32\\n[device]\\ng_min = 5e-6\\ng_max = 50e-6\\n"
        networks = {
            "ideal devices": tiles,
            "SPICE write-verify (spice-verify)": tiles
            + '[nonideal]\\nmodel = "spice-verify"\\nprogramming_file = "programming.json"\\n',
            "its Gaussian fit (generic)": tiles
            + f"[nonideal]\\nprog_noise_abs = {model.prog_noise_abs!r}\\n"
            + f"prog_noise_rel = {model.prog_noise_rel!r}\\n",
        }
        for name, text in networks.items():
            path = out / "write_verify" / "network.toml"
            path.write_text(text)
            e, _ = evaluate(
                mlp, digits.x_test, digits.y_test, load_spec(path), engine="ideal", progress=False
            )
            print(f"{name:34s} {e.accuracy_hardware:.4f} (software {e.accuracy_ideal:.4f})")
        """
    ),
    new_markdown_cell(
        "## Read noise as a sampler\n\n"
        "The digits MLP on 64x64 tiles with 30% read noise, read 10 times: the mean of the "
        "softmax is a predictive distribution. The hardware sampler (the network through "
        "`HardwareMatMul`) against the software sampler (each mapped cell's conductance "
        "perturbed in numpy) and the deterministic network; the reliability diagram shows "
        "confidence against accuracy."
    ),
    code(
        """
        from cimspice.dynamics.stochastic import calibration_bins, compare_samplers
        from cimspice.nn.zoo import builtin_model
        from cimspice.plots.dynamics import plot_reliability
        from cimspice.spec import spec_from_dict

        model, data = builtin_model("digits-mlp")
        spec = spec_from_dict({"array": {"rows": 64, "cols": 64}, "nonideal": {"read_noise": 0.3}})
        c = compare_samplers(model, data.x_test[:200], data.y_test[:200], spec, reads=10)
        print(c.format())
        bins = {k: calibration_bins(p, c.labels) for k, p in c.probs.items()}
        fig = plot_reliability(bins, caption="digits-mlp, 64x64 ideal tiles, read noise 0.3")
        display(Image(save_figure(fig, out / "reliability.png")))
        """
    ),
]

write(cells, "notebooks/07_dynamics.ipynb")
