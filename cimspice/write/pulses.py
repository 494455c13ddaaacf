"""Write pulses as line voltages: phases of a pulse program and the biasing schemes.

A :class:`Program` is a sequence of :class:`Phase` s. In each phase every word-line driver,
bit-line driver and (1T1R) select line holds a level; a phase starts with an edge of
``t_edge`` from the previous phase's levels and then holds its levels for ``duration``. Before
the first phase every line is at 0 V.

Conventions (every cell kind, every model): SET is the word line above the bit line, RESET
the bit line above the word line (decks wire each memristor so that this holds whatever its
model's own polarity). A write driver on a bit line sits where its sense amplifier does (the
row ``rows - 1`` end, behind ``readout.r_in``); the word-line driver at the column-0 end
(behind ``driver.r_source``).

Biasing (selected cells get ``a``; ``A`` the largest amplitude of the phase):

- 1T1R, SET of row ``i``: word line ``i`` at ``A``, bit line ``j`` at ``A - a_j`` (an
  unselected column at ``A``: no voltage across its cell), gate ``i`` at ``write.v_gate_set``
  (the access transistor limits the current: the compliance), other rows' gates and word lines
  at 0. RESET: word line ``i`` at 0, bit line ``j`` at ``a_j``, gate ``i`` at
  ``write.v_gate_reset``.
- passive (0T1R, 1S1R), ``"v/2"``: unselected word and bit lines at ``A/2`` (half-selected
  cells see ``A/2``, the others 0); ``"v/3"``: for SET unselected word lines at ``A/3`` and
  bit lines at ``2A/3`` (every unselected cell sees ``A/3`` in magnitude), for RESET the
  other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cimspice.errors import InputError
from cimspice.spec import CellKind, CrossbarSpec

__all__ = ["Phase", "Program", "cell_pulse", "read_row", "rest", "row_pulse"]

KINDS = ("set", "reset", "read", "rest")
"""What a phase does."""


@dataclass(frozen=True, eq=False)
class Phase:
    """One phase of a pulse program.

    Attributes:
        kind: ``"set"``, ``"reset"``, ``"read"`` or ``"rest"``.
        duration: second, how long the levels are held (after the edge).
        word: volt, ``(rows,)``, the word-line drivers.
        bit: volt, ``(cols,)``, the bit-line drivers.
        gate: volt, ``(rows,)``, the select lines (1T1R; zeros otherwise).
        row: the row written or read (-1: none or all).
        amplitudes: volt, ``(cols,)``, the amplitude meant for each cell of ``row`` (0: not
            selected), for reports.
    """

    kind: str
    duration: float
    word: np.ndarray
    bit: np.ndarray
    gate: np.ndarray
    row: int = -1
    amplitudes: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"phase kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not (np.isfinite(self.duration) and self.duration > 0):
            raise InputError(f"a phase's duration must be > 0 s, got {self.duration!r}")
        for name in ("word", "bit", "gate", "amplitudes"):
            value = np.asarray(getattr(self, name), dtype=float)
            if value.ndim != 1 or not np.all(np.isfinite(value)):
                raise InputError(f"phase {name} levels must be a finite 1-D array")
            object.__setattr__(self, name, value)


@dataclass(frozen=True, eq=False)
class Program:
    """A pulse program: phases in order, each starting with an edge of ``t_edge``.

    Attributes:
        phases: the phases.
        t_edge: second, every edge's duration.
        start: the levels before the first phase (a phase whose levels the lines hold at
            t = 0; ``None``: every line at 0 V), for a program that goes on from another.
    """

    phases: tuple[Phase, ...]
    t_edge: float
    start: Phase | None = None

    def __post_init__(self) -> None:
        if not self.phases:
            raise InputError("a pulse program needs at least one phase")
        if not (np.isfinite(self.t_edge) and self.t_edge > 0):
            raise InputError(f"t_edge must be > 0 s, got {self.t_edge!r}")
        object.__setattr__(self, "phases", tuple(self.phases))

    @property
    def ends(self) -> np.ndarray:
        """Second, the end of each phase, ``(n_phases,)``."""
        return np.cumsum([self.t_edge + p.duration for p in self.phases])

    @property
    def t_stop(self) -> float:
        """Second, the end of the last phase."""
        return float(self.ends[-1])

    def pwl(self, line: str, index: int) -> list[tuple[float, float]]:
        """The (time, volt) corners of one line (``"word"``, ``"bit"`` or ``"gate"``)."""
        level = 0.0 if self.start is None else float(getattr(self.start, line)[index])
        points = [(0.0, level)]
        t = 0.0
        for phase in self.phases:
            new = float(getattr(phase, line)[index])
            if new != level:
                points.append((t, level))
                points.append((t + self.t_edge, new))
                level = new
            t += self.t_edge + phase.duration
        points.append((t, level))
        # drop repeated corners (a line that never changes is two points)
        out = [points[0]]
        for p in points[1:]:
            if p[0] > out[-1][0]:
                out.append(p)
            elif p[1] != out[-1][1]:
                raise InputError("two levels at one time in a pulse program (an edge of 0 s)")
        return out

    def __add__(self, other: Program) -> Program:
        if not isinstance(other, Program) or other.t_edge != self.t_edge:
            raise InputError("only programs with the same t_edge can be joined")
        return Program(self.phases + other.phases, self.t_edge, self.start)

    def split(self, start: int, stop: int) -> Program:
        """Phases ``start:stop`` as a program of their own, going on from phase ``start - 1``'s
        levels."""
        before = self.phases[start - 1] if start > 0 else self.start
        return Program(self.phases[start:stop], self.t_edge, before)


def _passive(spec: CrossbarSpec) -> bool:
    return spec.array.cell != CellKind.ONE_T_ONE_R


def _levels(spec: CrossbarSpec, row: int, a: np.ndarray, kind: str) -> tuple[np.ndarray, ...]:
    """Word, bit and gate levels that give the cells of ``row`` the amplitudes ``a``."""
    rows, cols = spec.rows, spec.cols
    big = float(a.max())
    word, bit, gate = np.zeros(rows), np.zeros(cols), np.zeros(rows)
    chosen = a > 0
    if not _passive(spec):
        if kind == "set":
            word[row] = big
            bit[:] = big - a
            gate[row] = spec.write.v_gate_set
        else:
            bit[:] = a
            gate[row] = spec.write.v_gate_reset
        return word, bit, gate
    third = spec.write.bias == "v/3"
    if kind == "set":
        word[:] = big / 3 if third else big / 2
        word[row] = big
        bit[:] = 2 * big / 3 if third else big / 2
        bit[chosen] = big - a[chosen]
    else:
        word[:] = 2 * big / 3 if third else big / 2
        word[row] = 0.0
        bit[:] = big / 3 if third else big / 2
        bit[chosen] = a[chosen]
    return word, bit, gate


def row_pulse(
    spec: CrossbarSpec,
    row: int,
    amplitudes: Sequence[float] | np.ndarray,
    kind: str,
    width: float | None = None,
) -> Phase:
    """One SET or RESET pulse on the cells of ``row``, each with its own amplitude (volt,
    ``(cols,)``, >= 0; 0 leaves a cell unselected), of ``width`` seconds (default
    ``write.t_pulse``). See the module for the biasing.

    Raises:
        InputError: a bad row, kind, or amplitudes.
    """
    if kind not in ("set", "reset"):
        raise InputError(f"a write pulse is 'set' or 'reset', got {kind!r}")
    if not 0 <= row < spec.rows:
        raise InputError(f"row {row} is outside the array's {spec.rows} rows")
    a = np.asarray(amplitudes, dtype=float)
    if a.shape != (spec.cols,) or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise InputError(
            f"amplitudes must be {spec.cols} finite volts >= 0 (one per column), got shape "
            f"{a.shape}"
        )
    if not a.any():
        raise InputError("a write pulse needs at least one selected cell (an amplitude > 0)")
    word, bit, gate = _levels(spec, row, a, kind)
    return Phase(kind, spec.write.t_pulse if width is None else width, word, bit, gate, row, a)


def cell_pulse(
    spec: CrossbarSpec,
    cell: tuple[int, int],
    kind: str,
    amplitude: float | None = None,
    width: float | None = None,
) -> Phase:
    """One SET or RESET pulse on one cell (default amplitude ``write.v_set`` or
    ``write.v_reset``, width ``write.t_pulse``)."""
    i, j = cell
    if not 0 <= j < spec.cols:
        raise InputError(f"column {j} is outside the array's {spec.cols} columns")
    if amplitude is None:
        amplitude = spec.write.v_set if kind == "set" else spec.write.v_reset
    a = np.zeros(spec.cols)
    a[j] = amplitude
    return row_pulse(spec, i, a, kind, width)


def read_row(spec: CrossbarSpec, row: int, duration: float, v_read: float | None = None) -> Phase:
    """A read of ``row``: its word line at ``v_read`` (default ``driver.v_read``), every other
    line at 0 V, its gate (1T1R) at ``access.v_gate``; each bit line's current at the end is
    its cell's read current."""
    if not 0 <= row < spec.rows:
        raise InputError(f"row {row} is outside the array's {spec.rows} rows")
    word, bit, gate = np.zeros(spec.rows), np.zeros(spec.cols), np.zeros(spec.rows)
    word[row] = spec.driver.v_read if v_read is None else v_read
    if not _passive(spec):
        gate[row] = spec.access.v_gate
    return Phase("read", duration, word, bit, gate, row)


def rest(spec: CrossbarSpec, duration: float) -> Phase:
    """Every line at 0 V for ``duration`` seconds."""
    return Phase("rest", duration, np.zeros(spec.rows), np.zeros(spec.cols), np.zeros(spec.rows))
