"""Writes notebooks/04_network.ipynb (run from the repository root); outputs are left empty,
the test suite executes the notebook."""

from _notebook import code, write
from nbformat.v4 import new_markdown_cell

cells = [
    new_markdown_cell(
        "# A network on simulated tiles\n\n"
        "The scikit-learn digits MLP (64-128-10, trained on first use and cached) mapped onto "
        "32x32 passive tiles with 1 Ω wire segments: weights as differential conductance pairs "
        "scaled per layer into `[g_min, g_max]`, inputs through a 6-bit DAC, each column read "
        "by an 8-bit ADC, partial sums added digitally. Device non-idealities come from the "
        "spec's `[nonideal]` section. Every MVM runs on the tile's surrogate (here its nominal "
        "model, exact for a passive resistive network: wires and IR drop included)."
    ),
    code(
        """
        from pathlib import Path

        from cimspice.studies.evaluate import evaluate, resolve_model, samples_of
        from cimspice.studies.spotcheck import spot_check
        from cimspice.studies.sweeps import run_sweep
        from cimspice.spec import spec_from_dict

        out = Path("out/notebook04")
        model, data = resolve_model("digits-mlp")
        x, y = samples_of(data, "test")
        spec = spec_from_dict(
            {
                "array": {"rows": 32, "cols": 32},
                "wire": {"r_row": 1.0, "r_col": 1.0},
                "driver": {"v_read": 0.2, "dac_bits": 6},
                "readout": {"adc_bits": 8, "adc_full_scale": 100e-6},
                "device": {"g_min": 1e-6, "g_max": 50e-6},
                "nonideal": {
                    "levels": 64,
                    "prog_noise_rel": 0.03,
                    "read_noise": 0.01,
                    "stuck_on": 0.001,
                    "stuck_off": 0.001,
                },
            }
        )
        calibration = data.x_train[:1000]  # sets each layer's input range
        result, hardware = evaluate(model, x, y, spec, calibration=calibration, probe=(0, None))
        print(result.summary())
        """
    ),
    new_markdown_cell(
        "## Programming noise vs accuracy\n\n"
        "Monte Carlo over three device seeds per point (mean ± std); the dashed line is the "
        "exact network."
    ),
    code(
        """
        sweep = run_sweep(
            model,
            x,
            y,
            spec,
            key="nonideal.prog_noise_rel",
            values=[0.0, 0.1, 0.3, 0.6],
            seeds=3,
            calibration=calibration,
        )
        print(sweep.summary())
        sweep.plot(out / "accuracy_vs_prog_noise.png")
        """
    ),
    new_markdown_cell(
        "## SPICE spot-check\n\n"
        "The busiest tile of the first layer, with the conductances the evaluation programmed "
        "and the voltages it applied, re-run in ngspice. With the nominal surrogate of a passive "
        "tile the difference is solver round-off; with a calibrated surrogate (`cimspice "
        "calibrate`), pass its held-out error to compare."
    ),
    code(
        """
        check = spot_check(spec, hardware.record)
        print(check.summary())
        """
    ),
]
write(cells, "notebooks/04_network.ipynb")
