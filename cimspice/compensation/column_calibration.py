"""Per-column gain and offset calibration of the readout and ADC, from reference inputs.

Each bit line's readout chain (wires, sense amplifier, ADC) is modelled as affine in the
ideal output: ``y_j = gain_j * (V @ G)_j + offset_j``. A finite op-amp gain, the IR drop
along the bit line and the readout's input resistance scale a column (gain); an op-amp's
input offset pushes a current through the column's cells and shifts its output (offset, which
depends on the column's total conductance, so it differs per column). Both are fitted per
column by least squares from a few reference input vectors whose ideal outputs are known
(the programmed conductances are), then removed digitally from every later output::

    y_corrected = (y - offset_j) / gain_j        (one multiply and one add per column)

What it cannot remove: anything that is not affine per column (the part of the IR drop that
depends on which rows are driven, cell nonlinearity, ADC quantisation). Calibration is a
one-off cost of ``vectors`` MVMs per programmed matrix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from cimspice.arguments import check_fields, real_array
from cimspice.arrays import check_conductances
from cimspice.compensation.cost import CostModel, mvm_energy
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

__all__ = ["PARAMS", "CalibrationParams", "ColumnCalibration", "calibrate", "evaluate", "fit"]


@dataclass(frozen=True)
class CalibrationParams:
    """Parameters of the calibration.

    Attributes:
        vectors: reference input vectors (>= 2), inputs ~ U(0, v_read).
        seed: seed of the reference inputs (kept apart from the held-out inputs' seed).
    """

    vectors: int = 8
    seed: int = 9_000

    def __post_init__(self) -> None:
        check_fields(self, "column-calibration")
        if self.seed < 0:
            raise InputError(f"column-calibration: seed must be >= 0, got {self.seed}")
        if self.vectors < 2:
            raise InputError(f"column-calibration: vectors must be >= 2, got {self.vectors}")


PARAMS = CalibrationParams
"""The scheme's parameter type (how :func:`cimspice.compensation.evaluate_scheme` builds it)."""


@dataclass(frozen=True)
class ColumnCalibration:
    """Fitted per-column readout model ``y = gain * ideal + offset``.

    Attributes:
        gain: ``(cols,)``, dimensionless.
        offset: ``(cols,)``, ampere (the units of
            :func:`~cimspice.compensation.tile.output_currents`).
    """

    gain: np.ndarray
    offset: np.ndarray

    def apply(self, outputs: np.ndarray) -> np.ndarray:
        """Ampere, ``(batch, cols)``: ``outputs`` with each column's gain and offset removed."""
        return (real_array(outputs, "outputs") - self.offset) / self.gain


def fit(ideal: np.ndarray, measured: np.ndarray) -> ColumnCalibration:
    """Least-squares gain and offset of every column from paired ``(vectors, cols)`` outputs.

    Raises:
        InputError: mismatched shapes, fewer than 2 vectors, or a column whose reference
            outputs do not vary (its gain is undetermined).
    """
    x, y = real_array(ideal, "ideal"), real_array(measured, "measured")
    if x.shape != y.shape or x.ndim != 2 or x.shape[0] < 2:
        raise InputError(
            f"column-calibration: need >= 2 paired reference outputs, got shapes {x.shape} "
            f"and {y.shape}"
        )
    xc = x - x.mean(axis=0)
    var = np.einsum("kj,kj->j", xc, xc)
    if np.any(var <= 0):
        raise InputError(
            "column-calibration: the reference outputs of some column do not vary; use "
            "reference inputs that differ"
        )
    gain = np.einsum("kj,kj->j", xc, y - y.mean(axis=0)) / var
    if np.any(gain == 0):
        raise InputError("column-calibration: a column's fitted gain is zero (a dead column)")
    offset = y.mean(axis=0) - gain * x.mean(axis=0)
    return ColumnCalibration(gain=gain, offset=offset)


def calibrate(
    spec: CrossbarSpec | str | os.PathLike[str],
    conductances: np.ndarray,
    *,
    engine: str = "ngspice",
    params: CalibrationParams | None = None,
) -> ColumnCalibration:
    """Run the reference inputs through the tile with ``engine`` and fit every column."""
    spec = scheme_arguments(
        spec, engine=engine, batch=1, seed=0, cost=None, params=params, kind=CalibrationParams
    )
    params = params or CalibrationParams()
    g = check_conductances(conductances, spec.rows, spec.cols)
    v_ref = held_out_inputs(spec, params.vectors, params.seed)
    measured = output_currents(spec, run_tile(spec, g, v_ref, engine))
    return fit(ideal_outputs(spec, g, v_ref), measured)


def evaluate(
    spec: CrossbarSpec | str | os.PathLike[str],
    target: np.ndarray,
    *,
    engine: str = "ngspice",
    batch: int = 32,
    seed: int = 0,
    cost: CostModel | None = None,
    params: CalibrationParams | None = None,
) -> CompensationReport:
    """Calibrate on reference inputs, then measure the held-out error before and after."""
    spec = scheme_arguments(
        spec,
        engine=engine,
        batch=batch,
        seed=seed,
        cost=cost,
        params=params,
        kind=CalibrationParams,
    )
    params = params or CalibrationParams()
    cost = cost or CostModel()
    g = check_conductances(target, spec.rows, spec.cols)
    cal = calibrate(spec, g, engine=engine, params=params)
    v = held_out_inputs(spec, batch, seed)
    reference = ideal_outputs(spec, g, v)
    result = run_tile(spec, g, v, engine)
    raw = output_currents(spec, result)
    macs = spec.rows * spec.cols
    return CompensationReport(
        scheme="column-calibration",
        engine=engine,
        energy_before=mvm_energy(spec, result, cost, macs=macs),
        energy_after=mvm_energy(
            spec, result, cost, macs=macs, digital_adds=spec.cols, digital_mults=spec.cols
        ),
        base_cells=macs,
        details={
            "reference vectors (one-off)": params.vectors,
            "gain range": f"{cal.gain.min():.5f} .. {cal.gain.max():.5f}",
            "offset range (A)": f"{cal.offset.min():.3e} .. {cal.offset.max():.3e}",
        },
        reference=reference,
        outputs_before=raw,
        outputs_after=cal.apply(raw),
    )
