"""ngspice against closed forms."""

import numpy as np
import pytest
from conftest import make_spec, random_arrays

from cimspice.simulation import simulate

pytestmark = pytest.mark.ngspice

# Both deck kinds (.op for one vector, the temperature-indexed .dc sweep for a batch) solve a
# linear network with independent sources, so they match closed forms to double round-off
# (observed <= 3e-16 relative); 1e-12 leaves room for pivoting order on other machines.
RTOL = 1e-12


@pytest.mark.parametrize("batch", [1, 7])
def test_zero_wire_resistance_is_v_at_g(batch):
    g, v = random_arrays(6, 4, batch, seed=1)
    result = simulate(make_spec(6, 4), g, v, engine="ngspice")
    # Without wires the array is exactly V @ G. RTOL: see below.
    np.testing.assert_allclose(result.currents, v @ g, rtol=RTOL, atol=0)
    np.testing.assert_allclose(result.power, (v * v) @ g.sum(axis=1), rtol=RTOL, atol=0)


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize(
    ("r_row", "r_col", "r_source", "r_in"),
    [(2.0, 3.0, 0.0, 0.0), (2.0, 3.0, 50.0, 20.0), (0.0, 0.0, 1e3, 0.0), (0.0, 4.0, 0.0, 7.0)],
)
def test_single_cell_series_formula(r_row, r_col, r_source, r_in, batched):
    g = np.array([[40e-6]])
    v = np.array([[0.2], [-0.1], [0.0]]) if batched else np.array([[0.2]])
    spec = make_spec(1, 1, r_row=r_row, r_col=r_col, r_source=r_source, r_in=r_in)
    result = simulate(spec, g, v, engine="ngspice", node_voltages=True)
    r_total = 1 / g[0, 0] + r_source + r_row + r_col + r_in
    expected = v / r_total
    np.testing.assert_allclose(result.currents, expected, rtol=RTOL, atol=1e-20)
    np.testing.assert_allclose(result.power, v[:, 0] ** 2 / r_total, rtol=RTOL, atol=1e-22)
    # the cell sees V * R_cell / R_total
    np.testing.assert_allclose(
        result.cell_voltages[:, 0, 0], v[:, 0] / g[0, 0] / r_total, rtol=RTOL, atol=1e-18
    )
