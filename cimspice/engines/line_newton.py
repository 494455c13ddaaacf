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
``NEWTON_TOL_V`` (the exact solve of the nodal engine) or, for callers that ask, once the error
predicted to be left is below their tolerance (:func:`predicted_error`; the surrogate's
accurate mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from cimspice.engines.cell_laws import CellLaw
from cimspice.engines.wire_drops import WireDrops
from cimspice.errors import ConvergenceError

__all__ = [
    "CG_RTOL",
    "NEWTON_TOL_V",
    "LineSolution",
    "Workspace",
    "predicted_error",
    "solve_cell_voltages",
]

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


class Workspace:
    """Work arrays for solving batches on one crossbar, reused from solve to solve.

    A solve applies the wire operator a few dozen times to arrays of ``rows x cols x batch``
    values. Fresh arrays of that size cost page faults on first touch, which on a virtual
    machine cost more than the arithmetic done on them, so every intermediate lives in one
    of these, allocated once and reshaped to each batch (a smaller batch reuses the front of
    the same memory). A workspace holds about a dozen such arrays and is not for sharing
    between threads.
    """

    def __init__(self) -> None:
        self._flat: dict[str, np.ndarray] = {}

    def array(self, name: str, shape: tuple[int, ...], dtype: DTypeLike = np.float64) -> np.ndarray:
        """The work array ``name`` as a C-contiguous ``shape`` (contents undefined)."""
        size = int(np.prod(shape))
        flat = self._flat.get(name)
        if flat is None or flat.size < size or flat.dtype != dtype:
            flat = np.empty(size, dtype)
            self._flat[name] = flat
        return flat[:size].reshape(shape)


@dataclass(frozen=True)
class LineSolution:
    """The solved network for a batch of input vectors.

    Attributes:
        voltages: volt, ``(rows, cols, batch)``, across every cell.
        currents: ampere, ``(rows, cols, batch)``, through every cell (word to bit line).
        newton_iterations: Newton steps taken.
        cg_iterations: conjugate-gradient iterations over all steps.
        slopes: siemens, ``(rows, cols, batch)``: every cell's ``dI/dU`` at the solution.

    """

    voltages: np.ndarray
    currents: np.ndarray
    newton_iterations: int
    cg_iterations: int
    slopes: np.ndarray | None = None


def solve_cell_voltages(
    law: CellLaw,
    drops: WireDrops,
    inputs: np.ndarray,
    cols: int,
    *,
    tol: float = NEWTON_TOL_V,
    start: np.ndarray | None = None,
    workspace: Workspace | None = None,
    predict: bool = False,
    sense: np.ndarray | None = None,
) -> LineSolution:
    """Solve the crossbar with cells obeying ``law`` for every input vector.

    Args:
        law: the cells' I-V law (its arrays broadcast against ``(rows, cols, 1)``).
        drops: the wires.
        inputs: volt, ``(batch, rows)``, the potential each word line is driven at.
        cols: the number of bit lines.
        tol: volt, the largest last Newton step accepted (with ``predict``, the largest
            predicted error).
        start: volt, ``(rows, cols, batch)``, a first guess of the cell voltages (default: the
            inputs themselves, i.e. no IR drop).
        workspace: work arrays to reuse (a caller solving batch after batch passes the same
            one); a new one if ``None``.
        predict: stop once the error left after a step, predicted from the last two steps,
            is below ``tol`` (see :func:`predicted_error`), instead of once a step itself is:
            usually one Newton step fewer, for an error well below ``tol`` rather than far
            below it.
        sense: volt, ``(batch, cols)``: the potential each bit line's sense node is held at
            (a TIA's inverting input; default 0 V, an ideal virtual ground).

    Raises:
        ConvergenceError: Newton or its inner solve did not converge.

    """
    drive = np.ascontiguousarray(inputs.T)[:, None, :]  # (rows, 1, batch)
    if sense is not None:
        # a bit line held at x_j takes x_j off every cell voltage on it
        drive = drive - np.ascontiguousarray(sense.T)[None, :, :]  # (rows, cols, batch)
    shape = (inputs.shape[1], cols, inputs.shape[0])
    u = np.broadcast_to(drive, shape).copy() if start is None else start.copy()
    work = Workspace() if workspace is None else workspace
    try:
        return _newton(law, drops, drive, u, tol=tol, work=work, predict=predict)
    except ConvergenceError:
        if start is not None:
            raise
    # Strongly nonlinear cells (inputs many voltage scales above the law's): approach the
    # inputs in steps, each solve starting from the last (a continuation in the drive).
    u = np.zeros(shape)
    for fraction in CONTINUATION:
        solution = _newton(law, drops, drive * fraction, u, tol=tol, work=work, predict=predict)
        u = solution.voltages
    return solution


def predicted_error(step: float, previous: float) -> float:
    """Volt: the error left after a Newton step of ``step`` volts that followed one of
    ``previous`` volts (both the largest change of any cell voltage).

    Newton converges quadratically, ``e' ~ C e^2``: the next step would be about
    ``step (step / previous)^2``. Each step is solved only to ``CG_RTOL``, so the step itself
    may be off by about that fraction of it; the prediction is the larger of the two. On
    64x64 and 128x128 sinh tiles (v0 0.15-0.25 V) the step that followed was 0.06-0.5 of
    this prediction.
    """
    return step * max((step / previous) ** 2, CG_RTOL)


def _newton(
    law: CellLaw,
    drops: WireDrops,
    drive: np.ndarray,
    u: np.ndarray,
    *,
    tol: float,
    work: Workspace,
    predict: bool,
) -> LineSolution:
    """Newton from ``u`` (modified in place) for the drive ``(rows, 1 or cols, batch)``
    (word-line potential less the sense potential of the cell's bit line)."""
    # Every node of a passive network lies between the lowest and highest source potential
    # (0 V among them), so no cell voltage can exceed their span, which is at most the
    # largest drive less the smallest (or 0 V).
    flat = drive.reshape(-1, drive.shape[-1])
    span = (np.maximum(flat.max(axis=0), 0.0) - np.minimum(flat.min(axis=0), 0.0))[None, :]
    smallest_span = float(span.min(initial=np.inf))  # below it no vector needs a clip
    # Steps are limited to a few of the law's voltage scales (SPICE limits junction steps
    # alike): one step cannot jump a steep cell to a current it will never carry.
    voltage_scale = getattr(law, "voltage_scale", np.inf)
    limit = STEP_LIMIT_SCALES * voltage_scale
    diagonal = drops.diagonal(u.shape[0], u.shape[1])[:, :, None]
    shape = u.shape
    current, slope, residual, du, scratch = (
        work.array(name, shape) for name in ("current", "slope", "residual", "du", "scratch")
    )
    s32, jacobi, rhs = (work.array(name, shape, np.float32) for name in ("s", "jacobi", "rhs"))
    cg_total = 0
    step = previous = np.inf
    for iteration in range(1, NEWTON_MAX_ITER + 1):
        law.current_and_slope(u, out=(current, slope))
        np.subtract(u, drive, out=residual)
        residual += drops.into(current, du, scratch)
        # The step is solved in single precision (to CG_RTOL = 1e-3, far above float32's
        # 1e-7); the residual that drives it, and the update, stay in double precision, so
        # Newton converges to double-precision accuracy all the same.
        np.multiply(slope, diagonal, out=scratch)
        scratch += 1.0
        np.divide(1.0, scratch, out=jacobi, casting="same_kind")
        s = np.sqrt(slope, out=slope)
        np.copyto(s32, s, casting="same_kind")
        np.multiply(residual, s32, out=rhs, casting="same_kind")
        np.negative(rhs, out=rhs)
        wires_y, n_cg = _cg(drops, s32, rhs, jacobi, work)
        cg_total += n_cg
        # dU = -R - A S y, with A S y carried along by the CG (no further wire pass).
        np.add(residual, wires_y, out=du)
        np.negative(du, out=du)
        previous, step = step, max(float(du.max(initial=0.0)), -float(du.min(initial=0.0)))
        if step > limit:
            np.clip(du, -limit, limit, out=du)
        u += du
        # Only a large step can take a cell past the span (the check costs two passes).
        if step > min(voltage_scale, smallest_span):
            reach = max(float(u.max(initial=0.0)), -float(u.min(initial=0.0)))
            if reach > smallest_span:
                np.clip(u, -span, span, out=u)
        converged = step <= tol or (
            predict and iteration > 1 and step <= limit and predicted_error(step, previous) <= tol
        )
        if converged:
            # the currents and slopes at the solution
            currents, slopes = np.empty_like(u), np.empty_like(u)
            law.current_and_slope(u, out=(currents, slopes))
            return LineSolution(u, currents, iteration, cg_total, slopes)
    raise ConvergenceError(
        f"the crossbar's Newton iteration did not converge in {NEWTON_MAX_ITER} steps (last "
        f"step {step:.3g} V)"
    )


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-vector inner products of two ``(rows, cols, batch)`` arrays."""
    return np.einsum("ijb,ijb->b", a, b)


def _cg(
    drops: WireDrops, s: np.ndarray, rhs: np.ndarray, jacobi: np.ndarray, work: Workspace
) -> tuple[np.ndarray, int]:
    """Solve ``(1 + S A S) y = rhs`` for every vector of the batch (lockstep CG, with the
    inverse of the operator's diagonal, ``jacobi``, as preconditioner).

    Returns:
        ``A S y``, all the Newton step needs of ``y`` (accumulated from the iterations' own
        wire passes, so ``y`` itself is never formed), one of ``work``'s arrays; and the
        number of iterations.
    """
    wires_y, r, z, p, ap, tmp = (
        work.array(name, rhs.shape, rhs.dtype)
        for name in ("cg_wires_y", "cg_r", "cg_z", "cg_p", "cg_ap", "cg_tmp")
    )
    wires_y.fill(0.0)
    np.copyto(r, rhs)
    norm0 = np.sqrt(_dot(r, r))
    if not norm0.any():
        return wires_y, 0
    target = (CG_RTOL * norm0) ** 2
    np.multiply(r, jacobi, out=z)
    rz = _dot(r, z)
    np.copyto(p, z)
    for k in range(1, CG_MAX_ITER + 1):
        sp = np.multiply(s, p, out=tmp)
        wires_p = drops.into(sp, ap, z)  # A S p (z is free until the residual update)
        # (1 + S A S) p = p + S (A S p): its product with p is p.p + (S p).(A S p)
        pap = _dot(p, p) + _dot(sp, wires_p)
        alpha = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
        wires_y += np.multiply(wires_p, alpha, out=tmp)
        wires_p *= s
        wires_p += p  # now (1 + S A S) p
        r -= np.multiply(wires_p, alpha, out=tmp)
        if np.all(_dot(r, r) <= target):
            return wires_y, k
        np.multiply(r, jacobi, out=z)
        rz_new = _dot(r, z)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        p *= beta
        p += z
        rz = rz_new
    raise ConvergenceError(f"the Newton step's CG solve did not converge in {CG_MAX_ITER} steps")
