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
===================== ================================================================

The cost model (converters, digital logic, SRAM CIM) is :mod:`~cimspice.compensation.cost`.
Importing this package loads no scheme; :func:`evaluate_scheme` imports the one asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cimspice.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from cimspice.compensation.report import CompensationReport
    from cimspice.spec import CrossbarSpec

__all__ = ["SCHEMES", "evaluate_scheme"]

SCHEMES: dict[str, str] = {
    "ir-predistort": "cimspice.compensation.ir_predistort",
    "column-calibration": "cimspice.compensation.column_calibration",
    "reference-column": "cimspice.compensation.reference_column",
    "partitioning": "cimspice.compensation.partitioning",
    "input-scaling": "cimspice.compensation.input_scaling",
}
"""Scheme name (as on the command line) -> the module that implements it."""


def evaluate_scheme(
    name: str, spec: CrossbarSpec, conductances: np.ndarray, **options: Any
) -> CompensationReport:
    """Run scheme ``name``'s ``evaluate`` on ``spec`` with target ``conductances``.

    Raises:
        InputError: an unknown scheme name (the known ones are listed).
    """
    if name not in SCHEMES:
        raise InputError(f"unknown scheme {name!r}; known schemes: {', '.join(SCHEMES)}")
    module = importlib.import_module(SCHEMES[name])
    report: CompensationReport = module.evaluate(spec, conductances, **options)
    return report
