"""The wire operator and the Newton solver behind nonlinear tiles, against independent solves."""

import numpy as np
import pytest

from cimspice.engines.cell_laws import LinearLaw, SinhLaw
from cimspice.engines.line_newton import (
    NEWTON_TOL_V,
    Workspace,
    predicted_error,
    solve_cell_voltages,
)
from cimspice.engines.wire_drops import WireDrops


def dense_wire_drops(drops: WireDrops, currents: np.ndarray) -> np.ndarray:
    """The same map by nodal analysis of the wires alone: each cell draws its current from
    its word-line node and injects it into its bit-line node; drivers are ideal 0 V sources
    behind ``r_first``, the sense node a 0 V ground behind ``r_last``."""
    rows, cols = currents.shape
    word = np.arange(rows * cols).reshape(rows, cols)
    bit = rows * cols + word
    g = np.zeros((2 * rows * cols, 2 * rows * cols))

    def link(a, b, r):
        g[a, a] += 1 / r
        if b is not None:
            g[b, b] += 1 / r
            g[a, b] -= 1 / r
            g[b, a] -= 1 / r

    for i in range(rows):
        link(word[i, 0], None, drops.r_first)
        for j in range(1, cols):
            link(word[i, j - 1], word[i, j], drops.r_row)
    for j in range(cols):
        link(bit[rows - 1, j], None, drops.r_last)
        for i in range(rows - 1):
            link(bit[i, j], bit[i + 1, j], drops.r_col)
    injected = np.concatenate([-currents.ravel(), currents.ravel()])
    potential = np.linalg.solve(g, injected)
    # a word-line node sits below its (0 V) driver by -potential; the bit node above 0 V
    return -potential[word] + potential[bit]


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (6, 2)])
def test_wire_operator_is_the_nodal_solution_of_the_wires(shape):
    drops = WireDrops(r_first=7.0, r_row=2.0, r_col=3.0, r_last=11.0)
    rng = np.random.default_rng(0)
    currents = rng.normal(0, 1e-4, (*shape, 4))
    fast = drops(currents)
    for b in range(currents.shape[2]):
        # Exact linear algebra both ways: agreement to rounding (1e-12 of the ~1e-3 V drops).
        np.testing.assert_allclose(
            fast[:, :, b], dense_wire_drops(drops, currents[:, :, b]), rtol=0, atol=1e-15
        )
    work = np.empty_like(currents)
    into = drops.into(currents, np.empty_like(currents), work)
    np.testing.assert_array_equal(into, fast)  # the in-place form is the same arithmetic


def crossbar(rows, cols, batch, seed, v0=0.15):
    rng = np.random.default_rng(seed)
    law = SinhLaw(rng.uniform(1e-6, 1e-4, (rows, cols, 1)), v0)
    drops = WireDrops(2.0, 2.0, 2.0, 2.0)
    return law, drops, rng.uniform(0.0, 0.3, (batch, rows))


def test_predicted_stop_leaves_less_than_its_tolerance():
    law, drops, v = crossbar(48, 40, 30, seed=1)
    exact = solve_cell_voltages(law, drops, v, 40)
    step_rule = solve_cell_voltages(law, drops, v, 40, tol=1e-6)
    predicted = solve_cell_voltages(law, drops, v, 40, tol=1e-6, predict=True)
    # The prediction's contract: the cell voltages are within tol of the exact solution.
    assert np.max(np.abs(predicted.voltages - exact.voltages)) <= 1e-6
    # and it is worth having: it stops a Newton step earlier than the step rule here.
    assert predicted.newton_iterations < step_rule.newton_iterations


def test_predicted_error_follows_quadratic_convergence():
    # steps 1e-2 then 1e-4: the next is ~1e-4 * (1e-2)^2 = 1e-8, under the CG floor 1e-7
    assert predicted_error(1e-4, 1e-2) == pytest.approx(1e-7)
    assert predicted_error(1e-3, 2e-3) == pytest.approx(2.5e-4)


def test_a_reused_workspace_gives_the_same_solution_for_any_batch():
    law, drops, v = crossbar(16, 12, 9, seed=2)
    work = Workspace()
    for batch in (9, 3, 9):  # shrink, then grow back, in the same memory
        reused = solve_cell_voltages(law, drops, v[:batch], 12, workspace=work)
        fresh = solve_cell_voltages(law, drops, v[:batch], 12)
        np.testing.assert_array_equal(reused.currents, fresh.currents)


def test_linear_cells_converge_to_the_exact_linear_solve():
    rng = np.random.default_rng(3)
    g = rng.uniform(1e-6, 1e-4, (10, 8, 1))
    drops = WireDrops(5.0, 2.0, 2.0, 5.0)
    v = rng.uniform(-0.3, 0.3, (6, 10))
    solution = solve_cell_voltages(LinearLaw(g), drops, v, 8)
    # u = v - A (G u) for every vector: Kirchhoff's laws of the whole network, to the solver's
    # step tolerance (NEWTON_TOL_V; the residual is in volt).
    residual = solution.voltages - v.T[:, None, :] + drops(g * solution.voltages)
    assert np.max(np.abs(residual)) <= 10 * NEWTON_TOL_V
