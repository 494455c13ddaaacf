"""Array specs: TOML files turned into frozen, validated dataclasses.

A spec describes one crossbar tile. Units are SI everywhere: ohm, siemens, volt. The minimal
spec is::

    [array]
    rows = 64
    cols = 64
    cell = "0T1R"
    [wire]
    r_row = 2.0
    r_col = 2.0

Optional sections: ``[driver]`` (``r_source``, ``v_read``), ``[readout]`` (``r_in``) and
``[device]`` (``g_min``, ``g_max``); for network evaluation, ``[mapping]`` (how weights and
inputs reach the tiles) and ``[nonideal]`` (seeded device non-idealities), both off by default
and outside the tile's :meth:`~CrossbarSpec.content_hash` (they do not change the tile's
circuit, so a surrogate calibrated for the tile stays valid). Every invalid spec raises
:class:`~cimspice.errors.SpecError` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cimspice.arguments import a_or_an, check_fields, path_argument
from cimspice.errors import InputError, SpecError
from cimspice.model_cards import (
    ModelCards,
    builtin_model_cards,
    check_spice_name,
    read_model_file,
    resolve_model_file,
)

__all__ = [
    "BUILTIN_MODELS",
    "AccessSpec",
    "ArraySpec",
    "CellKind",
    "CrossbarSpec",
    "DeviceIV",
    "DeviceSpec",
    "DriverSpec",
    "MappingScheme",
    "MappingSpec",
    "NonidealSpec",
    "OpAmpKind",
    "ReadoutKind",
    "ReadoutSpec",
    "SelectorSpec",
    "WireSpec",
    "WriteSpec",
    "as_spec",
    "load_spec",
    "spec_from_dict",
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


IMPLEMENTED_CELLS = frozenset({CellKind.PASSIVE, CellKind.ONE_T_ONE_R, CellKind.ONE_S_ONE_R})


class DeviceIV(enum.StrEnum):
    """The read I-V curve of a memristor whose small-signal conductance is ``G``."""

    LINEAR = "linear"
    """``I = G * V`` (an ohmic cell)."""
    SINH = "sinh"
    """``I = G * v0 * sinh(V / v0)``: ohmic for ``|V| << v0``, exponentially superlinear
    beyond (the usual read nonlinearity of filamentary RRAM)."""


def _check_finite_nonneg(value: float, key: str) -> None:
    if not math.isfinite(value):
        raise SpecError(f"must be finite, got {value!r}", key=key)
    if value < 0:
        raise SpecError(f"must be >= 0, got {value!r}", key=key)


def _check_positive(value: float, key: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise SpecError(f"must be finite and > 0, got {value!r}", key=key)


def _spec_error(message: str, key: str) -> SpecError:
    return SpecError(message, key=key)


def _check_types(section: object, name: str) -> None:
    """Every field of ``section`` (the ``[name]`` table) checked against its type, as a spec
    file's values are: a dataclass built in Python is held to the same rules."""
    check_fields(section, name, _spec_error)


_E = TypeVar("_E", bound=enum.Enum)


def _member(kind: type[_E], value: object, key: str, noun: str) -> _E:
    """``value`` as a member of ``kind``, or a SpecError listing the known values."""
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(repr(m.value) for m in kind)
        raise SpecError(f"unknown {noun} {value!r}; known: {known}", key=key) from None


@dataclass(frozen=True)
class ArraySpec:
    """Size and cell type of the crossbar.

    Attributes:
        rows: number of word lines (inputs), >= 1.
        cols: number of bit lines (outputs), >= 1.
        cell: the cell kind at each crossing.

    """

    rows: int
    cols: int
    cell: CellKind = CellKind.PASSIVE

    def __post_init__(self) -> None:
        _check_types(self, "array")
        for key in ("rows", "cols"):
            value = getattr(self, key)
            if value < 1:
                raise SpecError(f"must be >= 1, got {value}", key=f"array.{key}")
        cell = _member(CellKind, self.cell, "array.cell", "cell")
        if cell not in IMPLEMENTED_CELLS:
            raise SpecError(
                f"cell {cell.value!r} is not implemented yet; implemented: "
                + ", ".join(repr(c.value) for c in sorted(IMPLEMENTED_CELLS)),
                key="array.cell",
            )
        object.__setattr__(self, "cell", cell)


@dataclass(frozen=True)
class WireSpec:
    """Wire resistance and capacitance of the array lines.

    Attributes:
        r_row: ohm per cell-pitch segment of a word line (>= 0).
        r_col: ohm per cell-pitch segment of a bit line (>= 0).
        c_row: farad to ground per word-line node (one per cell pitch; >= 0; transients only).
        c_col: farad to ground per bit-line node (one per cell pitch; >= 0; transients only).
    """

    r_row: float = 0.0
    r_col: float = 0.0
    c_row: float = 0.0
    c_col: float = 0.0

    def __post_init__(self) -> None:
        _check_types(self, "wire")
        for key in ("r_row", "r_col", "c_row", "c_col"):
            _check_finite_nonneg(getattr(self, key), f"wire.{key}")


@dataclass(frozen=True)
class DriverSpec:
    """Word-line drivers: voltage sources (ideal or an N-bit DAC) with a series resistance.

    Attributes:
        r_source: ohm, output resistance of each driver, in series with the first word-line
            segment (>= 0); a DAC's output resistance.
        v_read: volt, the largest input magnitude in normal use: the default input when none
            is given, the range random inputs are drawn from, and the DAC's full scale (> 0).
        dac_bits: the DAC's resolution; 0 (default) drives the inputs exactly. With N bits
            an input is clipped to [0, v_read] (``dac_signed = false``; 2^N levels) or
            [-v_read, v_read] (signed: 2^N - 1 levels, 0 V among them) and rounded to the
            nearest level.
        dac_signed: whether the DAC's range is bipolar.
    """

    r_source: float = 0.0
    v_read: float = 0.2
    dac_bits: int = 0
    dac_signed: bool = False

    def __post_init__(self) -> None:
        _check_types(self, "driver")
        _check_finite_nonneg(self.r_source, "driver.r_source")
        _check_finite_nonneg(self.v_read, "driver.v_read")
        if self.v_read == 0:
            raise SpecError("must be > 0", key="driver.v_read")
        if not 0 <= self.dac_bits <= 24:
            raise SpecError(
                f"must be 0 (off) to 24 bits, got {self.dac_bits}", key="driver.dac_bits"
            )
        if self.dac_signed and self.dac_bits == 1:
            raise SpecError(
                "a signed (mid-tread) DAC needs >= 2 bits to hold 0 V", key="driver.dac_bits"
            )


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


@dataclass(frozen=True)
class ReadoutSpec:
    """Bit-line readout: an input resistance, then a virtual ground or a TIA.

    The TIA's op-amp is behavioural with one pole: at DC ``V_out = v_swing * tanh(gain *
    (v_offset - V_-) / v_swing)``, i.e. a gain ``gain`` around its input offset, saturating
    smoothly at ``+-v_swing``; its gain falls past ``gbw / gain`` Hz. Its output ideally is
    ``-I * r_f``; with finite gain, ``-I * r_f * gain / (1 + gain)``.

    Attributes:
        r_in: ohm, input resistance of each sense amplifier, in series with the last bit-line
            segment (>= 0).
        kind: ``"ideal"`` or ``"tia"``.
        r_f: ohm, TIA feedback resistance (> 0).
        gain: V/V, the op-amp's open-loop DC gain (> 0).
        v_offset: volt, the op-amp's input offset voltage.
        v_swing: volt, the op-amp's output saturates at +-v_swing (> 0).
        gbw: hertz, the op-amp's gain-bandwidth product (one pole at ``gbw / gain``; > 0;
            matters in transients only).
        adc_bits: resolution of the ADC on each bit line's output; 0 (default) reads the
            output exactly. The ADC is behavioural: mid-tread, symmetric, ``2^N - 1`` codes
            from ``-(2^(N-1) - 1)`` to ``2^(N-1) - 1``, LSB = ``adc_full_scale / (2^(N-1) - 1)``,
            clipping beyond +-full scale. It reads the TIA's output voltage (V), or with the
            ideal readout the current (A).
        adc_full_scale: the ADC's full scale, V for a TIA or A for the ideal readout (> 0 when
            adc_bits > 0).
        c_f: farad, the integrator's feedback capacitor (> 0).
        t_reset: second, the integrator's reset switch holds the capacitor shorted until this
            time (>= 0; 0: no reset phase).
        opamp: ``"behavioural"`` (the macromodel above) or ``"cmos"`` (transistor level; then
            ``gain``, ``v_offset``, ``v_swing`` and ``gbw`` are unused).
        v_supply: volt, the CMOS op-amp's total supply, rails at ``+-v_supply / 2`` (> 0).
        i_bias: ampere, the CMOS op-amp's reference bias current (> 0); its tail carries
            twice and its output stage ten times this.
    """

    r_in: float = 0.0
    kind: ReadoutKind = ReadoutKind.IDEAL
    r_f: float = 10e3
    gain: float = 1e4
    v_offset: float = 0.0
    v_swing: float = 1.0
    gbw: float = 1e9
    adc_bits: int = 0
    adc_full_scale: float = 0.0
    c_f: float = 1e-12
    t_reset: float = 0.0
    opamp: OpAmpKind = OpAmpKind.BEHAVIOURAL
    v_supply: float = 1.2
    i_bias: float = 20e-6

    def __post_init__(self) -> None:
        _check_types(self, "readout")
        _check_finite_nonneg(self.r_in, "readout.r_in")
        kind = _member(ReadoutKind, self.kind, "readout.kind", "readout")
        object.__setattr__(self, "kind", kind)
        opamp = _member(OpAmpKind, self.opamp, "readout.opamp", "readout")
        object.__setattr__(self, "opamp", opamp)
        for key in ("r_f", "gain", "v_swing", "gbw", "c_f", "v_supply", "i_bias"):
            _check_positive(getattr(self, key), f"readout.{key}")
        if not math.isfinite(self.v_offset):
            raise SpecError(f"must be finite, got {self.v_offset!r}", key="readout.v_offset")
        if self.adc_bits == 1 or not 0 <= self.adc_bits <= 24:
            raise SpecError(
                f"must be 0 (off) or 2 to 24 bits, got {self.adc_bits}", key="readout.adc_bits"
            )
        _check_finite_nonneg(self.adc_full_scale, "readout.adc_full_scale")
        _check_finite_nonneg(self.t_reset, "readout.t_reset")
        if self.adc_bits and self.adc_full_scale == 0:
            raise SpecError(
                "must be > 0 when readout.adc_bits is set", key="readout.adc_full_scale"
            )


@dataclass(frozen=True)
class DeviceSpec:
    """The memristor: its programmable conductance window and its read I-V curve.

    Attributes:
        g_min: siemens, lowest programmable conductance (>= 0).
        g_max: siemens, highest programmable conductance (> g_min).
        iv: the read I-V curve (``"linear"`` or ``"sinh"``); ``G`` is its slope at 0 V.
        v0: volt, the voltage scale of the ``sinh`` curve (> 0; unused when linear).
        c_cell: farad across each memristor (>= 0; transients only).
    """

    g_min: float = 1e-6
    g_max: float = 100e-6
    iv: DeviceIV = DeviceIV.LINEAR
    v0: float = 0.2
    c_cell: float = 0.0

    def __post_init__(self) -> None:
        _check_types(self, "device")
        _check_finite_nonneg(self.c_cell, "device.c_cell")
        _check_finite_nonneg(self.g_min, "device.g_min")
        _check_finite_nonneg(self.g_max, "device.g_max")
        _check_finite_nonneg(self.v0, "device.v0")
        if self.v0 == 0:
            raise SpecError("must be > 0", key="device.v0")
        object.__setattr__(self, "iv", _member(DeviceIV, self.iv, "device.iv", "I-V curve"))
        if self.g_max <= self.g_min:
            raise SpecError(
                f"must be > device.g_min ({self.g_min!r}), got {self.g_max!r}", key="device.g_max"
            )


@dataclass(frozen=True)
class SelectorSpec:
    """The selector of a 1S1R cell: a two-terminal, symmetric, threshold-like device.

    Its current is ``I = i_s * sinh(V / v_s)``: negligible below a threshold and rising
    e-fold every ``v_s`` volts above it, the usual compact description of ovonic threshold
    and tunnelling selectors' read branch. The voltage at which it passes a current ``I``
    is ``v_s * asinh(I / i_s)``: with the defaults, ~0.3 V for 10 uA.

    Attributes:
        i_s: ampere, the current scale (> 0).
        v_s: volt, the voltage scale (> 0).
    """

    i_s: float = 1e-9
    v_s: float = 0.03

    def __post_init__(self) -> None:
        _check_types(self, "selector")
        for key in ("i_s", "v_s"):
            _check_positive(getattr(self, key), f"selector.{key}")


@dataclass(frozen=True)
class WriteSpec:
    """Writing the array: the memristor's dynamic model and the write pulses (``[write]``).

    Used by :mod:`cimspice.write` only (reads use ``[device]``); left out of the spec's
    :meth:`~CrossbarSpec.content_hash`. The model's name and parameters are checked against
    the model library when a write is set up (:func:`cimspice.write.models.dynamic_model`).

    Attributes:
        model: ``"stanford"`` (Stanford-PKU filament-gap RRAM), ``"vteam"`` (threshold
            VTEAM), or the name of a 3-port ``.subckt`` (p, n, state) in ``model_file``.
        model_file: your own behavioural model file (relative to the spec file; the
            security policy of ``access.model_file`` applies).
        params: overrides of the model's subcircuit parameters, ``{name = value}``.
        state_min, state_max: the state range of a ``model_file`` model (its node's volts).
        set_polarity: ``1`` if a positive ``v(p, n)`` moves a ``model_file`` model towards
            its low-resistance end, ``-1`` if it moves it away.
        v_set, v_reset: volt (> 0), the SET and RESET amplitudes across the selected lines.
        t_pulse: second (> 0), the width of a write pulse (its flat top).
        t_edge: second (> 0), each edge's rise or fall time.
        v_gate_set, v_gate_reset: volt, a 1T1R cell's gate during SET (it sets the compliance
            current) and during RESET.
        bias: how a passive (0T1R, 1S1R) array biases unselected lines: ``"v/2"`` or ``"v/3"``.
        variation: device-to-device variation: the standard deviation of the log of a per-cell
            factor on the model's switching-rate parameters (0: identical cells).
        seed: the seed of that variation (>= 0).
    """

    model: str = "stanford"
    model_file: str = ""
    params: tuple[tuple[str, float], ...] | Mapping[str, float] = ()
    state_min: float = 0.0
    state_max: float = 1.0
    set_polarity: int = 1
    v_set: float = 2.0
    v_reset: float = 2.0
    t_pulse: float = 100e-9
    t_edge: float = 1e-9
    v_gate_set: float = 1.0
    v_gate_reset: float = 2.5
    bias: str = "v/2"
    variation: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        _check_types(self, "write")
        _check_finite_nonneg(self.variation, "write.variation")
        if self.seed < 0:
            raise SpecError(f"must be >= 0, got {self.seed}", key="write.seed")
        if not check_spice_name(self.model):
            raise SpecError(f"must be a model name, got {self.model!r}", key="write.model")
        if any(not c.isprintable() for c in self.model_file) or len(self.model_file) > 4096:
            raise SpecError("must be a printable path", key="write.model_file")
        raw = self.params
        items = raw.items() if isinstance(raw, Mapping) else raw
        try:
            pairs = tuple(sorted((str(k), v) for k, v in items))
        except (TypeError, ValueError):
            raise SpecError("must be a table of numbers", key="write.params") from None
        for name, value in pairs:
            if not check_spice_name(name) or isinstance(value, bool):
                raise SpecError(f"{name!r} must name a number", key="write.params")
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise SpecError(
                    f"must be a finite number, got {value!r}", key=f"write.params.{name}"
                )
        object.__setattr__(self, "params", tuple((k, float(v)) for k, v in pairs))
        if not self.state_max > self.state_min or not math.isfinite(
            self.state_max - self.state_min
        ):
            raise SpecError(
                f"must be > write.state_min, got {self.state_max!r}", key="write.state_max"
            )
        if self.set_polarity not in (1, -1):
            raise SpecError(f"must be 1 or -1, got {self.set_polarity}", key="write.set_polarity")
        for key in ("v_set", "v_reset", "t_pulse", "t_edge"):
            _check_positive(getattr(self, key), f"write.{key}")
        for key in ("v_gate_set", "v_gate_reset"):
            if not math.isfinite(getattr(self, key)):
                raise SpecError("must be finite", key=f"write.{key}")
        if self.bias not in ("v/2", "v/3"):
            raise SpecError(f"must be 'v/2' or 'v/3', got {self.bias!r}", key="write.bias")


class MappingScheme(enum.StrEnum):
    """How a signed weight becomes conductances."""

    DIFFERENTIAL = "differential"
    """Two columns per weight: ``w > 0`` raises ``G+`` above ``g_min``, ``w < 0`` raises ``G-``;
    the output is ``I+ - I-`` (subtracted digitally, after each column's ADC)."""
    REFERENCE = "reference"
    """One column per weight at ``g_ref + w * (g_max - g_min) / 2`` around the mid conductance
    ``g_ref = (g_min + g_max) / 2``, plus one reference column at ``g_ref`` per tile whose
    current is subtracted from every other column's (after the ADC)."""


MAX_SLICE_BITS = 16
"""Largest weight precision and input precision (bits) the mapping accepts."""


@dataclass(frozen=True)
class MappingSpec:
    """How a network's weight matrices and activations reach the tiles (network evaluation).

    Weights are scaled per layer: ``w / max|W|`` of the layer spans the whole conductance
    window. Inputs are scaled per layer too: ``x / x_max`` spans ``[0, v_read]`` (or
    ``[-v_read, v_read]``), where ``x_max`` is the layer's input range (see
    :mod:`cimspice.mapping.matmul`). Signed inputs go through the DAC in one phase when it
    is bipolar (``driver.dac_signed = true``); otherwise in two phases, positive parts then
    negative parts (each as positive voltages), their outputs subtracted digitally.

    Attributes:
        scheme: ``"differential"`` (two columns per weight) or ``"reference"`` (one column
            per weight plus one reference column per tile).
        weight_bits: 0 (default): analogue weights, each mapped to a continuous conductance.
            ``B`` (1..16): ``|w| / max|W|`` is rounded to a ``B``-bit integer (the sign goes
            to the column pair or to the side of ``g_ref``).
        slice_bits: bits per slice when bit-slicing ``B``-bit weights: the integer is split
            into ``ceil(B / slice_bits)`` slices, each on its own column (pair) with
            ``2^slice_bits`` conductance levels, recombined by shift-and-add after the ADCs.
            0 (default): one slice holds all ``B`` bits.
        input_bits: 0 (default): each input is one voltage (through the DAC). ``N`` (1..16):
            bit-serial inputs: ``|x| / x_max`` is rounded to an ``N``-bit integer and applied
            one bit per cycle (a word line at ``v_read`` or 0 V), the outputs shift-and-added.
    """

    scheme: MappingScheme = MappingScheme.DIFFERENTIAL
    weight_bits: int = 0
    slice_bits: int = 0
    input_bits: int = 0

    def __post_init__(self) -> None:
        _check_types(self, "mapping")
        scheme = _member(MappingScheme, self.scheme, "mapping.scheme", "mapping scheme")
        object.__setattr__(self, "scheme", scheme)
        for key in ("weight_bits", "slice_bits", "input_bits"):
            value = getattr(self, key)
            if not 0 <= value <= MAX_SLICE_BITS:
                raise SpecError(
                    f"must be 0 (off) to {MAX_SLICE_BITS} bits, got {value}", key=f"mapping.{key}"
                )
        if self.slice_bits and not self.weight_bits:
            raise SpecError(
                "needs mapping.weight_bits (the bits to slice)", key="mapping.slice_bits"
            )
        if self.slice_bits > self.weight_bits:
            raise SpecError(
                f"must be <= mapping.weight_bits ({self.weight_bits}), got {self.slice_bits}",
                key="mapping.slice_bits",
            )


MAX_LEVELS = 2048
"""Most distinguishable conductance levels accepted (11 bits, a 2023 device result on CMOS)."""


@dataclass(frozen=True)
class NonidealSpec:
    """Device non-idealities for network evaluation; every one is off by default.

    Each is a seeded model applied when a network's weights are programmed into tiles (see
    :mod:`cimspice.devices.generic`), in this order: levels, stuck-at faults, programming
    noise (with write-verify), drift, temperature. Read noise is sampled at every MVM.

    Attributes:
        seed: the device seed (programming noise, faults, drift exponents, read noise), >= 0.
        levels: number of programmable conductance levels, evenly spaced over
            ``[g_min, g_max]`` (2..2048); targets snap to the nearest. 0: continuous.
        prog_noise_rel: dimensionless; std of a programmed conductance as a fraction of its
            target (the state-dependent part: high-conductance states spread more).
        prog_noise_abs: siemens; std of a programmed conductance independent of its state.
        verify_tol: siemens; write-verify: a cell whose programmed conductance is further than
            this from its target is programmed again (a fresh pulse, same noise) until within
            tolerance or ``verify_max_pulses`` pulses. 0: one pulse, no verify.
        verify_max_pulses: most programming pulses per cell with write-verify (>= 1).
        read_noise: dimensionless; std of each cell's conductance at each read (MVM), as a
            fraction of its conductance, drawn afresh for every input vector.
        drift_time: second; time since programming at which the network is read
            (0: no drift; otherwise >= drift_t0).
        drift_t0: second; the reference time at which the programmed values hold (> 0).
        drift_nu: drift exponent: ``G(t) = G(t0) (t / t0)^-nu`` (>= 0).
        drift_nu_std: device-to-device std of the drift exponent (>= 0; each cell's ``nu``
            is drawn from a normal distribution and clipped at 0).
        drift_compensation: global drift compensation: each tile's outputs are rescaled
            digitally by the ratio of its summed conductance as programmed to its summed
            conductance now (an idealised gain: a real chip measures it with an all-``v_read``
            calibration input, whose response also carries the IR drop, nearly the same then
            and now).
        stuck_on: fraction of cells stuck at ``g_max`` (0..1).
        stuck_off: fraction of cells stuck at ``g_min`` (0..1; with stuck_on <= 1).
        temperature: kelvin; the tile's operating temperature (> 0).
        temperature_ref: kelvin; the temperature at which conductances were programmed and
            the spec's wire resistances hold (> 0).
        tc_device: 1/kelvin; relative change of every conductance per kelvin:
            ``G (1 + tc_device (T - T_ref))``.
        tc_wire: 1/kelvin; relative change of the wire resistances per kelvin:
            ``R (1 + tc_wire (T - T_ref))`` (copper: about 3.9e-3).
    """

    seed: int = 0
    levels: int = 0
    prog_noise_rel: float = 0.0
    prog_noise_abs: float = 0.0
    verify_tol: float = 0.0
    verify_max_pulses: int = 20
    read_noise: float = 0.0
    drift_time: float = 0.0
    drift_t0: float = 1.0
    drift_nu: float = 0.0
    drift_nu_std: float = 0.0
    drift_compensation: bool = False
    stuck_on: float = 0.0
    stuck_off: float = 0.0
    temperature: float = 300.0
    temperature_ref: float = 300.0
    tc_device: float = 0.0
    tc_wire: float = 0.0

    def __post_init__(self) -> None:
        _check_types(self, "nonideal")
        if self.seed < 0:
            raise SpecError(f"must be an integer >= 0, got {self.seed}", key="nonideal.seed")
        if self.levels == 1 or not 0 <= self.levels <= MAX_LEVELS:
            raise SpecError(
                f"must be 0 (continuous) or 2 to {MAX_LEVELS}, got {self.levels}",
                key="nonideal.levels",
            )
        for key in (
            "prog_noise_rel",
            "prog_noise_abs",
            "verify_tol",
            "read_noise",
            "drift_time",
            "drift_nu",
            "drift_nu_std",
            "stuck_on",
            "stuck_off",
        ):
            _check_finite_nonneg(getattr(self, key), f"nonideal.{key}")
        for key in ("drift_t0", "temperature", "temperature_ref"):
            _check_positive(getattr(self, key), f"nonideal.{key}")
        if self.verify_max_pulses < 1:
            raise SpecError(
                f"must be >= 1, got {self.verify_max_pulses}", key="nonideal.verify_max_pulses"
            )
        if 0 < self.drift_time < self.drift_t0:
            raise SpecError(
                f"must be 0 (no drift) or >= nonideal.drift_t0 ({self.drift_t0!r} s), "
                f"got {self.drift_time!r}",
                key="nonideal.drift_time",
            )
        for key in ("stuck_on", "stuck_off"):
            if getattr(self, key) > 1:
                raise SpecError(
                    f"must be a fraction <= 1, got {getattr(self, key)!r}", key=f"nonideal.{key}"
                )
        if self.stuck_on + self.stuck_off > 1:
            raise SpecError("stuck_on + stuck_off must be <= 1", key="nonideal.stuck_off")
        for key in ("tc_device", "tc_wire"):
            value = getattr(self, key)
            if not math.isfinite(value):
                raise SpecError(f"must be finite, got {value!r}", key=f"nonideal.{key}")
            if 1 + value * (self.temperature - self.temperature_ref) <= 0:
                raise SpecError(
                    f"makes 1 + {key} (temperature - temperature_ref) <= 0: a non-positive "
                    f"{'conductance' if key == 'tc_device' else 'resistance'}",
                    key=f"nonideal.{key}",
                )

    @property
    def is_off(self) -> bool:
        """Whether every non-ideality is off (the seed aside)."""
        return dataclasses.replace(self, seed=0) == NonidealSpec()


BUILTIN_MODELS: dict[str, dict[str, Any]] = {
    "nmos65": {"file": "nmos65.lib", "polarity": "n", "vth": 0.65},
}
"""Transistor models shipped in ``models/``: file, polarity and the constant-current threshold
(V) measured with the card (see the card's header)."""


@dataclass(frozen=True)
class AccessSpec:
    """The access transistor of a 1T1R cell (unused by passive cells).

    The memristor sits on the word-line side; the NMOS's drain joins it, its source the bit
    line, its gate the cell's select line, its body ground.

    Attributes:
        v_gate: volt, the select lines' voltage during a read.
        w: metre, channel width.
        l: metre, channel length.
        model: the transistor's ``.model`` name: a built-in model (``"nmos65"``) or a name
            defined in ``model_file`` (an ``nmos`` ``.model``, or a 4-port ``.subckt``
            drain-gate-source-body taking ``w`` and ``l``); letters, digits, ``_`` and ``.``.
        model_file: path of a SPICE model file (e.g. a foundry card) defining ``model``;
            relative paths are taken from the spec file's folder. Empty: built-in models.
            The file is checked before use (model cards only, from the spec's folder or a
            folder in ``CIMSPICE_MODEL_PATH``, at most 16 MiB: see
            :mod:`cimspice.model_cards`).
        model_section: the ``.lib`` section (corner) of ``model_file`` to use, when the file
            has sections. Empty: the file has none.
        r_select: ohm per cell-pitch segment of a select line (driven at column 0; carries
            no DC current, so it matters only in transients).
    """

    v_gate: float = 1.2
    w: float = 500e-9
    l: float = 65e-9  # noqa: E741  (the issue and DESIGN name it l)
    model: str = "nmos65"
    model_file: str = ""
    model_section: str = ""
    r_select: float = 0.0

    def __post_init__(self) -> None:
        _check_types(self, "access")
        for key in ("w", "l"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise SpecError(f"must be > 0 metre, got {value!r}", key=f"access.{key}")
            if value > 1e-3:
                raise SpecError(
                    f"{value!r} m is over a millimetre: give metres (e.g. 500e-9)",
                    key=f"access.{key}",
                )
        if not math.isfinite(self.v_gate):
            raise SpecError(f"must be finite, got {self.v_gate!r}", key="access.v_gate")
        _check_finite_nonneg(self.r_select, "access.r_select")
        # Both names land in decks: nothing but a plain SPICE name may start a statement.
        for key in ("model", "model_section"):
            value = getattr(self, key)
            if (value or key == "model") and not check_spice_name(value):
                raise SpecError(
                    f"must be a model name (up to 64 letters, digits, '_' and '.', not "
                    f"starting with '.'), got {value!r}",
                    key=f"access.{key}",
                )
        if any(not c.isprintable() for c in self.model_file) or len(self.model_file) > 4096:
            raise SpecError(
                "must be a path of printable characters (no newlines or control characters), "
                "at most 4096 long",
                key="access.model_file",
            )
        if self.model_section and not self.model_file:
            raise SpecError("is set without access.model_file", key="access.model_section")
        if not self.model_file and self.model not in BUILTIN_MODELS:
            known = ", ".join(repr(m) for m in BUILTIN_MODELS)
            raise SpecError(
                f"unknown model {self.model!r}; built-in models: {known} (or give "
                "access.model_file)",
                key="access.model",
            )


@dataclass(frozen=True)
class CrossbarSpec:
    """A whole crossbar tile: array, wires, drivers, readout and device window.

    Attributes:
        array: size and cell type.
        wire: wire segment resistances.
        driver: word-line drivers.
        readout: bit-line sense amplifiers.
        device: conductance window.
        access: the access transistor (1T1R cells).
        selector: the selector (1S1R cells).
        mapping: how networks are mapped onto the tile (network evaluation only).
        nonideal: device non-idealities (network evaluation only).
        write: the dynamic memristor model and write pulses (writes only).
        source: the file the spec was read from (``None`` if built in memory); not part of
            the spec's identity.
        cards: the access transistor's checked model cards when they were read already
            (:func:`load_spec` reads a ``model_file`` at once, and sweeps hand the cards to
            their workers with the spec); ``None``: read on first use. Not part of the
            spec's identity.

    """

    array: ArraySpec
    wire: WireSpec = field(default_factory=WireSpec)
    driver: DriverSpec = field(default_factory=DriverSpec)
    readout: ReadoutSpec = field(default_factory=ReadoutSpec)
    device: DeviceSpec = field(default_factory=DeviceSpec)
    access: AccessSpec = field(default_factory=AccessSpec)
    selector: SelectorSpec = field(default_factory=SelectorSpec)
    mapping: MappingSpec = field(default_factory=MappingSpec)
    nonideal: NonidealSpec = field(default_factory=NonidealSpec)
    write: WriteSpec = field(default_factory=WriteSpec)
    source: Path | None = field(default=None, compare=False)
    cards: ModelCards | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name, cls in _SECTIONS.items():
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise SpecError(
                    f"must be {a_or_an(cls.__name__)} (the [{name}] table; build a spec from "
                    f"plain data with spec_from_dict), got {type(value).__name__}",
                    key=name,
                )
        if self.source is not None:
            if not isinstance(self.source, str | os.PathLike):
                raise SpecError(f"source must be a path or None, got {self.source!r}")
            object.__setattr__(self, "source", Path(self.source))

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
            return data_dir("models") / BUILTIN_MODELS[self.access.model]["file"]
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

    def with_model_cards(self) -> CrossbarSpec:
        """The spec holding its user model file's cards (read and checked now), so that
        they travel with it (to sweep workers, say) and the file is read once; unchanged
        when the tile has no transistors or uses a built-in model.

        Raises:
            ModelFileError: see :meth:`model_cards`.
        """
        if self.cards is not None or not (self.has_transistors and self.access.model_file):
            return self
        return dataclasses.replace(self, cards=self.model_cards())

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The spec as plain TOML-shaped data (sections of key/value pairs)."""
        out: dict[str, dict[str, Any]] = {}
        for name, _ in _SECTIONS.items():
            section = getattr(self, name)
            out[name] = {
                f.name: (v.value if isinstance(v, enum.Enum) else v)
                for f in dataclasses.fields(section)
                for v in [getattr(section, f.name)]
            }
        return out

    def content_hash(self) -> str:
        """A stable SHA-256 of the spec's content (independent of the file it came from).

        Keys that do not change the circuit are left out, so the hash stays what it was
        before they existed: ``device.iv`` and ``device.v0`` for linear cells, and always the
        ``[mapping]``, ``[nonideal]`` and ``[write]`` sections (how a network uses or writes
        the tile is not the tile: a surrogate calibrated for it stays valid whatever they
        hold).
        """
        data = self.to_dict()
        del data["mapping"], data["nonideal"], data["write"]
        if self.device.iv == DeviceIV.LINEAR:
            del data["device"]["iv"], data["device"]["v0"]
        for section, key in (("wire", "c_row"), ("wire", "c_col"), ("device", "c_cell")):
            if data[section][key] == 0:  # parasitics added later: absent = zero
                del data[section][key]
        if self.array.cell != CellKind.ONE_T_ONE_R:
            del data["access"]
        elif not data["access"]["model_section"]:  # added later: absent = none
            del data["access"]["model_section"]
        if self.array.cell != CellKind.ONE_S_ONE_R:
            del data["selector"]
        adc = {k: data["readout"][k] for k in ("adc_bits", "adc_full_scale")}
        if self.readout.opamp == OpAmpKind.BEHAVIOURAL:  # added later: absent = behavioural
            for key in ("opamp", "v_supply", "i_bias"):
                del data["readout"][key]
        else:
            for key in ("gain", "v_offset", "v_swing", "gbw"):
                del data["readout"][key]
        if self.readout.kind == ReadoutKind.IDEAL:
            data["readout"] = {"r_in": data["readout"]["r_in"]}
        if self.readout.adc_bits:
            data["readout"].update(adc)
        else:
            data["readout"].pop("adc_bits", None)
            data["readout"].pop("adc_full_scale", None)
        if not self.driver.dac_bits:
            del data["driver"]["dac_bits"], data["driver"]["dac_signed"]
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


_SECTIONS: dict[str, type] = {
    "array": ArraySpec,
    "wire": WireSpec,
    "driver": DriverSpec,
    "readout": ReadoutSpec,
    "device": DeviceSpec,
    "access": AccessSpec,
    "selector": SelectorSpec,
    "mapping": MappingSpec,
    "nonideal": NonidealSpec,
    "write": WriteSpec,
}
_REQUIRED_SECTIONS = ("array",)


def spec_from_dict(data: Mapping[str, Any], *, source: str | Path | None = None) -> CrossbarSpec:
    """Build a validated :class:`CrossbarSpec` from TOML-shaped data.

    Raises:
        SpecError: on an unknown section or key, a missing required key, a wrong type or an
            invalid value; the message names ``source`` and the dotted key.

    """
    if not isinstance(data, Mapping):
        raise SpecError(
            f"a spec must be a table of sections (a mapping), got {type(data).__name__}",
            file=source,
        )
    try:
        for name in data:
            if name not in _SECTIONS:
                known = ", ".join(f"[{s}]" for s in _SECTIONS)
                raise SpecError(f"unknown section; known sections: {known}", key=name)
        for name in _REQUIRED_SECTIONS:
            if name not in data:
                raise SpecError("missing required section", key=name)
        sections: dict[str, Any] = {}
        for name, cls in _SECTIONS.items():
            raw = data.get(name, {})
            if not isinstance(raw, Mapping):
                raise SpecError(f"must be a table, got {type(raw).__name__}", key=name)
            fields_ = {f.name: f for f in dataclasses.fields(cls)}
            kwargs: dict[str, Any] = {}
            for key, value in raw.items():
                if key not in fields_:
                    known = ", ".join(fields_)
                    raise SpecError(f"unknown key; known keys: {known}", key=f"{name}.{key}")
                kwargs[key] = value  # its type is checked by the section itself
            for fname, f in fields_.items():
                no_default = (
                    f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                )
                if no_default and fname not in kwargs:
                    raise SpecError("missing required key", key=f"{name}.{fname}")
            sections[name] = cls(**kwargs)
        return CrossbarSpec(**sections, source=None if source is None else Path(source))
    except SpecError as err:
        if err.file is None and source is not None:
            raise SpecError(_bare_message(err), file=source, key=err.key) from None
        raise


def _bare_message(err: SpecError) -> str:
    text = str(err)
    if err.key is not None:
        marker = f"key '{err.key}': "
        if text.startswith(marker):
            return text[len(marker) :]
    return text


def load_spec(path: str | os.PathLike[str]) -> CrossbarSpec:
    """Read and validate a spec file (TOML).

    Raises:
        SpecError: the file is missing, unreadable, not valid TOML, or holds an invalid spec.
        InputError: ``path`` is not a path.

    """
    path = path_argument(path, "path")
    if path.is_dir():
        raise SpecError("is a directory, not a spec file", file=path)
    if path.exists() and not path.is_file():  # a FIFO or a device would block or never end
        raise SpecError("is not a regular file, not a spec file", file=path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError("spec file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"cannot read spec file: {err}", file=path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"invalid TOML: {err}", file=path) from None
    except RecursionError:
        raise SpecError(
            "invalid spec: its arrays or tables are nested too deeply", file=path
        ) from None
    # A model file is checked now, before any work, and its cards travel with the spec.
    return spec_from_dict(data, source=path).with_model_cards()


def as_spec(spec: CrossbarSpec | str | os.PathLike[str], name: str = "spec") -> CrossbarSpec:
    """``spec`` itself, or the spec file it names loaded (see :func:`load_spec`).

    The public functions that take a spec take either, as :func:`cimspice.simulate` does.

    Raises:
        InputError: ``spec`` is neither a :class:`CrossbarSpec` nor a path (names ``name``).
        SpecError: the file is missing or holds an invalid spec.
    """
    if isinstance(spec, CrossbarSpec):
        return spec
    if isinstance(spec, str | os.PathLike):
        return load_spec(spec)
    raise InputError(
        f"{name} must be a CrossbarSpec (see load_spec) or the path of a spec file, got "
        f"{type(spec).__name__}"
    )
