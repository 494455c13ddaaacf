"""The surrogate: exactness on linear tiles, file round trip, engine checks, calibration."""

import json
import warnings

import numpy as np
import pytest
from conftest import make_spec, random_arrays

from cimspice.cli import main
from cimspice.engines.nodal import NodalSolver
from cimspice.errors import SurrogateError
from cimspice.metrics import max_error
from cimspice.simulation import get_engine, simulate
from cimspice.surrogate.baselines import analytical_ir_drop
from cimspice.surrogate.calibrate import calibrate, fit_params, write_report
from cimspice.surrogate.model import (
    LinearTileSurrogate,
    RangeWarning,
    TileParams,
    load_surrogate,
)


@pytest.mark.parametrize(
    "wires", [dict(r_row=2.0, r_col=2.0), dict(r_row=0.5, r_col=3.0, r_source=20.0, r_in=7.0)]
)
def test_surrogate_with_nominal_params_is_the_nodal_solve(wires):
    spec = make_spec(24, 17, **wires)
    g, v = random_arrays(24, 17, 40, seed=3)
    surrogate = LinearTileSurrogate(spec, TileParams.from_spec(spec))
    nodal = NodalSolver(spec, g).solve(v).currents
    # Same linear network, solved once through the transfer matrix: round-off only (1e-12).
    assert max_error(surrogate.currents(g, v), nodal) <= 1e-12


def test_series_cell_resistance_is_a_conductance_transform():
    spec = make_spec(6, 5, r_row=1.0, r_col=1.0)
    g, v = random_arrays(6, 5, 3, seed=8)
    r_cell, r_cell_g = 5e3, 2e3
    with_series = LinearTileSurrogate(spec, TileParams(1.0, 1.0, 1.0, 1.0, r_cell, r_cell_g))
    r_series = r_cell + r_cell_g * g / spec.device.g_max
    reference = NodalSolver(spec, g / (1 + g * r_series)).solve(v).currents
    assert max_error(with_series.currents(g, v), reference) <= 1e-12


def test_analytical_baseline_is_exact_for_a_single_cell():
    spec = make_spec(1, 1, r_row=2.0, r_col=3.0, r_source=4.0)
    g = np.array([[5e-5]])
    v = np.array([[0.2]])
    expected = 0.2 / (1 / 5e-5 + 2 + 4 + 3)
    assert analytical_ir_drop(spec, g, v)[0, 0] == pytest.approx(expected, rel=1e-14)


def test_file_round_trip_and_checks(tmp_path):
    spec = make_spec(5, 4, r_row=2.0, r_col=2.0)
    g, v = random_arrays(5, 4, 6, seed=1)
    ranges = {"g_min": 1e-6, "g_max": 1e-4, "v_min": 0.0, "v_max": 0.2}
    surrogate = LinearTileSurrogate(spec, TileParams(2.1, 1.9, 2.0, 2.2, 3.0), ranges)
    path = tmp_path / "s.json"
    surrogate.save(path)
    loaded = load_surrogate(path)
    assert loaded.params == surrogate.params and loaded.spec == spec
    engine = get_engine("surrogate", surrogate=path)
    np.testing.assert_array_equal(engine.run(spec, g, v).currents, surrogate.currents(g, v))

    other = make_spec(5, 4, r_row=2.5, r_col=2.0)
    with pytest.raises(SurrogateError, match="calibrated for another spec"):
        engine.run(other, g, v)
    with pytest.warns(RangeWarning, match=r"inputs span \[0, 0.5\] V, outside"):
        engine.run(spec, g, np.full((1, 5), 0.5) * (np.arange(5) > 0))
    with pytest.warns(RangeWarning, match="conductances span"):
        engine.run(spec, g * 10, v)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine.run(spec, g, v)  # inside the ranges: silent


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "not found"),
        ("{not json", "not readable JSON"),
        ('{"format": "other"}', "not a cimspice surrogate"),
    ],
)
def test_bad_surrogate_files(tmp_path, content, fragment):
    path = tmp_path / "s.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SurrogateError, match=fragment):
        load_surrogate(path)


def test_tampered_surrogate_file(tmp_path):
    spec = make_spec(3, 3, r_row=1.0)
    path = tmp_path / "s.json"
    LinearTileSurrogate(spec, TileParams.from_spec(spec)).save(path)
    data = json.loads(path.read_text())
    data["spec"]["wire"]["r_row"] = 9.0  # spec edited, hash not
    path.write_text(json.dumps(data))
    with pytest.raises(SurrogateError, match="corrupt"):
        load_surrogate(path)
    data = json.loads(path.read_text())
    del data["params"]["r_col"]
    path.write_text(json.dumps(data))
    with pytest.raises(SurrogateError, match="corrupt"):
        load_surrogate(path)


@pytest.mark.ngspice
def test_fit_recovers_the_network_from_a_wrong_start(tmp_path):
    from cimspice.sweep import Case, run_cases

    spec = make_spec(8, 8, r_row=2.0, r_col=3.0, r_source=5.0, r_in=1.0)
    rng = np.random.default_rng(0)
    cases = [
        Case(f"c{k}", rng.uniform(1e-6, 1e-4, (8, 8)), rng.uniform(0, 0.2, (8, 8)))
        for k in range(3)
    ]
    results = run_cases(spec, cases, cache=None, jobs=2)
    wrong = TileParams(1.0, 1.0, 1.0, 1.0, 100.0)
    params, info = fit_params(spec, results, start=wrong)
    # ngspice solves exactly this network, so the fit must find it again from 1 ohm wires (a
    # passive cell has no series element: the start's 100 ohm cell resistance is dropped).
    # The fit's finite-difference Jacobian (relative step 1e-6) stops it near 1e-10 of full
    # scale (measured 1.5e-10) and within 1e-5 ohm of each value (measured 4e-6); 1e-9 and
    # 1e-4 ohm leave margin and still pin every parameter.
    assert info["train_nrmse"] < 1e-9
    np.testing.assert_allclose(params.as_array(), [7.0, 2.0, 3.0, 4.0, 0.0, 0.0], atol=1e-4)


@pytest.mark.ngspice
def test_calibration_round_trip_and_report(tmp_path):
    spec = make_spec(10, 12, r_row=2.0, r_col=2.0)
    result = calibrate(spec, samples=2, batch=4, seed=1, cache_dir=tmp_path / "cache", jobs=2)
    m = result.metrics
    # Passive tiles are linear: the surrogate is exact up to solver precision (target 1e-6).
    assert m["surrogate"]["max_error"] <= 1e-6
    assert m["ideal"]["max_error"] > 1e-3  # 2 ohm wires are visible: the baseline is worse
    assert (
        m["surrogate"]["max_error"] < m["analytical"]["max_error"] < m["ideal"]["max_error"] * 1.5
    )
    path = tmp_path / "s.json"
    result.surrogate.save(path)
    files = write_report(result, tmp_path / "report")
    assert {f.name for f in files} >= {"report.md", "parity.png", "error_histogram.png"}
    # the report puts each model's speed beside its error (a linear tile has one mode)
    assert set(result.speeds) == {"surrogate", "ideal"}
    assert all(s["mvm_per_s"] > 0 and s["prepare_s"] >= 0 for s in result.speeds.values())
    report = (tmp_path / "report" / "report.md").read_text()
    assert "| surrogate | " in report and "MVMs/s once prepared" in report
    loaded = load_surrogate(path)
    g, v = random_arrays(10, 12, 5, seed=4)
    np.testing.assert_array_equal(loaded.currents(g, v), result.surrogate.currents(g, v))
    spice = simulate(spec, g, v, engine="ngspice").currents
    assert max_error(loaded.currents(g, v), spice) <= 1e-6


@pytest.mark.ngspice
def test_calibrate_and_simulate_from_the_command_line(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text("[array]\nrows = 6\ncols = 5\n[wire]\nr_row = 2.0\nr_col = 2.0\n")
    out = tmp_path / "s.json"
    code = main(
        [
            "calibrate",
            str(spec),
            "-o",
            str(out),
            "--samples",
            "1",
            "--batch",
            "3",
            "--cache",
            str(tmp_path / "cache"),
        ]
    )
    assert code == 0 and out.exists()
    assert (tmp_path / "s-report" / "report.md").exists()
    g, v = random_arrays(6, 5, 3, seed=2)
    np.save(tmp_path / "g.npy", g)
    np.save(tmp_path / "v.npy", v)
    res = tmp_path / "r.npz"
    code = main(
        [
            "simulate",
            str(spec),
            "--conductances",
            str(tmp_path / "g.npy"),
            "--inputs",
            str(tmp_path / "v.npy"),
            "--engine",
            "surrogate",
            "--surrogate",
            str(out),
            "-o",
            str(res),
        ]
    )
    assert code == 0
    with np.load(res) as data:
        nodal = simulate(make_spec(6, 5, r_row=2.0, r_col=2.0), g, v, engine="nodal").currents
        assert max_error(data["currents"], nodal) <= 1e-9
    other = tmp_path / "other.toml"
    other.write_text("[array]\nrows = 6\ncols = 5\n[wire]\nr_row = 3.0\nr_col = 2.0\n")
    code = main(
        [
            "simulate",
            str(other),
            "--conductances",
            str(tmp_path / "g.npy"),
            "--inputs",
            str(tmp_path / "v.npy"),
            "--engine",
            "surrogate",
            "--surrogate",
            str(out),
            "-o",
            str(tmp_path / "x.npz"),
        ]
    )
    assert code == 1 and "calibrated for another spec" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda d: d.update(params=[1, 2]), "exactly the keys"),
        (lambda d: d["ranges"].pop("g_max"), "exactly the keys"),
        (lambda d: d["params"].update(r_row=-5.0), ">= 0"),
        (lambda d: d["params"].update(r_first="nan"), "must be a number"),
        (lambda d: d["ranges"].update(v_max=float("inf")), "finite"),
        (lambda d: d["ranges"].update(g_min=1e-3), "0 <= g_min <= g_max"),
        (lambda d: d["ranges"].update(v_min=0.5), "v_min <= v_max"),
    ],
)
def test_surrogate_file_values_are_validated(tmp_path, edit, fragment):
    spec = make_spec(3, 3, r_row=1.0, r_col=1.0)
    ranges = {"g_min": 1e-6, "g_max": 1e-4, "v_min": 0.0, "v_max": 0.2}
    path = tmp_path / "s.json"
    LinearTileSurrogate(spec, TileParams.from_spec(spec), ranges).save(path)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(SurrogateError, match=fragment):
        load_surrogate(path)


def test_linear_spec_hash_ignores_unused_device_keys():
    from cimspice.spec import spec_from_dict

    base = spec_from_dict({"array": {"rows": 2, "cols": 2}})
    v0 = spec_from_dict({"array": {"rows": 2, "cols": 2}, "device": {"v0": 0.3}})
    sinh = spec_from_dict({"array": {"rows": 2, "cols": 2}, "device": {"iv": "sinh"}})
    assert base.content_hash() == v0.content_hash() != sinh.content_hash()
