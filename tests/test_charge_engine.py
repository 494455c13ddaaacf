"""The charge engine and the charge surrogate: against ngspice MAC cycles and closed forms."""

import numpy as np
import pytest

from cimspice.charge.closed_form import column_capacitance, ktc_noise_std, shared_voltage
from cimspice.charge.engine import ChargeEngine, input_planes
from cimspice.charge.surrogate import ChargeSurrogate, calibrate, nominal
from cimspice.converters import charge_adc
from cimspice.errors import InputError, SurrogateError
from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict


def spec_of(**charge):
    return spec_from_dict(
        {
            "array": {"rows": 8, "cols": 6, "cell": "1C"},
            "driver": {"dac_bits": 3, "v_read": 0.2},
            "charge": {"c_par": 2e-15, **charge},
        }
    )


def test_bit_serial_planes_add_up_to_the_levels():
    spec = spec_of()
    levels = np.array([[0.0, 0.2, 0.2 * 3 / 7, 0.2 * 5 / 7, 0.2 / 7, 0.2 * 6 / 7, 0.0, 0.2]])
    planes, weights = input_planes(spec, levels)
    assert planes.shape == (3, 1, 8) and set(np.unique(planes)) <= {0.0, 0.2}
    assert np.tensordot(weights, planes, axes=1) == pytest.approx(levels, abs=1e-15)


def test_charge_adc_is_unipolar():
    spec = spec_of(adc_bits=3, adc_full_scale=0.07)
    codes, values = charge_adc(spec, np.array([-0.01, 0.0, 0.0149, 0.0151, 0.07, 0.2]))
    assert codes.tolist() == [0, 0, 1, 2, 7, 7]
    assert values == pytest.approx(codes * 0.01)


@pytest.mark.ngspice
def test_engine_on_ngspice_and_on_the_nominal_model_agree():
    # Ideal switches: ngspice's cycles are ideal charge sharing to 1e-6 (test_charge_circuit),
    # so the nominal model (closed form with the tile's drawn capacitors) must agree with the
    # engine's ngspice backend to that, bit-serial recombination and ADC included.
    spec = spec_of(mismatch=0.02, adc_bits=6, adc_full_scale=0.1)
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (8, 6))
    v = rng.uniform(0, 0.2, (3, 8))
    spice = simulate(spec, bits, v, engine="charge")
    model = simulate(spec, bits, v, engine="charge", surrogate="nominal")
    assert spice.info["cycles"] == 9  # 3 vectors x 3 input bits
    scale = np.abs(spice.v_out).max()
    assert np.abs(spice.v_out - model.v_out).max() <= 1e-6 * scale
    assert spice.info["energy_per_cycle"] == pytest.approx(model.info["energy_per_cycle"], rel=1e-5)
    # the codes may differ only where a swing sits on a code boundary (none here)
    assert np.array_equal(spice.digital, model.digital)
    # and the recombined swing is the multi-level one of the DAC's levels
    levels = np.rint(v / 0.2 * 7) / 7 * 0.2
    tile = ChargeEngine(surrogate="nominal").program(spec, bits)
    assert model.v_out == pytest.approx(shared_voltage(tile.caps, bits, levels, 2e-15), abs=1e-12)


def test_surrogate_noise_is_ktc():
    spec = spec_of(input_mode="multi-level")
    bits = np.ones((8, 6))
    engine = ChargeEngine(surrogate="nominal", noise=True, seed=1)
    tile = engine.program(spec, bits)
    x = np.full((4000, 8), 0.1)
    noisy = tile.run(x).v_out  # each vector a new draw of the reset noise
    exact = shared_voltage(tile.caps, bits, x[:1], 2e-15)
    expected = ktc_noise_std(column_capacitance(tile.caps, 2e-15))
    # 4000 draws per column: the std's standard error is 1.1 %; 5 % is 4.5 of them
    assert (noisy - exact).std(axis=0) == pytest.approx(expected, rel=0.05)


@pytest.mark.ngspice
def test_calibrated_surrogate_of_transistor_switches_reports_held_out_error():
    # 65 nm NMOS switches: the reset transistor's injection is an offset of ~-15 mV the
    # nominal model misses; the fitted offset, gain and ones-term take it out. Held-out
    # cycles (other bits and inputs) must be predicted far better than by the nominal model,
    # to 1 % of full scale (the residual: the switches' junction capacitances vary with the
    # bottom plates' voltages, a non-linearity the linear model leaves).
    spec = spec_of(switch="transistor", input_mode="multi-level")
    model, report = calibrate(spec, cycles=16, test_cycles=8, seed=0)
    assert model.offset < -1e-3
    assert report.nrmse < 0.01 and report.nrmse < report.nrmse_nominal / 5
    assert report.max_error < 0.03
    # the engine runs it; another spec's surrogate is refused
    bits = np.ones((8, 6))
    out = simulate(spec, bits, np.full(8, 0.1), engine="charge", surrogate=model)
    assert out.v_out.shape == (1, 6)
    with pytest.raises(SurrogateError, match="another tile"):
        simulate(spec_of(), bits, np.full(8, 0.1), engine="charge", surrogate=model)


def test_engine_refuses_what_it_cannot_run():
    with pytest.raises(InputError, match='"1C"'):
        ChargeEngine().program(spec_from_dict({"array": {"rows": 2, "cols": 2}}), np.ones((2, 2)))
    with pytest.raises(InputError, match="0 or 1"):
        ChargeEngine().program(spec_of(), np.full((8, 6), 2e-5))
    with pytest.raises(InputError, match="surrogate must be"):
        ChargeEngine(surrogate="fast")
    assert isinstance(nominal(spec_of()), ChargeSurrogate)
