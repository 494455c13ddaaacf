"""Transimpedance-amplifier readout (behavioural op-amp), through real ngspice."""

import numpy as np
import pytest

from cimspice.errors import EngineUnavailableError, SpecError
from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict


def tia_spec(rows=8, cols=6, **readout):
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "readout": {"kind": "tia", **readout},
        }
    )


def arrays(rows=8, cols=6, batch=5, seed=0, v_max=0.2):
    rng = np.random.default_rng(seed)
    return rng.uniform(1e-6, 1e-4, (rows, cols)), rng.uniform(0.0, v_max, (batch, rows))


@pytest.mark.ngspice
@pytest.mark.parametrize("gain", [1e2, 1e4, 1e6])
def test_output_is_minus_i_rf_within_the_finite_gain_error(gain):
    r_f = 2e3
    g, v = arrays()
    r = simulate(tia_spec(r_f=r_f, gain=gain, v_swing=10.0), g, v, engine="ngspice")
    assert r.v_out is not None and r.v_out.shape == (5, 6)
    # Finite gain A: V- = -V_out / A and the feedback current is the input current, so
    # V_out = -I r_f A / (1 + A) exactly (well inside the swing, where tanh is linear to
    # (V/v_swing)^2 / 3 < 1e-4 relative here, and we keep v_swing large to stay there).
    expected = -r.currents * r_f * gain / (1 + gain)
    np.testing.assert_allclose(r.v_out, expected, rtol=2e-4)
    # ... so -I r_f itself is off by the finite-gain error 1 / (1 + A), no more
    rel = np.abs(r.v_out / (-r.currents * r_f) - 1)
    assert np.all(rel <= 1.0 / (1 + gain) * 1.01 + 2e-4)


@pytest.mark.ngspice
def test_high_gain_tia_reads_what_the_ideal_virtual_ground_reads():
    g, v = arrays()
    tia = simulate(tia_spec(gain=1e6, v_swing=10.0), g, v, engine="ngspice").currents
    ideal_spec = spec_from_dict(
        {"array": {"rows": 8, "cols": 6}, "wire": {"r_row": 2.0, "r_col": 2.0}}
    )
    ideal = simulate(ideal_spec, g, v, engine="nodal").currents
    # the sense node sits at -V_out / A ~ 1e-6 of V_out: the currents agree to ~1e-6
    np.testing.assert_allclose(tia, ideal, rtol=1e-5)


@pytest.mark.ngspice
def test_output_saturates_at_the_swing():
    g, v = arrays(v_max=0.2)
    r = simulate(tia_spec(r_f=1e6, v_swing=0.5), g, v, engine="ngspice")
    assert np.all(np.abs(r.v_out) <= 0.5)
    assert np.max(np.abs(r.v_out)) > 0.49  # driven into saturation


@pytest.mark.ngspice
def test_offset_shifts_the_output_and_power_includes_the_readout():
    g, v = arrays()
    base = simulate(tia_spec(v_swing=10.0), g, v, engine="ngspice")
    shifted = simulate(tia_spec(v_offset=1e-3, v_swing=10.0), g, v, engine="ngspice")
    # a 1 mV offset at the inverting input moves every output by ~ +1 mV * (1 + r_f / R_src)
    assert np.all(shifted.v_out > base.v_out)
    # The op-amps supply the feedback current, so the total power is the drivers' share
    # (the same array, read by a virtual ground 1e-4 V_out away from 0) plus I^2 r_f each.
    ideal_spec = spec_from_dict(
        {"array": {"rows": 8, "cols": 6}, "wire": {"r_row": 2.0, "r_col": 2.0}}
    )
    driver_power = simulate(ideal_spec, g, v, engine="nodal").power
    readout_power = base.power - driver_power
    # rtol 1e-3: the sense node is -V_out / gain (1e-4 relative) away from the ideal 0 V
    np.testing.assert_allclose(readout_power, (base.currents**2 * 10e3).sum(axis=1), rtol=1e-3)


def test_tia_needs_ngspice_and_valid_values():
    g, v = arrays()
    with pytest.raises(EngineUnavailableError, match="tia"):
        simulate(tia_spec(), g, v, engine="nodal")
    for key, value in (("r_f", 0.0), ("gain", -1.0), ("v_swing", float("inf"))):
        with pytest.raises(SpecError, match=f"readout.{key}"):
            tia_spec(**{key: value})
    with pytest.raises(SpecError, match="unknown readout"):
        spec_from_dict({"array": {"rows": 1, "cols": 1}, "readout": {"kind": "adc"}})


@pytest.mark.ngspice
def test_energy_split_between_drivers_and_readout():
    g, v = arrays()
    r = simulate(tia_spec(v_swing=10.0), g, v, engine="ngspice")
    energy = r.energy_per_mvm(t_read=10e-9)
    # the drivers' share is what the same array draws behind an ideal virtual ground (the
    # TIA's sense node is only -V_out / gain away from 0 V: 1e-3 relative)
    ideal_spec = spec_from_dict(
        {"array": {"rows": 8, "cols": 6}, "wire": {"r_row": 2.0, "r_col": 2.0}}
    )
    ideal = simulate(ideal_spec, g, v, engine="nodal").power
    np.testing.assert_allclose(energy["drivers"], ideal * 10e-9, rtol=1e-3)
    # the readout's share is the feedback resistors' I^2 r_f (see above), here ~10 kohm
    np.testing.assert_allclose(
        energy["readout"], (r.currents**2 * 10e3).sum(axis=1) * 10e-9, rtol=1e-3
    )
    assert np.all(energy["drivers"] > 0)


@pytest.mark.ngspice
def test_integrator_output_is_the_collected_charge():
    from cimspice.engines.ngspice import NgspiceEngine
    from cimspice.engines.transient import run_transient

    spec = spec_from_dict(
        {
            "array": {"rows": 5, "cols": 4},
            # a fast op-amp (1 THz GBW): over a 1 ns window a 1 GHz one still lets its
            # inverting input wander: V_out = V_x - Q / c_f came out 15% low with 1 GHz
            "readout": {
                "kind": "integrator",
                "c_f": 1e-13,
                "gain": 1e4,
                "gbw": 1e12,
                "v_swing": 10.0,
            },
        }
    )
    rng = np.random.default_rng(3)
    g = rng.uniform(1e-6, 1e-4, (5, 4))
    v = rng.uniform(0.05, 0.2, 5)
    r = run_transient(NgspiceEngine(), spec, g, v, t_stop=1e-9, t_step=1e-12, tol=0.5)
    # V_out = -Q / c_f, Q the integral of the input current; with gain A the inverting input
    # moves by -V_out / A, so 1e-3 covers the finite gain (1e-4) and the trapezoid rule on
    # 1 ps steps.
    np.testing.assert_allclose(-r.v_out[-1] * 1e-13, r.charge, rtol=1e-3)
    np.testing.assert_allclose(r.charge, 1e-9 * (v @ g), rtol=2e-3)  # ideal array, 1 ns


def test_integrator_has_no_operating_point():
    spec = spec_from_dict({"array": {"rows": 2, "cols": 2}, "readout": {"kind": "integrator"}})
    from cimspice.errors import InputError

    with pytest.raises(InputError, match="no operating point"):
        simulate(spec, np.full((2, 2), 1e-5), np.ones(2) * 0.1, engine="ngspice")
