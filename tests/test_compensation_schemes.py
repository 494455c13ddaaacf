"""Column calibration, reference columns, partitioning, input scaling and write-verify: each
reduces the error it targets in ngspice, and changes nothing on an ideal array."""

import numpy as np
import pytest
from conftest import make_spec

from cimspice.compensation import column_calibration as cc
from cimspice.compensation import default_targets, evaluate_scheme
from cimspice.compensation import input_scaling as ins
from cimspice.compensation import partitioning as pt
from cimspice.compensation import reference_column as rc
from cimspice.compensation import write_verify as wv
from cimspice.compensation.tile import Bench
from cimspice.errors import InputError
from cimspice.spec import spec_from_dict

WIRES = {"r_row": 2.0, "r_col": 2.0}


def tia_spec(n=16):
    return spec_from_dict(
        {
            "array": {"rows": n, "cols": n},
            "wire": WIRES,
            "readout": {
                "kind": "tia",
                "r_f": 2e3,
                "gain": 200.0,  # a 0.5% gain error
                "v_offset": 5e-3,  # drives v_offset * sum_i G_ij through each column
                "adc_bits": 10,
                "adc_full_scale": 0.5,
            },
        }
    )


# ----- column calibration -----


@pytest.mark.ngspice
def test_column_calibration_removes_readout_gain_and_offset_in_ngspice():
    spec = tia_spec()
    g = np.random.default_rng(0).uniform(1e-6, 100e-6, (16, 16))
    report = evaluate_scheme(cc.CalibrationParams(), spec, g, engine="ngspice", batch=16)
    # before: offset (~5%) + finite gain (0.5%) + IR drop; after: what is not affine per
    # column (the row-dependent IR drop, ~0.3%) and the 10-bit ADC's LSB (1 mV of ~0.2 V).
    assert report.error_before > 0.03
    assert report.error_after < report.error_before / 5
    assert report.energy_after.digital > report.energy_before.digital  # the correction costs


def test_column_calibration_changes_nothing_on_an_ideal_array():
    spec = make_spec(8, 6)
    g = default_targets(spec)
    cal = cc.calibrate(Bench(spec, g, engine="nodal").baseline, g)
    # gain 1 and offset 0 to the nodal solve's round-off
    np.testing.assert_allclose(cal.gain, 1.0, rtol=1e-12)
    np.testing.assert_allclose(cal.offset, 0.0, atol=1e-12 * float(g.sum()) * 0.2)
    report = evaluate_scheme(cc.CalibrationParams(), spec, g, engine="nodal", batch=4)
    assert report.error_after < 1e-12


def test_the_fit_recovers_a_known_gain_and_offset():
    rng = np.random.default_rng(2)
    ideal = rng.uniform(0, 1e-4, (6, 5))
    gain, offset = rng.uniform(0.9, 1.1, 5), rng.uniform(-1e-6, 1e-6, 5)
    cal = cc.fit(ideal, ideal * gain + offset)
    np.testing.assert_allclose(cal.gain, gain, rtol=1e-10)
    np.testing.assert_allclose(cal.apply(ideal * gain + offset), ideal, atol=1e-16)
    with pytest.raises(InputError, match="do not vary"):
        cc.fit(np.ones((4, 5)), np.ones((4, 5)))
    with pytest.raises(InputError, match=">= 2"):
        cc.CalibrationParams(vectors=1)


# ----- reference columns -----


def window_spec(n=16, **wires):
    # a 10:1 on/off window: the g_min floor is a tenth of the largest weight's conductance
    return spec_from_dict(
        {
            "array": {"rows": n, "cols": n},
            "wire": wires,
            "device": {"g_min": 10e-6, "g_max": 100e-6},
        }
    )


@pytest.mark.ngspice
def test_reference_columns_cancel_the_floor_and_its_ir_drop_in_ngspice():
    spec = window_spec(**WIRES)
    g = np.random.default_rng(0).uniform(10e-6, 100e-6, (16, 16))
    dummy, pairs = (
        evaluate_scheme(rc.ReferenceParams(mode), spec, g, engine="ngspice", batch=16)
        for mode in ("dummy", "differential")
    )
    # Before, the tile read as it is against V @ G: the floor g_min * sum(V) is exact in the
    # reference, so what differs is the IR drop of every current, the floor's included (2.6%
    # of full scale here). The dummy column removes the floor's share of it as the array
    # produced it (to 2.5%, nodal); the pairs' word lines are twice as long, and their IR
    # drop costs more than the closer reference gains on a 16x16 tile (3.9%).
    assert dummy.error_before == pairs.error_before > 0.02
    assert dummy.error_after < dummy.error_before
    assert pairs.error_after > dummy.error_after
    # in the weights' frame (data - reference against V @ (G - g_min)) the same order holds
    frame = "weights' frame, error {}"
    assert dummy.details[frame.format("after")] < dummy.details[frame.format("before")]
    assert (dummy.extra_columns, dummy.extra_cells) == (1, 16)
    assert (pairs.extra_columns, pairs.extra_cells) == (16, 256)


@pytest.mark.parametrize("mode", ["dummy", "differential"])
def test_reference_columns_are_exact_on_an_ideal_array(mode):
    spec = window_spec(n=8)
    g = np.random.default_rng(1).uniform(10e-6, 100e-6, (8, 8))
    report = evaluate_scheme(rc.ReferenceParams(mode), spec, g, engine="nodal", batch=4)
    # no wires: data - reference is V @ (G - g_min) and the floor added back is exact, both
    # to the nodal solve's round-off (~1e-15 of full scale)
    assert report.error_before < 1e-12 and report.error_after < 1e-12


def test_layout_places_reference_columns():
    spec = window_spec(n=3)
    g = np.full((3, 3), 50e-6)
    lay = rc.layout(spec, g, "differential")
    assert lay.spec.cols == 6
    np.testing.assert_array_equal(lay.conductances[:, 1::2], 10e-6)
    out = np.arange(12.0).reshape(2, 6)
    np.testing.assert_array_equal(rc.cancel(out, lay), -np.ones((2, 3)))
    with pytest.raises(InputError, match="unknown mode"):
        rc.ReferenceParams(mode="triple")


# ----- partitioning -----


@pytest.mark.ngspice
def test_partitioning_reduces_the_ir_drop_in_ngspice():
    spec = make_spec(32, 32, **WIRES)
    g = default_targets(spec)
    report = evaluate_scheme(pt.PartitionParams(16, 16), spec, g, engine="ngspice", batch=8)
    # IR drop grows about with the square of the line length: halving both leaves ~1/3
    assert report.error_after < report.error_before / 2
    assert report.extra_adcs == 32  # a second block of rows needs its own ADC per column
    assert report.details["tiles"] == 4


def test_error_falls_with_tile_size_and_converters_rise():
    spec = make_spec(24, 24, **WIRES)
    g = default_targets(spec)
    reports = pt.sweep(spec, g, [24, 12, 6], engine="nodal", batch=4)
    errors = [r.error_after for r in reports]
    assert errors[0] > errors[1] > errors[2]
    assert [r.extra_adcs for r in reports] == [0, 24, 72]


def test_partitioning_changes_nothing_on_an_ideal_array():
    spec = make_spec(10, 7)
    g = default_targets(spec)
    report = evaluate_scheme(pt.PartitionParams(4, 3), spec, g, engine="nodal", batch=4)
    assert report.error_before < 1e-12 and report.error_after < 1e-12


# ----- input scaling -----


def sinh_spec(n=16, r=0.5):
    return spec_from_dict(
        {
            "array": {"rows": n, "cols": n},
            "wire": {"r_row": r, "r_col": r},
            "device": {"iv": "sinh", "v0": 0.2},
        }
    )


@pytest.mark.ngspice
@pytest.mark.parametrize(
    ("params", "factor"),
    [
        # sinh(x)/x - 1 falls as s^2: at s = 0.25, 16x less nonlinearity (minus the IR drop)
        (ins.InputScalingParams("scale", scale=0.25), 5),
        # binary planes see one voltage: the nonlinearity becomes a known gain
        (ins.InputScalingParams("bit-serial", bits=8), 5),
    ],
)
def test_input_scaling_reduces_the_nonlinearity_error_in_ngspice(params, factor):
    spec = sinh_spec()
    g = np.random.default_rng(0).uniform(1e-6, 100e-6, (16, 16))
    report = evaluate_scheme(params, spec, g, engine="ngspice", batch=8)
    assert report.error_before > 0.05  # up to sinh(1) - 1 = 17.5% at v_read = v0
    assert report.error_after < report.error_before / factor
    assert report.cycles_after == (params.bits if params.mode == "bit-serial" else 1)


def test_input_scaling_changes_nothing_on_an_ideal_array():
    spec = make_spec(8, 8)
    g = default_targets(spec)
    report = evaluate_scheme(ins.InputScalingParams(), spec, g, engine="nodal", batch=4)
    assert report.error_before < 1e-12 and report.error_after < 1e-12


def test_bit_planes_rebuild_the_quantised_inputs():
    v = np.array([[0.0, 0.2, 0.1, 0.0371]])
    planes, weights = ins.bit_planes(v, 0.2, 8, 0.05)
    assert set(np.unique(planes)) <= {0.0, 0.05}
    rebuilt = np.einsum("b,bkr->kr", weights / 0.05, planes)
    np.testing.assert_allclose(rebuilt, np.round(v / 0.2 * 255) * 0.2 / 255, rtol=1e-12)
    with pytest.raises(InputError, match=">= 0"):
        ins.bit_planes(-v, 0.2, 8, 0.05)


# ----- the registry -----


def test_unknown_scheme_and_parameter_are_named():
    spec = make_spec(4, 4)
    g = default_targets(spec)
    with pytest.raises(InputError, match="known schemes: ir-predistort, column-calibration"):
        evaluate_scheme("magic", spec, g)
    with pytest.raises(InputError, match="takes no parameter bits"):
        evaluate_scheme("partitioning", spec, g, bits=4)


# ----- write-verify -----


@pytest.mark.ngspice
def test_write_verify_reduces_the_programming_error_in_ngspice():
    spec = make_spec(16, 16, **WIRES)
    g = default_targets(spec)
    params = wv.WriteVerifyParams(tol=0.005)
    report = evaluate_scheme(params, spec, g, engine="ngspice", batch=8)
    # single shot: 5% of the window per cell; verified: within 0.5%, on top of the tile's
    # own IR drop (1.7% of full scale at 16x16, which programming cannot remove: it is the
    # error before, with the targets programmed exactly)
    single = report.details["single-shot error (no verify)"]
    assert report.error_after < single / 2
    assert report.error_before < report.error_after < 1.5 * report.error_before
    assert report.details["cells outside tolerance"] == 0


def test_write_verify_meets_its_tolerance_and_pulses_rise_as_it_tightens():
    spec = make_spec(20, 20)
    g = default_targets(spec)
    window = spec.device.g_max - spec.device.g_min
    mean_pulses = []
    for tol in (0.02, 0.005):
        prog = wv.program(spec, g, wv.WriteVerifyParams(tol=tol))
        assert np.all(np.abs(prog.verified - g) <= tol * window * (1 + 1e-12))
        assert np.all((prog.verified >= spec.device.g_min) & (prog.verified <= spec.device.g_max))
        mean_pulses.append(prog.pulses.mean())
    assert mean_pulses[1] > mean_pulses[0]


def test_write_verify_changes_nothing_when_programming_is_exact():
    spec = make_spec(6, 6)
    g = default_targets(spec)
    prog = wv.program(spec, g, wv.WriteVerifyParams(sigma_program=0.0))
    np.testing.assert_array_equal(prog.verified, g)
    assert prog.pulses.sum() == 0 and prog.energy == 0.0
