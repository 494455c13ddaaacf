"""Die-to-die and tile-to-tile parameter spread, and conductance-dependent stuck cells, on
the device presets (user parameters: no source gives figures, no preset sets them)."""

import numpy as np
import pytest

from cimspice.devices.model import VARIATION_KEYS
from cimspice.devices.pcm import PCMModel, programming_std
from cimspice.devices.registry import MODELS, device_model
from cimspice.devices.tile import program_tile, rng_for
from cimspice.errors import SpecError
from cimspice.spec import spec_from_dict

G_MAX = 25e-6


def pcm(seed=0, rows=64, cols=64, **params):
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols},
            "device": {"g_min": 0.0, "g_max": G_MAX},
            "nonideal": {"model": "pcm-nandakumar2019", "seed": seed, "model_params": params},
        }
    )


# (spice-verify is not a preset: it is the user's calibration, read from a file)
@pytest.mark.parametrize("name", [n for n in MODELS if n not in ("generic", "spice-verify")])
def test_no_preset_sets_variation_or_stuck_cells(name):
    # the sources give no die-to-die spread and no stuck probabilities: every preset's
    # defaults are 0 and it draws nothing for them
    spec = spec_from_dict({"array": {"rows": 8, "cols": 8}, "nonideal": {"model": name}})
    model = device_model(spec)
    assert all(getattr(model, k) == 0.0 for k in VARIATION_KEYS)
    assert not model.varies and model.varied(None, None) is model


def test_die_factors_are_shared_by_a_dies_tiles_and_spread_by_the_given_sigma():
    model = device_model(pcm(die_spread=0.3))
    # the same die stream for every tile: equal parameters whatever the tile stream
    a = model.varied(rng_for(5, 3), rng_for(5, 3, 0, 0))
    b = model.varied(rng_for(5, 3), rng_for(5, 3, 0, 1))
    assert a == b and a != model
    # over 2,000 dies each parameter's log factor has std 0.3: sampling error 1.6 %, 5 % is
    # > 3 sigma; the scales of one die are independent draws
    logs = np.log(
        [
            [getattr(model.varied(rng_for(s, 3), rng_for(s, 3, 0)), k) for k in PCMModel.VARIED]
            for s in range(2000)
        ]
    )
    np.testing.assert_allclose(logs.std(axis=0, ddof=1), 0.3, rtol=0.05)
    assert abs(np.corrcoef(logs[:, 0], logs[:, 1])[0, 1]) < 0.1  # 4.5 sigma at n = 2000


def test_tile_spread_shows_in_each_tiles_programming_error():
    # one die (seed 0), 300 tiles at one target: each tile's error std over the nominal is
    # its prog_noise_scale factor; their logs spread by tile_spread (4,096 cells give each
    # tile's std to 1.1 %, 300 tiles the spread to 4 %: 15 % is > 3.5 sigma)
    spec = pcm(tile_spread=0.2)
    goal = np.full((64, 64), 12.5e-6)
    nominal = float(programming_std(device_model(spec), goal[:1, :1])[0, 0])
    ratios = [
        np.std(program_tile(goal, spec, goal.shape, 0, k).programmed - goal) / nominal
        for k in range(300)
    ]
    assert np.std(np.log(ratios), ddof=1) == pytest.approx(0.2, rel=0.15)
    # without spread every tile's std is the nominal one within sampling error
    flat = [
        np.std(program_tile(goal, pcm(), goal.shape, 0, k).programmed - goal) / nominal
        for k in range(30)
    ]
    assert np.std(np.log(flat), ddof=1) < 0.03


def test_stuck_probabilities_follow_the_target_and_stuck_cells_hold_the_window_edges():
    spec = pcm(
        rows=400,
        cols=400,
        stuck_on_low=0.01,
        stuck_on_high=0.05,
        stuck_off_low=0.08,
        stuck_off_high=0.02,
    )
    low = np.full((400, 400), 0.0)
    high = np.full((400, 400), G_MAX)
    for goal, p_on, p_off in ((low, 0.01, 0.08), (high, 0.05, 0.02)):
        dev = program_tile(goal, spec, goal.shape, 0)
        on = np.mean(dev.programmed == G_MAX)
        off = np.mean(dev.programmed == 0.0)
        for seen, p in ((on, p_on), (off, p_off)):
            # binomial over 160,000 cells; 5 sigma (stuck-at-0 also counts noisy cells
            # clipped to exactly 0 S: a low target's clip adds to "off")
            sigma = np.sqrt(p * (1 - p) / goal.size)
            if goal is low and p == p_off:
                assert seen >= p - 5 * sigma
            else:
                assert abs(seen - p) < 5 * sigma, (seen, p)


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"die_spread": -0.1}, "die_spread"),
        ({"stuck_on_low": 0.7, "stuck_off_low": 0.5}, "stuck_off_low"),
        ({"stuck_on_high": 1.5}, "stuck_on_high"),
    ],
)
def test_bad_variation_parameters_name_the_key(params, key):
    with pytest.raises(SpecError) as err:
        device_model(pcm(**params))
    assert err.value.key == f"nonideal.model_params.{key}"


# ----- the same variation on the generic model (its model_params take these keys only) -----


def generic(seed=0, rows=64, cols=64, params=None, **nonideal):
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols},
            "device": {"g_min": 0.0, "g_max": G_MAX},
            "nonideal": {"seed": seed, "model_params": params or {}, **nonideal},
        }
    )


NOISY = {"prog_noise_abs": 0.2e-6, "prog_noise_rel": 0.03, "drift_nu": 0.05, "drift_nu_std": 0.01}


def test_generic_die_factors_scale_programming_noise_and_drift_as_two_groups():
    model = device_model(generic(params={"die_spread": 0.3}, **NOISY))
    assert model.varies
    # one die stream for every tile of a die: equal parameters whatever the tile stream
    a = model.varied(rng_for(5, 3), rng_for(5, 3, 0, 0))
    assert a == model.varied(rng_for(5, 3), rng_for(5, 3, 0, 1)) and a != model
    ni = a.nonideal  # abs and rel share one factor, nu and nu_std another
    prog = ni.prog_noise_abs / NOISY["prog_noise_abs"]
    drift = ni.drift_nu / NOISY["drift_nu"]
    assert ni.prog_noise_rel / NOISY["prog_noise_rel"] == pytest.approx(prog, rel=1e-12)
    assert ni.drift_nu_std / NOISY["drift_nu_std"] == pytest.approx(drift, rel=1e-12)
    assert prog != drift
    # over 2,000 dies each group's log factor has std 0.3 (sampling error 1.6 %: 5 % is > 3
    # sigma) and the two are independent (|r| < 0.1 is 4.5 sigma at n = 2,000)
    logs = np.log(
        [
            [
                v.nonideal.prog_noise_rel / NOISY["prog_noise_rel"],
                v.nonideal.drift_nu / NOISY["drift_nu"],
            ]
            for v in (model.varied(rng_for(s, 3), rng_for(s, 3, 0)) for s in range(2000))
        ]
    )
    np.testing.assert_allclose(logs.std(axis=0, ddof=1), 0.3, rtol=0.05)
    assert abs(np.corrcoef(logs[:, 0], logs[:, 1])[0, 1]) < 0.1


def test_generic_tile_spread_shows_in_each_tiles_programming_error():
    # as for the PCM preset: 300 tiles at one target; each tile's error std over the nominal
    # spreads by tile_spread in log (4,096 cells per tile: 1.1 %; 300 tiles: 4 %; 15 % is
    # > 3.5 sigma)
    goal = np.full((64, 64), 12.5e-6)
    nominal = NOISY["prog_noise_abs"] + NOISY["prog_noise_rel"] * 12.5e-6
    spec = generic(params={"tile_spread": 0.2}, **NOISY)
    ratios = [
        np.std(program_tile(goal, spec, goal.shape, 0, k).programmed - goal) / nominal
        for k in range(300)
    ]
    assert np.std(np.log(ratios), ddof=1) == pytest.approx(0.2, rel=0.15)
    flat = [
        np.std(program_tile(goal, generic(**NOISY), goal.shape, 0, k).programmed - goal) / nominal
        for k in range(30)
    ]
    assert np.std(np.log(flat), ddof=1) < 0.03


def test_generic_die_spread_moves_every_tiles_drift_together():
    # one die: every tile's drift factor is the same, so the tiles' mean log drop after 1e4 s
    # agree (4,096 cells each: the mean of nu to 0.2 % of its own spread); over dies they
    # differ by die_spread
    goal = np.full((64, 64), 12.5e-6)
    drop = {}
    for seed in range(40):
        spec = generic(seed, params={"die_spread": 0.3}, drift_time=1e4, drift_nu=0.05)
        drop[seed] = [
            np.mean(np.log(goal / program_tile(goal, spec, goal.shape, 0, k).conductances))
            for k in range(3)
        ]
    per_die = np.array(list(drop.values()))
    np.testing.assert_allclose(per_die, per_die[:, :1] * np.ones(3), rtol=1e-9)
    # log of nu's factor: std 0.3 over 40 dies (sampling error 11 %: 40 % is > 3.5 sigma)
    assert np.std(np.log(per_die[:, 0]), ddof=1) == pytest.approx(0.3, rel=0.4)


def test_generic_stuck_probabilities_follow_the_target():
    spec = generic(
        rows=400,
        cols=400,
        params={
            "stuck_on_low": 0.01,
            "stuck_on_high": 0.05,
            "stuck_off_low": 0.08,
            "stuck_off_high": 0.02,
        },
    )
    for value, p_on, p_off in ((0.0, 0.01, 0.08), (G_MAX, 0.05, 0.02), (G_MAX / 2, 0.03, 0.05)):
        goal = np.full((400, 400), value)
        dev = program_tile(goal, spec, goal.shape, 0)
        stuck_on = (dev.programmed == G_MAX) & (goal != G_MAX)
        stuck_off = (dev.programmed == 0.0) & (goal != 0.0)
        if value == 0.0:  # a target at an end: count the cells moved to the other end
            seen = {"on": np.mean(dev.programmed == G_MAX)}
        elif value == G_MAX:
            seen = {"off": np.mean(dev.programmed == 0.0)}
        else:
            seen = {"on": np.mean(stuck_on), "off": np.mean(stuck_off)}
        for kind, rate in seen.items():
            p = p_on if kind == "on" else p_off
            sigma = np.sqrt(p * (1 - p) / goal.size)  # binomial over 160,000 cells: 5 sigma
            assert abs(rate - p) < 5 * sigma, (value, kind, rate, p)


def test_generic_without_model_params_draws_as_before():
    # the constant stuck fractions keep their one uniform draw per cell: the same cells as
    # drawing it by hand from the tile's programming stream
    spec = generic(stuck_on=0.1, stuck_off=0.05)
    goal = np.full((64, 64), 12.5e-6)
    dev = program_tile(goal, spec, goal.shape, 0, 7)
    draw = rng_for(0, 0, 0, 7).random(goal.shape)
    np.testing.assert_array_equal(dev.programmed == G_MAX, draw < 0.1)
    np.testing.assert_array_equal(dev.programmed == 0.0, (draw >= 0.1) & (draw < 0.15))


@pytest.mark.parametrize(
    ("params", "extra", "key", "message"),
    [
        ({"drift_scale": 1.0}, {}, "drift_scale", "model_params take only die_spread"),
        ({"tile_spread": -1.0}, {}, "tile_spread", "must be >= 0"),
        ({"stuck_on_low": 0.1}, {"stuck_on": 0.1}, "stuck_on_low", "give one"),
    ],
)
def test_bad_generic_variation_names_the_key(params, extra, key, message):
    with pytest.raises(SpecError, match=message) as err:
        device_model(generic(params=params, **extra))
    assert err.value.key == f"nonideal.model_params.{key}"
