"""A surrogate bound to one conductance matrix, ready for batches of inputs.

Three kinds, all with ``currents(inputs) -> (batch, cols)``:

- :class:`PreparedTile` (linear cells, either mode): the exact transfer matrix ``T`` of the
  fitted network; one matmul per batch.
- :class:`NewtonTile` (nonlinear cells, ``accurate`` mode): Newton on the fitted network's
  cell voltages (:func:`cimspice.engines.line_newton.solve_cell_voltages`), exact for the
  fitted network.
- :class:`AttenuationTile` (nonlinear cells, ``fast`` mode): each cell sees its word line's
  input scaled by an attenuation ``alpha_ij`` (its share of the input left after the IR
  drops), ``I_j = sum_i f_ij(alpha_ij v_i)``. The attenuations come from exact solves of the
  fitted network at ``LEVELS`` uniform input levels; a vector is evaluated at the two levels
  that bracket its RMS input and the results interpolated linearly (how much the wires
  drop depends mostly on how hard the whole array is driven). Each ``f_ij(alpha_ij v)`` is
  an odd polynomial in ``v`` fitted per cell, so a level costs ``len(POWERS)`` matmuls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from cimspice.arrays import check_inputs
from cimspice.engines.cell_laws import CellLaw
from cimspice.engines.line_newton import solve_cell_voltages
from cimspice.engines.wire_drops import WireDrops

__all__ = [
    "ACCURATE_TOL_V",
    "LEVELS",
    "POWERS",
    "AttenuationTile",
    "NewtonTile",
    "PreparedTile",
]

LEVELS = 8
"""Uniform input levels at which the fast mode measures the attenuations."""
POWERS = (1, 3, 5, 7)
"""Odd powers of the fast mode's per-cell polynomials (degree 7: sinh(x/v0) to ~5e-6 at
x/v0 = 2)."""
_GRID = 48  # fitting points of each cell polynomial on [0, v_max]


@dataclass(frozen=True)
class PreparedTile:
    """Linear cells: ``currents = inputs @ transfer``.

    Attributes:
        transfer: siemens, ``(rows, cols)``.
        prepare_s: seconds spent preparing it.
    """

    transfer: np.ndarray
    prepare_s: float

    def currents(self, inputs: np.ndarray) -> np.ndarray:
        """Ampere, ``(batch, cols)``."""
        return check_inputs(inputs, self.transfer.shape[0]) @ self.transfer


ACCURATE_TOL_V = 1e-9
"""Volt: the accurate mode's Newton stops at steps below this (1e-12 V costs one more step
and changes the currents by ~1e-15 of full scale)."""


@dataclass(frozen=True)
class NewtonTile:
    """Nonlinear cells, solved exactly on the fitted network (the ``accurate`` mode).

    Newton starts from each input vector scaled by the attenuations measured at uniform input
    levels (as in the fast mode), which saves it about one step.

    Attributes:
        law: the cells' I-V law, broadcastable against ``(rows, cols, batch)``.
        drops: the fitted wires.
        levels: volt, ``(L,)``, the uniform input levels of ``attenuation``.
        attenuation: ``(rows, cols, L)``: cell voltage / input at each level.
        prepare_s: seconds spent preparing it.
        chunk: input vectors solved together (bounds the working memory to a few
            ``(rows, cols, chunk)`` arrays).
    """

    law: CellLaw
    drops: WireDrops
    levels: np.ndarray
    attenuation: np.ndarray
    prepare_s: float = 0.0
    chunk: int = 256

    @classmethod
    def build(
        cls, law: CellLaw, drops: WireDrops, rows: int, cols: int, v_max: float
    ) -> NewtonTile:
        """Measure the attenuations for inputs up to ``v_max`` (volt)."""
        start = time.perf_counter()
        levels, alpha = _attenuations(law, drops, rows, cols, v_max)
        return cls(law, drops, levels, alpha, time.perf_counter() - start)

    def currents(self, inputs: np.ndarray) -> np.ndarray:
        """Ampere, ``(batch, cols)``."""
        rows, cols = self.attenuation.shape[:2]
        v = check_inputs(inputs, rows)
        out = np.empty((v.shape[0], cols))
        for k in range(0, v.shape[0], self.chunk):
            part = v[k : k + self.chunk]
            low, weight = _bracket(self.levels, part)
            alpha = self.attenuation[:, :, low] * (1.0 - weight) + (
                self.attenuation[:, :, low + 1] * weight
            )
            solution = solve_cell_voltages(
                self.law, self.drops, part, cols, tol=ACCURATE_TOL_V, start=alpha * part.T[:, None]
            )
            out[k : k + part.shape[0]] = solution.currents.sum(axis=0).T
        return out


def _attenuations(
    law: CellLaw, drops: WireDrops, rows: int, cols: int, v_max: float
) -> tuple[np.ndarray, np.ndarray]:
    """``LEVELS`` uniform input levels up to ``v_max`` and each cell's attenuation at them."""
    levels = np.linspace(v_max / LEVELS, v_max, LEVELS)
    reference = solve_cell_voltages(law, drops, levels[:, None] * np.ones((1, rows)), cols)
    return levels, reference.voltages / levels


def _bracket(levels: np.ndarray, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per input vector: the lower of the two levels around its RMS and the weight of the
    upper one (clipped to the end levels)."""
    rms = np.sqrt(np.mean(inputs**2, axis=1))
    position = np.interp(rms, levels, np.arange(len(levels)))
    low = np.minimum(np.floor(position).astype(int), len(levels) - 2)
    return low, position - low


@dataclass(frozen=True)
class AttenuationTile:
    """Nonlinear cells, the ``fast`` mode (see the module docstring).

    Attributes:
        levels: volt, ``(L,)``, the RMS input levels the coefficients were measured at.
        coefficients: ``(L, len(POWERS), rows, cols)``; at level ``l``,
            ``I = sum_p (v ** POWERS[p]) @ coefficients[l, p]``.
        prepare_s: seconds spent preparing it.
    """

    levels: np.ndarray
    coefficients: np.ndarray
    prepare_s: float

    @classmethod
    def build(
        cls, law: CellLaw, drops: WireDrops, rows: int, cols: int, v_max: float
    ) -> AttenuationTile:
        """Measure the attenuations and fit the per-cell polynomials for inputs to ``v_max``."""
        start = time.perf_counter()
        levels, alpha = _attenuations(law, drops, rows, cols, v_max)
        grid = np.linspace(0.0, v_max, _GRID + 1)[1:]
        design = grid[:, None] ** np.array(POWERS)[None, :]  # (grid, P)
        solve = np.linalg.pinv(design)  # (P, grid)
        coefficients = np.empty((LEVELS, len(POWERS), rows, cols))
        for level in range(LEVELS):
            # f_ij(alpha_ij v) on the grid: (rows, cols, grid)
            values = law.current(alpha[:, :, level, None] * grid)
            coefficients[level] = np.einsum("pg,ijg->pij", solve, values)
        return cls(levels, coefficients, time.perf_counter() - start)

    def currents(self, inputs: np.ndarray) -> np.ndarray:
        """Ampere, ``(batch, cols)``."""
        n_powers = len(POWERS)
        rows, cols = self.coefficients.shape[2:]
        v = check_inputs(inputs, rows)
        low, weight = _bracket(self.levels, v)
        weight = weight[:, None]
        features = np.concatenate([v**p for p in POWERS], axis=1)  # (batch, P * rows)
        flat = self.coefficients.reshape(len(self.levels), n_powers * rows, cols)
        out = np.empty((v.shape[0], cols))
        for level in np.unique(low):
            picked = np.flatnonzero(low == level)
            x = features[picked]
            w = weight[picked]
            out[picked] = (1.0 - w) * (x @ flat[level]) + w * (x @ flat[level + 1])
        return out
