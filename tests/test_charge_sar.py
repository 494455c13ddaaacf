"""The capacitive SAR ADC of a charge-domain column at transistor level, in ngspice: its codes
against the ideal quantiser over a ramp, its energy per conversion, and its sampling
capacitance on the column."""

import numpy as np
import pytest

from cimspice.charge.capacitors import cell_capacitances
from cimspice.charge.closed_form import shared_voltage
from cimspice.charge.run import run_cycles
from cimspice.charge.sar import energy_per_conversion, reference_levels, run_sar
from cimspice.converters import charge_adc
from cimspice.errors import InputError, SpecError
from cimspice.spec import spec_from_dict


def sar_spec(**charge):
    return spec_from_dict(
        {
            "array": {"rows": 4, "cols": 2, "cell": "1C"},
            "charge": {
                "input_mode": "multi-level",
                "adc": "sar",
                "adc_bits": 4,
                "adc_full_scale": 0.15,
                "sar_c_unit": 2e-15,
                "v_reset": 0.1,
                **charge,
            },
        }
    )


@pytest.mark.ngspice
def test_sar_codes_match_the_ideal_quantiser_over_a_ramp():
    # A 4-bit SAR (2 fF units, StrongARM of the 65 nm cards) converts a ramp from one LSB
    # below its range to one above, two points per LSB, each a quarter LSB from a code
    # edge: every code within 1 LSB of the behavioural quantiser's (the references put the
    # SAR's floor on its rounding), and nearly all equal (the comparator's offset and
    # unresolved band may move an edge: at most 1 in 8 codes may differ).
    spec = sar_spec()
    _, _, lsb = reference_levels(spec)
    swing = np.arange(-0.75 * lsb, 0.15 + lsb, lsb / 2)
    run = run_sar(spec, 0.1 + swing)
    ideal, _ = charge_adc(spec, swing)
    assert run.codes.min() == 0 and run.codes.max() == 15  # the whole range is exercised
    assert np.abs(run.codes - ideal).max() <= 1
    assert np.mean(run.codes == ideal) >= 7 / 8
    # energy per conversion from the references', v_cm's and the comparator's supply
    # currents: positive every time, of the order of 4 comparator decisions and the
    # DAC's C V^2 (tens of fJ), and the same figure energy_per_conversion reports
    assert np.all(run.energy > 0)
    assert 1e-15 < np.mean(run.energy) < 1e-12
    e = energy_per_conversion(spec)
    assert e == pytest.approx(np.mean(run.energy), rel=0.5)


@pytest.mark.ngspice
def test_the_sars_sampling_capacitance_joins_the_column():
    # With the SAR, each column carries its 2^N units (32 fF) from the reset on: the MAC
    # cycle's deck has them, and ngspice's swing is the closed form's with c_par + C_sar
    # (to 1e-6: ideal switches).
    spec = sar_spec(c_par=3e-15)
    assert spec.charge.c_column == pytest.approx(3e-15 + 16 * 2e-15)
    bits = np.array([[1, 0], [1, 1], [0, 1], [1, 1]], dtype=float)
    x = np.array([[0.1, 0.2, 0.05, 0.15]])
    caps = cell_capacitances(spec)
    run = run_cycles(spec, bits, x, caps=caps)
    expected = shared_voltage(caps, bits, x, spec.charge.c_column, v_reset=0.1)
    assert run.v_col == pytest.approx(expected, abs=1e-6 * np.abs(expected - 0.1).max())


def test_the_sar_refuses_what_it_cannot_convert():
    with pytest.raises(SpecError, match=r"charge\.adc"):
        spec_from_dict(
            {"array": {"rows": 2, "cols": 2, "cell": "1C"}, "charge": {"adc": "sar"}}
            | {"driver": {"dac_bits": 2}}
        )
    with pytest.raises(InputError, match="finite"):
        run_sar(sar_spec(), np.array([0.1, np.nan]))
    plain = sar_spec().replace({"charge.adc": "ideal"})
    with pytest.raises(InputError, match="sar"):
        reference_levels(plain)
