"""Dynamics and noise as a resource: a reservoir's predictions against the target, NMSE
against the reservoir's size, and the reliability diagram of a stochastic network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import FigureBase

from cimspice.errors import InputError
from cimspice.plots.figure import STYLES, as_array, axes_of, same_shape, titled

__all__ = ["plot_nmse_vs_size", "plot_prediction", "plot_reliability"]


def plot_prediction(
    target: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    steps: int = 150,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """The first ``steps`` of a test segment: the target and each model's prediction.

    Raises:
        InputError: no predictions, or one of another length than the target.
    """
    y = as_array(target, "target", ndim=1)
    if not predictions:
        raise InputError("plot_prediction needs at least one prediction")
    fig, ax = axes_of(ax, (8.0, 4.0))
    n = min(int(steps), len(y))
    t = np.arange(n)
    ax.plot(t, y[:n], color="black", lw=2.0, label="target")
    for (name, p), (colour, _, style) in zip(predictions.items(), STYLES, strict=False):
        values = as_array(p, name, ndim=1)
        same_shape(name, y, values)
        ax.plot(t, values[:n], color=colour, ls=style, lw=1.2, label=name)
    ax.set_xlabel("test step")
    ax.set_ylabel("output (task units)")
    ax.legend(fontsize=8, loc="upper right")
    titled(ax, "predictions on the held-out segment", caption)
    return fig


def plot_nmse_vs_size(
    sizes: Sequence[int],
    nmse: Mapping[str, Sequence[float]],
    *,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Test NMSE of each model against the number of features (log-scaled NMSE).

    Raises:
        InputError: a series of another length than ``sizes``, or a value <= 0.
    """
    x = as_array(list(sizes), "sizes", ndim=1)
    if not nmse:
        raise InputError("plot_nmse_vs_size needs at least one series")
    fig, ax = axes_of(ax, (6.5, 4.2))
    for (name, values), (colour, marker, style) in zip(nmse.items(), STYLES, strict=False):
        v = as_array(list(values), name, ndim=1)
        same_shape(name, x, v)
        if np.any(v <= 0):
            raise InputError(f"{name}: NMSE values must be > 0 on a log axis")
        ax.plot(x, v, color=colour, marker=marker, ls=style, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("features (devices, units or delays)")
    ax.set_ylabel("test NMSE")
    ax.legend(fontsize=8)
    titled(ax, "NMSE against reservoir size", caption)
    return fig


def plot_reliability(
    bins: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Reliability diagram: accuracy against mean confidence per confidence bin, one series
    per predictive distribution (``name -> (count, confidence, accuracy)`` as
    :func:`cimspice.dynamics.stochastic.calibration_bins` gives them; empty bins left out),
    the diagonal of perfect calibration dashed; marker area follows the bin's count.

    Raises:
        InputError: no series.
    """
    if not bins:
        raise InputError("plot_reliability needs at least one series")
    fig, ax = axes_of(ax, (5.6, 5.0))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated")
    for (name, (count, conf, acc)), (colour, marker, style) in zip(
        bins.items(), STYLES, strict=False
    ):
        c = as_array(count, f"{name} count", ndim=1)
        used = c > 0
        x = as_array(conf, f"{name} confidence", ndim=1)[used]
        y = as_array(acc, f"{name} accuracy", ndim=1)[used]
        size = 12 + 120 * c[used] / max(float(c.sum()), 1.0)
        ax.plot(x, y, color=colour, ls=style, lw=1)
        ax.scatter(x, y, s=size, color=colour, marker=marker, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top-class probability)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8, loc="upper left")
    titled(ax, "reliability diagram", caption)
    return fig
