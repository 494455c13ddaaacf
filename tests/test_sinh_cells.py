"""Nonlinear (sinh) cells: ngspice and the nodal Newton agree; the small-signal limit is linear."""

import numpy as np
import pytest

from cimspice.engines.nodal import NodalSolver
from cimspice.errors import InputError
from cimspice.metrics import max_error
from cimspice.netlist import render
from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict


def sinh_spec(rows, cols, v0=0.15, **wires):
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols},
            "wire": {k: v for k, v in wires.items() if k in ("r_row", "r_col")},
            "driver": {"r_source": wires.get("r_source", 0.0)},
            "readout": {"r_in": wires.get("r_in", 0.0)},
            "device": {"iv": "sinh", "v0": v0},
        }
    )


def arrays(rows, cols, batch, seed, v_max=0.3):
    rng = np.random.default_rng(seed)
    return rng.uniform(1e-6, 1e-4, (rows, cols)), rng.uniform(0.0, v_max, (batch, rows))


def test_sinh_deck_renders_behavioural_cells():
    deck = render(sinh_spec(2, 2, r_row=1.0, r_col=1.0), np.full((2, 2), 2e-5), np.ones(2) * 0.1)
    assert "bc1_0 w1_0 b1_0 i = 3e-06 * sinh(v(w1_0, b1_0) / 0.15)" in deck
    assert ".options reltol=1e-9 vntol=1e-12 abstol=1e-16" in deck
    assert "rc0_0" not in deck


@pytest.mark.ngspice
@pytest.mark.parametrize(
    ("rows", "cols", "batch", "v0", "wires"),
    [
        (8, 8, 1, 0.15, dict(r_row=2.0, r_col=2.0)),
        (12, 7, 6, 0.25, dict(r_row=2.0, r_col=1.0, r_source=10.0, r_in=5.0)),
        (5, 16, 4, 0.15, dict(r_row=0.0, r_col=3.0)),
        (24, 24, 10, 0.2, dict(r_row=2.0, r_col=2.0)),
    ],
)
def test_nodal_newton_agrees_with_ngspice(rows, cols, batch, v0, wires):
    spec = sinh_spec(rows, cols, v0, **wires)
    g, v = arrays(rows, cols, batch, seed=rows + cols)
    spice = simulate(spec, g, v, engine="ngspice", node_voltages=True)
    nodal = simulate(spec, g, v, engine="nodal", node_voltages=True)
    # Both solve the same nonlinear network; ngspice runs with reltol 1e-9 (set by the deck)
    # and nodal Newton stops at 1e-12 V steps: measured agreement ~1e-11 of full scale.
    # The contract is 1e-6 of full scale.
    assert max_error(nodal.currents, spice.currents) <= 1e-6
    assert np.max(np.abs(nodal.power - spice.power)) <= 1e-6 * np.max(spice.power)
    assert np.max(np.abs(nodal.cell_voltages - spice.cell_voltages)) <= 1e-6 * v.max()
    # and the nonlinearity matters at these voltages: the linear cell is far off
    linear = simulate(
        spec_from_dict({**spec.to_dict(), "device": {"iv": "linear"}}), g, v, engine="nodal"
    )
    assert max_error(linear.currents, spice.currents) > 1e-3


def test_small_signal_limit_is_the_linear_cell():
    spec = sinh_spec(10, 9, v0=0.2, r_row=2.0, r_col=2.0)
    linear_spec = spec_from_dict({**spec.to_dict(), "device": {"iv": "linear", "v0": 0.2}})
    g, v = arrays(10, 9, 3, seed=2, v_max=1e-4)  # |V| <= 1e-4 V << v0
    nonlinear = simulate(spec, g, v, engine="nodal").currents
    linear = simulate(linear_spec, g, v, engine="nodal").currents
    # sinh(x) = x (1 + x^2/6 + ...): at |V/v0| <= 5e-4 the relative difference is <= 4.2e-8.
    assert max_error(nonlinear, linear) <= 5e-8
    assert max_error(nonlinear, linear) > 0  # but it is a different model


def test_sinh_currents_exceed_linear_and_keep_kirchhoff():
    spec = sinh_spec(6, 5, v0=0.15, r_row=2.0, r_col=2.0)
    g, v = arrays(6, 5, 4, seed=3)
    r = simulate(spec, g, v, engine="nodal", node_voltages=True)
    cell = g[None] * 0.15 * np.sinh(r.cell_voltages / 0.15)
    np.testing.assert_allclose(r.currents, cell.sum(axis=1), rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(r.power, np.einsum("bi,bi->b", v, cell.sum(axis=2)), rtol=1e-12)
    linear = simulate(
        spec_from_dict({**spec.to_dict(), "device": {"iv": "linear"}}), g, v, engine="nodal"
    )
    assert np.all(r.currents > linear.currents)  # superlinear cells pass more current


def test_nonlinear_tile_has_no_transfer_matrix():
    g, _ = arrays(3, 3, 1, seed=0)
    with pytest.raises(InputError, match="nonlinear"):
        NodalSolver(sinh_spec(3, 3, r_row=1.0), g).transfer_matrix()


@pytest.mark.ngspice
@pytest.mark.parametrize(
    ("v0", "v_lo", "v_hi", "r"),
    [
        (0.03, 0.0, 0.4, 3.0),  # inputs up to 13 v0: a first Newton step from no IR drop
        # would jump cells to currents they never carry (step limiting and bounds stop it)
        (0.1, -0.3, 0.3, 2.0),  # signed inputs: the odd law and the bounds both ways
    ],
)
def test_strongly_nonlinear_and_signed_inputs_agree_with_ngspice(v0, v_lo, v_hi, r):
    spec = sinh_spec(32, 32, v0=v0, r_row=r, r_col=r)
    rng = np.random.default_rng(5)
    g = rng.uniform(1e-6, 1e-4, (32, 32))
    v = rng.uniform(v_lo, v_hi, (4, 32))
    spice = simulate(spec, g, v, engine="ngspice").currents
    nodal = simulate(spec, g, v, engine="nodal").currents
    # The engines' contract, 1e-6 of full scale (measured ~2e-12 for the first case).
    assert max_error(nodal, spice) <= 1e-6
