"""Writes notebooks/08_charge.ipynb (run from the repository root); outputs are left empty,
the test suite executes the notebook."""

from _notebook import code, write
from nbformat.v4 import new_markdown_cell

cells = [
    new_markdown_cell(
        "# Charge-domain (1C) tiles: a MAC cycle in ngspice, its closed forms, a network\n\n"
        'A tile with `cell = "1C"` holds a weight bit and a coupling capacitor per cell; a MAC '
        "cycle resets the columns, drives the cells' bottom plates, lets the charge share and "
        'samples the columns (README, "Charge-domain tiles"). Here: a 16x8 tile\'s cycles in '
        "ngspice against `sum(C_i V_i) / C_T` with 2 % capacitor mismatch, the reset switches' "
        "kT/C noise from ngspice's transient noise against `sqrt(kT / C_T)`, the energy per "
        "cycle from the supply currents, and the digits MLP on 32x32 charge tiles."
    ),
    code(
        """
        from pathlib import Path

        import numpy as np

        from cimspice.charge.closed_form import (
            column_capacitance,
            cycle_energy,
            ktc_noise_std,
            shared_voltage,
        )
        from cimspice.charge.deck import NoiseOptions
        from cimspice.charge.run import run_cycles
        from cimspice.plots import plot_error_histogram, plot_parity, save_figure
        from cimspice.spec import spec_from_dict

        out = Path("out/notebook08")
        out.mkdir(parents=True, exist_ok=True)
        spec = spec_from_dict(
            {
                "array": {"rows": 16, "cols": 8, "cell": "1C"},
                "charge": {"input_mode": "multi-level", "mismatch": 0.02, "c_par": 4e-15},
            }
        )
        rng = np.random.default_rng(0)
        bits = rng.integers(0, 2, (16, 8))
        x = rng.uniform(0, spec.driver.v_read, (6, 16))
        run = run_cycles(spec, bits, x)
        closed = shared_voltage(run.caps, bits, x, spec.charge.c_par)
        err = np.abs(run.v_col - closed).max() / np.abs(closed).max()
        print(f"ngspice vs closed form: max error {err:.1e} of full scale")
        print("energy per cycle (fJ), ngspice:", np.round(run.energy * 1e15, 3))
        expected = cycle_energy(run.caps, bits, x, 4e-15)
        print("closed form:               ", np.round(expected * 1e15, 3))
        fig = plot_parity(run.v_col, {"closed form": closed}, own_axes=("closed form",))
        save_figure(fig, out / "parity.png")
        """
    ),
    new_markdown_cell(
        "kT/C noise: each reset switch carries its thermal noise (`4kT r_reset`, ngspice "
        "`trnoise`); what the column keeps when the switch opens is `sqrt(kT / C_T)`. 40 columns "
        "x 4 cycles = 160 samples (the std's standard error ~6 %)."
    ),
    code(
        """
        noisy = spec_from_dict(
            {
                "array": {"rows": 4, "cols": 40, "cell": "1C"},
                "charge": {
                    "input_mode": "multi-level",
                    "r_on": 100.0,
                    "r_reset": 1e5,
                    "c_cell": 4e-15,
                    "c_par": 4e-15,
                    "t_reset": 20e-9,
                    "t_share": 2e-9,
                },
            }
        )
        nbits = rng.integers(0, 2, (4, 40))
        nx = rng.uniform(0, 0.2, (4, 4))
        nrun = run_cycles(noisy, nbits, nx, noise=NoiseOptions(seed=7), reltol=1e-3)
        noise = nrun.v_col - shared_voltage(nrun.caps, nbits, nx, 4e-15)
        c_t = column_capacitance(nrun.caps, 4e-15)[0]
        print(f"noise std {noise.std() * 1e3:.3f} mV; sqrt(kT/C) {ktc_noise_std(c_t) * 1e3:.3f} mV")
        fig = plot_error_histogram(
            nrun.v_col, {"closed form (noise-free)": shared_voltage(nrun.caps, nbits, nx, 4e-15)}
        )
        save_figure(fig, out / "noise.png")
        """
    ),
    new_markdown_cell(
        "A network: the digits MLP with 8-bit sign-magnitude weights sliced across the columns "
        "of 32x32 charge tiles, 8-bit bit-serial inputs, an 8-bit ADC, 0.5 % mismatch and kT/C "
        "noise (the nominal charge model, exact against ngspice for ideal switches)."
    ),
    code(
        """
        from cimspice.studies.evaluate import resolve_model, samples_of
        from cimspice.studies.schemes import NetworkCase, run_case

        model, data = resolve_model("digits-mlp")
        xs, ys = samples_of(data, "test")
        tiles = spec_from_dict(
            {
                "array": {"rows": 32, "cols": 32, "cell": "1C"},
                "driver": {"v_read": 0.8, "dac_bits": 8},
                "charge": {
                    "mismatch": 0.005,
                    "c_par": 5e-15,
                    "adc_bits": 8,
                    "adc_full_scale": 0.2,
                    "noise": "ktc",
                },
                "mapping": {"weight_bits": 7, "slice_bits": 1},
            }
        )
        # the same mapping and evaluation as memristor tiles (HardwareMatMul, MeteredMatMul)
        case = run_case(NetworkCase("charge", tiles), model, xs, ys, calibration=data.x_train[:500])
        print(
            f"exact {case.accuracy_ideal:.4f}, charge tiles {case.accuracy:.4f}, "
            f"{case.energy_per_mac:.3e} J per MAC"
        )
        """
    ),
]
write(cells, "notebooks/08_charge.ipynb")
