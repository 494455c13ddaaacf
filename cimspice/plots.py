"""Figures, drawn from result objects into PNG files (matplotlib's Agg backend, no window)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cimspice.arrays import check_inputs
from cimspice.outputs import atomic_output
from cimspice.result import Result, TransientResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cimspice.compensation.network_schemes import CaseResult
    from cimspice.compensation.report import CompensationReport
    from cimspice.network.study import SweepResult

__all__ = [
    "plot_accuracy_sweep",
    "plot_calibration",
    "plot_cell_voltages",
    "plot_compensation",
    "plot_error_map",
    "plot_pareto",
    "plot_settling",
    "plot_tradeoff",
]


def _save(fig: Any, path: Path) -> None:
    """Write ``fig`` as a PNG, atomically (a complete file or none, as every output)."""
    with atomic_output(path) as handle:
        fig.savefig(handle, format="png", dpi=110)


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported lazily (slow, and must open no window)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_cell_voltages(
    result: Result, inputs: np.ndarray, path: str | Path, *, vector: int = 0
) -> Path:
    """Heatmaps of the voltage across every cell for one input vector: the IR drop made visible.

    Left: the cell voltage (V). Right: the share of the word line's input lost to wire
    resistance before it reaches the cell, ``100 * (1 - V_cell / V_in)`` (%), blank on word
    lines driven below 5% of the largest input (where the ratio means nothing). A vector with
    every word line at the same voltage shows the IR drop most clearly.

    Args:
        result: a result holding node voltages.
        inputs: the input batch the result was computed for (V, ``(batch, rows)``).
        path: PNG file to write (its folder is created).
        vector: which input vector of the batch to draw.

    Returns:
        the path written.

    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cell = result.cell_voltages[vector]
    applied = check_inputs(inputs, cell.shape[0])[vector]
    with np.errstate(divide="ignore", invalid="ignore"):
        driven = np.abs(applied) >= 0.05 * np.abs(applied).max()
        loss = np.where(driven[:, None], 100.0 * (1.0 - cell / applied[:, None]), np.nan)
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    im = axes[0].imshow(cell, cmap="viridis", aspect="auto")
    axes[0].set_title(f"voltage across each cell, vector {vector}")
    fig.colorbar(im, ax=axes[0], label="V")
    im2 = axes[1].imshow(loss, cmap="magma", aspect="auto")
    axes[1].set_title("IR drop: share of the word-line input lost before the cell")
    fig.colorbar(im2, ax=axes[1], label="%")
    for ax in axes:
        ax.set_xlabel("column j (bit line, sensed below the last row)")
        ax.set_ylabel("row i (word line, driven left of column 0)")
    fig.suptitle(f"{result.engine}: {cell.shape[0]}x{cell.shape[1]} crossbar")
    _save(fig, path)
    plt.close(fig)
    return path


def plot_calibration(
    validation: dict[str, np.ndarray], metrics: dict[str, dict], out_dir: str | Path
) -> list[Path]:
    """Figures of a calibration's held-out validation.

    Writes ``parity.png`` (each model vs ngspice currents), ``error_histogram.png`` (|error|
    of each model as a fraction of full scale, on log-spaced bins) and ``column_error.png``
    (per-column NRMSE of each model).

    Args:
        validation: ``spice`` and each model's currents (A, same shapes).
        metrics: each model's ``per_column_nrmse`` (see ``error_metrics``).
        out_dir: folder to write into (created).

    Returns:
        the paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plt = _pyplot()
    spice = validation["spice"]
    scale = float(np.max(np.abs(spice)))
    models = [k for k in validation if k != "spice"]
    paths = []

    fig, ax = plt.subplots(figsize=(5.5, 5), constrained_layout=True)
    for name in models:
        ax.plot(spice.ravel() * 1e6, validation[name].ravel() * 1e6, ".", ms=2, label=name)
    lim = [float(spice.min()) * 1e6, float(spice.max()) * 1e6]
    ax.plot(lim, lim, "k-", lw=0.8, label="y = x")
    ax.set_xlabel("ngspice current (uA)")
    ax.set_ylabel("model current (uA)")
    ax.set_title("held-out parity")
    ax.legend(markerscale=4)
    paths.append(out / "parity.png")
    _save(fig, paths[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
    bins = np.logspace(-17, 0, 86)
    for name in models:
        err = np.abs(validation[name] - spice).ravel() / scale
        ax.hist(np.clip(err, 1.01e-17, 1.0), bins=bins, histtype="step", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("|error| / full scale (values below 1e-17 drawn at 1e-17)")
    ax.set_ylabel("outputs")
    ax.set_title("held-out error distribution")
    ax.legend()
    paths.append(out / "error_histogram.png")
    _save(fig, paths[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
    for name in models:
        per_col = np.maximum(np.asarray(metrics[name]["per_column_nrmse"]), 1e-18)
        ax.semilogy(per_col, label=name)
    ax.set_xlabel("column j")
    ax.set_ylabel("NRMSE / full scale")
    ax.set_title("per-column held-out error")
    ax.legend()
    paths.append(out / "column_error.png")
    _save(fig, paths[-1])
    plt.close(fig)
    return paths


def plot_settling(result: TransientResult, path: str | Path, *, columns: int = 8) -> Path:
    """The outputs' step responses, normalised to their final values, with settling times.

    Draws up to ``columns`` bit lines (the slowest ones), each as output / final value over
    time, with the ``+- tol`` band and a mark at its settling time.

    Returns:
        the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    waves = result.v_out if result.v_out is not None else result.currents
    final = waves[-1]
    slowest = np.argsort(result.settling_time)[::-1][:columns]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5), constrained_layout=True)
    t_ns = result.time * 1e9
    for j in slowest:
        scale = final[j] if final[j] != 0 else 1.0
        line = ax.plot(t_ns, waves[:, j] / scale, lw=1, label=f"bit line {j}")[0]
        ax.axvline(result.settling_time[j] * 1e9, color=line.get_color(), ls=":", lw=0.8)
    ax.axhspan(1 - result.tol, 1 + result.tol, color="0.85", label=f"+-{result.tol:g} band")
    what = "TIA output" if result.v_out is not None else "bit-line current"
    ax.set_xlabel("time (ns)")
    ax.set_ylabel(f"{what} / final value")
    ax.set_title(f"step response; slowest settling {result.settling_time.max() * 1e9:.3g} ns")
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path)
    plt.close(fig)
    return path


def plot_error_map(
    result: Result, reference: np.ndarray, path: str | Path, *, label: str = "ideal V @ G"
) -> Path:
    """Each output's error against a reference, as a map over input vectors and bit lines.

    Colour: ``(I - I_ref) / max |I_ref|`` (fraction of full scale), diverging around 0; a
    column-wise summary (RMS over the vectors) is drawn beside it.

    Returns:
        the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ref = np.asarray(reference)
    err = (result.currents - ref) / float(np.max(np.abs(ref)))
    lim = float(np.max(np.abs(err))) or 1.0
    plt = _pyplot()
    fig, (ax, ax2) = plt.subplots(
        1, 2, figsize=(11, 4.2), constrained_layout=True, gridspec_kw={"width_ratios": [3, 1]}
    )
    im = ax.imshow(err, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    ax.set_xlabel("bit line j")
    ax.set_ylabel("input vector")
    ax.set_title(f"{result.engine} - {label}, fraction of full scale")
    fig.colorbar(im, ax=ax)
    ax2.plot(np.sqrt(np.mean(err**2, axis=0)), np.arange(err.shape[1]))
    ax2.invert_yaxis()
    ax2.set_xlabel("RMS error / full scale")
    ax2.set_ylabel("bit line j")
    _save(fig, path)
    plt.close(fig)
    return path


def plot_compensation(report: CompensationReport, path: str | Path) -> Path:
    """Error maps of a compensation scheme's held-out outputs, before and after, side by side.

    Colour: ``(I - I_ideal) / max |I_ideal|``, each panel on its own diverging scale (the
    error left after a good scheme is orders of magnitude below the one before, and its
    pattern shows what the scheme could not remove); title: each panel's max error.

    Args:
        report: a :class:`~cimspice.compensation.report.CompensationReport` holding its
            outputs.
        path: PNG file to write (its folder is created).

    Returns:
        the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scale = float(np.max(np.abs(report.reference)))
    maps = [(report.outputs_before - report.reference) / scale]
    maps.append((report.outputs_after - report.reference) / scale)
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True)
    for ax, err, when in zip(axes, maps, ("before", "after"), strict=True):
        lim = float(np.max(np.abs(err))) or 1.0
        im = ax.imshow(err, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set_title(f"{when}: max |error| {lim:.2e} of full scale")
        ax.set_xlabel("bit line j")
        ax.set_ylabel("input vector")
        fig.colorbar(im, ax=ax, label="(I - V @ G) / full scale")
    fig.suptitle(f"{report.scheme} ({report.engine})")
    _save(fig, path)
    plt.close(fig)
    return path


def plot_tradeoff(reports: dict[str, CompensationReport], path: str | Path) -> Path:
    """Accuracy against energy: each scheme's max error and energy per MAC, before and after.

    Each scheme is an arrow from its tile's uncompensated point to its compensated one (log
    scales); dashed lines mark the cost model's digital MAC and SRAM CIM MAC energies.

    Args:
        reports: label -> report.
        path: PNG file to write (its folder is created).

    Returns:
        the path written.
    """
    from cimspice.compensation.cost import CostModel

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cost = CostModel()
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 5.5), constrained_layout=True)
    for label, r in reports.items():
        x0, x1 = r.energy_before.per_mac, r.energy_after.per_mac
        y0, y1 = max(r.error_before, 1e-16), max(r.error_after, 1e-16)
        line = ax.plot([x0, x1], [y0, y1], "-", lw=1)[0]
        ax.plot([x0], [y0], "o", mfc="none", color=line.get_color())
        ax.plot([x1], [y1], "o", color=line.get_color(), label=label)
    ax.axvline(cost.digital_mac, color="0.5", ls="--", lw=0.8)
    ax.axvline(cost.sram_cim_mac, color="0.5", ls=":", lw=0.8)
    ax.text(cost.digital_mac, ax.get_ylim()[1], " digital MAC", va="top", fontsize=7)
    ax.text(cost.sram_cim_mac, ax.get_ylim()[1], " SRAM CIM", va="top", fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("energy per MAC (J)")
    ax.set_ylabel("max |error| / full scale")
    ax.set_title("tile-level accuracy vs energy (open: before, filled: after)")
    ax.legend(fontsize=7)
    _save(fig, path)
    plt.close(fig)
    return path


def plot_accuracy_sweep(sweep: SweepResult, path: str | Path) -> Path:
    """Hardware accuracy (mean +- std over device seeds) against a swept spec parameter.

    Numeric values are placed on a linear axis (a log axis when they are all > 0 and span
    more than two decades); other values are placed evenly and labelled. The exact network's
    accuracy is a dashed line.

    Returns:
        the path written (its folder is created).
    """
    key, values, mean, std = sweep.key, sweep.values, sweep.mean, sweep.std
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    xs = np.asarray(values, dtype=float) if numeric else np.arange(len(values), dtype=float)
    ax.errorbar(
        xs,
        100 * np.asarray(mean),
        yerr=100 * np.asarray(std),
        marker="o",
        capsize=4,
        label="hardware (mean ± std over seeds)",
    )
    ax.axhline(100 * sweep.accuracy_ideal, color="grey", linestyle="--", label="ideal network")
    if numeric and xs.min() > 0 and xs.max() / xs.min() > 100:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(xs, [str(v) for v in values])
    ax.set_xlabel(key)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"accuracy vs {key}")
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return path


def plot_pareto(results: Sequence[CaseResult], path: str | Path) -> Path:
    """Network accuracy against energy per MAC for every case, the Pareto front highlighted.

    Every case is a point (error bars: std over device seeds) labelled with its name; the
    front (:func:`cimspice.compensation.pareto.pareto_front`) is joined by a line and drawn
    filled; dashed lines mark the exact network's accuracy and the cost model's SRAM CIM and
    digital MAC energies (log energy axis).

    Returns:
        the path written (its folder is created).
    """
    from cimspice.compensation.cost import CostModel
    from cimspice.compensation.pareto import pareto_front

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    front = pareto_front(results)
    on_front = {id(r) for r in front}
    cost = CostModel()
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 6.5), constrained_layout=True)
    for r in results:
        mine = id(r) in on_front
        ax.errorbar(
            [r.energy_per_mac],
            [100 * r.accuracy],
            yerr=[100 * r.accuracy_std],
            fmt="o",
            color="C3" if mine else "C0",
            mfc="C3" if mine else "none",
            capsize=3,
        )
        ax.annotate(
            r.label,
            (r.energy_per_mac, 100 * r.accuracy),
            textcoords="offset points",
            xytext=(5, 3),
            fontsize=7,
        )
    ax.plot(
        [r.energy_per_mac for r in front],
        [100 * r.accuracy for r in front],
        "-",
        color="C3",
        lw=1.2,
        label="Pareto front",
    )
    ideal = max(r.accuracy_ideal for r in results)
    ax.axhline(100 * ideal, color="grey", ls="--", lw=0.8, label="exact network")
    ax.axvline(cost.sram_cim_mac, color="0.5", ls=":", lw=0.8, label="SRAM CIM MAC")
    ax.axvline(cost.digital_mac, color="0.5", ls="-.", lw=0.8, label="digital MAC")
    ax.set_xscale("log")
    ax.set_xlabel("energy per MAC (J)")
    ax.set_ylabel("hardware accuracy (%)")
    ax.set_title("network accuracy vs energy per MAC (filled red: Pareto front)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return path
