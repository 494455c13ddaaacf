"""The compensation contract: every scheme is measured one way, on every tile kind.

Same tile, same targets, same held-out inputs: the same error "before" for every scheme, and
it is the tile's output as the digital side sees it (the ADC's values; a TIA's through its
nominal gain ``-1 / r_f``) against the ideal ``V @ G`` of the DAC's levels, recomputed here
apart from the compensation package (through :func:`cimspice.simulate` and by hand). A scheme
either works on a tile (passive, sinh, 1S1R, 1T1R cells; ideal or TIA readouts) or refuses
it naming the spec key.
"""

import json
import re

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.compensation import (
    MEASURING_ENGINES,
    SCHEME_NAMES,
    SCHEMES,
    default_targets,
    evaluate_scheme,
    make_scheme,
)
from cimspice.compensation import input_scaling as ins
from cimspice.compensation import write_verify as wv
from cimspice.compensation.tile import Bench
from cimspice.errors import InputError
from cimspice.metrics import max_error
from cimspice.simulation import ENGINES, simulate
from cimspice.spec import spec_from_dict
from cimspice.studies.schemes import scheme_case

BATCH, SEED = 24, 5
WIRES = {"r_row": 2.0, "r_col": 2.0}
ADC6 = {"adc_bits": 6}
TIA = {"kind": "tia", "r_f": 2e3, "gain": 1e3, "v_offset": 2e-3}

TILES = {
    # name: (spec, engine). ADC full scales sit ~1.5x above the largest ideal output, so
    # that one 6-bit step (1/31 of full scale) is a few percent of it.
    "passive+dac+adc": (
        {"driver": {"dac_bits": 5}, "readout": {**ADC6, "adc_full_scale": 150e-6}},
        "nodal",
    ),
    "sinh+adc": (
        {"device": {"iv": "sinh", "v0": 0.2}, "readout": {**ADC6, "adc_full_scale": 150e-6}},
        "nodal",
    ),
    "1s1r+adc": (
        {
            "array": {"cell": "1S1R"},
            "driver": {"v_read": 1.0},
            "readout": {**ADC6, "adc_full_scale": 600e-6},
        },
        "nodal",
    ),
    "tia+adc": ({"readout": {**TIA, **ADC6, "adc_full_scale": 0.3}}, "ngspice"),
    "1t1r+tia+adc": (
        {"array": {"cell": "1T1R"}, "readout": {**TIA, **ADC6, "adc_full_scale": 0.3}},
        "ngspice",
    ),
}

REFUSED = {
    # (tile, scheme): the spec key the refusal names
    ("sinh+adc", "ir-predistort"): "device.iv = 'sinh'",
    ("1s1r+adc", "ir-predistort"): "array.cell = '1S1R'",
    ("tia+adc", "ir-predistort"): "readout.kind = 'tia'",
    ("1t1r+tia+adc", "ir-predistort"): "array.cell = '1T1R'",
}


def tile_spec(name, n=12):
    extra, _ = TILES[name]
    array = {"rows": n, "cols": n, **extra.get("array", {})}
    return spec_from_dict({**extra, "array": array, "wire": WIRES})


def held_out(spec):
    return np.random.default_rng(SEED).uniform(0.0, spec.driver.v_read, (BATCH, spec.rows))


def dac_levels(spec, v):
    bits = spec.driver.dac_bits
    if not bits:
        return v
    step = spec.driver.v_read / (2**bits - 1)  # unsigned: 2^N levels over [0, v_read]
    return np.round(np.clip(v, 0.0, spec.driver.v_read) / step) * step


def seen_by_digital_side(spec, g, v, engine):
    """Ampere: the ADC's values (through -1 / r_f after a TIA), and the ideal V @ G."""
    result = simulate(spec, g, v, engine=engine)
    seen = result.digital
    if spec.has_tia:
        seen = -seen / spec.readout.r_f
    return seen, dac_levels(spec, v) @ g


def lsb_over_full_scale(spec, reference):
    """One ADC step in amperes over the reference's full scale."""
    lsb = spec.readout.adc_full_scale / (2 ** (spec.readout.adc_bits - 1) - 1)
    if spec.has_tia:
        lsb /= spec.readout.r_f
    return lsb / np.max(np.abs(reference))


def marks(name):
    return [pytest.mark.ngspice] if TILES[name][1] == "ngspice" else []


@pytest.mark.parametrize("scheme", SCHEME_NAMES)
@pytest.mark.parametrize("tile", [pytest.param(t, marks=marks(t)) for t in TILES])
def test_every_scheme_has_the_same_before_measured_as_the_digital_side_sees_it(tile, scheme):
    spec = tile_spec(tile)
    engine = TILES[tile][1]
    g = default_targets(spec, seed=1)
    run = {"engine": engine, "batch": BATCH, "seed": SEED}
    if (tile, scheme) in REFUSED:
        with pytest.raises(InputError, match=re.escape(REFUSED[tile, scheme])):
            evaluate_scheme(scheme, spec, g, **run)
        return
    report = evaluate_scheme(scheme, spec, g, **run)
    seen, ideal = seen_by_digital_side(spec, g, held_out(spec), engine)
    # The same engine on the same deck and inputs gives the same ADC codes: equal but for
    # the order of floating-point sums (none differs here; 1e-12 leaves room for one).
    assert report.error_before == pytest.approx(max_error(seen, ideal), rel=1e-12)
    np.testing.assert_allclose(report.reference, ideal, rtol=1e-12)
    # what every tile here shows before: IR drop, nonlinearity, readout and the ADC's step
    assert report.error_before > lsb_over_full_scale(spec, ideal) / 2 * 0.5
    assert np.isfinite(report.error_after) and report.energy_after.total > 0


def test_predistortion_is_measured_through_the_adc():
    # The case: on a 6-bit ADC tile the old report gave an "after" of 1.75e-11,
    # the raw currents' residual; the digital side sees the ADC's step.
    spec = tile_spec("passive+dac+adc", n=16)
    g = default_targets(spec, seed=1)
    report = evaluate_scheme("ir-predistort", spec, g, engine="nodal", batch=BATCH, seed=SEED)
    half_step = lsb_over_full_scale(spec, report.reference) / 2
    # Pre-distortion leaves the iteration's residual (1e-9 of full scale) and the ADC's
    # rounding (at most half a step, nearly reached by one of 384 outputs): the error after
    # is half a step, to the residual.
    assert 0.5 * half_step < report.error_after <= half_step + 1e-7
    assert report.error_before > report.error_after  # the IR drop (1.7%) adds to the rounding


@pytest.mark.parametrize(
    "tile", [pytest.param(t, marks=marks(t)) for t in ("passive+dac+adc", "tia+adc")]
)
def test_write_verify_reads_the_verified_tile_through_the_adc(tile):
    spec = tile_spec(tile, n=8)
    g = default_targets(spec, seed=2)
    report = evaluate_scheme(
        wv.WriteVerifyParams(), spec, g, engine=TILES[tile][1], batch=8, seed=SEED
    )
    lsb = lsb_over_full_scale(spec, report.reference) * np.max(np.abs(report.reference))
    steps = report.outputs_after / lsb
    # every output is an ADC code (times its step): the digital side's view, not a current
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    assert report.details["single-shot error (no verify)"] > report.error_after


@pytest.mark.parametrize(
    ("cell", "key"), [("1S1R", "array.cell = '1S1R'"), ("1T1R", "array.cell = '1T1R'")]
)
def test_bit_serial_refuses_cells_without_a_two_terminal_law(cell, key):
    spec = spec_from_dict({"array": {"rows": 4, "cols": 4, "cell": cell}})
    g = default_targets(spec)
    serial = ins.InputScalingParams(mode="bit-serial")
    with pytest.raises(InputError, match=f"bit-serial .* {re.escape(key)}"):
        evaluate_scheme(serial, spec, g, engine="nodal", batch=2)
    ins.InputScalingParams(mode="scale").check_tile(spec)  # scaling works on every tile


def test_bench_refuses_what_it_cannot_measure():
    spec = tile_spec("passive+dac+adc", n=4)
    g = default_targets(spec)
    with pytest.raises(InputError, match="not 'surrogate'"):
        Bench(spec, g, engine="surrogate")
    with pytest.raises(InputError, match="batch must be >= 1"):
        Bench(spec, g, engine="nodal", batch=0)
    integrator = spec_from_dict(
        {"array": {"rows": 4, "cols": 4}, "readout": {"kind": "integrator"}}
    )
    with pytest.raises(InputError, match=r"readout\.kind = 'integrator'"):
        Bench(integrator, g, engine="nodal")
    with pytest.raises(InputError, match="in its object"):
        evaluate_scheme(wv.WriteVerifyParams(), spec, g, engine="nodal", tol=0.1)


def test_the_registry_names_every_scheme_and_the_measuring_engines():
    assert MEASURING_ENGINES == tuple(n for n, e in ENGINES.items() if e.linear_exact)
    for name, entry in SCHEMES.items():
        assert entry.load().name == name
        assert make_scheme(name).name == name


def test_every_scheme_has_a_network_form_or_says_why_not():
    array = {"rows": 64, "cols": 64}
    noisy = spec_from_dict({"array": array, "nonideal": {"prog_noise_rel": 0.05}})
    for name in SCHEME_NAMES:
        case = scheme_case(make_scheme(name), noisy)
        assert case.schemes == (name,)
    assert (
        scheme_case(make_scheme("partitioning", tile_rows=32, tile_cols=16), noisy).spec.cols == 16
    )
    tight = scheme_case(make_scheme("write-verify", tol=0.01), noisy).spec.nonideal.verify_tol
    assert tight == pytest.approx(0.01 * (noisy.device.g_max - noisy.device.g_min))
    with pytest.raises(InputError, match="write-verify needs programming noise"):
        scheme_case(make_scheme("write-verify"), spec_from_dict({"array": array}))


def test_compensate_command_reports_what_the_digital_side_sees(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        "[array]\nrows = 16\ncols = 16\n[wire]\nr_row = 2.0\nr_col = 2.0\n"
        "[readout]\nadc_bits = 6\nadc_full_scale = 150e-6\n"
    )
    out = tmp_path / "report.json"
    args = ["compensate", str(spec), "--scheme", "ir-predistort", "--engine", "nodal"]
    assert main([*args, "--batch", "16", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    # one 6-bit step is 150 uA / 31 = 4.8 uA; the largest ideal output here is ~90 uA, so
    # half a step is ~2.7% of full scale: the error after is of that order, not 1e-11
    assert 0.01 < data["error_after"] < 0.04
    assert data["error_before"] > data["error_after"]
