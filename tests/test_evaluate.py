"""Network evaluation end to end: ``cimspice evaluate``, sweeps, the SPICE spot-check, and
every bad input as one clear line."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.errors import InputError, SpecError
from cimspice.mapping.matmul import HardwareMatMul
from cimspice.spec import spec_from_dict
from cimspice.studies.evaluate import evaluate, resolve_model, samples_of
from cimspice.studies.spotcheck import ROUNDOFF, held_out_error, spot_check
from cimspice.studies.sweeps import parse_sweep, run_sweep, with_value

SPEC = """[array]
rows = 32
cols = 32
[wire]
r_row = 1.0
r_col = 1.0
"""
RANGES = {"g_min": 1e-6, "g_max": 1e-4, "v_min": 0.0, "v_max": 0.2}


@pytest.fixture(scope="module")
def digits():
    model, data = resolve_model("digits-mlp")  # trained once, then cached
    x, y = samples_of(data, "test")
    return model, data, x, y


def write_spec(folder: Path, text: str = SPEC) -> Path:
    path = folder / "spec.toml"
    path.write_text(text)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cimspice.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_evaluate_help():
    proc = run_cli("evaluate", "--help")
    assert proc.returncode == 0 and "--spot-check" in proc.stdout


def test_evaluate_command_writes_json(tmp_path, capsys, digits):
    spec = write_spec(tmp_path, SPEC + "[nonideal]\nprog_noise_rel = 0.05\n")
    out = tmp_path / "eval.json"
    code = main(
        [
            "evaluate",
            "--model",
            "digits-mlp",
            "--spec",
            str(spec),
            "--json",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["accuracy_ideal"] >= 0.96  # the target for the digits MLP
    assert 0.5 < data["accuracy_hardware"] <= 1.0
    assert set(data["layers"]) == {"0", "2"}
    for row in data["layers"].values():
        assert 0 < row["nrmse"] <= row["max_error"] < 1  # noise and IR drop: some, not all
    assert f"{data['accuracy_ideal']:.4f}" in printed and "MVM NRMSE" in printed


def test_nonidealities_lower_the_accuracy(tmp_path, digits):
    model, _, x, y = digits
    base = spec_from_dict({"array": {"rows": 64, "cols": 64}})
    clean, _ = evaluate(model, x, y, base, engine="ideal")
    assert clean.accuracy_hardware == clean.accuracy_ideal and clean.agreement == 1.0
    clean.save_json(tmp_path / "clean.json")
    saved = json.loads((tmp_path / "clean.json").read_text())
    assert saved["accuracy_hardware"] == clean.accuracy_hardware and saved["layers"]["0"]
    for key, value in [
        ("nonideal.prog_noise_rel", 0.6),
        ("nonideal.stuck_on", 0.2),
        ("nonideal.levels", 3),
        ("nonideal.read_noise", 0.8),
    ]:
        worse, _ = evaluate(model, x, y, with_value(base, key, value), engine="ideal")
        # strong settings (far past typical devices) so the drop is many samples, not one
        assert worse.accuracy_hardware < clean.accuracy_ideal - 0.02, key


def test_sweep_with_seeds_and_plot(tmp_path, digits):
    model, _, x, y = digits
    spec = spec_from_dict({"array": {"rows": 64, "cols": 64}})
    key, values = parse_sweep("nonideal.prog_noise_rel=0,0.3,1.0")
    sweep = run_sweep(model, x, y, spec, key=key, values=values, seeds=3, engine="ideal")
    assert sweep.accuracy.shape == (3, 3) and sweep.seeds == [0, 1, 2]
    assert np.all(sweep.accuracy[0] == sweep.accuracy[0, 0])  # no noise: seeds agree
    assert sweep.std[2] > 0  # noise: seeds differ
    assert sweep.accuracy[0, 0] == sweep.accuracy_ideal > sweep.mean[1] > sweep.mean[2]
    png = sweep.plot(tmp_path / "plots" / "sweep.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    again = run_sweep(model, x, y, spec, key=key, values=values[1:2], seeds=2, engine="ideal")
    np.testing.assert_array_equal(again.accuracy[0], sweep.accuracy[1, :2])  # seeds reproduce


def sweep_case(digits):
    """A small sweep whose points differ (read noise, device seeds): 2 values x 2 seeds."""
    model, _, x, y = digits
    spec = spec_from_dict({"array": {"rows": 32, "cols": 32}, "wire": {"r_row": 1.0, "r_col": 1.0}})
    args = (model, x[:120], y[:120], spec)
    kwargs = {"key": "nonideal.read_noise", "values": [0.05, 0.3], "seeds": 2}
    return args, kwargs


def test_a_sweep_is_the_same_in_this_process_in_worker_processes_and_on_dask(digits):
    args, kwargs = sweep_case(digits)
    here = run_sweep(*args, **kwargs, jobs=1)
    pool = run_sweep(*args, **kwargs, jobs=2)
    dask = run_sweep(*args, **kwargs, executor="dask", jobs=2)
    # every point runs with one BLAS thread wherever it runs: the same sums, the same labels
    np.testing.assert_array_equal(pool.accuracy, here.accuracy)
    np.testing.assert_array_equal(dask.accuracy, here.accuracy)
    assert pool.accuracy_ideal == dask.accuracy_ideal == here.accuracy_ideal
    assert len(np.unique(here.accuracy)) > 1  # the points really differ


def test_an_interrupted_sweep_resumes_where_it_stopped(tmp_path, digits, monkeypatch):
    import cimspice.studies.sweeps as sweeps
    from cimspice.sweep import SweepCache

    args, kwargs = sweep_case(digits)
    uninterrupted = run_sweep(*args, **kwargs)  # no cache
    cache = SweepCache(tmp_path / "studies")
    calls = []
    interrupt = [True]
    real = sweeps.evaluate

    def counted(*a, **k):
        calls.append(k)
        if interrupt[0] and len(calls) == 3:  # Ctrl-C during the third point
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(sweeps, "evaluate", counted)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(*args, **kwargs, cache=cache)
    assert len(list((tmp_path / "studies").glob("*.npz"))) == 2  # the two finished points
    calls.clear()
    interrupt[0] = False
    resumed = run_sweep(*args, **kwargs, cache=cache)
    assert len(calls) == 2  # only the two points left ran
    np.testing.assert_array_equal(resumed.accuracy, uninterrupted.accuracy)
    calls.clear()
    again = run_sweep(*args, **kwargs, cache=cache)
    assert not calls  # nothing ran: every point from the cache
    np.testing.assert_array_equal(again.accuracy, uninterrupted.accuracy)
    # a point that differs in anything it depends on is not served from the cache
    model, x, y, spec = args
    changed = run_sweep(model, x, y, with_value(spec, "wire.r_row", 2.0), **kwargs, cache=cache)
    assert len(calls) == 4
    assert changed.accuracy.shape == uninterrupted.accuracy.shape


def test_sweep_array_size_and_bad_sweeps(digits):
    spec = spec_from_dict({"array": {"rows": 64, "cols": 64}})
    assert with_value(spec, "array.size", 16).cols == 16
    assert parse_sweep("readout.adc_bits=4, 6,8") == ("readout.adc_bits", [4, 6, 8])
    with pytest.raises(SpecError, match=r"nonideal\.levels"):
        with_value(spec, "nonideal.levels", 1)
    with pytest.raises(SpecError, match=r"wire\.r_diag"):
        with_value(spec, "wire.r_diag", 1.0)
    with pytest.raises(InputError, match="KEY=v1"):
        parse_sweep("levels")


@pytest.mark.ngspice
def test_spot_check_reruns_the_used_tile_in_ngspice(digits):
    from cimspice.surrogate.calibrate import calibrate

    model, _, x, y = digits
    spec = spec_from_dict(
        {
            "array": {"rows": 16, "cols": 16},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "nonideal": {"prog_noise_rel": 0.05, "drift_time": 100.0, "drift_nu": 0.05},
        }
    )
    with tempfile.TemporaryDirectory() as cache:
        cal = calibrate(spec, samples=4, batch=8, seed=0, cache_dir=Path(cache))
    _, hardware = evaluate(model, x[:50], y[:50], spec, surrogate=cal.surrogate, probe=(0, None))
    record = hardware.record
    assert record is not None and record.layer == 0 and np.any(record.voltages)
    # the record holds the tile as the evaluation programmed and drove it
    layer = hardware.layers[0]
    np.testing.assert_array_equal(record.conductances, layer.programmed[record.tile].conductances)
    held = held_out_error(cal.surrogate.metadata)
    assert held is not None
    check = spot_check(spec, record, held_out=held)
    assert check.within
    # a passive tile's surrogate is exact: the spot-check sees solver round-off only
    assert check.max_error < ROUNDOFF
    # and the check can fail: currents of an IR-drop-free model are far off ngspice's
    wrong = type(record)(
        record.layer,
        record.tile,
        record.conductances,
        record.voltages,
        record.voltages @ record.conductances,
    )
    assert not spot_check(spec, wrong, held_out=held).within


def test_evaluate_surrogate_file_and_json(tmp_path, digits):
    from cimspice.surrogate.model import LinearTileSurrogate, TileParams

    spec_path = write_spec(tmp_path)
    spec = spec_from_dict({"array": {"rows": 32, "cols": 32}, "wire": {"r_row": 1.0, "r_col": 1.0}})
    surrogate = tmp_path / "s.json"
    LinearTileSurrogate(spec, TileParams.from_spec(spec), RANGES).save(surrogate)
    out = tmp_path / "e.json"
    nominal = tmp_path / "n.json"
    args = [
        "evaluate",
        "--model",
        "digits-mlp",
        "--spec",
        str(spec_path),
        "--samples",
        "60",
        "--no-progress",
    ]
    assert main([*args, "--surrogate", str(surrogate), "--json", str(out)]) == 0
    assert main([*args, "--json", str(nominal)]) == 0
    a, b = json.loads(out.read_text()), json.loads(nominal.read_text())
    assert a["samples"] == 60 and a["surrogate"] == str(surrogate)
    assert a["accuracy_hardware"] == b["accuracy_hardware"]  # same model of the same tile


# ----- bad input: one line on stderr, exit code 1 -----


def bad_model_files(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    chain = folder / "chain.npz"
    np.savez(
        chain,
        W0=rng.normal(size=(64, 32)),
        b0=np.zeros(32),
        W1=rng.normal(size=(16, 10)),
        b1=np.zeros(10),
    )
    garbage = folder / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    return {"chain": chain, "garbage": garbage, "missing": folder / "nope.npz"}


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        ("missing", "nope.npz"),
        ("garbage", "garbage.npz"),
        ("chain", "layer"),
        ("narrow", "array.cols"),
        ("zero_adc", "readout.adc_bits"),
        ("sweep_key", "wire.r_diag"),
        ("sweep_no_dir", "--plot-dir"),
        ("other_surrogate", "another tile"),
    ],
)
def test_bad_inputs_give_one_line(tmp_path, case, expect, digits):
    models = bad_model_files(tmp_path)
    model = str(models.get(case, "digits-mlp"))
    text = SPEC
    if case == "narrow":
        text = "[array]\nrows = 32\ncols = 1\n"
    if case == "zero_adc":
        text = SPEC + "[readout]\nadc_full_scale = 1e-4\n"
    spec = write_spec(tmp_path, text)
    extra: list[str] = []
    if case == "sweep_key":
        extra = ["--sweep", "wire.r_diag=1,2", "--plot-dir", str(tmp_path / "p")]
    if case == "sweep_no_dir":
        extra = ["--sweep", "wire.r_row=1,2"]
    if case == "other_surrogate":
        from cimspice.surrogate.model import LinearTileSurrogate, TileParams

        other = spec_from_dict({"array": {"rows": 32, "cols": 32}})
        path = tmp_path / "other.json"
        LinearTileSurrogate(other, TileParams.from_spec(other), RANGES).save(path)
        extra = ["--surrogate", str(path)]
    out = tmp_path / "out.json"
    proc = run_cli(
        "evaluate",
        "--model",
        model,
        "--spec",
        str(spec),
        "--json",
        str(out),
        "--samples",
        "20",
        *extra,  # progress bars on: errors still come alone, before any bar
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cimspice: error:"), proc.stderr
    assert expect in lines[0]
    assert not out.exists()  # nothing half-written


def test_hardware_needs_no_model_object():
    # the MatMul works on plain matrices too (any caller of Model.forward's protocol)
    hw = HardwareMatMul(spec_from_dict({"array": {"rows": 8, "cols": 8}}), engine="ideal")
    w, x = np.eye(10), np.arange(20.0).reshape(2, 10)
    np.testing.assert_allclose(hw(3, x, w), x, rtol=1e-12)


@pytest.mark.ngspice
def test_spot_check_flag_reports_against_the_calibration(tmp_path, capsys, digits):
    spec_path = write_spec(
        tmp_path, "[array]\nrows = 16\ncols = 16\n[wire]\nr_row = 2.0\nr_col = 2.0\n"
    )
    surrogate = tmp_path / "s.json"
    cache = str(tmp_path / "cache")
    assert (
        main(
            [
                "calibrate",
                str(spec_path),
                "-o",
                str(surrogate),
                "--samples",
                "4",
                "--batch",
                "8",
                "--cache",
                cache,
            ]
        )
        == 0
    )
    out = tmp_path / "e.json"
    assert (
        main(
            [
                "evaluate",
                "--model",
                "digits-mlp",
                "--spec",
                str(spec_path),
                "--surrogate",
                str(surrogate),
                "--samples",
                "30",
                "--spot-check",
                "--json",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    check = json.loads(out.read_text())["spot_check"]
    held = json.loads(surrogate.read_text())["validation"]["metrics"]["surrogate"]
    assert check["held_out_nrmse"] == held["nrmse"] and check["vectors"] == 8
    assert check["within"] is True and check["layer"] == 0
    assert "spot-check (ngspice)" in capsys.readouterr().out


def test_hardware_aware_training_gains_on_noisy_tiles(digits):
    # Programming noise of 4.8 uS on a 24 uS window is additive noise of 0.2 of each layer's
    # max |W|: the noise the hardware-aware model (level 0.2) was trained with. Monte Carlo
    # over 3 device seeds, the same for both models (measured gain ~ 0.16, std ~ 0.03).
    plain, _, x, y = digits
    aware, _ = resolve_model("digits-mlp", hardware_aware=0.2)
    spec = spec_from_dict(
        {
            "array": {"rows": 64, "cols": 64},
            "device": {"g_min": 1e-6, "g_max": 25e-6},
            "nonideal": {"prog_noise_abs": 4.8e-6},
        }
    )
    common = {"key": "nonideal.seed", "values": [0, 1, 2], "engine": "ideal"}
    gains = (
        run_sweep(aware, x, y, spec, **common).mean - run_sweep(plain, x, y, spec, **common).mean
    )
    assert gains.mean() > 0.05


def test_hardware_aware_flag_reports_the_gain(tmp_path, capsys, digits):
    spec = write_spec(
        tmp_path, "[array]\nrows = 64\ncols = 64\n[nonideal]\nprog_noise_abs = 2e-5\n"
    )
    out = tmp_path / "e.json"
    args = ["evaluate", "--model", "digits-mlp", "--spec", str(spec), "--engine", "ideal"]
    assert main([*args, "--hardware-aware", "0.2", "--json", str(out), "--no-progress"]) == 0
    hwa = json.loads(out.read_text())["hardware_aware"]
    data = json.loads(out.read_text())
    assert hwa["gain_hardware"] == pytest.approx(
        data["accuracy_hardware"] - hwa["plain_accuracy_hardware"]
    )
    assert "hardware-aware training (level 0.2)" in capsys.readouterr().out
    bad = run_cli(
        "evaluate", "--model", "digits-mlp", "--spec", str(spec), "--hardware-aware", "-1"
    )
    assert bad.returncode == 2 and "finite number >= 0" in bad.stderr


# ----- the dataset a model is evaluated on (issue 11: silent wrong answers) -----


def test_dataset_other_than_a_builtin_models_own_is_refused(tmp_path, capsys, digits):
    spec = write_spec(tmp_path)
    base = ["evaluate", "--model", "digits-mlp", "--spec", str(spec), "--samples", "20"]
    code = main([*base, "--dataset", "mnist", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "digits-mlp was trained on the digits dataset" in err and "'mnist'" in err
    assert main([*base, "--dataset", "digits", "--no-progress"]) == 0  # its own: honoured


@pytest.mark.parametrize(
    ("shape", "dataset", "expect"),
    [
        ((64, 5), None, "has 5 outputs, but the digits dataset has 10 classes"),
        ((784, 12), "mnist", "has 12 outputs, but the mnist dataset has 10 classes"),
        (
            (64, 10),
            "mnist",
            "takes inputs of size 64, but the mnist dataset's samples have size 784",
        ),
    ],
)
def test_a_model_file_that_does_not_fit_the_dataset_is_refused(tmp_path, shape, dataset, expect):
    rng = np.random.default_rng(0)
    path = tmp_path / "m.npz"
    np.savez(path, W0=rng.normal(size=shape), b0=np.zeros(shape[1]))
    with pytest.raises(InputError, match=expect):
        resolve_model(str(path), dataset=dataset)


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "--model", "digits-mlp", "--spec", "preset:demo", "--json", "new/"],
        ["calibrate", "preset:demo", "-o", "new/"],
    ],
)
def test_an_output_file_typed_as_a_folder_is_refused_before_any_work(
    tmp_path, argv, capsys, monkeypatch
):
    # "new/" once became a file named "new" (the path lost its slash before it was checked)
    import os

    monkeypatch.setenv("CIMSPICE_CACHE", str(tmp_path.parent / "cache"))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code = main(argv)
    finally:
        os.chdir(cwd)
    assert code != 0
    assert "'new/' names a folder, not a file" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing written
