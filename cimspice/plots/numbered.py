"""Names for points that would collide: numbers placed beside the markers so that none
overlap, listed number by number in a monospace table beside the axes; vertical reference
lines for energies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from cimspice.plots.figure import (
    root_figure,
)

__all__ = ["mark_energies", "place_numbers", "side_legends"]


def place_numbers(ax: Axes, xs: np.ndarray, ys: np.ndarray, fontsize: float = 8) -> list[Any]:
    """Number the points ``1..n`` beside their markers so that no two numbers overlap each
    other or a marker; a number pushed away from its point gets a thin leader line.

    The figure's layout is settled first (positions are measured in pixels); the numbers are
    left out of later layouts, so they stay where they were placed.
    """
    root = root_figure(ax.figure)
    root.draw_without_rendering()
    points = ax.transData.transform(np.column_stack([xs, ys]))
    px = root.dpi / 72.0
    marker = 4.5 * px
    x0, y0, x1, y1 = ax.bbox.extents
    placed: list[tuple[float, float, float, float]] = []
    angles = np.deg2rad([30, -30, 150, -150, 90, -90, 0, 180, 60, -60, 120, -120])
    crowd = [int(np.sum(np.hypot(*(points - p).T) < 30 * px)) for p in points]
    notes: list[Any] = [None] * len(points)

    def overlap(box: tuple[float, float, float, float]) -> float:
        total = 0.0
        for other in placed:
            w = min(box[2], other[2]) - max(box[0], other[0])
            h = min(box[3], other[3]) - max(box[1], other[1])
            total += max(w, 0.0) * max(h, 0.0)
        for q in points:
            w = min(box[2], q[0] + marker) - max(box[0], q[0] - marker)
            h = min(box[3], q[1] + marker) - max(box[1], q[1] - marker)
            total += max(w, 0.0) * max(h, 0.0)
        outside = (box[0] < x0) + (box[2] > x1) + (box[1] < y0) + (box[3] > y1)
        return total + 1e6 * outside

    for i in sorted(range(len(points)), key=lambda k: -crowd[k]):
        text = str(i + 1)
        w, h = (0.62 * len(text) * fontsize + 2) * px, (fontsize + 1) * px
        best: tuple[float, float, float, tuple[float, float, float, float]] | None = None
        for radius in (7, 14, 24, 36):
            for angle in angles:
                cx = points[i][0] + math.cos(angle) * (radius * px + w / 2)
                cy = points[i][1] + math.sin(angle) * (radius * px + h / 2)
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                score = overlap(box)
                if best is None or score < best[0]:
                    best = (score, cx, cy, box)
                if score == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        _, cx, cy, box = best
        placed.append(box)
        far = math.hypot(cx - points[i][0], cy - points[i][1]) > 20 * px
        note = ax.annotate(
            text,
            (xs[i], ys[i]),
            xytext=((cx - points[i][0]) / px, (cy - points[i][1]) / px),
            textcoords="offset points",
            ha="center",
            va="center",
            fontsize=fontsize,
            arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.4"} if far else None,
        )
        note.set_in_layout(False)
        notes[i] = note
    return notes


def side_legends(
    ax: Axes, handles: list[Any], rows: list[str], header: str, lines: list[Any]
) -> None:
    """Beside the axes: the numbered table (top; monospace, so its columns align) and the
    reference lines' legend (bottom). The table is the axes' own legend, which the layout
    makes room for (it is the wider of the two)."""
    if lines:
        ax.add_artist(
            ax.legend(
                handles=lines,
                loc="lower left",
                bbox_to_anchor=(1.02, 0.0),
                borderaxespad=0.0,
                fontsize=7,
                frameon=False,
            )
        )
    table = ax.legend(
        [Line2D([], [], ls="none"), *handles],  # the header: a row with no marker
        [header, *rows],
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        prop={"family": "monospace", "size": 7},
        handletextpad=0.4,
        frameon=False,
    )
    table.get_texts()[0].set_fontweight("bold")


def mark_energies(ax: Axes, marks: Mapping[str, float]) -> list[Any]:
    handles = []
    for (name, energy), style in zip(marks.items(), (":", "-.", "--"), strict=False):
        line = ax.axvline(energy, color="0.35", ls=style, lw=0.9, gid=f"mark:{name}")
        line.set_label(f"{name} {energy:.3e} J")
        handles.append(line)
    return handles
