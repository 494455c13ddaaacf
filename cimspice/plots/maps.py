"""Heatmaps over the array and over a batch: the voltage across every cell and its IR drop,
an output error map, a compensation scheme's errors before and after."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import FigureBase

from cimspice.errors import InputError
from cimspice.plots.figure import (
    SIGNED_MAP,
    as_array,
    full_scale,
    integer_ticks,
    new_figure,
    panels,
    same_shape,
    suptitled,
)

__all__ = ["plot_before_after", "plot_cell_voltages", "plot_error_map"]


def _error_image(
    fig: FigureBase, ax: Axes, err: np.ndarray, title: str, label: str, *, where: str = "right"
) -> None:
    lim = float(np.max(np.abs(err))) or 1.0
    im = ax.imshow(
        err, cmap=SIGNED_MAP, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest"
    )
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("bit line j")
    ax.set_ylabel("input vector")
    integer_ticks(ax.xaxis)
    integer_ticks(ax.yaxis)
    fig.colorbar(im, ax=ax, label=label, location=where, format="%.3g")


def plot_cell_voltages(
    cell_voltages: np.ndarray,
    inputs: np.ndarray,
    *,
    fig: FigureBase | None = None,
    caption: str = "",
) -> FigureBase:
    """The voltage across every cell for one input vector, and the IR drop it shows.

    Left: the cell voltage (V, viridis). Right: the share of each word line's input lost to
    wire resistance before it reaches the cell, ``100 * (1 - V_cell / V_in)`` (%, magma),
    blank on word lines driven below 5% of the largest input (where the ratio means nothing).

    Args:
        cell_voltages: volt, ``(rows, cols)``: word-line minus bit-line potential per cell.
        inputs: volt, ``(rows,)``: the word lines' inputs.
        fig: a Figure or SubFigure to draw two panels on (``None``: a new figure).
        caption: the line naming spec and engine.

    Raises:
        InputError: the shapes do not match.
    """
    cell = as_array(cell_voltages, "cell voltages", 2)
    applied = as_array(inputs, "inputs", 1)
    if applied.shape[0] != cell.shape[0]:
        raise InputError(f"inputs has {applied.shape[0]} rows, the cell voltages {cell.shape[0]}")
    peak = float(np.max(np.abs(applied)))
    driven = np.abs(applied) >= 0.05 * peak if peak > 0 else np.zeros(applied.shape, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = np.where(driven[:, None], 100.0 * (1.0 - cell / applied[:, None]), np.nan)
    fig, axes = panels(fig, 2, (11, 4.8))
    im = axes[0].imshow(cell, cmap="viridis", aspect="auto", interpolation="nearest")
    axes[0].set_title("voltage across each cell", fontsize=9)
    fig.colorbar(im, ax=axes[0], label="cell voltage (V)")
    lost = colormaps["magma"].with_extremes(bad="0.6")  # grey: not driven enough to say
    im2 = axes[1].imshow(loss, cmap=lost, aspect="auto", interpolation="nearest")
    title = "IR drop: share of the word line's input lost before the cell"
    if not driven.all():
        title += "\n(grey: word lines driven below 5% of the largest input)"
    axes[1].set_title(title, fontsize=9)
    fig.colorbar(im2, ax=axes[1], label="input lost (%)")
    for ax in axes:
        ax.set_xlabel("bit line j (sensed below the last row)")
        ax.set_ylabel("word line i (driven left of column 0)")
        integer_ticks(ax.xaxis)
        integer_ticks(ax.yaxis)
    rows, cols = cell.shape
    worst = float(np.nanmax(loss)) if np.isfinite(loss).any() else float("nan")
    suptitled(fig, f"{rows}x{cols} crossbar: cell voltages, worst IR drop {worst:.3g}%", caption)
    return fig


def plot_error_map(
    outputs: np.ndarray,
    reference: np.ndarray,
    *,
    reference_label: str = "ideal V @ G",
    fig: FigureBase | None = None,
    caption: str = "",
) -> FigureBase:
    """Each output's error against a reference, over input vectors and bit lines.

    Left: ``(out - ref) / max |ref|`` (fraction of full scale) on a diverging map centred on
    0. Right: each bit line's RMS error over the vectors.

    Args:
        outputs: ``(batch, cols)``, any unit (A for currents).
        reference: the same shape and unit.
        reference_label: what the reference is.
        fig: a Figure or SubFigure to draw two panels on (``None``: a new figure).
        caption: the line naming spec and engine.

    Raises:
        InputError: the shapes differ, or the reference is all zero.
    """
    out, ref = as_array(outputs, "outputs", 2), as_array(reference, "reference", 2)
    same_shape("error map", out, ref)
    err = (out - ref) / full_scale(ref)
    fig = new_figure((9, 7)) if fig is None else fig
    ax, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    _error_image(fig, ax, err, "", "(output - reference) / full scale", where="top")
    ax.set_xlabel("")
    rms = np.sqrt(np.mean(err**2, axis=0))
    ax2.plot(np.arange(err.shape[1]), rms, "o-", ms=3, color="C0")
    ax2.set_xlabel("bit line j")
    ax2.set_ylabel("RMS error / full scale\n(over the vectors)")
    ax2.grid(alpha=0.3)
    suptitled(
        fig,
        f"error against {reference_label}: max |error| {np.max(np.abs(err)):.3g} of full scale",
        caption,
    )
    return fig


def plot_before_after(
    before: np.ndarray,
    after: np.ndarray,
    reference: np.ndarray,
    *,
    fig: FigureBase | None = None,
    title: str = "compensation",
    caption: str = "",
) -> FigureBase:
    """Error maps of a compensation scheme's outputs, before and after, side by side.

    Colour: ``(out - ref) / max |ref|``, each panel on its own scale centred on 0 (the error
    a good scheme leaves is orders of magnitude below the one before, and its pattern shows
    what the scheme could not remove); each panel's title gives its max error.

    Args:
        before: ``(batch, cols)`` outputs without the scheme.
        after: the same with it (after its digital correction).
        reference: the ideal outputs of the same inputs.
        fig: a Figure or SubFigure to draw two panels on (``None``: a new figure).
        title: what the figure shows (e.g. the scheme's name).
        caption: the line naming spec and engine.

    Raises:
        InputError: the shapes differ, or the reference is all zero.
    """
    b, a = as_array(before, "before", 2), as_array(after, "after", 2)
    ref = as_array(reference, "reference", 2)
    same_shape("before/after", b, a, ref)
    scale = full_scale(ref)
    fig, axes = panels(fig, 2, (12, 4.6))
    for ax, out, when in zip(axes, (b, a), ("before", "after"), strict=True):
        err = (out - ref) / scale
        text = f"{when}: max |error| {np.max(np.abs(err)):.3g} of full scale"
        _error_image(fig, ax, err, text, "(output - ideal V @ G) / full scale")
    suptitled(fig, f"{title} (each panel on its own colour scale)", caption)
    return fig
