"""The interface every engine implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from cimspice.result import Result
from cimspice.spec import CrossbarSpec

__all__ = ["Engine"]


@runtime_checkable
class Engine(Protocol):
    """Computes a crossbar's outputs for a batch of input vectors."""

    name: str

    def run(
        self,
        spec: CrossbarSpec,
        conductances: np.ndarray,
        inputs: np.ndarray,
        *,
        node_voltages: bool = False,
    ) -> Result:
        """Simulate ``spec`` with ``conductances`` (S, ``(rows, cols)``) and ``inputs``
        (V, ``(batch, rows)`` or ``(rows,)``); node voltages only when asked for.

        Raises:
            InputError: invalid arrays. SimulationError: the engine failed.

        """
        ...
