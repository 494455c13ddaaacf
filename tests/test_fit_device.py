"""``cimspice fit-device``: fitting recovers the generic model's parameters from data the
model generated, and bad data gets errors naming the file and column."""

import json

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.devices.fit_request import apply_device_file, load_device_file
from cimspice.devices.fitting import fit_drift, fit_programming, fit_reads
from cimspice.devices.registry import device_model
from cimspice.devices.tile import program_tile
from cimspice.errors import InputError, SpecError
from cimspice.spec import spec_from_dict

TRUE = {
    "prog_noise_abs": 0.5e-6,
    "prog_noise_rel": 0.03,
    "read_noise": 0.02,
    "drift_nu": 0.05,
    "drift_nu_std": 0.01,
}
TIMES = (1.0, 10.0, 100.0, 1e3, 1e4, 1e5)


def spec(**nonideal):
    return spec_from_dict({"array": {"rows": 32, "cols": 32}, "nonideal": nonideal})


def programming_data(n=20_000, seed=0):
    """Targets and one pulse each, drawn by the generic model (targets far from the window's
    edges, where the model clips)."""
    model = device_model(
        spec(prog_noise_abs=TRUE["prog_noise_abs"], prog_noise_rel=TRUE["prog_noise_rel"])
    )
    rng = np.random.default_rng(seed)
    target = rng.uniform(10e-6, 70e-6, n)
    return target, model.pulse(target, rng)


def reads_data(devices=300, reads=40, seed=1):
    model = device_model(spec(read_noise=TRUE["read_noise"]))
    rng = np.random.default_rng(seed)
    g = rng.uniform(5e-6, 95e-6, devices)
    std = model.read_std(g, 0.0)
    x = g[:, None] + std[:, None] * rng.standard_normal((devices, reads))
    return np.repeat(np.arange(devices), reads), x.ravel()


def drift_data(noise=0.002, seed=2):
    """32 x 32 cells read at each time: the same cells (one seed), so the same exponents;
    each read with a small relative noise of its own."""
    rng = np.random.default_rng(seed)
    target = np.full((32, 32), 50e-6)
    device, time, g = [], [], []
    for t in TIMES:
        s = spec(drift_time=t, drift_nu=TRUE["drift_nu"], drift_nu_std=TRUE["drift_nu_std"], seed=4)
        read = program_tile(target, s, (32, 32), 0).conductances.ravel()
        device.append(np.arange(read.size))
        time.append(np.full(read.size, t))
        g.append(read * (1 + noise * rng.standard_normal(read.size)))
    return np.concatenate(device), np.concatenate(time), np.concatenate(g)


def within(est, true, k=4.0):
    """The estimate is within ``k`` of its standard errors of the truth (4: a 6e-5 chance
    of failing for a correct fit), and the standard error is informative (< 10 % of it)."""
    assert abs(est.value - true) < k * est.stderr, (est, true)
    assert 0 < est.stderr < 0.1 * true


def test_programming_noise_is_recovered_with_its_uncertainty():
    target, measured = programming_data()
    fitted, bias = fit_programming(target, measured)
    within(fitted["prog_noise_abs"], TRUE["prog_noise_abs"])
    within(fitted["prog_noise_rel"], TRUE["prog_noise_rel"])
    assert abs(bias.value) < 4 * bias.stderr  # the generic model is unbiased


def test_standard_errors_match_the_scatter_of_repeated_fits():
    # the Fisher-information errors against the spread of the estimates over 30 data sets;
    # 30 samples give the spread to +-13 % (1 sigma): a factor 1.5 either way is > 3 sigma
    values = [fit_programming(*programming_data(5_000, seed=s))[0] for s in range(30)]
    for key in ("prog_noise_abs", "prog_noise_rel"):
        spread = np.std([v[key].value for v in values], ddof=1)
        claimed = np.mean([v[key].stderr for v in values])
        assert 1 / 1.5 < spread / claimed < 1.5, (key, spread, claimed)


def test_read_noise_is_recovered():
    within(fit_reads(*reads_data())["read_noise"], TRUE["read_noise"])


def test_drift_exponents_are_recovered_with_read_noise_subtracted():
    fitted = fit_drift(*drift_data())
    within(fitted["drift_nu"], TRUE["drift_nu"])
    within(fitted["drift_nu_std"], TRUE["drift_nu_std"])
    assert fitted["drift_t0"].value == 1.0


def write_csv(path, columns):
    names = list(columns)
    rows = zip(*[columns[n] for n in names], strict=True)
    path.write_text(",".join(names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_the_command_writes_a_device_file_that_a_spec_takes(tmp_path, capsys):
    target, measured = programming_data(5_000)
    prog = write_csv(tmp_path / "prog.csv", {"target": target, "measured": measured})
    device, g = reads_data(100, 20)
    reads = write_csv(
        tmp_path / "reads.csv", {"device": [f"d{d}" for d in device], "conductance": g}
    )
    d, t, gd = drift_data()
    drift = tmp_path / "drift.npz"
    np.savez(drift, device=d, time=t, conductance=gd)
    temps = tmp_path / "temperature.csv"
    g0 = np.linspace(10e-6, 90e-6, 20)
    write_csv(
        temps,
        {
            "device": np.repeat(np.arange(20), 3),
            "temperature": np.tile([300.0, 330.0, 360.0], 20),
            "conductance": np.repeat(g0, 3) * (1 + 1e-3 * np.tile([0.0, 30.0, 60.0], 20)),
        },
    )
    out, report = tmp_path / "device.toml", tmp_path / "report"
    files = [str(prog), str(reads), str(drift), str(temps)]
    assert main(["fit-device", *files, "-o", str(out), "--report", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "prog_noise_rel" in printed and "drift_nu_std" in printed
    keys = load_device_file(out)
    assert keys["model"] == "generic"
    assert keys["prog_noise_rel"] == pytest.approx(TRUE["prog_noise_rel"], rel=0.1)
    assert keys["drift_nu"] == pytest.approx(TRUE["drift_nu"], rel=0.05)
    assert keys["tc_device"] == pytest.approx(1e-3, rel=1e-9)  # noiseless lines: exact
    applied = apply_device_file(spec(), out)
    assert applied.nonideal.read_noise == keys["read_noise"]
    saved = json.loads((report / "fit.json").read_text())
    assert set(saved["params"]) >= {"prog_noise_abs", "read_noise", "drift_nu"}
    for name in ("programming.png", "reads.png", "drift.png", "temperature.png"):
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"target": [1e-6] * 20}, "match no table"),
        ({"target": ["x"] + [1e-6] * 19, "measured": [1e-6] * 20}, "column 'target' holds 'x'"),
        ({"target": [1e-6] * 20, "measured": [1e-6] * 20}, "column 'target' holds one conductance"),
        ({"target": [1e-6, 2e-6], "measured": [1e-6, 2e-6]}, "column 'target' has 2 rows"),
        ({"target": [-1e-6] * 20, "measured": [1e-6] * 20}, "column 'target' holds a negative"),
        (
            {"device": [1, 2, 3], "conductance": [1e-6] * 3},
            "column 'device' names no device read twice",
        ),
        ({"device": [1, 1], "time": [0, 1], "conductance": [1e-6] * 2}, "column 'time' holds 0 s"),
    ],
)
def test_bad_data_is_named_by_file_and_column(tmp_path, capsys, columns, message):
    data = write_csv(tmp_path / "data.csv", columns)
    out = tmp_path / "device.toml"
    assert main(["fit-device", str(data), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err and str(data) in err and err.count("\n") == 1
    assert not out.exists()  # all or nothing


def test_a_device_file_with_a_bad_key_is_refused(tmp_path):
    path = tmp_path / "device.toml"
    path.write_text('[nonideal]\nmodel = "generic"\nread_nois = 0.1\n')
    with pytest.raises(SpecError) as err:
        load_device_file(path)
    assert err.value.key == "nonideal.read_nois"
    path.write_text("[array]\nrows = 2\n")
    with pytest.raises(SpecError, match="one \\[nonideal\\] table"):
        load_device_file(path)


def test_two_tables_of_one_kind_are_refused(tmp_path):
    a = write_csv(tmp_path / "a.csv", {"target": [1e-6] * 20, "measured": [1e-6] * 20})
    b = write_csv(tmp_path / "b.csv", {"target": [1e-6] * 20, "measured": [1e-6] * 20})
    from cimspice.devices.fitting import read_tables

    with pytest.raises(InputError, match="a second programming table"):
        read_tables([a, b])


def test_temperature_coefficient_is_recovered():
    from cimspice.devices.fitting import fit_temperature

    model = device_model(spec(tc_device=2e-3))
    rng = np.random.default_rng(8)
    g0 = rng.uniform(10e-6, 90e-6, 200)
    temps = np.array([300.0, 320.0, 340.0, 360.0])
    g = np.stack([model.at_temperature(g0, t, 300.0) for t in temps], axis=1)
    g *= 1 + 0.002 * rng.standard_normal(g.shape)  # reads with 0.2 % noise
    device = np.repeat(np.arange(200), 4)
    fitted = fit_temperature(device, np.tile(temps, 200), g.ravel())
    within(fitted["tc_device"], 2e-3)
    assert fitted["temperature_ref"].value == 300.0
