"""Compensation schemes for analogue CIM tiles, each validated in SPICE and costed.

One module per scheme, each with its parameters as a frozen dataclass, a pure transform the
network level can reuse, and an ``evaluate(spec, conductances, ...)`` that measures the tile's
error before and after with an engine (``ngspice`` by default) and returns a
:class:`~cimspice.compensation.report.CompensationReport`:

===================== ================================================================
``ir-predistort``     :mod:`~cimspice.compensation.ir_predistort`: conductances that undo
                      the wires' IR drop (``T(G') = G``), with rescaling when the window
                      leaves no headroom
``column-calibration`` :mod:`~cimspice.compensation.column_calibration`: per-column gain and
                      offset of readout + ADC, fitted on reference inputs
``reference-column``  :mod:`~cimspice.compensation.reference_column`: a dummy column (or
                      differential pairs) cancelling the ``g_min`` floor / common mode
``partitioning``      :mod:`~cimspice.compensation.partitioning`: smaller tiles, partial
                      sums added digitally
``input-scaling``     :mod:`~cimspice.compensation.input_scaling`: smaller input voltages,
                      or bit-serial inputs, against cell nonlinearity
``write-verify``      :mod:`~cimspice.compensation.write_verify`: programming to a
                      tolerance, pulses against precision (a minimal, documented model)
===================== ================================================================

The cost model (converters, digital logic, SRAM CIM) is :mod:`~cimspice.compensation.cost`.

Hooks for the network level (the network package, built apart, is not used here): each scheme
keeps its transform apart from its tile measurement, so a network evaluation can apply it to
every tile of a mapped layer: :func:`~cimspice.compensation.ir_predistort.predistort` (targets
to programmed conductances, and the output gain),
:func:`~cimspice.compensation.column_calibration.fit` and
:meth:`~cimspice.compensation.column_calibration.ColumnCalibration.apply`,
:func:`~cimspice.compensation.reference_column.layout` and
:func:`~cimspice.compensation.reference_column.cancel`,
:func:`~cimspice.compensation.partitioning.partitioned_mvm`,
:func:`~cimspice.compensation.input_scaling.bit_planes`,
:func:`~cimspice.compensation.write_verify.program`; and every report carries its
:class:`~cimspice.compensation.cost.EnergyBreakdown` per MAC for an accuracy-energy (Pareto)
table.

The network level (surrogate tiles, a model's accuracy and energy per MAC) is apart:
:mod:`~cimspice.studies.schemes` (every scheme as a network case, the per-tile
pre-distortion and the per-output calibration), :mod:`~cimspice.studies.energy`
(energy per MAC by layer and compute unit), :mod:`~cimspice.studies.mixed_precision`
(memristor / SRAM CIM / digital per layer by sensitivity, under an energy budget),
:mod:`~cimspice.studies.pareto` (the accuracy-energy front) and
:mod:`~cimspice.studies.pareto_report` (``cimspice compensate SPEC --pareto``);
hardware-aware training is the network package's (:mod:`cimspice.nn.training`).
Importing this package loads no scheme; :func:`evaluate_scheme` imports the one asked for.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from typing import TYPE_CHECKING, Any

from cimspice.errors import InputError
from cimspice.seeds import check_seed

if TYPE_CHECKING:
    import numpy as np

    from cimspice.compensation.cost import CostModel
    from cimspice.compensation.report import CompensationReport
    from cimspice.spec import CrossbarSpec

__all__ = ["SCHEMES", "default_targets", "evaluate_scheme"]

SCHEMES: dict[str, str] = {
    "ir-predistort": "cimspice.compensation.ir_predistort",
    "column-calibration": "cimspice.compensation.column_calibration",
    "reference-column": "cimspice.compensation.reference_column",
    "partitioning": "cimspice.compensation.partitioning",
    "input-scaling": "cimspice.compensation.input_scaling",
    "write-verify": "cimspice.compensation.write_verify",
}
"""Scheme name (as on the command line) -> the module that implements it."""


def evaluate_scheme(
    name: str,
    spec: CrossbarSpec | str | os.PathLike[str],
    conductances: np.ndarray,
    *,
    engine: str = "ngspice",
    batch: int = 32,
    seed: int = 0,
    cost: CostModel | None = None,
    **params: Any,
) -> CompensationReport:
    """Run scheme ``name`` on ``spec`` with target ``conductances`` and measure it.

    Args:
        name: a key of :data:`SCHEMES`.
        spec: the tile.
        conductances: siemens, ``(rows, cols)``: the targets (the ideal matrix).
        engine: what measures the errors (``"ngspice"``: the tile-level truth; ``"nodal"``).
        batch: held-out input vectors.
        seed: their seed.
        cost: the cost model.
        params: fields of the scheme's parameter dataclass (e.g. ``tile_rows=16``).

    Raises:
        InputError: an unknown scheme name (the known ones are listed) or parameter, or an
            argument of the wrong type or value (named).
        SpecError: ``spec`` names a missing or invalid spec file.
    """
    if not isinstance(name, str) or name not in SCHEMES:
        raise InputError(f"unknown scheme {name!r}; known schemes: {', '.join(SCHEMES)}")
    from cimspice.compensation.tile import scheme_arguments

    module = importlib.import_module(SCHEMES[name])
    known = {f.name for f in dataclasses.fields(module.PARAMS)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise InputError(
            f"scheme {name!r} takes no parameter {', '.join(unknown)}; its parameters: "
            + ", ".join(sorted(known))
        )
    spec = scheme_arguments(
        spec, engine=engine, batch=batch, seed=seed, cost=cost, params=None, kind=module.PARAMS
    )
    seed = check_seed(seed)
    vectors = params.get("vectors", 0)
    _check_tile_fits(spec, batch + (vectors if isinstance(vectors, int) else 0))
    report: CompensationReport = module.evaluate(
        spec,
        conductances,
        engine=engine,
        batch=batch,
        seed=seed,
        cost=cost,
        params=module.PARAMS(**params),
    )
    return report


def _check_tile_fits(spec: CrossbarSpec, vectors: int = 0) -> None:
    """Refuse a tile too large to simulate here (see ``tile_work_bytes``) with ``vectors``
    input vectors (their inputs, outputs and deck tables, before and after), before any
    work."""
    from cimspice.engines.nodal import tile_work_bytes
    from cimspice.memory import check_fits

    batch_bytes = 4 * 32.0 * vectors * (spec.rows + spec.cols)
    check_fits(
        tile_work_bytes(spec) + batch_bytes,
        f"compensating a {spec.rows}x{spec.cols} tile with {vectors} input vectors",
    )


def default_targets(spec: CrossbarSpec, seed: int = 0) -> np.ndarray:
    """Siemens, ``(rows, cols)``: targets ~ U(g_min, g_min + 0.6 (g_max - g_min)).

    The lower 60% of the window (1-60 uS in a 1-100 uS window), leaving headroom for
    corrections that raise conductances (the pre-distortion benchmark's setting).
    """
    import numpy as np

    from cimspice.spec import as_spec

    spec = as_spec(spec)
    rng = np.random.default_rng(check_seed(seed))
    _check_tile_fits(spec)
    lo, hi = spec.device.g_min, spec.device.g_max
    return rng.uniform(lo, lo + 0.6 * (hi - lo), (spec.rows, spec.cols))
