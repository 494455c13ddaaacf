"""The ``nodal`` engine: exact nodal analysis of the resistive crossbar with scipy.sparse.

The network (see :mod:`cimspice.topology`) is a graph of conductances between nodes whose
potentials are either known (drivers, the virtual ground) or unknown. With ``L`` its
Laplacian split into unknown (``u``) and known (``k``) parts, the unknowns solve
``L_uu x = -L_uk v_k``. ``L_uu`` is factored once per conductance matrix (sparse LU) and the
factor serves every input vector; since the map from inputs to outputs is linear, it is also
available as a dense ``(rows, cols)`` transfer matrix (:meth:`NodalSolver.transfer_matrix`).

Large linear tiles: ``solver="ports"`` (and ``"auto"``, the engine's default, from
:data:`PORTS_AUTO_CELLS` cells on when the ``large`` extra is installed) reduces the network to
its ``rows + cols`` ports by a nested-dissection sparse Cholesky factorisation
(:mod:`cimspice.engines.port_reduction`): memory near ``n log n`` instead of the LU's fill-in
(a 1024x1024 tile in ~2.7 GB where the LU outgrew 11 GB), the exact transfer matrix at once,
every batch one matmul. It returns currents and power, not the inner node voltages (those
need the LU: ``"auto"`` builds it when they are asked for).

Nonlinear two-terminal cells (``iv = "sinh"``, and 1S1R cells: a memristor in series with a
selector) are solved by Newton's method on the cell voltages, all input vectors at once, with
the wires as an exact linear operator (:mod:`cimspice.engines.line_newton`); iteration stops
when no cell voltage moves by more than ``NEWTON_TOL_V``.

How far the linear solve can be trusted. Output currents are sums of cell currents
``G (v_word - v_bit)``; the potentials carry rounding errors of about ``eps max|v|`` (``eps``
the float64 epsilon; the LU of these networks is backward stable), so a column's current can
be off by about ``eps max|v| sum_i G_ij``, while its full scale is ``max|v| sum_i T_ij`` (``T``
the transfer matrix: the current with every input at 1 V). Their ratio, ``eps kappa`` with
``kappa = max_j sum_i G_ij / sum_i T_ij`` (how many times more conductance the cells offer than
the wires let through), is the solve's error as a fraction of full scale; it needs one extra
solve when the network is factored. Against exact rational arithmetic on 4x4 and 8x8 tiles with
2 ohm segments and cells from 1 to 1e7 S, the measured error was 0.02 to 0.2 times this
figure; at ordinary conductances both sit at float64's floor (a few 1e-16 to 2e-15 of full
scale, the sums' own rounding). Above :data:`TRUST_TOL` the solver refuses
(:class:`IllConditionedError`): an 8x8 tile with 2 ohm segments reaches it near 1e8 S per cell
(1e12 S: ~1e-2 of full scale; 1e15 S: currents of the wrong sign). Nothing that small comes
from wires themselves: a tiny wire resistance makes the potentials, not the cell currents,
sensitive, and they stay accurate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from cimspice.arguments import flag
from cimspice.arrays import check_conductances, check_inputs
from cimspice.engines.base import EngineBase
from cimspice.engines.cell_laws import CellLaw, cell_law
from cimspice.engines.conditioning import TRUST_TOL, check_conditioning, wires_text
from cimspice.engines.line_newton import NEWTON_TOL_V, solve_cell_voltages
from cimspice.engines.port_reduction import AUTO_CELLS as PORTS_AUTO_CELLS
from cimspice.engines.port_reduction import PortReduction, port_reduction, suits
from cimspice.engines.wire_drops import WireDrops
from cimspice.errors import EngineUnavailableError, IllConditionedError, InputError
from cimspice.memory import check_fits, chunk_size
from cimspice.result import Result
from cimspice.spec import CrossbarSpec, as_spec
from cimspice.threads import solver_blas_threads
from cimspice.topology import PassiveTopology

__all__ = [
    "NEWTON_BYTES_PER_CELL",
    "NEWTON_TOL_V",
    "PORTS_AUTO_CELLS",
    "SOLVERS",
    "TRUST_TOL",
    "NodalEngine",
    "NodalOptions",
    "NodalSolver",
    "NodalTile",
    "check_conditioning",
    "factor_bytes",
    "tile_work_bytes",
    "wires_text",
]

NEWTON_BYTES_PER_CELL = 128
"""Bytes of Newton's work arrays per cell and input vector (nine double- and nine
single-precision ``(rows, cols, batch)`` arrays, with room to spare)."""
SOLVERS = ("auto", "lu", "ports")
"""The linear solvers: ``lu`` (SuperLU of every node), ``ports`` (the nested-dissection
Cholesky reduction to the ports, the ``large`` extra), ``auto`` (``ports`` from
:data:`PORTS_AUTO_CELLS` cells on where it applies and is installed, ``lu`` otherwise)."""


class NodalSolver:
    """One crossbar with one conductance matrix, factored and ready to solve input batches.

    Args:
        spec: the array spec (passive cells).
        conductances: siemens, ``(rows, cols)``.
        topology: the network's link resistances, if not the spec's own (the surrogate
            solves networks with fitted resistances).
        solver: the linear solver, one of :data:`SOLVERS` (nonlinear cells are solved by
            Newton's method whatever it says).

    Raises:
        InputError: an unknown solver, or ``"ports"`` for nonlinear cells.
        EngineUnavailableError: ``"ports"`` without the ``large`` extra or without
            resistive wires.
    """

    def __init__(
        self,
        spec: CrossbarSpec,
        conductances: np.ndarray,
        *,
        topology: PassiveTopology | None = None,
        solver: str = "lu",
    ):
        start = time.perf_counter()
        spec = as_spec(spec)
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
        linear = spec.is_linear and spec.array.cell.value != "1S1R"
        topo = PassiveTopology.from_spec(spec) if topology is None else topology
        self.solver = _pick_solver(solver, linear, topo)
        self._chosen = solver == "auto"  # whether the solver was picked here, not asked for
        self._topology = topology
        self._full: NodalSolver | None = None
        if self.solver == "lu":
            check_fits(
                factor_bytes(spec.rows, spec.cols, linear=linear),
                f"the nodal network of a {spec.rows}x{spec.cols} tile"
                + (
                    " and its sparse LU factor (solver='ports', the large extra, needs far less)"
                    if linear
                    else ""
                ),
            )
        word, bit, n_nodes = topo.node_indices()
        self._word = word
        self._bit = bit
        n_known = spec.rows + 1  # drivers 0..rows-1, then the 0 V sense potential
        self._n_known = n_known
        self._n_unknown = n_nodes - n_known
        self._linear = linear
        self._drops = WireDrops.from_topology(topo)
        self._wires_text = wires_text(topo)
        self.newton_iterations = 0
        self.rounding_error = 0.0
        self._ports: PortReduction | None = None
        if self.solver == "ports":  # under the thread policy of its own (see port_reduction)
            self._ports = port_reduction(topo, self.conductances)
            self.rounding_error = self._ports.rounding_error
        elif self._linear:  # nonlinear cells are solved on the wire operator: no matrix at all
            with solver_blas_threads():
                self._factor(topo, word, bit, n_nodes)
                self.rounding_error = self._check_conditioning()
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
            try:
                self._lu = spla.splu(l_uu)  # the linear (small-signal) network
            except RuntimeError as err:  # SuperLU: "Factor is exactly singular"
                raise IllConditionedError(
                    f"the nodal network cannot be solved ({err}): cells up to "
                    f"{float(g.max()):.3g} S beside {self._wires_text} differ by more than "
                    "double precision spans"
                ) from None
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

    def _check_conditioning(self) -> float:
        """The linear solve's rounding error as a fraction of full scale (see the module).

        Raises:
            IllConditionedError: it exceeds :data:`TRUST_TOL`.
        """
        if not (self.conductances.sum(axis=0) > 0).any():
            return 0.0
        pot = self.node_potentials(np.ones((1, self.spec.rows)))
        full_scale = np.asarray(self._out_map @ pot.T).ravel()  # S: the currents at 1 V
        return check_conditioning(self.conductances, full_scale, self._wires_text)

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
            raise InputError("node_potentials() holds for linear cells only; use solve()")
        if self._ports is not None:
            return self._full_solver().node_potentials(v)
        known = np.concatenate([v, np.zeros((v.shape[0], 1))], axis=1)
        if self._n_unknown == 0:
            return known
        rhs = -(self._l_uk @ known.T)
        with solver_blas_threads():
            x = self._lu.solve(np.asfortranarray(rhs))
        return np.concatenate([known, x.T], axis=1)

    def _full_solver(self) -> NodalSolver:
        """The sparse LU of every node, for node voltages the port reduction does not keep:
        built on first use where ``solver="auto"`` chose the reduction (with all its memory:
        see :func:`factor_bytes`).

        Raises:
            InputError: ``solver="ports"`` was asked for explicitly.
        """
        if not self._chosen:
            raise InputError(
                "the port reduction (solver='ports') keeps no node potentials or node "
                "voltages: use solver='lu' or 'auto' (or leave node_voltages off)"
            )
        if self._full is None:
            self._full = NodalSolver(
                self.spec, self.conductances, topology=self._topology, solver="lu"
            )
        return self._full

    def _chunk(self, batch: int) -> int:
        """Input vectors solved at once: as many as fit the working memory
        (:func:`cimspice.memory.chunk_size`)."""
        rows, cols = self.spec.rows, self.spec.cols
        if self._linear:  # right-hand sides, solutions and potentials of every node
            per_vector = 8.0 * (4 * (self._n_unknown + self._n_known) + rows + cols)
        else:  # Newton's (rows, cols) work arrays, double and single precision
            per_vector = float(NEWTON_BYTES_PER_CELL * rows * cols)
        return chunk_size(per_vector, batch, f"the nodal solve of a {rows}x{cols} tile")

    def _solve_part(
        self, v: np.ndarray, node_voltages: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``(currents, driver currents, v_word, v_bit)`` of one chunk of input vectors."""
        if self._ports is not None:
            return v @ self._ports.transfer, v @ self._ports.driver, None, None
        if self._linear:
            pot = self.node_potentials(v)
            currents = np.asarray(self._out_map @ pot.T).T
            driver_currents = np.asarray(self._drv_map @ pot.T).T
            v_word = pot[:, self._word] if node_voltages else None
            v_bit = pot[:, self._bit] if node_voltages else None
            return currents, driver_currents, v_word, v_bit
        solution = solve_cell_voltages(self.cell_law(), self._drops, v, self.spec.cols)
        self.newton_iterations = max(self.newton_iterations, solution.newton_iterations)
        cell_i = solution.currents  # (rows, cols, batch)
        v_word = v_bit = None
        if node_voltages:
            v_word = np.moveaxis(v.T[:, None, :] - self._drops.word(cell_i), 2, 0)
            v_bit = np.moveaxis(self._drops.bit(cell_i), 2, 0)
        return cell_i.sum(axis=0).T, cell_i.sum(axis=1).T, v_word, v_bit

    def solve(self, inputs: np.ndarray, *, node_voltages: bool = False) -> Result:
        """Currents, power and (optionally) node voltages for a batch of inputs.

        A batch larger than the working memory allows is solved in chunks (the same answer).
        BLAS runs with :func:`~cimspice.threads.solver_threads` threads meanwhile.

        Raises:
            MemoryLimitError: the node voltages asked for, or one vector's solve, would not
                fit in the memory available.
            InputError: invalid inputs, or ``node_voltages`` not a bool.
        """
        node_voltages = flag(node_voltages, "node_voltages")
        with solver_blas_threads():
            return self._solve(inputs, node_voltages)

    def _solve(self, inputs: np.ndarray, node_voltages: bool) -> Result:
        start = time.perf_counter()
        v = check_inputs(inputs, self.spec.rows)
        batch, rows, cols = v.shape[0], self.spec.rows, self.spec.cols
        if node_voltages and self._ports is not None:
            return self._full_solver().solve(v, node_voltages=True)
        if node_voltages:
            check_fits(
                3 * 8 * batch * rows * cols,
                f"node voltages of {batch} input vector(s) on a {rows}x{cols} tile",
            )
        chunk = self._chunk(batch)
        self.newton_iterations = 0
        parts = [self._solve_part(v[k : k + chunk], node_voltages) for k in range(0, batch, chunk)]
        if len(parts) == 1:
            currents, driver_currents, v_word, v_bit = parts[0]
        else:
            currents, driver_currents = (np.concatenate([p[n] for p in parts]) for n in (0, 1))
            v_word = np.concatenate([p[2] for p in parts]) if node_voltages else None
            v_bit = np.concatenate([p[3] for p in parts]) if node_voltages else None
        power = np.einsum("bi,bi->b", v, driver_currents)
        return Result(
            engine="nodal",
            currents=currents,
            power=power,
            v_word=v_word,
            v_bit=v_bit,
            power_drivers=power,
            power_readout=np.zeros_like(power),
            elapsed_s=time.perf_counter() - start,
            info={
                "factor_s": self.factor_s,
                "unknowns": self._n_unknown,
                "rounding_error": self.rounding_error,
                "solver": self.solver,
            },
        )

    def transfer_matrix(self) -> np.ndarray:
        """Siemens, ``(rows, cols)``: the matrix ``T`` with ``currents = inputs @ T`` exactly.

        It costs one solve with ``rows`` right-hand sides (in chunks of unit vectors that fit
        the working memory); afterwards each MVM is one dense matmul.
        """
        if not self._linear:
            raise InputError(
                f"a tile of {self.spec.array.cell.value} cells with {self.spec.device.iv.value!r} "
                "memristors is nonlinear: it has no "
                "transfer matrix"
            )
        if self._ports is not None:  # the reduction's own
            return self._ports.transfer.copy()
        rows, cols = self.spec.rows, self.spec.cols
        check_fits(16 * rows * cols, f"the transfer matrix of a {rows}x{cols} tile")
        chunk = self._chunk(rows)
        transfer = np.empty((rows, cols))
        for k in range(0, rows, chunk):
            unit = np.zeros((min(chunk, rows - k), rows))
            unit[np.arange(unit.shape[0]), k + np.arange(unit.shape[0])] = 1.0
            pot = self.node_potentials(unit)
            transfer[k : k + unit.shape[0]] = np.asarray(self._out_map @ pot.T).T
        return transfer

    def cell_law(self) -> CellLaw:
        """The I-V law of every cell, shaped to broadcast against ``(rows, cols, batch)``."""
        device = self.spec.device
        selector = None
        if self.spec.array.cell.value == "1S1R":
            selector = (self.spec.selector.i_s, self.spec.selector.v_s)
        return cell_law(
            self.conductances[:, :, None], iv=device.iv.value, v0=device.v0, selector=selector
        )


def _pick_solver(solver: object, linear: bool, topology: PassiveTopology) -> str:
    """The linear solver ``solver`` (one of :data:`SOLVERS`) resolves to for a tile.

    Raises:
        InputError: not one of :data:`SOLVERS`, or ``"ports"`` for nonlinear cells.
    """
    if not isinstance(solver, str) or solver not in SOLVERS:
        raise InputError(f"unknown nodal solver {solver!r}; solvers: {', '.join(SOLVERS)}")
    if solver == "ports" and not linear:
        raise InputError(
            "solver='ports' reduces linear tiles; nonlinear cells are solved by Newton's "
            "method on the wire operator (use solver='auto' or 'lu')"
        )
    if solver != "auto":
        return solver
    return "ports" if linear and suits(topology) else "lu"


def factor_bytes(rows: int, cols: int, *, linear: bool = True) -> float:
    """Bytes a :class:`NodalSolver` of a ``rows x cols`` tile needs, about: the network's index
    and link arrays (~600 bytes per cell at their peak) and, for linear cells, the sparse LU
    factor. The factor of these grid-like networks holds ~5.5 n^1.25 non-zeros for n unknown
    nodes (measured with SuperLU's COLAMD order: 63e3 for 32x32, 2.4e6 for 128x128, 13e6 for
    256x256, within 10% of that law), at 12 bytes each, twice over for SuperLU's own work."""
    cells = float(rows) * float(cols)
    if not linear:
        return 600.0 * cells
    unknowns = 2.0 * cells
    return 600.0 * cells + 2 * 12 * 5.5 * unknowns**1.25


def tile_work_bytes(spec: CrossbarSpec, matrices: int = 4) -> float:
    """Bytes to simulate one ``spec`` tile at all, about: the larger of its ngspice deck
    (:data:`cimspice.netlist.DECK_BYTES_PER_CELL`) and its nodal solver (:func:`factor_bytes`),
    plus ``matrices`` ``(rows, cols)`` float64 arrays (targets, cases, results)."""
    from cimspice.netlist import DECK_BYTES_PER_CELL

    cells = float(spec.rows) * float(spec.cols)
    solver = factor_bytes(spec.rows, spec.cols, linear=spec.is_linear)
    return max(DECK_BYTES_PER_CELL * cells, solver) + 8.0 * cells * matrices


def _laplacian(a: np.ndarray, b: np.ndarray, c: np.ndarray, n: int) -> sp.csc_matrix:
    """The weighted Laplacian of the links ``a[k] -- b[k]`` with conductances ``c[k]``."""
    return sp.coo_matrix(
        (
            np.concatenate([c, c, -c, -c]),
            (np.concatenate([a, b, a, b]), np.concatenate([a, b, b, a])),
        ),
        shape=(n, n),
    ).tocsc()


@dataclass(frozen=True)
class NodalOptions:
    """Options of the ``nodal`` engine.

    Attributes:
        solver: the linear solver, one of :data:`SOLVERS` (default ``"auto"``).
    """

    solver: str = "auto"

    def __post_init__(self) -> None:
        if not isinstance(self.solver, str) or self.solver not in SOLVERS:
            raise InputError(f"unknown nodal solver {self.solver!r}; solvers: {', '.join(SOLVERS)}")


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
    """Exact nodal analysis (factor once per conductance matrix, solve every vector).

    Options: :class:`NodalOptions` (as an object or as keywords).
    """

    name = "nodal"
    Options = NodalOptions

    def program(self, spec: CrossbarSpec, conductances: np.ndarray) -> NodalTile:
        """Factor the network of ``spec`` with ``conductances`` (S)."""
        start = time.perf_counter()
        solver = NodalSolver(*self.checked(spec, conductances), solver=self.options.solver)
        return NodalTile(solver, time.perf_counter() - start)
