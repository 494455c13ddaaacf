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

from collections.abc import Iterator

import numpy as np
from scipy.linalg import lapack

from cimspice.engines.conditioning import check_conditioning, wires_text
from cimspice.errors import IllConditionedError
from cimspice.threads import single_threaded
from cimspice.topology import PassiveTopology

__all__ = ["coupling_matrix", "row_admittances", "transfer_and_coupling", "transfer_matrix"]


def _check(info: int, what: str, topology: PassiveTopology, g: np.ndarray) -> None:
    """Refuse a failed factorisation: every matrix factored is 1 + (positive semi-definite)
    in exact arithmetic, so only values beyond double precision get here (inf or NaN, or
    rounding that left no correct digit)."""
    if info != 0:
        _refuse(what, f"failed, LAPACK info {info}", topology, g)


def _refuse(what: str, how: str, topology: PassiveTopology, g: np.ndarray) -> None:
    raise IllConditionedError(
        f"the crossbar network cannot be solved in double precision, its results cannot be "
        f"trusted (the admittance cascade's {what}: {how}): cells up to {float(np.max(g)):.3g} "
        f"S beside {wires_text(topology)} differ by more than double precision spans"
    )


def row_admittances(topology: PassiveTopology, conductances: np.ndarray) -> np.ndarray:
    """Siemens, ``(rows, cols, cols)``: each row's cells in series with its word line, seen
    from its bit-line nodes with the driver at 0 V (``Y_i`` of the module docstring); see
    :func:`_admittances`."""
    return np.stack(list(_admittances(topology, np.asarray(conductances, dtype=float))))


def _admittances(topology: PassiveTopology, g: np.ndarray) -> Iterator[np.ndarray]:
    """Each row's ``Y_i`` in turn (``(cols, cols)``, siemens).

    With resistive word lines ``Y = G - G A^-1 G``, ``A`` the word line's tridiagonal
    conductance matrix with the cells added on its diagonal. With ``A = b B``
    (``b = 1 / r_row``; ``B`` has ``-1`` beside its diagonal ``a / b``), the forward and
    backward recurrences ``t_j = a_j t_{j-1} - t_{j-2}`` and ``p_j = a_j p_{j+1} - p_{j+2}``
    give ``(B^-1)_jk = t_{j-1} p_{k+1} / t_{n-1}`` for ``j <= k`` (Usmani 1994), for every row
    at once; both grow, the direction they are stable in, and ``G A^-1 G`` is at most a few
    percent of ``G``, so the difference loses nothing (2.9e-15 of the largest entry from the
    dense form at 128x128). Without resistive word lines (0 ohm, or the first cell on the
    driver), or should the recurrences leave the floating-point range, the dense
    ``D (1 + D R_w D)^-1 D``, ``D = diag(sqrt(G))``, a Cholesky factorisation per row.
    """
    rows, cols = g.shape
    k = np.arange(cols)
    chains = _chain_factors(topology, g) if topology.r_row > 0 and topology.r_first > 0 else None
    if chains is not None:
        before, after = chains
        for i in range(rows):
            outer = np.multiply.outer(before[i], after[i])  # -G A^-1 G, j <= k
            y = np.triu(outer)
            y += np.triu(outer, 1).T
            y[k, k] += g[i]
            yield y
        return
    r_w = topology.r_first + topology.r_row * np.minimum(k[:, None], k[None, :])
    for d in np.sqrt(g):
        system = d[:, None] * r_w * d[None, :]
        system[k, k] += 1.0
        factor, info = lapack.dpotrf(system, lower=1, overwrite_a=1)
        _check(info, "row factorisation", topology, g)
        inverse, info = lapack.dpotri(factor, lower=1, overwrite_c=1)
        _check(info, "row inversion", topology, g)
        y = np.tril(inverse)  # dpotri fills the lower triangle
        y += np.tril(inverse, -1).T
        y *= d[:, None]
        y *= d[None, :]
        yield y


def _chain_factors(
    topology: PassiveTopology, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(u, v)``, each ``(rows, cols)``: ``-(G A^-1 G)_jk = u_j v_k`` for ``j <= k`` (see
    :func:`_admittances`), or ``None`` if the recurrences left the floating-point range."""
    rows, cols = g.shape
    b = 1.0 / topology.r_row
    a = (g + 2.0 * b) / b  # the diagonal over b: interior nodes have two segments
    a[:, 0] += (1.0 / topology.r_first - b) / b  # the first: the driver's link, one segment
    a[:, -1] -= 1.0  # the last: one segment
    if cols == 1:
        a[:, 0] = (g[:, 0] + 1.0 / topology.r_first) / b
    forward = np.empty((rows, cols + 1))  # t_{-1} .. t_{n-1}
    backward = np.empty((rows, cols + 1))  # p_0 .. p_n
    forward[:, 0] = 1.0
    forward[:, 1] = a[:, 0]
    with np.errstate(over="ignore", invalid="ignore"):  # out of range: checked below
        for j in range(1, cols):
            forward[:, j + 1] = a[:, j] * forward[:, j] - forward[:, j - 1]
        backward[:, cols] = 1.0
        backward[:, cols - 1] = a[:, cols - 1]
        for j in range(cols - 2, -1, -1):
            backward[:, j] = a[:, j] * backward[:, j + 1] - backward[:, j + 2]
    if not (np.all(np.isfinite(forward)) and np.all(np.isfinite(backward))):
        return None
    u = -g * forward[:, :cols]  # -G_j t_{j-1}
    v = g * backward[:, 1:] / (b * forward[:, cols])[:, None]  # G_k p_{k+1} / (b t_{n-1})
    return u, v


def _cascade(topology: PassiveTopology, conductances: np.ndarray, *, sources: bool) -> np.ndarray:
    """``[E | J]`` at the last row's bit-line nodes, ``(cols, cols + rows)`` (``J`` left out
    without ``sources``), Fortran-ordered."""
    rows, cols = topology.rows, topology.cols
    admittances = _admittances(topology, np.asarray(conductances, dtype=float))
    work = np.zeros((cols, cols + (rows if sources else 0)), order="F")
    first = next(admittances)
    work[:, :cols] = first
    if sources:
        work[:, cols] = first.sum(axis=1)
    for i, row in enumerate(admittances, start=1):
        step = topology.r_col * work[:, :cols]
        step[np.diag_indices(cols)] += 1.0
        # in place: [E | J_so_far] <- (1 + r_col E)^-1 [E | J_so_far]
        used = work[:, : cols + i] if sources else work
        _, solved, info = lapack.dposv(step, used, lower=1, overwrite_a=1, overwrite_b=1)
        _check(info, "bit-line step", topology, conductances)
        if solved is not used:  # LAPACK worked on a copy
            used[...] = solved
        e = work[:, :cols]
        e += row
        e += e.T  # symmetric in exact arithmetic: keep it so
        e *= 0.5
        if sources:
            work[:, cols + i] = row.sum(axis=1)
    return work


def _through_last(topology: PassiveTopology, work: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``(1 + r_last E)^-1 [E | J]`` (``g``: the cells, for a refusal's message)."""
    cols = topology.cols
    last = topology.r_last * work[:, :cols]
    last[np.diag_indices(cols)] += 1.0
    _, solved, info = lapack.dposv(last, work, lower=1, overwrite_a=1, overwrite_b=1)
    _check(info, "sense step", topology, g)
    return solved


@single_threaded
def transfer_and_coupling(
    topology: PassiveTopology, conductances: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(T, K)``: siemens, ``(rows, cols)`` and ``(cols, cols)``, for cells of
    ``conductances`` (S, ``(rows, cols)``, >= 0) on ``topology`` (see the module).

    Raises:
        IllConditionedError: the network is beyond double precision (the nodal solve's
            rounding estimate, :func:`~cimspice.engines.nodal.check_conditioning`, past
            its limit, or a factorisation failed).
    """
    cols = topology.cols
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN are refused below
        work = _cascade(topology, conductances, sources=True)
        both = _through_last(topology, work, conductances)
    transfer = np.ascontiguousarray(both[:, cols:].T)
    # the same refusal as the nodal solve's, from the currents at 1 V on every word line
    check_conditioning(
        np.asarray(conductances),
        transfer.sum(axis=0),
        wires_text(topology),
        "the admittance cascade",
    )
    return transfer, -np.ascontiguousarray(both[:, :cols])


def transfer_matrix(topology: PassiveTopology, conductances: np.ndarray) -> np.ndarray:
    """Siemens, ``(rows, cols)``: ``T`` with ``currents = inputs @ T`` exactly (sense nodes
    at 0 V)."""
    return transfer_and_coupling(topology, conductances)[0]


@single_threaded
def coupling_matrix(topology: PassiveTopology, conductances: np.ndarray) -> np.ndarray:
    """Siemens, ``(cols, cols)``: ``K``, the currents into the sense nodes per volt on each of
    them with every driver at 0 V (``K[k, j]``: into node ``j`` per volt on node ``k``;
    symmetric, negative diagonal).

    Raises:
        IllConditionedError: the network is beyond double precision (a factorisation
            failed, or values left the floating-point range).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN are refused below
        coupling = -np.ascontiguousarray(
            _through_last(topology, _cascade(topology, conductances, sources=False), conductances)
        )
    if not np.isfinite(coupling.sum()):
        _refuse("result", "values out of range", topology, conductances)
    return coupling
