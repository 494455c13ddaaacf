"""The ``nodal`` engine: exact nodal analysis of the resistive crossbar with scipy.sparse.

The network (see :mod:`cimspice.topology`) is a graph of conductances between nodes whose
potentials are either known (drivers, the virtual ground) or unknown. With ``L`` its
Laplacian split into unknown (``u``) and known (``k``) parts, the unknowns solve
``L_uu x = -L_uk v_k``. ``L_uu`` is factored once per conductance matrix (sparse LU) and the
factor serves every input vector; since the map from inputs to outputs is linear, it is also
available as a dense ``(rows, cols)`` transfer matrix (:meth:`NodalSolver.transfer_matrix`).

Nonlinear two-terminal cells (``iv = "sinh"``) are solved by Newton's method on the same
sparse system, all input vectors at once: each Newton step solves every vector's own Jacobian
by preconditioned conjugate gradients (the Jacobian is a weighted Laplacian, symmetric positive
definite), the preconditioner being one sparse LU of the Jacobian at the batch's mean operating
point, applied in single precision (it only steers the iteration; residuals stay double).
The linear solution is the starting point; iteration stops when no node moves by more than
``NEWTON_TOL_V``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from cimspice.arrays import check_conductances, check_inputs
from cimspice.converters import dac, with_adc
from cimspice.errors import ConvergenceError, EngineUnavailableError, InputError
from cimspice.result import Result
from cimspice.spec import CrossbarSpec
from cimspice.topology import PassiveTopology

__all__ = ["NEWTON_TOL_V", "NodalEngine", "NodalSolver"]

NEWTON_TOL_V = 1e-12
"""Volt: Newton stops when no node potential changes by more than this."""
NEWTON_MAX_ITER = 60
PCG_RTOL = 1e-13
PCG_MAX_ITER = 500


class NodalSolver:
    """One crossbar with one conductance matrix, factored and ready to solve input batches.

    Args:
        spec: the array spec (passive cells).
        conductances: siemens, ``(rows, cols)``.
        topology: the network's link resistances, if not the spec's own (the surrogate
            solves networks with fitted resistances).
    """

    def __init__(
        self,
        spec: CrossbarSpec,
        conductances: np.ndarray,
        *,
        topology: PassiveTopology | None = None,
    ):
        start = time.perf_counter()
        if spec.has_tia and topology is None:
            raise EngineUnavailableError(
                "the nodal engine models the ideal virtual-ground readout only; readout.kind = "
                "'tia' needs the ngspice engine"
            )
        if spec.array.cell.value == "1S1R" and topology is None:
            raise EngineUnavailableError(
                "the nodal engine does not solve 1S1R cells (a selector in series adds an "
                "inner nonlinear node per cell): use the ngspice engine"
            )
        if spec.has_transistors and topology is None:
            raise EngineUnavailableError(
                f"the nodal engine solves two-terminal networks only; {spec.array.cell.value} "
                "cells hold transistors: use the ngspice engine (or a calibrated surrogate)"
            )
        self.spec = spec
        self.conductances = check_conductances(conductances, spec.rows, spec.cols)
        topo = PassiveTopology.from_spec(spec) if topology is None else topology
        word, bit, n_nodes = topo.node_indices()
        rows, cols = spec.rows, spec.cols
        self._word = word
        self._bit = bit
        n_known = rows + 1  # drivers 0..rows-1, then the 0 V sense potential
        self._n_known = n_known
        wa, wb, wg = topo.wire_links()
        g = self.conductances
        a = np.concatenate([wa, word.ravel()])
        b = np.concatenate([wb, bit.ravel()])
        c = np.concatenate([wg, g.ravel()])
        keep = (c > 0) & (a != b)
        a, b, c = a[keep], b[keep], c[keep]
        laplacian = _laplacian(a, b, c, n_nodes)
        self._n_unknown = n_nodes - n_known
        if self._n_unknown > 0:
            l_uu = laplacian[n_known:, n_known:].tocsc()
            self._l_uk = laplacian[n_known:, :n_known].tocsr()
            self._lu = spla.splu(l_uu)  # the linear (small-signal) network
        self._linear = spec.is_linear
        if not self._linear:
            self._prepare_newton(topo, word, bit, n_nodes)
        # Output and driver currents as sparse maps of the full node-potential vector:
        # I_j = sum_i G_ij (v_word - v_bit), I_drv_i = sum_j G_ij (v_word - v_bit).
        gi = np.repeat(np.arange(rows), cols)
        gj = np.tile(np.arange(cols), rows)
        gv = g.ravel()
        self._out_map = sp.coo_matrix(
            (
                np.concatenate([gv, -gv]),
                (np.concatenate([gj, gj]), np.concatenate([word.ravel(), bit.ravel()])),
            ),
            shape=(cols, n_nodes),
        ).tocsr()
        self._drv_map = sp.coo_matrix(
            (
                np.concatenate([gv, -gv]),
                (np.concatenate([gi, gi]), np.concatenate([word.ravel(), bit.ravel()])),
            ),
            shape=(rows, n_nodes),
        ).tocsr()
        self.factor_s = time.perf_counter() - start

    @property
    def n_unknowns(self) -> int:
        """Number of unknown node potentials in the factored system."""
        return self._n_unknown

    def node_potentials(self, inputs: np.ndarray) -> np.ndarray:
        """Volt, ``(batch, n_nodes)``: the potential of every node id for each input vector."""
        v = check_inputs(inputs, self.spec.rows)
        known = np.concatenate([v, np.zeros((v.shape[0], 1))], axis=1)
        if self._n_unknown == 0:
            return known
        rhs = -(self._l_uk @ known.T)
        x = self._lu.solve(np.asfortranarray(rhs))
        if not self._linear:
            x = self._newton(known, x)
        return np.concatenate([known, x.T], axis=1)

    def solve(self, inputs: np.ndarray, *, node_voltages: bool = False) -> Result:
        """Currents, power and (optionally) node voltages for a batch of inputs."""
        start = time.perf_counter()
        v = check_inputs(inputs, self.spec.rows)
        pot = self.node_potentials(v)
        if self._linear:
            currents = np.asarray(self._out_map @ pot.T).T
            driver_currents = np.asarray(self._drv_map @ pot.T).T
        else:
            cell_i = self._cell_current(pot[:, self._cell_a].T - pot[:, self._cell_b].T)
            currents = np.asarray(self._cell_to_col @ cell_i).T
            driver_currents = np.asarray(self._cell_to_row @ cell_i).T
        power = np.einsum("bi,bi->b", v, driver_currents)
        v_word = pot[:, self._word] if node_voltages else None
        v_bit = pot[:, self._bit] if node_voltages else None
        return Result(
            engine="nodal",
            currents=currents,
            power=power,
            v_word=v_word,
            v_bit=v_bit,
            elapsed_s=time.perf_counter() - start,
            info={
                "factor_s": self.factor_s,
                "unknowns": self._n_unknown,
                "power_drivers": power,
                "power_readout": np.zeros_like(power),
            },
        )

    def transfer_matrix(self) -> np.ndarray:
        """Siemens, ``(rows, cols)``: the matrix ``T`` with ``currents = inputs @ T`` exactly.

        It costs one solve with ``rows`` right-hand sides; afterwards each MVM is one dense
        matmul.
        """
        if not self._linear:
            raise InputError(
                f"a tile with {self.spec.device.iv.value!r} cells is nonlinear: it has no "
                "transfer matrix"
            )
        return self.solve(np.eye(self.spec.rows)).currents

    # ----- nonlinear cells: Newton on the sparse system -----

    def _prepare_newton(
        self, topo: PassiveTopology, word: np.ndarray, bit: np.ndarray, n_nodes: int
    ) -> None:
        n_known = self._n_known
        g = self.conductances.ravel()
        rows_i = np.repeat(np.arange(self.spec.rows), self.spec.cols)
        cols_j = np.tile(np.arange(self.spec.cols), self.spec.rows)
        active = (g > 0) & (word.ravel() != bit.ravel())
        self._cell_a = word.ravel()[active]
        self._cell_b = bit.ravel()[active]
        self._cell_g = g[active]
        self._v0 = self.spec.device.v0
        n_cells = int(active.sum())
        k = np.arange(n_cells)
        self._cell_to_col = sp.csr_matrix(
            (np.ones(n_cells), (cols_j[active], k)), shape=(self.spec.cols, n_cells)
        )
        self._cell_to_row = sp.csr_matrix(
            (np.ones(n_cells), (rows_i[active], k)), shape=(self.spec.rows, n_cells)
        )
        incidence = sp.csr_matrix(
            (
                np.concatenate([np.ones(n_cells), -np.ones(n_cells)]),
                (np.concatenate([k, k]), np.concatenate([self._cell_a, self._cell_b])),
            ),
            shape=(n_cells, n_nodes),
        )
        self._inc_u = incidence[:, n_known:].tocsr()
        self._inc_ut = self._inc_u.T.tocsr()
        self._inc_k = incidence[:, :n_known].tocsr()
        wa, wb, wg = topo.wire_links()
        keep = (wg > 0) & (wa != wb)
        wires = _laplacian(wa[keep], wb[keep], wg[keep], n_nodes)
        self._wire_uu = wires[n_known:, n_known:].tocsr()
        self._wire_uk = wires[n_known:, :n_known].tocsr()

    def _cell_current(self, v_cell: np.ndarray) -> np.ndarray:
        """Ampere, ``(n_cells, batch)``: ``G v0 sinh(V / v0)`` for every active cell."""
        return (self._cell_g * self._v0)[:, None] * np.sinh(v_cell / self._v0)

    def _newton(self, known: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Unknown potentials ``(n_u, batch)`` of the nonlinear network, from guess ``x``."""
        fixed = self._inc_k @ known.T  # cell-voltage part from known nodes, (n_cells, batch)
        wire_known = self._wire_uk @ known.T
        g_v0 = self._cell_g[:, None]
        lu = None
        last_step = np.inf
        for iteration in range(NEWTON_MAX_ITER):
            v_cell = self._inc_u @ x + fixed
            s = v_cell / self._v0
            residual = (
                self._wire_uu @ x + wire_known + self._inc_ut @ (g_v0 * self._v0 * np.sinh(s))
            )
            slope = g_v0 * np.cosh(s)  # each cell's conductance at its operating point
            if lu is None or last_step > 1e-3:
                # The preconditioner: the Jacobian at the batch's mean operating point,
                # refactored only while the operating point still moves by millivolts.
                mean_jac = self._wire_uu + self._inc_ut @ sp.diags(slope.mean(axis=1)) @ self._inc_u
                lu32 = spla.splu(mean_jac.tocsc().astype(np.float32))

                def precondition(r: np.ndarray, lu32=lu32) -> np.ndarray:
                    return lu32.solve(np.asfortranarray(r, dtype=np.float32)).astype(np.float64)

                lu = precondition

            def matvec(d: np.ndarray, slope: np.ndarray = slope) -> np.ndarray:
                return self._wire_uu @ d + self._inc_ut @ (slope * (self._inc_u @ d))

            # Inexact Newton: far from the solution a rough step will do.
            rtol = PCG_RTOL if last_step < 1e-4 else 1e-4
            step = _batched_pcg(matvec, lu, -residual, rtol=rtol)
            x = x + step
            last_step = float(np.max(np.abs(step)))
            if last_step <= NEWTON_TOL_V:
                self.newton_iterations = iteration + 1
                return x
        raise ConvergenceError(
            f"nodal Newton did not converge in {NEWTON_MAX_ITER} iterations (last step "
            f"{np.max(np.abs(step)):.3g} V)"
        )


def _laplacian(a: np.ndarray, b: np.ndarray, c: np.ndarray, n: int) -> sp.csc_matrix:
    """The weighted Laplacian of the links ``a[k] -- b[k]`` with conductances ``c[k]``."""
    return sp.coo_matrix(
        (
            np.concatenate([c, c, -c, -c]),
            (np.concatenate([a, b, a, b]), np.concatenate([a, b, b, a])),
        ),
        shape=(n, n),
    ).tocsc()


def _batched_pcg(
    matvec: Callable[[np.ndarray], np.ndarray],
    precondition: Callable[[np.ndarray], np.ndarray],
    rhs: np.ndarray,
    *,
    rtol: float = PCG_RTOL,
) -> np.ndarray:
    """Preconditioned conjugate gradients on every column of ``rhs`` at once.

    ``matvec`` applies each column's own symmetric positive definite operator; the columns
    iterate in lockstep (a converged column's step falls to zero) until every relative
    residual is below ``rtol``.

    Raises:
        ConvergenceError: not converged in ``PCG_MAX_ITER`` iterations.
    """
    x = np.zeros_like(rhs)
    r = rhs.copy()
    norm0 = np.linalg.norm(rhs, axis=0)
    if not norm0.any():
        return x
    norm0[norm0 == 0] = 1.0
    z = precondition(np.asfortranarray(r))
    p = z.copy()
    rz = np.einsum("ij,ij->j", r, z)
    for _ in range(PCG_MAX_ITER):
        ap = matvec(p)
        pap = np.einsum("ij,ij->j", p, ap)
        alpha = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
        x += alpha * p
        r -= alpha * ap
        if np.max(np.linalg.norm(r, axis=0) / norm0) <= rtol:
            return x
        z = precondition(np.asfortranarray(r))
        rz_new = np.einsum("ij,ij->j", r, z)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        p = z + beta * p
        rz = rz_new
    raise ConvergenceError(
        f"nodal linear solve (PCG) did not converge in {PCG_MAX_ITER} iterations"
    )


class NodalEngine:
    """Exact nodal analysis (factor once per conductance matrix, solve every vector)."""

    name = "nodal"

    def run(
        self,
        spec: CrossbarSpec,
        conductances: np.ndarray,
        inputs: np.ndarray,
        *,
        node_voltages: bool = False,
    ) -> Result:
        """Factor the network for ``conductances`` and solve every input vector."""
        start = time.perf_counter()
        solver = NodalSolver(spec, conductances)
        v = dac(spec, check_inputs(inputs, spec.rows))  # the DAC's levels drive the array
        result = solver.solve(v, node_voltages=node_voltages)
        return with_adc(
            spec,
            Result(
                engine=self.name,
                currents=result.currents,
                power=result.power,
                v_word=result.v_word,
                v_bit=result.v_bit,
                elapsed_s=time.perf_counter() - start,
                info=dict(result.info),
            ),
        )
