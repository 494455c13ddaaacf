"""Accuracy against energy: the network-level Pareto plot and the tile-level trade-off, both
with numbered points and reference lines from the caller's own numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import FigureBase
from matplotlib.lines import Line2D

from cimspice.errors import InputError
from cimspice.plots.figure import (
    ERROR_FLOOR,
    as_array,
    axes_of,
    log_ticks,
    titled,
)
from cimspice.plots.numbered import mark_energies, place_numbers, side_legends

__all__ = ["plot_pareto", "plot_tradeoff"]


def plot_pareto(
    labels: Sequence[str],
    energy_per_mac: np.ndarray,
    accuracy: np.ndarray,
    accuracy_std: np.ndarray,
    on_front: np.ndarray,
    *,
    exact_accuracy: float | None = None,
    energy_marks: Mapping[str, float] | None = None,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Network accuracy against energy per MAC for every case, the Pareto front highlighted.

    Each case is a numbered point (error bars: std over device seeds; filled: on the front),
    listed by number beside the axes with its accuracy and energy as the report's table
    prints them; the front is joined by a line. Reference lines come from the caller's own
    numbers: the exact network's accuracy and the cost model's energies (``energy_marks``).

    Args:
        labels: each case's name.
        energy_per_mac: joule per MAC of each case (> 0; log axis).
        accuracy: each case's mean hardware accuracy (fraction).
        accuracy_std: its standard deviation over device seeds.
        on_front: whether each case is on the Pareto front (as the report computed it).
        exact_accuracy: the exact network's accuracy (fraction), a dashed line.
        energy_marks: name -> J per MAC, vertical lines (e.g. ``"SRAM CIM MAC"``).
        ax: the axes to draw on (``None``: a new figure).
        caption: the line naming spec, engine and model.

    Raises:
        InputError: the arrays differ in length, or an energy is not > 0.
    """
    energy = as_array(energy_per_mac, "energy_per_mac", 1)
    acc, std = as_array(accuracy, "accuracy", 1), as_array(accuracy_std, "accuracy_std", 1)
    front = np.asarray(on_front, dtype=bool)
    if not len(labels) == energy.size == acc.size == std.size == front.size:
        raise InputError("plot_pareto: labels, energies, accuracies, stds and on_front differ")
    if energy.size == 0 or np.any(~(energy > 0)):
        raise InputError("plot_pareto: every energy per MAC must be > 0 (a log axis)")
    fig, ax = axes_of(ax, (12, 6.2))
    for mine, colour, fill in ((False, "C0", "white"), (True, "C3", "C3")):
        pick = front == mine
        bars = ax.errorbar(
            energy[pick],
            acc[pick],
            yerr=std[pick],
            fmt="o",
            color=colour,
            mfc=fill,
            ms=6,
            capsize=3,
        )
        bars.lines[0].set_gid("front" if mine else "off-front")  # the points, not the caps
    order = np.flatnonzero(front)[np.argsort(energy[front], kind="stable")]
    (front_line,) = ax.plot(energy[order], acc[order], "-", color="C3", lw=1.2, zorder=1)
    front_line.set_label("Pareto front")
    lines = [front_line]
    if exact_accuracy is not None:
        exact = ax.axhline(exact_accuracy, color="0.35", ls="--", lw=0.9, gid="exact-network")
        exact.set_label(f"exact network {exact_accuracy:.4f}")
        lines.append(exact)
    lines += mark_energies(ax, energy_marks or {})
    ax.set_xscale("log")
    log_ticks(ax.xaxis, "J")
    ax.set_xlabel("energy per MAC")
    ax.set_ylabel("hardware accuracy (fraction of test samples)")
    ax.grid(alpha=0.3, which="both")
    titled(ax, "network accuracy vs energy per MAC (filled red: on the Pareto front)", caption)
    width = max(len(label) for label in labels)
    rows = [
        f"{i + 1:>2} {label:<{width}} {a:.4f} {e:.3e}"
        for i, (label, a, e) in enumerate(zip(labels, acc, energy, strict=True))
    ]
    handles = [
        Line2D([], [], ls="none", marker="o", color="C3" if f else "C0", mfc="C3" if f else "white")
        for f in front
    ]
    header = f"{'#':>2} {'case':<{width}} {'acc.':<6} {'J/MAC':<9}"
    side_legends(ax, handles, rows, header, lines)
    place_numbers(ax, energy, acc)
    return fig


def plot_tradeoff(
    labels: Sequence[str],
    energy_before: np.ndarray,
    energy_after: np.ndarray,
    error_before: np.ndarray,
    error_after: np.ndarray,
    *,
    energy_marks: Mapping[str, float] | None = None,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Tile-level accuracy against energy: each scheme's max error and energy per MAC, an
    arrow from its uncompensated tile (open) to the compensated one (filled, numbered).

    Args:
        labels: each scheme's name.
        energy_before: joule per MAC without each scheme (> 0).
        energy_after: joule per MAC with it (> 0).
        error_before: max |error| / full scale without it.
        error_after: with it (values below :data:`ERROR_FLOOR` are drawn at it).
        energy_marks: name -> J per MAC, vertical lines (the cost model's reference MACs).
        ax: the axes to draw on (``None``: a new figure).
        caption: the line naming the tiles and engine.

    Raises:
        InputError: the arrays differ in length, or an energy is not > 0.
    """
    e0, e1 = as_array(energy_before, "energy_before", 1), as_array(energy_after, "energy_after", 1)
    r0 = np.maximum(as_array(error_before, "error_before", 1), ERROR_FLOOR)
    r1 = np.maximum(as_array(error_after, "error_after", 1), ERROR_FLOOR)
    if not len(labels) == e0.size == e1.size == r0.size == r1.size:
        raise InputError("plot_tradeoff: labels, energies and errors differ in length")
    if np.any(~(e0 > 0)) or np.any(~(e1 > 0)):
        raise InputError("plot_tradeoff: every energy per MAC must be > 0 (a log axis)")
    fig, ax = axes_of(ax, (11.5, 5.8))
    handles = []
    for i in range(len(labels)):
        colour = f"C{i % 10}"
        ax.annotate(
            "",
            (e1[i], r1[i]),
            (e0[i], r0[i]),
            arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.0},
        )
        ax.plot([e0[i]], [r0[i]], "o", mfc="white", color=colour, ms=5)
        ax.plot([e1[i]], [r1[i]], "o", color=colour, ms=6, gid=f"after:{i}")
        handles.append(Line2D([], [], ls="none", marker="o", color=colour))
    lines = mark_energies(ax, energy_marks or {})
    ax.set_xscale("log")
    ax.set_yscale("log")
    log_ticks(ax.xaxis, "J")
    ax.set_xlabel("energy per MAC")
    ax.set_ylabel("max |error| / full scale")
    ax.grid(alpha=0.3)
    titled(ax, "tile-level accuracy vs energy (open: before, filled and numbered: after)", caption)
    width = max(len(label) for label in labels)
    rows = [
        f"{i + 1:>2} {label:<{width}} {b:.2e} -> {a:.2e}"
        for i, (label, b, a) in enumerate(zip(labels, r0, r1, strict=True))
    ]
    header = f"{'#':>2} {'scheme':<{width}} max error before -> after"
    side_legends(ax, handles, rows, header, lines)
    place_numbers(ax, e1, r1)
    return fig
