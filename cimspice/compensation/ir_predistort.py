"""IR-drop compensation by conductance pre-distortion.

A passive tile with linear cells and an ideal readout is a linear map of its inputs: the
bit-line currents are ``I = V @ T(G)`` with ``T`` the transfer matrix of the whole resistive
network (:meth:`cimspice.engines.nodal.NodalSolver.transfer_matrix`). Wire resistance makes
``T(G) != G``; pre-distortion programs conductances ``G'`` with ``T(G') = G``, so that the
real array computes what the ideal array ``V @ G`` would, for every input at once.

Iteration: a quasi-Newton fixed point whose Jacobian is approximated by its diagonal. To
first order in the wire resistance each ``T_ij`` is ``G'_ij`` times the share of the input
that reaches the cell, so ``dT_ij / dG'_ij ~ T_ij / G'_ij``, and::

    G'_0 = G
    G'_{k+1} = clip(G'_k + (G - T(G'_k)) * G'_k / T(G'_k), g_min, g_max)

(the ratio bounded to [1/2, 2] as a safeguard). Each step costs one sparse factorisation and
``rows`` solves. The error contracts by the part of ``T`` the diagonal misses (the coupling
between cells through the wires: sneak currents) per step.

Stopping rule: stop when the residual ``|T(G') - G| / max G`` is at most ``tol`` on every
cell the next step leaves inside the window. If no cell is held at the window's edge that is
convergence. Otherwise the held cells are the limit, their residual is what the window leaves,
and the free cells need only be solved to ``HELD_RATIO`` of it (the held cells' error would
swamp anything finer; this also spares the slow convergence of a heavily clipped iteration).
After ``max_iter`` steps without that, raise :class:`~cimspice.errors.ConvergenceError`.

Where the window leaves no headroom (targets near ``g_max`` need ``G' > g_max``), the clipped
cells are listed and the error they leave is reported. The remedy is rescaling: program
``alpha * G`` (``alpha < 1``) and multiply the outputs digitally by ``1 / alpha``. Since the
relative IR drop only shrinks when every conductance shrinks, the unclipped solution for
``alpha * G`` needs at most ``alpha`` times the unclipped solution for ``G``; so
``alpha_0 = g_max / max G'_free`` (``G'_free``: the solution with no upper bound) fits the
window (an argument to first order, so it is checked, and ``alpha`` lowered by 10% steps in
the unlikely case it still clips; what clips then is reported); bisection between
``alpha_0`` and 1 then takes the largest ``alpha`` that clips no cell (:func:`rescaled`).

The window's floor can bind too: the wires' sneak paths carry current from every word line
into every bit line, so a cell whose target is near ``g_min`` (or below it, after rescaling)
may need ``G' < g_min``. The remedy (``shift_floor``) is an offset: program the targets
``G + delta`` (every cell raised by the same ``delta``, twice the largest shortfall, repeated
until no cell is short) and subtract ``delta * sum_i V_i`` from every output digitally (one
sum of the inputs per MVM, shared by the columns). The corrected output is
``(I - delta * sum(V)) / alpha`` (:meth:`Predistortion.correct`).

Needs a linear tile (``array.cell = "0T1R"``, ``device.iv = "linear"``, ``readout.kind =
"ideal"``; an ADC after it is fine): anything else has no transfer matrix to invert, and the
scheme refuses it naming the keys. Measured like every scheme
(:mod:`~cimspice.compensation.tile`): with an ADC, what is left after pre-distortion is the
ADC's quantisation (about half an LSB), not the iteration's residual.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cimspice.arguments import check_fields, instance, real
from cimspice.arrays import check_conductances
from cimspice.compensation.scheme import NetworkForm, Outcome, SchemeBase, tile_conflicts
from cimspice.compensation.tile import Bench
from cimspice.errors import ConvergenceError, InputError
from cimspice.simulation import get_engine
from cimspice.spec import CrossbarSpec, as_spec

__all__ = [
    "PredistortParams",
    "Predistortion",
    "check_window",
    "predistort",
    "rescaled",
    "transfer",
]

WINDOW_RTOL = 1e-9
"""Relative slack when checking that conductances lie in ``[g_min, g_max]`` (round-off)."""
RESCALE_STEPS = 5
"""Bisection steps of the rescaling factor between its first-order bound ``alpha_0`` and 1
(it ends within ``(1 - alpha_0) / 2^5`` of the best ``alpha``)."""
BACK_OFF_STEPS = 5
"""Times the first-order bound may be lowered by 10% when it still clips a cell."""
HELD_RATIO = 1e-3
"""With cells held at the window's edge, the free cells' residual need only be this fraction
of the whole residual."""
SHIFT_STEPS = 8
"""How many times the floor offset may grow before the cells still short are reported."""


@dataclass(frozen=True)
class PredistortParams(SchemeBase):
    """The ``ir-predistort`` scheme: parameters of the pre-distortion iteration.

    Attributes:
        tol: target relative residual ``|T(G') - G| / max G`` on the cells not held at the
            window's edge (> 0).
        max_iter: iteration limit (>= 1).
        rescale: when cells clip at ``g_max``, also compute the rescaled solution.
        shift_floor: when cells would need less than ``g_min``, shift every target up by an
            offset that is subtracted digitally (see the module).
    """

    name: ClassVar[str] = "ir-predistort"

    tol: float = 1e-9
    max_iter: int = 200
    rescale: bool = True
    shift_floor: bool = True

    def __post_init__(self) -> None:
        check_fields(self, self.name)
        if not (np.isfinite(self.tol) and self.tol > 0):
            raise InputError(f"ir-predistort: tol must be > 0, got {self.tol!r}")
        if self.max_iter < 1:
            raise InputError(f"ir-predistort: max_iter must be >= 1, got {self.max_iter}")

    def check_tile(self, spec: CrossbarSpec) -> None:
        """Refuse a tile that has no transfer matrix (see the module)."""
        _require_linear(spec)

    def apply(self, bench: Bench) -> Outcome:
        """Pre-distort the targets, program ``G'`` and correct the outputs
        (:meth:`Predistortion.correct`). When cells clip at ``g_max`` and :attr:`rescale` is
        set, the rescaled solution is the one measured; the error the unscaled one leaves
        (nodal, before the ADC) is in the details."""
        spec = bench.spec
        g = check_window(spec, bench.targets, "ir-predistort targets")
        plain = predistort(spec, g, self)
        chosen = plain
        details: dict[str, object] = {
            "iterations": plain.iterations,
            "nodal residual": plain.residual,
            "floor offset (S)": plain.offset,
            "cells at g_max": int(plain.clipped_high.sum()),
            "cells held at g_min": int(plain.clipped_low.sum()),
        }
        if plain.clipped_high.any() or plain.clipped_low.any():
            predicted = bench.applied @ transfer(spec, plain.conductances)
            details["error left by the window (nodal, before the ADC)"] = bench.error(
                plain.correct(predicted, bench.applied)
            )
        if plain.clipped_high.any() and self.rescale:
            chosen = rescaled(spec, g, self, plain=plain)
            details["alpha (digital gain 1/alpha)"] = chosen.alpha
            details["rescaled floor offset (S)"] = chosen.offset
            details["rescaled nodal residual"] = chosen.residual
            details["rescaled cells at g_max"] = int(chosen.clipped_high.sum())
            details["rescaled cells held at g_min"] = int(chosen.clipped_low.sum())
        after = bench.program(chosen.conductances).read(bench.inputs)
        energy = bench.energy(
            after,
            digital_mults=spec.cols if chosen.alpha != 1 else 0,
            digital_adds=(spec.rows - 1 + spec.cols) if chosen.offset else 0,
        )
        return Outcome(chosen.correct(after.outputs, bench.applied), energy, details=details)

    def network_form(self, spec: CrossbarSpec) -> NetworkForm:
        """Every programmed tile's targets pre-distorted
        (:func:`~cimspice.studies.schemes.predistort_transform`)."""
        return NetworkForm(self.name, predistort=True)


@dataclass(frozen=True)
class Predistortion:
    """Conductances to program, and how well they do.

    Attributes:
        conductances: siemens, ``(rows, cols)``: ``G'``, inside ``[g_min, g_max]``.
        alpha: the targets were scaled by ``alpha``; multiply the outputs by ``1 / alpha``.
        offset: siemens, the targets were raised by ``offset``; subtract ``offset * sum(V)``.
        iterations: steps taken.
        residual: ``max |T(G') - G_t| / max G_t`` with ``G_t = alpha G + offset`` (nodal).
        converged: the residual reached ``tol`` (False: stalled at the window).
        clipped_high: ``(rows, cols)`` bool, cells held at ``g_max``.
        clipped_low: ``(rows, cols)`` bool, cells held at ``g_min``.
    """

    conductances: np.ndarray
    alpha: float
    offset: float
    iterations: int
    residual: float
    converged: bool
    clipped_high: np.ndarray
    clipped_low: np.ndarray

    @property
    def gain(self) -> float:
        """The digital output gain, ``1 / alpha``."""
        return 1.0 / self.alpha

    def correct(self, outputs: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Ampere: the tile's ``outputs`` for ``inputs`` (V, the levels applied) turned into
        ``V @ G``: ``(I - offset * sum_i V_i) / alpha``."""
        v = np.atleast_2d(np.asarray(inputs, dtype=float))
        return (np.asarray(outputs) - self.offset * v.sum(axis=1, keepdims=True)) / self.alpha


def transfer(spec: CrossbarSpec | str | os.PathLike[str], conductances: np.ndarray) -> np.ndarray:
    """Siemens, ``(rows, cols)``: the tile's exact transfer matrix ``T(G)`` (``I = V @ T``),
    from the ``nodal`` engine of :mod:`cimspice.simulation`.

    Raises:
        InputError: a tile that is not linear (naming the keys).
    """
    spec = as_spec(spec)
    _require_linear(spec)
    t = get_engine("nodal").program(spec, conductances).transfer
    if t is None:
        raise InputError("ir-predistort: the nodal engine gave no transfer matrix")
    return t


def check_window(
    spec: CrossbarSpec | str | os.PathLike[str], conductances: np.ndarray, what: str
) -> np.ndarray:
    """``conductances`` validated for ``spec`` and inside its window ``[g_min, g_max]``.

    Raises:
        InputError: wrong shape or values, or a conductance outside the window.
    """
    spec = as_spec(spec)
    g = check_conductances(conductances, spec.rows, spec.cols)
    lo, hi = spec.device.g_min, spec.device.g_max
    slack = WINDOW_RTOL * hi
    outside = (g < lo - slack) | (g > hi + slack)
    if outside.any():
        first = tuple(int(k) for k in np.argwhere(outside)[0])
        raise InputError(
            f"{what}: {int(outside.sum())} conductance(s) outside the spec's window "
            f"[{lo:g}, {hi:g}] S, first at index {first}: {g[first]:g} S"
        )
    return g


def _params(params: PredistortParams | None) -> PredistortParams:
    if params is None:
        return PredistortParams()
    return instance(params, PredistortParams, "params", "a PredistortParams or None")


def _require_linear(spec: CrossbarSpec) -> None:
    keys = tile_conflicts(spec, linear=True, ideal_readout=True)
    if keys:
        raise InputError(
            "ir-predistort needs a linear tile's transfer matrix (I = V @ T(G)) to invert, "
            f"and {', '.join(keys)} makes the tile nonlinear (it needs array.cell = '0T1R', "
            "device.iv = 'linear', readout.kind = 'ideal'; column-calibration, partitioning "
            "and input-scaling work on every tile)"
        )


@dataclass(frozen=True)
class _Solution:
    gp: np.ndarray  # the conductances (S), clipped to the window
    wanted: np.ndarray  # the next unclipped proposal (S): where it leaves the window, cells clip
    iterations: int
    residual: float
    converged: bool


def _iterate(
    spec: CrossbarSpec,
    target: np.ndarray,
    upper: float,
    params: PredistortParams,
    start: np.ndarray | None = None,
) -> _Solution:
    lower = spec.device.g_min
    scale = float(np.max(target))
    gp = np.clip(target if start is None else start, lower, upper)
    for iteration in range(params.max_iter + 1):
        t = transfer(spec, gp)
        residual = target - t
        ratio = np.clip(np.divide(gp, t, out=np.ones_like(gp), where=t > 0), 0.5, 2.0)
        wanted = gp + residual * ratio
        held = (wanted < lower) | (wanted > upper)
        free = float(np.max(np.abs(residual), where=~held, initial=0.0)) / scale
        rel = float(np.max(np.abs(residual))) / scale
        limit = max(params.tol, HELD_RATIO * rel) if held.any() else params.tol
        if free <= limit:
            return _Solution(gp, wanted, iteration, rel, not held.any())
        if iteration == params.max_iter:
            break
        gp = np.clip(wanted, lower, upper)
    raise ConvergenceError(
        f"ir-predistort did not converge in {params.max_iter} iterations (residual "
        f"{rel:.3g} of full scale): the wire resistance is too large for the fixed point"
    )


def predistort(
    spec: CrossbarSpec | str | os.PathLike[str],
    target: np.ndarray,
    params: PredistortParams | None = None,
    *,
    alpha: float = 1.0,
    start: np.ndarray | None = None,
) -> Predistortion:
    """Conductances ``G'`` in the window whose real outputs are ``alpha * V @ target``.

    Cells the iteration would move outside the window stay at its edge and are flagged
    (``clipped_high``, ``clipped_low``); the residual then says what they leave.

    Args:
        spec: a linear tile (a loaded spec or the path of a spec file).
        target: siemens, ``(rows, cols)``, inside the spec's window.
        params: iteration parameters.
        alpha: scale of the targets (``0 < alpha <= 1``); see :func:`rescaled`.
        start: siemens, a first guess of ``G'`` (default: the scaled targets).

    Raises:
        InputError: a nonlinear tile, targets outside the window, or an argument of the
            wrong type or value (named).
        ConvergenceError: the iteration neither converged nor stalled.
    """
    spec = as_spec(spec)
    params = _params(params)
    alpha = real(alpha, "alpha", positive=True, maximum=1.0)
    if start is not None:
        start = check_conductances(start, spec.rows, spec.cols)
    _require_linear(spec)
    g = check_window(spec, target, "ir-predistort targets")
    lo, hi = spec.device.g_min, spec.device.g_max
    sol = _iterate(spec, alpha * g, hi, params, start)
    iterations = sol.iterations
    offset = 0.0
    for _ in range(SHIFT_STEPS):
        short = sol.wanted < lo
        if not (params.shift_floor and short.any()):
            break
        step = 2.0 * float(np.max(lo - sol.wanted[short]))
        offset += step
        sol = _iterate(spec, alpha * g + offset, hi, params, sol.gp + step)
        iterations += sol.iterations
    return Predistortion(
        conductances=sol.gp,
        alpha=alpha,
        offset=offset,
        iterations=iterations,
        residual=sol.residual,
        converged=sol.converged,
        clipped_high=sol.wanted > hi,
        clipped_low=sol.wanted < lo,
    )


def rescaled(
    spec: CrossbarSpec | str | os.PathLike[str],
    target: np.ndarray,
    params: PredistortParams | None = None,
    *,
    plain: Predistortion | None = None,
) -> Predistortion:
    """The pre-distortion of ``alpha * target`` with the largest ``alpha`` that clips no cell
    at ``g_max`` (``alpha = 1`` when nothing clips).

    The module's bound ``alpha_0 = g_max / max G'_free`` is known to fit; bisection between it
    and 1 (``RESCALE_STEPS`` halvings) then finds a larger ``alpha`` that still fits.
    ``plain``, the unscaled solution if already computed, saves computing it again.
    """
    spec = as_spec(spec)
    params = _params(params)
    if plain is not None:
        instance(plain, Predistortion, "plain", "a Predistortion or None")
    _require_linear(spec)
    g = check_window(spec, target, "ir-predistort targets")
    plain = plain or predistort(spec, g, params)
    if not plain.clipped_high.any():
        return plain
    free = _iterate(spec, g, np.inf, params, plain.conductances).gp
    alpha = min(1.0, spec.device.g_max / float(np.max(free)))
    best = predistort(spec, g, params, alpha=alpha, start=alpha * free)
    for _ in range(BACK_OFF_STEPS):  # the first-order bound should fit; if not, back off
        if not best.clipped_high.any():
            break
        alpha *= 0.9
        best = predistort(spec, g, params, alpha=alpha, start=best.conductances * 0.9)
    lo, hi = best.alpha, 1.0
    for _ in range(RESCALE_STEPS):
        mid = 0.5 * (lo + hi)
        trial = predistort(spec, g, params, alpha=mid, start=best.conductances * (mid / lo))
        if trial.clipped_high.any():
            hi = mid
        else:
            lo, best = mid, trial
    return best
