"""A large passive crossbar reduced exactly to its ports: nested-dissection sparse Cholesky.

The sparse LU of the ``nodal`` engine fills in (a 1024x1024 tile's factor outgrew 11 GB) and
the admittance cascade (:mod:`cimspice.engines.cascade`) is dense, ``O(rows cols^3)``. This
module keeps what both give, the exact transfer matrix ``T`` (``currents = inputs @ T``), and
needs neither.

With resistive wires every driver reaches the array through one link of conductance
``g_f = 1 / r_first`` into word-line node ``(i, 0)``, and every sense node through one link
``g_l = 1 / r_last`` from bit-line node ``(rows - 1, j)``. Call these ``rows + cols`` nodes
the *ports*. With ``A`` the network's conductance matrix over its unknown nodes (symmetric
positive definite) and ``Z = (A^-1)`` restricted to the ports, a driver vector ``v`` injects
``g_f v`` at the word-line ports, so

- ``T = g_f g_l Z[word ports, bit ports]`` (the current into sense node ``j`` is
  ``g_l`` times bit port ``j``'s potential),
- driver currents ``= v @ D`` with ``D = g_f 1 - g_f^2 Z[word ports, word ports]``, and
- the sense nodes' coupling (:mod:`cimspice.surrogate.readout`) ``K = g_l^2 Z[bit ports, bit
  ports] - g_l 1``.

``Z`` is the inverse of ``A``'s Schur complement onto the ports. Ordering the ports last in
a Cholesky factorisation ``A = L L^T`` makes the trailing ``(rows + cols)`` square block of
``L`` that complement's Cholesky factor, so ``Z = L_PP^-T L_PP^-1``: one factorisation and a
dense inverse of order ``rows + cols``, no solve per input or per row. The rest of the nodes
are ordered by geometric nested dissection (:mod:`cimspice.engines.dissection`), which keeps
the factor near ``2 n log2 n`` non-zeros for ``n`` unknowns (measured: 4.3e6 at 256x256,
19e6 at 512x512, 84e6 at 1024x1024), so memory grows like the cell count times a logarithm.
The factorisation is CHOLMOD's supernodal Cholesky (SuiteSparse, through scikit-sparse: the
``large`` extra).

Accuracy: every step is a backward-stable Cholesky factorisation or triangular inversion of
a symmetric positive definite matrix; against the sparse LU the currents agree to ~1e-12 of
full scale at 64x64 to 512x512 (tests/test_port_reduction.py). The same rounding estimate as
the nodal solve's refuses a network beyond double precision
(:func:`~cimspice.engines.conditioning.check_conditioning`). The driver currents (and so the
power) are ``g_f (v - x)``, ``x`` the word port's potential: where the driver link conducts far
more than the row's cells together the difference loses digits, about ``eps g_f / sum_j G_ij``
of full scale (2 ohm links beside 1024 cells of 1-100 uS: ~1e-14; 1 mohm beside 17 cells:
~3e-10, where the LU, which sums the cells' currents, keeps ~1e-16); the sense coupling ``K``
likewise, with ``g_l`` and a column's cells.
"""

from __future__ import annotations

import importlib.util
import math
import time
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from cimspice.engines.conditioning import check_conditioning, wires_text
from cimspice.engines.dissection import dissection_order
from cimspice.errors import EngineUnavailableError, IllConditionedError, MemoryLimitError
from cimspice.memory import check_fits, format_bytes
from cimspice.threads import solver_blas_threads
from cimspice.topology import PassiveTopology

__all__ = [
    "AUTO_CELLS",
    "EXTRA",
    "PortReduction",
    "has_resistive_ports",
    "load_cholmod",
    "port_reduction",
    "reduction_bytes",
    "suits",
]

EXTRA = "large"
"""The optional extra that brings the sparse Cholesky factorisation (scikit-sparse)."""
AUTO_CELLS = 128 * 128
"""Cells from which the reduction is the faster exact linear solve, where it applies
(:func:`suits`): 0.15 s against the admittance cascade's 0.28 s and the sparse LU's ~0.5 s at
128x128, 0.06 against 0.05 s at 64x64 (benchmarks/bench_large_tiles.py)."""


def load_cholmod() -> ModuleType:
    """``sksparse.cholmod``, CHOLMOD's Python binding.

    Raises:
        EngineUnavailableError: scikit-sparse is not installed, naming the extra.
    """
    try:
        from sksparse import cholmod
    except ImportError as err:
        raise EngineUnavailableError(
            "the port-reduction solver of large tiles needs scikit-sparse (CHOLMOD), the "
            f"{EXTRA!r} extra: pip install 'cimspice[{EXTRA}]' (it builds against SuiteSparse: "
            f"apt-get install libsuitesparse-dev first); import failed: {err}"
        ) from None
    return cholmod


def has_resistive_ports(topology: PassiveTopology) -> bool:
    """Whether ``topology`` has the ports this reduction needs: resistive word and bit
    lines (``r_row``, ``r_col`` > 0; the end links then are too)."""
    return min(topology.r_first, topology.r_row, topology.r_col, topology.r_last) > 0


def suits(topology: PassiveTopology) -> bool:
    """Whether the reduction is the exact linear solve to take for ``topology`` (the linear
    network of its cells): at least :data:`AUTO_CELLS` cells, resistive wires
    (:func:`has_resistive_ports`), scikit-sparse installed."""
    return (
        topology.rows * topology.cols >= AUTO_CELLS
        and has_resistive_ports(topology)
        and importlib.util.find_spec("sksparse") is not None
    )


def reduction_bytes(rows: int, cols: int) -> float:
    """Bytes a reduction of a ``rows x cols`` tile needs at its peak, about: the network's
    arrays (~600 bytes per cell), the factor (~2 n log2 n non-zeros for ``n = 2 rows cols``
    unknowns at ~16 bytes each, held twice while its trailing block is read out) and the dense
    port matrices. Measured peaks: 0.69 GiB at 512x512, 2.7 GiB at 1024x1024."""
    cells = float(rows) * float(cols)
    unknowns = max(2.0 * cells, 2.0)
    ports = float(rows + cols)
    return 600.0 * cells + 32.0 * 2.0 * unknowns * math.log2(unknowns) + 48.0 * ports**2


@dataclass(frozen=True)
class PortReduction:
    """A linear passive tile reduced to its ports (see the module).

    Attributes:
        transfer: siemens, ``(rows, cols)``: ``currents = inputs @ transfer``.
        driver: siemens, ``(rows, rows)``: ``driver currents = inputs @ driver``.
        coupling: siemens, ``(cols, cols)``: the sense nodes' coupling ``K``.
        rounding_error: the solve's rounding estimate, fraction of full scale.
        factor_nonzeros: non-zeros of the Cholesky factor.
        seconds: wall time of the reduction.
    """

    transfer: np.ndarray
    driver: np.ndarray
    coupling: np.ndarray
    rounding_error: float
    factor_nonzeros: int
    seconds: float


def port_reduction(topology: PassiveTopology, conductances: np.ndarray) -> PortReduction:
    """Reduce the tile of ``topology`` with cells ``conductances`` (S, ``(rows, cols)``,
    >= 0) to its ports (see the module).

    Raises:
        EngineUnavailableError: scikit-sparse missing (the ``large`` extra), or wires of
            zero resistance (no ports: use the sparse LU or the cascade).
        MemoryLimitError: the factor would not fit in the memory available.
        IllConditionedError: the network is beyond double precision.
    """
    start = time.perf_counter()
    cholmod = load_cholmod()
    if not has_resistive_ports(topology):
        raise EngineUnavailableError(
            f"the port-reduction solver needs resistive word and bit lines; this tile has "
            f"{wires_text(topology)}: use the sparse LU (solver='lu')"
        )
    g = np.asarray(conductances, dtype=float)
    rows, cols = topology.rows, topology.cols
    check_fits(
        reduction_bytes(rows, cols), f"the port reduction of a {rows}x{cols} tile (its factor)"
    )
    word, bit, n_nodes = topology.node_indices()
    n_known = rows + 1
    ports = np.concatenate([word[:, 0], bit[-1, :]]) - n_known
    order = dissection_order(word, bit, n_known, ports)
    matrix = _ordered_matrix(topology, g, word, bit, n_nodes, order=order)
    del order
    n = matrix.shape[0]
    k = ports.size
    # CHOLMOD's BLAS (the system's, loaded with scikit-sparse above) under the solvers' thread
    # policy; inf and NaN are refused below
    with solver_blas_threads(), np.errstate(all="ignore"):
        factor = cholmod.analyze(matrix, mode="supernodal", ordering_method="natural")
        try:
            factor.cholesky_inplace(matrix)
        except cholmod.CholmodNotPositiveDefiniteError as err:
            _refuse(topology, g, f"the factorisation failed ({err})")
        except cholmod.CholmodOutOfMemoryError:
            raise MemoryLimitError(
                f"the port reduction of a {rows}x{cols} tile ran out of memory in CHOLMOD "
                f"(estimated {format_bytes(reduction_bytes(rows, cols))})"
            ) from None
        if not np.array_equal(factor.P()[n - k :], np.arange(n - k, n)):
            raise AssertionError("CHOLMOD moved the ports from the end of the order")
        del matrix
        lower = factor.L()
        nonzeros = int(lower.nnz)
        del factor
        block = lower[:, n - k :][n - k :, :].toarray()
        del lower
        inverse, info = lapack.dpotri(block, lower=1, overwrite_c=1)
    if info != 0 or not np.all(np.isfinite(inverse)):
        _refuse(topology, g, f"the ports' inversion failed (LAPACK info {info})")
    z = np.tril(inverse)
    z += np.tril(inverse, -1).T
    g_f, g_l = 1.0 / topology.r_first, 1.0 / topology.r_last
    transfer = np.ascontiguousarray(z[:rows, rows:]) * (g_f * g_l)
    driver = z[:rows, :rows] * -(g_f * g_f)
    driver[np.diag_indices(rows)] += g_f
    coupling = z[rows:, rows:] * (g_l * g_l)
    coupling[np.diag_indices(cols)] -= g_l
    error = check_conditioning(
        g, transfer.sum(axis=0), wires_text(topology), "the port-reduction solve"
    )
    return PortReduction(
        transfer,
        driver,
        np.ascontiguousarray(coupling),
        error,
        nonzeros,
        time.perf_counter() - start,
    )


def _ordered_matrix(
    topology: PassiveTopology,
    g: np.ndarray,
    word: np.ndarray,
    bit: np.ndarray,
    n_nodes: int,
    *,
    order: np.ndarray,
) -> sp.csc_matrix:
    """The conductance matrix of the unknown nodes, rows and columns in ``order``, lower
    triangle only (CHOLMOD reads one triangle of a symmetric matrix)."""
    n_known = topology.rows + 1
    n = n_nodes - n_known
    # 32-bit indices, what CHOLMOD takes (scikit-sparse would convert 64-bit ones): half the
    # memory traffic of this assembly
    position = np.empty(n_nodes, dtype=np.int32)
    position[:n_known] = -1  # known potentials: not in the matrix
    position[n_known + order] = np.arange(n, dtype=np.int32)
    wa, wb, wg = topology.wire_links()
    a = position[np.concatenate([wa, word.ravel()])]
    b = position[np.concatenate([wb, bit.ravel()])]
    c = np.concatenate([wg, g.ravel()])
    del wa, wb, wg
    diagonal = np.bincount(a[a >= 0], weights=c[a >= 0], minlength=n)
    diagonal += np.bincount(b[b >= 0], weights=c[b >= 0], minlength=n)
    off = (a >= 0) & (b >= 0) & (c > 0)
    a, b, c = a[off], b[off], c[off]
    low, high = np.minimum(a, b), np.maximum(a, b)
    everything = np.arange(n, dtype=np.int32)
    return sp.csc_matrix(
        (
            np.concatenate([diagonal, -c]),
            (np.concatenate([everything, high]), np.concatenate([everything, low])),
        ),
        shape=(n, n),
    )


def _refuse(topology: PassiveTopology, g: np.ndarray, how: str) -> None:
    raise IllConditionedError(
        f"the crossbar network cannot be solved in double precision, its results cannot be "
        f"trusted (the port reduction: {how}): cells up to {float(np.max(g)):.3g} S beside "
        f"{wires_text(topology)} differ by more than double precision spans"
    )
