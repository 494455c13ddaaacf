"""Writes notebooks/05_compensation.ipynb (run from the repository root); outputs are left
empty, the test suite executes the notebook."""

from _notebook import code, write
from nbformat.v4 import new_markdown_cell

cells = [
    new_markdown_cell(
        "# Compensation schemes at network level: accuracy vs energy per MAC\n\n"
        "The scikit-learn digits MLP (64-128-10, trained on first use and cached) on 32x32 "
        "passive tiles with 3 Ω wire segments, an 8-bit ADC per column and noisy devices. "
        "Every compensation scheme is applied in turn (IR-drop pre-distortion per tile, "
        "per-output calibration, the reference-column mapping, smaller tiles, input scaling, "
        "bit-serial inputs, write-verify, hardware-aware training) plus some combinations and "
        "mixed precision (layers on memristor tiles, SRAM CIM or digital units). Each case's "
        "accuracy (surrogate tiles) is set against its energy per MAC (cells, DACs, ADCs and "
        "digital logic: `cimspice.compensation.cost`). The command line does the same with "
        "`cimspice pareto SPEC --model NAME --out DIR` (the README's figures use "
        "the MNIST MLP on the default 128x128 spec: `benchmarks/bench_pareto.py`)."
    ),
    code(
        """
        import io
        from pathlib import Path

        from IPython.display import Image, Markdown, display

        from cimspice.studies.pareto_report import ParetoRequest, run_pareto

        out = Path("out/notebook05")
        out.mkdir(parents=True, exist_ok=True)
        spec = out / "spec.toml"
        spec.write_text(
            \"\"\"
        [array]
        rows = 32
        cols = 32
        [wire]
        r_row = 3.0
        r_col = 3.0
        [driver]
        v_read = 0.2
        dac_bits = 8
        [readout]
        adc_bits = 8
        adc_full_scale = 40e-6
        [device]
        g_min = 1e-6
        g_max = 25e-6
        [nonideal]
        levels = 64
        prog_noise_rel = 0.05
        verify_tol = 0.5e-6
        read_noise = 0.01
        \"\"\"
        )
        request = ParetoRequest(
            spec=spec,
            out=out,
            model="digits-mlp",
            samples=300,
            seeds=1,
            hardware_aware=0.1,
            tile_sizes=(16,),
            sram_weights=4096,
            progress=False,
        )
        data = run_pareto(request, out=io.StringIO())  # the table is shown below
        display(Markdown((out / "pareto.md").read_text()))
        """
    ),
    new_markdown_cell(
        "## The Pareto plot\n\n"
        "Filled red points are the Pareto front (no other case is as accurate for less "
        "energy); dotted and dash-dotted lines mark the cost model's SRAM CIM and digital MAC "
        "energies."
    ),
    code(
        """
        display(Image(filename=str(out / "pareto.png")))
        """
    ),
    new_markdown_cell(
        "## Mixed precision under a budget\n\n"
        "Each layer's sensitivity is the accuracy drop when only it runs on memristor tiles. "
        "The greedy assignment moves the most sensitive layers to exact units while the "
        "energy per MAC stays within the budget (here without SRAM CIM, so exact layers go to "
        "digital units, which cost more than the tiles)."
    ),
    code(
        """
        from cimspice.studies.mixed_precision import (
            MixedPrecisionParams,
            assign,
            sensitivities,
        )
        from cimspice.studies.schemes import NetworkCase
        from cimspice.studies.evaluate import resolve_model, samples_of
        from cimspice.spec import load_spec

        model, dataset = resolve_model("digits-mlp")
        x, y = samples_of(dataset, "test")
        base = NetworkCase("baseline", load_spec(spec))
        sens = sensitivities(base, model, x[:300], y[:300], calibration=dataset.x_train[:1000])
        for k, s in sens.items():
            print(f"layer {k}: accuracy drop {s.accuracy_drop:+.4f}, {s.macs} MACs")
        macs = sum(s.macs for s in sens.values())
        tiles = sum(s.energy["memristor"] for s in sens.values()) / macs
        for factor in (1.01, 1.5, 10.0):
            chosen = assign(sens, MixedPrecisionParams(budget=factor * tiles, sram_weights=0))
            units = ", ".join(f"layer {k}: {u}" for k, u in chosen.units.items())
            print(f"budget {factor:g}x the tiles': {units}; {chosen.energy_per_mac:.3e} J/MAC")
        """
    ),
]
write(cells, "notebooks/05_compensation.ipynb")
