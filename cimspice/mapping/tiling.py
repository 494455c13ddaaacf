"""Tiling: a mapped weight matrix cut into ``rows x cols`` tiles, partial sums added digitally.

Input rows go in blocks of ``spec.rows`` (the last block may be shorter: its spare word lines
are driven at 0 V). Outputs go in blocks of as many weights as a tile's columns hold: with
``K`` slices, ``K`` columns per weight in the reference scheme (plus one reference column per
tile) and ``2 K`` in the differential scheme. Inside a tile, column ``(k * n_sides + side) * n
+ j`` holds slice ``k``, side ``side`` (0: ``G+``, 1: ``G-``) of the tile's ``j``-th output;
the reference column, if any, follows them. Unused cells sit at ``g_min`` (a device in its
lowest state).

Each tile's column outputs (after their ADCs) are recombined by :meth:`LayerTiling.combine`
(shift-and-add of the slices, ``I+ - I-`` or ``I - I_ref``) and the tiles' partial sums
over the input blocks are added digitally.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace, device

from cimspice.errors import SpecError
from cimspice.mapping.slicing import SlicedWeights, column_conductances, slice_weights
from cimspice.spec import CrossbarSpec, MappingScheme

__all__ = ["LayerTiling", "RowBlock", "TileSlot", "outputs_per_tile", "tile_layer"]


@dataclass(frozen=True)
class TileSlot:
    """One tile of a layer.

    Attributes:
        index: the tile's number in the layer (row-block major).
        rows: the layer's input rows the tile holds (its word lines ``0 .. n - 1``).
        outputs: the layer's outputs the tile computes.
        conductances: siemens, ``(spec.rows, spec.cols)``: the target conductances.
        used_cols: how many of the tile's columns hold weights (and the reference column).
    """

    index: int
    rows: slice
    outputs: slice
    conductances: np.ndarray
    used_cols: int

    @property
    def used_rows(self) -> int:
        """Number of word lines that carry inputs."""
        return self.rows.stop - self.rows.start


@dataclass(frozen=True)
class RowBlock:
    """The tiles that hold one block of a layer's input rows: they read the same word-line
    voltages, so their columns can be read side by side as one wider array.

    Attributes:
        tiles: the tiles' indices, in tile order.
        rows: the layer's input rows the tiles hold.
        columns: each tile's used columns within the block's columns (the tiles' used columns
            one after the other).
    """

    tiles: tuple[int, ...]
    rows: slice
    columns: tuple[slice, ...]

    @property
    def used_rows(self) -> int:
        """Number of word lines that carry inputs."""
        return self.rows.stop - self.rows.start

    @property
    def used_cols(self) -> int:
        """The tiles' used columns in all."""
        return self.columns[-1].stop


@dataclass(frozen=True)
class LayerTiling:
    """A layer's weight matrix laid out on tiles.

    Attributes:
        tiles: every tile, row-block major.
        sliced: the weights' slices and scale.
        n_sides: columns per slice and weight (2 differential, 1 reference).
        g_unit: siemens per unit of ``|w| / w_scale``: ``dg`` (differential) or ``dg / 2``.
        scheme: the mapping scheme.
        shape: ``(fan_in, fan_out)``.
    """

    tiles: list[TileSlot]
    sliced: SlicedWeights
    n_sides: int
    g_unit: float
    scheme: MappingScheme
    shape: tuple[int, int]

    def row_blocks(self) -> list[RowBlock]:
        """The tiles grouped by the block of input rows they hold, in tile order."""
        groups: dict[int, list[TileSlot]] = {}
        for slot in self.tiles:
            groups.setdefault(slot.rows.start, []).append(slot)
        blocks = []
        for slots in groups.values():
            ends = np.cumsum([0] + [slot.used_cols for slot in slots]).tolist()
            columns = tuple(slice(a, b) for a, b in itertools.pairwise(ends))
            blocks.append(RowBlock(tuple(s.index for s in slots), slots[0].rows, columns))
        return blocks

    def combine(self, columns: Any, tile: TileSlot, scale: Any = 1.0) -> Any:
        """``(batch, n_outputs)``: a tile's column outputs recombined, in ``g_unit`` units,
        times ``scale``.

        Args:
            columns: ``(batch, used_cols)``, the tile's column currents (or their digital
                values); any linear quantity of the columns (e.g. a transfer matrix's rows).
                A numpy array or an array of another array-API namespace (e.g. a torch tensor
                on its device; the result stays there).
            tile: the tile the columns belong to.
            scale: a factor applied on the way (free: folded into the last step).
        """
        xp = array_namespace(columns)
        n = tile.outputs.stop - tile.outputs.start
        k = len(self.sliced.coefficients)
        block = xp.reshape(columns[:, : k * self.n_sides * n], (-1, k, self.n_sides, n))
        c = self.sliced.coefficients
        factor = scale / self.g_unit
        if self.scheme == MappingScheme.DIFFERENTIAL and k == 1:  # one slice: no sum
            out = block[:, 0, 0] - block[:, 0, 1]
            if isinstance(out, np.ndarray):
                out *= c[0] * factor
                return out
            return out * (c[0] * factor)
        weights = xp.asarray(c, dtype=columns.dtype, device=device(columns))
        if self.scheme == MappingScheme.DIFFERENTIAL:
            out = xp.tensordot(block[:, :, 0] - block[:, :, 1], weights, axes=([1], [0]))
        else:
            reference = columns[:, k * n]
            out = xp.tensordot(block[:, :, 0], weights, axes=([1], [0]))
            out = out - reference[:, None] * float(c.sum())
        return out * factor

    def combine_block(self, columns: Any, block: RowBlock, scales: Sequence[float]) -> Any:
        """``(batch, fan_out)``: the tiles of row ``block`` recombined side by side, as
        :meth:`combine` recombines each (every row block holds every output, its tiles'
        outputs one after the other).

        Args:
            columns: ``(batch, block.used_cols)``, the block's column values (its tiles' used
                columns one after the other); numpy or another array-API namespace.
            block: the row block.
            scales: each of the block's tiles' factor, in tile order.
        """
        c = self.sliced.coefficients
        if not (
            isinstance(columns, np.ndarray)
            and self.scheme == MappingScheme.DIFFERENTIAL
            and len(c) == 1
        ):
            xp = array_namespace(columns)
            parts = [
                self.combine(columns[:, cols], self.tiles[k], scale)
                for k, cols, scale in zip(block.tiles, block.columns, scales, strict=True)
            ]
            return parts[0] if len(parts) == 1 else xp.concat(parts, axis=1)
        # one slice, differential: I+ - I- of every tile into one array, then one product
        # by each output's factor (in the columns' precision)
        out = np.empty((columns.shape[0], self.shape[1]), columns.dtype)
        factors = np.empty(self.shape[1])
        for k, cols, scale in zip(block.tiles, block.columns, scales, strict=True):
            outputs = self.tiles[k].outputs
            n, start = outputs.stop - outputs.start, cols.start
            np.subtract(
                columns[:, start : start + n],
                columns[:, start + n : start + 2 * n],
                out=out[:, outputs],
            )
            factors[outputs] = c[0] * (scale / self.g_unit)  # as combine rounds it
        out *= factors.astype(columns.dtype)
        return out


def outputs_per_tile(spec: CrossbarSpec) -> int:
    """How many weights of one output (all their slices and sides) a tile's columns hold.

    Raises:
        SpecError: not even one (key ``array.cols``).
    """
    m = spec.mapping
    k = -(-m.weight_bits // (m.slice_bits or m.weight_bits)) if m.weight_bits else 1
    sides = 2 if m.scheme == MappingScheme.DIFFERENTIAL else 1
    spare = 0 if m.scheme == MappingScheme.DIFFERENTIAL else 1
    per_tile = (spec.cols - spare) // (k * sides)
    if per_tile < 1:
        what = "a differential pair" if sides == 2 else "a weight"
        raise SpecError(
            f"a tile of {spec.cols} column(s) is smaller than {what} needs "
            f"({k * sides + spare} columns: {k} slice(s) x {sides} column(s)"
            f"{' + 1 reference' * spare})",
            file=spec.source,
            key="array.cols",
        )
    return per_tile


def tile_layer(weights: np.ndarray, spec: CrossbarSpec) -> LayerTiling:
    """Map ``weights`` (``(fan_in, fan_out)``) onto tiles of ``spec``.

    Raises:
        SpecError: a tile has too few columns for one weight (key ``array.cols``).
        InputError: ``weights`` is not a finite 2-D matrix.
    """
    per_tile = outputs_per_tile(spec)
    sliced = slice_weights(weights, spec)
    targets = column_conductances(sliced, spec)  # (K, sides, fan_in, fan_out)
    k, sides, fan_in, fan_out = targets.shape
    scheme = spec.mapping.scheme
    spare = 1 if scheme == MappingScheme.REFERENCE else 0
    g_min, g_max = spec.device.g_min, spec.device.g_max
    g_ref = 0.5 * (g_min + g_max)
    tiles: list[TileSlot] = []
    for r0 in range(0, fan_in, spec.rows):
        r1 = min(r0 + spec.rows, fan_in)
        for j0 in range(0, fan_out, per_tile):
            j1 = min(j0 + per_tile, fan_out)
            n = j1 - j0
            block = targets[:, :, r0:r1, j0:j1]  # (K, sides, rows, n)
            g = np.full((spec.rows, spec.cols), g_min)
            used = k * sides * n
            g[: r1 - r0, :used] = block.transpose(2, 0, 1, 3).reshape(r1 - r0, used)
            if spare:
                g[: r1 - r0, used] = g_ref
            tiles.append(TileSlot(len(tiles), slice(r0, r1), slice(j0, j1), g, used + spare))
    dg = g_max - g_min
    g_unit = dg if scheme == MappingScheme.DIFFERENTIAL else 0.5 * dg
    return LayerTiling(tiles, sliced, sides, g_unit, scheme, (fan_in, fan_out))
