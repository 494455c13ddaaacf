"""The network spec: how a network's layers use a tile (``[mapping]``, ``[nonideal]``), and how
the tile is written (``[write]``, declared in :mod:`cimspice.spec.write`).

These tables do not change the tile's circuit, so they never enter its content hash: a
surrogate calibrated for a tile stays valid whatever they hold. :class:`NetworkSpec` is the
one table of network tables: a new one (a device-model selection, say) is a :class:`Section`
class here and one field line in :class:`NetworkSpec`, and every spec file, ``replace`` and
:class:`~cimspice.spec.crossbar.CrossbarSpec` picks it up from there.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from cimspice.spec.base import Sections
from cimspice.spec.fields import (
    Check,
    Section,
    at_least,
    finite,
    never,
    nonneg,
    number_table,
    off_or_range,
    param,
    positive,
    printable_path,
    section,
)
from cimspice.spec.write import WriteSpec

__all__ = [
    "MAX_LEVELS",
    "MAX_SLICE_BITS",
    "DriftCompensation",
    "MappingScheme",
    "MappingSpec",
    "NetworkSpec",
    "NonidealSpec",
]


class MappingScheme(enum.StrEnum):
    """How a signed weight becomes conductances."""

    DIFFERENTIAL = "differential"
    """Two columns per weight: ``w > 0`` raises ``G+`` above ``g_min``, ``w < 0`` raises ``G-``;
    the output is ``I+ - I-`` (subtracted digitally, after each column's ADC)."""
    REFERENCE = "reference"
    """One column per weight at ``g_ref + w * (g_max - g_min) / 2`` around the mid conductance
    ``g_ref = (g_min + g_max) / 2``, plus one reference column at ``g_ref`` per tile whose
    current is subtracted from every other column's (after the ADC)."""


_MODEL_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")


class DriftCompensation(enum.StrEnum):
    """How drift compensation measures the gain it applies (``nonideal.drift_compensation``)."""

    GLOBAL = "global"
    """One gain per tile: its summed conductance as programmed over now (aihwkit's global
    compensation: the response to an all-``v_read`` calibration input)."""
    COLUMN = "column"
    """One gain per column: each column's summed conductance as programmed over now (the same
    calibration input, read column by column; one digital multiply per column and MVM)."""
    REFERENCE = "reference"
    """One gain per tile from an extra reference column of devices programmed to known
    targets spread over the window: its summed conductance as programmed over now."""


MAX_SLICE_BITS = 16
"""Largest weight precision and input precision (bits) the mapping accepts."""

MAX_LEVELS = 2048
"""Most distinguishable conductance levels accepted (11 bits, a 2023 device result on CMOS)."""


@dataclass(frozen=True)
class MappingSpec(Section):
    """How a network's weight matrices and activations reach the tiles (network evaluation).

    Weights are scaled per layer: ``w / max|W|`` of the layer spans the whole conductance
    window. Inputs are scaled per layer too: ``x / x_max`` spans ``[0, v_read]`` (or
    ``[-v_read, v_read]``), where ``x_max`` is the layer's input range (see
    :mod:`cimspice.mapping.matmul`). Signed inputs go through the DAC in one phase when it
    is bipolar (``driver.dac_signed = true``); otherwise in two phases, positive parts then
    negative parts (each as positive voltages), their outputs subtracted digitally.
    """

    table: ClassVar[str] = "mapping"

    scheme: MappingScheme = param(
        MappingScheme.DIFFERENTIAL,
        noun="mapping scheme",
        doc='How a signed weight becomes conductances. "differential": two columns per '
        'weight; "reference": one column per weight plus one reference column per tile.',
    )
    weight_bits: int = param(
        0,
        check=off_or_range(1, MAX_SLICE_BITS),
        doc="Weight precision in bits. 0: analogue weights, each mapped to a continuous "
        "conductance. B bits: |w| / max|W| is rounded to a B-bit integer (the sign goes to "
        "the column pair or to the side of g_ref).",
    )
    slice_bits: int = param(
        0,
        check=off_or_range(1, MAX_SLICE_BITS),
        doc="Bits per slice when bit-slicing weights. 0: one slice holds all weight_bits. "
        "The integer is split into ceil(weight_bits / slice_bits) slices, each on its own "
        "column (pair) with 2^slice_bits levels, recombined by shift-and-add after the ADCs.",
    )
    input_bits: int = param(
        0,
        check=off_or_range(1, MAX_SLICE_BITS),
        doc="Bit-serial input precision in bits. 0: each input is one voltage (through the "
        "DAC). N "
        "bits: |x| / x_max is rounded to an N-bit integer and applied one bit per cycle (a "
        "word line at v_read or 0 V), the outputs shift-and-added.",
    )

    def _check(self) -> None:
        if self.slice_bits and not self.weight_bits:
            raise self.error("slice_bits", "needs mapping.weight_bits (the bits to slice)")
        if self.slice_bits > self.weight_bits:
            raise self.error(
                "slice_bits",
                f"must be <= mapping.weight_bits ({self.weight_bits}), got {self.slice_bits}",
            )


@dataclass(frozen=True)
class NonidealSpec(Section):
    """Device non-idealities for network evaluation; every one is off by default.

    Each is a seeded model applied when a network's weights are programmed into tiles (see
    :mod:`cimspice.devices.generic`), in this order: levels, stuck-at faults, programming
    noise (with write-verify), drift, temperature. Read noise is sampled at every MVM.
    """

    table: ClassVar[str] = "nonideal"

    seed: int = param(
        0,
        check=at_least(0, "an integer"),
        doc="The device seed. It seeds programming noise, faults, drift exponents and read noise.",
    )
    model: str = param(
        "generic",
        check=Check(
            lambda v: (
                None
                if _MODEL_NAME.fullmatch(v)
                else f"must be a model name (lower-case letters, digits, '-', '_'), got {v!r}"
            ),
            "a device model name",
        ),
        doc="The device model: how a target conductance is programmed, read, and how it "
        'drifts. "generic": the keys of this table (levels, prog_noise_*, read_noise, '
        'drift_*, stuck_*, tc_device); a preset such as "pcm-nandakumar2019": its '
        "parameters, overridden by model_params (see cimspice.devices.registry).",
    )
    model_params: tuple[tuple[str, float], ...] | Mapping[str, float] = param(
        (),
        doc="Overrides of the device model's parameters, a table {name = value} (stored as "
        "sorted (name, value) pairs). Unknown names are refused when the model is built. The "
        "generic model takes the variation keys only (die_spread, tile_spread, "
        "stuck_on_low/_high, stuck_off_low/_high).",
    )
    programming_file: str = param(
        "",
        check=printable_path,
        doc='With model = "spice-verify": the programming model calibrated from SPICE '
        "write-verify (cimspice write verify --calibration; JSON with its SHA-256), relative "
        "to the spec file; the path policy of access.model_file applies.",
    )
    levels: int = param(
        0,
        check=off_or_range(2, MAX_LEVELS, off="continuous", unit=""),
        doc="Number of programmable conductance levels over [g_min, g_max]. 0: continuous; "
        "otherwise evenly spaced levels, to the nearest of which targets snap.",
    )
    prog_noise_rel: float = param(
        0.0,
        check=nonneg,
        doc="Std of a programmed conductance as a fraction of its target. The "
        "state-dependent part: high-conductance states spread more.",
    )
    prog_noise_abs: float = param(
        0.0,
        unit="S",
        check=nonneg,
        doc="Std of a programmed conductance independent of its state.",
    )
    verify_tol: float = param(
        0.0,
        unit="S",
        check=nonneg,
        doc="Write-verify tolerance. 0: one pulse, no verify. A cell further than this from "
        "its target is programmed again (a fresh pulse, same noise) until within tolerance "
        "or verify_max_pulses pulses.",
    )
    verify_max_pulses: int = param(
        20, check=at_least(1), doc="Most programming pulses per cell with write-verify."
    )
    read_noise: float = param(
        0.0,
        check=nonneg,
        doc="Std of each cell's conductance at each read (MVM), as a fraction of its "
        "conductance. Drawn afresh for every input vector.",
    )
    drift_time: float = param(
        0.0,
        unit="s",
        check=nonneg,
        doc="Time since programming at which the network is read. Generic model: 0 for no "
        "drift, otherwise >= drift_t0; a preset counts it from the end of programming (see "
        "its module).",
    )
    drift_t0: float = param(
        1.0,
        unit="s",
        check=positive,
        doc="The reference time at which the programmed values hold.",
    )
    drift_nu: float = param(0.0, check=nonneg, doc="Drift exponent: G(t) = G(t0) (t / t0)^-nu.")
    drift_nu_std: float = param(
        0.0,
        check=nonneg,
        doc="Device-to-device std of the drift exponent. Each cell's nu is drawn from a "
        "normal distribution and clipped at 0.",
    )
    drift_compensation: bool = param(
        False,
        doc="Global drift compensation. Each tile's outputs rescaled digitally by the ratio "
        "of its summed conductance as programmed to its summed conductance now. An "
        "idealised gain: a real chip measures it with an all-v_read calibration input, whose "
        "response also carries the IR drop, nearly the same then and now.",
    )
    drift_compensation_kind: DriftCompensation = param(
        DriftCompensation.GLOBAL,
        noun="drift compensation",
        doc='How drift compensation measures its gain. "global": one per tile, its summed '
        'conductance then over now; "column": one per column; "reference": one per tile from '
        "an extra column of devices programmed to known targets.",
    )
    stuck_on: float = param(0.0, check=nonneg, doc="Fraction of cells stuck at g_max (<= 1).")
    stuck_off: float = param(
        0.0, check=nonneg, doc="Fraction of cells stuck at g_min (<= 1, with stuck_on)."
    )
    temperature: float = param(
        300.0, unit="K", check=positive, doc="The tile's operating temperature."
    )
    temperature_ref: float = param(
        300.0,
        unit="K",
        check=positive,
        doc="The temperature at which conductances were programmed and the spec's wire "
        "resistances hold.",
    )
    tc_device: float = param(
        0.0,
        unit="1/K",
        check=finite,
        doc="Relative change of every conductance per kelvin: G (1 + tc_device (T - T_ref)).",
    )
    tc_wire: float = param(
        0.0,
        unit="1/K",
        check=finite,
        doc="Relative change of the wire resistances per kelvin: R (1 + tc_wire (T - T_ref)). "
        "Copper: about 3.9e-3.",
    )

    def _check(self) -> None:
        object.__setattr__(
            self, "model_params", number_table(self.model_params, "nonideal.model_params")
        )
        if self.model == "generic" and 0 < self.drift_time < self.drift_t0:
            raise self.error(
                "drift_time",
                f"must be 0 (no drift) or >= nonideal.drift_t0 ({self.drift_t0!r} s), "
                f"got {self.drift_time!r}",
            )
        if bool(self.programming_file) != (self.model == "spice-verify"):
            raise self.error(
                "programming_file",
                'goes with nonideal.model = "spice-verify" (and that model needs it), '
                f"got model {self.model!r} and programming_file {self.programming_file!r}",
            )
        for key in ("stuck_on", "stuck_off"):
            if getattr(self, key) > 1:
                raise self.error(key, f"must be a fraction <= 1, got {getattr(self, key)!r}")
        if self.stuck_on + self.stuck_off > 1:
            raise self.error("stuck_off", "stuck_on + stuck_off must be <= 1")
        for key in ("tc_device", "tc_wire"):
            value = getattr(self, key)
            if 1 + value * (self.temperature - self.temperature_ref) <= 0:
                raise self.error(
                    key,
                    f"makes 1 + {key} (temperature - temperature_ref) <= 0: a non-positive "
                    f"{'conductance' if key == 'tc_device' else 'resistance'}",
                )

    def to_dict(self) -> dict[str, Any]:
        """The table as plain TOML-shaped data (``model_params`` as a table)."""
        data = super().to_dict()
        data["model_params"] = dict(self.model_params)
        return data

    @property
    def is_off(self) -> bool:
        """Whether every non-ideality is off (the seed aside)."""
        return dataclasses.replace(self, seed=0) == NonidealSpec()


@dataclass(frozen=True)
class NetworkSpec(Sections):
    """How a network's layers use a tile, and how the tile is written: the network tables of
    a spec file.

    Its fields are the registry of network tables: each is declared with
    :func:`~cimspice.spec.fields.section` and ``hash=never`` (how a network uses or writes
    the tile is not the tile's read circuit).
    """

    mapping: MappingSpec = section(
        MappingSpec, doc="How weights and inputs reach the tiles.", hash=never
    )
    nonideal: NonidealSpec = section(
        NonidealSpec, doc="Seeded device non-idealities (all off by default).", hash=never
    )
    write: WriteSpec = section(
        WriteSpec,
        doc="The memristor's dynamic model and the write pulses (writes only).",
        hash=never,
    )

    @property
    def network(self) -> NetworkSpec:
        """The network tables alone (this spec when it is a plain NetworkSpec)."""
        if type(self) is NetworkSpec:
            return self
        return NetworkSpec(**{name: getattr(self, name) for name in NetworkSpec.sections()})
