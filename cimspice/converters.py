"""Data converters at the array's edges: the word-line DAC and the bit-line ADC.

Both are behavioural and documented on their spec fields
(:class:`~cimspice.spec.DriverSpec` and :class:`~cimspice.spec.ReadoutSpec`). Every engine
but ``ideal`` drives the DAC's output levels, and reports the ADC's codes beside the analogue
outputs; ``ideal`` stays the exact ``V @ G`` that errors are measured against.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from cimspice.arguments import instance, real_array
from cimspice.errors import InputError
from cimspice.result import Result
from cimspice.spec import CrossbarSpec

__all__ = [
    "Rounding",
    "adc",
    "adc_current_lsb",
    "adc_lsb",
    "charge_adc",
    "dac",
    "dac_levels",
    "round_to_codes",
    "with_adc",
]

Rounding = Callable[[Any], Any]
"""``rint(a) -> a``: rounds an array to integers, halves to even (``np.rint``); in training a
straight-through rounding (rounded values, the identity's gradient)."""


def dac(spec: CrossbarSpec, inputs: np.ndarray) -> np.ndarray:
    """Volt: the levels the word-line DACs put out for ``inputs`` (unchanged without a DAC).

    Unsigned: ``2^N`` levels evenly spread over ``[0, v_read]``. Signed: mid-tread, the
    ``2^N - 1`` levels ``k * v_read / (2^(N-1) - 1)`` for ``|k| <= 2^(N-1) - 1``, so that 0 V
    is a level. Inputs beyond the range are clipped to it, the rest rounded to the nearest
    level.
    """
    spec = instance(spec, CrossbarSpec, "spec")
    if not isinstance(inputs, np.ndarray):
        inputs = real_array(inputs, "inputs")
    return dac_levels(spec, inputs)


def dac_levels(spec: CrossbarSpec, inputs: Any, rint: Rounding | None = None) -> Any:
    """:func:`dac` on an array of any array-API namespace (numpy, torch on its device),
    unchecked: the one DAC law the network path uses, numpy and torch alike.

    Args:
        spec: the driver's ``dac_bits``, ``dac_signed`` and ``v_read``.
        inputs: volt, any shape.
        rint: the rounding (default: to nearest, halves to even; a straight-through rounding
            in training).
    """
    bits = spec.driver.dac_bits
    if not bits:
        return inputs
    top = spec.driver.v_read
    if spec.driver.dac_signed:
        step, low = top / (2 ** (bits - 1) - 1), -top
    else:
        step, low = top / (2**bits - 1), 0.0
    if rint is None and isinstance(inputs, np.ndarray):
        # in place on one new array; np.rint rounds halves to even, as np.round does, at a
        # fifth of its cost on 2-D arrays
        levels = np.clip(np.asarray(inputs, dtype=float), low, top, out=np.empty(inputs.shape))
        levels *= 1.0 / step
        np.rint(levels, out=levels)
        levels *= step
        return levels
    xp = array_namespace(inputs)
    levels = xp.clip(inputs, low, top) * (1.0 / step)
    return (xp.round(levels) if rint is None else rint(levels)) * step


def adc_lsb(spec: CrossbarSpec) -> tuple[float, int]:
    """The ADC's step (in the unit it reads: volts, ``readout.adc_full_scale / top``) and its
    top code ``top = 2^(N-1) - 1``."""
    top = 2 ** (spec.readout.adc_bits - 1) - 1
    return spec.readout.adc_full_scale / top, top


def adc_current_lsb(spec: CrossbarSpec) -> float:
    """The ADC's step in column-current units: behind TIAs it reads ``v_out = -r_f I`` in
    volts, and its mid-tread levels are symmetric, so that is quantising the currents with
    the step ``LSB / r_f``; without TIAs it reads the currents themselves."""
    lsb, _ = adc_lsb(spec)
    return lsb / spec.readout.r_f if spec.has_tia else lsb


def round_to_codes(steps: Any, top: int, rint: Rounding | None = None) -> Any:
    """The ADC's codes, as floats, of ``steps`` (values in units of the ADC's step): clipped
    at ``+-top`` and rounded, halves to even (as ``np.round``; clipping first gives the same
    codes, ``top`` being an integer). A numpy array (which the caller owns) is turned in
    place; other array-API namespaces (e.g. torch on its device) get a new array, rounded by
    ``rint`` when given (e.g. straight through in training)."""
    if isinstance(steps, np.ndarray):
        np.clip(steps, -top, top, out=steps)
        np.rint(steps, out=steps)
        return steps
    xp = array_namespace(steps)
    clipped = xp.clip(steps, -top, top)
    return xp.round(clipped) if rint is None else rint(clipped)


def adc(spec: CrossbarSpec, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ADC's codes (int) and the values they stand for, for readout outputs ``values``.

    Mid-tread and symmetric: code ``k`` stands for ``k * LSB`` with
    ``LSB = full_scale / (2^(N-1) - 1)``; codes clip at ``+-(2^(N-1) - 1)``.
    """
    spec = instance(spec, CrossbarSpec, "spec")
    if not isinstance(values, np.ndarray):
        values = real_array(values, "values")
    if not spec.readout.adc_bits:
        raise InputError("spec has no ADC (readout.adc_bits = 0)")
    lsb, top = adc_lsb(spec)
    codes = round_to_codes(np.divide(values, lsb, dtype=float), top).astype(np.int64)
    return codes, codes * lsb


def with_adc(spec: CrossbarSpec, result: Result) -> Result:
    """``result`` with the ADC's ``codes`` and ``digital`` values added (when there is one).

    The ADC reads the TIA outputs if the result has them, else the output currents.
    """
    spec = instance(spec, CrossbarSpec, "spec")
    instance(result, Result, "result")
    if not spec.readout.adc_bits:
        return result
    analogue = result.v_out if result.v_out is not None else result.currents
    codes, digital = adc(spec, analogue)
    return dataclasses.replace(result, codes=codes, digital=digital)


def charge_adc(spec: CrossbarSpec, swing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A charge-domain (1C) tile's column ADC: codes (int) and the volts they stand for, for
    column swings ``swing`` (V above ``charge.v_reset``).

    Unipolar: ``2^N`` codes ``0 .. 2^N - 1``, code ``k`` standing for
    ``k * adc_full_scale / (2^N - 1)``; swings below 0 or beyond full scale clip. Without an
    ADC (``charge.adc_bits = 0``) the swings are read exactly (codes all 0).
    """
    spec = instance(spec, CrossbarSpec, "spec")
    values = np.asarray(swing, dtype=float)
    bits = spec.charge.adc_bits
    if not bits:
        return np.zeros(values.shape, dtype=np.int64), values
    top = 2**bits - 1
    lsb = spec.charge.adc_full_scale / top
    codes = np.clip(np.rint(values / lsb), 0, top).astype(np.int64)
    return codes, codes * lsb
