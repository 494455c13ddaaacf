"""The word-line DAC and the bit-line ADC (behavioural)."""

import numpy as np
import pytest

from cimspice.converters import adc, dac
from cimspice.errors import SpecError
from cimspice.metrics import max_error
from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict


def spec_with(driver=None, readout=None, rows=6, cols=5):
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "driver": {"v_read": 0.2, **(driver or {})},
            "readout": readout or {},
        }
    )


def test_dac_levels_and_clipping():
    spec = spec_with({"dac_bits": 2})  # 4 levels over [0, 0.2]: 0, 0.2/3, 0.4/3, 0.2
    v = np.array([-0.1, 0.0, 0.03, 0.04, 0.11, 0.19, 0.5])
    np.testing.assert_allclose(dac(spec, v), [0, 0, 0, 0.2 / 3, 0.4 / 3, 0.2, 0.2])
    # signed, mid-tread: 2^3 - 1 = 7 levels k * 0.2 / 3, |k| <= 3, and 0 V among them
    signed = spec_with({"dac_bits": 3, "dac_signed": True})
    got = dac(signed, np.array([-0.3, -0.05, -1e-4, 0.0, 1e-4, 0.05, 0.3]))
    np.testing.assert_allclose(got, [-0.2, -0.2 / 3, 0, 0, 0, 0.2 / 3, 0.2], atol=1e-15)
    for bits in (2, 5, 8):
        assert dac(spec_with({"dac_bits": bits, "dac_signed": True}), np.zeros(3)).tolist() == [
            0,
            0,
            0,
        ]
    assert dac(spec_with(), v) is v  # no DAC: untouched


def test_adc_codes_reconstruction_and_clipping():
    spec = spec_with(readout={"adc_bits": 3, "adc_full_scale": 3e-4})  # codes -3..3, 0.1 mA
    codes, values = adc(spec, np.array([-1e-3, -0.14e-3, 0.0, 0.049e-3, 0.051e-3, 0.26e-3, 1e-3]))
    assert codes.tolist() == [-3, -1, 0, 0, 1, 3, 3]
    np.testing.assert_allclose(values, np.array(codes) * 1e-4)


def test_engines_drive_the_dac_levels_and_report_adc_codes():
    rng = np.random.default_rng(1)
    g = rng.uniform(1e-6, 1e-4, (6, 5))
    v = rng.uniform(0, 0.2, (4, 6))
    spec = spec_with({"dac_bits": 3}, {"adc_bits": 8, "adc_full_scale": 1e-3})
    quantised = dac(spec, v)
    nodal = simulate(spec, g, v, engine="nodal")
    exact = simulate(spec_with(), g, quantised, engine="nodal")
    assert max_error(nodal.currents, exact.currents) < 1e-14  # the DAC's levels, exactly
    assert nodal.codes is not None and nodal.codes.dtype.kind == "i"
    # the digital value is within half an LSB of the analogue current
    assert np.max(np.abs(nodal.digital - nodal.currents)) <= 0.5 * 1e-3 / 127 + 1e-18
    ideal = simulate(spec, g, v, engine="ideal")
    np.testing.assert_allclose(ideal.currents, v @ g)  # the reference stays exact


@pytest.mark.ngspice
def test_ngspice_with_converters_matches_nodal():
    rng = np.random.default_rng(2)
    g = rng.uniform(1e-6, 1e-4, (6, 5))
    v = rng.uniform(0, 0.2, (3, 6))
    spec = spec_with({"dac_bits": 4}, {"adc_bits": 10, "adc_full_scale": 1e-3})
    spice = simulate(spec, g, v, engine="ngspice")
    nodal = simulate(spec, g, v, engine="nodal")
    assert max_error(nodal.currents, spice.currents) < 1e-9
    # identical codes except where a current sits within round-off of a code boundary
    assert np.mean(spice.codes == nodal.codes) > 0.99


@pytest.mark.parametrize(
    ("section", "values", "key"),
    [
        ("driver", {"dac_bits": 25}, "driver.dac_bits"),
        ("driver", {"dac_bits": 1, "dac_signed": True}, "driver.dac_bits"),
        ("driver", {"dac_signed": 1}, "driver.dac_signed"),
        ("readout", {"adc_bits": 1, "adc_full_scale": 1.0}, "readout.adc_bits"),
        ("readout", {"adc_bits": 8}, "readout.adc_full_scale"),
    ],
)
def test_bad_converter_settings(section, values, key):
    with pytest.raises(SpecError) as info:
        spec_from_dict({"array": {"rows": 1, "cols": 1}, section: values})
    assert info.value.key == key


def test_calibration_fits_what_the_dacs_drive():
    # Training currents made with a 3-bit DAC (by the nodal engine, which drives the DAC's
    # levels like ngspice does): the fit must recover the 2 ohm wires, i.e. use the DAC's
    # levels too, not the raw inputs.
    from cimspice.surrogate.calibrate import fit_params
    from cimspice.sweep import Case, CaseResult

    spec = spec_with({"dac_bits": 3})
    rng = np.random.default_rng(4)
    training = []
    for k in range(3):
        g = rng.uniform(1e-6, 1e-4, (6, 5))
        v = rng.uniform(0, 0.2, (6, 6))
        out = simulate(spec, g, v, engine="nodal")
        training.append(CaseResult(Case(f"c{k}", g, v), out.currents, out.power))
    params, info = fit_params(spec, training)
    assert info["train_nrmse"] < 1e-9
    np.testing.assert_allclose(params.as_array()[:4], [2.0, 2.0, 2.0, 2.0], atol=1e-4)
