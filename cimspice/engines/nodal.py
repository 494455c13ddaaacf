"""The ``nodal`` engine: exact nodal analysis of the resistive crossbar with scipy.sparse.

The network (see :mod:`cimspice.topology`) is a graph of conductances between nodes whose
potentials are either known (drivers, the virtual ground) or unknown. With ``L`` its
Laplacian split into unknown (``u``) and known (``k``) parts, the unknowns solve
``L_uu x = -L_uk v_k``. ``L_uu`` is factored once per conductance matrix (sparse LU) and the
factor serves every input vector; since the map from inputs to outputs is linear, it is also
available as a dense ``(rows, cols)`` transfer matrix (:meth:`NodalSolver.transfer_matrix`).

Nonlinear two-terminal cells (``iv = "sinh"``, and 1S1R cells: a memristor in series with a
selector) are solved by Newton's method on the cell voltages, all input vectors at once, with
the wires as an exact linear operator (:mod:`cimspice.engines.line_newton`); iteration stops
when no cell voltage moves by more than ``NEWTON_TOL_V``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from cimspice.arrays import check_conductances, check_inputs
from cimspice.engines.base import EngineBase
from cimspice.engines.cell_laws import CellLaw, cell_law
from cimspice.engines.line_newton import NEWTON_TOL_V, solve_cell_voltages
from cimspice.engines.wire_drops import WireDrops
from cimspice.errors import EngineUnavailableError, InputError
from cimspice.result import Result
from cimspice.spec import CrossbarSpec
from cimspice.topology import PassiveTopology

__all__ = ["NEWTON_TOL_V", "NodalEngine", "NodalSolver", "NodalTile"]


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
        if spec.has_transistors and topology is None:
            raise EngineUnavailableError(
                f"the nodal engine solves two-terminal networks only; {spec.array.cell.value} "
                "cells hold transistors: use the ngspice engine (or a calibrated surrogate)"
            )
        self.spec = spec
        self.conductances = check_conductances(conductances, spec.rows, spec.cols)
        topo = PassiveTopology.from_spec(spec) if topology is None else topology
        word, bit, n_nodes = topo.node_indices()
        self._word = word
        self._bit = bit
        n_known = spec.rows + 1  # drivers 0..rows-1, then the 0 V sense potential
        self._n_known = n_known
        self._n_unknown = n_nodes - n_known
        self._linear = spec.is_linear and spec.array.cell.value != "1S1R"
        self._drops = WireDrops.from_topology(topo)
        self.newton_iterations = 0
        if self._linear:  # nonlinear cells are solved on the wire operator: no matrix at all
            self._factor(topo, word, bit, n_nodes)
        self.factor_s = time.perf_counter() - start

    def _factor(
        self, topo: PassiveTopology, word: np.ndarray, bit: np.ndarray, n_nodes: int
    ) -> None:
        """Factor the linear network (sparse LU) and map node potentials to currents."""
        rows, cols = self.spec.rows, self.spec.cols
        n_known = self._n_known
        wa, wb, wg = topo.wire_links()
        g = self.conductances
        a = np.concatenate([wa, word.ravel()])
        b = np.concatenate([wb, bit.ravel()])
        c = np.concatenate([wg, g.ravel()])
        keep = (c > 0) & (a != b)
        a, b, c = a[keep], b[keep], c[keep]
        laplacian = _laplacian(a, b, c, n_nodes)
        if self._n_unknown > 0:
            l_uu = laplacian[n_known:, n_known:].tocsc()
            self._l_uk = laplacian[n_known:, :n_known].tocsr()
            self._lu = spla.splu(l_uu)  # the linear (small-signal) network
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

    @property
    def is_linear(self) -> bool:
        """Whether the network is linear (one factorisation serves every input)."""
        return self._linear

    @property
    def n_unknowns(self) -> int:
        """Number of unknown node potentials in the factored system."""
        return self._n_unknown

    def node_potentials(self, inputs: np.ndarray) -> np.ndarray:
        """Volt, ``(batch, n_nodes)``: the potential of every node id for each input vector."""
        v = check_inputs(inputs, self.spec.rows)
        if not self._linear:
            raise TypeError("node_potentials() holds for linear cells only; use solve()")
        known = np.concatenate([v, np.zeros((v.shape[0], 1))], axis=1)
        if self._n_unknown == 0:
            return known
        rhs = -(self._l_uk @ known.T)
        x = self._lu.solve(np.asfortranarray(rhs))
        return np.concatenate([known, x.T], axis=1)

    def solve(self, inputs: np.ndarray, *, node_voltages: bool = False) -> Result:
        """Currents, power and (optionally) node voltages for a batch of inputs."""
        start = time.perf_counter()
        v = check_inputs(inputs, self.spec.rows)
        if self._linear:
            pot = self.node_potentials(v)
            currents = np.asarray(self._out_map @ pot.T).T
            driver_currents = np.asarray(self._drv_map @ pot.T).T
            v_word = pot[:, self._word] if node_voltages else None
            v_bit = pot[:, self._bit] if node_voltages else None
        else:
            solution = solve_cell_voltages(self.cell_law(), self._drops, v, self.spec.cols)
            self.newton_iterations = solution.newton_iterations
            cell_i = solution.currents  # (rows, cols, batch)
            currents = cell_i.sum(axis=0).T
            driver_currents = cell_i.sum(axis=1).T
            v_word = v_bit = None
            if node_voltages:
                v_word = np.moveaxis(v.T[:, None, :] - self._drops.word(cell_i), 2, 0)
                v_bit = np.moveaxis(self._drops.bit(cell_i), 2, 0)
        power = np.einsum("bi,bi->b", v, driver_currents)
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
                f"a tile of {self.spec.array.cell.value} cells with {self.spec.device.iv.value!r} "
                "memristors is nonlinear: it has no "
                "transfer matrix"
            )
        return self.solve(np.eye(self.spec.rows)).currents

    def cell_law(self) -> CellLaw:
        """The I-V law of every cell, shaped to broadcast against ``(rows, cols, batch)``."""
        device = self.spec.device
        selector = None
        if self.spec.array.cell.value == "1S1R":
            selector = (self.spec.selector.i_s, self.spec.selector.v_s)
        return cell_law(
            self.conductances[:, :, None], iv=device.iv.value, v0=device.v0, selector=selector
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


@dataclass
class NodalTile:
    """A :class:`NodalSolver` as a :class:`~cimspice.engines.base.ProgrammedTile`: factored
    once (linear cells), every batch one solve; the transfer matrix is built on first use."""

    solver: NodalSolver
    prepare_s: float
    _transfer: np.ndarray | None = field(default=None, repr=False)

    @property
    def spec(self) -> CrossbarSpec:
        """The tile's spec."""
        return self.solver.spec

    @property
    def conductances(self) -> np.ndarray:
        """Siemens, ``(rows, cols)``."""
        return self.solver.conductances

    @property
    def transfer(self) -> np.ndarray | None:
        """The exact transfer matrix of a linear tile (``rows`` solves, once); ``None`` for
        nonlinear cells."""
        if not self.solver.is_linear:
            return None
        if self._transfer is None:
            self._transfer = self.solver.transfer_matrix()
        return self._transfer

    def run(self, voltages: np.ndarray, *, node_voltages: bool = False) -> Result:
        """Solve every vector of ``voltages`` (V, the levels applied)."""
        return self.solver.solve(voltages, node_voltages=node_voltages)


class NodalEngine(EngineBase):
    """Exact nodal analysis (factor once per conductance matrix, solve every vector)."""

    name = "nodal"

    def program(self, spec: CrossbarSpec, conductances: np.ndarray) -> NodalTile:
        """Factor the network of ``spec`` with ``conductances`` (S)."""
        start = time.perf_counter()
        solver = NodalSolver(spec, self.checked(spec, conductances))
        return NodalTile(solver, time.perf_counter() - start)
