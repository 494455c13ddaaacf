"""Nonlinear two-terminal cells on a passive crossbar: Newton on the cell voltages.

The unknowns are the voltages ``U`` across the cells, ``(rows, cols, batch)``. With the wires
as the exact linear operator ``A`` of :class:`~cimspice.engines.wire_drops.WireDrops` (cell
currents to the voltage the wires take away from each cell) and ``f`` the cells' law,
Kirchhoff's laws for the whole network are the fixed point

    ``R(U) = U - v + A f(U) = 0``     (``v[i]``: word line ``i``'s drive, on every cell of it).

Newton's step solves ``(1 + A D) dU = -R`` with ``D = f'(U) >= 0``. Writing the current step as
``dI = D dU = S y`` with ``S = sqrt(D)`` turns it into the symmetric positive definite system

    ``(1 + S A S) y = -S R``,     then ``dU = -R - A S y``,

solved by conjugate gradients for every input vector at once; ``A`` costs four running sums
per application and no matrix is ever assembled, so a step costs ``O(rows * cols)`` per
vector per CG iteration. The eigenvalues of ``1 + S A S`` are at least 1 and only the few
smooth wire modes reach far above it, so CG needs a handful of iterations. Each Newton step
is solved to a relative residual of ``CG_RTOL`` (an inexact Newton: once near the solution
every step gains at least three digits; the CG runs in single precision, the residual and
the update in double), and iteration stops when no cell voltage moves by more than
``NEWTON_TOL_V``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimspice.engines.cell_laws import CellLaw
from cimspice.engines.wire_drops import WireDrops
from cimspice.errors import ConvergenceError

__all__ = ["CG_RTOL", "NEWTON_TOL_V", "LineSolution", "solve_cell_voltages"]

NEWTON_TOL_V = 1e-12
"""Volt: Newton stops when no cell voltage changes by more than this."""
NEWTON_MAX_ITER = 60
CG_RTOL = 1e-3
"""Relative residual each Newton step's conjugate-gradient solve reaches."""
CG_MAX_ITER = 500
STEP_LIMIT_SCALES = 4.0
"""A Newton step moves no cell voltage by more than this many of the law's voltage scale."""
CONTINUATION = (0.125, 0.25, 0.5, 0.75, 1.0)
"""Fractions of the drive a failed solve is retried through, each from the last."""


@dataclass(frozen=True)
class LineSolution:
    """The solved network for a batch of input vectors.

    Attributes:
        voltages: volt, ``(rows, cols, batch)``, across every cell.
        currents: ampere, ``(rows, cols, batch)``, through every cell (word to bit line).
        newton_iterations: Newton steps taken.
        cg_iterations: conjugate-gradient iterations over all steps.

    """

    voltages: np.ndarray
    currents: np.ndarray
    newton_iterations: int
    cg_iterations: int


def solve_cell_voltages(
    law: CellLaw,
    drops: WireDrops,
    inputs: np.ndarray,
    cols: int,
    *,
    tol: float = NEWTON_TOL_V,
    start: np.ndarray | None = None,
) -> LineSolution:
    """Solve the crossbar with cells obeying ``law`` for every input vector.

    Args:
        law: the cells' I-V law (its arrays broadcast against ``(rows, cols, 1)``).
        drops: the wires.
        inputs: volt, ``(batch, rows)``, the potential each word line is driven at.
        cols: the number of bit lines.
        tol: volt, the largest last Newton step accepted.
        start: volt, ``(rows, cols, batch)``, a first guess of the cell voltages (default: the
            inputs themselves, i.e. no IR drop).

    Raises:
        ConvergenceError: Newton or its inner solve did not converge.

    """
    drive = np.ascontiguousarray(inputs.T)[:, None, :]  # (rows, 1, batch)
    shape = (inputs.shape[1], cols, inputs.shape[0])
    u = np.broadcast_to(drive, shape).copy() if start is None else start.copy()
    try:
        return _newton(law, drops, drive, u, tol)
    except ConvergenceError:
        if start is not None:
            raise
    # Strongly nonlinear cells (inputs many voltage scales above the law's): approach the
    # inputs in steps, each solve starting from the last (a continuation in the drive).
    u = np.zeros(shape)
    for fraction in CONTINUATION:
        solution = _newton(law, drops, drive * fraction, u, tol)
        u = solution.voltages
    return solution


def _newton(
    law: CellLaw, drops: WireDrops, drive: np.ndarray, u: np.ndarray, tol: float
) -> LineSolution:
    """Newton from ``u`` (modified in place) for the drive ``(rows, 1, batch)``."""
    # Every node of a passive network lies between the lowest and highest source potential
    # (0 V among them), so no cell voltage can exceed their span.
    span = np.ptp(np.concatenate([drive, np.zeros_like(drive[:1])]), axis=0)  # (1, batch)
    # Steps are limited to a few of the law's voltage scales (SPICE limits junction steps
    # alike): one step cannot jump a steep cell to a current it will never carry.
    limit = STEP_LIMIT_SCALES * getattr(law, "voltage_scale", np.inf)
    diagonal = drops.diagonal(u.shape[0], u.shape[1])[:, :, None]
    cg_total = 0
    step = np.inf
    for iteration in range(1, NEWTON_MAX_ITER + 1):
        current, slope = law.current_and_slope(u)
        residual = u - drive
        residual += drops(current)
        s = np.sqrt(slope)
        # The step is solved in single precision (to CG_RTOL = 1e-3, far above float32's
        # 1e-7); the residual that drives it, and the update, stay in double precision, so
        # Newton converges to double-precision accuracy all the same.
        s32 = s.astype(np.float32)
        jacobi = np.reciprocal(1.0 + slope * diagonal).astype(np.float32)
        y, n_cg = _cg(drops, s32, -(s32 * residual.astype(np.float32)), jacobi)
        cg_total += n_cg
        du = drops(s * y)
        du += residual
        np.negative(du, out=du)
        if np.isfinite(limit):
            np.clip(du, -limit, limit, out=du)
        u += du
        np.clip(u, -span, span, out=u)
        step = float(np.max(np.abs(du), initial=0.0))
        if step <= tol:
            return LineSolution(u, law.current(u), iteration, cg_total)
    raise ConvergenceError(
        f"the crossbar's Newton iteration did not converge in {NEWTON_MAX_ITER} steps (last "
        f"step {step:.3g} V)"
    )


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-vector inner products of two ``(rows, cols, batch)`` arrays."""
    return np.einsum("ijb,ijb->b", a, b)


def _cg(
    drops: WireDrops, s: np.ndarray, rhs: np.ndarray, jacobi: np.ndarray
) -> tuple[np.ndarray, int]:
    """Solve ``(1 + S A S) y = rhs`` for every vector of the batch (lockstep CG, with the
    inverse of the operator's diagonal, ``jacobi``, as preconditioner)."""
    y = np.zeros_like(rhs)
    r = rhs.copy()
    norm0 = np.sqrt(_dot(r, r))
    if not norm0.any():
        return y, 0
    target = (CG_RTOL * norm0) ** 2
    z = r * jacobi
    rz = _dot(r, z)
    p = z.copy()
    for k in range(1, CG_MAX_ITER + 1):
        ap = drops(s * p)
        ap *= s
        ap += p
        pap = _dot(p, ap)
        alpha = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
        y += alpha * p
        r -= alpha * ap
        if np.all(_dot(r, r) <= target):
            return y, k
        np.multiply(r, jacobi, out=z)
        rz_new = _dot(r, z)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        p *= beta
        p += z
        rz = rz_new
    raise ConvergenceError(f"the Newton step's CG solve did not converge in {CG_MAX_ITER} steps")
