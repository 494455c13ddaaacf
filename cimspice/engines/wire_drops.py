"""The wires of a passive crossbar as an operator: cell currents in, IR drops out.

In the reference topology (:mod:`cimspice.topology`) every word line is a chain of equal
resistors fed at column 0 and every bit line a chain sensed at row ``rows - 1``. Given the
current ``I[i, j]`` each cell passes from word line ``i`` to bit line ``j``, the wires are
linear, so the node potentials follow in closed form:

- word line: the segment entering cell ``m`` carries ``T[i, m] = sum_{k >= m} I[i, k]``, so
  ``w[i, j] = v[i] - r_first T[i, 0] - r_row sum_{m=1..j} T[i, m]``;
- bit line: the segment leaving cell ``m`` carries ``H[m, j] = sum_{k <= m} I[k, j]``, so
  ``b[i, j] = r_last H[rows-1, j] + r_col sum_{m=i..rows-2} H[m, j]``.

Each is two running sums, ``O(rows * cols)`` per input vector: the exact nodal solution of the
wires, without assembling or factoring a matrix. The operator ``I -> (v - w) + b`` is a
resistance (Green's-function) matrix, symmetric positive semi-definite, which is what lets
:mod:`cimspice.engines.line_newton` solve nonlinear cells by conjugate gradients.

Arrays are laid out ``(rows, cols, batch)``: the batch is the innermost, contiguous axis, so a
running sum along either line is a loop of whole-batch vector additions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimspice.topology import PassiveTopology

__all__ = ["WireDrops"]


@dataclass(frozen=True)
class WireDrops:
    """The linear map from cell currents to the wires' IR drops (see the module docstring).

    Attributes:
        r_first: ohm, driver to the first cell of a word line.
        r_row: ohm, one word-line segment between neighbouring cells.
        r_col: ohm, one bit-line segment between neighbouring cells.
        r_last: ohm, last cell of a bit line to the sense node.

    """

    r_first: float
    r_row: float
    r_col: float
    r_last: float

    @classmethod
    def from_topology(cls, topology: PassiveTopology) -> WireDrops:
        """The wires of ``topology`` (its end links already include driver and readout)."""
        return cls(topology.r_first, topology.r_row, topology.r_col, topology.r_last)

    def word(self, currents: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Volt, ``(rows, cols, batch)``: how far each word-line node sits below its driver.

        Args:
            currents: ampere, ``(rows, cols, batch)``, the current of every cell.
            out: where to write the result (a new array if ``None``); not ``currents``.
        """
        # The segment into cell j carries T[:, j]; drop[:, j] = drop[:, j-1] + r T[:, j].
        drop = _running_sum(currents, axis=1, reverse=True, out=out)
        drop[:, 1:] *= self.r_row
        drop[:, 0] *= self.r_first
        _accumulate(drop, axis=1, reverse=False)
        return drop

    def bit(self, currents: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Volt, ``(rows, cols, batch)``: each bit-line node's potential above the 0 V sense.

        Args:
            currents: ampere, ``(rows, cols, batch)``, the current of every cell.
            out: where to write the result (a new array if ``None``); not ``currents``.
        """
        # The segment out of cell i carries H[i]; rise[i] = rise[i+1] + r H[i].
        rise = _running_sum(currents, axis=0, reverse=False, out=out)
        rise[:-1] *= self.r_col
        rise[-1] *= self.r_last
        _accumulate(rise, axis=0, reverse=True)
        return rise

    def diagonal(self, rows: int, cols: int) -> np.ndarray:
        """Ohm, ``(rows, cols)``: the operator's diagonal, the resistance from each cell to its
        driver plus the resistance from it to its sense node."""
        j = np.arange(cols)[None, :]
        i = np.arange(rows)[:, None]
        word = self.r_first + self.r_row * j
        bit = self.r_last + self.r_col * (rows - 1 - i)
        return word + bit

    def __call__(self, currents: np.ndarray) -> np.ndarray:
        """Volt, ``(rows, cols, batch)``: word drop plus bit rise, the voltage each cell loses."""
        return self.into(currents, np.empty_like(currents), np.empty_like(currents))

    def into(self, currents: np.ndarray, out: np.ndarray, work: np.ndarray) -> np.ndarray:
        """:meth:`__call__` written into ``out``, with ``work`` (same shape) as scratch.

        Iterative solvers apply the operator dozens of times per solve: reusing two arrays
        instead of allocating four spares the page faults of fresh memory, which cost more
        than the arithmetic on arrays of a few megabytes.
        """
        self.word(currents, out)
        out += self.bit(currents, work)
        return out


def _running_sum(
    x: np.ndarray, *, axis: int, reverse: bool, out: np.ndarray | None = None
) -> np.ndarray:
    """Inclusive running sum of ``x`` along ``axis`` (from the far end when ``reverse``),
    into ``out`` if given (a contiguous copy, then in-place additions: faster than adding
    slices of ``x`` into ``out``, which reads a third array)."""
    if out is None:
        out = x.copy()
    else:
        np.copyto(out, x)
    _accumulate(out, axis=axis, reverse=reverse)
    return out


def _accumulate(x: np.ndarray, *, axis: int, reverse: bool) -> None:
    """In place, ``x[k] += x[k-1]`` along ``axis`` (``x[k] += x[k+1]`` when ``reverse``).

    A Python loop of whole-slice additions: each slice holds a full batch of every other line,
    so the loop runs ``rows`` or ``cols`` times while numpy adds thousands of values per step
    (several times faster than ``np.cumsum`` along a non-innermost axis).
    """
    view = np.moveaxis(x, axis, 0)
    n = view.shape[0]
    if reverse:
        for k in range(n - 2, -1, -1):
            view[k] += view[k + 1]
    else:
        for k in range(1, n):
            view[k] += view[k - 1]
