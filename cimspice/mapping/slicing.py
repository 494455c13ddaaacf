"""Weights to conductances: per-layer scaling, signed mapping schemes and bit-slicing.

A layer's weight matrix ``W`` (``(fan_in, fan_out)``) is scaled by ``w_scale = max|W|`` (per
layer), so ``u = W / w_scale`` lies in ``[-1, 1]``. Its magnitude becomes one or more *slices*
``f_k`` in ``[0, 1]`` with recombination weights ``c_k`` such that ``|u| = sum_k c_k f_k``:

- analogue weights (``mapping.weight_bits = 0``): one slice, ``f_0 = |u|``, ``c_0 = 1``;
- ``B``-bit weights: ``q = round(|u| (2^B - 1))``; with ``s`` bits per slice the ``k``-th slice
  holds bits ``k s .. (k + 1) s - 1`` of ``q``: ``f_k = q_k / (2^s - 1)`` and
  ``c_k = 2^(k s) (2^s - 1) / (2^B - 1)`` (shift-and-add, folded with the rescaling).

Each slice then becomes conductances (``dg = g_max - g_min``):

- differential: two columns, ``G+ = g_min + dg f_k [u > 0]`` and ``G- = g_min + dg f_k [u < 0]``;
  ``I+ - I- = (V @ (sign(u) f_k)) dg``;
- reference: one column at ``g_ref + sign(u) f_k dg / 2`` with ``g_ref = (g_min + g_max) / 2``,
  minus a shared reference column at ``g_ref``: ``I - I_ref = (V @ (sign(u) f_k)) dg / 2``.

So ``V @ W = w_scale / g_unit * sum_k c_k (I+_k - I-_k)`` with ``g_unit`` = ``dg`` or ``dg / 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec, MappingScheme

__all__ = ["SlicedWeights", "column_conductances", "slice_weights"]


@dataclass(frozen=True)
class SlicedWeights:
    """A weight matrix as signed magnitude slices.

    Attributes:
        sign: ``(fan_in, fan_out)``, -1, 0 or +1.
        slices: ``(n_slices, fan_in, fan_out)``, each in ``[0, 1]``.
        coefficients: ``(n_slices,)``, ``|W| / w_scale ~= sum_k coefficients[k] slices[k]``.
        w_scale: the layer's ``max|W|`` (1 for an all-zero matrix).
    """

    sign: np.ndarray
    slices: np.ndarray
    coefficients: np.ndarray
    w_scale: float

    def reconstruct(self) -> np.ndarray:
        """``(fan_in, fan_out)``: the weights the slices stand for (quantised if sliced)."""
        magnitude = np.tensordot(self.coefficients, self.slices, axes=1)
        return self.w_scale * self.sign * magnitude


def slice_weights(weights: np.ndarray, spec: CrossbarSpec) -> SlicedWeights:
    """Scale ``weights`` (``(fan_in, fan_out)``) per layer and cut them into slices.

    Raises:
        InputError: ``weights`` is not a finite 2-D matrix.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or 0 in w.shape:
        raise InputError(f"a weight matrix must be 2-D and non-empty, got shape {w.shape}")
    if not np.isfinite(w).all():
        raise InputError("the weight matrix holds NaN or inf")
    top = float(np.max(np.abs(w)))
    w_scale = top if top > 0 else 1.0
    u = w / w_scale
    sign = np.sign(u)
    bits = spec.mapping.weight_bits
    if not bits:
        return SlicedWeights(sign, np.abs(u)[None], np.ones(1), w_scale)
    per = spec.mapping.slice_bits or bits
    n_slices = math.ceil(bits / per)
    q = np.rint(np.abs(u) * (2**bits - 1)).astype(np.int64)
    mask = 2**per - 1
    slices = np.stack([((q >> (per * k)) & mask) / mask for k in range(n_slices)])
    coefficients = np.array([2.0 ** (per * k) * mask / (2**bits - 1) for k in range(n_slices)])
    return SlicedWeights(sign, slices, coefficients, w_scale)


def column_conductances(sliced: SlicedWeights, spec: CrossbarSpec) -> np.ndarray:
    """Siemens, ``(n_slices, n_sides, fan_in, fan_out)``: target conductances of every column.

    ``n_sides`` is 2 (``G+``, ``G-``) for the differential scheme and 1 for the reference
    scheme (whose reference column, at ``g_ref``, is added per tile by the tiling).
    """
    g_min, g_max = spec.device.g_min, spec.device.g_max
    dg = g_max - g_min
    if spec.mapping.scheme == MappingScheme.DIFFERENTIAL:
        plus = g_min + dg * sliced.slices * (sliced.sign > 0)
        minus = g_min + dg * sliced.slices * (sliced.sign < 0)
        return np.stack([plus, minus], axis=1)
    g_ref = 0.5 * (g_min + g_max)
    return (g_ref + 0.5 * dg * sliced.sign * sliced.slices)[:, None]
