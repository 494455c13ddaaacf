"""Reference (dummy) columns and differential pairs: cancelling the ``g_min`` floor.

A weight ``w >= 0`` is stored as a conductance ``G = g_min + w``: no device goes below
``g_min``, so every cell carries a floor current ``g_min * V_i`` and each output holds the
common-mode term ``g_min * sum(V)`` on top of the wanted ``V @ (G - g_min)``, with the IR
drop it suffers on the way.

A reference column has every cell at ``g_min``; sensed like the data columns, its output is
the floor and the common mode as the array really produces them, and subtracting it removes
both (one digital subtraction per column):

- ``dummy``: one reference column, appended after the last data column and shared by all of
  them (one extra column and ADC per tile). It sees the IR drop at the far end of the word
  lines, so near columns are cancelled less well;
- ``differential``: every data column gets its own reference column right beside it (the
  columns interleave: data, reference, data, ...), so the pair sees nearly the same IR drop
  and offset (twice the columns and ADCs).

What it does not cancel: what differs between a data column and its reference, i.e. the
IR drop of the weights' own currents, and an op-amp input offset (it drives a current
``v_offset * sum_i G_ij`` through each column, which depends on the column's conductances;
:mod:`~cimspice.compensation.column_calibration` removes that). Differential pairs double the
word lines' length, and so their IR drop: on a small tile the longer lines can cost more than
the closer reference gains (the report shows it).

Before: the outputs read without any cancellation. The details also give the error of the
nominal digital subtraction ``g_min * sum(V)`` (what a tile without reference columns could
do), which removes the floor but not what the array adds to it.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import typing
from dataclasses import dataclass

import numpy as np

from cimspice.arguments import check_fields, instance, real_array
from cimspice.arrays import check_conductances
from cimspice.compensation.cost import CostModel, mvm_energy
from cimspice.compensation.report import CompensationReport
from cimspice.compensation.tile import (
    errors,
    held_out_inputs,
    ideal_outputs,
    output_currents,
    run_tile,
    scheme_arguments,
)
from cimspice.converters import dac
from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec, as_spec

__all__ = [
    "PARAMS",
    "ReferenceLayout",
    "ReferenceMode",
    "ReferenceParams",
    "cancel",
    "evaluate",
    "layout",
]


class ReferenceMode(enum.StrEnum):
    """Where the reference columns go."""

    DUMMY = "dummy"
    """One shared reference column after the last data column."""
    DIFFERENTIAL = "differential"
    """One reference column beside every data column."""


@dataclass(frozen=True)
class ReferenceParams:
    """Parameters of the reference-column scheme.

    Attributes:
        mode: ``"dummy"`` or ``"differential"``.
    """

    mode: ReferenceMode = ReferenceMode.DUMMY

    def __post_init__(self) -> None:
        check_fields(self, "reference-column")
        try:
            object.__setattr__(self, "mode", ReferenceMode(self.mode))
        except ValueError:
            known = ", ".join(m.value for m in ReferenceMode)
            raise InputError(
                f"reference-column: unknown mode {self.mode!r}; known: {known}"
            ) from None


PARAMS = ReferenceParams
"""The scheme's parameter type (how :func:`cimspice.compensation.evaluate_scheme` builds it)."""


@dataclass(frozen=True)
class ReferenceLayout:
    """The physical tile holding the data and reference columns.

    Attributes:
        spec: the tile's spec (more columns than the logical matrix).
        conductances: siemens, the physical tile's conductances.
        data: ``(cols,)`` physical column of each logical column.
        reference: ``(cols,)`` physical reference column subtracted from each.
    """

    spec: CrossbarSpec
    conductances: np.ndarray
    data: np.ndarray
    reference: np.ndarray


def layout(
    spec: CrossbarSpec, conductances: np.ndarray, mode: ReferenceMode | str
) -> ReferenceLayout:
    """Place the data columns and their reference columns (all cells at ``g_min``)."""
    spec = as_spec(spec)
    mode = ReferenceParams(mode=typing.cast(ReferenceMode, mode)).mode  # a str is converted
    g = check_conductances(conductances, spec.rows, spec.cols)
    rows, cols = g.shape
    floor = np.full((rows, 1), spec.device.g_min)
    if mode == ReferenceMode.DUMMY:
        physical = np.concatenate([g, floor], axis=1)
        data = np.arange(cols)
        reference = np.full(cols, cols)
    else:
        physical = np.empty((rows, 2 * cols))
        physical[:, 0::2] = g
        physical[:, 1::2] = floor
        data = 2 * np.arange(cols)
        reference = data + 1
    wide = dataclasses.replace(spec, array=dataclasses.replace(spec.array, cols=physical.shape[1]))
    return ReferenceLayout(wide, physical, data, reference)


def cancel(outputs: np.ndarray, lay: ReferenceLayout) -> np.ndarray:
    """Ampere, ``(batch, cols)``: each data column's output minus its reference column's."""
    instance(lay, ReferenceLayout, "lay")
    out = real_array(outputs, "outputs", ndim=2)
    if out.shape[1] != lay.spec.cols:
        raise InputError(
            f"outputs must have the physical tile's {lay.spec.cols} columns, got shape {out.shape}"
        )
    return out[:, lay.data] - out[:, lay.reference]


def evaluate(
    spec: CrossbarSpec | str | os.PathLike[str],
    target: np.ndarray,
    *,
    engine: str = "ngspice",
    batch: int = 32,
    seed: int = 0,
    cost: CostModel | None = None,
    params: ReferenceParams | None = None,
) -> CompensationReport:
    """Measure ``V @ (G - g_min)`` without cancellation and with reference columns."""
    from cimspice.compensation.ir_predistort import check_window

    spec = scheme_arguments(
        spec, engine=engine, batch=batch, seed=seed, cost=cost, params=params, kind=ReferenceParams
    )
    params = params or ReferenceParams()
    cost = cost or CostModel()
    g = check_window(spec, target, "reference-column targets")
    v = held_out_inputs(spec, batch, seed)
    floor = spec.device.g_min
    reference = ideal_outputs(spec, g - floor, v)
    plain = run_tile(spec, g, v, engine)
    raw = output_currents(spec, plain)
    lay = layout(spec, g, params.mode)
    wide = run_tile(lay.spec, lay.conductances, v, engine)
    after = cancel(output_currents(lay.spec, wide), lay)
    nominal = raw - floor * dac(spec, v).sum(axis=1, keepdims=True)
    macs = spec.rows * spec.cols
    extra = lay.spec.cols - spec.cols
    return CompensationReport(
        scheme="reference-column",
        engine=engine,
        energy_before=mvm_energy(spec, plain, cost, macs=macs),
        energy_after=mvm_energy(lay.spec, wide, cost, macs=macs, digital_adds=spec.cols),
        base_cells=macs,
        extra_cells=extra * spec.rows,
        extra_columns=extra,
        extra_adcs=extra,
        details={
            "mode": params.mode.value,
            "nominal digital floor subtraction error": errors(nominal, reference)[0],
        },
        reference=reference,
        outputs_before=raw,
        outputs_after=after,
    )
