"""Running a tile for a scheme: held-out inputs, the tile's output in amperes, its error.

Every scheme measures its error the same way: the tile's output as the digital side sees it
(the ADC's values if there is an ADC, else the TIA's output voltage, else the bit-line
current), turned back into amperes by the readout's nominal gain (``-1 / r_f`` for a TIA),
against the ideal ``V @ G`` of the inputs the DAC actually applied.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from cimspice.arguments import choice, instance, integer
from cimspice.compensation.cost import CostModel
from cimspice.converters import dac
from cimspice.metrics import max_error, nrmse
from cimspice.result import Result
from cimspice.seeds import check_seed
from cimspice.spec import CrossbarSpec, as_spec

__all__ = [
    "TILE_ENGINES",
    "errors",
    "held_out_inputs",
    "ideal_outputs",
    "output_currents",
    "run_tile",
    "scheme_arguments",
]

TILE_ENGINES = ("ngspice", "nodal")
"""The engines that measure a scheme's tile (both report the power the cost model needs)."""


def scheme_arguments(
    spec: CrossbarSpec | str | os.PathLike[str],
    *,
    engine: object,
    batch: object,
    seed: object,
    cost: object,
    params: object,
    kind: type,
) -> CrossbarSpec:
    """Check the arguments every scheme's ``evaluate`` takes, before any work; return the
    spec (loaded if a path was given).

    ``cost`` must be a :class:`~cimspice.compensation.cost.CostModel` or ``None``, ``params``
    a ``kind`` or ``None`` (the caller puts the defaults in).

    Raises:
        InputError: an argument of the wrong type or value, named.
        SpecError: ``spec`` names a missing or invalid spec file.
    """
    spec = as_spec(spec)
    choice(engine, TILE_ENGINES, "engine")
    integer(batch, "batch", minimum=1)
    check_seed(seed)
    if cost is not None:
        instance(cost, CostModel, "cost", "a CostModel or None")
    if params is not None:
        instance(params, kind, "params", f"a {kind.__name__} or None")
    return spec


def held_out_inputs(spec: CrossbarSpec, batch: int, seed: int) -> np.ndarray:
    """Volt, ``(batch, rows)``: inputs ~ U(0, v_read), the spec's range of use."""
    batch = integer(batch, "batch", minimum=1)
    rng = np.random.default_rng(check_seed(seed))
    return rng.uniform(0.0, spec.driver.v_read, (batch, spec.rows))


def run_tile(
    spec: CrossbarSpec, conductances: np.ndarray, inputs: np.ndarray, engine: str, **options: Any
) -> Result:
    """One engine run of the tile (``ngspice`` or ``nodal``; see :func:`cimspice.simulate`)."""
    from cimspice.simulation import simulate

    return simulate(spec, conductances, inputs, engine=engine, **options)


def output_currents(spec: CrossbarSpec, result: Result) -> np.ndarray:
    """Ampere, ``(batch, cols)``: the tile's output as read out, in current units."""
    if result.digital is not None:
        value = result.digital
    elif result.v_out is not None:
        value = result.v_out
    else:
        return result.currents
    return -value / spec.readout.r_f if spec.has_tia else value


def ideal_outputs(spec: CrossbarSpec, conductances: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Ampere: ``V @ G`` for the levels the DAC applies for ``inputs``."""
    return dac(spec, np.atleast_2d(inputs)) @ conductances


def errors(outputs: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """``(max error, NRMSE)`` as fractions of the reference's full scale."""
    return max_error(outputs, reference), nrmse(outputs, reference)
