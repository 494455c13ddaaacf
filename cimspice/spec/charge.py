"""The charge-domain tile's table (``[charge]``): cell capacitors, switches, phases, ADC.

A tile with ``array.cell = "1C"`` computes in the charge domain, as EnCharge AI's EN100 and
the switched-capacitor arrays it grew from do: each cell holds a weight bit (an SRAM-like
cell, modelled as switches) and a coupling capacitor ``c_cell`` whose top plate is the
column line. One MAC cycle has four phases: *reset* (every column shorted to ``v_reset``,
every input line pulled to 0 V), *drive* (the reset switches open; each input line is pulled
up to its level and every cell holding a 1 passes it to its capacitor's bottom plate),
*share* (the column settles as the coupled charge redistributes over it) and *sample* (the
ADC samples the column). Ideally a column then sits at::

    v_reset + sum_i w_i C_i x_i / (sum_i C_i + c_par)

with ``w_i`` the weight bits, ``x_i`` the input levels and the sum of ``C_i`` over every cell
of the column (cells holding a 0 keep their bottom plate at ground). The netlist is
``netlists/charge_array.cir.j2``; :mod:`cimspice.charge` builds and runs it. The table enters
the content hash only when the cell is ``"1C"``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import ClassVar

from cimspice.spec.fields import (
    Check,
    Section,
    at_least,
    finite,
    never,
    nonneg,
    off_or_range,
    omit_if_default,
    param,
    positive,
)

__all__ = ["MAX_MISMATCH", "ChargeAdc", "ChargeNoise", "ChargeSpec", "InputMode", "SwitchKind"]

MAX_MISMATCH = 0.2
"""The largest relative capacitor sigma accepted (at ``c_cell``): beyond it a draw of 4096
cells holds a capacitor below 25 % of nominal, and a Gaussian draw a negative one."""


class SwitchKind(enum.StrEnum):
    """How the switches of a charge-domain tile are modelled."""

    IDEAL = "ideal"
    """Resistors of ``r_on`` (closed) and ngspice voltage-controlled switches (``ron =
    r_on``, ``roff = 1e15`` ohm) for the clocked ones: linear, no charge injection."""
    TRANSISTOR = "transistor"
    """NMOS transistors of the built-in 65 nm BSIM4 card (``nmos65``), ``w_switch`` by
    ``l_switch``, gates at ``v_gate`` when on: their channel charge and overlap capacitance
    inject charge and feed the clocks through when they open."""


class InputMode(enum.StrEnum):
    """How an input vector reaches the input lines."""

    BIT_SERIAL = "bit-serial"
    """One MAC cycle per input bit (``driver.dac_bits`` cycles): the lines sit at 0 V or
    ``driver.v_read``, and the digital side adds the cycles' results weighted by 2^bit."""
    MULTI_LEVEL = "multi-level"
    """One MAC cycle: each line at its DAC level in ``[0, driver.v_read]``
    (``driver.dac_bits`` = 0: the inputs exactly)."""


class ChargeNoise(enum.StrEnum):
    """Which thermal noise a charge-domain tile's columns carry when they are sampled."""

    OFF = "off"
    """None: the columns are read noiselessly."""
    KTC = "ktc"
    """The reset switches': when a column's reset switch opens, the column keeps
    ``sqrt(k T / C_T)`` of it (kT/C noise, whatever the switch's resistance)."""
    THERMAL = "thermal"
    """Every switch's and driver's: the reset's kT/C noise plus, in the share phase, the
    weight-bit switches', the line switches' and the drivers' (``driver.r_source``). Those
    move every bottom plate, and the floating column follows them by its capacitive divider;
    in equilibrium (equipartition, with the column's charge conserved) they add
    ``k T C_s / (C_T c_par)`` (``C_s``: the column's cells), so the column holds
    ``k T / c_par`` in all: needs ``charge.c_par > 0``."""


class ChargeAdc(enum.StrEnum):
    """The column ADC of a charge-domain tile."""

    IDEAL = "ideal"
    """A behavioural quantiser: code ``round(swing / LSB)``, ``LSB = adc_full_scale /
    (2^N - 1)``, clipped to ``0 .. 2^N - 1``."""
    SAR = "sar"
    """A capacitive SAR at transistor level (:mod:`cimspice.charge.sar`): a binary-weighted
    capacitor DAC of ``sar_c_unit`` units sampling the column, a StrongARM comparator of the
    built-in 65 nm cards, behavioural SAR logic; its references put its codes on the ideal
    quantiser's. Its sampling capacitance ``2^N sar_c_unit`` joins the column (it adds to
    c_par); its energy per conversion is measured in ngspice."""


@dataclass(frozen=True)
class ChargeSpec(Section):
    """A charge-domain (``"1C"``) tile: cell capacitors, switches, phases and the ADC."""

    table: ClassVar[str] = "charge"

    c_cell: float = param(
        1e-15,
        unit="F",
        check=positive,
        doc="Nominal coupling capacitance of each cell (its metal-oxide-metal capacitor "
        "from the bottom plate to the column line).",
    )
    mismatch: float = param(
        0.0,
        check=nonneg,
        doc="Relative standard deviation of a cell capacitor at capacitance mismatch_c_ref "
        "(0.01 = 1 %). Pelgrom: it scales with 1 / sqrt(area), so a cell of c_cell has "
        "mismatch * sqrt(mismatch_c_ref / c_cell). 0: identical capacitors.",
    )
    mismatch_c_ref: float = param(
        1e-15,
        unit="F",
        check=positive,
        doc="The capacitance at which mismatch is given.",
    )
    seed: int = param(
        0,
        check=at_least(0, "an integer"),
        doc="The seed of the capacitor mismatch draw (the tile's capacitors are one draw).",
    )
    c_par: float = param(
        0.0,
        unit="F",
        check=nonneg,
        doc="Parasitic capacitance of each column line to ground (its wiring and the ADC's "
        "input), total per column.",
    )
    v_reset: float = param(
        0.0,
        unit="V",
        check=finite,
        doc="The level every column is reset (precharged) to in the reset phase.",
    )
    input_mode: InputMode = param(
        InputMode.BIT_SERIAL,
        noun="input mode",
        doc='How inputs reach the lines. "bit-serial": one MAC cycle per input bit '
        '(driver.dac_bits of them), lines at 0 or driver.v_read; "multi-level": one cycle, '
        "lines at the DAC's levels.",
    )
    switch: SwitchKind = param(
        SwitchKind.IDEAL,
        noun="switch model",
        doc='The switches. "ideal": resistors of r_on and ideal voltage-controlled '
        'switches; "transistor": NMOS of the built-in 65 nm card (nmos65), with their '
        "charge injection and clock feedthrough.",
    )
    r_on: float = param(
        1e3,
        unit="ohm",
        check=positive,
        doc="On-resistance of an ideal switch: a cell's weight-bit switch and an input "
        "line's pull-up and pull-down.",
    )
    r_reset: float = param(
        1e3,
        unit="ohm",
        check=positive,
        doc="On-resistance of an ideal column reset switch. Its thermal noise, which the "
        "column keeps when it opens, is the kT/C noise of a noise run.",
    )
    w_switch: float = param(
        200e-9,
        unit="m",
        check=Check(
            lambda v: None if 0 < v <= 1e-3 else f"must be in (0, 1e-3] metre, got {v!r}",
            "(0, 1e-3] m",
        ),
        doc="Channel width of a transistor switch.",
    )
    l_switch: float = param(
        65e-9,
        unit="m",
        check=Check(
            lambda v: None if 0 < v <= 1e-3 else f"must be in (0, 1e-3] metre, got {v!r}",
            "(0, 1e-3] m",
        ),
        doc="Channel length of a transistor switch.",
    )
    v_gate: float = param(
        1.2,
        unit="V",
        check=positive,
        doc="The clocks' and weight bits' high level (a transistor switch's gate when on; "
        "the 65 nm supply).",
    )
    t_reset: float = param(
        2e-9, unit="s", check=positive, doc="Duration of the reset phase of a MAC cycle."
    )
    t_share: float = param(
        2e-9,
        unit="s",
        check=positive,
        doc="Duration of the share phase: from the end of the drive edge to the sample.",
    )
    t_edge: float = param(
        20e-12,
        unit="s",
        check=positive,
        doc="Rise and fall time of every clock and input edge; the phases are separated by "
        "one edge (non-overlapping clocks).",
    )
    adc_bits: int = param(
        0,
        check=off_or_range(1, 24),
        doc="Resolution of the column ADC, in bits (behavioural, unipolar: 2^N codes over "
        "[0, adc_full_scale] above v_reset). 0: the column voltage is read exactly.",
    )
    adc: ChargeAdc = param(
        ChargeAdc.IDEAL,
        noun="column ADC",
        hash=omit_if_default,
        doc='The column ADC (with adc_bits > 0). "ideal": a behavioural quantiser; "sar": a '
        "capacitive SAR at transistor level (binary-weighted capacitor DAC, 65 nm StrongARM "
        "comparator, behavioural SAR logic) whose sampling capacitance joins the column and "
        "whose energy per conversion comes from ngspice.",
    )
    sar_c_unit: float = param(
        0.5e-15,
        unit="F",
        check=positive,
        hash=omit_if_default,
        doc='The SAR\'s unit capacitor (adc = "sar"): its DAC holds 2^adc_bits of them.',
    )
    noise: ChargeNoise = param(
        ChargeNoise.OFF,
        noun="noise kind",
        hash=never,  # added on top of the circuit's (noiseless) law: a surrogate serves both
        doc='The thermal noise the columns carry when sampled. "off": none; "ktc": the reset '
        "switches' (sqrt(kT/C_T) per column); \"thermal\": every switch's and driver's, the "
        "reset's kT/C_T plus the share phase's kT C_s / (C_T c_par): sqrt(kT / c_par) in all "
        "(needs c_par > 0). In ngspice: trnoise sources on the switches (ideal switches only).",
    )
    adc_full_scale: float = param(
        0.0,
        unit="V",
        check=nonneg,
        doc="The ADC's full scale: the column swing above v_reset read as the top code. "
        "Must be > 0 when adc_bits is set.",
    )

    def _check(self) -> None:
        if self.adc_bits and self.adc_full_scale == 0:
            raise self.error("adc_full_scale", "must be > 0 when charge.adc_bits is set")
        if self.noise == ChargeNoise.THERMAL and self.c_column == 0:
            raise self.error(
                "noise",
                '"thermal" needs charge.c_par > 0: with no capacitance from the column to '
                "ground, the bottom plates' common-mode noise has nothing to hold it (the "
                "sampled noise is k T / c_par)",
            )
        if self.adc == ChargeAdc.SAR and not self.adc_bits:
            raise self.error("adc", '"sar" needs charge.adc_bits >= 1 (the SAR\'s resolution)')
        if self.sigma > MAX_MISMATCH:
            raise self.error(
                "mismatch",
                f"gives a relative sigma of {self.sigma:.3g} at c_cell (mismatch * "
                f"sqrt(mismatch_c_ref / c_cell)); at most {MAX_MISMATCH} is accepted",
            )
        if self.t_edge * 2 > min(self.t_reset, self.t_share):
            raise self.error(
                "t_edge",
                f"must be at most half of t_reset and t_share, got {self.t_edge!r}",
            )

    @property
    def sigma(self) -> float:
        """The relative standard deviation of a cell capacitor of ``c_cell`` (Pelgrom)."""
        return self.mismatch * math.sqrt(self.mismatch_c_ref / self.c_cell)

    @property
    def c_sar(self) -> float:
        """Farad: the SAR ADC's sampling capacitance on each column (``2^adc_bits
        sar_c_unit`` with ``adc = "sar"``, else 0)."""
        return 2.0**self.adc_bits * self.sar_c_unit if self.adc == ChargeAdc.SAR else 0.0

    @property
    def c_column(self) -> float:
        """Farad: what each column has to ground besides its cells: ``c_par`` and the SAR's
        sampling capacitance (:attr:`c_sar`), which joins the column from the reset on."""
        return self.c_par + self.c_sar

    @property
    def period(self) -> float:
        """Second: one MAC cycle (reset, edge, drive edge, share, the drive's falling edge)."""
        return self.t_reset + self.t_share + 3 * self.t_edge
