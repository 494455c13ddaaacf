"""Network accuracy against a swept spec value (mean and spread over device seeds)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import FigureBase
from matplotlib.ticker import NullFormatter

from cimspice.errors import InputError
from cimspice.plots.figure import (
    as_array,
    axes_of,
    log_if_decades,
    titled,
)

__all__ = ["plot_accuracy_sweep"]


def plot_accuracy_sweep(
    key: str,
    values: Sequence[Any],
    mean: np.ndarray,
    std: np.ndarray,
    *,
    seeds: int = 1,
    exact_accuracy: float | None = None,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Hardware accuracy (mean +- std over device seeds) against a swept spec value.

    Numbers go on a linear axis, or a log one when they are > 0 and span a decade or more
    (ticks at the swept values); other values are placed evenly and labelled. The legend
    stands beside the axes, clear of the points.

    Args:
        key: the swept spec key (the x label).
        values: the swept values.
        mean: the mean accuracy (fraction) at each value.
        std: its standard deviation over seeds.
        seeds: device seeds per value.
        exact_accuracy: the exact network's accuracy, a dashed line.
        ax: the axes to draw on (``None``: a new figure).
        caption: the line naming spec, engine and model.

    Raises:
        InputError: ``values``, ``mean`` and ``std`` differ in length.
    """
    m, s = as_array(mean, "mean", 1), as_array(std, "std", 1)
    if not len(values) == m.size == s.size:
        raise InputError("plot_accuracy_sweep: values, mean and std differ in length")
    fig, ax = axes_of(ax, (8, 4.4))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    xs = np.asarray(values, dtype=float) if numeric else np.arange(len(values), dtype=float)
    bars = ax.errorbar(
        xs, m, yerr=s, marker="o", capsize=4, label=f"hardware, mean ± std over {seeds} seed(s)"
    )
    bars.lines[0].set_gid("hardware")  # the points, not the caps
    if exact_accuracy is not None:
        ax.axhline(
            exact_accuracy,
            color="0.35",
            ls="--",
            lw=0.9,
            gid="exact-network",
            label=f"exact network {exact_accuracy:.4f}",
        )
    if not numeric or log_if_decades(ax, "x", xs):
        ax.set_xticks(xs, [str(v) for v in values])
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(key)
    ax.set_ylabel("accuracy (fraction of test samples)")
    titled(ax, f"accuracy vs {key}", caption)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8)
    ax.grid(alpha=0.3)
    return fig
