"""A linear crossbar's transfer and sense-coupling matrices, by cascading admittances row by row.

For linear cells (conductances ``G``) in the reference topology (:mod:`cimspice.topology`)
the map from word-line volts to the currents into the sense nodes is a ``(rows, cols)``
matrix ``T``, and the currents the array pushes back into the sense nodes per volt on each of
them a ``(cols, cols)`` matrix ``K`` (drivers at 0 V; see
:mod:`cimspice.surrogate.readout`). Both follow from one sweep down the bit lines, in dense
``cols x cols`` algebra (BLAS), without a sparse factorisation:

- **one row alone.** With its bit-line nodes held at 0 V, row ``i``'s cells in series with
  its word line (resistance matrix ``R_w[j, k] = r_first + r_row min(j, k)``) pass
  ``c = Y_i (v_i 1 - u)`` into the bit-line nodes for a driver at ``v_i`` and node
  potentials ``u``, with the admittance ``Y_i = (diag(1/G_i) + R_w)^-1``, computed as
  ``D (1 + D R_w D)^-1 D``, ``D = diag(sqrt(G_i))`` (a near-identity solve, also for cells
  at 0 S).
- **the rows above, seen from row i.** Everything above row ``i``, seen from its bit-line
  nodes, is a Norton equivalent: an admittance ``E`` (``cols x cols``) and a short-circuit
  current ``J`` per input (``cols x rows``). One bit-line segment ``r_col`` in series turns
  ``(E, J)`` into ``((1 + r_col E)^-1 E, (1 + r_col E)^-1 J)``; row ``i``'s own cells add in
  parallel: ``E_i = Y_i + (1 + r_col E_{i-1})^-1 E_{i-1}``, ``J_i = (Y_i 1) e_i^T + (1 + r_col
  E_{i-1})^-1 J_{i-1}``.
- **the sense nodes.** Through the last segment ``r_last``: ``T^T = (1 + r_last E)^-1 J`` and
  ``K = -(1 + r_last E)^-1 E``.

Every quantity is an admittance or a current of the cells' own scale and every matrix
inverted is ``1 +`` something small and positive, so nothing cancels (a node-potential
elimination subtracts the wires' siemens from each other to leave the cells' microsiemens).
Zero-resistance wires need no special case. The cost is ``rows`` solves of ``cols x cols``
systems, ``O(rows cols^3 + rows^2 cols^2)``: at 128x128 a fraction of a sparse LU's
``rows`` triangular solves of the ``2 rows cols`` node network.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from cimspice.errors import ConvergenceError
from cimspice.threads import single_threaded
from cimspice.topology import PassiveTopology

__all__ = ["coupling_matrix", "row_admittances", "transfer_and_coupling", "transfer_matrix"]


def _check(info: int, what: str) -> None:
    if info != 0:  # every matrix factored is 1 + (positive semi-definite): only NaN gets here
        raise ConvergenceError(f"the admittance cascade's {what} failed (LAPACK info {info})")


def row_admittances(topology: PassiveTopology, conductances: np.ndarray) -> np.ndarray:
    """Siemens, ``(rows, cols, cols)``: each row's cells in series with its word line, seen
    from its bit-line nodes with the driver at 0 V (``Y_i`` of the module docstring)."""
    cols = topology.cols
    k = np.arange(cols)
    r_w = topology.r_first + topology.r_row * np.minimum(k[:, None], k[None, :])
    d = np.sqrt(np.asarray(conductances, dtype=float))  # (rows, cols)
    system = d[:, :, None] * r_w[None, :, :]
    system *= d[:, None, :]
    system[:, k, k] += 1.0
    for matrix in system:  # symmetric: its transpose is the Fortran-ordered same matrix
        factor, info = lapack.dpotrf(matrix.T, lower=1, overwrite_a=1)
        _check(info, "row factorisation")
        _, info = lapack.dpotri(factor, lower=1, overwrite_c=1)
        _check(info, "row inversion")
    # dpotri wrote the inverse's lower triangle (of each transpose: the upper one here)
    y = np.where(k[:, None] <= k[None, :], system, system.transpose(0, 2, 1))
    y *= d[:, :, None]
    y *= d[:, None, :]
    return y


def _cascade(topology: PassiveTopology, conductances: np.ndarray, *, sources: bool) -> np.ndarray:
    """``[E | J]`` at the last row's bit-line nodes, ``(cols, cols + rows)`` (``J`` left out
    without ``sources``), Fortran-ordered."""
    rows, cols = topology.rows, topology.cols
    admittances = row_admittances(topology, conductances)
    work = np.zeros((cols, cols + (rows if sources else 0)), order="F")
    work[:, :cols] = admittances[0]
    if sources:
        work[:, cols] = admittances[0].sum(axis=1)
    for i in range(1, rows):
        step = topology.r_col * work[:, :cols]
        step[np.diag_indices(cols)] += 1.0
        # in place: [E | J_so_far] <- (1 + r_col E)^-1 [E | J_so_far]
        used = work[:, : cols + i] if sources else work
        _, solved, info = lapack.dposv(step, used, lower=1, overwrite_a=1, overwrite_b=1)
        _check(info, "bit-line step")
        if solved is not used:  # LAPACK worked on a copy
            used[...] = solved
        e = work[:, :cols]
        e += admittances[i]
        e += e.T  # symmetric in exact arithmetic: keep it so
        e *= 0.5
        if sources:
            work[:, cols + i] = admittances[i].sum(axis=1)
    return work


def _through_last(topology: PassiveTopology, work: np.ndarray) -> np.ndarray:
    """``(1 + r_last E)^-1 [E | J]``."""
    cols = topology.cols
    last = topology.r_last * work[:, :cols]
    last[np.diag_indices(cols)] += 1.0
    _, solved, info = lapack.dposv(last, work, lower=1, overwrite_a=1, overwrite_b=1)
    _check(info, "sense step")
    return solved


@single_threaded
def transfer_and_coupling(
    topology: PassiveTopology, conductances: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(T, K)``: siemens, ``(rows, cols)`` and ``(cols, cols)``, for cells of
    ``conductances`` (S, ``(rows, cols)``, >= 0) on ``topology`` (see the module)."""
    cols = topology.cols
    both = _through_last(topology, _cascade(topology, conductances, sources=True))
    return np.ascontiguousarray(both[:, cols:].T), -np.ascontiguousarray(both[:, :cols])


def transfer_matrix(topology: PassiveTopology, conductances: np.ndarray) -> np.ndarray:
    """Siemens, ``(rows, cols)``: ``T`` with ``currents = inputs @ T`` exactly (sense nodes
    at 0 V)."""
    return transfer_and_coupling(topology, conductances)[0]


@single_threaded
def coupling_matrix(topology: PassiveTopology, conductances: np.ndarray) -> np.ndarray:
    """Siemens, ``(cols, cols)``: ``K``, the currents into the sense nodes per volt on each of
    them with every driver at 0 V (``K[k, j]``: into node ``j`` per volt on node ``k``;
    symmetric, negative diagonal)."""
    return -np.ascontiguousarray(
        _through_last(topology, _cascade(topology, conductances, sources=False))
    )
