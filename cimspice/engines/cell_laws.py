"""Current-voltage laws of two-terminal crossbar cells, vectorised, with their slopes.

A cell joins its word-line node to its bit-line node and passes ``I = f(U)`` for the voltage
``U`` across it. The laws here match the netlist templates term for term:

- :class:`LinearLaw`: a memristor read at a fixed state, ``I = G U``;
- :class:`SinhLaw`: the nonlinear read model ``I = G v0 sinh(U / v0)`` (``[device] iv = "sinh"``);
- :class:`SeriesLaw`: two laws in series through an inner node, e.g. a 1S1R cell (memristor,
  then the selector ``I = i_s sinh(V / v_s)``) or a memristor behind a fixed resistance.
  Its inner node is solved per cell by a safeguarded Newton iteration (Newton steps kept
  inside the bracket that the two monotonic laws give, bisection when a step leaves it).

Every law is strictly increasing through the origin, so every cell passes a current of the
sign of its voltage and :meth:`CellLaw.slope` is positive wherever the cell conducts.
Arrays may have any shape; ``G`` broadcasts against ``U``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from cimspice.errors import ConvergenceError

__all__ = [
    "CellLaw",
    "LinearLaw",
    "Pair",
    "SeriesLaw",
    "SinhLaw",
    "cell_law",
    "selector_law",
    "written",
]

INNER_TOL_V = 1e-15
"""Volt: the inner node of a series cell is solved until it moves less than this."""
INNER_MAX_ITER = 200
MIN_SERIES_OHM = 1e-9
"""Ohm: a zero series resistance in a series law is taken as this (a short)."""

Pair = tuple[np.ndarray, np.ndarray]
"""Two arrays a law writes its current and slope into."""


def _pair(voltage: np.ndarray, parameter: np.ndarray, out: Pair | None) -> Pair:
    """``out``, or two new arrays of the shape ``voltage`` and a law's ``parameter``
    broadcast to."""
    if out is not None:
        return out
    shape = np.broadcast_shapes(np.shape(voltage), np.shape(parameter))
    return np.empty(shape), np.empty(shape)


def written(values: Pair, out: Pair | None) -> Pair:
    """``values`` copied into ``out`` if given (for laws that compute into new arrays)."""
    if out is None:
        return values
    np.copyto(out[0], values[0])
    np.copyto(out[1], values[1])
    return out


class CellLaw(Protocol):
    """A cell's current and slope as functions of the voltage across it."""

    def current(self, voltage: np.ndarray) -> np.ndarray:
        """Ampere, same shape as ``voltage`` (volt)."""
        ...

    def current_and_slope(
        self, voltage: np.ndarray, out: Pair | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(I, dI/dU)`` in ampere and siemens (written into ``out`` if given: two arrays
        of ``voltage``'s shape that are not ``voltage``)."""
        ...


@dataclass(frozen=True)
class LinearLaw:
    """``I = G U``; ``conductance`` in siemens, broadcastable against the voltages."""

    conductance: np.ndarray
    voltage_scale = np.inf
    """Volt over which the law's slope changes e-fold: never (a linear law)."""

    def current(self, voltage: np.ndarray) -> np.ndarray:
        """Ampere: ``G U``."""
        return self.conductance * voltage

    def current_and_slope(
        self, voltage: np.ndarray, out: Pair | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(G U, G)``."""
        if out is None:
            return self.conductance * voltage, np.broadcast_to(self.conductance, voltage.shape)
        np.multiply(self.conductance, voltage, out=out[0])
        np.copyto(out[1], np.broadcast_to(self.conductance, voltage.shape))
        return out


@dataclass(frozen=True)
class SinhLaw:
    """``I = scale v0 sinh(U / v0)``: ``scale`` in siemens (``G`` or ``i_s / v_s``), ``v0`` in V."""

    scale: np.ndarray
    v0: float

    @property
    def voltage_scale(self) -> float:
        """Volt over which the slope changes e-fold: ``v0``."""
        return self.v0

    def current(self, voltage: np.ndarray) -> np.ndarray:
        """Ampere: ``scale v0 sinh(U / v0)``."""
        return (self.scale * self.v0) * np.sinh(voltage / self.v0)

    def current_and_slope(
        self, voltage: np.ndarray, out: Pair | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(scale v0 sinh(U / v0), scale cosh(U / v0))``, from one exponential and no
        array beyond the two it returns.

        ``sinh = (e - 1/e) / 2`` loses relative precision as ``U -> 0`` (absolute error
        ~1e-16 of ``scale v0``), which no Newton step notices; :meth:`current` stays exact.
        """
        current, slope = _pair(voltage, self.scale, out)
        e = np.divide(voltage, self.v0, out=slope)
        np.exp(e, out=e)
        np.reciprocal(e, out=current)
        np.subtract(e, current, out=current)  # e - 1/e
        e *= 2.0
        e -= current  # e + 1/e
        half = 0.5 * self.scale
        current *= half * self.v0
        e *= half
        return current, e


@dataclass
class SeriesLaw:
    """Two laws in series: ``first`` from the word line to an inner node, ``second`` onwards.

    The inner node ``V1`` (the voltage across ``first``) solves ``f1(V1) = f2(U - V1)``;
    it lies between 0 and ``U``. The last solution is kept as the next call's starting point,
    which is what a Newton iteration over the whole array asks for (the voltages move little
    from one call to the next).
    """

    first: CellLaw
    second: CellLaw
    _guess: np.ndarray | None = field(default=None, repr=False)

    @property
    def voltage_scale(self) -> float:
        """Volt: the steeper part's (a conservative scale for the pair)."""
        return min(
            getattr(self.first, "voltage_scale", np.inf),
            getattr(self.second, "voltage_scale", np.inf),
        )

    def inner_voltage(self, voltage: np.ndarray) -> np.ndarray:
        """Volt, the voltage across ``first`` for each cell voltage ``voltage``."""
        lo = np.minimum(voltage, 0.0)
        hi = np.maximum(voltage, 0.0)
        guess = self._guess
        x = 0.5 * voltage if guess is None or guess.shape != voltage.shape else guess.copy()
        x = np.clip(x, lo, hi)
        for _ in range(INNER_MAX_ITER):
            i1, s1 = self.first.current_and_slope(x)
            i2, s2 = self.second.current_and_slope(voltage - x)
            h = i1 - i2  # increasing in x
            # Keep the bracket: the root lies above x where h < 0, below where h > 0.
            lo = np.where(h < 0, x, lo)
            hi = np.where(h > 0, x, hi)
            slope = s1 + s2
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = x - h / slope
            inside = np.isfinite(newton) & (newton >= lo) & (newton <= hi)
            nxt = np.where(inside, newton, 0.5 * (lo + hi))
            moved = np.abs(nxt - x)
            x = nxt
            if float(moved.max(initial=0.0)) <= INNER_TOL_V:
                self._guess = x
                return x
        raise ConvergenceError(
            f"the inner node of a series cell did not converge in {INNER_MAX_ITER} "
            f"iterations (last move {float(moved.max()):.3g} V)"
        )

    def current(self, voltage: np.ndarray) -> np.ndarray:
        """Ampere: the current through both parts."""
        return self.first.current(self.inner_voltage(voltage))

    def current_and_slope(
        self, voltage: np.ndarray, out: Pair | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(I, dI/dU)`` with ``dI/dU = s1 s2 / (s1 + s2)`` (two conductances in series)."""
        x = self.inner_voltage(voltage)
        i1, s1 = self.first.current_and_slope(x)
        _, s2 = self.second.current_and_slope(voltage - x)
        total = s1 + s2
        slope = np.divide(s1 * s2, total, out=np.zeros_like(total), where=total > 0)
        return written((i1, slope), out)


def memristor_law(conductances: np.ndarray, iv: str, v0: float) -> CellLaw:
    """The memristor's read law for ``[device] iv`` (``"linear"`` or ``"sinh"``)."""
    if iv == "sinh":
        return SinhLaw(conductances, v0)
    return LinearLaw(conductances)


def selector_law(i_s: float, v_s: float) -> SinhLaw:
    """The selector ``I = i_s sinh(V / v_s)`` (``[selector]``), as a :class:`SinhLaw`."""
    return SinhLaw(np.asarray(i_s / v_s), v_s)


def cell_law(
    conductances: np.ndarray,
    *,
    iv: str,
    v0: float,
    selector: tuple[float, float] | None = None,
    series_resistance: np.ndarray | None = None,
) -> CellLaw:
    """The law of every cell: the memristor, then (optionally) a selector or a resistance.

    Args:
        conductances: siemens, broadcastable against the cell voltages.
        iv: ``"linear"`` or ``"sinh"``.
        v0: volt, the sinh law's voltage scale.
        selector: ``(i_s, v_s)`` of a selector in series (a 1S1R cell).
        series_resistance: ohm, broadcastable; a resistance in series (a fitted access
            transistor); zero means none.
    """
    law = memristor_law(conductances, iv, v0)
    if selector is not None:
        return SeriesLaw(law, selector_law(*selector))
    if series_resistance is not None and np.any(np.asarray(series_resistance) > 0):
        r = np.asarray(series_resistance, dtype=float)
        if iv == "linear":  # two conductances in series stay linear: no inner node needed
            return LinearLaw(conductances / (1.0 + conductances * r))
        # A zero resistance is a short; a nano-ohm stands in for it (error ~1e-9 ohm * I).
        return SeriesLaw(law, LinearLaw(1.0 / np.maximum(r, MIN_SERIES_OHM)))
    return law
