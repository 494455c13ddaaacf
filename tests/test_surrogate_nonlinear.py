"""The surrogate on nonlinear cells (sinh memristors, 1S1R): accurate and fast modes."""

import numpy as np
import pytest

from cimspice.errors import SurrogateError
from cimspice.metrics import max_error, nrmse
from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict
from cimspice.surrogate.calibrate import calibrate
from cimspice.surrogate.model import SurrogateEngine, TileParams, TileSurrogate


def sinh_spec(n, v0=0.15, cell="0T1R", **extra):
    return spec_from_dict(
        {
            "array": {"rows": n, "cols": n, "cell": cell},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "driver": {"v_read": 0.3},
            "device": {"iv": "sinh", "v0": v0},
            **extra,
        }
    )


def mixed_inputs(rng, batch, rows, v_max):
    """Uniform, sparse binary and near-uniform vectors: the fast mode's hard cases."""
    third = batch // 3
    return np.concatenate(
        [
            rng.uniform(0, v_max, (third, rows)),
            v_max * (rng.random((third, rows)) < rng.random((third, 1))),
            rng.uniform(0, v_max, (batch - 2 * third, 1)) * rng.uniform(0.8, 1, (1, rows)),
        ]
    )


@pytest.mark.parametrize("cell", ["0T1R", "1S1R"])
def test_accurate_mode_with_nominal_params_is_the_nodal_solve(cell):
    spec = sinh_spec(10, cell=cell, driver={"v_read": 1.0})
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 1e-4, (10, 10))
    v = rng.uniform(0, 1.0 if cell == "1S1R" else 0.3, (7, 10))
    surrogate = TileSurrogate(spec, TileParams.from_spec(spec))
    exact = simulate(spec, g, v, engine="nodal").currents
    # The same equations and the same Newton. The nodal engine stops at 1e-12 V steps; the
    # accurate mode once it predicts less than 1e-6 V left in the cell voltages, which moves
    # a cell's current by at most ~1e-6 V / v0 (times cosh) of itself: ~5e-6 of full scale
    # here (v0 = 0.2 V). Measured: 3.7e-8 (1S1R); 1e-5 bounds it, ten times under the mode's
    # target vs ngspice (1e-4).
    assert max_error(surrogate.currents(g, v, "accurate"), exact) <= 1e-5


@pytest.mark.parametrize(("n", "v0"), [(32, 0.15), (32, 0.25), (64, 0.2)])
def test_fast_mode_meets_its_error_target_against_nodal(n, v0):
    spec = sinh_spec(n, v0)
    rng = np.random.default_rng(n)
    g = rng.uniform(1e-6, 1e-4, (n, n))
    v = mixed_inputs(rng, 90, n, 0.3)
    surrogate = TileSurrogate(spec, TileParams.from_spec(spec))
    exact = simulate(spec, g, v, engine="nodal").currents
    fast = surrogate.currents(g, v, "fast")
    # Issue 4's fast-mode target: NRMSE <= 0.5% of full scale on sinh tiles (v0 0.15-0.25 V,
    # inputs to 0.3 V). Measured here ~0.2-0.35%; the ideal V @ G is off by ~10-20%.
    assert nrmse(fast, exact) <= 5e-3
    assert nrmse(fast, exact) > 1e-8  # an approximation, not the exact solve in disguise
    assert nrmse(v @ g, exact) > 10 * nrmse(fast, exact)


def test_linear_cells_give_the_same_exact_answer_in_both_modes():
    spec = spec_from_dict({"array": {"rows": 8, "cols": 6}, "wire": {"r_row": 1.0, "r_col": 1.0}})
    rng = np.random.default_rng(1)
    g = rng.uniform(1e-6, 1e-4, (8, 6))
    v = rng.uniform(0, 0.2, (12, 8))
    surrogate = TileSurrogate(spec, TileParams.from_spec(spec))
    np.testing.assert_array_equal(surrogate.currents(g, v, "fast"), surrogate.currents(g, v))


def test_unknown_mode_is_refused():
    spec = sinh_spec(4)
    surrogate = TileSurrogate(spec, TileParams.from_spec(spec))
    with pytest.raises(SurrogateError, match="unknown surrogate mode 'quick'"):
        surrogate.prepare(np.full((4, 4), 1e-5), "quick")
    with pytest.raises(SurrogateError, match="modes: accurate, fast"):
        SurrogateEngine(surrogate, mode="quick")


@pytest.mark.ngspice
def test_sinh_calibration_reports_both_modes(tmp_path):
    spec = sinh_spec(12, 0.2)
    result = calibrate(spec, samples=2, batch=6, seed=3, cache_dir=tmp_path / "cache", jobs=1)
    m = result.metrics
    assert set(m) == {"surrogate", "surrogate-fast", "ideal", "analytical"}
    # Held out, against ngspice: the accurate mode solves the fitted network exactly (issue 4
    # target NRMSE <= 0.01%), the fast mode approximates it (target <= 0.5%), and both beat
    # the baselines a user would otherwise take.
    assert m["surrogate"]["nrmse"] <= 1e-4
    assert m["surrogate-fast"]["nrmse"] <= 5e-3
    assert m["surrogate"]["nrmse"] < m["surrogate-fast"]["nrmse"] < m["ideal"]["nrmse"]
    path = tmp_path / "s.json"
    result.surrogate.save(path)
    g = np.full((12, 12), 5e-5)
    v = np.full((3, 12), 0.25)
    fast = simulate(spec, g, v, engine="surrogate", surrogate=path, mode="fast").currents
    accurate = simulate(spec, g, v, engine="surrogate", surrogate=path).currents
    assert nrmse(fast, accurate) <= 5e-3


def test_fast_mode_warns_outside_its_envelope():
    from cimspice.surrogate.prepared import FastModeWarning
    from cimspice.surrogate.transistor_iv import AccessTransistor

    steep = sinh_spec(8, v0=0.05)  # inputs to 0.3 V = 6 v0: sinh(6) is beyond degree 7
    surrogate = TileSurrogate(steep, TileParams.from_spec(steep))
    with pytest.warns(FastModeWarning, match="accurate mode"):
        surrogate.prepare(np.full((8, 8), 5e-5), "fast")
    # a 1T1R fast tile measured at positive levels refuses to pretend on negative inputs
    v = np.linspace(-0.3, 0.3, 61)
    on = np.where(v > 0, v / 1e3, v / 2e3)  # an asymmetric transistor: 1 and 2 kohm
    table = AccessTransistor(v, np.array([0.0, 0.05]), np.stack([on, 0.9 * on]))
    t1r = spec_from_dict({"array": {"rows": 6, "cols": 5, "cell": "1T1R"}})
    tile = TileSurrogate(t1r, TileParams.from_spec(t1r), transistor=table)
    fast = tile.prepare(np.full((6, 5), 5e-5), "fast")
    fast.currents(np.full((2, 6), 0.1))  # positive inputs: no warning (warnings are errors)
    with pytest.warns(FastModeWarning, match="negative inputs"):
        fast.currents(np.full((2, 6), -0.1))


@pytest.mark.parametrize(
    "cell",
    ["0T1R", pytest.param("1T1R", marks=pytest.mark.ngspice)],
    ids=["sinh: attenuation polynomials", "1T1R: secant transfer"],
)
def test_a_fast_tiles_hot_path_read_is_its_currents(cell):
    # SurrogateTile.read, a network's hot path: the first `used` word lines in single
    # precision, unpadded, and the first `cols` columns alone. The same numbers as the
    # currents of the padded inputs, to single precision (its arithmetic: 1e-6 of full scale
    # bounds the rounding of sums of 24 terms)
    from cimspice.surrogate.model import SurrogateTile
    from cimspice.surrogate.transistor_iv import measure_access_transistor

    extra = {"device": {"iv": "linear"}, "driver": {"v_read": 0.2}} if cell == "1T1R" else {}
    spec = sinh_spec(24, cell=cell, **extra)
    transistor = (
        measure_access_transistor(spec, 1.25 * spec.driver.v_read) if cell == "1T1R" else None
    )
    surrogate = TileSurrogate(spec, TileParams.from_spec(spec), transistor=transistor)
    rng = np.random.default_rng(7)
    g = rng.uniform(1e-6, 1e-4, (24, 24))
    used, cols = 17, 9
    v = rng.uniform(0, spec.driver.v_read, (30, used))
    tile = SurrogateTile(spec, g, surrogate.prepare(g, "fast"), "fast")
    kind = {"0T1R": "AttenuationTile", "1T1R": "SecantTile"}[cell]
    assert type(tile.prepared).__name__ == kind
    padded = np.zeros((30, 24))
    padded[:, :used] = v
    full = surrogate.currents(g, padded, "fast")
    read = tile.read(v.astype(np.float32), cols)
    assert read.shape == (30, cols) and read.dtype == np.float32
    scale = np.abs(full).max()
    np.testing.assert_allclose(read, full[:, :cols], rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(tile.read(v), full, rtol=0, atol=1e-6 * scale)
