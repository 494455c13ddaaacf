"""Netlist generation: Jinja templates (``netlists/*.cir.j2``) rendered into ngspice decks.

``render`` is pure: the same spec, conductances and inputs give the same text, byte for byte.
One input vector gives an ``.op`` deck with DC sources; a batch gives a ``.dc`` deck in which
each driver is a table of its inputs indexed by the sweep variable, so that every vector is
solved in one ngspice session without re-ordering the matrix per vector.

The sweep variable (see :class:`Sweep`) is by default the circuit temperature: a passive deck
holds nothing temperature-dependent, and a temperature sweep adds nothing to the matrix, where
an index source couples every driver to one node (2-3x slower per vector, BENCHMARKS.md).
"""

from __future__ import annotations

import enum
import functools
import os
from dataclasses import dataclass

import jinja2
import numpy as np

from cimspice import __version__
from cimspice.arguments import check_fields, flag, instance
from cimspice.arrays import check_conductances, check_inputs
from cimspice.errors import InputError, NetlistError
from cimspice.memory import check_fits
from cimspice.resources import data_dir
from cimspice.spec import BUILTIN_TRANSISTOR_MODELS, CellKind, CrossbarSpec, as_spec
from cimspice.topology import PassiveTopology

__all__ = [
    "Deck",
    "Sweep",
    "Transient",
    "build_deck",
    "default_conductances",
    "default_inputs",
    "render",
]

TEMPLATE = "crossbar.cir.j2"
DECK_BYTES_PER_CELL = 2000
"""Bytes per cell of building a deck, about: node names, element lines and the text (measured
with tracemalloc: a peak of 1.1 kB per cell for 64x64, 0.9 kB for 256x256; the text itself is
~90 bytes per cell)."""
SAVE_ALL_LIMIT_BYTES = 256 * 2**20
"""Above this size of results, a deck saves only the source currents (see build_deck)."""


@functools.cache
def _environment() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(data_dir("netlists")))
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.globals["part"] = _render_part
    return env


def render_template(name: str, context: dict[str, object]) -> str:
    """Template ``name`` of ``netlists/`` rendered with ``context`` (undefined names refused).

    Raises:
        NetlistError: the template is missing, or names something ``context`` lacks.
    """
    try:
        return _environment().get_template(name).render(context)
    except jinja2.TemplateNotFound as err:
        raise NetlistError(f"netlist template not found: {err.name}") from None
    except jinja2.UndefinedError as err:
        raise NetlistError(f"netlist template {name}: {err.message}") from None


@jinja2.pass_context
def _render_part(context: jinja2.runtime.Context, name: str) -> str:
    """``{{ part("x.cir.j2") }}``: render a sub-template with the same variables.

    Like ``{% include %}``, but the part is rendered to one string first: an include passes
    each of its hundreds of thousands of fragments through the including template, which
    doubles the cost of a large deck.
    """
    text = context.environment.get_template(name).render(context.get_all())
    return text.removesuffix("\n")


class Sweep(enum.StrEnum):
    """How a batch deck steps from one input vector to the next."""

    TEMPERATURE = "temp"
    """``.dc temp``: drivers are tables of ``temper`` (valid when no element depends on
    temperature, as in every passive deck)."""
    INDEX = "index"
    """``.dc`` over an index voltage source: drivers are tables of ``v(vec)`` (valid for any
    deck; measured 2-3x slower per vector, and ngspice reproduces each driver's value to
    ~5e-11 relative rather than exactly)."""


def default_conductances(spec: CrossbarSpec) -> np.ndarray:
    """Every cell at ``device.g_max`` (the worst case for IR drop), siemens."""
    return np.full((spec.rows, spec.cols), spec.device.g_max)


def default_inputs(spec: CrossbarSpec) -> np.ndarray:
    """One vector with every word line at ``driver.v_read``, volts, shape ``(1, rows)``."""
    return np.full((1, spec.rows), spec.driver.v_read)


@dataclass(frozen=True)
class Deck:
    """A rendered deck and the names of the ngspice vectors that hold its results.

    Attributes:
        text: the netlist.
        batch: number of input vectors (points of the analysis).
        analysis: ``"op"`` (one vector) or ``"dc"`` (a batch).
        sense_sources: voltage sources whose branch current is each bit line's output,
            ``(cols,)``; ngspice's branch current flows into the source's + node, i.e. out of
            the sense node, so it equals the output current with its sign as defined.
        driver_sources: the source driving each word line, ``(rows,)``.
        word_nodes, bit_nodes: node name at each cell, ``[rows][cols]``.
        saves_nodes: whether the deck saves every node voltage.
        readout_sources: the sources that power the readout, if any: the behavioural
            op-amps' outputs (one per bit line), or the CMOS op-amps' two supply rails.
        output_nodes: the readout's output node per bit line (TIA outputs), if any.
        supply_voltages: volt, the voltage of each readout source when they are supply
            rails (CMOS op-amps); empty for behavioural op-amps.
    """

    text: str
    saves_nodes: bool
    readout_sources: tuple[str, ...]
    output_nodes: tuple[str, ...]
    batch: int
    analysis: str
    sense_sources: tuple[str, ...]
    driver_sources: tuple[str, ...]
    word_nodes: tuple[tuple[str, ...], ...]
    bit_nodes: tuple[tuple[str, ...], ...]
    supply_voltages: tuple[float, ...] = ()


@dataclass(frozen=True)
class Transient:
    """A transient run.

    With ``pulse_period = 0`` (level encoding) every word line steps from 0 V to its input at
    t = 0. With a pulse period (pulse-width encoding) every word line instead pulses to
    ``driver.v_read`` from t = 0 for ``pulse_period * V_i / v_read`` seconds (inputs in
    ``[0, v_read]``), so that the charge each bit line collects over the period is
    ``pulse_period * (V @ G)`` for an ideal array.

    Attributes:
        t_stop: second, the simulated window.
        t_step: second, ngspice's print step (its internal step adapts).
        t_rise: second, the inputs' rise (and fall) time.
        pulse_period: second, the pulse-width encoding's full-scale pulse (0: level inputs).
    """

    t_stop: float
    t_step: float
    t_rise: float = 1e-12
    pulse_period: float = 0.0

    def __post_init__(self) -> None:
        check_fields(self, "transient")
        for name in ("t_stop", "t_step", "t_rise"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise InputError(f"{name} must be > 0 s, got {value!r}")
        if not (np.isfinite(self.pulse_period) and 0 <= self.pulse_period < self.t_stop):
            raise InputError(
                f"pulse_period must be >= 0 and below t_stop ({self.t_stop}), got "
                f"{self.pulse_period!r}"
            )
        if self.t_step > self.t_stop or self.t_rise >= self.t_stop:
            raise InputError(
                f"t_step ({self.t_step}) and t_rise ({self.t_rise}) must be below t_stop "
                f"({self.t_stop})"
            )


def _pulse_drivers(
    spec: CrossbarSpec,
    v: np.ndarray,
    transient: Transient,
    names: tuple[str, ...],
    nodes: list[str],
) -> list[tuple[str, str, str]]:
    """PWL tables of pulse-width-encoded inputs: v_read for ``period * V_i / v_read`` s."""
    v_read = spec.driver.v_read
    if np.any(v < 0) or np.any(v > v_read):
        raise InputError(
            f"pulse-width encoding takes inputs in [0, {v_read}] V (driver.v_read), got "
            f"[{v.min():.4g}, {v.max():.4g}] V"
        )
    rise = transient.t_rise
    out = []
    for name, node, x in zip(names, nodes, v.tolist(), strict=True):
        width = transient.pulse_period * x / v_read
        if width <= rise:  # a pulse too short to rise: the line stays at 0 V
            table = "0 0"
        else:
            table = f"0 0 {rise!r} {v_read!r} {width!r} {v_read!r} {width + rise!r} 0"
        out.append((name, node, table))
    return out


def _capacitors(
    spec: CrossbarSpec,
    word: list[list[str]],
    bit: list[list[str]],
    cells: list[tuple[str, str, str, str]],
) -> list[tuple[str, str, str, str]]:
    """Parasitic capacitors: one per distinct line node to ground, one across each cell."""
    out: list[tuple[str, str, str, str]] = []
    # Nodes held by ideal sources need no capacitor: the drivers, and the sense nodes of an
    # ideal readout (a TIA's sense node moves, and keeps its capacitance).
    fixed = {f"d{i}" for i in range(spec.rows)}
    if not spec.has_tia:
        fixed |= {f"s{j}" for j in range(spec.cols)}
    for c, nodes, prefix in ((spec.wire.c_row, word, "cw"), (spec.wire.c_col, bit, "cb")):
        if c > 0:
            # one capacitor per distinct node, holding every cell position's share (a line
            # without resistance is one node with the whole line's capacitance)
            count: dict[str, int] = {}
            for row in nodes:
                for node in row:
                    count[node] = count.get(node, 0) + 1
            out += [
                (f"{prefix}{node[1:]}", node, "0", repr(c * n))
                for node, n in count.items()
                if node not in fixed
            ]
    if spec.device.c_cell > 0:
        out += [(f"cc{name[2:]}", a, b, repr(spec.device.c_cell)) for name, a, b, _ in cells]
    return out


def _sweep_for(spec: CrossbarSpec, sweep: Sweep | str | None) -> Sweep:
    if sweep is None:
        return Sweep.INDEX if spec.depends_on_temperature else Sweep.TEMPERATURE
    try:
        chosen = Sweep(sweep)
    except ValueError:
        known = ", ".join(repr(s.value) for s in Sweep)
        raise InputError(f"sweep must be one of {known} (or None), got {sweep!r}") from None
    if chosen == Sweep.TEMPERATURE and spec.depends_on_temperature:
        raise NetlistError(
            "a temperature sweep would change the deck's transistors (1T1R cells or CMOS "
            "op-amps): use Sweep.INDEX"
        )
    return chosen


def _access_context(spec: CrossbarSpec, g: np.ndarray, bit: list[list[str]]) -> dict[str, object]:
    """Template variables of the 1T1R access transistors and select lines."""
    rows, cols = spec.rows, spec.cols
    acc = spec.access
    if acc.r_select > 0:
        gate = [[f"g{i}_{j}" for j in range(cols)] for i in range(rows)]
        r = repr(acc.r_select)
        segments = [
            (f"rg{i}_{j}", gate[i][j - 1], gate[i][j], r)
            for i in range(rows)
            for j in range(1, cols)
        ]
        sources = [(f"vg{i}", gate[i][0]) for i in range(rows)]
    else:
        gate = [[f"g{i}"] * cols for i in range(rows)]
        segments = []
        sources = [(f"vg{i}", f"g{i}") for i in range(rows)]
    cards = spec.model_cards()
    # a subcircuit-wrapped model (a foundry's MOSFET with its parasitics) is called with X
    prefix = cards.instance_prefix(acc.model)
    transistors = [
        (f"{prefix}mn{i}_{j}", f"m{i}_{j}", gate[i][j], bit[i][j])
        for i in range(rows)
        for j in range(cols)
        if g[i, j] > 0
    ]
    return {
        "v_gate": repr(acc.v_gate),
        "select_sources": sources,
        "select_segments": segments,
        "transistors": transistors,
        "model": acc.model,
        "w": repr(acc.w),
        "l": repr(acc.l),
        "model_builtin": not acc.model_file,
        "model_source": cards.name + ("" if not acc.model_file else ", checked model cards"),
        "model_text": cards.text.rstrip("\n"),
    }


def _opamp_context(spec: CrossbarSpec, access: dict[str, object]) -> dict[str, object]:
    """Template variables of the CMOS op-amp (``netlists/opamp_cmos.cir.j2``)."""
    if not spec.has_cmos_opamps:
        return {"cmos": False}
    path = data_dir("models") / BUILTIN_TRANSISTOR_MODELS["nmos65"]["file"]
    # A 1T1R tile on the built-in card has already included it (a model defined twice is an
    # error in ngspice).
    included = bool(access.get("model_builtin")) and access.get("model_source") == path.name
    try:
        text = "" if included else path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise NetlistError(f"cannot read model file {path}: {err}") from None
    return {
        "cmos": True,
        "v_rail": repr(spec.readout.v_supply / 2),
        "i_bias": repr(spec.readout.i_bias),
        "include_models": not included,
        "opamp_model_source": path.name,
        "opamp_model_text": text.rstrip("\n"),
    }


def _pwl_table(values: np.ndarray) -> str:
    """A flat PWL table holding ``values[k]`` on the plateau ``k - 0.25 .. k + 0.25``."""
    parts = []
    for k, v in enumerate(values.tolist()):
        r = repr(v)
        parts.append(f"{k - 0.25}, {r}, {k + 0.25}, {r}")
    return ", ".join(parts)


def build_deck(
    spec: CrossbarSpec | str | os.PathLike[str],
    conductances: np.ndarray | None = None,
    inputs: np.ndarray | None = None,
    *,
    save_nodes: bool | None = None,
    sweep: Sweep | str | None = None,
    transient: Transient | None = None,
) -> Deck:
    """Render the deck for ``spec`` with the given arrays (defaults: see ``default_*``).

    Args:
        spec: the array spec.
        conductances: ``(rows, cols)`` siemens.
        inputs: ``(batch, rows)`` or ``(rows,)`` volts.
        save_nodes: ``True`` saves every node voltage (needed for cell voltages), ``False``
            only the source currents; ``None`` (default) saves everything unless that would
            take more than ``SAVE_ALL_LIMIT_BYTES`` of results. Saving everything is the
            faster choice when it fits: ngspice matches a list of saves against every node
            (0.7 s for a 256x256 array), while a batch's results grow with its length.
        sweep: the batch deck's sweep variable (see :class:`Sweep`); by default temperature,
            or the index source when the tile holds (temperature-dependent) transistors.
        transient: render a transient deck instead: the (single) input vector is a step at
            t = 0 (see :class:`Transient`).

    Raises:
        InputError: invalid arrays or another argument of the wrong type (named).
        SpecError: ``spec`` names a missing or invalid spec file.
        NetlistError: a template is missing or incomplete.
        MemoryLimitError: the deck would not fit in the memory available.

    """
    spec = as_spec(spec)
    if spec.is_charge:
        raise NetlistError(
            'a charge-domain tile (array.cell = "1C") has no DC crossbar deck: its MAC-cycle '
            "transient is cimspice.charge.deck.build_charge_deck"
        )
    if save_nodes is not None:
        save_nodes = flag(save_nodes, "save_nodes")
    if transient is not None:
        instance(transient, Transient, "transient", "a Transient or None")
    check_fits(
        DECK_BYTES_PER_CELL * float(spec.rows) * float(spec.cols),
        f"the deck of a {spec.rows}x{spec.cols} tile",
    )
    g = check_conductances(
        default_conductances(spec) if conductances is None else conductances, spec.rows, spec.cols
    )
    v = check_inputs(default_inputs(spec) if inputs is None else inputs, spec.rows)
    topo = PassiveTopology.from_spec(spec)
    rows, cols = spec.rows, spec.cols
    batch = v.shape[0]
    if spec.readout.kind.value == "integrator" and transient is None:
        raise InputError(
            "an integrator readout has no operating point (its feedback is a capacitor): "
            "run a transient (--analysis tran)"
        )
    if transient is not None and batch != 1:
        raise InputError(f"a transient deck takes one input vector, got a batch of {batch}")
    if save_nodes is None:
        n_vectors = 2 * rows * cols + rows + cols  # node voltages and branch currents, at most
        save_nodes = n_vectors * batch * 8 <= SAVE_ALL_LIMIT_BYTES
    word = topo.word_nodes()
    bit = topo.bit_nodes()
    driver_nodes = [topo.driver_node(i) for i in range(rows)]
    sense_nodes = [topo.sense_node(j) for j in range(cols)]
    sense_sources = tuple(f"vs{j}" for j in range(cols))
    driver_sources = tuple((f"vd{i}" if batch == 1 else f"bd{i}") for i in range(rows))
    if transient is not None and transient.pulse_period > 0:
        drivers = _pulse_drivers(spec, v[0], transient, driver_sources, driver_nodes)
    elif batch == 1:
        drivers = [
            (name, node, repr(x))
            for name, node, x in zip(driver_sources, driver_nodes, v[0].tolist(), strict=True)
        ]
    else:
        drivers = [
            (name, node, _pwl_table(v[:, i]))
            for i, (name, node) in enumerate(zip(driver_sources, driver_nodes, strict=True))
        ]
    word_segments: list[tuple[str, str, str, str]] = []
    if topo.r_first > 0:
        r = repr(topo.r_first)
        word_segments += [(f"rw{i}_0", driver_nodes[i], word[i][0], r) for i in range(rows)]
    if topo.r_row > 0:
        r = repr(topo.r_row)
        word_segments += [
            (f"rw{i}_{j}", w[j - 1], w[j], r) for i, w in enumerate(word) for j in range(1, cols)
        ]
    bit_segments: list[tuple[str, str, str, str]] = []
    if topo.r_col > 0:
        r = repr(topo.r_col)
        bit_segments += [
            (f"rb{i}_{j}", bit[i][j], bit[i + 1][j], r)
            for i in range(rows - 1)
            for j in range(cols)
        ]
    if topo.r_last > 0:
        r = repr(topo.r_last)
        last = bit[rows - 1]
        bit_segments += [(f"rb{rows - 1}_{j}", last[j], sense_nodes[j], r) for j in range(cols)]
    # Linear cells hold 1/G in ohm, sinh cells G*v0 in ampere; printed with repr() so the
    # doubles round-trip exactly.
    iv = spec.device.iv.value
    v0 = spec.device.v0
    if iv == "sinh":
        prefix, value = "bc", (lambda gij: repr(gij * v0))
    else:
        prefix, value = "rc", (lambda gij: repr(1.0 / gij))
    one_t = spec.has_transistors
    one_s = spec.array.cell == CellKind.ONE_S_ONE_R
    inner = one_t or one_s  # the memristor ends at an inner node m<i>_<j>
    cells = [
        (f"{prefix}{i}_{j}", w[j], f"m{i}_{j}" if inner else b[j], value(gij))
        for i, (w, b, grow) in enumerate(zip(word, bit, g.tolist(), strict=True))
        for j, gij in enumerate(grow)
        if gij > 0
    ]
    capacitors = _capacitors(spec, word, bit, cells)
    access: dict[str, object] = {}
    if one_t:
        access = _access_context(spec, g, bit)
    selectors = [
        (f"bs{i}_{j}", f"m{i}_{j}", bit[i][j])
        for i in range(rows)
        for j in range(cols)
        if one_s and g[i, j] > 0
    ]
    readout_sources: tuple[str, ...] = ()
    supply_voltages: tuple[float, ...] = ()
    if spec.has_cmos_opamps:
        v_rail = spec.readout.v_supply / 2
        readout_sources, supply_voltages = ("vdda", "vssa"), (v_rail, -v_rail)
    elif spec.has_tia:
        readout_sources = tuple(f"bo{j}" for j in range(cols))
    output_nodes = tuple(f"o{j}" for j in range(cols)) if spec.has_tia else ()
    context = {
        "version": __version__,
        "spec_hash": spec.content_hash(),
        "rows": rows,
        "cols": cols,
        "cell": spec.array.cell.value,
        "batch": batch,
        "sweep": _sweep_for(spec, sweep).value,
        "drivers": drivers,
        "word_segments": word_segments,
        "bit_segments": bit_segments,
        "cells": cells,
        "selectors": selectors,
        "i_s": repr(spec.selector.i_s),
        "v_s": repr(spec.selector.v_s),
        **access,
        "iv": iv,
        "nonlinear": not spec.is_linear,
        "v0": repr(v0),
        "sense": list(zip(sense_sources, sense_nodes, strict=True)),
        "readout": spec.readout.kind.value,
        "capacitors": capacitors,
        "c_row": repr(spec.wire.c_row),
        "c_col": repr(spec.wire.c_col),
        "c_cell": repr(spec.device.c_cell),
        "transient": transient is not None,
        "pulse": transient is not None and transient.pulse_period > 0,
        "t_stop": repr(transient.t_stop) if transient else "",
        "t_step": repr(transient.t_step) if transient else "",
        "t_rise": repr(transient.t_rise) if transient else "",
        "tia": [(f"vs{j}", sense_nodes[j], f"x{j}", f"o{j}") for j in range(cols)],
        "r_f": repr(spec.readout.r_f),
        "gain": repr(spec.readout.gain),
        "v_offset": repr(spec.readout.v_offset),
        "v_swing": repr(spec.readout.v_swing),
        "gbw": repr(spec.readout.gbw),
        "c_f": repr(spec.readout.c_f),
        "t_reset": repr(spec.readout.t_reset),
        "t_reset_on": spec.readout.t_reset > 0,
        "t_reset_off": repr(spec.readout.t_reset + (transient.t_rise if transient else 1e-12)),
        # the pole: 1 mS into R = gain / 1 mS, with R C = gain / (2 pi gbw)
        "r_pole": repr(spec.readout.gain / 1e-3),
        "c_pole": repr(1e-3 / (2 * np.pi * spec.readout.gbw)),
        **_opamp_context(spec, access),
        "save_nodes": save_nodes,
        "save_line": " ".join(
            [f"i({name})" for name in (*sense_sources, *driver_sources, *readout_sources)]
            + [f"v({node})" for node in output_nodes]
        ),
    }
    try:
        text = _environment().get_template(TEMPLATE).render(context)
    except jinja2.TemplateNotFound as err:
        raise NetlistError(f"netlist template not found: {err.name}") from None
    except jinja2.UndefinedError as err:
        raise NetlistError(f"netlist template {TEMPLATE}: {err.message}") from None
    analysis = "tran" if transient is not None else ("op" if batch == 1 else "dc")
    return Deck(
        text=text,
        saves_nodes=save_nodes,
        readout_sources=readout_sources,
        output_nodes=output_nodes,
        batch=batch,
        analysis=analysis,
        sense_sources=sense_sources,
        driver_sources=driver_sources,
        word_nodes=tuple(tuple(r) for r in word),
        bit_nodes=tuple(tuple(r) for r in bit),
        supply_voltages=supply_voltages,
    )


def render(
    spec: CrossbarSpec | str | os.PathLike[str],
    conductances: np.ndarray | None = None,
    inputs: np.ndarray | None = None,
    *,
    save_nodes: bool | None = None,
) -> str:
    """The ngspice deck text for ``spec`` (a spec or a spec file's path; see
    :func:`build_deck`)."""
    return build_deck(spec, conductances, inputs, save_nodes=save_nodes).text
