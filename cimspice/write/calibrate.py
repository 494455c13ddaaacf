"""The network-level programming model, calibrated from SPICE write-verify runs.

:func:`calibrate_programming` takes :class:`~cimspice.write.verify.VerifyResult` s and bins
their cells by target level (the target's place in the spec's window, ``u = (G_t - g_min) /
(g_max - g_min)``). Per bin it keeps the programmed error (a fraction of the window) and the
pulses of every cell, so that :meth:`ProgrammingModel.program` draws a cell's outcome from the
SPICE outcomes of cells with targets like its own (an empirical, state-dependent model: no
assumed distribution). It also fits the generic device model's parameters
(:mod:`cimspice.devices.generic`: ``sigma = prog_noise_abs + prog_noise_rel * target``, in
siemens) to the binned spread by least squares, for a device model that takes a Gaussian.

The model is data (:meth:`ProgrammingModel.to_dict`, JSON ``cimspice-programming/1`` with a
SHA-256 of its content): a device model loads it with :func:`load_programming_model` and needs
nothing else of this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cimspice.devices.programmed import FORMAT, ProgrammingModel, load_programming_model
from cimspice.errors import InputError
from cimspice.write.verify import VerifyResult

__all__ = [
    "FORMAT",
    "ProgrammingModel",
    "calibrate_programming",
    "compare",
    "ks_distance",
    "load_programming_model",
    "model_errors",
    "write_calibration_report",
]


def calibrate_programming(
    runs: Sequence[VerifyResult], *, bins: int = 4, source: str = ""
) -> ProgrammingModel:
    """Fit the programming model to write-verify runs (of one spec).

    Raises:
        InputError: no runs, runs of different windows, or a bad bin count.
    """
    if not runs:
        raise InputError("calibration needs at least one write-verify run")
    if not isinstance(bins, int) or bins < 1:
        raise InputError(f"bins must be an integer >= 1, got {bins!r}")
    window = runs[0].window
    if any(r.window != window for r in runs):
        raise InputError("every run must be of the same spec window (device.g_min, g_max)")
    g_min, g_max = window
    targets = np.concatenate([r.targets.ravel() for r in runs])
    errors = np.concatenate([r.errors.ravel() for r in runs])
    pulses = np.concatenate([r.pulses.ravel() for r in runs])
    edges = np.linspace(0.0, 1.0, bins + 1)
    u = (targets - g_min) / (g_max - g_min)
    which = np.clip(np.searchsorted(edges, u, side="right") - 1, 0, bins - 1)
    per_err = tuple(np.sort(errors[which == k]) for k in range(bins))
    per_pulses = tuple(pulses[which == k] for k in range(bins))
    # sigma (siemens) per bin against the bin's mean target, fitted as a + b * G
    centres, sigmas = [], []
    for k in range(bins):
        if len(per_err[k]) >= 2:
            centres.append(float(np.mean(targets[which == k])))
            sigmas.append(float(np.std(per_err[k]) * (g_max - g_min)))
    if len(centres) >= 2:
        b, a = np.polyfit(centres, sigmas, 1)
    else:
        a, b = (sigmas[0] if sigmas else 0.0), 0.0
    cells = sum(r.targets.size for r in runs)
    return ProgrammingModel(
        edges=edges,
        errors=per_err,
        pulses=per_pulses,
        window=window,
        tol=runs[0].tol_s / (g_max - g_min),
        prog_noise_abs=max(float(a), 0.0),
        prog_noise_rel=max(float(b), 0.0),
        energy_per_cell_j=sum(r.energy_j for r in runs) / cells,
        time_per_cell_s=sum(r.time_s for r in runs) / cells,
        source=source,
    )


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov distance: the largest gap between the empirical
    distribution functions of ``a`` and ``b``."""
    a, b = np.sort(np.ravel(a)), np.sort(np.ravel(b))
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def model_errors(
    model: ProgrammingModel, targets: np.ndarray, seed: int = 0, draws: int = 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``draws`` programmings of ``targets`` by the model's empirical draws and by its
    generic Gaussian model: their errors (fraction of the window, flat) and the empirical
    draws' pulses per cell (flat)."""
    rng = np.random.default_rng(seed)
    g_min, g_max = model.window
    t = np.asarray(targets, dtype=float)
    sampled = [model.program(t, rng) for _ in range(draws)]
    model_err = np.concatenate([((g - t) / (g_max - g_min)).ravel() for g, _ in sampled])
    generic = model.generic()
    generic_err = np.concatenate(
        [((generic.pulse(t, rng) - t) / (g_max - g_min)).ravel() for _ in range(draws)]
    )
    return model_err, generic_err, np.concatenate([p.ravel() for _, p in sampled])


def compare(
    model: ProgrammingModel, held_out: VerifyResult, seed: int = 0, draws: int = 20
) -> dict[str, float]:
    """The model against held-out SPICE write-verify (errors as a fraction of the window):
    RMS error and standard deviation of SPICE, of the model's empirical draws and of the
    generic Gaussian model's (:meth:`ProgrammingModel.generic`), each model's
    Kolmogorov-Smirnov distance to SPICE, mean pulses of SPICE and of the model (both models
    drawn ``draws`` times for the held-out targets)."""
    model_err, generic_err, pulses = model_errors(model, held_out.targets, seed, draws)
    spice_err = held_out.errors.ravel()
    rms = lambda e: float(np.sqrt(np.mean(e**2)))  # noqa: E731
    return {
        "rms_spice": rms(spice_err),
        "rms_model": rms(model_err),
        "rms_generic": rms(generic_err),
        "std_spice": float(np.std(spice_err)),
        "std_model": float(np.std(model_err)),
        "std_generic": float(np.std(generic_err)),
        "ks": ks_distance(model_err, spice_err),
        "ks_generic": ks_distance(generic_err, spice_err),
        "pulses_spice": float(held_out.pulses.mean()),
        "pulses_model": float(pulses.mean()),
        "cells": float(spice_err.size),
    }


def write_calibration_report(
    model: ProgrammingModel, folder: str | Path, held_out: VerifyResult | None = None
) -> list[Path]:
    """``report.md`` and ``errors.png`` (the programmed-error histogram of the calibration
    runs and, with ``held_out``, of held-out runs beside the model's draws) in ``folder``."""
    from cimspice.plots import save_figure
    from cimspice.plots.write import plot_verify_histogram

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Programming model calibrated from SPICE write-verify",
        "",
        f"Source: {model.source or '-'}",
        "",
        f"Window {model.window[0]:.4g} .. {model.window[1]:.4g} S; verify tolerance "
        f"{model.tol:.3g} of the window.",
        "",
        "| target level | cells | error mean | error std | error max abs | pulses mean |",
        "|---|---|---|---|---|---|",
    ]
    for k, (e, p) in enumerate(zip(model.errors, model.pulses, strict=True)):
        lo, hi = model.edges[k], model.edges[k + 1]
        if len(e):
            lines.append(
                f"| {lo:.2f}-{hi:.2f} | {len(e)} | {e.mean():.3g} | {e.std():.3g} | "
                f"{np.abs(e).max():.3g} | {p.mean():.2f} |"
            )
        else:
            lines.append(f"| {lo:.2f}-{hi:.2f} | 0 | - | - | - | - |")
    lines += [
        "",
        f"Generic device model fit: sigma = {model.prog_noise_abs:.3g} S + "
        f"{model.prog_noise_rel:.3g} * target (nonideal.prog_noise_abs, prog_noise_rel).",
        f"Energy per cell {model.energy_per_cell_j:.3g} J; time per cell "
        f"{model.time_per_cell_s:.3g} s (rows programmed in turn).",
    ]
    held = None
    draws: dict[str, np.ndarray] = {}
    if held_out is not None:
        c = compare(model, held_out)
        held = held_out.errors.ravel()
        model_err, generic_err, _ = model_errors(model, held_out.targets)
        draws = {"programming model": model_err, "generic Gaussian fit": generic_err}
        lines += [
            "",
            "## Held-out SPICE runs",
            "",
            f"{int(c['cells'])} cells: RMS error SPICE {c['rms_spice']:.3g}, model "
            f"{c['rms_model']:.3g}, generic Gaussian {c['rms_generic']:.3g}; "
            f"Kolmogorov-Smirnov distance to SPICE: model {c['ks']:.3f}, generic Gaussian "
            f"{c['ks_generic']:.3f}; mean pulses SPICE {c['pulses_spice']:.2f}, model "
            f"{c['pulses_model']:.2f}.",
        ]
    (folder / "report.md").write_text("\n".join(lines) + "\n")
    calib = np.concatenate(model.errors)
    fig = plot_verify_histogram(calib, held, tol=model.tol, draws=draws)
    save_figure(fig, folder / "errors.png")
    return [folder / "report.md", folder / "errors.png"]
