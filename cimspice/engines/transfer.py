"""A linear tile's exact transfer and sense-coupling matrices, by the faster exact method.

Two methods give the same matrices to round-off (~3e-13 of the largest entry, measured from
64x64 to 256x256): the admittance cascade (:mod:`cimspice.engines.cascade`; dense,
``O(rows cols^3)``, no extra dependency, any wires) and the port reduction
(:mod:`cimspice.engines.port_reduction`; a nested-dissection sparse Cholesky, near
``O(n log n)`` memory, the ``large`` extra, resistive wires). The cascade is faster on small
tiles (0.05 against 0.06 s at 64x64), the reduction from
:data:`~cimspice.engines.port_reduction.AUTO_CELLS` cells on (0.15 against 0.28 s at 128x128,
0.5 against 2 s at 256x256; the cascade took 33 s at 512x512, the reduction ~5 s).
"""

from __future__ import annotations

import numpy as np

from cimspice.engines import cascade
from cimspice.engines.port_reduction import port_reduction, suits
from cimspice.topology import PassiveTopology

__all__ = ["transfer_and_coupling", "transfer_matrix"]


def transfer_and_coupling(
    topology: PassiveTopology, conductances: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(T, K)`` as :func:`cimspice.engines.cascade.transfer_and_coupling` defines them,
    by the port reduction where it suits the tile
    (:func:`~cimspice.engines.port_reduction.suits`), the cascade otherwise.

    Raises:
        IllConditionedError: the network is beyond double precision.
    """
    if suits(topology):
        reduced = port_reduction(topology, conductances)
        return reduced.transfer, reduced.coupling
    return cascade.transfer_and_coupling(topology, conductances)


def transfer_matrix(topology: PassiveTopology, conductances: np.ndarray) -> np.ndarray:
    """Siemens, ``(rows, cols)``: ``T`` (see :func:`transfer_and_coupling`)."""
    if suits(topology):
        return port_reduction(topology, conductances).transfer
    return cascade.transfer_matrix(topology, conductances)
