"""Partitioning a large matrix into smaller tiles: less IR drop, more converters.

The ``rows x cols`` matrix is cut into blocks of at most ``tile_rows x tile_cols``; each block
is its own tile (the spec's wires, drivers and readout, at the block's size), driven by its
rows of the input vector. The partial outputs of the blocks stacked along the rows are added
digitally. Shorter word lines and bit lines carry the IR drop of fewer cells, so the error
falls roughly with the square of the tile size, while every extra block of rows needs its own
ADC per column (and every extra block of columns its own DAC per row).

Cost per MVM: ``n_row_blocks * cols`` ADC conversions (``cols`` before),
``n_col_blocks * rows`` DAC conversions, ``(n_row_blocks - 1) * cols`` digital additions;
the array energy is the sum of the tiles' SPICE energies. Area: no extra cells, but
``(n_row_blocks - 1) * cols`` extra ADCs and ``(n_col_blocks - 1) * rows`` extra DACs, plus
the periphery of the extra tiles. Every block is read as the digital side sees it (its own
ADC per column; :mod:`~cimspice.compensation.tile`), so it works on every tile kind.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cimspice.arguments import check_fields, instance
from cimspice.compensation.cost import CostModel, EnergyBreakdown
from cimspice.compensation.report import CompensationReport
from cimspice.compensation.scheme import NetworkForm, Outcome, SchemeBase, measure
from cimspice.compensation.tile import Bench
from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec

__all__ = ["PartitionParams", "Partitioned", "partitioned_mvm", "sweep"]


@dataclass(frozen=True)
class PartitionParams(SchemeBase):
    """The ``partitioning`` scheme.

    Attributes:
        tile_rows: largest block height (word lines per tile, >= 1).
        tile_cols: largest block width (bit lines per tile, >= 1).
    """

    name: ClassVar[str] = "partitioning"

    tile_rows: int = 16
    tile_cols: int = 16

    def __post_init__(self) -> None:
        check_fields(self, self.name)
        for key in ("tile_rows", "tile_cols"):
            if getattr(self, key) < 1:
                raise InputError(f"partitioning: {key} must be >= 1, got {getattr(self, key)}")

    def apply(self, bench: Bench) -> Outcome:
        """The partitioned MVM (:func:`partitioned_mvm`) of the held-out inputs."""
        spec = bench.spec
        part = partitioned_mvm(bench, self)
        return Outcome(
            part.outputs,
            part.energy,
            extra_adcs=(part.row_blocks - 1) * spec.cols,
            details={
                "tile size": f"{min(self.tile_rows, spec.rows)}x{min(self.tile_cols, spec.cols)}",
                "tiles": part.row_blocks * part.col_blocks,
                "extra DACs": (part.col_blocks - 1) * spec.rows,
                "digital adds per MVM": (part.row_blocks - 1) * spec.cols,
            },
        )

    def network_form(self, spec: CrossbarSpec) -> NetworkForm:
        """Tiles of ``tile_rows x tile_cols`` (``array.rows``, ``array.cols``): a network's
        layers are cut into blocks of the tile's size."""
        rows, cols = self.tile_rows, self.tile_cols
        return NetworkForm(f"partitioning {rows}x{cols}", {"array.rows": rows, "array.cols": cols})


@dataclass(frozen=True)
class Partitioned:
    """The outputs of a partitioned MVM and what it cost.

    Attributes:
        outputs: ampere, ``(batch, cols)``: the partial sums added.
        energy: joule per MVM, every tile's array/readout energy and every conversion.
        row_blocks: blocks along the rows (partial sums per output).
        col_blocks: blocks along the columns.
    """

    outputs: np.ndarray
    energy: EnergyBreakdown
    row_blocks: int
    col_blocks: int


def _blocks(n: int, size: int) -> list[slice]:
    return [slice(k, min(k + size, n)) for k in range(0, n, size)]


def partitioned_mvm(bench: Bench, params: PartitionParams) -> Partitioned:
    """Every block of ``bench``'s targets programmed as its own tile and read on its rows of
    the held-out inputs; the partial outputs added.

    Raises:
        InputError: ``bench`` or ``params`` of the wrong type (named).
    """
    instance(bench, Bench, "bench")
    instance(params, PartitionParams, "params")
    spec, g, v = bench.spec, bench.targets, bench.inputs
    row_blocks = _blocks(spec.rows, params.tile_rows)
    col_blocks = _blocks(spec.cols, params.tile_cols)
    out = np.zeros((v.shape[0], spec.cols))
    energy = EnergyBreakdown(0.0, 0.0, 0.0, 0.0, 0.0, bench.macs)
    for rs in row_blocks:
        for cs in col_blocks:
            block = g[rs, cs]
            sub = dataclasses.replace(
                spec,
                array=dataclasses.replace(spec.array, rows=block.shape[0], cols=block.shape[1]),
            )
            reading = bench.program(block, sub).read(v[:, rs])
            out[:, cs] += reading.outputs
            energy = energy + bench.energy(reading, spec=sub)
    adds = (len(row_blocks) - 1) * spec.cols
    energy = energy + EnergyBreakdown(0.0, 0.0, 0.0, 0.0, adds * bench.cost.digital_add, bench.macs)
    return Partitioned(out, energy, len(row_blocks), len(col_blocks))


def sweep(
    spec: CrossbarSpec | str | os.PathLike[str],
    target: np.ndarray,
    sizes: list[int],
    *,
    engine: str = "ngspice",
    batch: int = 32,
    seed: int = 0,
    cost: CostModel | None = None,
) -> list[CompensationReport]:
    """Error and cost against square tile size (one report per size).

    Raises:
        InputError: a size that is not an integer >= 1, or a bench argument of the wrong type
            or value (named; see :class:`~cimspice.compensation.tile.Bench`), before any work.
    """
    schemes = [PartitionParams(size, size) for size in sizes]
    bench = Bench(spec, target, engine=engine, batch=batch, seed=seed, cost=cost)
    return [measure(scheme, bench) for scheme in schemes]
