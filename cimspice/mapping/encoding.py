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

from dataclasses import dataclass

import numpy as np

from cimspice.converters import dac
from cimspice.spec import CrossbarSpec

__all__ = ["InputPhase", "encode_inputs"]


@dataclass(frozen=True)
class InputPhase:
    """One cycle of word-line voltages.

    Attributes:
        voltages: volt, ``(batch, fan_in)``.
        weight: the digital weight of the phase's outputs.
    """

    voltages: np.ndarray
    weight: float


def encode_inputs(x: np.ndarray, x_max: float, spec: CrossbarSpec) -> list[InputPhase]:
    """The phases that apply ``x`` (``(batch, fan_in)``) with input range ``x_max`` (> 0)."""
    u = np.divide(x, x_max, dtype=float)
    np.clip(u, -1.0, 1.0, out=u)
    v_read = spec.driver.v_read
    bipolar = spec.driver.dac_signed or u.size == 0 or u.min() >= 0
    bits = spec.mapping.input_bits
    if bits:
        q = np.rint(np.abs(u) * (2**bits - 1)).astype(np.int64)
        sign = np.sign(u)
        raw = [(sign * ((q >> b) & 1), 2.0**b / (2**bits - 1)) for b in range(bits)]
    else:
        raw = [(u, 1.0)]
    phases = []
    for level, weight in raw:
        parts = (
            [(level, weight)]
            if bipolar
            else [
                (np.maximum(level, 0.0), weight),
                (np.maximum(-level, 0.0), -weight),
            ]
        )
        for part, w in parts:
            volts = dac(spec, part * v_read)
            if volts.size and (volts.max() > 0 or volts.min() < 0):
                phases.append(InputPhase(volts, w))
    return phases
