"""The ``ideal`` engine: ``I = V @ G``, no wires, no device or readout effects."""

from __future__ import annotations

import time

import numpy as np

from cimspice.arrays import check_conductances, check_inputs
from cimspice.result import Result
from cimspice.spec import CrossbarSpec, as_spec

__all__ = ["IdealEngine"]


class IdealEngine:
    """Ohm's and Kirchhoff's laws on a wire-free array: the reference for every error."""

    name = "ideal"

    def run(
        self,
        spec: CrossbarSpec,
        conductances: np.ndarray,
        inputs: np.ndarray,
        *,
        node_voltages: bool = False,
    ) -> Result:
        """``currents = V @ G``; ``power = sum_i V_i * (G @ 1)_i V_i``; node voltages ideal."""
        start = time.perf_counter()
        spec = as_spec(spec)
        g = check_conductances(conductances, spec.rows, spec.cols)
        v = check_inputs(inputs, spec.rows)
        currents = v @ g
        power = (v * v) @ g.sum(axis=1)
        v_word = v_bit = None
        if node_voltages:
            v_word = np.broadcast_to(v[:, :, None], (v.shape[0], spec.rows, spec.cols)).copy()
            v_bit = np.zeros_like(v_word)
        return Result(
            engine=self.name,
            currents=currents,
            power=power,
            v_word=v_word,
            v_bit=v_bit,
            elapsed_s=time.perf_counter() - start,
        )
