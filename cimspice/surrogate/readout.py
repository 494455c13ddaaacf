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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cimspice.errors import ConvergenceError, SurrogateError
from cimspice.spec import CrossbarSpec, OpAmpKind, ReadoutKind

__all__ = ["SETTLE_TOL_V", "CurrentsAt", "TiaReadout"]

CurrentsAt = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""Sense potentials to ``(column currents, own conductance)``: see :meth:`TiaReadout.settle`."""

SETTLE_TOL_V = 1e-13
"""Volt: the loops of a linear array are solved until each holds to this (scaled, see
:meth:`TiaReadout.settle`)."""
SETTLE_MAX_ITER = 100


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
    def from_spec(cls, spec: CrossbarSpec) -> TiaReadout | None:
        """The spec's TIA, ``None`` for the ideal readout.

        Raises:
            SurrogateError: a readout the surrogate does not model (an integrator, which
                has no DC output, or a transistor-level op-amp).
        """
        readout = spec.readout
        if readout.kind == ReadoutKind.IDEAL:
            return None
        if readout.kind != ReadoutKind.TIA:
            raise SurrogateError(
                f"the surrogate models DC readouts; readout.kind = '{readout.kind.value}' is "
                "read in transient simulations only (use the ngspice engine)"
            )
        if readout.opamp != OpAmpKind.BEHAVIOURAL:
            raise SurrogateError(
                "the surrogate models the behavioural op-amp's TIA; readout.opamp = "
                f"'{readout.opamp.value}' needs the ngspice engine"
            )
        return cls(readout.r_f, readout.gain, readout.v_offset, readout.v_swing)

    def output(self, sense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(V_out, dV_out/dx)`` for sense potentials ``sense`` (volt)."""
        t = np.tanh(self.gain * (self.v_offset - sense) / self.v_swing)
        return self.v_swing * t, -self.gain * (1.0 - t * t)

    def settle(
        self, currents_at: CurrentsAt, shape: tuple[int, int], *, tol: float = SETTLE_TOL_V
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Solve the loop of every TIA for a batch.

        Args:
            currents_at: the array: sense potentials (V, ``(batch, cols)``) to the column
                currents (A) and each column's conductance into its own sense node (S,
                ``-dI_j / dx_j``, broadcastable; it only steers the iteration).
            shape: ``(batch, cols)``.
            tol: volt, how closely the loops must hold: ``|F_j| <= tol (1 + r_f own_j)`` (an
                array solved to some voltage accuracy leaves about that much in ``F``).

        Returns:
            ``(currents, v_out, sense)``, each ``(batch, cols)``.

        Raises:
            ConvergenceError: the loop equations did not settle.

        Each column's equation ``F_j = x_j - V_out(x_j) - r_f I_j = 0`` increases in ``x_j``
        (slope ``1 + gain sech^2 + r_f own_j``), and ``|V_out| <= v_swing`` brackets its
        root; Newton steps on each column with the others held (the coupling between
        columns is weak) fall back to bisection when they leave the bracket.
        """
        base, own = currents_at(np.zeros(shape))
        # the ideal loop (no saturation, no coupling) as the start
        sense = (self.gain * self.v_offset + self.r_f * base) / (self.gain + 1.0 + self.r_f * own)
        worst = np.inf
        for _ in range(SETTLE_MAX_ITER):
            currents, own = currents_at(sense)
            v_out, slope = self.output(sense)
            residual = sense - v_out - self.r_f * currents
            # With the other columns held, F_j = damping_j x_j - V_out(x_j) - r_f c_j:
            damping = 1.0 + self.r_f * own
            # F in volts is about the error of V_out (where the op-amp amplifies) or of x
            # (where it saturates); an array whose currents are off by dI leaves r_f dI in it,
            # i.e. its voltage error times r_f own: hence the scaled test.
            worst = float(np.max(np.abs(residual / damping), initial=0.0))
            if worst <= tol:
                return currents, v_out, sense
            rest = currents + own * sense  # c_j, the current the other sources push
            lo = (-self.v_swing + self.r_f * rest) / damping
            hi = (self.v_swing + self.r_f * rest) / damping
            newton = sense - residual / (damping - slope)
            below = np.where(residual > 0, lo, sense)  # the root lies below x when F > 0
            above = np.where(residual > 0, sense, hi)
            inside = (newton >= below) & (newton <= above)
            sense = np.where(inside, newton, 0.5 * (below + above))
        raise ConvergenceError(
            f"the TIA loops did not settle in {SETTLE_MAX_ITER} iterations (largest scaled loop "
            f"residual {worst:.3g} V)"
        )

    def settle_linear(
        self, base: np.ndarray, coupling: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`settle` for a linear array: ``I = base + x @ coupling`` (see the module
        docstring), to :data:`SETTLE_TOL_V`."""
        own = -np.diag(coupling)
        return self.settle(lambda sense: (base + sense @ coupling, own), base.shape)
