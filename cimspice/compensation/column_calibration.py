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
one-off cost of ``vectors`` MVMs per programmed matrix. It works on every tile kind: the
reference inputs go through the same programmed tile, read as the digital side sees it
(:mod:`~cimspice.compensation.tile`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cimspice.arguments import check_fields, instance, real_array
from cimspice.arrays import check_conductances
from cimspice.compensation.scheme import NetworkForm, Outcome, SchemeBase
from cimspice.compensation.tile import Bench, MeasuredTile, held_out_inputs
from cimspice.converters import dac
from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec

__all__ = ["CalibrationParams", "ColumnCalibration", "calibrate", "fit"]


@dataclass(frozen=True)
class CalibrationParams(SchemeBase):
    """The ``column-calibration`` scheme: parameters of the calibration.

    Attributes:
        vectors: reference input vectors (>= 2), inputs ~ U(0, v_read).
        seed: seed of the reference inputs (kept apart from the held-out inputs' seed).
    """

    name: ClassVar[str] = "column-calibration"

    vectors: int = 8
    seed: int = 9_000

    def __post_init__(self) -> None:
        check_fields(self, self.name)
        if self.seed < 0:
            raise InputError(f"column-calibration: seed must be >= 0, got {self.seed}")
        if self.vectors < 2:
            raise InputError(f"column-calibration: vectors must be >= 2, got {self.vectors}")

    def apply(self, bench: Bench) -> Outcome:
        """Calibrate the programmed targets on the reference inputs, then correct the
        held-out outputs (one multiply and one add per column)."""
        bench.check_fits(self.vectors)  # the reference vectors, before any simulation
        cal = calibrate(bench.baseline, bench.targets, self)
        before = bench.before
        return Outcome(
            cal.apply(before.outputs),
            bench.energy(before, digital_adds=bench.spec.cols, digital_mults=bench.spec.cols),
            details={
                "reference vectors (one-off)": self.vectors,
                "gain range": f"{cal.gain.min():.5f} .. {cal.gain.max():.5f}",
                "offset range (A)": f"{cal.offset.min():.3e} .. {cal.offset.max():.3e}",
            },
        )

    def network_form(self, spec: CrossbarSpec) -> NetworkForm:
        """Every layer output's gain and offset fitted on the hardware's outputs for
        reference samples, and removed digitally."""
        return NetworkForm(self.name, calibrate=True)


@dataclass(frozen=True)
class ColumnCalibration:
    """Fitted per-column readout model ``y = gain * ideal + offset``.

    Attributes:
        gain: ``(cols,)``, dimensionless.
        offset: ``(cols,)``, ampere (the units of
            :func:`~cimspice.compensation.tile.digital_outputs`).
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
    tile: MeasuredTile, targets: np.ndarray, params: CalibrationParams | None = None
) -> ColumnCalibration:
    """Fit every column of ``tile`` (programmed with ``targets``, S) from its outputs for
    the reference inputs against their ideal ``V @ targets``.

    Raises:
        InputError: an argument of the wrong type or value (named), or what :func:`fit`
            refuses.
    """
    instance(tile, MeasuredTile, "tile", "a MeasuredTile (see Bench.program)")
    if params is None:
        params = CalibrationParams()
    instance(params, CalibrationParams, "params", "a CalibrationParams or None")
    targets = check_conductances(targets, tile.spec.rows, tile.spec.cols)
    v_ref = held_out_inputs(tile.spec, params.vectors, params.seed)
    return fit(dac(tile.spec, v_ref) @ targets, tile.read(v_ref).outputs)
