"""Input scaling and bit-serial inputs: lower cell voltages, or binary ones, against the cells'
I-V nonlinearity.

A ``sinh`` cell (``[device] iv = "sinh"``) passes ``G v0 sinh(V / v0)``: its current exceeds
``G V`` by about ``(V / v0)^2 / 6``, so a tile driven at full ``v_read`` computes a
distorted ``V @ G``. Two remedies, both measured against the ideal ``V @ G``:

- ``scale``: drive ``s * V`` (``0 < s <= 1``) and multiply the outputs by ``1 / s``. The
  relative nonlinearity falls as ``s^2``; the signal falls as ``s``, so a fixed ADC range
  and the readout's offsets count ``1 / s`` times more (one cycle, less array energy).
- ``bit-serial``: quantise each input to ``bits`` bits (``[0, v_read]``, unsigned) and apply
  one bit plane per cycle, every active word line at ``v_bit``. With binary inputs every cell
  sees either 0 V or (up to IR drop) ``v_bit``, where the cell's current is exactly
  ``G v_bit k`` with ``k = sinh(x) / x``, ``x = v_bit / v0``: a known gain, divided out
  digitally with the planes' weights ``2^b``. Costs ``bits`` cycles, ``bits`` conversions per
  column and ``(bits - 1)`` shift-adds per column; adds the inputs' quantisation error.

Inputs must be ``>= 0`` for the bit-serial mode (a signed input needs two passes). The plane
level is the DAC's level nearest ``v_bit`` (what the word lines really get). The known gain
needs a two-terminal cell law: bit-serial refuses 1T1R and 1S1R cells (the access transistor
or selector in series makes each cell's gain depend on its conductance); ``scale`` works on
every tile. Both are read as the digital side sees them (:mod:`~cimspice.compensation.tile`):
with an ADC, scaled outputs lose resolution.
"""

from __future__ import annotations

import enum
import math
import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cimspice.arguments import check_fields, integer, real, real_array
from cimspice.compensation.cost import EnergyBreakdown
from cimspice.compensation.scheme import (
    NetworkForm,
    Outcome,
    SchemeBase,
    enum_field,
    tile_conflicts,
)
from cimspice.compensation.tile import Bench
from cimspice.converters import dac
from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec, DeviceIV, as_spec

__all__ = ["MAX_BITS", "InputMode", "InputScalingParams", "bit_planes", "planes_gain"]

MAX_BITS = 16
"""Most bit planes (cycles) of the bit-serial mode."""


class InputMode(enum.StrEnum):
    """How the inputs are applied."""

    SCALE = "scale"
    """Every input times ``scale``, outputs times ``1 / scale``."""
    BIT_SERIAL = "bit-serial"
    """One bit plane per cycle at ``v_bit``."""


@dataclass(frozen=True)
class InputScalingParams(SchemeBase):
    """The ``input-scaling`` scheme.

    Attributes:
        mode: ``"scale"`` or ``"bit-serial"``.
        scale: input factor of the ``scale`` mode (``0 < scale <= 1``).
        bits: input resolution of the ``bit-serial`` mode (1 to :data:`MAX_BITS` cycles).
        v_bit: volt, the level of an active word line in a bit plane (> 0); 0 means the
            spec's ``v_read``.
    """

    name: ClassVar[str] = "input-scaling"

    mode: InputMode = InputMode.SCALE
    scale: float = 0.25
    bits: int = 8
    v_bit: float = 0.0

    def __post_init__(self) -> None:
        check_fields(self, self.name)
        enum_field(self, "mode", InputMode, self.name)
        if not 0 < self.scale <= 1:
            raise InputError(f"input-scaling: scale must be in (0, 1], got {self.scale!r}")
        if not 1 <= self.bits <= MAX_BITS:
            raise InputError(f"input-scaling: bits must be 1 to {MAX_BITS}, got {self.bits}")
        if not (math.isfinite(self.v_bit) and self.v_bit >= 0):
            raise InputError(f"input-scaling: v_bit must be >= 0 V, got {self.v_bit!r}")

    def check_tile(self, spec: CrossbarSpec) -> None:
        """Refuse bit-serial inputs on cells without a two-terminal law (see the module)."""
        keys = tile_conflicts(spec, linear=False, ideal_readout=False)
        if self.mode == InputMode.BIT_SERIAL and keys:
            raise InputError(
                f"input-scaling: bit-serial divides out the cells' known gain at v_bit, which "
                f"needs two-terminal cells; {keys[0]} puts a device in series whose share of "
                "v_bit depends on each cell's conductance (use array.cell = '0T1R', or mode "
                "'scale')"
            )

    def apply(self, bench: Bench) -> Outcome:
        """Scaled or bit-serial inputs through the programmed targets (see the module)."""
        spec = bench.spec
        if self.mode == InputMode.SCALE:
            scaled = bench.baseline.read(self.scale * bench.inputs)
            return Outcome(
                scaled.outputs / self.scale,
                bench.energy(scaled, digital_mults=spec.cols),
                details={"mode": self.mode.value, "scale": self.scale},
            )
        v_read = spec.driver.v_read
        v_bit = float(dac(spec, np.array([self.v_bit or v_read]))[0])
        if v_bit <= 0:
            raise InputError(f"input-scaling: v_bit {self.v_bit} V is below the DAC's first level")
        bench.check_fits(self.bits * bench.batch)  # every plane in one run, before simulating
        planes, weights = bit_planes(bench.inputs, v_read, self.bits, v_bit)
        run = bench.baseline.read(planes.reshape(-1, spec.rows))
        per_plane = run.outputs.reshape(self.bits, -1, spec.cols)
        gain = planes_gain(spec, v_bit)
        one = bench.energy(run)
        cycles = self.bits
        return Outcome(
            np.einsum("b,bkj->kj", weights / (v_bit * gain), per_plane),
            EnergyBreakdown(
                array=one.array * cycles,
                readout=one.readout * cycles,
                adc=one.adc * cycles,
                dac=one.dac * cycles * v_bit / v_read,
                digital=(cycles - 1) * spec.cols * bench.cost.digital_add
                + spec.cols * bench.cost.digital_mult,
                macs=bench.macs,
            ),
            cycles=cycles,
            details={
                "mode": self.mode.value,
                "bits": self.bits,
                "v_bit (V)": v_bit,
                "plane gain sinh(x)/x": gain,
            },
        )

    def network_form(self, spec: CrossbarSpec) -> NetworkForm:
        """``scale``: ``driver.v_read`` and the ADC's full scale times ``scale``; bit-serial:
        ``mapping.input_bits = bits`` (the network's planes are at ``v_read``)."""
        if self.mode == InputMode.BIT_SERIAL:
            return NetworkForm(f"bit-serial {self.bits}b", {"mapping.input_bits": self.bits})
        changes: dict[str, float] = {"driver.v_read": spec.driver.v_read * self.scale}
        if spec.readout.adc_full_scale:
            changes["readout.adc_full_scale"] = spec.readout.adc_full_scale * self.scale
        return NetworkForm(f"input-scaling {self.scale:g}", changes)


def bit_planes(
    inputs: np.ndarray, v_read: float, bits: int, v_bit: float
) -> tuple[np.ndarray, np.ndarray]:
    """The bit planes of ``inputs`` quantised to ``bits`` bits over ``[0, v_read]``.

    Returns:
        ``(planes, weights)``: volt, ``(bits, batch, rows)`` with entries 0 or ``v_bit``
        (least significant plane first), and ``(bits,)`` the volt each plane's unit stands
        for (``2^b * v_read / (2^bits - 1)``).

    Raises:
        InputError: a negative input, or an argument of the wrong type or value (named).
    """
    v = np.atleast_2d(real_array(inputs, "inputs"))
    v_read = real(v_read, "v_read", positive=True)
    bits = integer(bits, "bits", minimum=1, maximum=MAX_BITS)
    v_bit = real(v_bit, "v_bit", positive=True)
    if np.any(v < 0):
        raise InputError("input-scaling: bit-serial inputs must be >= 0 V")
    levels = 2**bits - 1
    codes = np.round(np.clip(v, 0.0, v_read) / v_read * levels).astype(np.int64)
    planes = np.stack([((codes >> b) & 1) * v_bit for b in range(bits)]).astype(float)
    weights = 2.0 ** np.arange(bits) * v_read / levels
    return planes, weights


def planes_gain(spec: CrossbarSpec | str | os.PathLike[str], v_bit: float) -> float:
    """The cells' current at ``v_bit`` over ``G v_bit``: ``sinh(x) / x`` (1 for linear)."""
    spec = as_spec(spec)
    v_bit = real(v_bit, "v_bit", positive=True)
    if spec.device.iv != DeviceIV.SINH:
        return 1.0
    x = v_bit / spec.device.v0
    return math.sinh(x) / x
