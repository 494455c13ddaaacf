"""1S1R cells: memristor + threshold selector, through real ngspice."""

import numpy as np
import pytest

from cimspice.engines.nodal import NodalSolver
from cimspice.errors import CircuitWarning, SpecError
from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict


def spec_1s1r(**selector):
    return spec_from_dict(
        {
            "array": {"rows": 6, "cols": 5, "cell": "1S1R"},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "selector": selector,
        }
    )


def passive():
    return spec_from_dict({"array": {"rows": 6, "cols": 5}, "wire": {"r_row": 2.0, "r_col": 2.0}})


G = np.random.default_rng(0).uniform(1e-6, 1e-4, (6, 5))


@pytest.mark.ngspice
def test_selector_blocks_below_threshold_and_conducts_above():
    low = np.full((1, 6), 0.05)
    high = np.full((1, 6), 1.5)
    with pytest.warns(CircuitWarning, match="selectors need"):  # v_read = 0.2 V: too low
        blocked = simulate(spec_1s1r(), G, low, engine="ngspice").currents
        conducting = simulate(spec_1s1r(), G, high, engine="ngspice").currents
    bare_low = simulate(passive(), G, low, engine="nodal").currents
    bare_high = simulate(passive(), G, high, engine="nodal").currents
    # 50 mV is far below the selector's threshold (~0.3 V at uA): the cells pass under 1%
    # of what bare memristors would; at 1.5 V the selector drops a few tenths of a volt and
    # the cells pass most of the bare current (the exact share depends on each cell's G).
    assert np.all(blocked < 0.01 * bare_low)
    assert np.all(conducting > 0.5 * bare_high)
    assert np.all(conducting < bare_high)


@pytest.mark.ngspice
def test_currents_rise_steeply_and_monotonically_with_the_input():
    v = np.array([0.1, 0.2, 0.4, 0.8, 1.2])[:, None] * np.ones((1, 6))
    with pytest.warns(CircuitWarning):  # v_read = 0.2 V is below these selectors' threshold
        out = simulate(spec_1s1r(), G, v, engine="ngspice").currents.sum(axis=1)
    assert np.all(np.diff(out) > 0)
    # threshold-like: doubling 0.1 -> 0.2 V multiplies the current far more than twofold
    assert out[1] / out[0] > 10


def test_selector_is_validated():
    with pytest.raises(SpecError, match=r"selector\.v_s"):
        spec_1s1r(v_s=0.0)


@pytest.mark.ngspice
@pytest.mark.parametrize(
    ("iv", "wire", "r_source", "r_in", "v_max"),
    [
        ("linear", dict(r_row=2.0, r_col=2.0), 0.0, 0.0, 1.2),
        ("sinh", dict(r_row=2.0, r_col=1.0), 10.0, 5.0, 1.0),
        ("linear", dict(r_row=0.0, r_col=3.0), 0.0, 0.0, 0.8),
    ],
)
def test_nodal_agrees_with_ngspice(iv, wire, r_source, r_in, v_max):
    spec = spec_from_dict(
        {
            "array": {"rows": 9, "cols": 7, "cell": "1S1R"},
            "wire": wire,
            "driver": {"r_source": r_source, "v_read": 1.2},
            "readout": {"r_in": r_in},
            "device": {"iv": iv, "v0": 0.25},
        }
    )
    rng = np.random.default_rng(7)
    g = rng.uniform(1e-6, 1e-4, (9, 7))
    v = rng.uniform(0.0, v_max, (5, 9))
    spice = simulate(spec, g, v, engine="ngspice", node_voltages=True)
    nodal = simulate(spec, g, v, engine="nodal", node_voltages=True)
    # The same network (memristor, inner node, selector) solved by ngspice (reltol 1e-9,
    # set by the deck for nonlinear cells) and by nodal Newton (1e-12 V steps): the contract
    # is 1e-6 of full scale, and currents span the selector's threshold here (nA to uA).
    full = np.abs(spice.currents).max()
    assert np.abs(nodal.currents - spice.currents).max() <= 1e-6 * full
    assert np.abs(nodal.power - spice.power).max() <= 1e-6 * spice.power.max()
    assert np.abs(nodal.cell_voltages - spice.cell_voltages).max() <= 1e-6 * v_max


def test_nodal_inner_node_balances_memristor_and_selector():
    spec = spec_1s1r()
    v = np.linspace(0.1, 1.5, 4)[:, None] * np.ones((1, 6))
    solver = NodalSolver(spec, G)
    r = solver.solve(v, node_voltages=True)
    law = solver.cell_law()
    u = np.moveaxis(r.cell_voltages, 0, 2)  # (rows, cols, batch)
    inner = law.inner_voltage(u)
    i_mem = G[:, :, None] * inner
    i_sel = spec.selector.i_s * np.sinh((u - inner) / spec.selector.v_s)
    # Kirchhoff at every inner node: the two currents agree to the inner solve's 1e-15 V
    # tolerance times the steepest slope (~1e-4 S + selector slope) -- far below 1e-15 A.
    assert np.abs(i_mem - i_sel).max() <= 1e-15
    np.testing.assert_allclose(r.currents, i_mem.sum(axis=0).T, rtol=1e-12)
    assert np.all((inner >= 0) & (inner <= u))
