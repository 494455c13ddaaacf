"""What every plot shares: a new figure (no pyplot, the Agg canvas), titles with their
caption, array checks, tick formats, styles and constants, and :func:`save_figure`."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, FigureBase
from matplotlib.ticker import EngFormatter, LogLocator, MaxNLocator, NullFormatter

from cimspice.arrays import atomic_output
from cimspice.errors import InputError

__all__ = [
    "DPI",
    "ERROR_FLOOR",
    "SIGNED_MAP",
    "STYLES",
    "as_array",
    "axes_of",
    "full_scale",
    "integer_ticks",
    "log_if_decades",
    "log_ticks",
    "new_figure",
    "panels",
    "root_figure",
    "same_shape",
    "save_figure",
    "si_axis",
    "suptitled",
    "titled",
    "wrap",
]


DPI = 110
"""Dots per inch of the PNG files."""


ERROR_FLOOR = 1e-17
"""Errors below this fraction of full scale are drawn at it on log axes (round-off)."""


SIGNED_MAP = "coolwarm"
"""Colour map of signed errors: diverging, centred on 0, of even lightness steps."""


STYLES = [  # (colour, marker, line style) per series: distinct in colour and in grey
    ("C0", "o", "-"),
    ("C1", "^", "--"),
    ("C2", "s", "-."),
    ("C3", "D", ":"),
    ("C4", "v", (0, (5, 1, 1, 1))),
    ("C5", "P", (0, (1, 3))),
]


def save_figure(fig: FigureBase, path: str | Path, *, dpi: int = DPI) -> Path:
    """Write ``fig`` (or the figure that holds it) as a PNG, atomically: a complete file or
    none. The folder is created.

    Returns:
        the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as handle:
        root_figure(fig).savefig(handle, format="png", dpi=dpi)
    return path


def root_figure(fig: Any) -> Figure:
    """The top-level Figure of a Figure or SubFigure."""
    root = fig if isinstance(fig, Figure) else fig.figure
    assert isinstance(root, Figure)
    return root


def new_figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg canvas: text sizes can be measured, PNGs written
    return fig


def axes_of(ax: Axes | None, figsize: tuple[float, float]) -> tuple[FigureBase, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(figsize)
    return fig, fig.add_subplot()


def panels(
    fig: FigureBase | None, n: int, figsize: tuple[float, float], **grid: Any
) -> tuple[FigureBase, list[Axes]]:
    fig = new_figure(figsize) if fig is None else fig
    axes = fig.subplots(1, n, gridspec_kw=grid or None)
    return fig, list(np.atleast_1d(axes))


def wrap(text: str, inches: float, size: float) -> str:
    """``text`` broken into lines that fit ``inches`` at font ``size`` (points)."""
    width = max(30, int(inches * 72 / (0.55 * size)))
    return textwrap.fill(text, width=width, break_on_hyphens=False, break_long_words=False)


def titled(ax: Axes, title: str, caption: str) -> None:
    inches = ax.get_position().width * root_figure(ax.figure).get_figwidth()
    text = f"{title}\n{wrap(caption, inches, 9)}" if caption else title
    ax.set_title(text, fontsize=9)


def suptitled(fig: FigureBase, title: str, caption: str) -> None:
    text = f"{title}\n{wrap(caption, root_figure(fig).get_figwidth(), 10)}" if caption else title
    fig.suptitle(text, fontsize=10)


def as_array(values: Any, what: str, ndim: int | None = None) -> np.ndarray:
    out = np.asarray(values, dtype=float)
    if ndim is not None and out.ndim != ndim:
        raise InputError(f"{what} must be {ndim}-D, got shape {out.shape}")
    return out


def same_shape(what: str, *arrays: np.ndarray) -> None:
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise InputError(f"{what}: arrays of different shapes {sorted(shapes)}")


def full_scale(reference: np.ndarray) -> float:
    scale = float(np.max(np.abs(reference))) if reference.size else 0.0
    if scale == 0:
        raise InputError("the reference is all zero: no full scale to measure errors against")
    return scale


def integer_ticks(axis: Any) -> None:
    axis.set_major_locator(MaxNLocator(integer=True))


def si_axis(axis: Any, unit: str) -> None:
    axis.set_major_formatter(EngFormatter(unit=unit, places=None, sep=" "))


def log_ticks(axis: Any, unit: str) -> None:
    """Log-axis ticks at 1, 2 and 5 per decade, with SI-prefixed units."""
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_minor_formatter(NullFormatter())
    si_axis(axis, unit)


def log_if_decades(ax: Axes, which: str, values: np.ndarray) -> bool:
    """Log scale on ``which`` axis when the positive ``values`` span a decade or more."""
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() >= 10:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        return True
    return False
