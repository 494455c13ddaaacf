"""The TIA readout at DC, for the surrogate: sense potentials, column currents, outputs.

A TIA holds its bit line's sense node ``x_j`` near 0 V rather than at it. The behavioural
op-amp of ``netlists/readout_vground.cir.j2`` gives, at DC,

    ``V_out = v_swing tanh(gain (v_offset - x) / v_swing)``,

and the feedback resistor closes the loop: the column current ``I_j`` arriving at the
inverting input leaves through ``r_f``, so ``x_j = V_out_j + r_f I_j``. The array is linear
in its sources, so the column currents are ``I = v @ T + x @ K``: ``T`` the transfer matrix
with every sense node at 0 V, ``K`` ``(cols, cols)`` the currents into the sense nodes per
volt on each of them (``K_jj < 0``: raising a sense node pushes current back into the array;
the off-diagonal terms are the small coupling through the word lines). For nonlinear cells the
array is solved again at each iterate of the sense potentials instead.
:meth:`TiaReadout.settle` solves the ``cols`` equations for every vector.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

from cimspice.errors import ConvergenceError, RangeWarning, SurrogateError
from cimspice.spec import CrossbarSpec, OpAmpKind, ReadoutKind, spec_from_dict

__all__ = [
    "SETTLE_TOL_V",
    "TRANSFER_POINTS",
    "CurrentsAt",
    "MeasuredTia",
    "Readout",
    "TiaReadout",
    "bracketed_root",
    "check_readout",
    "measure_tia",
    "readout_of",
    "sense_bounds",
]

CurrentsAt = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""Sense potentials to ``(column currents, own conductance)``: see :meth:`TiaReadout.settle`."""

SETTLE_TOL_V = 1e-13
"""Volt: the loops of a linear array are solved until each holds to this (scaled, see
:meth:`TiaReadout.settle`)."""
SETTLE_MAX_ITER = 100
ROOT_RTOL = 16 * float(np.finfo(float).eps)
"""Each column's local loop is solved until no iterate moves by more than this fraction of
the largest sense potential (a few units in the last place)."""
ROOT_MAX_ITER = 200
TRANSFER_POINTS = 4001
"""Input currents at which a transistor-level TIA's static transfer is measured."""


@dataclass(frozen=True)
class TiaReadout:
    """A behavioural TIA on every bit line (``[readout] kind = "tia"``), at DC.

    Attributes:
        r_f: ohm, the feedback resistor.
        gain: V/V, the op-amp's open-loop DC gain.
        v_offset: volt, its input offset.
        v_swing: volt, where its output saturates.
    """

    r_f: float
    gain: float
    v_offset: float
    v_swing: float

    @classmethod
    def from_spec(cls, spec: CrossbarSpec) -> TiaReadout:
        """The spec's behavioural TIA (``[readout] kind = "tia"``, ``opamp = "behavioural"``)."""
        readout = spec.readout
        return cls(readout.r_f, readout.gain, readout.v_offset, readout.v_swing)

    @property
    def swing(self) -> float:
        """Volt: the largest output magnitude."""
        return self.v_swing

    def output(self, sense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(V_out, dV_out/dx)`` for sense potentials ``sense`` (volt)."""
        t = np.tanh(self.gain * (self.v_offset - sense) / self.v_swing)
        return self.v_swing * t, -self.gain * (1.0 - t * t)

    def settle(
        self,
        currents_at: CurrentsAt,
        shape: tuple[int, int],
        bounds: tuple[np.ndarray, np.ndarray],
        *,
        tol: float = SETTLE_TOL_V,
        start: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Solve the loop of every TIA for a batch.

        Args:
            currents_at: the array: sense potentials (V, ``(batch, cols)``) to the column
                currents (A) and each column's conductance into its own sense node (S,
                ``-dI_j / dx_j``, broadcastable).
            shape: ``(batch, cols)``.
            bounds: volt, where the sense potentials can be (see :func:`sense_bounds`), each
                broadcastable to ``shape``.
            tol: volt, how closely the loops must hold: ``|F_j| <= tol (1 + r_f own_j)`` (an
                array solved to some voltage accuracy leaves about that much in ``F``).
            start: volt, ``(batch, cols)``, first sense potentials (default: the ideal loop
                of each column alone, from the currents at 0 V).

        Returns:
            ``(currents, v_out, sense)``, each ``(batch, cols)``.

        Raises:
            ConvergenceError: the loop equations did not settle.

        Each iteration solves the array at the current sense potentials, then every column's
        loop exactly for the array's tangent there, ``I_j ~ c_j - own_j x_j`` (the other
        columns held): ``(1 + r_f own_j) x_j - V_out(x_j) - r_f c_j = 0`` increases in
        ``x_j`` and ``|V_out| <= v_swing`` brackets its root, so a bracketed Newton iteration
        (:func:`bracketed_root`) finds it. What is left is the array's curvature and the
        weak coupling between columns, which the next iterations remove.
        """
        if start is None:
            base, own = currents_at(np.zeros(shape))
            # the ideal loop (no saturation, no coupling) as the start
            start = (self.gain * self.v_offset + self.r_f * base) / (
                self.gain + 1.0 + self.r_f * own
            )
        lowest, highest = (np.broadcast_to(b, shape) for b in bounds)
        sense = np.clip(start, lowest, highest)
        scale = self.gain / self.v_swing
        worst = np.inf
        for _ in range(SETTLE_MAX_ITER):
            currents, own = currents_at(sense)
            t = np.tanh((self.v_offset - sense) * scale)
            residual = sense - self.v_swing * t
            residual -= self.r_f * currents
            damping = 1.0 + self.r_f * own
            # F in volts is about the error of V_out (where the op-amp amplifies) or of x
            # (where it saturates); an array whose currents are off by dI leaves r_f dI in it,
            # i.e. its voltage error times r_f own: hence the scaled test.
            worst = float(np.max(np.abs(residual) / damping, initial=0.0))
            if worst <= tol:
                return currents, self.v_swing * t, sense
            pushed = self.r_f * (currents + own * sense)  # r_f c_j

            def model(
                x: np.ndarray, damping: np.ndarray = damping, pushed: np.ndarray = pushed
            ) -> tuple[np.ndarray, np.ndarray]:
                t = np.tanh((self.v_offset - x) * scale)
                return damping * x - self.v_swing * t - pushed, damping + self.gain * (1 - t * t)

            lo = np.maximum((pushed - self.v_swing) / damping, lowest)
            hi = np.minimum((pushed + self.v_swing) / damping, highest)
            sense = bracketed_root(model, sense, lo, hi)
        raise ConvergenceError(
            f"the TIA loops did not settle in {SETTLE_MAX_ITER} iterations (largest scaled loop "
            f"residual {worst:.3g} V)"
        )

    def settle_linear(
        self, base: np.ndarray, coupling: np.ndarray, bounds: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`settle` for a linear array: ``I = base + x @ coupling`` (see the module
        docstring), to :data:`SETTLE_TOL_V`.

        It starts from the loops' exact solution were the op-amps linear (``V_out = gain
        (v_offset - x)``), coupling included: ``x ((1 + gain) 1 - r_f K) = gain v_offset +
        r_f base``, one matmul; only saturating columns then need more than a step or two.
        """
        own = -np.diag(coupling)
        cols = coupling.shape[0]
        linear = np.linalg.inv((1.0 + self.gain) * np.eye(cols) - self.r_f * coupling)
        start = (self.gain * self.v_offset + self.r_f * base) @ linear
        return self.settle(
            lambda sense: (base + sense @ coupling, own), base.shape, bounds, start=start
        )


@dataclass(frozen=True)
class MeasuredTia:
    """A TIA known by its static transfer, measured in ngspice (transistor-level op-amps).

    Every bit line's TIA is the same circuit, so one table serves them all: for a current
    ``I`` arriving at the inverting input, the potential ``x`` it settles at and the output
    ``V_out`` (gain, offset, output resistance and swing are whatever the circuit gives).
    Between the measured currents both are cubic splines (the circuit's curves are smooth;
    straight lines between the points missed a 12x8 tile whose outputs all sat at the rails
    by 6e-5 of full scale, the splines by 3e-7); beyond the table, its ends hold.

    Attributes:
        currents: ampere, increasing, ``(n,)``.
        sense: volt, ``(n,)``: the inverting input's potential.
        v_out: volt, ``(n,)``.
    """

    currents: np.ndarray
    sense: np.ndarray
    v_out: np.ndarray

    def settle(
        self,
        currents_at: CurrentsAt,
        shape: tuple[int, int],
        bounds: tuple[np.ndarray, np.ndarray],
        *,
        tol: float = SETTLE_TOL_V,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Solve every column's loop ``x = h(I(x))`` (see :meth:`TiaReadout.settle`).

        Each iteration solves the array at the current sense potentials, then every column's
        loop exactly for the array's tangent there, ``x_j = h(c_j - own_j x_j)``, which
        increases in ``x_j`` with slope ``1 + h' own >= 1`` (``h``, the measured sense
        potential, rises with the current) between the table's extreme potentials; the test
        is ``|F| <= tol``, in volt.

        Warns:
            RangeWarning: currents beyond the measured table (there its ends are held).
        """
        lo, hi = float(self.currents[0]), float(self.currents[-1])
        sense_of, v_out_of = self.splines
        slope_of = sense_of.derivative()
        currents, own = currents_at(np.zeros(shape))
        sense = sense_of(np.clip(currents, lo, hi))
        floor = np.full(shape, float(np.min(self.sense)))
        ceiling = np.full(shape, float(np.max(self.sense)))
        worst = np.inf
        for _ in range(SETTLE_MAX_ITER):
            currents, own = currents_at(sense)
            held = np.clip(currents, lo, hi)
            residual = sense - sense_of(held)
            worst = float(np.max(np.abs(residual), initial=0.0))
            if worst <= tol:
                if np.any(held != currents):
                    warnings.warn(
                        f"column currents reach [{float(currents.min()):.4g}, "
                        f"{float(currents.max()):.4g}] A, beyond the TIA's measured transfer "
                        f"[{lo:.4g}, {hi:.4g}] A: its ends were held there",
                        RangeWarning,
                        stacklevel=4,
                    )
                return currents, v_out_of(held), sense
            pushed = currents + own * sense  # c_j

            def model(
                x: np.ndarray, own: np.ndarray = own, pushed: np.ndarray = pushed
            ) -> tuple[np.ndarray, np.ndarray]:
                current = np.clip(pushed - own * x, lo, hi)
                return x - sense_of(current), 1.0 + np.maximum(slope_of(current), 0.0) * own

            sense = bracketed_root(model, sense, floor, ceiling)
        raise ConvergenceError(
            f"the TIA loops did not settle in {SETTLE_MAX_ITER} iterations (largest loop "
            f"residual {worst:.3g} V)"
        )

    @property
    def swing(self) -> float:
        """Volt: the largest output magnitude measured."""
        return float(np.max(np.abs(self.v_out)))

    @functools.cached_property
    def splines(self) -> tuple[CubicSpline, CubicSpline]:
        """``x(I)`` and ``V_out(I)``."""
        return CubicSpline(self.currents, self.sense), CubicSpline(self.currents, self.v_out)

    def settle_linear(
        self, base: np.ndarray, coupling: np.ndarray, bounds: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`settle` for a linear array (see :meth:`TiaReadout.settle_linear`)."""
        own = -np.diag(coupling)
        return self.settle(lambda sense: (base + sense @ coupling, own), base.shape, bounds)

    def to_json(self) -> dict[str, list[float]]:
        """The table as JSON-ready lists."""
        return {
            "currents": self.currents.tolist(),
            "sense": self.sense.tolist(),
            "v_out": self.v_out.tolist(),
        }

    @classmethod
    def from_json(cls, data: object) -> MeasuredTia:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: malformed or inconsistent tables.
        """
        if not isinstance(data, dict) or set(data) != {"currents", "sense", "v_out"}:
            raise ValueError("readout_transfer must hold exactly currents, sense and v_out")
        tables = [np.asarray(data[key], dtype=float) for key in ("currents", "sense", "v_out")]
        if any(t.ndim != 1 or len(t) != len(tables[0]) or len(t) < 2 for t in tables):
            raise ValueError("readout_transfer tables must be 1-D lists of one length (>= 2)")
        if not all(np.all(np.isfinite(t)) for t in tables) or np.any(np.diff(tables[0]) <= 0):
            raise ValueError("readout_transfer currents must increase and every value be finite")
        return cls(*tables)


def bracketed_root(
    model: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    start: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    """The root of an increasing ``model`` (values and slopes, elementwise) in ``[lo, hi]``
    for every element: Newton steps, each iterate narrowing the bracket by its sign, and the
    bracket's midpoint wherever a step would leave the bracket or would not be under half the
    step before last (Numerical Recipes' ``rtsafe``: on a model as steep as an overloaded
    op-amp's, Newton steps can keep landing just inside the bracket's far end).

    Raises:
        ConvergenceError: not converged to rounding in :data:`ROOT_MAX_ITER` iterations.
    """
    lo, hi = lo.copy(), hi.copy()
    x = np.clip(start, lo, hi)
    last = before = hi - lo  # the last two moves of each element
    moved = np.inf
    for _ in range(ROOT_MAX_ITER):
        value, slope = model(x)
        above = value > 0  # the root lies below x
        np.copyto(hi, x, where=above)
        np.copyto(lo, x, where=~above)
        step = value / slope
        newton = x - step
        # Strictly inside: a step onto an end of the bracket (where the model is straight,
        # in the op-amp's tails) would go back and forth between them. A step too small to
        # matter is taken all the same: the iterate is then the root, and the end it set
        # must not send it to the bracket's midpoint.
        settled = np.abs(step) <= ROOT_RTOL * np.abs(x)
        fast = np.abs(step) <= 0.5 * before
        inside = ((newton > lo) & (newton < hi) & fast) | settled
        nxt = np.where(inside, newton, 0.5 * (lo + hi))
        before, last = last, np.abs(nxt - x)
        moved = float(np.max(last, initial=0.0))
        x = nxt
        # to rounding: where the op-amp amplifies, F moves by gain times any error in x
        if moved <= ROOT_RTOL * float(np.max(np.abs(x), initial=0.0)):
            return x
    raise ConvergenceError(
        f"a TIA loop's local solve did not converge in {ROOT_MAX_ITER} iterations (last move "
        f"{moved:.3g} V)"
    )


def sense_bounds(inputs: np.ndarray, swing: float) -> tuple[np.ndarray, np.ndarray]:
    """Volt, each ``(batch, 1)``: where a sense node can be for each input vector.

    Every node of the array and its readouts lies between the lowest and the highest source
    potential: the drivers and the op-amps' outputs (within +-``swing``).
    """
    lo = np.minimum(inputs.min(axis=1, initial=0.0), -swing)[:, None]
    hi = np.maximum(inputs.max(axis=1, initial=0.0), swing)[:, None]
    return lo, hi


Readout = TiaReadout | MeasuredTia
"""A readout the surrogate solves: the behavioural TIA's law or a measured transfer."""


def check_readout(spec: CrossbarSpec) -> None:
    """Refuse a readout the surrogate does not model.

    Raises:
        SurrogateError: an integrator (it has no DC output: transient simulations only).
    """
    if spec.readout.kind == ReadoutKind.INTEGRATOR:
        raise SurrogateError(
            "the surrogate models DC readouts; readout.kind = 'integrator' is read in "
            "transient simulations only (use the ngspice engine)"
        )


def readout_of(spec: CrossbarSpec, measured: MeasuredTia | None) -> Readout | None:
    """The readout the surrogate solves for ``spec``: ``None`` (ideal virtual grounds), the
    behavioural TIA's law, or for a transistor-level op-amp its ``measured`` transfer.

    Raises:
        SurrogateError: an integrator, or a transistor-level TIA with no measured transfer.
    """
    check_readout(spec)
    if spec.readout.kind == ReadoutKind.IDEAL:
        return None
    if spec.readout.opamp == OpAmpKind.BEHAVIOURAL:
        return TiaReadout.from_spec(spec)
    if measured is None:
        raise SurrogateError(
            f"readout.opamp = '{spec.readout.opamp.value}': the surrogate reads a "
            "transistor-level TIA from its transfer measured in ngspice, which this surrogate "
            "lacks (cimspice calibrate measures it)"
        )
    return measured


def measure_tia(spec: CrossbarSpec, i_max: float) -> MeasuredTia:
    """Measure ``spec``'s TIA in ngspice for input currents in ``[-i_max, i_max]``.

    The TIA is the spec's own (op-amp, supply, bias, ``r_f``, temperature, model cards),
    fed through one cell of ``100 r_f`` from a source swept so that the current crosses the
    range in :data:`TRANSFER_POINTS` steps (that resistance makes the source a current
    source to the TIA: a low one would multiply the op-amp's offset by ``1 + r_f / R``).
    ngspice gives each operating point's current and output, and the inverting input sits
    at ``x = V_out + r_f I`` (the feedback resistor carries the whole current).

    Raises:
        SimulationError and friends: ngspice failed (deck and log kept).
    """
    from cimspice.engines.ngspice import NgspiceEngine

    data = spec.to_dict()
    data["array"] = {"rows": 1, "cols": 1}
    data["wire"] = {"r_row": 0.0, "r_col": 0.0}
    feed = 0.01 / spec.readout.r_f  # siemens
    data["driver"] = {**data.get("driver", {}), "dac_bits": 0, "v_read": i_max / feed}
    data["readout"] = {**data["readout"], "adc_bits": 0, "adc_full_scale": 0.0, "r_in": 0.0}
    data["device"] = {**data.get("device", {}), "iv": "linear"}
    data.pop("nonideal", None)
    data.pop("mapping", None)
    cell = spec_from_dict(data)
    drive = np.linspace(-i_max, i_max, TRANSFER_POINTS)[:, None] / feed
    result = NgspiceEngine().run(cell, np.full((1, 1), feed), drive)
    if result.v_out is None:
        raise SurrogateError("the TIA measurement gave no outputs")
    currents, v_out = result.currents[:, 0], result.v_out[:, 0]
    order = np.argsort(currents)
    currents, v_out = currents[order], v_out[order]
    keep = np.concatenate([[True], np.diff(currents) > 0])  # strictly increasing for interp
    currents, v_out = currents[keep], v_out[keep]
    return MeasuredTia(currents, v_out + spec.readout.r_f * currents, v_out)
