"""Write-verify in SPICE: program, read, adjust, row by row through the real array.

Every iteration is one pulse program (one or more chained ngspice decks): for each row that
still has cells outside tolerance, a SET phase for the cells that read too low and a RESET
phase for those that read too high (each cell with its own amplitude, or its own width), then
a read of the row at ``driver.v_read``. A cell's programmed conductance is what the array reads:
its bit line's current over ``v_read`` (through its access transistor on 1T1R, with the wires'
drop), the quantity a real verify compares. Between iterations Python decides the next pulses
from the reads (:class:`VerifyPolicy`): incremental amplitude (ISPP) or incremental width.

When a cell overshoots (its error changes sign), the default policy (``on_crossing="halve"``)
backs the level (amplitude or width) of the direction that overshot off by one step and halves
the cell's step, as adaptive write-verify schemes do (e.g. Alibart, Gao and Strukov,
Nanotechnology 23, 075201, 2012: pulses of growing amplitude, the polarity reversed on
crossing the target; here with the step halved on every crossing, so the change per pulse
shrinks until it fits the tolerance). The earlier policy (``"restart"``: the new direction
starts again at its first amplitude, the step unchanged) oscillates on a device whose change
per pulse grows exponentially with the voltage: a Stanford-PKU cell in a 1T1R array (50 ns
pulses, gates 0.9 V for SET and 3 V for RESET) moves from 33 uS by ~3 uS at a 1.4 V RESET and
~16 uS at 1.5 V (tests/test_write_verify_policy.py), and from 8 uS by ~12 uS at a 2.45 V SET
and ~23 uS at 2.5 V (measured ad hoc, ngspice 46), so with 0.1 V steps one pulse jumps over a
1.35 uS band in either direction, again and again.

Row decks (``row_decks=True``, 1T1R): every row's pulses and read go into a deck of their own
in which only that row's cells are dynamic; the other rows' cells are static at their states
(:mod:`cimspice.write.deck`: fixed resistors, or left out with ``static_cells="open"``),
because their access transistors are off while another row is written. Every row deck of an
iteration starts from the states at the start of that iteration, so the decks are independent
and run in parallel (``jobs``) with the same result in any order; the simulated programming
time and energy still add the rows up as written in turn. tests/test_write_rows.py checks
this against the whole-array decks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from cimspice.arrays import check_conductances
from cimspice.errors import InputError
from cimspice.executors import worker_count
from cimspice.spec import CellKind, CrossbarSpec, as_spec
from cimspice.sweep import SweepCache, progress_counter
from cimspice.write.deck import STATIC_CELLS
from cimspice.write.disturb import initial_states
from cimspice.write.models import DynamicModel, dynamic_model, verify_start
from cimspice.write.pulses import Phase, Program, read_row, row_pulse
from cimspice.write.run import WriteResult, run_program

__all__ = ["VerifyPolicy", "VerifyResult", "write_verify"]


@dataclass(frozen=True)
class VerifyPolicy:
    """How write-verify chooses pulses.

    Attributes:
        tol: a cell is done when its read conductance is within ``tol * (g_max - g_min)``
            of its target (the spec's ``[device]`` window).
        mode: ``"amplitude"`` (each further pulse in the same direction ``step`` volts higher,
            width ``write.t_pulse``) or ``"width"`` (amplitude ``v_set_start`` /
            ``v_reset_start``, each further pulse ``write.t_pulse`` longer: the step in width
            mode is one ``t_pulse``, halved down to ``t_pulse / 16``).
        v_set_start, v_reset_start: volt, the first SET and RESET amplitudes.
        step: volt, the amplitude increment (amplitude mode).
        v_max: volt, the largest amplitude.
        max_pulses: most pulses per cell.
        t_read: second, a verify read's duration.
        on_crossing: what a cell's overshoot changes. ``"halve"``: the level (amplitude or
            width) of the direction that overshot goes back by that direction's step, and
            the step halves (down to ``min_step``) if that run of pulses had fallen short
            before (the level that fits lies between its last two levels); a run whose first
            pulse overshot keeps its step, so repeated overshoots keep backing off. The other
            direction goes on from its own level. ``"restart"``: the new direction starts
            again at its first level, the step unchanged (oscillates on devices that move far
            per step; see the module).
        min_step: volt, the smallest amplitude step that halving ``"halve"`` reaches (a
            ``step`` below it is never raised to it; amplitude mode; also the lowest amplitude
            a back-off reaches).
    """

    tol: float = 0.02
    mode: str = "amplitude"
    v_set_start: float = 1.6
    v_reset_start: float = 1.0
    step: float = 0.05
    v_max: float = 3.0
    max_pulses: int = 20
    t_read: float = 20e-9
    on_crossing: str = "halve"
    min_step: float = 0.005

    def __post_init__(self) -> None:
        if self.mode not in ("amplitude", "width"):
            raise InputError(f"mode must be 'amplitude' or 'width', got {self.mode!r}")
        if self.on_crossing not in ON_CROSSING:
            raise InputError(f"on_crossing must be 'halve' or 'restart', got {self.on_crossing!r}")
        for name in ("tol", "v_set_start", "v_reset_start", "v_max", "t_read", "min_step"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
                raise InputError(f"{name} must be a number > 0, got {value!r}")
        if not (isinstance(self.step, int | float) and self.step >= 0):
            raise InputError(f"step must be >= 0 V, got {self.step!r}")
        if not isinstance(self.max_pulses, int) or self.max_pulses < 1:
            raise InputError(f"max_pulses must be an integer >= 1, got {self.max_pulses!r}")


ON_CROSSING = ("halve", "restart")
"""What a :class:`VerifyPolicy` does when a cell overshoots its target."""
WIDTH_MIN_STEP = 1 / 16
"""The smallest width step of width mode under ``"halve"``, in ``t_pulse`` (a binary fraction,
so that every width stays a whole number of femtoseconds for the usual pulse widths)."""


class _Levels:
    """Per cell and direction (+1 SET, -1 RESET), the level (volt, or ``t_pulse`` in width
    mode) of the next pulse and the step, updated from each iteration's reads by the policy's
    rule (see :class:`VerifyPolicy`)."""

    def __init__(self, policy: VerifyPolicy, shape: tuple[int, ...]):
        self.halve = policy.on_crossing == "halve"
        width = policy.mode == "width"
        self.start = {1: 1.0, -1: 1.0} if width else {
            1: policy.v_set_start, -1: policy.v_reset_start
        }  # fmt: skip
        self.next = {d: np.full(shape, v) for d, v in self.start.items()}
        first = 1.0 if width else policy.step
        self.step = {d: np.full(shape, first) for d in (1, -1)}
        self.floor = WIDTH_MIN_STEP if width else policy.min_step
        self.ceiling = np.inf if width else policy.v_max
        self.last = np.zeros(shape, dtype=int)  # the direction of each cell's last pulse
        self.used = np.zeros(shape)  # ... its level
        self.run = np.zeros(shape, dtype=int)  # ... and how many pulses that way in a row

    def choose(self, direction: np.ndarray) -> np.ndarray:
        """The level of each cell's pulse in ``direction`` (+1 SET, -1 RESET, 0 none)."""
        pulsed = direction != 0
        same = pulsed & (direction == self.last)
        crossed = pulsed & (direction == -self.last)
        for d in (1, -1):
            step = self.step[d]
            m = same & (direction == d)  # the last pulse fell short: one step further
            self.next[d][m] = self.used[m] + step[m]
            m = crossed & (self.last == d)  # the last pulse, a d one, overshot
            if self.halve:
                # back off by the step; halve it when the run had fallen short before (the
                # level that fits lies between its last two), keep it when the run's first
                # pulse overshot (the level is too high by an unknown amount)
                self.next[d][m] = np.maximum(self.used[m] - step[m], self.floor)
                bracketed = m & (self.run > 1)
                # down to the floor, and never up to it (a step already below it stays)
                floor = np.minimum(step[bracketed], self.floor)
                step[bracketed] = np.maximum(step[bracketed] / 2, floor)
            else:
                self.next[-d][m] = self.start[-d]  # the new direction starts again
        level = np.where(direction > 0, self.next[1], np.where(direction < 0, self.next[-1], 0.0))
        level = np.minimum(level, self.ceiling)
        self.run = np.where(same, self.run + 1, np.where(pulsed, 1, self.run))
        self.used = np.where(pulsed, level, self.used)
        self.last = np.where(pulsed, direction, self.last)
        return level


@dataclass(frozen=True)
class VerifyResult:
    """What write-verify reached.

    Attributes:
        targets: siemens, ``(rows, cols)``.
        programmed: siemens, the last read of every cell.
        history: siemens, ``(iterations + 1, rows, cols)``: the reads, before and after each
            iteration.
        pulses: ``(rows, cols)``, write pulses per cell.
        converged: ``(rows, cols)``, whether each cell ended within tolerance.
        states: the cells' final states (the model's units).
        time_s: second, the simulated programming time (pulses, reads, edges; rows in turn).
        energy_j: joule, what every source delivered over the whole programming.
        tol_s: siemens, the tolerance.
        window: siemens, ``(g_min, g_max)`` of the spec.
        elapsed_s: wall time of the SPICE runs.
    """

    targets: np.ndarray
    programmed: np.ndarray
    history: np.ndarray
    pulses: np.ndarray
    converged: np.ndarray
    states: np.ndarray
    time_s: float
    energy_j: float
    tol_s: float
    window: tuple[float, float]
    elapsed_s: float = field(default=0.0, compare=False)

    @property
    def errors(self) -> np.ndarray:
        """``programmed - targets`` as a fraction of the window, ``(rows, cols)``."""
        return (self.programmed - self.targets) / (self.window[1] - self.window[0])

    def summary(self) -> dict[str, float]:
        """The figures a report gives."""
        e = self.errors
        return {
            "cells": float(e.size),
            "converged": float(self.converged.mean()),
            "error_rms": float(np.sqrt(np.mean(e**2))),
            "error_max": float(np.max(np.abs(e))),
            "pulses_mean": float(self.pulses.mean()),
            "pulses_max": float(self.pulses.max()),
            "time_s": self.time_s,
            "energy_j": self.energy_j,
            "energy_per_cell_j": self.energy_j / e.size,
        }


def _reads(spec: CrossbarSpec, run_bits: np.ndarray, phases: list[Phase], g: np.ndarray) -> None:
    """Update ``g`` from the read phases of one program."""
    v_read = spec.driver.v_read
    for k, phase in enumerate(phases):
        if phase.kind == "read":
            g[phase.row] = run_bits[k] / v_read


def _row_phases(
    spec: CrossbarSpec,
    policy: VerifyPolicy,
    row: int,
    direction: np.ndarray,
    level: np.ndarray,
) -> list[Phase]:
    """The SET and RESET phases of one row: ``direction`` +1 / -1 / 0 per cell, ``level`` each
    cell's amplitude (volt) or width (``t_pulse``)."""
    out = []
    for kind, sign, start in (("set", 1, policy.v_set_start), ("reset", -1, policy.v_reset_start)):
        chosen = direction == sign
        if not chosen.any():
            continue
        if policy.mode == "amplitude":
            out.append(row_pulse(spec, row, np.where(chosen, level, 0.0), kind))
            continue
        for n in np.unique(level[chosen]).tolist():  # one phase per width
            group = chosen & (level == n)
            out.append(
                row_pulse(spec, row, np.where(group, start, 0.0), kind, spec.write.t_pulse * n)
            )
    return out


@dataclass
class _Totals:
    """What the runs of a write-verify added up to."""

    time_s: float = 0.0
    energy_j: float = 0.0
    elapsed_s: float = 0.0

    def add(self, run: WriteResult) -> None:
        self.time_s += run.program.t_stop
        self.energy_j += run.total_energy
        self.elapsed_s += run.elapsed_s


def _run_rows(
    spec: CrossbarSpec,
    programs: dict[int, Program],
    x: np.ndarray,
    model: DynamicModel,
    *,
    cache: SweepCache | None,
    jobs: int,
    static_cells: str,
    progress: bool,
    description: str,
) -> dict[int, WriteResult]:
    """Each row's program in a deck of its own (only that row dynamic), all from ``x``."""
    advance = progress_counter(len(programs), description, enabled=progress)

    def one(row: int) -> WriteResult:
        out = run_program(
            spec,
            programs[row],
            x,
            model=model,
            cache=cache,
            progress=False,
            dynamic_rows=[row],
            static_cells=static_cells,
        )
        advance()
        return out

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(programs)))) as pool:
        runs = list(pool.map(one, list(programs)))
    return dict(zip(programs, runs, strict=True))


def write_verify(
    spec: CrossbarSpec | str,
    targets: np.ndarray,
    policy: VerifyPolicy | None = None,
    *,
    states: np.ndarray | None = None,
    cache: SweepCache | None = None,
    progress: bool = True,
    row_decks: bool = False,
    static_cells: str = "resistor",
    jobs: int | None = 1,
) -> VerifyResult:
    """Program ``targets`` (siemens, ``(rows, cols)``, within the spec's window) into the
    array by write-verify in ngspice, from ``states`` (default: every cell at its model's
    high-resistance end).

    Args:
        spec: the array spec (its ``[write]`` section names the dynamic model).
        targets: siemens, ``(rows, cols)``.
        policy: how pulses are chosen (default: :class:`VerifyPolicy` starting from the
            built-in model's amplitudes, :func:`~cimspice.write.models.verify_start`, or
            from its own defaults for a ``model_file`` model).
        states: ``(rows, cols)``, the cells' states before programming.
        cache: where to keep and find each deck's results.
        progress: show progress bars on a terminal.
        row_decks: 1T1R only: a deck per row and iteration, the other rows static (see the
            module); ``False``: each iteration is one program on the whole, dynamic array.
        static_cells: with ``row_decks``, ``"resistor"`` or ``"open"`` (the approximations of
            :mod:`cimspice.write.deck`).
        jobs: with ``row_decks``, how many row decks run at once (``None``: the cores).

    Raises:
        InputError: targets of the wrong shape or outside ``[g_min, g_max]``; row decks on a
            passive array.
        SimulationError: a deck failed.
    """
    spec = as_spec(spec).with_model_cards()
    if policy is None:
        start = verify_start(spec)
        policy = (
            VerifyPolicy()
            if start is None
            else VerifyPolicy(v_set_start=start[0], v_reset_start=start[1], step=start[2])
        )
    if not isinstance(policy, VerifyPolicy):
        raise InputError(f"policy must be a VerifyPolicy, got {type(policy).__name__}")
    t = check_conductances(targets, spec.rows, spec.cols)
    g_min, g_max = spec.device.g_min, spec.device.g_max
    if t.min() < g_min or t.max() > g_max:
        raise InputError(
            f"targets must lie in the spec's window [{g_min}, {g_max}] S (device.g_min, "
            f"device.g_max), got [{t.min():.4g}, {t.max():.4g}]"
        )
    if row_decks and spec.array.cell != CellKind.ONE_T_ONE_R:
        raise InputError(
            "row_decks needs 1T1R cells (the other rows are isolated by their access "
            f"transistors); array.cell is {spec.array.cell.value}"
        )
    if static_cells not in STATIC_CELLS:
        raise InputError(f"static_cells must be 'resistor' or 'open', got {static_cells!r}")
    workers = worker_count(jobs)
    model = dynamic_model(spec)
    x = initial_states(spec, 0.0) if states is None else np.asarray(states, dtype=float)
    tol = policy.tol * (g_max - g_min)
    edge = spec.write.t_edge
    reads = [read_row(spec, i, policy.t_read) for i in range(spec.rows)]
    g = np.zeros_like(t)
    totals = _Totals()

    def run(programs: dict[int, Program], x: np.ndarray, what: str) -> np.ndarray:
        """Run the rows' programs, update ``g`` from their reads; the new states."""
        if not row_decks:
            phases = [p for program in programs.values() for p in program.phases]
            out = run_program(
                spec, Program(tuple(phases), edge), x, model=model, cache=cache, progress=progress
            )
            _reads(spec, out.bit_currents, phases, g)
            totals.add(out)
            return out.final_states
        new = x.copy()
        runs = _run_rows(
            spec, programs, x, model, cache=cache, jobs=workers, static_cells=static_cells,
            progress=progress, description=what,
        )  # fmt: skip
        for i, r in runs.items():
            _reads(spec, r.bit_currents, list(r.program.phases), g)
            new[i] = r.final_states[i]
            totals.add(r)
        return new

    x = run({i: Program((reads[i],), edge) for i in range(spec.rows)}, x, "verify read")
    history = [g.copy()]
    pulses = np.zeros(t.shape, dtype=int)
    levels = _Levels(policy, t.shape)
    for k in range(policy.max_pulses):
        todo = (np.abs(g - t) > tol) & (pulses < policy.max_pulses)
        if not todo.any():
            break
        direction = np.where(todo, np.where(g < t, 1, -1), 0)
        level = levels.choose(direction)
        programs = {
            i: Program((*_row_phases(spec, policy, i, direction[i], level[i]), reads[i]), edge)
            for i in np.flatnonzero(todo.any(axis=1)).tolist()
        }
        x = run(programs, x, f"write-verify pulse {k + 1}")
        pulses += todo
        history.append(g.copy())
    return VerifyResult(
        targets=t,
        programmed=g,
        history=np.stack(history),
        pulses=pulses,
        converged=np.abs(g - t) <= tol,
        states=x,
        time_s=totals.time_s,
        energy_j=totals.energy_j,
        tol_s=tol,
        window=(g_min, g_max),
        elapsed_s=totals.elapsed_s,
    )
