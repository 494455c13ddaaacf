"""Disturb: what writing one cell does to the others (half-select), and what reads do.

:func:`half_select_disturb` applies ``pulses`` SET (or RESET) pulses to one cell through the
spec's biasing (``write.bias`` on passive arrays, the access transistors on 1T1R) and records
every cell's read conductance after each pulse; :func:`read_disturb` applies ``reads`` reads
at ``driver.v_read`` and does the same. Conductances are the model's at ``v_read``
(:func:`~cimspice.write.models.read_table`), so a disturb map is in siemens, or as a fraction
of the model's window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec, as_spec
from cimspice.sweep import SweepCache
from cimspice.write.models import ReadTable, dynamic_model, read_table
from cimspice.write.pulses import Phase, Program, cell_pulse, read_row, rest
from cimspice.write.run import WriteResult, run_program

__all__ = ["DisturbResult", "half_select_disturb", "initial_states", "read_disturb"]


@dataclass(frozen=True)
class DisturbResult:
    """Every cell's read conductance after each pulse (or read).

    Attributes:
        run: the SPICE run (states, currents, energy at every phase end).
        table: the model's read table.
        conductances: siemens, ``(n + 1, rows, cols)``: before, then after each pulse/read.
        cell: the written cell (``None`` for read disturb).
        kind: ``"set"``, ``"reset"`` or ``"read"``.
    """

    run: WriteResult
    table: ReadTable
    conductances: np.ndarray
    cell: tuple[int, int] | None
    kind: str

    @property
    def window(self) -> float:
        """Siemens, the model's conductance window at ``v_read``."""
        return self.table.g_high - self.table.g_low

    def disturb_map(self, after: int = -1) -> np.ndarray:
        """``(rows, cols)``: each cell's conductance change after pulse/read ``after``
        (default the last), as a fraction of the model's window."""
        return (self.conductances[after] - self.conductances[0]) / self.window

    def worst_disturb(self) -> np.ndarray:
        """``(n + 1,)``: the largest |change| over the cells not written, fraction of the
        window, after each pulse/read (0 before the first)."""
        change = np.abs(self.conductances - self.conductances[0]) / self.window
        if self.cell is not None:
            change[:, self.cell[0], self.cell[1]] = 0.0
        return change.reshape(change.shape[0], -1).max(axis=1)

    def energy_per_pulse(self) -> float:
        """Joule, the mean energy of one pulse/read (the rests between them included)."""
        n = self.conductances.shape[0] - 1
        return self.run.total_energy / n


def initial_states(spec: CrossbarSpec, level: float = 0.5) -> np.ndarray:
    """Every cell at the state whose read conductance is ``level`` of the way (in log
    conductance) from the model's lowest to its highest, ``(rows, cols)``."""
    spec = as_spec(spec)
    if not 0 <= level <= 1:
        raise InputError(f"level must be in [0, 1], got {level!r}")
    table = read_table(dynamic_model(spec), spec.driver.v_read)
    g = np.exp(np.log(table.g_low) + level * (np.log(table.g_high) - np.log(table.g_low)))
    return np.full((spec.rows, spec.cols), float(table.state_for(np.array(g))))


def _result(
    spec: CrossbarSpec, run: WriteResult, pick: np.ndarray, cell: tuple[int, int] | None, kind: str
) -> DisturbResult:
    table = read_table(run.model, spec.driver.v_read)
    states = run.states[np.concatenate([[0], pick + 1])]
    return DisturbResult(run, table, table.conductance(states), cell, kind)


def half_select_disturb(
    spec: CrossbarSpec | str,
    pulses: int,
    *,
    cell: tuple[int, int] | None = None,
    kind: str = "set",
    states: np.ndarray | None = None,
    gap: float | None = None,
    cache: SweepCache | None = None,
    progress: bool = True,
) -> DisturbResult:
    """``pulses`` write pulses (``write.v_set`` or ``write.v_reset``, ``write.t_pulse``) on
    ``cell`` (default the middle of the array), each followed by a rest of ``gap`` seconds
    (default ``t_pulse``), from ``states`` (default :func:`initial_states`).

    Raises:
        InputError: a bad count, cell or kind.
    """
    spec = as_spec(spec)
    if not isinstance(pulses, int) or pulses < 1:
        raise InputError(f"pulses must be an integer >= 1, got {pulses!r}")
    cell = (spec.rows // 2, spec.cols // 2) if cell is None else cell
    pulse = cell_pulse(spec, cell, kind)
    pause = rest(spec, spec.write.t_pulse if gap is None else gap)
    program = Program(tuple(p for _ in range(pulses) for p in (pulse, pause)), spec.write.t_edge)
    x0 = initial_states(spec) if states is None else states
    run = run_program(spec, program, x0, cache=cache, progress=progress)
    return _result(spec, run, np.arange(1, 2 * pulses, 2), cell, kind)


def read_disturb(
    spec: CrossbarSpec | str,
    reads: int,
    *,
    t_read: float = 100e-9,
    row: int | None = None,
    states: np.ndarray | None = None,
    cache: SweepCache | None = None,
    progress: bool = True,
) -> DisturbResult:
    """``reads`` reads at ``driver.v_read`` of ``t_read`` seconds each (one row at a time, in
    turn, or only ``row``), each followed by a rest of ``t_read``, from ``states`` (default
    :func:`initial_states`). The conductances are recorded after each full pass.

    Raises:
        InputError: a bad count, duration or row.
    """
    spec = as_spec(spec)
    if not isinstance(reads, int) or reads < 1:
        raise InputError(f"reads must be an integer >= 1, got {reads!r}")
    if not (np.isfinite(t_read) and t_read > 0):
        raise InputError(f"t_read must be > 0 s, got {t_read!r}")
    rows = range(spec.rows) if row is None else [row]
    one: list[Phase] = []
    for i in rows:
        one += [read_row(spec, i, t_read), rest(spec, t_read)]
    program = Program(tuple(one * reads), spec.write.t_edge)
    x0 = initial_states(spec) if states is None else states
    run = run_program(spec, program, x0, cache=cache, progress=progress)
    per = len(one)
    return _result(spec, run, np.arange(per - 1, per * reads, per), None, "read")
