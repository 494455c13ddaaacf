"""What a user would otherwise use instead of a calibrated surrogate, for comparison."""

from __future__ import annotations

import numpy as np

from cimspice.spec import CrossbarSpec
from cimspice.topology import PassiveTopology

__all__ = ["analytical_ir_drop", "ideal"]


def ideal(conductances: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """``V @ G``: no wires at all."""
    return np.atleast_2d(inputs) @ conductances


def analytical_ir_drop(
    spec: CrossbarSpec, conductances: np.ndarray, inputs: np.ndarray
) -> np.ndarray:
    """A first-order IR-drop model: each cell sees only its own wire path.

    Cell ``(i, j)`` is taken in series with the wire between its driver and its sense node,
    ``R_ij = r_first + j r_row + (rows - 1 - i) r_col + r_last``, and the currents of the
    other cells are ignored: ``I_j = sum_i V_i G_ij / (1 + G_ij R_ij)``. It captures the
    position dependence of IR drop but not the sharing of wire current between cells.
    """
    topo = PassiveTopology.from_spec(spec)
    rows, cols = spec.rows, spec.cols
    i = np.arange(rows)[:, None]
    j = np.arange(cols)[None, :]
    r_path = topo.r_first + j * topo.r_row + (rows - 1 - i) * topo.r_col + topo.r_last
    g_eff = conductances / (1.0 + conductances * r_path)
    return np.atleast_2d(inputs) @ g_eff
