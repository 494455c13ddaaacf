"""``cimspice fit-device --model memristor-rao2023``: fitting recovers the multi-level
model's window, level placement, programming spread and read noise (in level steps) from
data the model generated, within a few standard errors, and bad data gets errors naming
the column."""

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.devices.fit_request import apply_device_file, load_device_file
from cimspice.devices.fitting import fit_reads
from cimspice.devices.model import Window
from cimspice.devices.multilevel import MultiLevelModel, level_set
from cimspice.devices.multilevel_fitting import fit_levels, in_steps
from cimspice.devices.registry import device_model
from cimspice.spec import spec_from_dict

LEVELS = 2048
TRUE = {"level_exponent": 1.5, "prog_std_steps": 0.6, "read_std_steps": 0.3}
WINDOW = Window(1e-6, 100e-6)
MODEL = MultiLevelModel.from_params(WINDOW, {"levels": LEVELS, **TRUE})


def levels_data(n=20_000, seed=0, lo=40, hi=LEVELS - 40):
    """Devices programmed to random levels ``lo .. hi - 1`` (40 levels inside the window's
    ends: the nearest level is > 60 spreads from the model's clip at the ends, which the fit
    does not model)."""
    rng = np.random.default_rng(seed)
    k = rng.integers(lo, hi, n)
    return k, MODEL.pulse(level_set(MODEL)[k], rng)


def reads_data(devices=200, reads=30, seed=1):
    rng = np.random.default_rng(seed)
    g = level_set(MODEL)[rng.integers(0, LEVELS, devices)]
    x = g[:, None] + MODEL.read_std(g, 0.0)[:, None] * rng.standard_normal((devices, reads))
    return np.repeat(np.arange(devices), reads), x.ravel()


def within(est, true, k=4.0):
    """Within ``k`` standard errors of the truth (4: a 6e-5 chance of failing for a correct
    fit), with an informative standard error (< 5 % of the value)."""
    assert abs(est.value - true) < k * est.stderr, (est, true)
    assert 0 < est.stderr < 0.05 * abs(true)


def test_window_placement_and_spread_are_recovered():
    fit = fit_levels(*levels_data(), LEVELS)
    within(fit.g_min, WINDOW.g_min)
    within(fit.g_max, WINDOW.g_max)
    within(fit.exponent, TRUE["level_exponent"])
    within(fit.prog_std_steps, TRUE["prog_std_steps"])
    within(fit.step, MODEL.step)


def test_read_noise_in_steps_is_recovered():
    fit = fit_levels(*levels_data(), LEVELS)
    std = fit_reads(*reads_data(), relative=False)["read_noise"]
    within(in_steps(std, fit.step), TRUE["read_std_steps"])


def test_standard_errors_match_the_scatter_of_repeated_fits():
    # 30 data sets give each spread to +-13 % (1 sigma): a factor 1.6 either way is > 3.5 sigma
    fits = [fit_levels(*levels_data(2_000, seed=s), LEVELS) for s in range(30)]
    for key in ("g_min", "g_max", "exponent", "prog_std_steps"):
        spread = np.std([getattr(f, key).value for f in fits], ddof=1)
        claimed = np.mean([getattr(f, key).stderr for f in fits])
        assert 1 / 1.6 < spread / claimed < 1.6, (key, spread, claimed)


def write_csv(path, columns):
    names = list(columns)
    rows = zip(*[columns[n] for n in names], strict=True)
    path.write_text(",".join(names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_the_command_writes_a_device_file_that_a_spec_runs(tmp_path, capsys):
    k, g = levels_data(10_000)
    levels = write_csv(tmp_path / "levels.csv", {"level": k, "conductance": g})
    device, read = reads_data()
    reads = tmp_path / "reads.npz"
    np.savez(reads, device=device, conductance=read)
    out, report = tmp_path / "ml.toml", tmp_path / "report"
    args = ["fit-device", str(levels), str(reads), "-o", str(out), "--report", str(report)]
    assert main([*args, "--model", "memristor-rao2023", "--levels", str(LEVELS)]) == 0
    assert "read_std_steps" in capsys.readouterr().out
    text = out.read_text()
    assert "set device.g_min and device.g_max" in text
    keys = load_device_file(out)
    assert keys["model"] == "memristor-rao2023"
    params = keys["model_params"]
    assert params["levels"] == LEVELS
    assert params["level_exponent"] == pytest.approx(TRUE["level_exponent"], rel=0.01)
    base = {"array": {"rows": 8, "cols": 8}, "device": {"g_min": 1e-6, "g_max": 100e-6}}
    model = device_model(apply_device_file(spec_from_dict(base), out))
    assert isinstance(model, MultiLevelModel)
    # the fitted level set against the true one: within 0.1 step everywhere (the placement
    # is known to ~1e-5 of the window from 10,000 devices)
    assert np.max(np.abs(level_set(model) - level_set(MODEL))) < 0.1 * MODEL.step
    for name in ("fit.json", "levels.png", "level_spread.png", "reads.png"):
        assert (report / name).stat().st_size > 0


def test_the_level_count_defaults_to_the_highest_level_plus_one(tmp_path):
    k, g = levels_data(2_000, lo=0, hi=256)
    data = write_csv(tmp_path / "levels.csv", {"level": k, "conductance": g})
    out = tmp_path / "ml.toml"
    assert main(["fit-device", str(data), "-o", str(out), "--model", "memristor-rao2023"]) == 0
    assert load_device_file(out)["model_params"]["levels"] == int(k.max()) + 1


@pytest.mark.parametrize(
    ("columns", "levels", "message"),
    [
        ({"level": [0, 1] * 10, "conductance": [1e-6, 2e-6] * 10}, None, "fewer than 3 distinct"),
        ({"level": [0.5] * 12, "conductance": [1e-6] * 12}, None, "column 'level' holds 0.5"),
        (
            {"level": list(range(12)), "conductance": [1e-6] * 12},
            "8",
            "column 'level' holds 11, not below --levels (8",
        ),
        ({"device": [0, 0], "conductance": [1e-6, 2e-6]}, None, "needs a levels table"),
        ({"target": [1e-6, 2e-6] * 6, "measured": [1e-6] * 12}, None, "a programming table"),
    ],
)
def test_bad_levels_data_is_named_by_column(tmp_path, capsys, columns, levels, message):
    data = write_csv(tmp_path / "data.csv", columns)
    out = tmp_path / "ml.toml"
    extra = [] if levels is None else ["--levels", levels]
    assert (
        main(["fit-device", str(data), "-o", str(out), "--model", "memristor-rao2023", *extra]) == 1
    )
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_the_generic_fit_refuses_a_levels_table(tmp_path, capsys):
    k, g = levels_data(20)
    data = write_csv(tmp_path / "levels.csv", {"level": k, "conductance": g})
    assert main(["fit-device", str(data), "-o", str(tmp_path / "d.toml")]) == 1
    assert "a levels table; the generic model fits" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("model", "flag", "message"),
    [
        ("memristor-rao2023", ["--g-max", "1e-4"], "--g-max applies to --model pcm-"),
        ("generic", ["--g-max", "1e-4"], "--model generic does not use it"),
        ("reram-wan2022", ["--levels", "64", "--g-max", "1e-4"], "--levels applies to"),
    ],
)
def test_options_a_model_does_not_use_are_refused(tmp_path, capsys, model, flag, message):
    k, g = levels_data(20)
    data = write_csv(tmp_path / "levels.csv", {"level": k, "conductance": g})
    out = tmp_path / "d.toml"
    assert main(["fit-device", str(data), "-o", str(out), "--model", model, *flag]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()
