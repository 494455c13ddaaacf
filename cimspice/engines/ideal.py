"""The ``ideal`` engine: ``I = V @ G``, no wires, no device or readout effects."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from cimspice.arrays import check_inputs
from cimspice.engines.base import EngineBase
from cimspice.result import Result
from cimspice.spec import CrossbarSpec

__all__ = ["IdealEngine", "IdealTile"]


@dataclass(frozen=True)
class IdealTile:
    """A wire-free tile: its transfer matrix is its conductance matrix."""

    spec: CrossbarSpec
    conductances: np.ndarray
    prepare_s: float = 0.0

    @property
    def transfer(self) -> np.ndarray:
        """Siemens: ``G`` itself."""
        return self.conductances

    def run(self, voltages: np.ndarray, *, node_voltages: bool = False) -> Result:
        """``currents = V @ G``; ``power = sum_i V_i^2 (G @ 1)_i``; node voltages ideal."""
        start = time.perf_counter()
        v = check_inputs(voltages, self.spec.rows)
        g = self.conductances
        v_word = v_bit = None
        if node_voltages:
            shape = (v.shape[0], self.spec.rows, self.spec.cols)
            v_word = np.broadcast_to(v[:, :, None], shape).copy()
            v_bit = np.zeros_like(v_word)
        return Result(
            engine="ideal",
            currents=v @ g,
            power=(v * v) @ g.sum(axis=1),
            v_word=v_word,
            v_bit=v_bit,
            elapsed_s=time.perf_counter() - start,
        )


class IdealEngine(EngineBase):
    """Ohm's and Kirchhoff's laws on a wire-free array: the reference for every error.

    Its one-shot :meth:`run` is the exact ``V @ G`` of the inputs given: the spec's DAC and ADC
    are not applied (callers that compare against the converters' levels apply the DAC
    themselves, e.g. :attr:`cimspice.compensation.tile.Bench.reference`). A network that programs
    ideal tiles applies its own converters around :meth:`IdealTile.run`.
    """

    name = "ideal"
    converters = False

    def program(self, spec: CrossbarSpec, conductances: np.ndarray) -> IdealTile:
        """The tile ``conductances`` (S) on ``spec``'s array."""
        return IdealTile(*self.checked(spec, conductances))
