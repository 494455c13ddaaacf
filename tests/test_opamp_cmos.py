"""Readouts built from the transistor-level op-amp (readout.opamp = "cmos"), in ngspice."""

import numpy as np
import pytest

from cimspice.netlist import render
from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict

V_OFFSET_MAX = 2e-3
"""Volt: the op-amp's input offset is -0.98 mV (systematic, measured; see the template)."""
GAIN_MIN = 500
"""The op-amp's DC gain is ~1530 (measured); with a 10 kohm load it is lower but above this."""


def cmos_spec(rows=8, cols=6, cell="0T1R", **readout):
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols, "cell": cell},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "readout": {"kind": "tia", "opamp": "cmos", "r_f": 10e3, **readout},
        }
    )


def arrays(rows=8, cols=6, batch=4, seed=0, v_max=0.2):
    rng = np.random.default_rng(seed)
    return rng.uniform(1e-6, 1e-5, (rows, cols)), rng.uniform(0.0, v_max, (batch, rows))


@pytest.mark.ngspice
def test_output_is_minus_i_rf_within_the_offset_and_gain_error():
    g, v = arrays()
    r = simulate(cmos_spec(), g, v, engine="ngspice")
    # The op-amp's inputs are MOS gates (no DC current), so the whole bit-line current flows
    # through r_f: V_out = V_x - I r_f, with the inverting input V_x held near 0 V by the
    # loop. Its error is the offset plus V_out / gain.
    error = np.abs(r.v_out + r.currents * 10e3)
    assert np.all(error <= V_OFFSET_MAX + np.abs(r.v_out) / GAIN_MIN)
    assert np.all(error > 1e-4)  # a real op-amp: its offset shows (an ideal one gives 0)
    behavioural = simulate(cmos_spec(opamp="behavioural"), g, v, engine="ngspice")
    assert np.abs(r.v_out - behavioural.v_out).max() <= V_OFFSET_MAX + 0.2 / GAIN_MIN


@pytest.mark.ngspice
def test_readout_power_is_the_rails_including_quiescent_power():
    g, v = arrays()
    idle = simulate(cmos_spec(), g, np.zeros((1, 8)), engine="ngspice")
    busy = simulate(cmos_spec(), g, v, engine="ngspice")
    per_opamp = idle.power_readout[0] / 6
    # Quiescent: 0.32 mA from 1.2 V of rails per op-amp (measured 0.39 mW); with no input
    # the drivers deliver (almost) nothing.
    assert 0.25e-3 <= per_opamp <= 0.55e-3
    assert abs(idle.power_drivers[0]) < 1e-9
    # A class-A output stage: its sink (m7) carries a fixed bias, so the bit-line current
    # each op-amp takes in through r_f relieves the +0.6 V rail of as much (m6 carries less):
    # rail power = idle - 0.6 V * sum(I). The bias points move a little with the outputs,
    # which the review measured at <= 0.8% of the idle power; 1.5% bounds it.
    predicted = idle.power_readout[0] - 0.6 * busy.currents.sum(axis=1)
    idle_power = idle.power_readout[0]
    assert np.all(np.abs(busy.power_readout - predicted) <= 0.015 * idle_power)
    assert np.all(busy.power_readout < idle_power)


@pytest.mark.ngspice
def test_output_clips_near_the_rails():
    g, v = arrays()
    r = simulate(cmos_spec(r_f=1e6), g, v, engine="ngspice")
    assert np.all(np.abs(r.v_out) <= 0.6)  # the rails, +-v_supply / 2
    assert np.abs(r.v_out).max() > 0.45  # driven into saturation (swing ~+-0.5 V)


@pytest.mark.ngspice
def test_1t1r_tile_with_cmos_readout_includes_the_models_once():
    spec = cmos_spec(rows=4, cols=3, cell="1T1R")
    g, v = arrays(4, 3, batch=2)
    deck = render(spec, g, v)
    assert deck.count(".model nmos65 ") == 1 and deck.count(".model pmos65 ") == 1
    assert ".dc vvec" in deck  # transistors: the batch is swept by an index, not temperature
    r = simulate(spec, g, v, engine="ngspice")
    assert np.all(r.v_out < 0) and np.all(r.currents > 0)


@pytest.mark.ngspice
def test_cmos_integrator_collects_the_charge():
    from cimspice.engines.ngspice import NgspiceEngine
    from cimspice.engines.transient import run_transient

    spec = spec_from_dict(
        {
            "array": {"rows": 5, "cols": 4},
            # A real op-amp has an offset, and with only a capacitor in feedback nothing holds
            # its output at DC: the reset switch does until t_reset.
            "readout": {"kind": "integrator", "opamp": "cmos", "c_f": 10e-12, "t_reset": 5e-9},
        }
    )
    rng = np.random.default_rng(3)
    g = rng.uniform(1e-6, 1e-5, (5, 4))
    v = rng.uniform(0.05, 0.2, 5)
    r = run_transient(NgspiceEngine(), spec, g, v, t_stop=200e-9, t_step=0.2e-9, tol=0.5)
    after = r.time >= 10e-9  # the switch is open (t_reset + its 1 ns-class release)
    charge = np.trapezoid(r.currents[after], r.time[after], axis=0)
    q_out = -(r.v_out[-1] - r.v_out[after][0]) * 10e-12
    # dV_out = dV_x - dQ / c_f; V_x moves only by the op-amp's finite-gain error (~40 mV /
    # gain), the trapezoid rule on 0.2 ns steps adds ~1e-4: 2% covers both with margin.
    np.testing.assert_allclose(q_out, charge, rtol=0.02)
    np.testing.assert_allclose(charge, 190e-9 * (v @ g), rtol=0.02)  # the array is ~ideal


@pytest.mark.ngspice
def test_a_column_current_beyond_the_output_stage_warns_and_reads_low():
    from cimspice.errors import CircuitWarning

    g = np.full((16, 4), 100e-6)
    v = np.full((1, 16), 0.2)  # 320 uA per column; the default stage sinks ~200 uA
    with pytest.warns(CircuitWarning, match="readout.i_bias"):
        low = simulate(cmos_spec(16, 4, r_f=1e3), g, v, engine="ngspice").currents
    strong = simulate(cmos_spec(16, 4, r_f=1e3, i_bias=50e-6), g, v, engine="ngspice").currents
    ideal_readout = spec_from_dict(
        {"array": {"rows": 16, "cols": 4}, "wire": {"r_row": 2.0, "r_col": 2.0}}
    )
    expected = simulate(ideal_readout, g, v, engine="nodal").currents
    # With 2.5x the bias the virtual ground holds: the currents are the ideal readout's but
    # for the op-amp's ~1 mV offset on 0.2 V cells (0.5%); overloaded, they fall ~18% short.
    np.testing.assert_allclose(strong, expected, rtol=1e-2)
    assert np.all(low < 0.9 * expected)
