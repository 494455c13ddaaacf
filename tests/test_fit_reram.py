"""``cimspice fit-device --model reram-wan2022``: fitting recovers the ReRAM model's spread
quartics (1 s, 1 day, 2 days) and read noise from data the model generated, within a few
standard errors, and bad data gets errors naming the column."""

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.devices.fit_request import apply_device_file, load_device_file
from cimspice.devices.model import Window
from cimspice.devices.registry import device_model
from cimspice.devices.reram import FIT_TIMES, ReRAMWan2022Model, relaxation_std
from cimspice.devices.reram_fitting import fit_reram_spread
from cimspice.spec import spec_from_dict

G_MAX = 40e-6
READ_NOISE = 0.01
MODEL = ReRAMWan2022Model.from_params(Window(0.0, G_MAX), {"read_noise": READ_NOISE})


def targets(n, rng):
    """Targets over 30-100 % of the window: the model's spread there is at most 2.3 uS at
    1 s and 3.9 uS at 1 and 2 days, so the lowest target (12 uS) is > 3 sigma above the
    model's clip at 0 S, which the fit does not model (it moves the spread there by
    < 0.2 %, far below the fit's errors)."""
    return rng.uniform(0.3, 1.0, n) * G_MAX


def spread_data(t, n=60_000, seed=0):
    """Targets and the conductances ``t`` seconds after programming (the model's draws)."""
    rng = np.random.default_rng(seed)
    goal = targets(n, rng)
    if t == FIT_TIMES[0]:
        return goal, MODEL.pulse(goal, rng)
    stuck = np.zeros(n, dtype=bool)
    return goal, MODEL.drift(MODEL.pulse(goal, rng), goal, stuck, t, rng)


def reads_data(devices=300, reads=30, seed=3):
    rng = np.random.default_rng(seed)
    g = targets(devices, rng)
    x = g[:, None] + MODEL.read_std(g, 0.0)[:, None] * rng.standard_normal((devices, reads))
    return np.repeat(np.arange(devices), reads), x.ravel()


@pytest.mark.parametrize(("t", "tag"), [(1.0, "1s"), (86400.0, "1d"), (172800.0, "2d")])
def test_each_times_quartic_is_recovered(t, tag):
    target, measured = spread_data(t)
    fitted, bias = fit_reram_spread(target, measured, G_MAX, tag)
    # each coefficient within 4 standard errors (a 6e-5 chance of failing for a correct
    # fit); the five are strongly correlated, so single ones are loose (SE up to ~40 % of
    # the constant term): the curve they make is held tighter below
    for k in range(5):
        est, true = fitted[f"s{tag}_{k}"], getattr(MODEL, f"s{tag}_{k}")
        assert abs(est.value - true) < 4 * est.stderr, (tag, k, est, true)
        assert est.stderr > 0
    assert abs(bias.value) < 4 * bias.stderr  # the model's spread is unbiased
    # the fitted sigma(G) against the model's over the data's range: 60,000 draws give a
    # std to 0.3 %; the fitted curve (5 coefficients) to ~1 % at the ends: 4 % is > 4 sigma
    fit_model = ReRAMWan2022Model.from_params(
        Window(0.0, G_MAX), {**{k: e.value for k, e in fitted.items()}, "g_ref": G_MAX}
    )
    g = np.linspace(0.3, 1.0, 8) * G_MAX
    np.testing.assert_allclose(
        relaxation_std(fit_model, g, t), relaxation_std(MODEL, g, t), rtol=0.04
    )


def test_standard_errors_match_the_scatter_of_repeated_fits():
    # 30 data sets give each coefficient's spread to +-13 % (1 sigma): a factor 1.6 either
    # way is > 3.5 sigma
    fits = [fit_reram_spread(*spread_data(1.0, 5_000, seed=s), G_MAX, "1s")[0] for s in range(30)]
    for key in ("s1s_0", "s1s_2", "s1s_4"):
        spread = np.std([f[key].value for f in fits], ddof=1)
        claimed = np.mean([f[key].stderr for f in fits])
        assert 1 / 1.6 < spread / claimed < 1.6, (key, spread, claimed)


def write_csv(path, columns):
    names = list(columns)
    rows = zip(*[columns[n] for n in names], strict=True)
    path.write_text(",".join(names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_the_command_writes_a_reram_device_file_that_a_spec_runs(tmp_path, capsys):
    target, measured = spread_data(1.0, 20_000)
    prog = write_csv(tmp_path / "prog.csv", {"target": target, "measured": measured})
    parts = [spread_data(t, 20_000, seed=k + 1) for k, t in enumerate(FIT_TIMES[1:])]
    n = parts[0][0].size
    drift = tmp_path / "relax.npz"
    np.savez(
        drift,
        device=np.tile(np.arange(n), 2),
        time=np.repeat(FIT_TIMES[1:], n),
        conductance=np.concatenate([p[1] for p in parts]),
        target=np.concatenate([p[0] for p in parts]),
    )
    device, g = reads_data()
    reads = tmp_path / "reads.npz"
    np.savez(reads, device=device, conductance=g)
    out, report = tmp_path / "reram.toml", tmp_path / "report"
    args = ["fit-device", str(prog), str(drift), str(reads), "-o", str(out)]
    assert (
        main([*args, "--report", str(report), "--model", "reram-wan2022", "--g-max", "40e-6"]) == 0
    )
    assert "s2d_4" in capsys.readouterr().out
    keys = load_device_file(out)
    assert keys["model"] == "reram-wan2022"
    params = keys["model_params"]
    assert params["g_ref"] == G_MAX
    assert params["read_noise"] == pytest.approx(READ_NOISE, rel=0.03)  # 8,700 dof: 0.8 %
    base = {"array": {"rows": 8, "cols": 8}, "device": {"g_min": 0.0, "g_max": G_MAX}}
    model = device_model(apply_device_file(spec_from_dict(base), out))
    assert isinstance(model, ReRAMWan2022Model)
    g = np.linspace(0.3, 1.0, 8) * G_MAX
    for t in FIT_TIMES:  # 20,000 draws per time: 5 % is > 4 sigma of the fitted curve
        np.testing.assert_allclose(
            relaxation_std(model, g, t), relaxation_std(MODEL, g, t), rtol=0.05
        )
    for name in ("fit.json", "spread.png", "reads.png"):
        assert (report / name).stat().st_size > 0


def test_a_time_without_data_keeps_the_presets_curve_on_the_datas_window(tmp_path):
    # programming data on a 20 uS window only: the 1 day and 2 day curves are Wan et al.'s,
    # rescaled so that the model gives the preset's spread on that window
    window = 20e-6
    small = ReRAMWan2022Model.from_params(Window(0.0, window), {})
    rng = np.random.default_rng(5)
    goal = rng.uniform(0.3, 1.0, 20_000) * window
    prog = write_csv(tmp_path / "prog.csv", {"target": goal, "measured": small.pulse(goal, rng)})
    out = tmp_path / "reram.toml"
    assert (
        main(
            [
                "fit-device",
                str(prog),
                "-o",
                str(out),
                "--model",
                "reram-wan2022",
                "--g-max",
                "20e-6",
            ]
        )
        == 0
    )
    text = out.read_text()
    assert "s1d_0 = " in text and "set, not fitted" in text
    base = {"array": {"rows": 8, "cols": 8}, "device": {"g_min": 0.0, "g_max": window}}
    model = device_model(apply_device_file(spec_from_dict(base), out))
    g = np.linspace(0.3, 1.0, 5) * window
    np.testing.assert_allclose(  # the same law, only written on another window: exact
        relaxation_std(model, g, 86400.0), relaxation_std(small, g, 86400.0), rtol=1e-12
    )


@pytest.mark.parametrize(
    ("columns", "g_max", "message"),
    [
        (
            {"target": [10e-6, 20e-6, 30e-6, 35e-6] * 5, "measured": [1e-6] * 20},
            "40e-6",
            "column 'target' holds fewer than 5 distinct",
        ),
        (
            {
                "device": [0, 1, 2],
                "time": [1, 3600, 1],
                "conductance": [1e-6] * 3,
                "target": [1e-6] * 3,
            },
            "40e-6",
            "column 'time' holds 3600 s",
        ),
        (
            {"device": [0, 1, 2], "time": [1, 1, 1], "conductance": [1e-6] * 3},
            "40e-6",
            "no column 'target'",
        ),
        (
            {"device": [0, 0], "temperature": [300, 310], "conductance": [1e-6] * 2},
            "40e-6",
            "a temperature table",
        ),
        ({"target": [1e-6, 2e-6, 3e-6] * 5, "measured": [1e-6] * 15}, None, "needs --g-max"),
    ],
)
def test_bad_reram_data_is_named_by_column(tmp_path, capsys, columns, g_max, message):
    data = write_csv(tmp_path / "data.csv", columns)
    out = tmp_path / "reram.toml"
    extra = [] if g_max is None else ["--g-max", g_max]
    assert main(["fit-device", str(data), "-o", str(out), "--model", "reram-wan2022", *extra]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()
