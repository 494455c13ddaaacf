"""The tile spec: one crossbar tile's circuit (array, wires, drivers, readout, devices).

A :class:`TileSpec` holds the tables ``[array]``, ``[wire]``, ``[driver]``, ``[readout]``,
``[device]``, ``[access]`` and ``[selector]``: everything that changes the tile's circuit and
so its netlist, its simulation and a surrogate calibrated for it. Units are SI everywhere:
ohm, siemens, volt, ampere, farad, second. Each key is declared once (:func:`param`) with
its unit, its rule and when it enters :meth:`TileSpec.content_hash`; each table likewise
(:func:`section`). How a network uses the tile (``[mapping]``, ``[nonideal]``) is
:mod:`cimspice.spec.network`; a spec file holding both is a
:class:`~cimspice.spec.crossbar.CrossbarSpec`.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

from cimspice.errors import SpecError
from cimspice.model_cards import (
    ModelCards,
    builtin_model_cards,
    check_spice_name,
    read_model_file,
    resolve_model_file,
)
from cimspice.spec.base import Sections
from cimspice.spec.charge import ChargeSpec, InputMode
from cimspice.spec.fields import (
    Section,
    at_least,
    finite,
    nonneg,
    off_or_range,
    omit_if_default,
    param,
    positive,
    printable_path,
    section,
    when,
)

__all__ = [
    "BUILTIN_TRANSISTOR_MODELS",
    "IMPLEMENTED_CELLS",
    "AccessSpec",
    "ArraySpec",
    "CellKind",
    "DeviceIV",
    "DeviceSpec",
    "DriverSpec",
    "OpAmpKind",
    "ReadoutKind",
    "ReadoutSpec",
    "SelectorSpec",
    "TileSpec",
    "WireSpec",
]


class CellKind(enum.StrEnum):
    """The cell at every crossing of a word line and a bit line."""

    PASSIVE = "0T1R"
    """A bare two-terminal memristor (no access device)."""
    ONE_T_ONE_R = "1T1R"
    """A memristor in series with an NMOS access transistor (see :class:`AccessSpec`)."""
    ONE_S_ONE_R = "1S1R"
    """A memristor in series with a two-terminal threshold selector (see
    :class:`SelectorSpec`)."""
    ONE_C = "1C"
    """A charge-domain cell: a weight bit (SRAM-like, modelled as switches) and a coupling
    capacitor onto the column line (see :class:`~cimspice.spec.charge.ChargeSpec`)."""


IMPLEMENTED_CELLS = frozenset(
    {CellKind.PASSIVE, CellKind.ONE_T_ONE_R, CellKind.ONE_S_ONE_R, CellKind.ONE_C}
)
"""The cells the netlists and engines implement."""


class DeviceIV(enum.StrEnum):
    """The read I-V curve of a memristor whose small-signal conductance is ``G``."""

    LINEAR = "linear"
    """``I = G * V`` (an ohmic cell)."""
    SINH = "sinh"
    """``I = G * v0 * sinh(V / v0)``: ohmic for ``|V| << v0``, exponentially superlinear
    beyond (the usual read nonlinearity of filamentary RRAM)."""


class ReadoutKind(enum.StrEnum):
    """What senses each bit line."""

    IDEAL = "ideal"
    """An ideal virtual ground (0 V) that measures the current."""
    TIA = "tia"
    """A transimpedance amplifier: a behavioural op-amp (finite gain, input offset, output
    swing) with a feedback resistor from its output to its inverting input."""
    INTEGRATOR = "integrator"
    """A charge integrator: the same op-amp with a capacitor ``c_f`` in feedback, shorted by
    a reset switch until ``t_reset``; transients only (``V_out = -Q / c_f``)."""


class OpAmpKind(enum.StrEnum):
    """The op-amp of a TIA or integrator readout."""

    BEHAVIOURAL = "behavioural"
    """One-pole macromodel: ``gain``, ``gbw``, ``v_offset`` and ``v_swing`` as given."""
    CMOS = "cmos"
    """Transistor level: a two-stage Miller op-amp of the built-in 65 nm BSIM4 cards
    (``netlists/opamp_cmos.cir.j2``), on rails at ``+-v_supply / 2`` with a bias current
    ``i_bias``; its gain, offset, bandwidth, swing and quiescent power are what the circuit
    gives (measured figures in the template's header)."""


BUILTIN_TRANSISTOR_MODELS: dict[str, dict[str, Any]] = {
    "nmos65": {"file": "nmos65.lib", "polarity": "n", "vth": 0.65},
}
"""Transistor models shipped in ``models/``: file, polarity and the constant-current threshold
(V) measured with the card (see the card's header)."""


# ----- when keys enter the hash (each used beside the keys it governs) -----


def _op_amp_readout(spec: TileSpec) -> bool:
    return spec.readout.kind != ReadoutKind.IDEAL


def _behavioural_op_amp(spec: TileSpec) -> bool:
    return _op_amp_readout(spec) and spec.readout.opamp == OpAmpKind.BEHAVIOURAL


def _cmos_op_amp(spec: TileSpec) -> bool:
    return _op_amp_readout(spec) and spec.readout.opamp != OpAmpKind.BEHAVIOURAL


_OP_AMP = when(_op_amp_readout, "the readout is a TIA or an integrator")
_BEHAVIOURAL = when(_behavioural_op_amp, "the readout's op-amp is behavioural")
_CMOS = when(_cmos_op_amp, "the readout's op-amp is CMOS")
_ADC = when(lambda spec: spec.readout.adc_bits != 0, "readout.adc_bits is set")
_DAC = when(lambda spec: spec.driver.dac_bits != 0, "driver.dac_bits is set")
_SINH = when(lambda spec: spec.device.iv != DeviceIV.LINEAR, "the I-V curve is not linear")


# ----- the tables -----


@dataclass(frozen=True)
class ArraySpec(Section):
    """Size and cell type of the crossbar."""

    table: ClassVar[str] = "array"

    rows: int = param(doc="Number of word lines, one per input.", check=at_least(1))
    cols: int = param(doc="Number of bit lines, one per output.", check=at_least(1))
    cell: CellKind = param(
        CellKind.PASSIVE,
        doc='The cell at each crossing. "0T1R": a passive memristor; "1T1R": with an NMOS '
        'access transistor (see [access]); "1S1R": with a selector (see [selector]); '
        '"1C": a charge-domain cell, a weight bit and a coupling capacitor (see [charge]).',
        noun="cell",
    )

    def _check(self) -> None:
        if self.cell not in IMPLEMENTED_CELLS:
            raise self.error(
                "cell",
                f"cell {self.cell.value!r} is not implemented yet; implemented: "
                + ", ".join(repr(c.value) for c in sorted(IMPLEMENTED_CELLS)),
            )


@dataclass(frozen=True)
class WireSpec(Section):
    """Wire resistance and capacitance of the array lines."""

    table: ClassVar[str] = "wire"

    r_row: float = param(
        0.0, unit="ohm", check=nonneg, doc="Resistance of one cell-pitch segment of a word line."
    )
    r_col: float = param(
        0.0, unit="ohm", check=nonneg, doc="Resistance of one cell-pitch segment of a bit line."
    )
    c_row: float = param(
        0.0,
        unit="F",
        check=nonneg,
        hash=omit_if_default,
        doc="Capacitance to ground per word-line node (one per cell pitch). Transients only.",
    )
    c_col: float = param(
        0.0,
        unit="F",
        check=nonneg,
        hash=omit_if_default,
        doc="Capacitance to ground per bit-line node (one per cell pitch). Transients only.",
    )


@dataclass(frozen=True)
class DriverSpec(Section):
    """Word-line drivers: voltage sources (ideal or an N-bit DAC) with a series resistance."""

    table: ClassVar[str] = "driver"

    r_source: float = param(
        0.0,
        unit="ohm",
        check=nonneg,
        doc="Output resistance of each driver (a DAC's), in series with the first word-line "
        "segment.",
    )
    v_read: float = param(
        0.2,
        unit="V",
        check=positive,
        doc="The largest input magnitude in normal use. The default input when none is "
        "given, the range random inputs are drawn from, and the DAC's full scale.",
    )
    dac_bits: int = param(
        0,
        check=off_or_range(1, 24),
        hash=_DAC,
        doc="Resolution of the DAC on every word line, in bits. 0: exact inputs. With N "
        "bits an input is clipped to [0, v_read] (dac_signed = false; 2^N levels) or "
        "[-v_read, v_read] (signed: 2^N - 1 levels, 0 V among them) and rounded to the "
        "nearest level.",
    )
    dac_signed: bool = param(
        False, hash=_DAC, doc="Whether the DAC's range is bipolar ([-v_read, v_read])."
    )

    def _check(self) -> None:
        if self.dac_signed and self.dac_bits == 1:
            raise self.error("dac_bits", "a signed (mid-tread) DAC needs >= 2 bits to hold 0 V")


@dataclass(frozen=True)
class ReadoutSpec(Section):
    """Bit-line readout: an input resistance, then a virtual ground, a TIA or an integrator.

    The behavioural op-amp has one pole: at DC ``V_out = v_swing * tanh(gain * (v_offset -
    V_-) / v_swing)``, i.e. a gain ``gain`` around its input offset, saturating smoothly at
    ``+-v_swing``; its gain falls past ``gbw / gain`` Hz. A TIA's output ideally is ``-I *
    r_f``; with finite gain, ``-I * r_f * gain / (1 + gain)``. The ADC is behavioural:
    mid-tread, symmetric, ``2^N - 1`` codes from ``-(2^(N-1) - 1)`` to ``2^(N-1) - 1``, LSB =
    ``adc_full_scale / (2^(N-1) - 1)``, clipping beyond +-full scale; it reads the op-amp's
    output voltage (V), or with the ideal readout the current (A).

    With the ideal readout only ``r_in`` (and the ADC's keys when ``adc_bits`` is set) enter
    the content hash: the op-amp's keys do not change that circuit.
    """

    table: ClassVar[str] = "readout"

    r_in: float = param(
        0.0,
        unit="ohm",
        check=nonneg,
        doc="Input resistance of each sense amplifier, in series with the last bit-line segment.",
    )
    kind: ReadoutKind = param(
        ReadoutKind.IDEAL,
        hash=_OP_AMP,
        noun="readout",
        doc='What senses each bit line. "ideal": a virtual ground; "tia": an op-amp with '
        'a feedback resistor r_f; "integrator": an op-amp with a feedback capacitor c_f '
        "(transients only).",
    )
    r_f: float = param(
        10e3, unit="ohm", check=positive, hash=_OP_AMP, doc="The TIA's feedback resistance."
    )
    gain: float = param(
        1e4,
        unit="V/V",
        check=positive,
        hash=_BEHAVIOURAL,
        doc="The behavioural op-amp's open-loop DC gain.",
    )
    v_offset: float = param(
        0.0,
        unit="V",
        check=finite,
        hash=_BEHAVIOURAL,
        doc="The behavioural op-amp's input offset voltage.",
    )
    v_swing: float = param(
        1.0,
        unit="V",
        check=positive,
        hash=_BEHAVIOURAL,
        doc="The behavioural op-amp's output saturates (smoothly) at +-v_swing.",
    )
    gbw: float = param(
        1e9,
        unit="Hz",
        check=positive,
        hash=_BEHAVIOURAL,
        doc="The behavioural op-amp's gain-bandwidth product. One pole at gbw / gain; "
        "matters in transients only.",
    )
    adc_bits: int = param(
        0,
        check=off_or_range(2, 24),
        hash=_ADC,
        doc="Resolution of the ADC on each bit line's output, in bits. 0: the output is "
        "read exactly.",
    )
    adc_full_scale: float = param(
        0.0,
        unit="V or A",
        check=nonneg,
        hash=_ADC,
        doc="The ADC's full scale: V behind an op-amp, A with the ideal readout. Must be > 0 "
        "when adc_bits is set.",
    )
    c_f: float = param(
        1e-12,
        unit="F",
        check=positive,
        hash=_OP_AMP,
        doc="The integrator's feedback capacitor.",
    )
    t_reset: float = param(
        0.0,
        unit="s",
        check=nonneg,
        hash=_OP_AMP,
        doc="The integrator's reset switch holds the capacitor shorted until this time. "
        "0: no reset phase.",
    )
    opamp: OpAmpKind = param(
        OpAmpKind.BEHAVIOURAL,
        hash=_CMOS,
        noun="op-amp",
        doc='The op-amp of a TIA or integrator. "behavioural": the one-pole macromodel; '
        '"cmos": a transistor-level two-stage op-amp of the built-in 65 nm cards (then gain, '
        "v_offset, v_swing and gbw are unused).",
    )
    v_supply: float = param(
        1.2,
        unit="V",
        check=positive,
        hash=_CMOS,
        doc="The CMOS op-amp's total supply, rails at +-v_supply / 2.",
    )
    i_bias: float = param(
        20e-6,
        unit="A",
        check=positive,
        hash=_CMOS,
        doc="The CMOS op-amp's reference bias current. Its tail carries twice and its "
        "output stage ten times this.",
    )

    def _check(self) -> None:
        if self.adc_bits and self.adc_full_scale == 0:
            raise self.error("adc_full_scale", "must be > 0 when readout.adc_bits is set")


@dataclass(frozen=True)
class DeviceSpec(Section):
    """The memristor: its programmable conductance window and its read I-V curve."""

    table: ClassVar[str] = "device"

    g_min: float = param(1e-6, unit="S", check=nonneg, doc="Lowest programmable conductance.")
    g_max: float = param(
        100e-6, unit="S", check=nonneg, doc="Highest programmable conductance (> g_min)."
    )
    iv: DeviceIV = param(
        DeviceIV.LINEAR,
        hash=_SINH,
        noun="I-V curve",
        doc='The memristor\'s read I-V curve. "linear": I = G V; "sinh": I = G v0 '
        "sinh(V / v0); G is its slope at 0 V.",
    )
    v0: float = param(
        0.2,
        unit="V",
        check=positive,
        hash=_SINH,
        doc="Voltage scale of the sinh curve. Unused when linear.",
    )
    c_cell: float = param(
        0.0,
        unit="F",
        check=nonneg,
        hash=omit_if_default,
        doc="Capacitance across each memristor. Transients only.",
    )

    def _check(self) -> None:
        if self.g_max <= self.g_min:
            raise self.error(
                "g_max", f"must be > device.g_min ({self.g_min!r}), got {self.g_max!r}"
            )


@dataclass(frozen=True)
class SelectorSpec(Section):
    """The selector of a 1S1R cell: a two-terminal, symmetric, threshold-like device.

    Its current is ``I = i_s * sinh(V / v_s)``: negligible below a threshold and rising
    e-fold every ``v_s`` volts above it, the usual compact description of ovonic threshold
    and tunnelling selectors' read branch. The voltage at which it passes a current ``I``
    is ``v_s * asinh(I / i_s)``: with the defaults, ~0.3 V for 10 uA.
    """

    table: ClassVar[str] = "selector"

    i_s: float = param(1e-9, unit="A", check=positive, doc="The selector's current scale.")
    v_s: float = param(0.03, unit="V", check=positive, doc="The selector's voltage scale.")


@dataclass(frozen=True)
class AccessSpec(Section):
    """The access transistor of a 1T1R cell (unused by other cells).

    The memristor sits on the word-line side; the NMOS's drain joins it, its source the bit
    line, its gate the cell's select line, its body ground.
    """

    table: ClassVar[str] = "access"

    v_gate: float = param(
        1.2, unit="V", check=finite, doc="The select lines' voltage during a read."
    )
    w: float = param(500e-9, unit="m", doc="Channel width of the access NMOS.")
    l: float = param(  # noqa: E741  (SPICE and BSIM name it l)
        65e-9, unit="m", doc="Channel length of the access NMOS."
    )
    model: str = param(
        "nmos65",
        doc="The transistor's .model name: a built-in model (nmos65) or a name defined in "
        "model_file. An nmos .model or a 4-port .subckt (drain gate source body) taking w "
        "and l; letters, digits, '_' and '.'.",
    )
    model_file: str = param(
        "",
        check=printable_path,
        doc="Path of a SPICE model file (a foundry card, say) defining model; relative "
        "paths are taken from the spec file's folder. Empty: built-in models. The file is "
        "checked before use (model cards only, from the spec's folder or a folder in "
        "CIMSPICE_MODEL_PATH, at most 16 MiB: see cimspice.model_cards).",
    )
    model_section: str = param(
        "",
        hash=omit_if_default,
        doc="The .lib section (corner) of model_file to use, when the file has sections. "
        "Empty: the file has none.",
    )
    r_select: float = param(
        0.0,
        unit="ohm",
        check=nonneg,
        doc="Resistance of one cell-pitch segment of a select line. It carries no DC "
        "current, so it matters only in transients.",
    )

    def _check(self) -> None:
        for key in ("w", "l"):
            value = getattr(self, key)
            if not (value > 0 and value < float("inf")):
                raise self.error(key, f"must be > 0 metre, got {value!r}")
            if value > 1e-3:
                raise self.error(
                    key, f"{value!r} m is over a millimetre: give metres (e.g. 500e-9)"
                )
        # Both names land in decks: nothing but a plain SPICE name may start a statement.
        for key in ("model", "model_section"):
            value = getattr(self, key)
            if (value or key == "model") and not check_spice_name(value):
                raise self.error(
                    key,
                    "must be a model name (up to 64 letters, digits, '_' and '.', not "
                    f"starting with '.'), got {value!r}",
                )
        if self.model_section and not self.model_file:
            raise self.error("model_section", "is set without access.model_file")
        if not self.model_file and self.model not in BUILTIN_TRANSISTOR_MODELS:
            known = ", ".join(repr(m) for m in BUILTIN_TRANSISTOR_MODELS)
            raise self.error(
                "model",
                f"unknown model {self.model!r}; built-in models: {known} (or give "
                "access.model_file)",
            )


# ----- the tile -----


def _is_1t1r(spec: TileSpec) -> bool:
    return spec.array.cell == CellKind.ONE_T_ONE_R


def _is_1s1r(spec: TileSpec) -> bool:
    return spec.array.cell == CellKind.ONE_S_ONE_R


def _is_1c(spec: TileSpec) -> bool:
    return spec.array.cell == CellKind.ONE_C


def _check_charge_tile(spec: TileSpec) -> None:
    """The rules a charge-domain (1C) tile sets on the other tables (keys it does not model
    must stay at their defaults, so that nothing given is silently ignored)."""
    for name in ("wire", "readout"):
        table = getattr(spec, name)
        for key, default in type(table).defaults().items():
            value = getattr(table, key)
            if value != default and (name == "wire" or key in ("kind", "r_in", "adc_bits")):
                what = (
                    "the column's capacitance is charge.c_par"
                    if name == "wire"
                    else "its readout is the column ADC of [charge] (charge.adc_bits)"
                )
                raise type(table).error(
                    key,
                    f"is not used by a charge-domain (1C) tile ({what}); leave it at "
                    f"{default!r}, got {value!r}",
                )
    if spec.driver.dac_signed:
        raise DriverSpec.error(
            "dac_signed", "a charge-domain (1C) tile's inputs are unipolar ([0, v_read])"
        )
    if spec.charge.input_mode == InputMode.BIT_SERIAL and spec.driver.dac_bits == 0:
        raise DriverSpec.error(
            "dac_bits",
            'bit-serial inputs (charge.input_mode = "bit-serial") need driver.dac_bits >= 1 '
            '(one MAC cycle per bit), or set charge.input_mode = "multi-level"',
        )


@dataclass(frozen=True)
class TileSpec(Sections):
    """One crossbar tile's circuit: array, wires, drivers, readout, devices.

    Everything here changes the tile's netlist (and a surrogate calibrated for it): this is
    what engines, netlists and calibration need. Build one from plain data with
    :func:`~cimspice.spec.load.spec_from_dict` (which gives a
    :class:`~cimspice.spec.crossbar.CrossbarSpec`, a TileSpec with network tables) and take
    its :attr:`tile`, or from the section classes directly.

    Attributes:
        source: the file the spec was read from (``None`` if built in memory); not part of
            the spec's identity.
        cards: the access transistor's checked model cards when they were read already
            (:func:`~cimspice.spec.load.load_spec` reads a ``model_file`` at once, and sweeps
            hand the cards to their workers with the spec); ``None``: read on first use.
            Not part of the spec's identity.
    """

    array: ArraySpec = section(ArraySpec, doc="Size and cell type.", required=True)
    wire: WireSpec = section(WireSpec, doc="Wire segment resistances and capacitances.")
    driver: DriverSpec = section(DriverSpec, doc="Word-line drivers (DACs).")
    readout: ReadoutSpec = section(ReadoutSpec, doc="Bit-line readout (and ADCs).")
    device: DeviceSpec = section(DeviceSpec, doc="The memristor's window and I-V curve.")
    access: AccessSpec = section(
        AccessSpec,
        doc="The access transistor of 1T1R cells.",
        hash=when(_is_1t1r, "the cell is 1T1R"),
    )
    selector: SelectorSpec = section(
        SelectorSpec,
        doc="The selector of 1S1R cells.",
        hash=when(_is_1s1r, "the cell is 1S1R"),
    )
    charge: ChargeSpec = section(
        ChargeSpec,
        doc="The charge-domain cell, its switches, phases and ADC (1C cells).",
        hash=when(_is_1c, "the cell is 1C"),
    )
    source: Path | None = field(default=None, compare=False, kw_only=True)
    cards: ModelCards | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.source is not None:
            if not isinstance(self.source, str | os.PathLike):
                raise SpecError(f"source must be a path or None, got {self.source!r}")
            object.__setattr__(self, "source", Path(self.source))
        if self.array.cell == CellKind.ONE_C:
            _check_charge_tile(self)

    @property
    def tile(self) -> TileSpec:
        """The tile alone (this spec when it is a plain TileSpec)."""
        if type(self) is TileSpec:
            return self
        tables = {name: getattr(self, name) for name in TileSpec.sections()}
        return TileSpec(**tables, source=self.source, cards=self.cards)

    @property
    def rows(self) -> int:
        """Number of word lines."""
        return self.array.rows

    @property
    def cols(self) -> int:
        """Number of bit lines."""
        return self.array.cols

    @property
    def is_linear(self) -> bool:
        """Whether every element of the tile is linear (ohmic cells, no transistors)."""
        return (
            self.device.iv == DeviceIV.LINEAR
            and self.array.cell == CellKind.PASSIVE
            and self.readout.kind == ReadoutKind.IDEAL
        )

    @property
    def is_charge(self) -> bool:
        """Whether the tile computes in the charge domain (1C cells, see ``[charge]``)."""
        return self.array.cell == CellKind.ONE_C

    @property
    def has_tia(self) -> bool:
        """Whether the bit lines end in op-amp readouts (a TIA or an integrator)."""
        return self.readout.kind in (ReadoutKind.TIA, ReadoutKind.INTEGRATOR)

    @property
    def has_transistors(self) -> bool:
        """Whether the tile's cells hold transistors (1T1R access transistors)."""
        return self.array.cell == CellKind.ONE_T_ONE_R

    @property
    def has_cmos_opamps(self) -> bool:
        """Whether the readout is built from transistor-level op-amps."""
        return self.has_tia and self.readout.opamp == OpAmpKind.CMOS

    @property
    def depends_on_temperature(self) -> bool:
        """Whether anything in the deck (a transistor) changes with the circuit temperature."""
        return self.has_transistors or self.has_cmos_opamps

    def model_path(self) -> Path:
        """The file that defines ``access.model``, under the model files' path policy (see
        :mod:`cimspice.model_cards`; a spec built in memory takes the current folder as its
        folder).

        Raises:
            ModelFileError: the model file is missing or outside the allowed folders.
        """
        from cimspice.resources import data_dir

        if not self.access.model_file:
            return data_dir("models") / BUILTIN_TRANSISTOR_MODELS[self.access.model]["file"]
        return resolve_model_file(self.access.model_file, spec_file=self.source)

    def model_cards(self) -> ModelCards:
        """The checked model cards of the access transistor, as decks inline them.

        Raises:
            ModelFileError: the model file is refused (path policy, size, content), or does
                not define ``access.model`` as an NMOS (the message never holds its text).
        """
        if self.cards is not None:
            return self.cards
        if not self.access.model_file:
            return builtin_model_cards(self.model_path())
        return read_model_file(
            self.access.model_file,
            spec_file=self.source,
            section=self.access.model_section,
            model=self.access.model,
        )

    def with_model_cards(self) -> Self:
        """The spec holding its user model file's cards (read and checked now), so that
        they travel with it (to sweep workers, say) and the file is read once; unchanged
        when the tile has no transistors or uses a built-in model.

        Raises:
            ModelFileError: see :meth:`model_cards`.
        """
        if self.cards is not None or not (self.has_transistors and self.access.model_file):
            return self
        return dataclasses.replace(self, cards=self.model_cards())

    def hash_data(self) -> dict[str, dict[str, Any]]:
        """What :meth:`content_hash` hashes: the tables and keys whose hash rules keep them
        (see :mod:`cimspice.spec.fields`), as plain data."""
        data: dict[str, dict[str, Any]] = {}
        for name, info in self.sections().items():
            if not info.hash.keep(self, None, None):
                continue
            table = getattr(self, name)
            plain = table.to_dict()
            defaults = info.cls.defaults()
            data[name] = {
                key: plain[key]
                for key, p in info.cls.params().items()
                if p.hash.keep(self, getattr(table, key), defaults.get(key))
            }
        return data

    def content_hash(self) -> str:
        """A stable SHA-256 of the tile's circuit (independent of the file it came from).

        Each table and key enters as its declared hash rule says: keys that do not change
        the circuit (an ideal readout's op-amp, a linear cell's ``v0``, a passive cell's
        ``[access]``, every network table) are left out, and keys added after surrogate
        files were written are left out at their defaults, so every stored hash stays valid.
        """
        text = json.dumps(self.hash_data(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()
