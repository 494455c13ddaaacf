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

Inputs must be ``>= 0`` for the bit-serial mode (a signed input needs two passes).
"""

from __future__ import annotations

import enum
import math
import os
from dataclasses import dataclass

import numpy as np

from cimspice.arguments import check_fields, integer, real, real_array
from cimspice.arrays import check_conductances, check_inputs
from cimspice.compensation.cost import CostModel, EnergyBreakdown, mvm_energy
from cimspice.compensation.report import CompensationReport
from cimspice.compensation.tile import (
    held_out_inputs,
    ideal_outputs,
    output_currents,
    run_tile,
    scheme_arguments,
)
from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec, DeviceIV, as_spec

__all__ = ["PARAMS", "InputMode", "InputScalingParams", "bit_planes", "evaluate", "planes_gain"]


MAX_BITS = 16
"""Most bit planes (cycles) of the bit-serial mode."""


class InputMode(enum.StrEnum):
    """How the inputs are applied."""

    SCALE = "scale"
    """Every input times ``scale``, outputs times ``1 / scale``."""
    BIT_SERIAL = "bit-serial"
    """One bit plane per cycle at ``v_bit``."""


@dataclass(frozen=True)
class InputScalingParams:
    """Parameters of input scaling.

    Attributes:
        mode: ``"scale"`` or ``"bit-serial"``.
        scale: input factor of the ``scale`` mode (``0 < scale <= 1``).
        bits: input resolution of the ``bit-serial`` mode (1 to 16 cycles).
        v_bit: volt, the level of an active word line in a bit plane (> 0); 0 means the
            spec's ``v_read``.
    """

    mode: InputMode = InputMode.SCALE
    scale: float = 0.25
    bits: int = 8
    v_bit: float = 0.0

    def __post_init__(self) -> None:
        check_fields(self, "input-scaling")
        try:
            object.__setattr__(self, "mode", InputMode(self.mode))
        except ValueError:
            known = ", ".join(m.value for m in InputMode)
            raise InputError(f"input-scaling: unknown mode {self.mode!r}; known: {known}") from None
        if not 0 < self.scale <= 1:
            raise InputError(f"input-scaling: scale must be in (0, 1], got {self.scale!r}")
        if not 1 <= self.bits <= MAX_BITS:
            raise InputError(f"input-scaling: bits must be 1 to {MAX_BITS}, got {self.bits}")
        if not (math.isfinite(self.v_bit) and self.v_bit >= 0):
            raise InputError(f"input-scaling: v_bit must be >= 0 V, got {self.v_bit!r}")


PARAMS = InputScalingParams
"""The scheme's parameter type (how :func:`cimspice.compensation.evaluate_scheme` builds it)."""


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


def planes_gain(spec: CrossbarSpec, v_bit: float) -> float:
    """The cells' current at ``v_bit`` over ``G v_bit``: ``sinh(x) / x`` (1 for linear)."""
    spec = as_spec(spec)
    v_bit = real(v_bit, "v_bit", positive=True)
    if spec.device.iv != DeviceIV.SINH:
        return 1.0
    x = v_bit / spec.device.v0
    return math.sinh(x) / x


def evaluate(
    spec: CrossbarSpec | str | os.PathLike[str],
    target: np.ndarray,
    *,
    engine: str = "ngspice",
    batch: int = 32,
    seed: int = 0,
    cost: CostModel | None = None,
    params: InputScalingParams | None = None,
) -> CompensationReport:
    """Full-amplitude inputs (before) against scaled or bit-serial inputs (after)."""
    spec = scheme_arguments(
        spec,
        engine=engine,
        batch=batch,
        seed=seed,
        cost=cost,
        params=params,
        kind=InputScalingParams,
    )
    params = params or InputScalingParams()
    cost = cost or CostModel()
    g = check_conductances(target, spec.rows, spec.cols)
    v = check_inputs(held_out_inputs(spec, batch, seed), spec.rows)
    reference = ideal_outputs(spec, g, v)
    full = run_tile(spec, g, v, engine)
    macs = spec.rows * spec.cols
    before = mvm_energy(spec, full, cost, macs=macs)
    details: dict[str, object] = {"mode": params.mode.value}
    if params.mode == InputMode.SCALE:
        scaled = run_tile(spec, g, params.scale * v, engine)
        outputs = output_currents(spec, scaled) / params.scale
        after = mvm_energy(spec, scaled, cost, macs=macs, digital_mults=spec.cols)
        cycles = 1
        details["scale"] = params.scale
    else:
        v_bit = params.v_bit or spec.driver.v_read
        planes, weights = bit_planes(v, spec.driver.v_read, params.bits, v_bit)
        run = run_tile(spec, g, planes.reshape(-1, spec.rows), engine)
        per_plane = output_currents(spec, run).reshape(params.bits, v.shape[0], spec.cols)
        gain = planes_gain(spec, v_bit)
        outputs = np.einsum("b,bkj->kj", weights / (v_bit * gain), per_plane)
        one = mvm_energy(spec, run, cost, macs=macs)
        cycles = params.bits
        after = EnergyBreakdown(
            array=one.array * cycles,
            readout=one.readout * cycles,
            adc=one.adc * cycles,
            dac=one.dac * cycles * v_bit / spec.driver.v_read,
            digital=(cycles - 1) * spec.cols * cost.digital_add + spec.cols * cost.digital_mult,
            macs=macs,
        )
        details["bits"] = params.bits
        details["v_bit (V)"] = v_bit
        details["plane gain sinh(x)/x"] = gain
    return CompensationReport(
        scheme="input-scaling",
        engine=engine,
        energy_before=before,
        energy_after=after,
        base_cells=macs,
        cycles_after=cycles,
        details=details,
        reference=reference,
        outputs_before=output_currents(spec, full),
        outputs_after=outputs,
    )
