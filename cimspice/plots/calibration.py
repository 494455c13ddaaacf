"""A surrogate calibration's held-out figures: parity (the surrogate on its own axes, the
baselines beside it, every model's error on a log axis), the error histogram and the
error per bit line."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import FigureBase
from matplotlib.ticker import EngFormatter, MaxNLocator

from cimspice.errors import InputError
from cimspice.plots.figure import (
    ERROR_FLOOR,
    STYLES,
    as_array,
    axes_of,
    full_scale,
    integer_ticks,
    panels,
    same_shape,
    si_axis,
    suptitled,
    titled,
)

__all__ = ["plot_column_error", "plot_error_histogram", "plot_parity"]


def _models(reference: np.ndarray, predicted: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {name: as_array(p, name) for name, p in predicted.items()}
    same_shape("models against the reference", reference, *out.values())
    if not out:
        raise InputError("no model to compare with the reference")
    return out


def _points(ax: Axes, x: np.ndarray, y: np.ndarray, style: Any, *, name: str, gid: str) -> None:
    """One model's outputs as hollow markers (overlapping series stay visible)."""
    colour, marker, _ = style
    ax.plot(
        x.ravel(),
        y.ravel(),
        marker,
        ls="none",
        ms=3.5,
        mfc="none",
        mew=0.7,
        color=colour,
        label=name,
        gid=gid,
    )


def _parity_panel(
    ax: Axes, ref: np.ndarray, models: Mapping[str, np.ndarray], styles: Mapping[str, Any]
) -> None:
    for name in reversed(list(models)):  # the first named on top
        _points(ax, ref, models[name], styles[name], name=name, gid=f"parity:{name}")
    lim = [float(ref.min()), float(ref.max())]
    ax.plot(lim, lim, "k-", lw=0.7, label="y = x", zorder=0)
    si_axis(ax.xaxis, "A")
    si_axis(ax.yaxis, "A")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    order = [*range(len(models) - 1, -1, -1), len(models)]  # as given, then y = x
    ax.legend([handles[k] for k in order], [labels[k] for k in order], fontsize=7, loc="upper left")


def plot_parity(
    reference: np.ndarray,
    predicted: Mapping[str, np.ndarray],
    *,
    own_axes: Sequence[str] = ("surrogate",),
    reference_label: str = "ngspice",
    fig: FigureBase | None = None,
    caption: str = "",
) -> FigureBase:
    """Held-out parity of models against a reference, in three panels.

    Left: the models named in ``own_axes`` (the surrogate) against the reference, alone on
    their axes. Middle: the other models (the baselines). Right: every model's
    ``|model - reference| / full scale`` against the reference on a log axis, the
    ``own_axes`` models drawn last, on top (values below :data:`ERROR_FLOOR` drawn at it).

    Args:
        reference: ampere, the reference currents (any shape).
        predicted: model name -> its currents, the same shape.
        own_axes: the models drawn on their own axes (missing names are skipped).
        reference_label: what the reference is (axis labels).
        fig: a Figure or SubFigure to draw three panels on (``None``: a new figure).
        caption: the line naming spec and engine.

    Raises:
        InputError: shapes differ, no model, or the reference is all zero.
    """
    ref = as_array(reference, "reference")
    models = _models(ref, predicted)
    styles = {name: STYLES[i % len(STYLES)] for i, name in enumerate(models)}
    mine = {k: v for k, v in models.items() if k in own_axes}
    others = {k: v for k, v in models.items() if k not in own_axes}
    scale = full_scale(ref)
    fig, axes = panels(fig, 3, (15, 4.9))
    for ax, group, what in ((axes[0], mine, "{} alone"), (axes[1], others, "baselines: {}")):
        if group:
            _parity_panel(ax, ref, group, styles)
            ax.set_title(what.format(", ".join(group)), fontsize=9)
        else:
            ax.set_axis_off()
        ax.set_xlabel(f"{reference_label} current")
        ax.set_ylabel("model current")
    ax = axes[2]
    for name in [*reversed(others), *reversed(mine)]:  # the surrogate on top
        err = np.maximum(np.abs(models[name] - ref) / scale, ERROR_FLOOR)
        _points(ax, ref, err, styles[name], name=name, gid=f"error:{name}")
    ax.set_yscale("log")
    si_axis(ax.xaxis, "A")
    ax.set_xlabel(f"{reference_label} current")
    ax.set_ylabel(f"|model - {reference_label}| / full scale")
    ax.set_title(f"error of every model (below {ERROR_FLOOR:g}: drawn at it)", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], fontsize=7, loc="lower right")
    suptitled(
        fig,
        f"held-out parity against {reference_label} (full scale {EngFormatter('A', 1)(scale)})",
        caption,
    )
    return fig


def plot_error_histogram(
    reference: np.ndarray,
    predicted: Mapping[str, np.ndarray],
    *,
    reference_label: str = "ngspice",
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """How many outputs each model gets how wrong: a histogram of ``|model - reference| /
    full scale`` on log-spaced bins (values below :data:`ERROR_FLOOR` counted at it).

    Args:
        reference: the reference outputs (any shape).
        predicted: model name -> its outputs, the same shape.
        reference_label: what the reference is.
        ax: the axes to draw on (``None``: a new figure).
        caption: the line naming spec and engine.

    Raises:
        InputError: shapes differ, no model, or the reference is all zero.
    """
    ref = as_array(reference, "reference")
    models = _models(ref, predicted)
    scale = full_scale(ref)
    fig, ax = axes_of(ax, (7.5, 4.6))
    bins = np.logspace(math.log10(ERROR_FLOOR), 0, 86).tolist()
    for i, (name, values) in enumerate(models.items()):
        colour, _, style = STYLES[i % len(STYLES)]
        err = np.clip(np.abs(values - ref).ravel() / scale, ERROR_FLOOR * 1.01, 1.0)
        ax.hist(err, bins=bins, histtype="step", color=colour, ls=style, lw=1.3, label=name)
    ax.set_xscale("log")
    ax.set_xlabel(f"|model - {reference_label}| / full scale (below {ERROR_FLOOR:g}: at it)")
    ax.set_ylabel("outputs (count)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    titled(ax, "held-out error distribution", caption)
    ax.legend(fontsize=8)
    return fig


def plot_column_error(
    per_column: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Each model's held-out NRMSE per bit line (log axis; values below
    :data:`ERROR_FLOOR` drawn at it).

    Args:
        per_column: model name -> ``(cols,)`` NRMSE (fraction of full scale).
        ax: the axes to draw on (``None``: a new figure).
        caption: the line naming spec and engine.

    Raises:
        InputError: no model, or the models' column counts differ.
    """
    columns = {name: as_array(v, name, 1) for name, v in per_column.items()}
    if not columns:
        raise InputError("no model to draw")
    same_shape("per-column errors", *columns.values())
    fig, ax = axes_of(ax, (7.5, 4.4))
    for i, (name, values) in enumerate(columns.items()):
        colour, marker, style = STYLES[i % len(STYLES)]
        ax.plot(
            np.maximum(values, ERROR_FLOOR),
            color=colour,
            ls=style,
            marker=marker,
            ms=3,
            label=name,
        )
    ax.set_yscale("log")
    ax.set_xlabel("bit line j")
    integer_ticks(ax.xaxis)
    ax.set_ylabel("NRMSE / full scale")
    ax.grid(alpha=0.3, which="both")
    titled(ax, "held-out error per bit line", caption)
    ax.legend(fontsize=8)
    return fig
