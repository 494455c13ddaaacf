"""Figures, drawn from result objects into PNG files (matplotlib's Agg backend, no window)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cimspice.arrays import check_inputs
from cimspice.result import Result

__all__ = ["plot_cell_voltages"]


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
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
