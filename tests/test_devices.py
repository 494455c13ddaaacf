"""Pluggable device models: the registry, the generic model's results unchanged, and each
preset's published statistics reproduced from large samples."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from cimspice.devices.generic import GenericModel, rng_for, snap_to_levels
from cimspice.devices.model import DeviceModel, ParamModel
from cimspice.devices.multilevel import level_set
from cimspice.devices.pcm import PCMModel, drift_exponent_stats
from cimspice.devices.registry import MODELS, ModelEntry, device_model, register
from cimspice.devices.reram import relaxation_std
from cimspice.devices.tile import add_read_noise, program_tile, read_noise_squares
from cimspice.errors import SpecError
from cimspice.mapping.matmul import HardwareMatMul
from cimspice.spec import spec_from_dict


def make(rows=16, cols=16, nonideal=None, device=None):
    data = {"array": {"rows": rows, "cols": cols}, "nonideal": nonideal or {}}
    if device:
        data["device"] = device
    return spec_from_dict(data)


def pcm(rows=512, cols=512, **nonideal):
    return make(
        rows, cols, {"model": "pcm-nandakumar2019", **nonideal}, {"g_min": 0.0, "g_max": 25e-6}
    )


# ----- the registry and the spec -----


def test_the_spec_selects_a_model_by_name_with_parameters():
    spec = pcm(model_params={"drift_scale": 0.5})
    model = device_model(spec)
    assert isinstance(model, PCMModel) and isinstance(model, DeviceModel)
    assert model.drift_scale == 0.5 and model.t0 == 20.0
    assert isinstance(device_model(make()), GenericModel)  # the default
    assert set(MODELS) >= {"generic", "pcm-nandakumar2019", "reram-wan2022", "memristor-rao2023"}


@pytest.mark.parametrize(
    ("nonideal", "key"),
    [
        ({"model": "flash"}, "nonideal.model"),
        ({"model": "pcm-nandakumar2019", "model_params": {"nu": 1.0}}, "nonideal.model_params.nu"),
        ({"model": "pcm-nandakumar2019", "model_params": {"t0": -1.0}}, "nonideal.model_params.t0"),
        ({"model": "pcm-nandakumar2019", "prog_noise_rel": 0.1}, "nonideal.prog_noise_rel"),
        ({"model_params": {"t0": 1.0}}, "nonideal.model_params.t0"),
        ({"model": "reram-wan2022", "drift_time": 1e6}, "nonideal.drift_time"),
        (
            {"model": "memristor-rao2023", "model_params": {"levels": 2.5}},
            "nonideal.model_params.levels",
        ),
    ],
)
def test_bad_models_and_parameters_are_spec_errors_naming_the_key(nonideal, key):
    spec = make(nonideal=nonideal)
    with pytest.raises(SpecError) as err:
        HardwareMatMul(spec, engine="ideal")  # checked before any tile is programmed
    assert err.value.key == key


def test_a_bad_parameter_table_is_refused_when_the_spec_is_read():
    with pytest.raises(SpecError) as err:
        make(nonideal={"model_params": {"t0": "soon"}})
    assert err.value.key == "nonideal.model_params.t0"


@dataclass(frozen=True)
class _Halving(ParamModel):
    """A test model: every cell programs to half its target, no noise."""

    name: ClassVar[str] = "halving"
    factor: float = 0.5

    noisy = False
    noisy_reads = False

    def pulse(self, goal, rng):
        return goal * self.factor

    def drift(self, programmed, goal, stuck, t, rng):
        return programmed

    def read_std(self, conductances, t):
        return None


def test_a_registered_model_is_selected_from_python():
    register(ModelEntry("halving", "test", __name__, "_Halving"))
    try:
        spec = make(nonideal={"model": "halving", "model_params": {"factor": 0.25}})
        target = np.full((16, 16), 40e-6)
        # noisy = False: the pulse is never drawn, the targets are programmed as they are
        assert np.array_equal(program_tile(target, spec, (16, 16), 0).conductances, target)
        model = _Halving.from_params(device_model(spec).window, {"factor": 0.25})
        got = model.pulse(target, np.random.default_rng(0))
        np.testing.assert_array_equal(got, target * 0.25)
    finally:
        del MODELS["halving"]


# ----- the generic model: the same numbers as before the models were pluggable -----


def _reference_program_tile(targets, spec, used, *key):
    """The generic programming as it was written before device models were pluggable
    (cimspice 0.x devices/generic.py, kept here as the oracle of bit-for-bit equality)."""
    ni = spec.nonideal
    g_min, g_max = spec.device.g_min, spec.device.g_max
    rng = rng_for(ni.seed, 0, *key)
    goal = snap_to_levels(np.asarray(targets, dtype=float), spec)
    draw = rng.random(goal.shape)
    stuck_on = draw < ni.stuck_on
    stuck_off = (draw >= ni.stuck_on) & (draw < ni.stuck_on + ni.stuck_off)
    stuck = stuck_on | stuck_off
    pulses = np.ones(goal.shape, dtype=np.int64)
    noisy = ni.prog_noise_abs > 0 or ni.prog_noise_rel > 0

    def pulse(t):
        sigma = ni.prog_noise_abs + ni.prog_noise_rel * t
        return np.clip(t + sigma * rng.standard_normal(t.shape), g_min, g_max)

    g = pulse(goal) if noisy else goal.copy()
    if ni.verify_tol > 0 and noisy:
        for _ in range(ni.verify_max_pulses - 1):
            redo = (np.abs(g - goal) > ni.verify_tol) & ~stuck
            if not redo.any():
                break
            g[redo] = pulse(goal[redo])
            pulses[redo] += 1
    g[stuck_on] = g_max
    g[stuck_off] = g_min
    if ni.verify_tol > 0:
        pulses[stuck & (np.abs(g - goal) > ni.verify_tol)] = ni.verify_max_pulses
    read, gain = g, 1.0
    if ni.drift_time > 0 and (ni.drift_nu > 0 or ni.drift_nu_std > 0):
        nu = np.maximum(ni.drift_nu + ni.drift_nu_std * rng.standard_normal(goal.shape), 0.0)
        nu[stuck] = 0.0
        read = g * (ni.drift_time / ni.drift_t0) ** (-nu)
        if ni.drift_compensation:
            r, c = used
            gain = float(g[:r, :c].sum() / read[:r, :c].sum())
    if ni.tc_device and ni.temperature != ni.temperature_ref:
        read = read * (1.0 + ni.tc_device * (ni.temperature - ni.temperature_ref))
    return read, g, pulses, gain


@pytest.mark.parametrize(
    "nonideal",
    [
        {},
        {"levels": 16, "prog_noise_rel": 0.05, "prog_noise_abs": 1e-7, "seed": 3},
        {"stuck_on": 0.02, "stuck_off": 0.03, "prog_noise_rel": 0.1, "verify_tol": 2e-6},
        {"drift_time": 1e5, "drift_nu": 0.05, "drift_nu_std": 0.01, "drift_compensation": True},
        {
            "prog_noise_abs": 1e-6,
            "tc_device": 1e-3,
            "temperature": 350.0,
            "drift_time": 10.0,
            "drift_nu": 0.02,
            "verify_tol": 1e-6,
            "verify_max_pulses": 4,
            "stuck_off": 0.1,
        },
    ],
)
def test_the_generic_model_programs_bit_for_bit_as_before(nonideal):
    spec = make(24, 20, nonideal)
    targets = np.random.default_rng(5).uniform(1e-6, 100e-6, (24, 20))
    got = program_tile(targets, spec, (20, 17), 2, 7)
    read, programmed, pulses, gain = _reference_program_tile(targets, spec, (20, 17), 2, 7)
    assert np.array_equal(got.conductances, read)
    assert np.array_equal(got.programmed, programmed)
    assert np.array_equal(got.pulses, pulses)
    assert got.drift_gain == gain


# ----- PCM: Nandakumar et al. 2019 / Joshi et al. 2020 -----

# The published fit (Joshi et al. 2020, Fig. 2; aihwkit PCMLikeNoiseModel), tabulated at
# G_T / g_max = 0.1, 0.5, 1 on the 25 uS window it was fitted on: programming error std [uS],
# drift exponent mean and std (of the normal before folding).
PCM_TABLE = {
    0.1: (
        0.26348 + 0.19650 - 0.011731,
        0.0244 + 0.0155 * np.log(10),
        -0.0059 + 0.0125 * np.log(10),
    ),
    0.5: (0.26348 + 0.98250 - 0.293275, 0.049, 0.008),  # both clipped at their floors
    1.0: (0.26348 + 1.9650 - 1.1731, 0.049, 0.008),
}


@pytest.mark.parametrize("x", sorted(PCM_TABLE))
def test_pcm_programming_error_has_the_published_std(x):
    spec = pcm(drift_time=0.0)
    model = device_model(spec)
    goal = np.full((400, 500), x * 25e-6)
    g = model.pulse(goal, np.random.default_rng(1))
    # 2e5 draws: the sample std's relative standard error is 1/sqrt(2n) = 0.16 %; 1.5 % is 9
    # of them (clipping at 0 S is > 5 sigma away at these targets)
    np.testing.assert_allclose(np.std(g - goal) * 1e6, PCM_TABLE[x][0], rtol=0.015)
    assert abs(np.mean(g - goal)) < 5 * np.std(g - goal) / np.sqrt(g.size)


@pytest.mark.parametrize("x", sorted(PCM_TABLE))
def test_pcm_drift_exponents_have_the_published_mean_and_spread(x):
    # the 1/f noise switched off to read nu back exactly from G(t) / G(t0)
    spec = pcm(drift_time=1e6, model_params={"read_noise_scale": 0.0, "prog_noise_scale": 0.0})
    g0 = np.full((400, 500), x * 25e-6)
    got = program_tile(g0, spec, g0.shape, 0)
    nu = -np.log(got.conductances / g0) / np.log((1e6 + 20.0) / 20.0)
    mu, std = PCM_TABLE[x][1:]
    mu_model, std_model = drift_exponent_stats(device_model(spec), g0[:1, :1])
    np.testing.assert_allclose([mu_model[0, 0], std_model[0, 0]], [mu, std], rtol=1e-12)
    # |N(mu, s^2)|: folding changes the mean by < 1e-4 here (mu / s >= 2.6); 2e5 draws: the
    # mean's standard error is s / 450 < 1e-4, the std's relative one 0.16 %
    assert abs(nu.mean() - mu) < 1e-3
    np.testing.assert_allclose(nu.std(), std, rtol=0.03)


def test_pcm_one_over_f_noise_grows_with_the_published_law():
    spec_at = {
        t: pcm(drift_time=t, model_params={"drift_scale": 0.0, "prog_noise_scale": 0.0})
        for t in (0.0, 3600.0, 3.15e7)
    }
    g0 = np.full((400, 500), 0.5 * 25e-6)
    rel = {
        t: np.std(program_tile(g0, s, g0.shape, 0).conductances / g0 - 1)
        for t, s in spec_at.items()
    }
    q_s = min(0.0088 / 0.5**0.65, 0.2)
    for t, got in rel.items():
        expected = q_s * np.sqrt(np.log((t + 20 + 250e-9) / (2 * 250e-9)))
        np.testing.assert_allclose(got, expected, rtol=0.015)  # 2e5 draws: 0.16 % std error
    assert rel[0.0] < rel[3600.0] < rel[3.15e7]


def test_pcm_drift_lowers_accuracy_and_global_compensation_recovers_most():
    rng = np.random.default_rng(4)
    w, x = rng.normal(size=(64, 20)), rng.uniform(0, 1, (50, 64))
    cases = {
        "fresh": {"drift_time": 0.0},
        "1y": {"drift_time": 3.15e7},
        "1y-comp": {"drift_time": 3.15e7, "drift_compensation": True},
    }
    errs = {}
    for name, extra in cases.items():
        y = HardwareMatMul(pcm(64, 64, **extra), engine="ideal")(0, x, w)
        errs[name] = float(np.sqrt(np.mean((y - x @ w) ** 2)) / np.ptp(x @ w))
    assert errs["1y"] > 2 * errs["fresh"]  # drift of ~25 % over a year dominates the noise
    assert errs["1y-comp"] < 0.5 * errs["1y"]


# ----- ReRAM: Wan et al. 2022 -----


def test_reram_relaxation_follows_the_fits_at_the_measured_times():
    base = {"g_min": 0.0, "g_max": 40e-6}
    goal = np.full((400, 500), 20e-6)
    for t, coeffs in [
        (86400.0, (0.701, 22.086, -50.773, 47.095, -16.458)),
        (172800.0, (0.782, 20.274, -43.507, 37.062, -11.934)),
    ]:
        spec = make(64, 64, {"model": "reram-wan2022", "drift_time": t}, base)
        got = program_tile(goal, spec, goal.shape, 0).conductances
        expected = sum(c * 0.5**k for k, c in enumerate(coeffs))  # uS at x = 0.5
        np.testing.assert_allclose(np.std(got - goal) * 1e6, expected, rtol=0.015)
    model = device_model(make(64, 64, {"model": "reram-wan2022"}, base))
    mid = relaxation_std(model, goal[:1, :1], np.sqrt(86400.0 * 172800.0))[0, 0]
    ends = [relaxation_std(model, goal[:1, :1], t)[0, 0] for t in (86400.0, 172800.0)]
    np.testing.assert_allclose(mid, np.mean(ends), rtol=1e-12)  # linear in log t


# ----- the 2,048-level memristor: Rao et al. 2023 -----


def test_rao_levels_are_2048_evenly_spaced_and_targets_snap_to_the_nearest():
    spec = make(64, 64, {"model": "memristor-rao2023"}, {"g_min": 50e-6, "g_max": 4144e-6})
    model = device_model(spec)
    grid = level_set(model)
    assert len(grid) == 2048 and grid[0] == 50e-6 and grid[-1] == pytest.approx(4144e-6)
    np.testing.assert_allclose(np.diff(grid), 2e-6, rtol=1e-9)
    targets = np.random.default_rng(0).uniform(50e-6, 4144e-6, 100_000)
    snapped = model.snap(targets)
    assert np.isin(snapped, grid).all()
    assert np.abs(snapped - targets).max() <= 1e-6 * (1 + 1e-9)  # half a step
    assert len(np.unique(snapped)) == 2048


def test_rao_non_uniform_levels_and_noise_in_level_steps():
    spec = make(
        64,
        64,
        {
            "model": "memristor-rao2023",
            "model_params": {"level_exponent": 2.0, "prog_std_steps": 0.25, "read_std_steps": 0.1},
        },
        {"g_min": 0.0, "g_max": 2047e-6},
    )
    model = device_model(spec)
    grid = level_set(model)
    np.testing.assert_allclose(grid[[0, 1, 2047]], [0, 2047e-6 / 2047**2, 2047e-6])
    goal = np.full((400, 500), grid[1024])
    g = model.pulse(goal, np.random.default_rng(3))
    np.testing.assert_allclose(np.std(g - goal), 0.25e-6, rtol=0.015)  # 1 uS steps
    squares = read_noise_squares(goal[:4, :4], spec)
    np.testing.assert_allclose(squares, (0.1e-6) ** 2, rtol=1e-6)  # single precision
    v = np.full((20_000, 4), 0.1)
    noisy = add_read_noise(np.zeros((20_000, 4)), v, goal[:4, :4], spec, np.random.default_rng(1))
    np.testing.assert_allclose(noisy.var(axis=0), 4 * (0.1 * 0.1e-6) ** 2, rtol=0.05)


@pytest.mark.parametrize("name", ["pcm-nandakumar2019", "reram-wan2022", "memristor-rao2023"])
def test_every_preset_runs_a_network_layer(name):
    rng = np.random.default_rng(9)
    w, x = rng.normal(size=(40, 12)), rng.uniform(0, 1, (10, 40))
    spec = make(16, 16, {"model": name, "drift_time": 3600.0}, {"g_min": 0.0, "g_max": 40e-6})
    y = HardwareMatMul(spec, engine="ideal")(0, x, w)
    ideal = x @ w
    err = np.sqrt(np.mean((y - ideal) ** 2)) / np.ptp(ideal)
    assert 0 <= err < 0.2  # devices move the result, within reason
    again = HardwareMatMul(spec, engine="ideal")(0, x, w)
    assert np.array_equal(y, again)  # seeded


# ----- drift compensation: global, per column, reference column -----


def test_per_column_compensation_is_exact_for_a_drift_shared_by_each_column():
    # generic drift with one exponent for every cell: every kind recovers the fresh product
    rng = np.random.default_rng(6)
    w, x = rng.normal(size=(32, 12)), rng.uniform(0, 1, (20, 32))
    fresh = HardwareMatMul(make(16, 16), engine="ideal")(0, x, w)
    for kind in ("global", "column", "reference"):
        spec = make(
            16,
            16,
            {
                "drift_time": 1e6,
                "drift_nu": 0.06,
                "drift_compensation": True,
                "drift_compensation_kind": kind,
            },
        )
        for fold in (True, False):
            y = HardwareMatMul(spec, engine="ideal", fold=fold)(0, x, w)
            # (t / t0)^-nu then its inverse: a few ulps of the product
            np.testing.assert_allclose(y, fresh, rtol=1e-9, atol=1e-9 * np.abs(fresh).max())


@pytest.mark.parametrize("kind", ["global", "column", "reference"])
def test_each_compensation_recovers_most_of_a_year_of_pcm_drift(kind):
    rng = np.random.default_rng(4)
    w, x = rng.normal(size=(64, 20)), rng.uniform(0, 1, (50, 64))

    def err(**extra):
        y = HardwareMatMul(pcm(64, 64, drift_time=3.15e7, **extra), engine="ideal")(0, x, w)
        return float(np.sqrt(np.mean((y - x @ w) ** 2)) / np.ptp(x @ w))

    raw = err()
    fixed = err(drift_compensation=True, drift_compensation_kind=kind)
    assert fixed < 0.5 * raw


def test_compensation_costs_in_the_energy_model():
    from cimspice.compensation.cost import CostModel
    from cimspice.studies.energy import MeteredMatMul

    rng = np.random.default_rng(2)
    w, x = rng.normal(size=(32, 6)), rng.uniform(0, 1, (10, 32))
    digital, calibration = {}, {}
    for kind in ("global", "column", "reference"):
        spec = pcm(16, 16, drift_time=3600.0, drift_compensation=True, drift_compensation_kind=kind)
        meter = MeteredMatMul(HardwareMatMul(spec, engine="ideal"), CostModel())
        meter(0, x, w)
        digital[kind] = meter.layers[0].digital
        calibration[kind] = meter.drift_calibration(0)
    cost = CostModel()
    layer = HardwareMatMul(pcm(16, 16), engine="ideal").program(0, w)
    used_cols = sum(s.used_cols for s in layer.tiling.tiles)
    # per column: one more multiply per used column and input vector, the rest the same
    assert digital["column"] - digital["global"] == pytest.approx(
        10 * used_cols * cost.digital_mult
    )
    assert digital["reference"] == pytest.approx(digital["global"])
    # calibrating reads every column (global, column) or one reference column per tile
    assert 0 < calibration["reference"] < calibration["global"] < calibration["column"]


def test_a_bad_model_in_a_spec_file_names_the_file_and_key(tmp_path):
    from cimspice.spec import load_spec

    path = tmp_path / "spec.toml"
    path.write_text('[array]\nrows = 8\ncols = 8\n[nonideal]\nmodel = "pcm-x"\n')
    with pytest.raises(SpecError) as err:
        HardwareMatMul(load_spec(path), engine="ideal")
    assert err.value.key == "nonideal.model" and err.value.file == str(path)
    assert str(err.value).startswith(f"{path}: key 'nonideal.model': unknown device model")


@pytest.mark.parametrize(
    ("name", "t"),
    [
        (name, t)
        for name in sorted(MODELS)
        for t in (0.0, 3600.0, 86400.0)
        if name != "spice-verify" or t == 0  # it has no drift law (refused: test_write_network)
    ],
)
def test_every_model_is_seeded_and_keeps_conductances_physical(name, t, tmp_path, monkeypatch):
    nonideal = {"model": name, "drift_time": t, "seed": 5}
    if name == "generic":
        nonideal.update(prog_noise_rel=0.3, drift_nu=0.05, drift_nu_std=0.05, read_noise=0.02)
    if name == "spice-verify":  # a programming model file of two bins
        from cimspice.devices.programmed import ProgrammingModel

        ProgrammingModel(
            edges=np.array([0.0, 0.5, 1.0]),
            errors=(np.array([-0.02, 0.01, 0.03]), np.array([-0.01, 0.02])),
            pulses=(np.array([3, 4, 5]), np.array([5, 6])),
            window=(5e-6, 50e-6),
            tol=0.03,
            prog_noise_abs=1e-7,
            prog_noise_rel=0.0,
            energy_per_cell_j=1e-12,
            time_per_cell_s=1e-6,
        ).save(tmp_path / "p.json")
        monkeypatch.setenv("CIMSPICE_MODEL_PATH", str(tmp_path))
        nonideal["programming_file"] = str(tmp_path / "p.json")
    spec = make(32, 32, nonideal, {"g_min": 0.0, "g_max": 40e-6})
    targets = np.random.default_rng(1).uniform(0, 40e-6, (32, 32))
    first = program_tile(targets, spec, (32, 32), 3, 4)
    again = program_tile(targets, spec, (32, 32), 3, 4)
    other = program_tile(targets, spec, (32, 32), 3, 5)
    assert np.array_equal(first.conductances, again.conductances)  # one stream per key
    assert np.all(np.isfinite(first.conductances)) and np.all(first.conductances >= 0)
    if device_model(spec).noisy:
        assert not np.array_equal(first.programmed, other.programmed)  # tiles differ


def test_a_preset_reads_before_the_generic_t0():
    # drift_t0 is the generic model's: a PCM read half a second after programming is fine
    spec = pcm(16, 16, drift_time=0.5)
    assert program_tile(np.full((16, 16), 10e-6), spec, (16, 16), 0).conductances.min() >= 0
    with pytest.raises(SpecError) as err:
        make(nonideal={"drift_time": 0.5})
    assert err.value.key == "nonideal.drift_time"


class _NotAModel:
    @classmethod
    def from_spec(cls, nonideal, g_min, g_max):
        return cls()


def test_a_registered_class_that_builds_no_device_model_is_refused():
    from cimspice.errors import ModelError

    register(ModelEntry("broken", "test", __name__, "_NotAModel"))
    try:
        with pytest.raises(ModelError, match="lacks the DeviceModel methods"):
            device_model(make(nonideal={"model": "broken"}))
    finally:
        del MODELS["broken"]


def test_the_device_plots_draw_on_new_or_given_axes():
    from cimspice.plots.devices import plot_accuracy_vs_time, plot_against_published
    from cimspice.plots.figure import new_figure

    t = np.array([1.0, 3600.0, 3.15e7])
    curves = {"none": (np.array([0.97, 0.96, 0.95]), np.array([0.01, 0.01, 0.02]))}
    fig = plot_accuracy_vs_time(t, curves)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_legend().get_texts()) == 1
    mine = new_figure((4, 3)).add_subplot()
    assert (
        plot_against_published(
            {"a": (t, t)},
            {"a": (t, t)},
            xlabel="t",
            ylabel="y",
            units=("s", ""),
            log_x=True,
            ax=mine,
        )
        is mine.figure
    )
    assert len(mine.lines) == 2  # the published line and the sampled markers
