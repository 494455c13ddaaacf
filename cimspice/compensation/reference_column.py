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

Measured like every scheme against ``V @ G`` (:mod:`~cimspice.compensation.tile`), of which
the floor is a part. Before: the tile read as it is (in absolute terms the error of the
nominal digital subtraction ``g_min * sum(V)`` a tile without reference columns would do:
it removes the floor but not what the array adds to it). After: ``data - reference +
g_min * sum(V)``, the floor as the array produced it removed by the reference column and the
nominal floor added back digitally, so that both compare with ``V @ G``. A network uses
``data - reference`` as it is, the weights' product ``V @ (G - g_min)``; the details give
both errors as fractions of that product's full scale too (the weights' frame).

At network level the scheme is the mapping (``mapping.scheme``): ``dummy`` is the
``reference`` mapping, ``differential`` the ``differential`` one.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import typing
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cimspice.arguments import check_fields, instance, real_array
from cimspice.arrays import check_conductances
from cimspice.compensation.ir_predistort import check_window
from cimspice.compensation.scheme import NetworkForm, Outcome, SchemeBase, enum_field
from cimspice.compensation.tile import Bench
from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec, as_spec

__all__ = ["ReferenceLayout", "ReferenceMode", "ReferenceParams", "cancel", "layout"]


class ReferenceMode(enum.StrEnum):
    """Where the reference columns go."""

    DUMMY = "dummy"
    """One shared reference column after the last data column."""
    DIFFERENTIAL = "differential"
    """One reference column beside every data column."""


@dataclass(frozen=True)
class ReferenceParams(SchemeBase):
    """The ``reference-column`` scheme.

    Attributes:
        mode: ``"dummy"`` or ``"differential"``.
    """

    name: ClassVar[str] = "reference-column"

    mode: ReferenceMode = ReferenceMode.DUMMY

    def __post_init__(self) -> None:
        check_fields(self, self.name)
        enum_field(self, "mode", ReferenceMode, self.name)

    def apply(self, bench: Bench) -> Outcome:
        """Read the tile with its reference columns and cancel the floor (see the module)."""
        spec = bench.spec
        g = check_window(spec, bench.targets, "reference-column targets")
        floor = spec.device.g_min
        lay = layout(spec, g, self.mode)
        bench.check_fits(bench.batch, lay.spec)  # the wider tile, before any simulation
        wide = bench.program(lay.conductances, lay.spec).read(bench.inputs)
        weights = cancel(wide.outputs, lay)  # the weights' product, V @ (G - g_min)
        common = floor * bench.applied.sum(axis=1, keepdims=True)
        wanted = bench.applied @ (g - floor)
        extra = lay.spec.cols - spec.cols
        details: dict[str, object] = {"mode": self.mode.value}
        if np.any(wanted):  # targets all at g_min leave the weights' frame no full scale
            details["weights' frame, error before"] = bench.error(
                bench.before.outputs - common, wanted
            )
            details["weights' frame, error after"] = bench.error(weights, wanted)
        return Outcome(
            weights + common,
            bench.energy(wide, spec=lay.spec, digital_adds=spec.cols),
            extra_cells=extra * spec.rows,
            extra_columns=extra,
            extra_adcs=extra,
            details=details,
        )

    def network_form(self, spec: CrossbarSpec) -> NetworkForm:
        """The mapping with reference columns: ``dummy`` is ``mapping.scheme = "reference"``
        (one shared reference column), ``differential`` is ``"differential"`` (a column pair
        per weight)."""
        mapping = "reference" if self.mode == ReferenceMode.DUMMY else "differential"
        return NetworkForm(f"mapping {mapping}", {"mapping.scheme": mapping})


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
    spec: CrossbarSpec | str | os.PathLike[str],
    conductances: np.ndarray,
    mode: ReferenceMode | str,
) -> ReferenceLayout:
    """Place the data columns and their reference columns (all cells at ``g_min``).

    Raises:
        InputError: an unknown ``mode`` (the known ones listed), or conductances of the wrong
            shape or values.
    """
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
    """Ampere, ``(batch, cols)``: each data column's output minus its reference column's.

    Raises:
        InputError: ``lay`` not a :class:`ReferenceLayout`, or ``outputs`` not 2-D real
            numbers with the physical tile's columns.
    """
    instance(lay, ReferenceLayout, "lay")
    out = real_array(outputs, "outputs", ndim=2)
    if out.shape[1] != lay.spec.cols:
        raise InputError(
            f"outputs must have the physical tile's {lay.spec.cols} columns, got shape {out.shape}"
        )
    return out[:, lay.data] - out[:, lay.reference]
