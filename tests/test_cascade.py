"""The admittance cascade: a linear crossbar's transfer and sense-coupling matrices."""

import numpy as np
import pytest
from conftest import make_spec

from cimspice.engines.cascade import coupling_matrix, transfer_and_coupling
from cimspice.engines.cell_laws import LinearLaw
from cimspice.engines.line_newton import solve_cell_voltages
from cimspice.engines.nodal import NodalSolver
from cimspice.engines.wire_drops import WireDrops
from cimspice.topology import PassiveTopology

WIRES = {  # (r_first, r_row, r_col, r_last), ohm
    "plain": (2.0, 2.0, 2.0, 2.0),
    "ends": (20.5, 0.5, 3.0, 10.0),
    "no word-line wire": (0.0, 0.0, 2.0, 2.0),
    "no bit-line wire": (2.0, 2.0, 0.0, 4.0),
    "driver on the first cell": (0.0, 1.5, 1.0, 3.0),
    "sense on the last cell": (1.0, 1.0, 2.5, 0.0),
}
SHAPES = [(24, 17), (17, 24), (1, 6), (6, 1)]


def conductances(rows, cols, seed=0):
    g = np.random.default_rng(seed).uniform(1e-6, 1e-4, (rows, cols))
    g[0, 0] = 0.0  # a cell at 0 S (the secants of an undriven cell) needs no special case
    return g


@pytest.mark.parametrize("wires", WIRES)
@pytest.mark.parametrize("shape", SHAPES)
def test_transfer_matrix_is_the_nodal_solves(wires, shape):
    topology = PassiveTopology(*shape, *WIRES[wires])
    g = conductances(*shape)
    transfer, _ = transfer_and_coupling(topology, g)
    reference = NodalSolver(make_spec(*shape), g, topology=topology).transfer_matrix()
    # two exact solves of one linear network in different orders: round-off (measured
    # <= 2e-14 of the largest entry at these sizes, 5e-13 at 128x128)
    assert np.max(np.abs(transfer - reference)) <= 1e-12 * np.max(np.abs(reference))


@pytest.mark.parametrize("wires", WIRES)
def test_coupling_is_the_sense_nodes_response(wires):
    topology = PassiveTopology(12, 9, *WIRES[wires])
    g = conductances(12, 9, seed=1)
    coupling = coupling_matrix(topology, g)
    # the definition: every driver at 0 V, one sense node at 1 V, the currents into all of
    # them (the exact line solve of the same network, to its 1e-12 V steps)
    unit = np.eye(9)
    solution = solve_cell_voltages(
        LinearLaw(g[:, :, None]),
        WireDrops.from_topology(topology),
        np.zeros((9, 12)),
        9,
        sense=unit,
        tol=1e-14,
    )
    reference = solution.currents.sum(axis=0).T
    assert np.max(np.abs(coupling - reference)) <= 1e-12 * np.max(np.abs(reference))
    np.testing.assert_allclose(coupling, coupling.T, rtol=0, atol=1e-15 * np.abs(coupling).max())
    assert np.all(np.diag(coupling) < 0)  # a raised sense node pushes current back
    # the same matrix as the one transfer_and_coupling returns beside T
    np.testing.assert_array_equal(transfer_and_coupling(topology, g)[1], coupling)


def test_without_wires_the_transfer_is_the_conductances():
    topology = PassiveTopology(7, 5, 0.0, 0.0, 0.0, 0.0)
    g = conductances(7, 5, seed=2)
    transfer, coupling = transfer_and_coupling(topology, g)
    np.testing.assert_allclose(transfer, g, rtol=1e-14, atol=0)
    # a sense node at 1 V takes the whole column's conductance back, nothing else
    np.testing.assert_allclose(coupling, -np.diag(g.sum(axis=0)), rtol=1e-14, atol=1e-20)
