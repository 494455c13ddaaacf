"""Writes notebooks/06_torch.ipynb (run from the repository root); outputs are left empty,
the test suite executes the notebook."""

from _notebook import code, write
from nbformat.v4 import new_markdown_cell

cells = [
    new_markdown_cell(
        "# A PyTorch ResNet on simulated tiles, over time since programming\n\n"
        "A small ResNet (a stem convolution, two residual blocks with batch norm, global "
        "average pooling, a linear head) trained in PyTorch on the 8x8 digits, converted with "
        "`cimspice.torch.convert`: every convolution and the head run on 32x32 passive tiles "
        "(1 Ω wire segments, 6-bit DAC, 8-bit ADC, PCM-like drift with global compensation) "
        "through the tile's nominal surrogate (its exact resistive network); batch norm, the "
        "residual adds and the pooling stay digital."
    ),
    code(
        """
        from pathlib import Path

        import torch

        from cimspice.nn.datasets import load_dataset
        from cimspice.plots.figure import save_figure
        from cimspice.plots.sweeps import plot_accuracy_sweep
        from cimspice.spec import spec_from_dict
        from cimspice.torch import convert
        from cimspice.torch.models import small_resnet
        from cimspice.torch.monte_carlo import accuracy, accuracy_over_time
        from cimspice.torch.training import fit

        out = Path("out/notebook06")
        torch.manual_seed(0)
        data = load_dataset("digits", images=True)


        def to_nchw(images):
            return torch.from_numpy(images).float().permute(0, 3, 1, 2).contiguous()


        x_train, x_test = to_nchw(data.x_train), to_nchw(data.x_test)
        y_train, y_test = torch.from_numpy(data.y_train), torch.from_numpy(data.y_test)


        model = small_resnet(in_channels=1, channels=8, blocks=2, classes=10)
        fit(model, x_train, y_train, epochs=10, lr=1e-2)
        print(f"exact accuracy: {accuracy(model, x_test, y_test):.4f}")
        """
    ),
    code(
        """
        spec = spec_from_dict(
            {
                "array": {"rows": 32, "cols": 32},
                "wire": {"r_row": 1.0, "r_col": 1.0},
                "driver": {"v_read": 0.2, "dac_bits": 6},
                "readout": {"adc_bits": 8, "adc_full_scale": 100e-6},
                "device": {"g_min": 1e-6, "g_max": 50e-6},
                "nonideal": {
                    "levels": 64,
                    "prog_noise_rel": 0.02,
                    "drift_time": 1.0,
                    "drift_nu": 0.05,
                    "drift_nu_std": 0.02,
                    "drift_compensation": True,
                },
            }
        )
        analog = convert(model, spec, calibration=x_train[:500])
        print(analog)
        """
    ),
    code(
        """
        times = [1.0, 3600.0, 86400.0, 365 * 86400.0]
        seeds = (0, 1)
        table = accuracy_over_time(analog, x_test, y_test, times, seeds)  # (times, seeds)
        for t, row in zip(times, table, strict=True):
            print(f"{t:>12.0f} s: {row.mean():.4f} +- {row.std(ddof=1):.4f}")
        fig = plot_accuracy_sweep(
            "time since programming (s)",
            times,
            table.mean(axis=1),
            table.std(axis=1, ddof=1),
            seeds=len(seeds),
            exact_accuracy=accuracy(model, x_test, y_test),
            caption="ResNet on 8x8 digits, 32x32 passive tiles, drift nu 0.05 +- 0.02, compensated",
        )
        save_figure(fig, out / "accuracy_vs_time.png")
        """
    ),
    new_markdown_cell(
        "Batch norm keeps the running statistics of the *exact* convolutions; every programmed "
        "chip's fixed errors (here each cell's own drift exponent; on the default tile also "
        "stuck cells) shift and scale its channels, the same at every position and for every "
        "image, and batch norm passes that on. Re-estimating the statistics on each chip, at "
        "each time, from unlabelled training images (`cimspice.torch.recalibrate_batch_norm`; "
        "`recalibrate=` re-estimates per seed and time, and restores the model's own after) "
        "is the per-chip calibration CIM deployments of batch-norm networks use (AdaBS). On "
        "`mnist-resnet` and the default tile it lifts the hardware accuracy from 0.23 to 0.79 "
        "(mean over three device seeds; BENCHMARKS.md)."
    ),
    code(
        """
        unlabelled = x_train[:200]  # batch norm's statistics re-estimated from these
        recal = accuracy_over_time(analog, x_test, y_test, times, seeds, recalibrate=unlabelled)
        for t, plain, row in zip(times, table, recal, strict=True):
            print(f"{t:>12.0f} s: as trained {plain.mean():.4f}, recalibrated {row.mean():.4f}")
        fig = plot_accuracy_sweep(
            "time since programming (s)",
            times,
            recal.mean(axis=1),
            recal.std(axis=1, ddof=1),
            seeds=len(seeds),
            exact_accuracy=accuracy(model, x_test, y_test),
            caption="the same, batch norm re-estimated on each chip at each time (200 images)",
        )
        save_figure(fig, out / "accuracy_vs_time_recalibrated.png")
        """
    ),
    new_markdown_cell(
        "Fine-tuning through the tiles (`cimspice.torch.training.fit` on the converted model: "
        "every step's forward pass is the evaluation's, a fresh device seed each step) and the "
        "accuracy a day after programming, against the plain model's (one pass over 400 "
        "training images, to keep the notebook short)."
    ),
    code(
        """
        day = accuracy_over_time(analog, x_test, y_test, [86400.0], seeds)[0]
        fit(analog, x_train[:400], y_train[:400], epochs=1, lr=1e-3)
        tuned = accuracy_over_time(analog, x_test, y_test, [86400.0], seeds)[0]
        print(f"one day after programming: plain {day.mean():.4f}, fine-tuned {tuned.mean():.4f}")
        """
    ),
]

write(cells, "notebooks/06_torch.ipynb")
