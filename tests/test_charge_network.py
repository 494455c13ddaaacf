"""Networks on charge tiles through the same mapping and evaluation as memristor tiles:
bit-sliced weights, the digital recombination, the ngspice backend against the surrogate at
layer level, the energy meter, the spot-check and the rules a 1C tile sets."""

import json

import numpy as np
import pytest

from cimspice.errors import InputError, SpecError, SurrogateError
from cimspice.mapping.matmul import HardwareMatMul
from cimspice.nn.zoo import builtin_model
from cimspice.spec import spec_from_dict
from cimspice.studies.evaluate import evaluate, samples_of


def charge_spec(rows=16, cols=24, weight_bits=6, nonideal=None, **charge):
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols, "cell": "1C"},
            "driver": {"v_read": 0.8, "dac_bits": charge.pop("dac_bits", 0)},
            "charge": {"input_mode": "multi-level", "c_par": 5e-15, **charge},
            "mapping": {"weight_bits": weight_bits, "slice_bits": 1},
            "nonideal": nonideal or {},
        }
    )


def quantised(w, bits):
    top = 2**bits - 1  # the shared slicing: B magnitude bits and a sign (a column pair)
    scale = np.abs(w).max()
    return np.rint(w / scale * top) * scale / top


def test_ideal_charge_tiles_compute_the_quantised_product():
    # No mismatch, no noise, no ADC, exact inputs: the tiles (3 row blocks; 6 bits x 2 sides
    # = 12 columns per output, 2 outputs per 24-column tile: 4 column blocks) and the
    # shared recombination give x @ q(W) to rounding.
    spec = charge_spec()
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(40, 7)), rng.uniform(-1, 1, (5, 40))
    mm = HardwareMatMul(spec)
    exact = x @ quantised(w, 6)
    assert mm(0, x, w) == pytest.approx(exact, abs=1e-12 * np.abs(exact).max())
    assert len(mm.layers[0].tiles) == 3 * 4


def test_each_tile_has_its_own_capacitors_and_noise_and_a_run_repeats():
    # Mismatch and kT/C noise: tiles differ in their draws; the same spec and seeds give
    # the same outputs again (nonideal.seed seeds the noise, charge.seed the capacitors).
    spec = charge_spec(mismatch=0.02, noise="ktc", nonideal={"seed": 3})
    rng = np.random.default_rng(1)
    w, x = rng.normal(size=(40, 7)), rng.uniform(-1, 1, (5, 40))
    a, b = HardwareMatMul(spec), HardwareMatMul(spec)
    assert np.array_equal(a(0, x, w), b(0, x, w))
    tiles = a.layers[0].tiles
    assert not np.array_equal(tiles[0].caps, tiles[1].caps)
    other = HardwareMatMul(spec.replace({"nonideal.seed": 4}))(0, x, w)
    assert not np.array_equal(other, a(0, x, w))


@pytest.mark.ngspice
def test_a_layer_on_ngspice_tiles_matches_the_surrogate():
    # The same layer with every tile's cycles in ngspice (bit-serial, 2 input bits, mismatch
    # 1 %, a 6-bit ADC) and on the nominal model: ideal switches make the model exact to
    # 1e-6 of the swing, so the outputs agree far below one LSB (equal codes).
    spec = charge_spec(
        rows=8,
        cols=12,
        weight_bits=3,
        mismatch=0.01,
        adc_bits=6,
        adc_full_scale=0.4,
        dac_bits=2,
        input_mode="bit-serial",
    )
    rng = np.random.default_rng(1)
    w, x = rng.normal(size=(10, 3)), rng.uniform(0, 1, (2, 10))
    spice = HardwareMatMul(spec, engine="ngspice")(0, x, w)
    model = HardwareMatMul(spec)(0, x, w)
    assert spice == pytest.approx(model, abs=1e-9 * np.abs(model).max())


def test_digits_mlp_on_charge_tiles_keeps_its_accuracy_and_meters_energy():
    # 8-bit weights and inputs (bit-serial), an 8-bit ADC whose full scale is a quarter of
    # the largest swing, 0.5 % capacitor mismatch, kT/C noise: a few points at most below
    # the exact network on 500 held-out digits (each sample is 0.2 %).
    from cimspice.studies.schemes import NetworkCase, run_case

    model, data = builtin_model("digits-mlp")
    x, y = samples_of(data, "test")
    x, y = x[:500], y[:500]
    spec = spec_from_dict(
        {
            "array": {"rows": 64, "cols": 64, "cell": "1C"},
            "driver": {"v_read": 0.8, "dac_bits": 8},
            "charge": {
                "mismatch": 0.005,
                "c_par": 10e-15,
                "adc_bits": 8,
                "adc_full_scale": 0.2,
                "noise": "ktc",
            },
            "mapping": {"weight_bits": 7, "slice_bits": 1},
        }
    )
    result, _ = evaluate(model, x, y, spec, calibration=data.x_train[:500])
    assert result.accuracy_hardware >= result.accuracy_ideal - 0.03
    case = run_case(NetworkCase("charge", spec), model, x[:100], y[:100], calibration=x)
    e = case.energy
    assert case.units == {0: "memristor", 2: "memristor"}  # the layers' unit: the spec's tiles
    # the array's energy: the closed form's C x^2 per toggled cell, fJ-scale per MAC
    assert 0 < e.array / e.macs < 1e-14 and e.adc > 0 and e.dac == 0  # bit-serial: no DAC
    assert 0 < case.energy_per_mac < 1e-11


@pytest.mark.ngspice
def test_evaluate_command_spot_checks_a_charge_tile(tmp_path):
    # The evaluate command on a charge spec: the memristor path's JSON keys, and a
    # spot-check that re-runs the hardest-driven tile's MAC cycles in ngspice with its
    # bits, capacitors and inputs. With ideal switches the nominal model is exact to 1e-6
    # of the swing (tests/test_charge_circuit.py), so the check's error is below that.
    from cimspice.cli import main

    spec_file = tmp_path / "c.toml"
    spec_file.write_text(
        '[array]\nrows = 16\ncols = 24\ncell = "1C"\n[driver]\nv_read = 0.8\n'
        '[charge]\ninput_mode = "multi-level"\nc_par = 5e-15\nmismatch = 0.01\n'
        "[mapping]\nweight_bits = 4\nslice_bits = 1\n"
    )
    out = tmp_path / "e.json"
    args = ["evaluate", "--model", "digits-mlp", "--spec", str(spec_file), "--samples", "40"]
    assert main([*args, "--spot-check", "--no-progress", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert {"accuracy_ideal", "accuracy_hardware", "spot_check", "layers"} <= set(data)
    check = data["spot_check"]
    assert check["quantity"] == "v_out" and check["vectors"] == 8
    assert check["nrmse"] < 1e-6 and check["max_error"] < 1e-6
    assert check["held_out_nrmse"] is None  # the nominal model: no calibration to compare


def test_charge_tiles_refuse_what_they_cannot_hold():
    with pytest.raises(SpecError, match=r"mapping.weight_bits"):
        HardwareMatMul(charge_spec(weight_bits=0).replace({"mapping.slice_bits": 0}))
    with pytest.raises(SpecError, match=r"mapping.slice_bits"):
        HardwareMatMul(charge_spec().replace({"mapping.slice_bits": 2}))
    with pytest.raises(SpecError, match=r"mapping.scheme"):
        HardwareMatMul(charge_spec().replace({"mapping.scheme": "reference"}))
    with pytest.raises(SpecError, match=r"nonideal.read_noise"):
        HardwareMatMul(charge_spec(nonideal={"read_noise": 0.01}))
    with pytest.raises(InputError, match="nodal"):
        HardwareMatMul(charge_spec(), engine="nodal")
    from cimspice.surrogate.model import TileParams, TileSurrogate

    passive = spec_from_dict({"array": {"rows": 4, "cols": 4}})
    with pytest.raises(SurrogateError, match="charge surrogate"):
        memristor = TileSurrogate(passive, TileParams.from_spec(passive))
        HardwareMatMul(charge_spec(), surrogate=memristor)


@pytest.mark.ngspice
def test_a_calibrated_charge_surrogate_file_goes_beside_the_spot_check(tmp_path):
    # calibrate writes a checked charge surrogate file (its held-out error in it); evaluate
    # runs the network on it and sets the spot-check beside that figure. Ideal switches:
    # the fit is the circuit, both errors are round-off (within, by ROUNDOFF's rule).
    from cimspice.charge.surrogate import load_charge_surrogate
    from cimspice.cli import main

    spec_file = tmp_path / "c.toml"
    spec_file.write_text(
        '[array]\nrows = 16\ncols = 24\ncell = "1C"\n[driver]\nv_read = 0.8\n'
        '[charge]\ninput_mode = "multi-level"\nc_par = 5e-15\nmismatch = 0.01\n'
        "[mapping]\nweight_bits = 4\nslice_bits = 1\n"
    )
    fitted = tmp_path / "s.json"
    assert main(["calibrate", str(spec_file), "-o", str(fitted), "--samples", "2"]) == 0
    model = load_charge_surrogate(fitted)
    assert model.held_out is not None and model.held_out[0] < 1e-9
    out = tmp_path / "e.json"
    args = ["evaluate", "--model", "digits-mlp", "--spec", str(spec_file), "--samples", "20"]
    args += ["--surrogate", str(fitted), "--spot-check", "--no-progress", "--json", str(out)]
    assert main(args) == 0
    check = json.loads(out.read_text())["spot_check"]
    assert check["held_out_nrmse"] == pytest.approx(model.held_out[0])
    assert check["within"] is True
    # an edited file is refused by name; a memristor surrogate file is no charge surrogate
    data = json.loads(fitted.read_text())
    data["gain"] = 1.1
    fitted.write_text(json.dumps(data))
    with pytest.raises(SurrogateError, match="edited"):
        load_charge_surrogate(fitted)
    assert main(args) != 0


def test_calibrate_refuses_options_a_charge_tile_does_not_use(tmp_path, capsys):
    from cimspice.cli import main

    spec_file = tmp_path / "c.toml"
    spec_file.write_text('[array]\nrows = 4\ncols = 4\ncell = "1C"\n[driver]\ndac_bits = 2\n')
    args = ["calibrate", str(spec_file), "-o", str(tmp_path / "s.json")]
    assert main([*args, "--report-dir", str(tmp_path / "r")]) != 0
    assert "--report-dir does not apply to a charge-domain" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()


def test_idle_row_blocks_of_noisy_charge_tiles_draw_their_own_noise():
    # kT/C noise is sampled on every column whatever the inputs, so a tile whose lines are
    # all idle for a vector still adds its own draw to it (the forward pass may not give
    # every idle vector one shared draw). Inputs on the first 16 lines only: with 48 lines
    # (3 row blocks, 2 of them idle) the outputs' noise variance over identical vectors is
    # 3x that of the 16-line layer alone. 2000 vectors: the ratio's standard error is ~4 %,
    # so [2.5, 3.5] holds it; a shared draw would give 1.
    spec = charge_spec(noise="ktc", c_cell=1e-16, c_par=1e-16)
    rng = np.random.default_rng(5)
    w1 = rng.uniform(-1, 1, (16, 7))
    w1[0, 0] = 1.0  # the same scale with the extra rows
    w3 = np.vstack([w1, rng.uniform(-0.9, 0.9, (32, 7))])
    x1 = np.tile(rng.uniform(0.2, 1.0, 16), (2000, 1))
    x3 = np.hstack([x1, np.zeros((2000, 32))])
    one = HardwareMatMul(spec, input_ranges={0: 1.0})(0, x1, w1)
    three = HardwareMatMul(spec, input_ranges={0: 1.0})(0, x3, w3)
    ratio = three.var(axis=0) / one.var(axis=0)
    assert np.all((ratio > 2.5) & (ratio < 3.5)), ratio


@pytest.mark.torch
def test_a_torch_model_converts_onto_charge_tiles():
    # cimspice.torch.convert on a 1C spec: the converted model's forward pass is the numpy
    # HardwareMatMul's on the same tiles (no noise: equal to float rounding, the torch path
    # running the tiles' numpy law on the host), and gradients reach the weights (straight
    # through the tiles' ideal law).
    import torch

    from cimspice.torch import convert

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(20, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    spec = charge_spec(dac_bits=4, adc_bits=6, adc_full_scale=0.3, mismatch=0.01)
    hw = convert(net, spec)  # each batch's own input ranges, as the numpy pass's below
    x = torch.rand(6, 20)
    y = hw(x)
    mm = HardwareMatMul(spec)
    w0 = net[0].weight.detach().numpy().T
    h = np.maximum(mm(0, x.numpy().astype(float), w0) + net[0].bias.detach().numpy(), 0)
    w2 = net[2].weight.detach().numpy().T
    expected = mm(2, h, w2) + net[2].bias.detach().numpy()
    assert y.detach().numpy() == pytest.approx(expected, abs=1e-5 * np.abs(expected).max())
    y.sum().backward()  # on the converted copy's parameters
    grads = [p.grad for p in hw.parameters() if p.ndim == 2]
    assert grads and all(g is not None and torch.any(g != 0) for g in grads)
