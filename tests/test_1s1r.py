"""1S1R cells: memristor + threshold selector, through real ngspice."""

import numpy as np
import pytest

from cimspice.engines import simulate
from cimspice.errors import CircuitWarning, EngineUnavailableError, SpecError
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


def test_nodal_refuses_and_the_selector_is_validated():
    with pytest.raises(EngineUnavailableError, match="1S1R"):
        simulate(spec_1s1r(), G, np.ones(6) * 0.1, engine="nodal")
    with pytest.raises(SpecError, match=r"selector\.v_s"):
        spec_1s1r(v_s=0.0)
