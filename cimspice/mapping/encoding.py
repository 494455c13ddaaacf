"""Inputs to word-line voltages: per-layer scaling, the DAC, signed and bit-serial inputs.

A layer's activations ``x`` are scaled by its input range ``x_max``: ``u = x / x_max``,
clipped to ``[-1, 1]``. They are applied as one or more *phases*, each a batch of word-line
voltages with a digital weight; the layer's output is ``sum_p weight_p * out(V_p)``, in
units where ``u = 1`` is ``v_read``:

- one shot (``mapping.input_bits = 0``): ``V = dac(u v_read)``, the spec's DAC
  (:func:`cimspice.converters.dac`; exact without one);
- bit-serial (``mapping.input_bits = N``): ``q = round(|u| (2^N - 1))``, bit ``b`` applied as
  ``v_read`` or 0 V with weight ``2^b / (2^N - 1)``.

Signed inputs: with a bipolar DAC (``driver.dac_signed``) a negative input is a negative
voltage in the same phase. Otherwise each phase is split in two, the positive parts and the
negated negative parts (both as positive voltages), the second with a negative weight. Phases
whose voltages are all zero are left out (they would add exactly nothing).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from cimspice.converters import Rounding, dac_levels
from cimspice.spec import CrossbarSpec

__all__ = ["InPlaceDac", "InputPhase", "encode_inputs"]

InPlaceDac = Callable[[Any, Any, float, "tuple[float, float]", "float | None"], Any]
"""``dac(x, x_max, scale, (lo, hi), step)``: ``clip((x / x_max) * scale, lo, hi)``, rounded and
times ``step`` (``None``: neither), in one new array turned in place (a namespace's own
in-place operations, where no gradient is recorded): the same numbers as the generic chain
with fewer passes and one allocation."""


@dataclass(frozen=True)
class InputPhase:
    """One cycle of word-line voltages.

    Attributes:
        voltages: volt, ``(batch, fan_in)``: a numpy array, or an array of the inputs' own
            namespace and device (e.g. a torch tensor).
        weight: the digital weight of the phase's outputs.
    """

    voltages: Any
    weight: float


def encode_inputs(
    x: Any,
    x_max: Any,
    spec: CrossbarSpec,
    rint: Rounding | None = None,
    *,
    dtype: type[np.floating] | None = None,
    dac: InPlaceDac | None = None,
) -> list[InputPhase]:
    """The phases that apply ``x`` (``(batch, fan_in)``) with input range ``x_max`` (> 0).

    Written against the array API: ``x`` may be a numpy array or, e.g., a torch tensor on any
    device (its phases stay there; ``x_max`` may then be a 0-d tensor, e.g. a learnable input
    range). ``rint`` is the DAC's and the bit-serial code's rounding (see
    :func:`~cimspice.converters.dac_levels`). Deciding the sign split and which phases are
    all zero reads two booleans back from the array's device. ``dtype``: numpy inputs' phases
    in that precision (the levels computed in double precision, then rounded once). ``dac``:
    another namespace's DAC chain in place (one-shot inputs, rounding to nearest).
    """
    xp = array_namespace(x)
    if not spec.mapping.input_bits:
        return _one_shot(x, x_max, spec, rint, dtype=dtype, dac=dac)
    if isinstance(x, np.ndarray):
        u = np.divide(x, x_max, dtype=float)
        np.clip(u, -1.0, 1.0, out=u)
    else:
        u = xp.clip(x / x_max, -1.0, 1.0)
    v_read = spec.driver.v_read
    bipolar = spec.driver.dac_signed or math.prod(u.shape) == 0 or bool(xp.min(u) >= 0)
    bits = spec.mapping.input_bits
    if bits:
        magnitude = xp.abs(u) * (2**bits - 1)
        q = xp.astype(xp.round(magnitude) if rint is None else rint(magnitude), xp.int64)
        sign = xp.sign(u)
        raw = [(sign * ((q >> b) & 1), 2.0**b / (2**bits - 1)) for b in range(bits)]
    else:
        raw = [(u, 1.0)]
    phases = []
    for level, weight in raw:
        parts = (
            [(level, weight)]
            if bipolar
            else [
                (xp.maximum(level, 0.0), weight),
                (xp.maximum(-level, 0.0), -weight),
            ]
        )
        for part, w in parts:
            volts = dac_levels(spec, part * v_read, rint)
            if math.prod(volts.shape) and bool(xp.any(volts != 0)):
                if dtype is not None and isinstance(volts, np.ndarray):
                    volts = volts.astype(dtype)
                phases.append(InputPhase(volts, w))
    return phases


def _one_shot(
    x: Any,
    x_max: Any,
    spec: CrossbarSpec,
    rint: Rounding | None,
    *,
    dtype: type[np.floating] | None = None,
    dac: InPlaceDac | None = None,
) -> list[InputPhase]:
    """:func:`encode_inputs` without bit-serial inputs, in as few passes over ``x`` as it
    takes: ``x / x_max`` scaled straight into DAC codes (by ``hi``, the top code), clipped,
    rounded and turned into volts (``v_read / hi`` a code); without a DAC scaled into volts
    and clipped. The same levels as scaling by ``x_max``, clipping to ``[-1, 1]``,
    scaling by ``v_read`` and applying :func:`~cimspice.converters.dac_levels` (up to the
    last bit of the scaled values)."""
    xp = array_namespace(x)
    v_read = spec.driver.v_read
    bits = spec.driver.dac_bits
    signed = spec.driver.dac_signed
    bipolar = signed or math.prod(x.shape) == 0 or bool(xp.min(x) >= 0)
    if bits:
        hi: float = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
        step = v_read / hi
    else:
        hi, step = v_read, 1.0
    lo = -hi if bipolar else 0.0
    phases = []
    for sign in (1.0,) if bipolar else (1.0, -1.0):
        # x / x_max first: the largest input lands on the top code exactly (and keeps its
        # gradient through the clip)
        if isinstance(x, np.ndarray):
            volts = np.divide(x, x_max, dtype=float)
            volts *= sign * hi
            np.clip(volts, lo, hi, out=volts)
            if bits:
                if rint is None:
                    np.rint(volts, out=volts)
                else:
                    volts = rint(volts)
            if bits or dtype is not None:  # the last scaling straight into the precision
                volts = np.multiply(volts, step, dtype=dtype or volts.dtype)
            if volts.size and volts.any():
                phases.append(InputPhase(volts, sign))
            continue
        if dac is not None:
            volts = dac(x, x_max, sign * hi, (lo, hi), step if bits else None)
        else:
            volts = xp.clip((x / x_max) * (sign * hi), lo, hi)
            if bits:
                volts = (xp.round(volts) if rint is None else rint(volts)) * step
        if math.prod(volts.shape) and bool(xp.any(volts)):
            phases.append(InputPhase(volts, sign))
    return phases
