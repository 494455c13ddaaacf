"""The fast mode's TIA readout on nonlinear tiles (1T1R, sinh, 1S1R; behavioural and CMOS
op-amps), against ngspice and against the accurate mode."""

import warnings

import numpy as np
import pytest
from scipy.optimize import brentq

from cimspice.engines.cell_laws import memristor_law
from cimspice.errors import InputError, SurrogateError
from cimspice.metrics import max_error
from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict
from cimspice.surrogate.calibrate import calibrate, write_report
from cimspice.surrogate.fast_readout import BAND_TOL, FastTiaTile, TiaTable
from cimspice.surrogate.model import SurrogateEngine, TileParams, TileSurrogate
from cimspice.surrogate.prepared import ENVELOPE_FACTOR, rms_of
from cimspice.surrogate.readout import TiaReadout, measure_tia
from cimspice.surrogate.transistor_iv import measure_access_transistor

ROWS, COLS = 14, 10

KINDS = {
    # (cell, device, driver, readout)
    "1T1R behavioural": (
        "1T1R",
        {},
        {"v_read": 0.2},
        {"r_f": 2e3, "gain": 1e3, "v_offset": 1e-3},
    ),
    "1T1R cmos": ("1T1R", {}, {"v_read": 0.2}, {"opamp": "cmos", "r_f": 2e3, "i_bias": 50e-6}),
    "sinh behavioural": (
        "0T1R",
        {"iv": "sinh", "v0": 0.2},
        {"v_read": 0.3},
        {"r_f": 2e3, "gain": 300.0, "v_offset": 3e-3, "v_swing": 0.4, "r_in": 5.0},
    ),
    "sinh cmos": (
        "0T1R",
        {"iv": "sinh", "v0": 0.2},
        {"v_read": 0.2},
        {"opamp": "cmos", "r_f": 1e3, "i_bias": 60e-6},
    ),
    "1S1R behavioural": ("1S1R", {}, {"v_read": 1.0}, {"r_f": 5e3}),
}


def tile(kind, rows=ROWS, cols=COLS):
    cell, device, driver, readout = KINDS[kind]
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols, "cell": cell},
            "wire": {"r_row": 2.0, "r_col": 3.0},
            "device": device,
            "driver": driver,
            "readout": {"kind": "tia", **readout},
        }
    )


def nominal(spec):
    """The spec's own network (nothing fitted) with the parts ngspice measures: the access
    transistor's I-V and a CMOS op-amp's transfer."""
    transistor = None
    if spec.has_transistors:
        transistor = measure_access_transistor(spec, 1.25 * spec.driver.v_read)
    transfer = None
    if spec.has_cmos_opamps:  # every column current the cells' own law allows, with margin
        law = memristor_law(np.asarray(spec.device.g_max), spec.device.iv.value, spec.device.v0)
        top = float(law.current(np.asarray(spec.driver.v_read)))
        transfer = measure_tia(spec, 1.25 * spec.rows * top)
    return TileSurrogate(
        spec,
        TileParams.from_spec(spec),
        transistor=transistor,
        readout_transfer=transfer,
    )


def arrays(spec, batch=24, seed=1):
    rng = np.random.default_rng(seed)
    g = rng.uniform(spec.device.g_min, spec.device.g_max, (spec.rows, spec.cols))
    return g, rng.uniform(0.0, spec.driver.v_read, (batch, spec.rows))


# Measured fast-mode errors (max, fraction of full scale) against ngspice on these tiles:
# 1T1R 2.2e-4 to 5.7e-4 (the secant model's own error, ~1e-4 to 5e-4, and the loops
# linearised at uniform levels); sinh 1.2e-3 (the attenuation polynomials' 1e-3 and the
# sense node held 3-5 mV off ground by a gain-300 op-amp with a 3 mV offset: each cell's
# slope there taken from its input, the wires' share from the levels); 1S1R 1e-2, the fast
# mode's own error on these selector cells (6.9e-3 with ideal virtual grounds). Each bound
# below is about twice the measured figure.
TOLERANCE = {
    "1T1R behavioural": 1.5e-3,
    "1T1R cmos": 1e-3,
    "sinh behavioural": 3e-3,
    "sinh cmos": 3e-3,
    "1S1R behavioural": 2e-2,
}


@pytest.mark.ngspice
@pytest.mark.parametrize("kind", KINDS)
def test_fast_mode_reads_the_tias_of_every_nonlinear_tile(kind):
    spec = tile(kind)
    g, v = arrays(spec)
    spice = simulate(spec, g, v, engine="ngspice")
    assert spice.v_out is not None
    surrogate = nominal(spec)
    with warnings.catch_warnings():
        # over 0-1 V a 1S1R cell's law is steeper than the fast mode's polynomials follow
        # (it warns: 1.4% of the law's largest current): its bound below is that mode's error
        warnings.simplefilter("ignore" if spec.array.cell.value == "1S1R" else "error")
        fast = SurrogateEngine(surrogate, mode="fast").run(spec, g, v)
        base = surrogate.prepare(g, "fast")
    accurate = SurrogateEngine(surrogate).run(spec, g, v)
    assert fast.v_out is not None and accurate.v_out is not None
    assert max_error(fast.currents, spice.currents) <= TOLERANCE[kind]
    assert max_error(fast.v_out, spice.v_out) <= TOLERANCE[kind]
    # against the accurate mode (Newton on the same network, 2e-5 from ngspice): the same
    # bound, the fast mode's approximations being the whole difference
    assert max_error(fast.v_out, accurate.v_out) <= TOLERANCE[kind]
    # and the loops matter: ideal virtual grounds (-r_f I0 of the same fast model) miss
    # what the ADC reads by several times more
    assert isinstance(base, FastTiaTile)
    ideal_out = -spec.readout.r_f * base.base.currents(v)
    assert max_error(ideal_out, spice.v_out) > 3 * TOLERANCE[kind]


def test_the_folded_loops_are_the_tabulated_loops_inside_the_band():
    # sinh cells, a behavioural op-amp of gain 1e3: every output inside the linear band
    spec = tile("sinh behavioural", 12, 9)
    spec = spec_from_dict({**spec.to_dict(), "readout": {"kind": "tia", "r_f": 1e3, "gain": 1e3}})
    g, v = arrays(spec, batch=30, seed=3)
    prepared = TileSurrogate(spec, TileParams.from_spec(spec)).prepare(g, "fast")
    assert isinstance(prepared, FastTiaTile)
    currents, v_out = prepared.outputs(v)
    low, high = prepared.table.band
    assert np.all((v_out > low) & (v_out < high))
    # The same vectors through the slow path: Newton on each column's tabulated loop, the
    # other columns' pull to first order. Inside the band the table is its tangent to
    # BAND_TOL of the swing, and the two paths differ by that, by the pull's second order
    # (the folded path inverts 1 - h1 K exactly: (h1 K)^2 ~ 1e-6 here) and by how each
    # follows the level: the folded matrices as a straight line in it, the slow path's own
    # conductances between the two levels around the vector's (the loops take h1 d ~ 2e-3
    # of the currents, and sinh cells' slopes are not straight in the level): measured
    # 6.6e-5 of full scale; 2e-4 bounds it, a fifth of the fast mode's own error.
    base = prepared.base.currents(v)
    rms = rms_of(v)
    assert prepared.spread is not None
    slow_currents, slow_v_out = prepared._loops(base, rms, prepared.spread.excess(v, rms))
    assert max_error(v_out, slow_v_out) <= 2e-4
    assert max_error(currents, slow_currents) <= 2e-4


def test_saturated_columns_take_the_tabulated_loops():
    # the default TIA (10 kohm, +-1 V): on a 9x7 sinh tile driven to 0.3 V, 40% of the
    # outputs sit at the rails, far outside the linear band
    spec = tile("sinh behavioural", 9, 7)
    spec = spec_from_dict({**spec.to_dict(), "readout": {"kind": "tia"}})
    g, v = arrays(spec, batch=40, seed=0)
    surrogate = TileSurrogate(spec, TileParams.from_spec(spec))
    prepared = surrogate.prepare(g, "fast")
    assert isinstance(prepared, FastTiaTile)
    currents, v_out = prepared.outputs(v)
    accurate_currents, accurate_v_out = surrogate.prepare(g, "accurate").outputs(v)
    saturated = np.abs(accurate_v_out) > 0.95 * spec.readout.v_swing
    assert 0.2 < np.mean(saturated) < 0.8
    # What the ADC reads follows the accurate mode to the fast mode's own error (measured
    # 1.1e-3; 9e-4 with ideal virtual grounds): at the rails the output hardly depends on
    # the current. The currents themselves do not: with the sense node pushed 0.1-0.5 V off
    # ground the loops' first-order coupling misses by up to 1e-2 (measured 9.9e-3), which
    # the accurate mode is for.
    assert max_error(v_out, accurate_v_out) <= 3e-3
    assert max_error(currents, accurate_currents) <= 3e-2
    # at the rails the outputs agree closely (the op-amp's flat tails)
    assert np.max(np.abs(v_out - accurate_v_out)[saturated]) <= 1e-3 * spec.readout.v_swing


@pytest.mark.parametrize(
    ("kind", "readout", "narrow"),
    [
        pytest.param(
            "1T1R behavioural", {"r_f": 1e3, "gain": 1e3}, True, marks=pytest.mark.ngspice
        ),
        pytest.param("1T1R behavioural", {}, True, marks=pytest.mark.ngspice),
        ("sinh behavioural", {"r_f": 1e3, "gain": 1e3}, False),
    ],
    ids=["1T1R band", "1T1R rails", "sinh"],
)
def test_reading_the_first_columns_alone_gives_their_numbers(kind, readout, narrow):
    # a network reads a tile's used columns only (read(v, cols)). Where the other columns
    # cannot leave the linear band (1T1R tiles' spare columns at g_min), each read column's
    # output is its own column of the folded matrices and only those are computed
    # ("narrow"), a read column at the rails (the default TIA) taking every column's loop;
    # where the cells' slopes follow each vector (sinh) every column is read. Either way
    # the first columns' numbers are those of reading every column, to single precision's
    # rounding (a narrower matmul may sum in another order: 1e-6 of the swing bounds it)
    spec = tile(kind, 9, 7)
    spec = spec_from_dict({**spec.to_dict(), "readout": {"kind": "tia", **readout}})
    g, v = arrays(spec, batch=40, seed=0)
    g[:, 4:] = spec.device.g_min  # spare columns, as a network leaves them
    prepared = nominal(spec).prepare(g, "fast")  # 1T1R: the measured transistor's secants
    assert isinstance(prepared, FastTiaTile)
    every = prepared.read(v)
    low, high = prepared.table.band
    at_rails = bool(np.any((every[:, :4] < low) | (every[:, :4] > high)))
    assert at_rails == (readout == {})  # the loops' path is taken where it should be
    for cols in (1, 4, spec.cols):
        first = prepared.read(v, cols)
        assert first.shape == (len(v), cols)
        np.testing.assert_allclose(first, every[:, :cols], rtol=0, atol=1e-6 * spec.readout.v_swing)
    assert (prepared._columns[4] is not None) == narrow  # the spare columns' share skipped


@pytest.mark.parametrize("gain", [300.0, 1e4])
def test_a_behavioural_table_is_the_op_amps_loop(gain):
    readout = TiaReadout(r_f=2e3, gain=gain, v_offset=2e-3, v_swing=0.5)
    table = TiaTable.of(readout, 1e-3)
    currents = np.random.default_rng(0).uniform(-1e-3, 1e-3, 50)
    sense, _, v_out = table.at(currents.copy())

    def loop(x, current):
        return x - readout.output(np.array(x))[0] - readout.r_f * current

    for k, current in enumerate(currents):
        root = brentq(loop, -5.0, 5.0, args=(current,), xtol=1e-15)
        # linear interpolation between 2^14 points 1.2e-7 A apart: the tanh's knee (the
        # closed loop rounds off over ~v_swing / r_f / 10 of current) is where it errs
        # most, ~(step / knee)^2 v_swing / 8 ~ 1e-6 V
        assert sense[k] == pytest.approx(root, abs=2e-6)
        assert v_out[k] == pytest.approx(root - readout.r_f * current, abs=2e-6)
    # inside the band the tangent holds to BAND_TOL of the largest output
    h0, h1, o0, o1 = table.tangent
    grid = table.lo + table.step * np.arange(len(table.v_out))
    inside = (table.v_out >= table.band[0]) & (table.v_out <= table.band[1])
    scale = np.max(np.abs(table.v_out))
    assert np.max(np.abs(table.v_out - o0 - o1 * grid)[inside]) <= BAND_TOL * scale
    assert np.max(np.abs(table.sense - h0 - h1 * grid)[inside]) <= BAND_TOL * scale
    # the loop gain suppresses the tanh's curvature: it departs by ~V^3 / (3 gain v_swing^2),
    # so the band spans +-0.1 V at gain 300 and most of the +-0.5 V swing at 1e4
    assert table.band[1] - table.band[0] > (0.2 if gain < 1e3 else 0.6)


@pytest.mark.ngspice
def test_calibration_reports_the_fast_modes_tia_outputs(tmp_path):
    spec = tile("1T1R cmos", 12, 8)
    cal = calibrate(spec, samples=2, batch=4, seed=5, cache_dir=tmp_path / "cache", jobs=2)
    m = cal.metrics
    # held out, against ngspice: the fitted network's fast mode with the measured op-amp,
    # both on the currents and on what the ADC reads (the same bound as on the nominal
    # network above); the ideal op-amp misses by far more
    assert m["surrogate-fast"]["max_error"] <= TOLERANCE["1T1R cmos"]
    assert m["surrogate-fast v_out"]["max_error"] <= TOLERANCE["1T1R cmos"]
    assert m["surrogate v_out"]["max_error"] < m["surrogate-fast v_out"]["max_error"]
    assert m["ideal v_out"]["max_error"] > 10 * m["surrogate-fast v_out"]["max_error"]
    assert "surrogate-fast" in cal.speeds
    report = write_report(cal, tmp_path / "report")[0].read_text()
    assert "| surrogate-fast v_out |" in report


def network_tile(read_noise):
    """A 12x12 sinh tile behind behavioural TIAs with an 8-bit ADC, for a network."""
    return spec_from_dict(
        {
            **tile("sinh behavioural", 12, 12).to_dict(),
            "readout": {
                "kind": "tia",
                "r_f": 2e3,
                "gain": 1e3,
                "adc_bits": 8,
                "adc_full_scale": 0.5,
            },
            "nonideal": {"read_noise": read_noise, "seed": 4},
        }
    )


def test_a_network_on_fast_tia_tiles_runs_them_side_by_side_reproducibly(monkeypatch):
    from cimspice.mapping import matmul

    spec = network_tile(0.02)
    rng = np.random.default_rng(2)
    w, x = rng.normal(size=(30, 8)), rng.uniform(0.0, 1.0, (40, 30))
    surrogate = TileSurrogate(spec, TileParams.from_spec(spec))

    def run():
        hw = matmul.HardwareMatMul(spec, surrogate=surrogate, mode="fast")
        return hw(0, x, w), len(hw.layers[0].tiles)

    threaded, tiles = run()
    assert tiles == 6  # 3 row blocks x 2 column blocks of 12-column tiles (differential pairs)
    # every tile has its own read-noise stream and the partial sums are added in tile order,
    # so the threads change nothing: the same numbers run again and run serially
    np.testing.assert_array_equal(run()[0], threaded)
    monkeypatch.setattr(matmul, "_tile_pool", lambda: matmul._serial)
    np.testing.assert_array_equal(run()[0], threaded)


@pytest.mark.parametrize("noise", [0.0, 0.02], ids=["quiet", "read noise"])
def test_skipping_idle_vectors_gives_the_full_batchs_numbers(monkeypatch, noise):
    # vectors that drive none of a tile's word lines are skipped (_IdleRows): the tile reads
    # the others and one zero vector. Exact, the read-noise stream included: the numbers
    # must equal those of reading every vector (IDLE_SHARE above 1 turns skipping off)
    from cimspice.mapping import matmul

    spec = network_tile(noise)
    rng = np.random.default_rng(5)
    w, x = rng.normal(size=(30, 8)), rng.uniform(0.0, 1.0, (60, 30))
    x[:40, :12] = 0.0  # the first row block idle for two thirds of the vectors
    x[10:20, 12:24] = 0.0  # the second for a sixth (below IDLE_SHARE: read in full)
    surrogate = TileSurrogate(spec, TileParams.from_spec(spec))

    def run():
        hw = matmul.HardwareMatMul(spec, surrogate=surrogate, mode="fast", input_ranges={0: 1.0})
        return hw(0, x, w)

    calls = []
    original = matmul._IdleRows.compact
    monkeypatch.setattr(
        matmul._IdleRows, "compact", lambda self, v: calls.append(v.shape) or original(self, v)
    )
    skipped = run()
    assert calls, "no tile skipped its idle vectors: the test would show nothing"
    monkeypatch.setattr(matmul, "IDLE_SHARE", 2.0)
    calls.clear()
    np.testing.assert_array_equal(run(), skipped)
    assert not calls


@pytest.mark.parametrize(
    "kind",  # the attenuation polynomials and the secant model (1T1R: ngspice's transistor)
    ["sinh behavioural", pytest.param("1T1R behavioural", marks=pytest.mark.ngspice)],
)
def test_a_fast_tia_tile_refuses_inputs_far_beyond_its_levels(kind):
    # every entry point of a fast TIA tile (its outputs, and the network hot path's read in
    # double or single precision) refuses inputs past ENVELOPE_FACTOR x its top level, as
    # the fast tiles without TIAs do (issue 11): there its fitted curves are extrapolated
    spec = tile(kind, 8, 6)
    g, v = arrays(spec, batch=4)
    fast = nominal(spec).prepare(g, "fast")
    assert isinstance(fast, FastTiaTile)
    top = float(fast.levels[-1])
    fast.outputs(v)  # inside: read
    far = np.full((2, spec.rows), 1.25 * ENVELOPE_FACTOR * top)
    for call in (fast.outputs, fast.read, lambda x: fast.read(x.astype(np.float32))):
        with pytest.raises(SurrogateError, match=r"inputs reach .* fast mode was fitted"):
            call(far)
    # NaN and inf are still named by the value check, not taken for far inputs
    for bad in (np.nan, np.inf):
        with pytest.raises(InputError, match="non-finite"):
            fast.read(np.where(np.eye(2, spec.rows) > 0, bad, v[:2]))


@pytest.mark.parametrize(
    "readout",
    [
        {"r_f": 2e3, "gain": 1e3, "v_offset": 1e-3},
        pytest.param({"opamp": "cmos", "r_f": 2e3, "i_bias": 80e-6}, marks=pytest.mark.ngspice),
    ],
    ids=["behavioural", "cmos"],
)
def test_a_linear_tiles_fast_mode_folds_the_tias_tangent(readout):
    # passive linear cells behind TIAs: the fast mode is one matmul of the transfer with the
    # TIAs' tangent folded in (FoldedTiaTile); a vector with an output outside the linear
    # band is solved exactly (the accurate mode's loops). Against the accurate mode: the
    # band's error, BAND_TOL (1e-5) of the swing per TIA times the loops' gain on it (the
    # tile's coupling is weak: measured below 2e-5 of full scale; 1e-4 bounds it); the
    # saturated vectors exactly the accurate mode's
    from cimspice.surrogate.fast_readout import FoldedTiaTile

    spec = spec_from_dict(
        {
            "array": {"rows": ROWS, "cols": COLS},
            "wire": {"r_row": 2.0, "r_col": 3.0},
            "driver": {"v_read": 0.3},
            "readout": {"kind": "tia", **readout},
        }
    )
    g, v = arrays(spec, batch=40, seed=4)
    v[:10] *= 0.05  # some vectors well inside the band, the rest driving columns to the rails
    surrogate = nominal(spec)
    fast = surrogate.prepare(g, "fast")
    accurate = surrogate.prepare(g, "accurate")
    assert isinstance(fast, FoldedTiaTile)
    currents, v_out = fast.outputs(v)
    exact_currents, exact_v_out = accurate.outputs(v)
    assert exact_v_out is not None
    low, high = fast.table.band
    outside = ((exact_v_out < low) | (exact_v_out > high)).any(axis=1)
    assert 0 < outside.sum() < len(v)  # both paths taken
    swing = np.abs(exact_v_out).max()
    assert np.abs(v_out - exact_v_out).max() <= 1e-4 * swing
    np.testing.assert_array_equal(v_out[outside], exact_v_out[outside])
    np.testing.assert_array_equal(currents[outside], exact_currents[outside])
    # the hot path's read: single precision, the first word lines and columns
    read = fast.read(v[:, :9].astype(np.float32), 6)
    padded = v.copy()
    padded[:, 9:] = 0.0
    whole = accurate.outputs(padded)[1]
    assert read.shape == (len(v), 6)
    assert np.abs(read - whole[:, :6]).max() <= 1e-4 * swing
