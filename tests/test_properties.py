"""Physical properties of the exact nodal solve (hypothesis), and nodal's fast paths."""

import itertools

import numpy as np
import pytest
from conftest import make_spec
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cimspice.engines.nodal import NodalSolver
from cimspice.simulation import simulate

sizes = st.integers(min_value=1, max_value=9)
resistance = st.sampled_from([0.0, 0.15, 1.0, 2.0, 3.0, 50.0])


@st.composite
def networks(draw, batch_max=4):
    rows, cols = draw(sizes), draw(sizes)
    batch = draw(st.integers(min_value=1, max_value=batch_max))
    # open cells (0) and conductances from 1 nS to 1 mS
    cell = st.one_of(st.just(0.0), st.floats(1e-9, 1e-3))
    g = draw(arrays(np.float64, (rows, cols), elements=cell))
    v = draw(arrays(np.float64, (batch, rows), elements=st.floats(-0.4, 0.4)))
    wires = {k: draw(resistance) for k in ("r_row", "r_col", "r_source", "r_in")}
    return make_spec(rows, cols, **wires), g, v


@settings(max_examples=80, deadline=None)
@given(networks())
def test_kirchhoff_current_in_equals_current_out(case):
    spec, g, v = case
    r = simulate(spec, g, v, engine="nodal", node_voltages=True)
    cell_currents = g[None] * r.cell_voltages  # (batch, rows, cols)
    driver_currents = cell_currents.sum(axis=2)
    # Every ampere a driver pushes in leaves through a sense node. Tolerance: double
    # round-off of a sum of rows*cols terms relative to the largest current, 1e-12.
    scale = max(np.abs(cell_currents).max(), 1e-30)
    assert np.allclose(
        driver_currents.sum(axis=1), r.currents.sum(axis=1), rtol=0, atol=1e-12 * scale * g.size
    )
    # Output currents are the column sums of the cell currents (bit-line KCL).
    assert np.allclose(r.currents, cell_currents.sum(axis=1), rtol=0, atol=1e-12 * scale * g.size)
    # Power drawn = sum_i V_i * I_drv_i, and it is never negative (a passive network).
    assert np.allclose(
        r.power, np.einsum("bi,bi->b", v, driver_currents), rtol=0, atol=1e-12 * scale * g.size
    )
    assert np.all(r.power >= -1e-12 * scale * g.size)


@settings(max_examples=60, deadline=None)
@given(networks(batch_max=2), st.floats(-3, 3), st.floats(-3, 3))
def test_superposition(case, a, b):
    spec, g, v = case
    v1, v2 = v[:1], v[-1:]
    solver = NodalSolver(spec, g)
    combined = solver.solve(a * v1 + b * v2).currents
    separate = a * solver.solve(v1).currents + b * solver.solve(v2).currents
    # The network is linear: exact up to round-off relative to the largest term (1e-10).
    scale = max(
        np.abs(solver.solve(v1).currents).max(), np.abs(solver.solve(v2).currents).max(), 1e-30
    )
    assert np.allclose(combined, separate, rtol=0, atol=1e-10 * scale * (abs(a) + abs(b) + 1))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 8),
    st.integers(2, 8),
    arrays(np.float64, (8, 8), elements=st.floats(1e-6, 1e-4)),
    arrays(np.float64, (8,), elements=st.floats(0.01, 0.3)),
)
def test_error_vs_ideal_grows_with_wire_resistance(rows, cols, g_big, v_big):
    g, v = g_big[:rows, :cols], v_big[:rows]
    ideal = v @ g
    errors = []
    for r in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0):
        out = simulate(make_spec(rows, cols, r_row=r, r_col=r), g, v, engine="nodal").currents[0]
        errors.append(np.max(np.abs(out - ideal)))
    # With non-negative inputs and conductances more wire resistance only loses more
    # current; errors strictly grow. Zero wires: round-off only (1e-13 of the ideal scale).
    assert errors[0] <= 1e-13 * ideal.max()
    assert all(b > a for a, b in itertools.pairwise(errors))


@settings(max_examples=60, deadline=None)
@given(networks())
def test_non_negative_inputs_give_non_negative_currents(case):
    spec, g, v = case
    v = np.abs(v)
    r = simulate(spec, g, v, engine="nodal")
    # Non-negative sources into a passive resistive network cannot pull current out of a
    # sense node (maximum principle); allow round-off of 1e-12 of the largest current.
    assert np.all(r.currents >= -1e-12 * max(np.abs(r.currents).max(), 1e-30))


@pytest.mark.parametrize("wires", [dict(), dict(r_row=2.0, r_col=2.0, r_source=3.0, r_in=7.0)])
def test_transfer_matrix_equals_solve(wires):
    rng = np.random.default_rng(4)
    spec = make_spec(20, 13, **wires)
    g = rng.uniform(1e-6, 1e-4, (20, 13))
    v = rng.uniform(-0.2, 0.2, (50, 20))
    solver = NodalSolver(spec, g)
    # One dense matmul with the transfer matrix equals the sparse solve (round-off, 1e-12).
    np.testing.assert_allclose(
        v @ solver.transfer_matrix(),
        solver.solve(v).currents,
        rtol=0,
        atol=1e-12 * np.abs(v @ g).max(),
    )


def test_ideal_engine_matches_nodal_without_wires():
    rng = np.random.default_rng(2)
    g = rng.uniform(0, 1e-4, (7, 5))
    v = rng.uniform(-0.2, 0.2, (4, 7))
    spec = make_spec(7, 5)
    ideal = simulate(spec, g, v, engine="ideal", node_voltages=True)
    nodal = simulate(spec, g, v, engine="nodal", node_voltages=True)
    np.testing.assert_allclose(nodal.currents, ideal.currents, rtol=1e-13, atol=0)
    np.testing.assert_allclose(nodal.power, ideal.power, rtol=1e-13, atol=0)
    np.testing.assert_allclose(nodal.cell_voltages, ideal.cell_voltages, rtol=0, atol=1e-16)


@pytest.mark.parametrize(
    "params", [(0.0, 2.0, 2.0, 1.0), (3.0, 2.0, 2.0, 0.0), (0.0, 1.0, 1.5, 0.0)]
)
def test_zero_end_links_join_the_line_to_its_driver_or_sense_node(params):
    # A fitted surrogate may put the driver or readout link at 0 ohm while the segments are
    # not: the line's end node must then be the driver / sense node, not a floating node.
    from cimspice.topology import PassiveTopology

    r_first, r_row, r_col, r_last = params
    spec = make_spec(5, 4)
    topo = PassiveTopology(5, 4, r_first, r_row, r_col, r_last)
    rng = np.random.default_rng(1)
    g = rng.uniform(1e-6, 1e-4, (5, 4))
    v = rng.uniform(0.0, 0.2, (3, 5))
    got = NodalSolver(spec, g, topology=topo).solve(v).currents
    # A tiny positive link (1e-9 ohm) is electrically the same as 0 ohm.
    tiny = PassiveTopology(5, 4, r_first or 1e-9, r_row, r_col, r_last or 1e-9)
    ref = NodalSolver(spec, g, topology=tiny).solve(v).currents
    np.testing.assert_allclose(got, ref, rtol=1e-8)
    assert np.all(got > 0)


def test_wire_end_currents_are_the_outputs():
    # Independent of how the engine sums currents: Ohm's law on the last bit-line segment
    # gives each output, and on the first word-line segment each driver current.
    spec = make_spec(7, 6, r_row=2.0, r_col=1.5, r_source=4.0, r_in=3.0)
    rng = np.random.default_rng(5)
    g = rng.uniform(1e-6, 1e-4, (7, 6))
    v = rng.uniform(0.0, 0.2, (4, 7))
    r = simulate(spec, g, v, engine="nodal", node_voltages=True)
    sense = r.v_bit[:, -1, :] / (1.5 + 3.0)
    np.testing.assert_allclose(sense, r.currents, rtol=1e-10)
    drive = (v - r.v_word[:, :, 0]) / (4.0 + 2.0)
    np.testing.assert_allclose(np.einsum("bi,bi->b", v, drive), r.power, rtol=1e-10)
    np.testing.assert_allclose(drive.sum(axis=1), r.currents.sum(axis=1), rtol=1e-10)
