"""Mapping, tiling, input encoding, device non-idealities and the hardware MatMul.

Most tests use plain numpy matrices and the ``ideal`` tile engine (``V @ G`` per tile), so they
isolate the mapping and the device models; the surrogate and nodal engines are checked against
them on small tiles.
"""

import dataclasses

import numpy as np
import pytest
import scipy.stats

from cimspice.converters import dac
from cimspice.devices.generic import (
    add_read_noise,
    program_tile,
    read_noise_squares,
    snap_to_levels,
    standard_normals,
)
from cimspice.errors import InputError, SpecError, SurrogateError
from cimspice.mapping.encoding import encode_inputs
from cimspice.mapping.matmul import HardwareMatMul, tile_model, tile_spec
from cimspice.mapping.slicing import slice_weights
from cimspice.mapping.tiling import tile_layer
from cimspice.nn.layers import Conv2D, Dense, Flatten, ReLU
from cimspice.nn.model import Model
from cimspice.spec import spec_from_dict
from cimspice.surrogate.model import LinearTileSurrogate, TileParams

# Tolerance of "exact" products: scaling weights into conductances and inputs into volts and
# back costs a few ulps per multiply-add; 1e-12 relative to the output's scale is ~1e4 ulps,
# far below any effect a non-ideality has (>= 1e-4 in these tests).
EXACT = 1e-12


def make(rows=16, cols=8, **sections):
    data = {"array": {"rows": rows, "cols": cols}}
    for name, values in sections.items():
        data[name] = values
    return spec_from_dict(data)


@pytest.fixture
def wx():
    rng = np.random.default_rng(7)
    return rng.normal(size=(40, 19)), rng.uniform(0.0, 1.0, (25, 40))


def run(spec, w, x, engine="ideal", **kwargs):
    return HardwareMatMul(spec, engine=engine, **kwargs)(0, x, w)


def rel_err(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def mvm_nrmse(spec, w, x, engine="ideal", **kwargs):
    hw = HardwareMatMul(spec, engine=engine, **kwargs)
    hw(0, x, w)
    return hw.stats[0].nrmse


# ----- tiling and mapping, ideal -----


@pytest.mark.parametrize("scheme", ["differential", "reference"])
@pytest.mark.parametrize("fold", [True, False])
def test_tiled_product_equals_untiled_when_ideal(wx, scheme, fold):
    w, x = wx  # 40 x 19 on 16 x 8 tiles: 3 row blocks (the last one partial), many col blocks
    spec = make(mapping={"scheme": scheme})
    hw = HardwareMatMul(spec, engine="ideal", fold=fold)
    y = hw(0, x, w)
    assert len(hw.layers[0].tiling.tiles) > 6
    assert (hw.layers[0].folded is not None) == fold
    assert rel_err(y, x @ w) < EXACT


@pytest.mark.parametrize("engine", ["surrogate", "nodal"])
def test_wire_free_tiles_are_exact_in_every_engine(wx, engine):
    w, x = wx
    assert rel_err(run(make(), w, x, engine=engine), x @ w) < EXACT


@pytest.mark.parametrize(("bits", "per"), [(8, 0), (8, 1), (8, 3), (6, 2), (11, 4)])
@pytest.mark.parametrize("scheme", ["differential", "reference"])
def test_bit_slicing_round_trips_exactly(wx, bits, per, scheme):
    w, x = wx
    spec = make(
        rows=16, cols=16, mapping={"scheme": scheme, "weight_bits": bits, "slice_bits": per}
    )
    top = np.abs(w).max()
    quantised = np.sign(w) * np.rint(np.abs(w) / top * (2**bits - 1)) / (2**bits - 1) * top
    sliced = slice_weights(w, spec)
    assert len(sliced.slices) == -(-bits // (per or bits))
    levels = sliced.slices * (2 ** (per or bits) - 1)  # every slice sits on an integer level
    np.testing.assert_array_equal(levels, np.rint(levels))
    assert rel_err(sliced.reconstruct(), quantised) < EXACT
    assert rel_err(run(spec, w, x), x @ quantised) < EXACT


@pytest.mark.parametrize(
    "mapping",
    [{}, {"scheme": "reference"}, {"weight_bits": 6, "slice_bits": 3}],
    ids=["differential", "reference", "sliced"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_row_blocks_recombination_equals_its_tiles_one_by_one(mapping, dtype):
    # 19 outputs on 16-column tiles: 2 to 5 tiles a row block, the last one ragged
    spec = make(rows=16, cols=16, mapping=mapping)
    tiling = tile_layer(np.random.default_rng(3).normal(size=(40, 19)), spec)
    block = tiling.row_blocks()[1]
    assert len(block.tiles) > 1
    columns = np.random.default_rng(4).integers(-127, 128, (9, block.used_cols)).astype(dtype)
    scales = [0.5, -1.25e-3, 3.0, 7.0, -0.1][: len(block.tiles)]
    together = tiling.combine_block(columns, block, scales)
    one_by_one = np.concatenate(
        [
            tiling.combine(columns[:, cols], tiling.tiles[k], scale)
            for k, cols, scale in zip(block.tiles, block.columns, scales, strict=True)
        ],
        axis=1,
    )
    assert together.dtype == dtype and together.shape == (9, 19)
    # the same numbers; in single precision the one-slice differential pairs take their
    # factor in single precision (the tiles one by one in double, then rounded): 1 ulp
    np.testing.assert_allclose(together, one_by_one, rtol=2 * np.finfo(dtype).eps, atol=0)


def test_differential_pairs_hold_each_sign_on_one_side():
    spec = make(rows=4, cols=4, device={"g_min": 1e-6, "g_max": 11e-6})
    w = np.array([[1.0, -0.5], [0.0, 0.25]])
    tiles = tile_layer(w, spec).tiles
    g = tiles[0].conductances  # columns: G+ of outputs 0, 1, then G- of outputs 0, 1
    np.testing.assert_allclose(g[:2, :4], [[11e-6, 1e-6, 1e-6, 6e-6], [1e-6, 3.5e-6, 1e-6, 1e-6]])
    assert len(tiles) == 1 and tiles[0].used_cols == 4


def test_reference_column_sits_mid_window():
    spec = make(
        rows=4, cols=4, device={"g_min": 1e-6, "g_max": 11e-6}, mapping={"scheme": "reference"}
    )
    w = np.array([[1.0, -1.0, 0.0]])
    tile = tile_layer(w, spec).tiles[0]
    np.testing.assert_allclose(tile.conductances[0], [11e-6, 1e-6, 6e-6, 6e-6])  # last: reference
    assert tile.used_cols == 4


@pytest.mark.parametrize(
    ("cols", "mapping"),
    [(1, {}), (3, {"weight_bits": 4, "slice_bits": 2}), (1, {"scheme": "reference"})],
)
def test_tile_smaller_than_one_weight_is_named(cols, mapping):
    spec = make(rows=8, cols=cols, mapping=mapping)
    with pytest.raises(SpecError, match=r"array\.cols") as err:
        tile_layer(np.ones((3, 2)), spec)
    assert "smaller than" in str(err.value)


def test_weights_must_be_a_finite_matrix():
    with pytest.raises(InputError, match="2-D"):
        tile_layer(np.ones(3), make())
    with pytest.raises(InputError, match="NaN"):
        tile_layer(np.array([[np.nan]]), make())


def test_inputs_that_do_not_fit_the_layer_are_named(wx):
    w, x = wx
    with pytest.raises(InputError, match="layer 0"):
        HardwareMatMul(make(), engine="ideal")(0, x[:, :10], w)


# ----- input encoding -----


def test_signed_inputs_two_phases_or_one_bipolar_phase(wx):
    w, _ = wx
    x = np.random.default_rng(3).normal(size=(6, 40))
    unsigned = make()
    bipolar = make(driver={"dac_signed": True})
    assert len(encode_inputs(x, 4.0, unsigned)) == 2  # positive parts, then negative parts
    assert len(encode_inputs(x, 4.0, bipolar)) == 1
    assert len(encode_inputs(np.abs(x), 4.0, unsigned)) == 1  # nothing negative: one phase
    for spec in (unsigned, bipolar):
        assert rel_err(run(spec, w, x), x @ w) < EXACT


def test_dac_levels_reach_the_tiles(wx):
    w, x = wx
    spec = make(driver={"dac_bits": 3, "v_read": 0.2})
    x_max = float(np.abs(x).max())
    levels = dac(spec, x / x_max * 0.2) / 0.2 * x_max
    assert rel_err(run(spec, w, x), levels @ w) < EXACT
    assert rel_err(run(spec, w, x), x @ w) > 1e-3


@pytest.mark.parametrize("signed", [False, True])
def test_bit_serial_inputs_equal_their_quantised_values(wx, signed):
    w, _ = wx
    x = np.random.default_rng(4).normal(size=(9, 40))
    spec = make(mapping={"input_bits": 4}, driver={"dac_signed": signed})
    x_max = float(np.abs(x).max())
    q = np.sign(x) * np.rint(np.abs(x) / x_max * 15) / 15 * x_max
    assert rel_err(run(spec, w, x), q @ w) < EXACT
    phases = encode_inputs(x, x_max, spec)
    assert len(phases) == (4 if signed else 8)  # one (or two: signs) phase per bit


def test_inputs_beyond_the_range_clip(wx):
    w, x = wx
    x_max = float(np.abs(x).max())
    hw = HardwareMatMul(make(), engine="ideal", input_ranges={0: x_max / 2})
    np.testing.assert_allclose(hw(0, x, w), np.minimum(x, x_max / 2) @ w, rtol=0, atol=1e-12)


# ----- converters and non-idealities move the error the right way -----


def test_adc_error_falls_with_bits(wx):
    w, x = wx
    full = float(np.max(np.abs(x @ np.ones((40, 1))))) * 0.2 * 100e-6  # ~ largest column current
    errors = [
        mvm_nrmse(make(readout={"adc_bits": b, "adc_full_scale": full}), w, x)
        for b in (4, 6, 8, 12)
    ]
    assert errors[0] > errors[1] > errors[2] > errors[3] > 0


@pytest.mark.parametrize(
    ("key", "weak", "strong", "extra"),
    [
        ("levels", 256, 8, {}),
        ("prog_noise_rel", 0.01, 0.1, {}),
        ("prog_noise_abs", 0.5e-6, 5e-6, {}),
        ("read_noise", 0.01, 0.1, {}),
        ("drift_nu", 0.01, 0.1, {"drift_time": 1e5, "drift_nu_std": 0.01}),
        ("stuck_on", 0.002, 0.05, {}),
        ("stuck_off", 0.002, 0.05, {}),
        ("tc_device", 1e-4, 2e-3, {"temperature": 350.0}),
    ],
)
def test_each_nonideality_raises_the_mvm_error(wx, key, weak, strong, extra):
    w, x = wx
    spec = make(rows=16, cols=16)
    errs = [
        mvm_nrmse(
            dataclasses.replace(
                spec, nonideal=dataclasses.replace(spec.nonideal, **extra, **{key: v})
            ),
            w,
            x,
        )
        for v in (weak, strong)
    ]
    assert mvm_nrmse(spec, w, x) < EXACT < errs[0] < errs[1]


def test_hotter_wires_raise_the_ir_drop_error(wx):
    w, x = wx
    spec = make(rows=16, cols=16, wire={"r_row": 5.0, "r_col": 5.0})
    hot = make(
        rows=16,
        cols=16,
        wire={"r_row": 5.0, "r_col": 5.0},
        nonideal={"temperature": 400.0, "tc_wire": 4e-3},
    )
    assert tile_spec(hot).wire.r_row == pytest.approx(5.0 * 1.4)
    cold_err, hot_err = mvm_nrmse(spec, w, x, "surrogate"), mvm_nrmse(hot, w, x, "surrogate")
    assert EXACT < cold_err < hot_err
    # a calibrated surrogate's fitted segments are scaled the same way
    fitted = LinearTileSurrogate(spec, TileParams.from_spec(spec))
    assert (
        rel_err(run(hot, w, x, "surrogate", surrogate=fitted), run(hot, w, x, "surrogate")) < EXACT
    )
    assert rel_err(run(hot, w, x, "nodal"), run(hot, w, x, "surrogate")) < 1e-9  # solver precision


def test_write_verify_tightens_programming_and_counts_pulses(wx):
    w, x = wx
    noisy = {"prog_noise_rel": 0.05, "prog_noise_abs": 1e-6}
    plain = make(rows=16, cols=16, nonideal=noisy)
    verified = make(
        rows=16, cols=16, nonideal={**noisy, "verify_tol": 0.5e-6, "verify_max_pulses": 30}
    )
    hw = HardwareMatMul(verified, engine="ideal")
    hw(0, x, w)
    pulses = hw.layers[0].pulses()
    assert 1 < pulses["mean"] < 30 and pulses["max"] <= 30
    assert hw.stats[0].nrmse < 0.5 * mvm_nrmse(plain, w, x)
    slot, tile = hw.layers[0].tiling.tiles[0], hw.layers[0].programmed[0]
    target = snap_to_levels(slot.conductances, verified)
    done = tile.pulses < 30  # every cell that stopped early is within tolerance
    assert np.all(np.abs(tile.programmed - target)[done] <= 0.5e-6)


def test_drift_compensation_undoes_most_of_the_drift(wx):
    w, x = wx
    drift = {"drift_time": 1e6, "drift_nu": 0.05, "drift_nu_std": 0.005}
    raw = mvm_nrmse(make(rows=16, cols=16, nonideal=drift), w, x)
    fixed = mvm_nrmse(make(rows=16, cols=16, nonideal={**drift, "drift_compensation": True}), w, x)
    assert fixed < 0.5 * raw


def test_stuck_cells_sit_at_the_window_edges():
    spec = make(rows=32, cols=32, nonideal={"stuck_on": 0.1, "stuck_off": 0.1})
    target = np.full((32, 32), 50e-6)
    g = program_tile(target, spec, (32, 32), 0, 0).conductances
    on, off = np.mean(g == spec.device.g_max), np.mean(g == spec.device.g_min)
    assert 0.05 < on < 0.15 and 0.05 < off < 0.15  # 1024 cells: binomial std ~ 0.01
    assert np.all((g == 50e-6) | (g == spec.device.g_max) | (g == spec.device.g_min))


def test_levels_snap_to_an_even_grid():
    spec = make(nonideal={"levels": 5}, device={"g_min": 0.0, "g_max": 4e-6})
    got = snap_to_levels(np.array([0.0, 0.4e-6, 0.6e-6, 3.9e-6, 4e-6]), spec)
    np.testing.assert_allclose(got, [0, 0, 1e-6, 4e-6, 4e-6])


# ----- seeds -----


def noisy_spec(seed):
    return make(
        rows=16,
        cols=16,
        nonideal={"seed": seed, "prog_noise_rel": 0.05, "read_noise": 0.05, "stuck_on": 0.01},
    )


def test_seeds_reproduce_and_differ(wx):
    w, x = wx
    a, b, c = (run(noisy_spec(s), w, x) for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_read_noise_is_fresh_at_every_mvm(wx):
    w, x = wx
    hw = HardwareMatMul(make(nonideal={"read_noise": 0.05}), engine="ideal")
    first, second = hw(0, x, w), hw(0, x, w)
    assert not np.array_equal(first, second)
    assert len(hw.layers) == 1  # programmed once


def test_table_normals_are_standard_normal_draws():
    single = standard_normals(np.random.default_rng(3), (400_000,))
    assert single.dtype == np.float32  # it scales a noise term: single precision is plenty
    draws = single.astype(float)
    # 4e5 draws: the mean's standard error is 1.6e-3, the variance's 2.2e-3; 5 sigma each
    assert abs(draws.mean()) < 8e-3
    assert abs(draws.var() - 1.0) < 1.2e-2
    # the whole distribution: Kolmogorov-Smirnov against N(0, 1) (critical value at the 1e-3
    # level for 4e5 draws: 1.95 / sqrt(n) = 3.1e-3; the table's 2^16 quantiles are 1.5e-5
    # apart in probability, far below it)
    assert scipy.stats.kstest(draws, "norm").statistic < 3.1e-3
    # tails cut at the table's last quantile, 4.3 sigma
    assert 4.0 < np.abs(draws).max() < 4.5


def test_read_noise_has_the_variance_of_every_cell_drawn():
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 1e-4, (16, 6))
    v = rng.uniform(0.0, 0.2, (1, 16)).repeat(20_000, axis=0)
    spec = make(nonideal={"read_noise": 0.05})
    noisy = add_read_noise(np.zeros((20_000, 6)), v, g, spec, np.random.default_rng(1))
    # sum_i (0.05 G_ij V_i)^2 per column; 2e4 draws: the sample variance is within 5 of its
    # standard errors (sqrt(2 / n) = 1%) of it
    expected = (v[:1] ** 2) @ (0.05 * g) ** 2
    np.testing.assert_allclose(noisy.var(axis=0), expected[0], rtol=0.05)
    # the squares computed once give the same draws
    squares = read_noise_squares(g, spec)
    again = add_read_noise(np.zeros((20_000, 6)), v, squares, spec, np.random.default_rng(1))
    np.testing.assert_allclose(again, noisy, rtol=1e-6)


# ----- whole models -----


def small_models():
    rng = np.random.default_rng(11)
    mlp = Model(
        "mlp",
        [
            Dense(rng.normal(size=(30, 20)), rng.normal(size=20)),
            ReLU(),
            Dense(rng.normal(size=(20, 5)), rng.normal(size=5)),
        ],
        (30,),
    )
    cnn = Model(
        "cnn",
        [
            Conv2D(rng.normal(size=(3, 3, 1, 4)), rng.normal(size=4)),
            ReLU(),
            Flatten(),
            Dense(rng.normal(size=(64, 3)), rng.normal(size=3)),
        ],
        (6, 6, 1),
    )
    return [(mlp, rng.uniform(0, 1, (200, 30))), (cnn, rng.uniform(0, 1, (100, 6, 6, 1)))]


@pytest.mark.parametrize("engine", ["ideal", "surrogate", "nodal"])
@pytest.mark.parametrize("index", [0, 1], ids=["mlp", "cnn"])
def test_everything_off_gives_the_ideal_predictions_exactly(engine, index):
    model, x = small_models()[index]
    spec = make(rows=8, cols=8)  # tiles smaller than every layer; no wires, converters, noise
    hw = HardwareMatMul(spec, engine=engine)
    np.testing.assert_array_equal(model.predict(x, hw), model.predict(x))
    assert set(hw.layers) == set(model.weighted_layers())
    assert all(s.nrmse < EXACT for s in hw.stats.values())


def test_spec_sections_reject_bad_values_by_key():
    bad = [
        ({"nonideal": {"levels": 1}}, "nonideal.levels"),
        ({"nonideal": {"levels": 4096}}, "nonideal.levels"),
        ({"nonideal": {"read_noise": -0.1}}, "nonideal.read_noise"),
        ({"nonideal": {"stuck_on": 0.7, "stuck_off": 0.7}}, "nonideal.stuck_off"),
        ({"nonideal": {"drift_time": 0.5}}, "nonideal.drift_time"),
        ({"nonideal": {"tc_wire": -0.1, "temperature": 400.0}}, "nonideal.tc_wire"),
        ({"nonideal": {"verify_max_pulses": 0}}, "nonideal.verify_max_pulses"),
        ({"nonideal": {"sigma": 1.0}}, "nonideal.sigma"),
        ({"mapping": {"scheme": "triple"}}, "mapping.scheme"),
        ({"mapping": {"slice_bits": 2}}, "mapping.slice_bits"),
        ({"mapping": {"weight_bits": 4, "slice_bits": 5}}, "mapping.slice_bits"),
        ({"mapping": {"input_bits": 17}}, "mapping.input_bits"),
    ]
    for sections, key in bad:
        with pytest.raises(SpecError, match=key.replace(".", r"\.")):
            make(**sections)


def test_network_sections_leave_the_tile_hash_alone():
    plain = make()
    busy = make(nonideal={"read_noise": 0.1, "levels": 16}, mapping={"scheme": "reference"})
    assert plain.content_hash() == busy.content_hash()
    assert make(wire={"r_row": 1.0}).content_hash() != plain.content_hash()


def test_a_surrogate_of_another_tile_is_refused():
    other = make(wire={"r_row": 1.0})
    with pytest.raises(SurrogateError, match="another tile"):
        tile_model(make(), LinearTileSurrogate(other, TileParams.from_spec(other)))
    # converters and network sections are not the tile: the same surrogate fits
    spec = make(driver={"dac_bits": 4}, nonideal={"read_noise": 0.1})
    fitted = LinearTileSurrogate(make(), TileParams.from_spec(make()))
    assert tile_model(spec, fitted) is fitted


def test_zero_bit_adc_integrators_and_uncalibrated_tias_are_named():
    with pytest.raises(SpecError, match=r"readout\.adc_bits"):
        HardwareMatMul(make(readout={"adc_full_scale": 1e-4}))
    with pytest.raises(SpecError, match=r"readout\.kind"):
        HardwareMatMul(make(readout={"kind": "integrator", "c_f": 1e-12}))
    # a TIA tile runs at network level, but only on a surrogate calibrated for it
    with pytest.raises(SurrogateError, match="calibrate"):
        HardwareMatMul(make(readout={"kind": "tia"}))


def test_a_fitted_cell_model_warns_outside_its_calibrated_range(wx):
    from cimspice.surrogate.model import RangeWarning

    w, x = wx
    spec = make(rows=16, cols=16)
    ranges = {"g_min": 10e-6, "g_max": 100e-6, "v_min": 0.0, "v_max": 0.2}
    fitted = LinearTileSurrogate(spec, TileParams(0, 0, 0, 0, 1e3, 0), ranges)  # 1T1R-like
    with pytest.warns(RangeWarning, match="layer 0"):
        run(spec, w, x, "surrogate", surrogate=fitted)  # g_min = 1 uS < 10 uS calibrated
    passive = LinearTileSurrogate(spec, TileParams(0, 0, 0, 0, 1e-10, 1e-10), ranges)
    run(spec, w, x, "surrogate", surrogate=passive)  # an exact network: no warning (errors)


@pytest.mark.parametrize("tia", [False, True])
def test_the_networks_adc_step_gives_the_converters_values(tia):
    # the network quantises column currents with adc_current_lsb + round_to_codes; the
    # converters' adc reads what the readout puts out (currents, or v_out = -r_f I behind
    # TIAs): the same digital values (to the rounding of one product with r_f)
    from cimspice.converters import adc, adc_current_lsb, adc_lsb, round_to_codes

    readout = {"adc_bits": 5, "adc_full_scale": 1e-4}
    if tia:
        readout = {"kind": "tia", "r_f": 1e4, "adc_bits": 5, "adc_full_scale": 0.5}
    spec = make(readout=readout)
    lsb = adc_current_lsb(spec)
    currents = np.random.default_rng(5).normal(0, 6 * lsb, (50, 7))  # some beyond full scale
    if not tia:  # exact half-LSB ties round halves to even both ways (behind TIAs, the
        # product with r_f moves a tie by a rounding error, to either side)
        currents[0, :3] = [0.5 * lsb, 1.5 * lsb, -2.5 * lsb]
    network = round_to_codes(currents / lsb, adc_lsb(spec)[1]) * lsb
    read = -spec.readout.r_f * currents if tia else currents
    codes, _ = adc(spec, read)
    expected = (-codes if tia else codes) * lsb
    np.testing.assert_allclose(network, expected, rtol=1e-12, atol=0)


def test_a_nan_input_row_is_refused_naming_it(wx):
    # one NaN row used to set the batch's input range, and so every row's outputs, to NaN
    w, x = wx
    spec = make(16, 8)
    x = x.copy()
    x[3, 5] = np.nan
    x[7, 0] = np.inf
    for engine in ("ideal", "surrogate"):
        with pytest.raises(InputError, match=r"layer 0: input row 3 holds non-finite .* 2 of 25"):
            run(spec, w, x, engine)


# ----- the hot path by row block: threads, blocks of the batch, precision -----


def noisy_passive(rows=16, cols=8, bits=8):
    """A passive tile with wires, converters, devices and read noise (the per-tile path)."""
    return make(
        rows,
        cols,
        wire={"r_row": 2.0, "r_col": 2.0},
        driver={"dac_bits": 6},
        readout={"adc_bits": bits, "adc_full_scale": 2e-4},
        nonideal={"prog_noise_rel": 0.02, "read_noise": 0.03},
    )


def test_row_blocks_threads_and_batch_blocks_change_no_number(wx, monkeypatch):
    # every block of the batch runs on its own rows of the output and draws its tiles'
    # read-noise integers after the previous block's, so neither the tile threads nor the
    # order in which blocks finish can change a number: threaded equals serial, bit for bit,
    # with the batch cut into many blocks (the hand-over between blocks exercised)
    from cimspice.mapping import matmul

    w, x = wx
    x = np.tile(x, (24, 1))  # 600 vectors
    spec = noisy_passive()
    monkeypatch.setattr(matmul, "CHUNK_VALUES", 40 * 20)  # 20-vector blocks: 30 of them
    monkeypatch.setattr(matmul, "MIN_CHUNK_ROWS", 20)
    hw = HardwareMatMul(spec, engine="surrogate")
    threaded = hw(0, x, w)
    assert len(hw.layers[0].blocks) == 3  # 40 inputs on 16-row tiles
    again = HardwareMatMul(spec, engine="surrogate")(0, x, w)
    np.testing.assert_array_equal(again, threaded)
    monkeypatch.setattr(matmul, "_tile_pool", lambda: matmul._serial)
    serial = HardwareMatMul(spec, engine="surrogate")(0, x, w)
    np.testing.assert_array_equal(serial, threaded)
    # the read noise is on: a second batch draws afresh
    assert not np.array_equal(hw(0, x, w), threaded)


@pytest.mark.parametrize("signed", [False, True], ids=["one phase", "two phases"])
def test_idle_vectors_skipped_on_transfer_matrices_give_the_full_batchs_numbers(
    wx, monkeypatch, signed
):
    # vectors that drive none of a row block's word lines are skipped: the block reads the
    # others and one zero vector, and when that puts out nothing (a transfer matrix has no
    # offset: zero volts, zero noise, code 0) only the active vectors' outputs are added.
    # Exact, read noise and ADC included: the numbers equal those of reading every vector,
    # in each phase of signed inputs too (IDLE_SHARE above 1 turns skipping off)
    from cimspice.mapping import matmul

    w, x = wx
    x = np.tile(x, (6, 1))  # 150 vectors
    if signed:
        x = x - 0.5 * x.mean()
    x[:100, :16] = 0.0  # the first row block idle for two thirds of the vectors
    spec = noisy_passive()
    scattered = []
    original = matmul._IdleRows.spans
    monkeypatch.setattr(
        matmul._IdleRows, "spans", lambda self, *a: scattered.append(a) or original(self, *a)
    )
    skipped = HardwareMatMul(spec, engine="surrogate")(0, x, w)
    assert scattered, "no block added its active vectors alone: the test would show nothing"
    assert scattered[0][1] == (2 if signed else 1)  # the phases
    monkeypatch.setattr(matmul, "IDLE_SHARE", 2.0)
    scattered.clear()
    np.testing.assert_array_equal(HardwareMatMul(spec, engine="surrogate")(0, x, w), skipped)
    assert not scattered


def test_a_block_of_zero_inputs_waits_its_turn_for_the_read_noise(wx, monkeypatch):
    # a block of the batch whose inputs are all zero has no phases and draws no read noise,
    # but it must still wait for the previous block's draws before letting the next block
    # draw: here the first block is slow, the second all zero, and the threaded numbers must
    # be the serial ones
    import time

    from cimspice.mapping import matmul

    w, x = wx
    x = np.tile(x, (8, 1))  # 200 vectors
    x[20:40] = 0.0  # the second 20-vector block
    spec = noisy_passive()
    monkeypatch.setattr(matmul, "CHUNK_VALUES", 40 * 20)
    monkeypatch.setattr(matmul, "MIN_CHUNK_ROWS", 20)

    def run() -> np.ndarray:
        hw = HardwareMatMul(spec, engine="surrogate")
        hw.program(0, w)
        return hw(0, x, w)

    with monkeypatch.context() as m:
        m.setattr(matmul, "_tile_pool", lambda: matmul._serial)
        serial = run()
    real, calls = matmul.encode_inputs, []

    def slow_first(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.3)  # block 0 draws late
        return real(*args, **kwargs)

    monkeypatch.setattr(matmul, "encode_inputs", slow_first)
    np.testing.assert_array_equal(run(), serial)


def test_single_precision_behind_an_adc_moves_outputs_by_rare_code_flips_alone(wx):
    # behind an 8-bit ADC the transfer matrices run in single precision by default: their
    # 1e-7 relative error moves an output only where a column current sits within that of
    # an ADC decision edge, by one code: almost every output equals double precision's to
    # the single-precision rounding of the codes' digital scaling (1e-6 of the largest)
    w, x = wx
    x = np.tile(x, (8, 1))
    spec = dataclasses.replace(
        noisy_passive(), nonideal=dataclasses.replace(noisy_passive().nonideal, read_noise=0.0)
    )
    single = HardwareMatMul(spec, engine="surrogate")
    double = HardwareMatMul(spec, engine="surrogate", precision="double")
    assert single.single and not double.single
    a, b = single(0, x, w), double(0, x, w)
    assert not np.array_equal(a, b)  # single precision is in effect
    differ = np.abs(a - b) > 1e-6 * np.abs(b).max()
    # one code of one tile column moves an output by at most ~1/127 of a tile's full scale,
    # i.e. a few percent of this layer's largest output; at most 1% of outputs may flip
    assert differ.mean() <= 0.01, differ.mean()
    assert np.abs(a - b).max() <= 0.05 * np.abs(b).max()
    # the error statistics compare with a single-precision exact product there
    assert single.stats[0].count == double.stats[0].count


@pytest.mark.parametrize("fold", [False, True], ids=["per tile", "folded"])
def test_the_error_statistics_are_those_of_the_outputs_against_x_at_w(wx, monkeypatch, fold):
    # the exact product the statistics compare with is made block by block in the tile
    # threads (many blocks here): over two batches, the figures must be those computed
    # directly from the returned outputs and x @ w. Tolerance 1e-5 relative: the exact
    # product is single precision behind the ADC (1e-7 of each value), summed in another
    # order
    from cimspice.mapping import matmul

    w, x = wx
    monkeypatch.setattr(matmul, "CHUNK_VALUES", 40 * 20)  # 20-vector blocks
    monkeypatch.setattr(matmul, "MIN_CHUNK_ROWS", 20)
    spec = noisy_passive()
    if fold:  # exact readout, no read noise: one matrix per layer
        spec = dataclasses.replace(
            spec,
            readout=dataclasses.replace(spec.readout, adc_bits=0, adc_full_scale=0.0),
            nonideal=dataclasses.replace(spec.nonideal, read_noise=0.0),
        )
    hw = HardwareMatMul(spec, engine="surrogate")
    batches = [np.tile(x, (4, 1)), 0.5 * x, np.zeros_like(x)]  # (all-zero: no input range)
    outputs = [hw(0, batch, w) for batch in batches]
    assert (hw.layers[0].folded is not None) == fold
    err = np.concatenate([y - batch @ w for y, batch in zip(outputs, batches, strict=True)])
    full = max(np.abs(batch @ w).max() for batch in batches)
    stats = hw.stats[0]
    assert stats.count == err.size
    assert stats.full_scale == pytest.approx(full, rel=1e-5)
    assert stats.nrmse == pytest.approx(np.sqrt(np.mean(err**2)) / full, rel=1e-5)
    assert stats.max_error == pytest.approx(np.abs(err).max() / full, rel=1e-5)


@pytest.mark.parametrize("fold", [False, True], ids=["per tile", "folded"])
def test_an_error_in_one_block_of_the_batch_is_raised_after_every_block_ended(
    wx, monkeypatch, fold
):
    # the batch runs in blocks in the tile threads; a block that fails raises its error from
    # the call, once the blocks in flight have ended (none writes after the call returns)
    import threading
    import time

    from cimspice.mapping import matmul

    w, x = wx
    x = np.tile(x, (8, 1))  # 200 vectors
    monkeypatch.setattr(matmul, "CHUNK_VALUES", 40 * 20)  # 20-vector blocks: 10 of them
    monkeypatch.setattr(matmul, "MIN_CHUNK_ROWS", 20)
    spec = noisy_passive()
    if fold:
        spec = dataclasses.replace(
            spec,
            readout=dataclasses.replace(spec.readout, adc_bits=0, adc_full_scale=0.0),
            nonideal=dataclasses.replace(spec.nonideal, read_noise=0.0),
        )
    hw = HardwareMatMul(spec, engine="surrogate")
    hw(0, x[:20], w)  # programmed
    real = matmul.encode_inputs
    started, ended = [], []
    lock = threading.Lock()

    def failing(inputs, *args, **kwargs):
        with lock:
            started.append(1)
            count = len(started)
        if count == 3:
            raise RuntimeError("block 3 failed")
        time.sleep(0.05)  # the other blocks still at work when block 3 fails
        ended.append(1)
        return real(inputs, *args, **kwargs)

    monkeypatch.setattr(matmul, "encode_inputs", failing)
    with pytest.raises(RuntimeError, match="block 3 failed"):
        hw(0, x, w)
    assert len(ended) == len(started) - 1  # every block but the failed one had ended
    assert len(started) < 10  # the blocks after the failure were not all started


def test_precision_must_be_named():
    with pytest.raises(InputError, match="precision must be 'auto', 'single' or 'double'"):
        HardwareMatMul(make(), precision="half")


def test_fast_tiles_on_one_row_block_read_side_by_side_as_each_alone():
    # the hot path reads the fast tiles of one row block as one tile (side_by_side: one RMS,
    # one envelope check, one product, the readout's scale folded in): the same numbers as
    # reading each tile alone and scaling, to single precision (the fast modes' arithmetic)
    from cimspice.surrogate.model import TileSurrogate
    from cimspice.surrogate.prepared import AttenuationTile, fast_read, side_by_side

    spec = make(12, 10, device={"iv": "sinh", "v0": 0.2}, wire={"r_row": 2.0, "r_col": 2.0})
    surrogate = TileSurrogate(spec, TileParams.from_spec(spec))
    rng = np.random.default_rng(3)
    tiles = [
        surrogate.prepare(rng.uniform(spec.device.g_min, spec.device.g_max, (12, 10)), "fast")
        for _ in range(3)
    ]
    assert all(isinstance(t, AttenuationTile) for t in tiles)
    v = rng.uniform(0.0, spec.driver.v_read, (40, 9)).astype(np.float32)  # 9 of 12 word lines
    cols, scale = [10, 4, 7], 1e5
    reads = [fast_read(t, v, c) for t, c in zip(tiles, cols, strict=True)]
    alone = np.concatenate(reads, axis=1) * scale
    together = fast_read(side_by_side(tiles, cols, scale), v)
    assert together.shape == (40, 21)
    np.testing.assert_allclose(together, alone, rtol=2e-6, atol=2e-6 * np.abs(alone).max())
    # tiles fitted at other levels are not put side by side
    other = AttenuationTile(tiles[1].levels * 1.5, 0.0, tiles[1].in_level)
    assert side_by_side([tiles[0], other], [10, 10]) is None
