"""Networks on charge tiles: bit-sliced weights, the digital recombination, and the ngspice
backend against the surrogate at layer level."""

import numpy as np
import pytest

from cimspice.charge.engine import ChargeEngine
from cimspice.errors import InputError
from cimspice.nn.zoo import builtin_model
from cimspice.spec import spec_from_dict
from cimspice.studies.charge_network import ChargeMatMul, slice_weights
from cimspice.studies.evaluate import samples_of


def charge_spec(rows=16, cols=24, weight_bits=6, **charge):
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols, "cell": "1C"},
            "driver": {"v_read": 0.8, "dac_bits": charge.pop("dac_bits", 0)},
            "charge": {"input_mode": "multi-level", "c_par": 5e-15, **charge},
            "mapping": {"weight_bits": weight_bits},
        }
    )


def quantised(w, bits):
    top = 2 ** (bits - 1) - 1
    scale = np.abs(w).max()
    return np.rint(w / scale * top) * scale / top


def test_slices_add_back_to_the_quantised_weights():
    w = np.array([[0.5, -1.0, 0.26], [0.0, 0.74, -0.1]])
    sliced, scale, top = slice_weights(w, 4)  # 3 magnitude bits: 6 columns per output
    assert sliced.shape == (2, 3 * 6) and set(np.unique(sliced)) <= {0.0, 1.0}
    parts = sliced.reshape(2, 3, 2, 3) @ (2.0 ** np.arange(3))
    assert (parts[..., 0] - parts[..., 1]) * scale / top == pytest.approx(quantised(w, 4))
    with pytest.raises(InputError, match="weight_bits >= 2"):
        slice_weights(w, 1)


def test_ideal_charge_tiles_compute_the_quantised_product():
    # No mismatch, no noise, no ADC, exact inputs: the tiles (3 row blocks, 3 column blocks
    # with padding) and the digital recombination give x @ q(W) to rounding.
    spec = charge_spec()
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(40, 7)), rng.uniform(-1, 1, (5, 40))
    mm = ChargeMatMul(spec)
    exact = x @ quantised(w, 6)
    assert mm(0, x, w) == pytest.approx(exact, abs=1e-12 * np.abs(exact).max())
    assert len(mm.layers[0].tiles) == 3 * 3  # 70 bit columns over 24-column tiles
    s = mm.summary()
    assert s["macs"] == 5 * 40 * 7 and s["energy_per_mac"] > s["array_per_mac"] > 0


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
    spice = ChargeMatMul(spec, engine=ChargeEngine())(0, x, w)
    model = ChargeMatMul(spec)(0, x, w)
    assert spice == pytest.approx(model, abs=1e-9 * np.abs(model).max())


def test_digits_mlp_on_charge_tiles_keeps_its_accuracy():
    # 8-bit weights and inputs (bit-serial), an 8-bit ADC whose full scale is a quarter of
    # the largest swing, 0.5 % capacitor mismatch, kT/C noise: a few points at most below
    # the exact network on 500 held-out digits (each sample is 0.2 %).
    model, data = builtin_model("digits-mlp")
    x, y = samples_of(data, "test")
    x, y = x[:500], y[:500]
    spec = spec_from_dict(
        {
            "array": {"rows": 64, "cols": 64, "cell": "1C"},
            "driver": {"v_read": 0.8, "dac_bits": 8},
            "charge": {"mismatch": 0.005, "c_par": 10e-15, "adc_bits": 8, "adc_full_scale": 0.2},
            "mapping": {"weight_bits": 8},
        }
    )
    ideal = np.mean(model.predict(x) == y)
    mm = ChargeMatMul(spec, engine=ChargeEngine(surrogate="nominal", noise=True, seed=0))
    hw = np.mean(model.predict(x, mm) == y)
    assert hw >= ideal - 0.03
    assert 0 < mm.summary()["energy_per_mac"] < 1e-11


def test_the_conductance_path_refuses_charge_tiles_by_name():
    from cimspice.mapping.matmul import HardwareMatMul

    with pytest.raises(InputError, match="ChargeMatMul"):
        HardwareMatMul(charge_spec())
    with pytest.raises(InputError, match='"1C"'):
        ChargeMatMul(spec_from_dict({"array": {"rows": 4, "cols": 4}}))
