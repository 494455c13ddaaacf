"""What the shared per-batch tile math needs from torch beyond the array API.

:meth:`cimspice.mapping.matmul.HardwareMatMul.mvm` is written once against the array API
(numpy arrays and torch tensors alike, on the tensor's device); a
:class:`~cimspice.mapping.matmul.Backend` supplies the rest. Torch's:

- rounding (DAC levels, bit-serial codes, ADC codes): ``torch.round`` (halves to even, as
  ``np.rint``); while gradients are recorded a straight-through rounding, whose gradient is
  the identity's (the quantisers' straight-through estimator);
- read-noise draws: ``torch.randn`` on the tensor's device, from a generator seeded by the
  tile's own numpy read-noise stream (reproducible, no host round trip for the draws);
- a gradient stop (``detach``) and the way to the host for tiles whose law is numpy alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from cimspice.mapping.matmul import Backend, MappedLayer

__all__ = ["backend", "rint", "straight_through_round"]

_SHIFTERS = {torch.float32: 1.5 * 2.0**23, torch.float64: 1.5 * 2.0**52}
"""``1.5 * 2^(mantissa bits)``: adding it leaves no fraction bits, so the addition itself
rounds to an integer, halves to even (IEEE round to nearest even); subtracting it is exact."""


def rint(x: torch.Tensor) -> torch.Tensor:
    """``round(x)``, halves to even, as ``torch.round`` and ``np.rint``, exactly, for
    ``|x| < 2^22`` (float32) or ``2^51`` (float64): the callers' values are clipped first to
    ``2^bits`` at most (DAC levels, bit-serial codes) or ``2^(bits - 1)`` (ADC codes), so
    float32 tensors hold converters of up to 22 bits exactly (beyond that float32 cannot hold
    the levels anyway: use float64).
    Two additions: on the project's machines ``torch.round`` on CPU costs ~20 ns an element,
    more than the tiles' matmuls; other precisions use ``torch.round``."""
    shifter = _SHIFTERS.get(x.dtype)
    if shifter is None:
        return torch.round(x)
    return (x + shifter) - shifter


def straight_through_round(x: torch.Tensor) -> torch.Tensor:
    """``round(x)`` (halves to even) in the forward pass, the identity's gradient."""
    return x + (rint(x) - x).detach()


def _dac(
    x: torch.Tensor, x_max: Any, scale: float, bounds: tuple[float, float], step: float | None
) -> torch.Tensor:
    """The DAC's chain (:data:`~cimspice.mapping.encoding.InPlaceDac`) in place on one new
    tensor, rounding by :func:`rint`'s two additions: the generic chain's numbers, with one
    allocation instead of six (inference only: nothing records gradients)."""
    volts = x / x_max
    volts.mul_(scale).clamp_(*bounds)
    if step is not None:
        shifter = _SHIFTERS.get(volts.dtype)
        if shifter is None:
            volts.round_()
        else:
            volts.add_(shifter).sub_(shifter)
        volts.mul_(step)
    return volts


def _normals(layer: MappedLayer, k: int, like: Any) -> Callable[[tuple[int, ...]], Any]:
    """Tile ``k``'s read-noise draws on ``like``'s device: a torch generator seeded from the
    tile's numpy stream (one seed per batch, so every batch draws afresh)."""
    seed = int(layer.read_rngs[k].integers(2**62))
    generator = torch.Generator(device=like.device)
    generator.manual_seed(seed)

    def draw(shape: tuple[int, ...]) -> torch.Tensor:
        return torch.randn(shape, generator=generator, device=like.device, dtype=torch.float32)

    return draw


def _detach(a: torch.Tensor) -> torch.Tensor:
    return a.detach()


def _to_numpy(a: torch.Tensor) -> np.ndarray:
    return a.detach().cpu().numpy()


_INFERENCE = Backend(rint=rint, normals=_normals, detach=_detach, to_numpy=_to_numpy, dac=_dac)
_TRAINING = Backend(
    rint=straight_through_round,
    normals=_normals,
    detach=_detach,
    to_numpy=_to_numpy,
    gradients=True,
)


def backend() -> Backend:
    """Torch's backend: straight-through rounding while gradients are recorded."""
    return _TRAINING if torch.is_grad_enabled() else _INFERENCE
