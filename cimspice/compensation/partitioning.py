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
the periphery of the extra tiles.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np

from cimspice.arguments import check_fields
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
from cimspice.spec import CrossbarSpec

__all__ = ["PARAMS", "PartitionParams", "Partitioned", "evaluate", "partitioned_mvm", "sweep"]


@dataclass(frozen=True)
class PartitionParams:
    """Parameters of the partitioning.

    Attributes:
        tile_rows: largest block height (word lines per tile, >= 1).
        tile_cols: largest block width (bit lines per tile, >= 1).
    """

    tile_rows: int = 16
    tile_cols: int = 16

    def __post_init__(self) -> None:
        check_fields(self, "partitioning")
        for key in ("tile_rows", "tile_cols"):
            if getattr(self, key) < 1:
                raise InputError(f"partitioning: {key} must be >= 1, got {getattr(self, key)}")


PARAMS = PartitionParams
"""The scheme's parameter type (how :func:`cimspice.compensation.evaluate_scheme` builds it)."""


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


def partitioned_mvm(
    spec: CrossbarSpec | str | os.PathLike[str],
    conductances: np.ndarray,
    inputs: np.ndarray,
    params: PartitionParams,
    *,
    engine: str = "ngspice",
    cost: CostModel | None = None,
) -> Partitioned:
    """Run every block as its own tile with ``engine`` and add the partial outputs."""
    spec = scheme_arguments(
        spec, engine=engine, batch=1, seed=0, cost=cost, params=params, kind=PartitionParams
    )
    params = params or PartitionParams()
    cost = cost or CostModel()
    g = check_conductances(conductances, spec.rows, spec.cols)
    v = check_inputs(inputs, spec.rows)
    row_blocks = _blocks(spec.rows, params.tile_rows)
    col_blocks = _blocks(spec.cols, params.tile_cols)
    out = np.zeros((v.shape[0], spec.cols))
    macs = spec.rows * spec.cols
    energy = EnergyBreakdown(0.0, 0.0, 0.0, 0.0, 0.0, macs)
    for rs in row_blocks:
        for cs in col_blocks:
            block = g[rs, cs]
            sub = dataclasses.replace(
                spec,
                array=dataclasses.replace(spec.array, rows=block.shape[0], cols=block.shape[1]),
            )
            result = run_tile(sub, block, v[:, rs], engine)
            out[:, cs] += output_currents(sub, result)
            energy = energy + mvm_energy(sub, result, cost, macs=macs)
    adds = (len(row_blocks) - 1) * spec.cols
    energy = energy + EnergyBreakdown(0.0, 0.0, 0.0, 0.0, adds * cost.digital_add, macs)
    return Partitioned(out, energy, len(row_blocks), len(col_blocks))


def evaluate(
    spec: CrossbarSpec | str | os.PathLike[str],
    target: np.ndarray,
    *,
    engine: str = "ngspice",
    batch: int = 32,
    seed: int = 0,
    cost: CostModel | None = None,
    params: PartitionParams | None = None,
) -> CompensationReport:
    """The whole matrix on one tile (before) against the partitioned MVM (after)."""
    spec = scheme_arguments(
        spec, engine=engine, batch=batch, seed=seed, cost=cost, params=params, kind=PartitionParams
    )
    params = params or PartitionParams()
    cost = cost or CostModel()
    g = check_conductances(target, spec.rows, spec.cols)
    v = held_out_inputs(spec, batch, seed)
    reference = ideal_outputs(spec, g, v)
    whole = run_tile(spec, g, v, engine)
    part = partitioned_mvm(spec, g, v, params, engine=engine, cost=cost)
    macs = spec.rows * spec.cols
    return CompensationReport(
        scheme="partitioning",
        engine=engine,
        energy_before=mvm_energy(spec, whole, cost, macs=macs),
        energy_after=part.energy,
        base_cells=macs,
        extra_adcs=(part.row_blocks - 1) * spec.cols,
        details={
            "tile size": f"{min(params.tile_rows, spec.rows)}x{min(params.tile_cols, spec.cols)}",
            "tiles": part.row_blocks * part.col_blocks,
            "extra DACs": (part.col_blocks - 1) * spec.rows,
            "digital adds per MVM": (part.row_blocks - 1) * spec.cols,
        },
        reference=reference,
        outputs_before=output_currents(spec, whole),
        outputs_after=part.outputs,
    )


def sweep(
    spec: CrossbarSpec,
    target: np.ndarray,
    sizes: list[int],
    *,
    engine: str = "ngspice",
    batch: int = 32,
    seed: int = 0,
    cost: CostModel | None = None,
) -> list[CompensationReport]:
    """Error and cost against square tile size (one report per size)."""
    return [
        evaluate(
            spec,
            target,
            engine=engine,
            batch=batch,
            seed=seed,
            cost=cost,
            params=PartitionParams(size, size),
        )
        for size in sizes
    ]
