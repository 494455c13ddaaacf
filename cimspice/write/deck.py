"""Write decks: an array of dynamic memristors under a pulse program, as an ngspice transient.

The deck (``netlists/memristor_write.cir.j2``) holds the spec's wires, cells (0T1R, 1T1R with
the access transistors of ``[access]``, 1S1R with the selectors of ``[selector]``) and
parasitic capacitors, a dynamic memristor per cell (:mod:`cimspice.write.models`) whose state
starts where ``states`` says (``.ic``), a piecewise-linear driver on every word line, bit line
and select line, and three energy integrators. Its output is interpolated to a grid on which
every phase ends, so that states, currents and energies are read exactly at the phase ends.

Static rows (1T1R only, ``dynamic_rows``): the cells of the rows not listed are fixed
resistors of their read conductance at their current state (the model's ``i / v`` at
``driver.v_read``, :func:`~cimspice.write.models.read_table`) instead of dynamic devices. This is
the approximation that makes row-by-row decks of large 1T1R arrays affordable (a behavioural
device costs ngspice ~15 us per Newton iteration, a resistor next to nothing): while the gates
of those rows are at 0 V their access transistors are off, the memristors behind them see
almost no voltage and keep their state, and what they draw is the off transistor's leakage,
which a fixed resistor in series carries as well as the device would. A program that turns on
the gate of a static row is refused. ``static_cells="open"`` goes one step further and leaves
the static rows' cells (memristor and access transistor) out of the deck: their leakage and
the transistors' capacitance on the bit lines are neglected, the deck shrinks to one row of
devices on the full wires (a 64x64 row deck runs in well under a second instead of ~12 s).
tests/test_write_rows.py checks both against the all-dynamic deck.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cimspice import __version__
from cimspice.errors import InputError, NetlistError
from cimspice.spec import CellKind, CrossbarSpec
from cimspice.topology import PassiveTopology
from cimspice.write.models import DynamicModel, read_table
from cimspice.write.pulses import Program

__all__ = [
    "DEFAULT_RELTOL",
    "STATIC_CELLS",
    "WriteDeck",
    "build_write_deck",
    "cell_factors",
    "print_step",
]

STATIC_CELLS = ("resistor", "open")
"""What the cells of a deck's static rows become (see the module)."""

DEFAULT_RELTOL = 1e-5
"""ngspice's reltol in write decks. One device's state under a pulse agrees with an ODE solver to
~1e-4 of its range at 1e-6 and ~3e-5 at 1e-7 (tests/test_write_models.py); on a 16x16 array
under a SET pulse the states at 1e-5 agreed with those at 1e-6 to 4e-7 nm (Stanford) and 2e-15
(VTEAM), 20-40% faster; at 1e-4 to 4e-6 nm and 4e-3 (the VTEAM cell switching)."""
GRID_S = 1e-15
"""Phase ends are placed on this grid (second) to find a common print step."""


@dataclass(frozen=True)
class WriteDeck:
    """A rendered write deck and the names of what it saves.

    Attributes:
        text: the netlist.
        t_step: second, the print step (every phase end is a multiple of it).
        ends: second, each phase's end.
        state_nodes: ``[rows][cols]`` state node names.
        word_sources, bit_sources: the drivers' names.
        dynamic_rows: the rows whose cells are dynamic devices (the others are fixed
            resistors: their ``state_nodes`` are not in the deck).
        osdi: the OSDI libraries ngspice loads before the deck (``write.osdi``).
    """

    text: str
    t_step: float
    ends: np.ndarray
    state_nodes: tuple[tuple[str, ...], ...]
    word_sources: tuple[str, ...]
    bit_sources: tuple[str, ...]
    dynamic_rows: tuple[int, ...] = ()
    osdi: tuple[str, ...] = ()

    @property
    def points(self) -> int:
        """Points of the output grid."""
        return round(float(self.ends[-1]) / self.t_step) + 1


def print_step(ends: np.ndarray) -> float:
    """The largest step (second) of which every phase end is a multiple (on a 1 fs grid).

    Raises:
        InputError: a phase end off the 1 fs grid.
    """
    ticks = np.rint(np.asarray(ends) / GRID_S)
    if np.any(np.abs(ticks * GRID_S - ends) > 1e-6 * np.maximum(ends, GRID_S)):
        raise InputError("phase durations and edges must be whole femtoseconds")
    step = 0
    for t in ticks.astype(np.int64).tolist():
        step = math.gcd(step, t)
    return step * GRID_S


def cell_factors(spec: CrossbarSpec) -> np.ndarray:
    """Each cell's factor on its model's switching rates, ``(rows, cols)``: log-normal with
    ``write.variation`` the standard deviation of its log, drawn from ``write.seed`` (ones
    when there is no variation)."""
    sigma = spec.write.variation
    if sigma == 0:
        return np.ones((spec.rows, spec.cols))
    rng = np.random.default_rng(np.random.SeedSequence([spec.write.seed, 16]))
    return np.exp(rng.normal(0.0, sigma, (spec.rows, spec.cols)))


def _table(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{t!r} {v!r}" for t, v in points)


def build_write_deck(
    spec: CrossbarSpec,
    model: DynamicModel,
    program: Program,
    states: np.ndarray,
    *,
    reltol: float = DEFAULT_RELTOL,
    dynamic_rows: Sequence[int] | None = None,
    static_cells: str = "resistor",
) -> WriteDeck:
    """Render the write deck of ``program`` on ``spec``'s array, every cell starting at
    ``states`` (``(rows, cols)``, in the model's state units).

    ``dynamic_rows`` (1T1R only; default all rows): the rows whose cells are dynamic devices;
    the others are fixed resistors at their states, or left out (``static_cells="open"``;
    see the module for the approximations).

    Raises:
        InputError: states of the wrong shape or outside the model's range; levels of the
            wrong length; static rows on a passive array, or a phase that turns on the gate
            of a static row.
        NetlistError: the template is missing or incomplete.
    """
    import jinja2

    from cimspice.netlist import _environment

    rows, cols = spec.rows, spec.cols
    x0 = np.asarray(states, dtype=float)
    if x0.shape != (rows, cols) or not np.all(np.isfinite(x0)):
        raise InputError(f"states must be finite, shape ({rows}, {cols}), got {x0.shape}")
    margin = 0.01 * (model.state_max - model.state_min)  # a bound is approached smoothly
    if x0.min() < model.state_min - margin or x0.max() > model.state_max + margin:
        raise InputError(
            f"states must lie in the model's range [{model.state_min}, {model.state_max}] "
            f"{model.unit}, got [{x0.min():.6g}, {x0.max():.6g}]"
        )
    for phase in program.phases:
        if phase.word.shape != (rows,) or phase.bit.shape != (cols,) or phase.gate.shape != (rows,):
            raise InputError(f"a phase's levels do not fit the {rows}x{cols} array")
    if not (0 < reltol < 1e-2):
        raise InputError(f"reltol must be in (0, 0.01), got {reltol!r}")
    dynamic = _dynamic_rows(spec, program, dynamic_rows)
    if static_cells not in STATIC_CELLS:
        raise InputError(f"static_cells must be 'resistor' or 'open', got {static_cells!r}")
    omit = static_cells == "open" and len(dynamic) < rows
    static_g = None if omit else _static_conductances(spec, model, x0, dynamic)
    ends = program.ends
    t_step = print_step(ends)
    topo = PassiveTopology.from_spec(spec)
    word, bit = topo.word_nodes(), topo.bit_nodes()
    one_t = spec.array.cell == CellKind.ONE_T_ONE_R
    one_s = spec.array.cell == CellKind.ONE_S_ONE_R
    word_sources = tuple(f"vw{i}" for i in range(rows))
    bit_sources = tuple(f"vb{j}" for j in range(cols))
    drivers = [
        (word_sources[i], topo.driver_node(i), _table(program.pwl("word", i))) for i in range(rows)
    ]
    drivers += [
        (bit_sources[j], topo.sense_node(j), _table(program.pwl("bit", j))) for j in range(cols)
    ]
    power = [(f"bpw{i}", topo.driver_node(i), word_sources[i], "ew") for i in range(rows)]
    power += [(f"bpb{j}", topo.sense_node(j), bit_sources[j], "eb") for j in range(cols)]
    if one_t:
        drivers += [(f"vg{i}", f"g{i}", _table(program.pwl("gate", i))) for i in range(rows)]
        power += [(f"bpg{i}", f"g{i}", f"vg{i}", "eg") for i in range(rows)]
    if omit and spec.wire.c_row == 0 and spec.wire.c_col == 0:
        segments = _collapsed_segments(topo, dynamic)
    else:
        segments = _segments(topo)
    factors = cell_factors(spec)
    inner = one_t or one_s
    memristors, initial, caps = [], [], []
    state_nodes = tuple(tuple(f"x{i}_{j}" for j in range(cols)) for i in range(rows))
    for i in range(rows):
        for j in range(cols):
            top = word[i][j]
            bottom = f"m{i}_{j}" if inner else bit[i][j]
            if omit and i not in dynamic:
                continue
            if spec.device.c_cell > 0:
                caps.append((f"cc{i}_{j}", top, bottom, repr(spec.device.c_cell)))
            if static_g is not None and i not in dynamic:
                memristors.append(f"r{i}_{j} {top} {bottom} {1.0 / float(static_g[i, j])!r}")
                continue
            # SET is the word line above the bit line, whatever the model's own polarity
            p, n = (top, bottom) if model.set_polarity > 0 else (bottom, top)
            memristors.append(
                model.instance(f"r{i}_{j}", p, n, state_nodes[i][j], float(factors[i, j]))
            )
            initial.append((state_nodes[i][j], repr(float(x0[i, j]))))
    fixed = {topo.driver_node(i) for i in range(rows)} | {topo.sense_node(j) for j in range(cols)}
    for c, nodes, prefix in ((spec.wire.c_row, word, "cw"), (spec.wire.c_col, bit, "cb")):
        if c > 0:
            count: dict[str, int] = {}
            for line in nodes:
                for node in line:
                    count[node] = count.get(node, 0) + 1
            caps += [
                (f"{prefix}{k}", node, "0", repr(c * m))
                for k, (node, m) in enumerate(count.items())
                if node not in fixed
            ]
    transistors: list[tuple[str, str, str, str]] = []
    transistor_text = transistor_source = transistor_model = ""
    if one_t:
        cards = spec.model_cards()
        prefix = cards.instance_prefix(spec.access.model)
        transistors = [
            (f"{prefix}mn{i}_{j}", f"m{i}_{j}", f"g{i}", bit[i][j])
            for i in range(rows)
            for j in range(cols)
            if not omit or i in dynamic
        ]
        transistor_text = cards.text.rstrip("\n")
        transistor_source = cards.name
        transistor_model = spec.access.model
    selectors = [
        (f"bs{i}_{j}", f"m{i}_{j}", bit[i][j]) for i in range(rows) for j in range(cols) if one_s
    ]
    save = [f"v({n})" for i in dynamic for n in state_nodes[i]] + ["v(ew)", "v(eb)", "v(eg)"]
    save += [f"i({s})" for s in (*word_sources, *bit_sources)]
    context = {
        "version": __version__,
        "rows": rows,
        "cols": cols,
        "cell": spec.array.cell.value,
        "model_name": model.name,
        "model_source": model.cards.name,
        "model_text": model.deck_text(
            float(factors[i, j]) for i in range(rows) for j in range(cols) if i in dynamic
        ),
        "transistor_text": transistor_text,
        "transistor_source": transistor_source,
        "transistor_model": transistor_model,
        "w": repr(spec.access.w),
        "l": repr(spec.access.l),
        "n_phases": len(program.phases),
        # half a step beyond the last phase end, so that the interpolated grid holds it
        "t_stop": repr(float(ends[-1]) + 0.5 * t_step),
        "t_step": repr(t_step),
        "reltol": repr(reltol),
        "method": "gear" if one_t else "trap",
        "drivers": drivers,
        "segments": segments,
        "memristors": memristors,
        "selectors": selectors,
        "i_s": repr(spec.selector.i_s),
        "v_s": repr(spec.selector.v_s),
        "transistors": transistors,
        "capacitors": caps,
        "power": power,
        "initial": initial,
        "save_line": " ".join(save),
    }
    try:
        text = _environment().get_template("memristor_write.cir.j2").render(context)
    except jinja2.TemplateNotFound as err:
        raise NetlistError(f"netlist template not found: {err.name}") from None
    except jinja2.UndefinedError as err:
        raise NetlistError(f"netlist template memristor_write.cir.j2: {err.message}") from None
    osdi = (model.osdi,) if model.osdi else ()
    return WriteDeck(text, t_step, ends, state_nodes, word_sources, bit_sources, dynamic, osdi)


Segment = tuple[str, str, str, str]
"""A wire segment: name, node, node, ohm."""


def _segments(topo: PassiveTopology) -> list[Segment]:
    """Every word-line and bit-line segment of the array."""
    rows, cols = topo.rows, topo.cols
    word, bit = topo.word_nodes(), topo.bit_nodes()
    segments: list[Segment] = []
    if topo.r_first > 0:
        segments += [
            (f"rw{i}_0", topo.driver_node(i), word[i][0], repr(topo.r_first)) for i in range(rows)
        ]
    if topo.r_row > 0:
        segments += [
            (f"rw{i}_{j}", word[i][j - 1], word[i][j], repr(topo.r_row))
            for i in range(rows)
            for j in range(1, cols)
        ]
    if topo.r_col > 0:
        segments += [
            (f"rb{i}_{j}", bit[i][j], bit[i + 1][j], repr(topo.r_col))
            for i in range(rows - 1)
            for j in range(cols)
        ]
    if topo.r_last > 0:
        segments += [
            (f"rb{rows - 1}_{j}", bit[rows - 1][j], topo.sense_node(j), repr(topo.r_last))
            for j in range(cols)
        ]
    return segments


def _collapsed_segments(topo: PassiveTopology, dynamic: tuple[int, ...]) -> list[Segment]:
    """The segments of a deck whose static rows' cells are left out and whose lines have no
    capacitance: only the dynamic rows' word lines, and each bit line as the series
    resistances between its dynamic rows and down to its sense node (no current flows
    through the rest, so this is exact for that deck)."""
    rows, cols = topo.rows, topo.cols
    word, bit = topo.word_nodes(), topo.bit_nodes()
    out: list[Segment] = []
    for i in dynamic:
        if topo.r_first > 0:
            out.append((f"rw{i}_0", topo.driver_node(i), word[i][0], repr(topo.r_first)))
        if topo.r_row > 0:
            out += [
                (f"rw{i}_{j}", word[i][j - 1], word[i][j], repr(topo.r_row)) for j in range(1, cols)
            ]
    last = dynamic[-1]
    r_down = topo.r_col * (rows - 1 - last) + topo.r_last
    for j in range(cols):
        if topo.r_col > 0:
            out += [
                (f"rb{a}_{j}", bit[a][j], bit[b][j], repr(topo.r_col * (b - a)))
                for a, b in itertools.pairwise(dynamic)
            ]
        if r_down > 0:
            out.append((f"rb{rows - 1}_{j}", bit[last][j], topo.sense_node(j), repr(r_down)))
    return out


def _dynamic_rows(
    spec: CrossbarSpec, program: Program, dynamic_rows: Sequence[int] | None
) -> tuple[int, ...]:
    """The checked rows of dynamic cells (all rows by default)."""
    every = tuple(range(spec.rows))
    if dynamic_rows is None or sorted({int(i) for i in dynamic_rows}) == list(every):
        return every
    if spec.array.cell != CellKind.ONE_T_ONE_R:
        raise InputError(
            "static rows (dynamic_rows) need 1T1R cells: in a passive array the unselected "
            f"rows' cells are half-selected, not isolated (array.cell is {spec.array.cell.value})"
        )
    rows = sorted({int(i) for i in dynamic_rows})
    if not rows or rows[0] < 0 or rows[-1] >= spec.rows:
        raise InputError(
            f"dynamic_rows must name rows of the {spec.rows}-row array, got {list(dynamic_rows)}"
        )
    static = np.setdiff1d(np.arange(spec.rows), rows)
    for k, phase in enumerate(program.phases):
        on = static[phase.gate[static] != 0]
        if on.size:
            raise InputError(
                f"phase {k} ({phase.kind}) turns on the gate of row {int(on[0])}, whose cells "
                "are static in this deck (add it to dynamic_rows)"
            )
    if program.start is not None and np.any(program.start.gate[static] != 0):
        raise InputError("the program starts with the gate of a static row on")
    return tuple(rows)


def _static_conductances(
    spec: CrossbarSpec, model: DynamicModel, states: np.ndarray, dynamic: tuple[int, ...]
) -> np.ndarray | None:
    """Siemens, the read conductance of every cell at its state (``None``: no static rows)."""
    if len(dynamic) == spec.rows:
        return None
    return read_table(model, spec.driver.v_read).conductance(states)
