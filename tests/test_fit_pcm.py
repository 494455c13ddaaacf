"""``cimspice fit-device --model pcm-nandakumar2019``: fitting recovers the PCM model's
parameters (programming-noise quadratic, drift-exponent lines, 1/f noise growth) from data the
model generated, within a few standard errors, and bad data gets errors naming the column."""

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.devices.fit_request import apply_device_file, load_device_file
from cimspice.devices.model import Window
from cimspice.devices.pcm import PCMModel, drift_exponent_stats, one_over_f_std
from cimspice.devices.pcm_fitting import fit_pcm_drift, fit_pcm_programming
from cimspice.devices.registry import device_model
from cimspice.errors import InputError
from cimspice.spec import spec_from_dict

G_MAX = 25e-6
# parameters where the model's clips are inactive over x = 0.1 .. 1 (the fit opens them) and
# the relative 1/f noise stays below 7 % (the fit's ln(1 + e) ~ e holds to < 0.3 % in Q_s)
TRUE = {
    "prog_c0": 0.26348e-6,
    "prog_c1": 1.9650e-6,
    "prog_c2": -1.1731e-6,
    "nu_mu_a": -0.015,
    "nu_mu_b": 0.05,
    "nu_std_a": -0.008,
    "nu_std_b": 0.008,
    "q_a": 0.004,
    "q_exp": 0.65,
}
OPEN = {"nu_mu_min": 0.0, "nu_mu_max": 1.0, "nu_std_min": 0.0, "nu_std_max": 1.0, "q_max": 1.0}
TIMES = np.array([1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7])
MODEL = PCMModel.from_params(Window(0.0, G_MAX), {**TRUE, **OPEN})


def programming_data(n=20_000, seed=0):
    """Targets over 10-100 % of the window (clear of the clip at 0 S) and one pulse each."""
    rng = np.random.default_rng(seed)
    target = rng.uniform(0.1, 1.0, n) * G_MAX
    return target, MODEL.pulse(target, rng)


def drift_data(n=1_000, seed=1):
    """``n`` devices programmed once, read at each of TIMES: the model's law with one drift
    exponent per device and the 1/f noise drawn afresh at each read time (as aihwkit draws it
    per inference time). Returns device, time, conductance, target (one row per read)."""
    rng = np.random.default_rng(seed)
    goal = rng.uniform(0.1, 1.0, n) * G_MAX
    programmed = MODEL.pulse(goal, rng)
    mu, std = drift_exponent_stats(MODEL, goal)
    nu = mu + std * rng.standard_normal(n)
    t = TIMES[:, None]
    g = programmed * ((t + MODEL.t0) / MODEL.t0) ** -nu
    g = g * (1 + one_over_f_std(MODEL, programmed[None, :], t) * rng.standard_normal(g.shape))
    rows = len(TIMES)
    return np.tile(np.arange(n), rows), np.repeat(TIMES, n), g.ravel(), np.tile(goal, rows)


def within(est, true, k=4.0):
    """Within ``k`` standard errors of the truth (4: a 6e-5 chance of failing for a correct
    fit), with an informative standard error (< 10 % of the value)."""
    assert abs(est.value - true) < k * est.stderr, (est, true)
    assert 0 < est.stderr < 0.1 * abs(true)


def test_programming_noise_quadratic_is_recovered():
    fitted, bias = fit_pcm_programming(*programming_data(), G_MAX)
    for key in ("prog_c0", "prog_c1", "prog_c2"):
        within(fitted[key], TRUE[key])
    assert abs(bias.value) < 4 * bias.stderr  # the model's error is unbiased


@pytest.mark.parametrize("with_target", [True, False])
def test_drift_lines_and_one_over_f_growth_are_recovered(with_target):
    device, time, g, target = drift_data()
    fitted = fit_pcm_drift(device, time, g, G_MAX, target=target if with_target else None)
    for key in ("nu_mu_a", "nu_mu_b", "nu_std_a", "nu_std_b", "q_a", "q_exp"):
        within(fitted[key], TRUE[key])


def test_drift_standard_errors_match_the_scatter_of_repeated_fits():
    # the claimed errors against the spread over 30 data sets; 30 samples give the spread
    # to +-13 % (1 sigma): a factor 1.6 either way is > 3.5 sigma
    fits = [fit_pcm_drift(*drift_data(300, seed=s)[:3], G_MAX) for s in range(30)]
    for key in ("nu_mu_a", "nu_std_b", "q_a", "q_exp"):
        spread = np.std([f[key].value for f in fits], ddof=1)
        claimed = np.mean([f[key].stderr for f in fits])
        assert 1 / 1.6 < spread / claimed < 1.6, (key, spread, claimed)


def write_csv(path, columns):
    names = list(columns)
    rows = zip(*[columns[n] for n in names], strict=True)
    path.write_text(",".join(names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_the_command_writes_a_pcm_device_file_that_a_spec_runs(tmp_path, capsys):
    target, measured = programming_data(5_000)
    prog = write_csv(tmp_path / "prog.csv", {"target": target, "measured": measured})
    device, time, g, tg = drift_data(400)
    drift = tmp_path / "drift.npz"
    np.savez(drift, device=device, time=time, conductance=g, target=tg)
    out, report = tmp_path / "pcm.toml", tmp_path / "report"
    args = ["fit-device", str(prog), str(drift), "-o", str(out), "--report", str(report)]
    assert main([*args, "--model", "pcm-nandakumar2019", "--g-max", str(G_MAX)]) == 0
    assert "q_exp" in capsys.readouterr().out
    keys = load_device_file(out)
    assert keys["model"] == "pcm-nandakumar2019"
    params = keys["model_params"]
    assert params["prog_g_ref"] == G_MAX and params["nu_mu_max"] == 1.0
    assert params["nu_mu_b"] == pytest.approx(TRUE["nu_mu_b"], rel=0.05)
    base = {"array": {"rows": 8, "cols": 8}, "device": {"g_min": 0.0, "g_max": G_MAX}}
    model = device_model(apply_device_file(spec_from_dict(base), out))
    assert isinstance(model, PCMModel) and model.q_a == params["q_a"]
    for name in ("fit.json", "programming.png", "drift.png", "one_over_f.png"):
        assert (report / name).stat().st_size > 0


@pytest.mark.parametrize(
    ("columns", "extra", "message"),
    [
        (
            {"target": [1e-6, 2e-6] * 10, "measured": [1e-6] * 20},
            [],
            "column 'target' holds fewer than 3 distinct",
        ),
        (
            {"target": [1e-6, 2e-6, 30e-6] * 5, "measured": [1e-6] * 15},
            [],
            "column 'target' holds 3e-05 S, above --g-max",
        ),
        (
            {"device": [0, 0, 1, 1], "time": [1, 2, 1, 2], "conductance": [1e-6] * 4},
            [],
            "column 'time' gives 0 devices read at 3 or more times",
        ),
        (
            {"device": [0, 0, 0], "time": [1, 2, 3], "conductance": [1e-6, 0, 1e-6]},
            [],
            "column 'conductance' holds 0 S",
        ),
        ({"device": [0, 0], "conductance": [1e-6] * 2}, [], "a reads table"),
        ({"target": [1e-6, 2e-6, 3e-6] * 5, "measured": [1e-6] * 15}, None, "needs --g-max"),
    ],
)
def test_bad_pcm_data_is_named_by_column(tmp_path, capsys, columns, extra, message):
    data = write_csv(tmp_path / "data.csv", columns)
    out = tmp_path / "pcm.toml"
    g_max = [] if extra is None else ["--g-max", str(G_MAX)]
    assert (
        main(["fit-device", str(data), "-o", str(out), "--model", "pcm-nandakumar2019", *g_max])
        == 1
    )
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_devices_at_one_conductance_cannot_fit_lines_against_g():
    device, time, g, _ = drift_data(50)
    flat = g / np.tile(g[:50], len(TIMES)) * 10e-6  # every device starts at 10 uS
    with pytest.raises(InputError, match="column 'conductance' puts every device at one"):
        fit_pcm_drift(device, time, flat, G_MAX, target=np.full(g.size, 10e-6))
