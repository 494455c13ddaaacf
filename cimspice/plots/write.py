"""Writing the array: disturb maps side by side (V/2 against V/3, say) and the write-verify
error histogram."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import FigureBase
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from cimspice.errors import InputError
from cimspice.plots.figure import (
    SIGNED_MAP,
    as_array,
    axes_of,
    integer_ticks,
    panels,
    suptitled,
    titled,
)

__all__ = ["plot_disturb_maps", "plot_verify_histogram"]


def plot_disturb_maps(
    maps: Mapping[str, np.ndarray],
    *,
    cell: tuple[int, int] | None = None,
    fig: FigureBase | None = None,
    caption: str = "",
) -> FigureBase:
    """Each cell's conductance change (fraction of the window), one panel per scheme, all on
    one signed scale centred on 0 (coolwarm); the written cell is outlined.

    Args:
        maps: scheme name -> ``(rows, cols)`` change.
        cell: the written cell (row, column), if any.
        fig: a Figure or SubFigure to draw on (``None``: a new one).
        caption: the line naming spec and model.

    Raises:
        InputError: no maps, or maps of different shapes.
    """
    if not maps:
        raise InputError("plot_disturb_maps needs at least one map")
    arrays = {k: as_array(v, k, ndim=2) for k, v in maps.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1:
        raise InputError(f"disturb maps must share one shape, got {sorted(shapes)}")
    # the written cell changes by far the most: the scale is set by the others
    others = [np.abs(np.delete(a.ravel(), _flat(cell, a.shape))) for a in arrays.values()]
    lim = max(float(np.max(o, initial=0.0)) for o in others) or 1e-12
    fig, axes = panels(fig, len(arrays), (4.2 * len(arrays) + 1.2, 4.4))
    image = None
    for ax, (name, a) in zip(axes, arrays.items(), strict=False):
        image = ax.imshow(a, cmap=SIGNED_MAP, vmin=-lim, vmax=lim, interpolation="nearest")
        if cell is not None:
            ax.add_patch(_outline(cell))
        worst = np.max(np.abs(np.delete(a.ravel(), _flat(cell, a.shape))), initial=0.0)
        ax.set_title(f"{name}: largest other change {worst:.3g}", fontsize=9)
        ax.set_xlabel("bit line j")
        ax.set_ylabel("word line i")
        integer_ticks(ax.xaxis)
        integer_ticks(ax.yaxis)
    assert image is not None
    fig.colorbar(image, ax=list(axes), label="conductance change / window", format="%.2g")
    suptitled(fig, "disturb after the write pulses (written cell outlined, off scale)", caption)
    return fig


def _flat(cell: tuple[int, int] | None, shape: tuple[int, ...]) -> list[int]:
    return [] if cell is None else [cell[0] * shape[1] + cell[1]]


def _outline(cell: tuple[int, int]) -> Rectangle:

    i, j = cell
    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", lw=1.5)


def plot_verify_histogram(
    errors: np.ndarray,
    held_out: np.ndarray | None = None,
    *,
    tol: float = 0.0,
    draws: Mapping[str, np.ndarray] | None = None,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Programmed conductance minus target (fraction of the window) after write-verify: the
    calibration runs, and held-out runs when given; the tolerance band dashed. ``draws``:
    models' errors by label (any number of draws each), drawn as outlines scaled to the
    held-out runs' cell count (or the calibration runs' without them).

    Raises:
        InputError: empty or non-finite errors.
    """
    e = as_array(errors, "errors").ravel()
    if e.size == 0:
        raise InputError("plot_verify_histogram needs at least one error")
    fig, ax = axes_of(ax, (7.0, 4.4))
    values = [e] + ([as_array(held_out, "held_out").ravel()] if held_out is not None else [])
    models = {k: as_array(v, f"draws[{k!r}]").ravel() for k, v in (draws or {}).items()}
    if any(v.size == 0 for v in models.values()):
        raise InputError("plot_verify_histogram: a model's draws are empty")
    lim = max(float(np.max(np.abs(np.concatenate(values)))), tol, 1e-6) * 1.05
    bins = np.linspace(-lim, lim, 41).tolist()
    ax.hist(
        e, bins=bins, histtype="stepfilled", alpha=0.5, label=f"calibration runs ({e.size} cells)"
    )
    if held_out is not None:
        h = values[1]
        ax.hist(
            h,
            bins=bins,
            histtype="step",
            lw=1.5,
            color="black",
            label=f"held-out runs ({h.size} cells)",
        )
    count = values[-1].size
    for (label, d), style in zip(models.items(), ("--", ":", "-."), strict=False):
        ax.hist(
            np.clip(d, bins[0], bins[-1]),
            bins=bins,
            weights=np.full(d.size, count / d.size),
            histtype="step",
            lw=1.5,
            ls=style,
            label=f"{label} (scaled to {count} cells)",
        )
    if tol > 0:
        for x in (-tol, tol):
            ax.axvline(x, ls="--", color="grey", lw=1)
    ax.set_xlabel("(programmed - target) / (g_max - g_min)")
    ax.set_ylabel("cells (count)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    titled(ax, "write-verify in SPICE: programmed-conductance error", caption)
    ax.legend(fontsize=8)
    return fig
