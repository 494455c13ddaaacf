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


@pytest.mark.ngspice
def test_engine_noise_in_ngspice_is_the_reset_switches_thermal_noise():
    # noise=True on the ngspice backend puts trnoise on the reset switches (test_charge_circuit
    # checks its statistics); here: it is there (outputs move by ~sqrt(kT/C_T)), each run
    # draws anew, and a reset too short to settle it is refused by name.
    spec = spec_from_dict(
        {
            "array": {"rows": 4, "cols": 40, "cell": "1C"},
            "charge": {
                "input_mode": "multi-level",
                "r_on": 100.0,
                "r_reset": 1e5,
                "c_cell": 4e-15,
                "c_par": 4e-15,
                "t_reset": 20e-9,
            },
        }
    )
    bits = np.ones((4, 40))
    x = np.full((1, 4), 0.1)
    tile = ChargeEngine(noise=True, seed=5).program(spec, bits)
    a, b = tile.run(x).v_out, tile.run(x).v_out
    exact = 4e-15 * 4 * 0.1 / 20e-15
    sigma = float(ktc_noise_std(20e-15))
    # 40 columns: the std of 40 Gaussian draws is within 35 % of sigma but for ~1e-4 of runs
    assert 0.65 * sigma < np.std(a - exact) < 1.35 * sigma
    assert not np.array_equal(a, b)
    short = spec.replace({"charge.t_reset": 1e-9})
    with pytest.raises(InputError, match="t_reset"):
        ChargeEngine(noise=True).program(short, bits).run(x)


@pytest.mark.ngspice
def test_simulate_command_runs_a_charge_tile(tmp_path):
    from cimspice.charge.capacitors import cell_capacitances
    from cimspice.cli import main

    spec_file = tmp_path / "c.toml"
    spec_file.write_text(
        '[array]\nrows = 6\ncols = 3\ncell = "1C"\n[driver]\ndac_bits = 2\n'
        "[charge]\nc_par = 2e-15\n"
    )
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, (6, 3)).astype(float)
    v = np.rint(rng.uniform(0, 0.2, (2, 6)) / 0.2 * 3) / 3 * 0.2  # on the DAC's levels
    np.save(tmp_path / "b.npy", bits)
    np.save(tmp_path / "v.npy", v)
    out = tmp_path / "r.npz"
    args = ["simulate", str(spec_file), "--conductances", str(tmp_path / "b.npy")]
    args += ["--inputs", str(tmp_path / "v.npy"), "--engine", "charge", "-o", str(out)]
    assert main(args) == 0
    spec = spec_from_dict(
        {
            "array": {"rows": 6, "cols": 3, "cell": "1C"},
            "driver": {"dac_bits": 2},
            "charge": {"c_par": 2e-15},
        }
    )
    caps = cell_capacitances(spec)
    with np.load(out) as data:
        # bit-serial (2 cycles per vector) recombined: the multi-level swing, to 1e-6
        expected = shared_voltage(caps, bits, v, 2e-15)
        assert np.abs(data["v_out"] - expected).max() <= 1e-6 * np.abs(expected).max()
        # "currents" of a charge tile: the coupled charge v_out * C_T (coulomb)
        assert data["currents"] == pytest.approx(data["v_out"] * column_capacitance(caps, 2e-15))


@pytest.mark.ngspice
def test_netlist_command_writes_the_mac_cycle_deck(tmp_path):
    from cimspice.charge.run import run_cycles
    from cimspice.cli import main
    from cimspice.engines.ngspice import run_deck

    spec_file = tmp_path / "c.toml"
    spec_file.write_text(
        '[array]\nrows = 4\ncols = 2\ncell = "1C"\n[charge]\ninput_mode = "multi-level"\n'
    )
    bits = np.array([[1, 0], [1, 1], [0, 1], [1, 1]], dtype=float)
    v = np.array([[0.1, 0.2, 0.05, 0.15]])
    np.save(tmp_path / "b.npy", bits)
    np.save(tmp_path / "v.npy", v)
    out = tmp_path / "deck.cir"
    args = ["netlist", str(spec_file), "--conductances", str(tmp_path / "b.npy")]
    assert main([*args, "--inputs", str(tmp_path / "v.npy"), "-o", str(out)]) == 0
    text = out.read_text()
    assert ".tran" in text and "1 MAC cycle(s)" in text
    # the written deck is the one run_cycles runs: ngspice gives the same column voltages
    arrays, _, _ = run_deck(text, {"time": ["time"], "c": ["v(c0)", "v(c1)"]})
    spec = spec_from_dict(
        {"array": {"rows": 4, "cols": 2, "cell": "1C"}, "charge": {"input_mode": "multi-level"}}
    )
    t_sample = spec.charge.t_reset + 2 * spec.charge.t_edge + spec.charge.t_share
    sampled = [np.interp(t_sample, arrays["time"][0], w) for w in arrays["c"]]
    assert sampled == pytest.approx(run_cycles(spec, bits, v).v_col[0], abs=1e-12)
