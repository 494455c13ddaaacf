"""Each cell's coupling capacitor: nominal ``charge.c_cell`` with a Pelgrom mismatch draw."""

from __future__ import annotations

import numpy as np

from cimspice.spec import TileSpec

__all__ = ["cell_capacitances"]

_STREAM = 17
"""Mixed into the seed so that the mismatch draw is its own stream (not ``nonideal.seed``'s)."""


def cell_capacitances(spec: TileSpec, tile: int | tuple[int, ...] = 0) -> np.ndarray:
    """Farad, ``(rows, cols)``: each cell's capacitor, ``c_cell * (1 + sigma * z)`` with ``z``
    standard normal, drawn from ``charge.seed``; ``sigma`` is ``charge.mismatch`` scaled to
    ``c_cell`` by Pelgrom's law (:attr:`~cimspice.spec.ChargeSpec.sigma`). ``tile``: which
    of a network's tiles of this spec, an index or a key such as ``(layer, tile)`` (each its
    own draw; tile 0, or a key of zeros, is the spec's own). Without mismatch, every cell is
    exactly ``c_cell``."""
    charge = spec.charge
    shape = (spec.rows, spec.cols)
    if charge.sigma == 0:
        return np.full(shape, charge.c_cell)
    key = (tile,) if isinstance(tile, int) else tuple(tile)
    rng = np.random.default_rng(
        np.random.SeedSequence([charge.seed, _STREAM, *(key if any(key) else ())])
    )
    return charge.c_cell * (1.0 + charge.sigma * rng.standard_normal(shape))
