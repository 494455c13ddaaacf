"""The MAC-cycle transient deck of a charge-domain (1C) tile.

:func:`build_charge_deck` renders ``netlists/charge_array.cir.j2``: the cells' weight-bit
switches and capacitors, the input lines' pull-up and pull-down switches, the columns' reset
switches and parasitics, the clocks of ``cycles`` MAC cycles (one input vector each), and an
integrator of the energy the sources deliver. Switches are ideal (resistors and ngspice
voltage-controlled switches) or NMOS of the built-in 65 nm card (``charge.switch``).

With :class:`NoiseOptions` each column's reset switch gets its thermal noise as a series
``trnoise`` source of one-sided density ``4 k T r_reset``: when the switch opens, the column
keeps ``kT / C_T`` of it (the kT/C noise). With ``switches`` every other switch (each cell's
weight-bit switch, each line's pull-up and pull-down) and each driver's source resistance
(``driver.r_source``) get theirs too (``4 k T r_on``, ``4 k T r_source``): in the share
phase they move the bottom plates, and the floating columns with them. Only ideal switches
carry noise (ngspice's transient noise has no transistor thermal noise); the others are
noiseless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cimspice import __version__
from cimspice.charge.closed_form import BOLTZMANN, column_capacitance, settling_constant
from cimspice.errors import InputError
from cimspice.spec import BUILTIN_TRANSISTOR_MODELS, CrossbarSpec, SwitchKind

__all__ = [
    "DEFAULT_RELTOL",
    "NOISE_RELTOL",
    "R_OFF",
    "TRANSISTOR_RELTOL",
    "ChargeDeck",
    "NoiseOptions",
    "build_charge_deck",
    "check_bits",
    "check_levels",
    "pwl_table",
    "render_charge",
]

DEFAULT_RELTOL = 1e-6
"""ngspice's reltol in ideal-switch charge decks. It sets the time steps only: such a deck is
linear between switch events, and the floating columns' charge is conserved by every
integration step exactly, so the sampled values do not depend on it."""
TRANSISTOR_RELTOL = 1e-4
"""ngspice's reltol in transistor-switch charge decks: an 8x3 tile's sampled columns moved
by < 25 uV (of a ~15 mV injection offset) from 1e-6, at ~4x fewer BSIM4 evaluations on a
64x64 tile."""
R_OFF = 1e15
"""Ohm: an open ideal switch (a column's charge leaks ``1e-10`` of itself in 1 ns at 1 fF...
``t / (R_OFF C)``)."""
NOISE_RELTOL = 1e-3
"""ngspice's reltol in noise decks: the time step is held at the noise step anyway, and the
deck is linear, so the noise-free part stays exact (tests/test_charge_circuit.py checks the
noise's mean); at 1e-6 the switch events of a noise deck can stall ngspice's step control."""
NOISE_STEPS_PER_TAU = 20
"""Noise samples per reset time constant ``r_reset * C_T``: trnoise interpolates its samples
linearly, which takes ~(step / tau) / 6 of the variance off the filtered noise."""
SETTLED_TAUS = 10
"""With noise, the reset phase must last this many reset time constants, so that the column
holds the noise of equilibrium (and forgets the previous cycle's: e^-10)."""


@dataclass(frozen=True)
class NoiseOptions:
    """Thermal noise of the reset switches in a charge deck.

    Attributes:
        seed: ngspice's random seed (a positive integer).
        temperature_k: kelvin, the switches' temperature.
        switches: every switch and driver resistance noisy too, not the reset switches
            alone (see the module).
    """

    seed: int = 1
    temperature_k: float = 300.0
    switches: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.seed, int) and 1 <= self.seed < 2**31):
            raise InputError(f"noise seed must be an integer in [1, 2^31), got {self.seed!r}")
        if not (isinstance(self.temperature_k, int | float) and 0 < self.temperature_k < 1e4):
            raise InputError(f"temperature must be in (0, 1e4) K, got {self.temperature_k!r}")


@dataclass(frozen=True)
class ChargeDeck:
    """A rendered charge deck and when to read it.

    Attributes:
        text: the netlist.
        cycles: MAC cycles (input vectors) in the deck.
        sample_times: second, ``(cycles,)``: when each cycle's columns are sampled.
        cycle_starts: second, ``(cycles + 1,)``: each cycle's start, then the deck's end.
        column_nodes: the column node names, ``(cols,)``.
        energy_node: the node whose voltage is the delivered energy in fJ.
    """

    text: str
    cycles: int
    sample_times: np.ndarray
    cycle_starts: np.ndarray
    column_nodes: tuple[str, ...]
    energy_node: str = "en"


def check_bits(bits: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``bits`` as a float array of 0s and 1s, ``(rows, cols)``.

    Raises:
        InputError: another shape, or a value other than 0 and 1 (named).
    """
    try:
        b = np.asarray(bits, dtype=float)
    except (TypeError, ValueError):
        raise InputError("weight bits must be an array of 0s and 1s") from None
    if b.shape != (rows, cols):
        raise InputError(f"weight bits must have shape ({rows}, {cols}), got {b.shape}")
    bad = (b != 0) & (b != 1)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise InputError(f"weight bits must be 0 or 1, got {float(b[i, j])!r} at ({i}, {j})")
    return b


def check_levels(levels: np.ndarray, spec: CrossbarSpec) -> np.ndarray:
    """``levels`` (V, ``(cycles, rows)`` or ``(rows,)``) as a 2-D float array.

    Raises:
        InputError: another shape, a non-finite level, or one outside ``[0, driver.v_read]``.
    """
    try:
        x = np.atleast_2d(np.asarray(levels, dtype=float))
    except (TypeError, ValueError):
        raise InputError("input levels must be an array of volts") from None
    if x.ndim != 2 or x.shape[1] != spec.rows or x.shape[0] == 0:
        raise InputError(f"input levels must have shape (cycles, {spec.rows}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError("input levels must be finite (NaN or inf found)")
    top = spec.driver.v_read
    if x.min() < 0 or x.max() > top * (1 + 1e-12):
        raise InputError(
            f"input levels must lie in [0, driver.v_read = {top!r}] V, got "
            f"[{x.min():.6g}, {x.max():.6g}]"
        )
    return x


def pwl_table(points: list[tuple[float, float]]) -> str:
    """An ngspice ``pwl(...)`` table of ``(time, value)`` points."""
    return " ".join(f"{t!r} {v!r}" for t, v in points)


def _clock_tables(spec: CrossbarSpec, cycles: int) -> tuple[str, str, np.ndarray, np.ndarray]:
    ch = spec.charge
    period, e, hi = ch.period, ch.t_edge, ch.v_gate
    rst: list[tuple[float, float]] = [(0.0, hi)]
    drv: list[tuple[float, float]] = [(0.0, 0.0)]
    samples = np.empty(cycles)
    for k in range(cycles):
        t0 = k * period
        if k:
            rst += [(t0, 0.0), (t0 + e, hi)]
        rst += [(t0 + ch.t_reset, hi), (t0 + ch.t_reset + e, 0.0)]
        t_s = t0 + ch.t_reset + 2 * e + ch.t_share
        drv += [(t0 + ch.t_reset + e, 0.0), (t0 + ch.t_reset + 2 * e, hi), (t_s, hi)]
        drv += [(t_s + e, 0.0)]
        samples[k] = t_s
    return pwl_table(rst), pwl_table(drv), samples, np.arange(cycles + 1) * period


def _level_table(values: np.ndarray, period: float, edge: float) -> str:
    points = [(0.0, float(values[0]))]
    for k in range(1, len(values)):
        if values[k] != values[k - 1]:
            t0 = k * period
            points += [(t0, float(values[k - 1])), (t0 + edge, float(values[k]))]
    return pwl_table(points)


def build_charge_deck(
    spec: CrossbarSpec,
    bits: np.ndarray,
    levels: np.ndarray,
    caps: np.ndarray,
    *,
    noise: NoiseOptions | None = None,
    reltol: float | None = None,
) -> ChargeDeck:
    """Render the deck of ``len(levels)`` MAC cycles of ``spec``'s 1C tile.

    Args:
        spec: a tile with ``array.cell = "1C"``.
        bits: ``(rows, cols)`` weight bits (0 or 1).
        levels: V, ``(cycles, rows)``: each input line's level in each cycle's drive phase.
        caps: F, ``(rows, cols)``: the cell capacitors (see
            :func:`~cimspice.charge.capacitors.cell_capacitances`).
        noise: the reset switches' thermal noise (ideal switches only), or ``None``.
        reltol: ngspice's relative tolerance (default :data:`DEFAULT_RELTOL`;
            :data:`TRANSISTOR_RELTOL` with transistor switches, :data:`NOISE_RELTOL` with
            noise).

    Raises:
        InputError: a tile that is not 1C, bad bits, levels or capacitors, noise with
            transistor switches or with a reset phase too short to settle the noise.
        NetlistError: the template is missing or incomplete.
    """
    from cimspice.netlist import render_template

    if not spec.is_charge:
        raise InputError(
            f'a charge deck needs a charge-domain tile (array.cell = "1C"), got '
            f"{spec.array.cell.value!r}"
        )
    rows, cols, ch = spec.rows, spec.cols, spec.charge
    b = check_bits(bits, rows, cols)
    x = check_levels(levels, spec)
    c = np.asarray(caps, dtype=float)
    if c.shape != (rows, cols) or not np.all(np.isfinite(c)) or c.min() <= 0:
        raise InputError(f"capacitors must be finite and > 0, shape ({rows}, {cols})")
    transistor = ch.switch == SwitchKind.TRANSISTOR
    if reltol is None:
        if noise is not None:
            reltol = NOISE_RELTOL
        else:
            reltol = TRANSISTOR_RELTOL if transistor else DEFAULT_RELTOL
    if not (0 < reltol < 1e-2):
        raise InputError(f"reltol must be in (0, 0.01), got {reltol!r}")
    context: dict[str, object] = {
        "version": __version__,
        "rows": rows,
        "cols": cols,
        "cycles": len(x),
        "switch": ch.switch.value,
        "transistor": transistor,
        "period": repr(ch.period),
        "t_reset": repr(ch.t_reset),
        "t_share": repr(ch.t_share),
        "reltol": repr(reltol),
        # BSIM4's charges converge to ~1e-15 A and 1e-9 V at best; ideal decks are linear
        "abstol": "1e-15" if transistor else "1e-18",
        "vntol": "1e-9" if transistor else "1e-12",
        "v_gate": repr(ch.v_gate),
        "v_threshold": repr(ch.v_gate / 2),
        # a switch without hysteresis chatters when it closes onto a node at its own
        # voltage (ngspice: "timestep too small"); +-10 % of the clock swing stays inside
        # the edges, so the clocks remain non-overlapping
        "v_hysteresis": repr(ch.v_gate / 10),
        "r_on": repr(ch.r_on),
        "r_reset": repr(ch.r_reset),
        "r_off": repr(R_OFF),
        "v_reset": repr(ch.v_reset),
        "c_par": ch.c_column,
        "noise": noise is not None,
    }
    r_source = spec.driver.r_source
    switch_noise = noise is not None and noise.switches
    context["switch_noise"] = switch_noise
    context["rms_on"] = ""
    rms_on = rms_source = ""  # trnoise arguments of the switches and drivers
    if noise is not None:
        if transistor:
            raise InputError(
                'thermal noise runs with ideal switches only (charge.switch = "ideal"); '
                "with transistor switches use the analytical kT/C term"
            )
        tau = ch.r_reset * float(column_capacitance(c, ch.c_column).min())
        if ch.t_reset < SETTLED_TAUS * tau:
            raise InputError(
                f"with noise, charge.t_reset ({ch.t_reset!r} s) must be at least "
                f"{SETTLED_TAUS} reset time constants r_reset * C_T = {SETTLED_TAUS * tau:.3g} s"
            )
        if switch_noise:
            share = settling_constant(c, ch.r_on + r_source, ch.r_on)
            for key, value in (("t_share", ch.t_share), ("t_reset", ch.t_reset)):
                if value < SETTLED_TAUS * share:
                    raise InputError(
                        f"with switch noise, charge.{key} ({value!r} s) must be at least "
                        f"{SETTLED_TAUS} line time constants = {SETTLED_TAUS * share:.3g} s "
                        "(the bottom plates' noise reaches equilibrium in each phase)"
                    )
            # the fastest node: a bottom plate through its switch onto its capacitor
            tau = min(tau, ch.r_on * float(c.min()))
        step = tau / NOISE_STEPS_PER_TAU
        k_t = BOLTZMANN * noise.temperature_k

        def rms(r: float) -> str:
            return f"{math.sqrt(2 * k_t * r / step)!r} {step!r} 0 0"

        rms_on, rms_source = rms(ch.r_on), rms(r_source)
        context.update(
            rms_on=rms_on,
            noise_seed=noise.seed,
            temperature_k=noise.temperature_k,
            noise_step=repr(step),
            noise_rms=repr(math.sqrt(2 * k_t * ch.r_reset / step)),
            t_max=repr(step),
        )
    context["source_line"] = [
        (f"vns{i} xs{i} xn{i} dc 0 trnoise({rms_source})\nrs{i} xn{i} x{i} {r_source!r}")
        if r_source > 0 and switch_noise
        else f"rs{i} xs{i} x{i} {r_source!r}"
        if r_source > 0
        else f"vsx{i} xs{i} x{i} 0"
        for i in range(rows)
    ]
    cells: list[str] = []
    if transistor:
        from cimspice.model_cards import builtin_model_cards
        from cimspice.resources import data_dir

        path = data_dir("models") / BUILTIN_TRANSISTOR_MODELS["nmos65"]["file"]
        cards = builtin_model_cards(path)
        model, size = "nmos65", f"w={ch.w_switch!r} l={ch.l_switch!r}"
        context.update(
            model="nmos65",
            w=repr(ch.w_switch),
            l=repr(ch.l_switch),
            model_source=cards.name,
            model_text=cards.text.rstrip("\n"),
        )
        for i in range(rows):
            for j in range(cols):
                on, off = ("gon", "0") if b[i, j] else ("0", "gon")
                cells.append(f"mw{i}_{j} x{i} {on} p{i}_{j} 0 {model} {size}")
                cells.append(f"mz{i}_{j} p{i}_{j} {off} 0 0 {model} {size}")
    else:
        r = repr(ch.r_on)
        for i in range(rows):
            for j in range(cols):
                near, far = (f"x{i}", f"p{i}_{j}") if b[i, j] else ("0", f"p{i}_{j}")
                if switch_noise:  # the switch's thermal noise in series
                    cells.append(f"vnw{i}_{j} {near} w{i}_{j} dc 0 trnoise({rms_on})")
                    near = f"w{i}_{j}"
                cells.append(f"rw{i}_{j} {near} {far} {r}")
    for i in range(rows):
        for j in range(cols):
            cells.append(f"c{i}_{j} p{i}_{j} c{j} {float(c[i, j])!r}")
    rst, drv, samples, starts = _clock_tables(spec, len(x))
    context.update(
        rst_table=rst,
        drv_table=drv,
        levels=[(i, _level_table(x[:, i], ch.period, ch.t_edge)) for i in range(rows)],
        cells=cells,
        power=[f"be{i} 0 en i = -1e15 * v(e{i}) * i(ve{i})" for i in range(rows)]
        + ["bepre 0 en i = -1e15 * v(pre) * i(vpre)"],
        save_line=" ".join([f"v(c{j})" for j in range(cols)] + ["v(en)"]),
        t_step=repr(ch.t_edge / 4),
        t_stop=repr(float(starts[-1])),
    )
    text = render_template("charge_array.cir.j2", context)
    return ChargeDeck(
        text=text,
        cycles=len(x),
        sample_times=samples,
        cycle_starts=starts,
        column_nodes=tuple(f"c{j}" for j in range(cols)),
    )


def render_charge(
    spec: CrossbarSpec, bits: np.ndarray | None = None, levels: np.ndarray | None = None
) -> str:
    """The deck text of ``spec``'s 1C tile (what ``cimspice netlist`` writes for it): weight
    ``bits`` (default: every cell 1), line ``levels`` (V, ``(cycles, rows)``; default: one
    cycle with every line at ``driver.v_read``), the spec's capacitor draw.

    Raises:
        InputError: see :func:`build_charge_deck`.
    """
    from cimspice.charge.capacitors import cell_capacitances

    b = np.ones((spec.rows, spec.cols)) if bits is None else bits
    x = np.full((1, spec.rows), spec.driver.v_read) if levels is None else levels
    return build_charge_deck(spec, b, x, cell_capacitances(spec)).text
