"""Running a tile for a scheme: held-out inputs, the tile's output in amperes, its error.

Every scheme measures its error the same way: the tile's output as the digital side sees it
(the ADC's values if there is an ADC, else the TIA's output voltage, else the bit-line
current), turned back into amperes by the readout's nominal gain (``-1 / r_f`` for a TIA),
against the ideal ``V @ G`` of the inputs the DAC actually applied.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimspice.converters import dac
from cimspice.metrics import max_error, nrmse
from cimspice.result import Result
from cimspice.spec import CrossbarSpec

__all__ = ["errors", "held_out_inputs", "ideal_outputs", "output_currents", "run_tile"]


def held_out_inputs(spec: CrossbarSpec, batch: int, seed: int) -> np.ndarray:
    """Volt, ``(batch, rows)``: inputs ~ U(0, v_read), the spec's range of use."""
    rng = np.random.default_rng(seed)
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
