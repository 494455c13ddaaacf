"""Every figure kind cimspice writes, rendered from small real results (nodal and ngspice runs,
a small calibration, a small network report): each is a valid PNG, says which spec and engine
it shows, and plots the very numbers that the table, JSON or result beside it reports (read
back from the figure's artists)."""

from __future__ import annotations

import io
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest

import cimspice.plots
from cimspice.caption import engineering, spec_caption
from cimspice.cli import main
from cimspice.compensation import default_targets, evaluate_scheme
from cimspice.compensation.cost import CostModel
from cimspice.errors import InputError
from cimspice.metrics import max_error
from cimspice.plots import (
    plot_accuracy_sweep,
    plot_before_after,
    plot_cell_voltages,
    plot_column_error,
    plot_error_histogram,
    plot_error_map,
    plot_integration,
    plot_pareto,
    plot_parity,
    plot_settling,
    plot_tradeoff,
    save_figure,
)
from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict

PNG = b"\x89PNG\r\n\x1a\n"
PERCEPTUAL = {"viridis", "magma", "cividis", "coolwarm"}
"""Perceptually uniform maps (sequential ones that read in grey; coolwarm for signed errors)."""

WIRED = {"array": {"rows": 8, "cols": 6}, "wire": {"r_row": 2.0, "r_col": 2.0}}


def written(figure, path: Path) -> Path:
    """Save ``figure`` and check the file is a complete PNG."""
    out = save_figure(figure, path)
    data = out.read_bytes()
    assert data[:8] == PNG and data[-8:-4] == b"IEND", f"{out} is not a complete PNG"
    return out


def line(ax, gid: str):
    found = [artist for artist in ax.lines if artist.get_gid() == gid]
    assert len(found) == 1, f"no single line {gid!r} among {[a.get_gid() for a in ax.lines]}"
    return found[0]


def title_text(figure) -> str:
    """Every title and suptitle of the figure, joined."""
    parts = [figure._suptitle.get_text()] if figure._suptitle is not None else []
    parts += [ax.get_title() for ax in figure.axes]
    return " ".join(" ".join(parts).split())  # captions may be wrapped


def assert_no_overlap(figure, texts) -> None:
    renderer = figure.canvas.get_renderer()
    figure.draw(renderer)
    boxes = [t.get_window_extent(renderer) for t in texts]
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not a.overlaps(b), f"labels {texts[i].get_text()} and {texts[j].get_text()} overlap"


@pytest.fixture(scope="module")
def passive():
    spec = spec_from_dict(WIRED)
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 1e-4, (8, 6))
    v = rng.uniform(0.0, 0.2, (5, 8))
    return spec, g, v, simulate(spec, g, v, engine="nodal", node_voltages=True)


def test_caption_names_size_cell_wires_readout_and_engine():
    assert spec_caption(spec_from_dict(WIRED), engine="ngspice") == (
        "8x6 0T1R, 2 ohm wires, G 1 uS-100 uS, inputs <= 200 mV, ideal readout; engine ngspice"
    )
    tia = spec_from_dict(
        {
            "array": {"rows": 4, "cols": 4, "cell": "1T1R"},
            "wire": {"r_row": 1.0, "r_col": 0.5},
            "driver": {"dac_bits": 6},
            "readout": {
                "kind": "tia",
                "opamp": "cmos",
                "r_f": 5e3,
                "adc_bits": 8,
                "adc_full_scale": 0.5,
            },
        }
    )
    text = spec_caption(tia)
    for part in ("4x4 1T1R", "1 ohm (rows) / 500 mohm (columns)", "6-bit DAC", "TIA r_f 5 kohm"):
        assert part in text
    assert "(CMOS op-amp), 8-bit ADC" in text and "engine" not in text
    assert engineering(1e-12, "F") == "1 pF" and engineering(0.0, "V") == "0 V"


def test_cell_voltages_map_draws_the_results_voltages(tmp_path, passive):
    spec, _, v, result = passive
    caption = spec_caption(spec, engine="nodal")
    figure = plot_cell_voltages(result.cell_voltages[0], v[0], caption=caption)
    written(figure, tmp_path / "cell_voltages.png")
    voltage, loss = figure.axes[0].images[0], figure.axes[1].images[0]
    np.testing.assert_array_equal(voltage.get_array(), result.cell_voltages[0])
    expected = 100 * (1 - result.cell_voltages[0] / v[0][:, None])
    np.testing.assert_allclose(loss.get_array().filled(np.nan), expected, rtol=1e-12)
    assert {voltage.get_cmap().name, loss.get_cmap().name} <= PERCEPTUAL
    assert caption in title_text(figure)
    with pytest.raises(InputError, match="rows"):
        plot_cell_voltages(result.cell_voltages[0], v[0][:3])


def test_error_map_draws_the_error_with_integer_vector_ticks(tmp_path, passive):
    spec, g, v, result = passive
    reference = v @ g
    figure = plot_error_map(result.currents, reference, caption=spec_caption(spec))
    written(figure, tmp_path / "error_map.png")
    heat = figure.axes[0]
    err = heat.images[0].get_array()
    np.testing.assert_allclose(err, (result.currents - reference) / np.abs(reference).max())
    assert heat.images[0].get_cmap().name in PERCEPTUAL
    assert heat.images[0].norm.vmin == -heat.images[0].norm.vmax  # centred on 0
    assert heat.get_ylabel() == "input vector"
    assert all(float(t).is_integer() for t in heat.get_yticks())
    assert f"{max_error(result.currents, reference):.3g} of full scale" in title_text(figure)
    with pytest.raises(InputError, match="different shapes"):
        plot_error_map(result.currents, reference[:, :2])


def test_before_after_maps_show_the_reports_errors(tmp_path):
    spec = spec_from_dict(WIRED)
    report = evaluate_scheme("ir-predistort", spec, default_targets(spec), engine="nodal", batch=4)
    figure = plot_before_after(
        report.outputs_before,
        report.outputs_after,
        report.reference,
        title="ir-predistort",
        caption=spec_caption(spec, engine=report.engine),
    )
    written(figure, tmp_path / "ir-predistort.png")
    data = report.as_dict()  # what `compensate --json` writes
    before, after = (ax.images[0].get_array() for ax in figure.axes if ax.images)
    assert np.abs(before).max() == pytest.approx(data["error_before"], rel=1e-12)
    assert np.abs(after).max() == pytest.approx(data["error_after"], rel=1e-12)
    assert "engine nodal" in title_text(figure)


def test_tradeoff_points_are_the_reports_numbers(tmp_path):
    spec = spec_from_dict(WIRED)
    cost = CostModel(t_read=20e-9)
    reports = {
        name: evaluate_scheme(name, spec, default_targets(spec), engine="nodal", batch=4, cost=cost)
        for name in ("ir-predistort", "column-calibration", "partitioning")
    }
    marks = {"digital MAC": cost.digital_mac, "SRAM CIM MAC": cost.sram_cim_mac}
    figure = plot_tradeoff(
        list(reports),
        np.array([r.energy_before.per_mac for r in reports.values()]),
        np.array([r.energy_after.per_mac for r in reports.values()]),
        np.array([r.error_before for r in reports.values()]),
        np.array([r.error_after for r in reports.values()]),
        energy_marks=marks,
        caption=spec_caption(spec, engine="nodal"),
    )
    written(figure, tmp_path / "tradeoff.png")
    ax = figure.axes[0]
    for i, r in enumerate(reports.values()):
        point = line(ax, f"after:{i}")
        assert point.get_xdata()[0] == r.as_dict()["energy_after"]["per_mac"]
        assert point.get_ydata()[0] == max(r.error_after, cimspice.plots.figure.ERROR_FLOOR)
    for name, energy in marks.items():
        assert line(ax, f"mark:{name}").get_xdata()[0] == energy
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert_no_overlap(figure, [t for t in ax.texts if t.get_text().isdigit()])


@pytest.fixture(scope="module")
def pareto_run(tmp_path_factory):
    """A small network report (digits-mlp on 16x16 tiles) and the figure it saved."""
    from cimspice.studies.pareto_report import ParetoRequest, run_pareto

    folder = tmp_path_factory.mktemp("pareto")
    spec = folder / "spec.toml"
    spec.write_text(
        "[array]\nrows = 16\ncols = 16\n[wire]\nr_row = 2.0\nr_col = 2.0\n"
        "[device]\ng_min = 1e-6\ng_max = 25e-6\n"
    )
    saved = {}
    real = cimspice.plots.save_figure
    request = ParetoRequest(
        spec=spec,
        out=folder / "out",
        model="digits-mlp",
        samples=40,
        seeds=1,
        hardware_aware=0.0,
        tile_sizes=(8,),
        progress=False,
    )
    with pytest.MonkeyPatch.context() as patch:

        def keep(figure, path, **options):
            saved[Path(path).name] = figure
            return real(figure, path, **options)

        patch.setattr(cimspice.plots, "save_figure", keep)
        run_pareto(request, out=io.StringIO())
    return folder / "out", saved["pareto.png"]


def test_pareto_plot_draws_the_numbers_the_table_prints(pareto_run):
    out, figure = pareto_run
    assert (out / "pareto.png").read_bytes()[:8] == PNG
    data = json.loads((out / "pareto.json").read_text())
    table = (out / "pareto.md").read_text()
    ax = figure.axes[0]
    drawn = {}
    for gid in ("front", "off-front"):
        points = line(ax, gid)
        for x, y in zip(points.get_xdata(), points.get_ydata(), strict=True):
            drawn.setdefault((float(x), float(y)), []).append(gid)
    rows = {(c["energy_per_mac"], c["accuracy"]) for c in data["cases"]}
    assert set(drawn) == rows and sum(map(len, drawn.values())) == len(data["cases"])
    # on the front exactly where the table says so
    on_front = {
        m.group(1) for m in re.finditer(r"^\| ([^|]+?) \|.*\*\*yes\*\* \|$", table, re.MULTILINE)
    }
    for case in data["cases"]:
        where = drawn[(case["energy_per_mac"], case["accuracy"])]
        assert ("front" in where) == (case["label"] in on_front), case["label"]
    # the exact network's line is the number pareto.md prints (the baseline's exact network)
    exact = float(re.search(r"exact network accuracy (\d\.\d+)", table).group(1))
    y = line(ax, "exact-network").get_ydata()[0]
    assert y == data["cases"][0]["accuracy_ideal"] and f"{y:.4f}" == f"{exact:.4f}"
    # the cost model's reference energies, as pareto.md prints them
    for name in ("SRAM CIM MAC", "digital MAC"):
        printed = float(re.search(rf"{name} (\S+) J", table).group(1))
        assert f"{line(ax, f'mark:{name}').get_xdata()[0]:.3e}" == f"{printed:.3e}"
    # every case is numbered once, the numbers overlap nowhere, the table lists them in order
    numbers = [t for t in ax.texts if t.get_text().isdigit()]
    assert sorted(int(t.get_text()) for t in numbers) == list(range(1, len(data["cases"]) + 1))
    assert_no_overlap(figure, numbers)
    listed = [t.get_text() for t in ax.get_legend().get_texts()][1:]
    for number, (text, case) in enumerate(zip(listed, data["cases"], strict=True), start=1):
        assert text.split()[0] == str(number) and case["label"] in text
        assert f"{case['accuracy']:.4f} {case['energy_per_mac']:.3e}" in text
    assert "16x16 0T1R, 2 ohm wires" in title_text(figure) and "digits-mlp" in title_text(figure)


def test_pareto_exact_line_is_the_baselines_when_another_model_is_more_accurate():
    # pareto.md states the baseline's (plainly trained) exact network; a hardware-aware
    # model's own exact accuracy (here higher, as in the issue: 98.5% against 0.980) is not it
    from cimspice.compensation.cost import EnergyBreakdown
    from cimspice.studies.pareto import pareto_front
    from cimspice.studies.pareto_report import pareto_figure
    from cimspice.studies.schemes import SchemeOutcome

    def case(label, accuracy, ideal, joule):
        energy = EnergyBreakdown(joule, 0.0, 0.0, 0.0, 0.0, 1)
        return SchemeOutcome(label, (), accuracy, ideal, energy, 0.0, {})

    results = [case("baseline", 0.95, 0.980, 1e-13), case("hardware-aware", 0.97, 0.985, 1e-13)]
    figure = pareto_figure(results, pareto_front(results), marks={"digital MAC": 2.3e-13})
    ax = figure.axes[0]
    assert line(ax, "exact-network").get_ydata()[0] == 0.980
    legends = [ax.get_legend(), *ax.artists]  # the table, and the reference lines' legend
    assert "exact network 0.9800" in [t.get_text() for leg in legends for t in leg.get_texts()]


def test_pareto_plot_refuses_bad_inputs():
    with pytest.raises(InputError, match="differ"):
        plot_pareto(["a", "b"], np.ones(2), np.ones(3), np.zeros(2), np.zeros(2, bool))
    with pytest.raises(InputError, match="> 0"):
        plot_pareto(["a"], np.zeros(1), np.ones(1), np.zeros(1), np.zeros(1, bool))


def test_levels_sweep_keeps_its_legend_off_the_points(tmp_path):
    from cimspice.studies.evaluate import resolve_model, samples_of
    from cimspice.studies.sweeps import run_sweep

    model, data = resolve_model("digits-mlp")  # trained once, then cached
    x, y = samples_of(data, "test")
    spec = spec_from_dict({**WIRED, "array": {"rows": 32, "cols": 32}})
    values = [2, 4, 16, 256, 2048]
    sweep = run_sweep(
        model, x[:100], y[:100], spec, key="nonideal.levels", values=values, engine="ideal"
    )
    assert sweep.plot(tmp_path / "sweep.png").read_bytes()[:8] == PNG
    figure = plot_accuracy_sweep(
        sweep.key,
        sweep.values,
        sweep.mean,
        sweep.std,
        seeds=1,
        exact_accuracy=sweep.accuracy_ideal,
        caption=sweep.caption,
    )
    written(figure, tmp_path / "sweep2.png")
    ax = figure.axes[0]
    points = line(ax, "hardware")
    np.testing.assert_array_equal(points.get_xdata(), values)
    np.testing.assert_array_equal(points.get_ydata(), sweep.to_json()["accuracy_mean"])
    assert line(ax, "exact-network").get_ydata()[0] == sweep.accuracy_ideal
    assert ax.get_xscale() == "log"  # 2 to 2048 levels: three decades
    renderer = figure.canvas.get_renderer()
    figure.draw(renderer)
    legend = ax.get_legend().get_window_extent(renderer)
    for xy in ax.transData.transform(np.column_stack([values, sweep.mean])):
        assert not legend.contains(*xy), "the legend covers a point"
    assert "engine ideal" in sweep.caption and "digits-mlp" in sweep.caption


@pytest.mark.ngspice
def test_calibration_figures_show_the_surrogate_and_its_metrics(tmp_path):
    from cimspice.surrogate.calibrate import calibrate, write_report

    spec = spec_from_dict(WIRED)
    calibration = calibrate(spec, samples=2, batch=4, cache_dir=tmp_path / "cache")
    files = write_report(calibration, tmp_path / "report")
    for name in ("parity.png", "error_histogram.png", "column_error.png"):
        assert (tmp_path / "report" / name).read_bytes()[
            :8
        ] == PNG and tmp_path / "report" / name in files
    spice = calibration.validation["spice"]
    models = {k: v for k, v in calibration.validation.items() if k != "spice"}
    figure = plot_parity(spice, models, own_axes=("surrogate",), caption="c")
    own, baselines, errors = figure.axes
    # the surrogate alone on its axes; the baselines beside it
    assert {a.get_gid() for a in own.lines if a.get_gid()} == {"parity:surrogate"}
    np.testing.assert_array_equal(
        line(own, "parity:surrogate").get_ydata(), models["surrogate"].ravel()
    )
    assert "parity:ideal" in {a.get_gid() for a in baselines.lines}
    # residuals on a log axis, the surrogate drawn last (on top)
    assert errors.get_yscale() == "log" and errors.lines[-1].get_gid() == "error:surrogate"
    scale = np.abs(spice).max()
    expected = np.maximum(np.abs(models["surrogate"] - spice) / scale, 1e-17).ravel()
    np.testing.assert_allclose(errors.lines[-1].get_ydata(), expected, rtol=1e-12)
    assert np.max(errors.lines[-1].get_ydata()) == pytest.approx(
        calibration.metrics["surrogate"]["max_error"], rel=1e-9
    )
    per_column = {k: calibration.metrics[k]["per_column_nrmse"] for k in models}
    columns = plot_column_error(per_column).axes[0]
    for drawn, (name, values) in zip(columns.lines, per_column.items(), strict=True):
        assert drawn.get_label() == name
        np.testing.assert_allclose(drawn.get_ydata(), np.maximum(values, 1e-17))
    assert all(float(t).is_integer() for t in columns.get_xticks())
    histogram = plot_error_histogram(spice, models).axes[0]
    for patch in histogram.patches:  # one outline per model: every output counted once
        assert patch.get_path().vertices[:, 1].max() <= spice.size
    assert histogram.get_xscale() == "log"


@pytest.mark.ngspice
def test_settling_figure_is_a_step_response(tmp_path):
    from cimspice.engines.ngspice import NgspiceEngine
    from cimspice.engines.transient import run_transient

    spec = spec_from_dict(
        {"array": {"rows": 2, "cols": 2}, "wire": {"r_row": 1e3, "r_col": 0.0, "c_row": 1e-12}}
    )
    r = run_transient(NgspiceEngine(), spec, np.full((2, 2), 1e-4), [0.2, 0.1], t_stop=20e-9)
    figure = plot_settling(
        r.time, r.currents, r.settling_time, r.tol, caption=spec_caption(spec, engine="ngspice")
    )
    written(figure, tmp_path / "settling.png")
    ax = figure.axes[0]
    for j in range(2):
        wave = next(a for a in ax.lines if a.get_label() == f"bit line {j}")
        np.testing.assert_allclose(wave.get_ydata(), r.currents[:, j] / r.currents[-1, j])
    assert "step response of the bit-line current" in title_text(figure)


@pytest.mark.ngspice
def test_integrator_figure_shows_output_and_collected_charge(tmp_path, monkeypatch):
    spec_file = tmp_path / "integrator.toml"
    spec_file.write_text(
        '[array]\nrows = 5\ncols = 4\n[readout]\nkind = "integrator"\nc_f = 1e-13\n'
        "gain = 1e4\ngbw = 1e12\nv_swing = 10.0\n"
    )
    rng = np.random.default_rng(3)
    np.save(tmp_path / "g.npy", rng.uniform(1e-6, 1e-4, (5, 4)))
    np.save(tmp_path / "v.npy", rng.uniform(0.05, 0.2, 5))
    args = ["simulate", str(spec_file), "--conductances", str(tmp_path / "g.npy")]
    args += ["--inputs", str(tmp_path / "v.npy"), "--engine", "ngspice", "--analysis", "tran"]
    args += ["--t-stop", "1e-9", "--t-step", "1e-12", "--settle-tol", "0.5"]
    args += ["--plot-dir", str(tmp_path / "p"), "-o", str(tmp_path / "t.npz")]
    saved = {}
    real = cimspice.plots.save_figure

    def keep(figure, path, **options):
        saved[Path(path).name] = figure
        return real(figure, path, **options)

    monkeypatch.setattr(cimspice.plots, "save_figure", keep)
    assert main(args) == 0
    assert (tmp_path / "p" / "integration.png").read_bytes()[:8] == PNG
    assert not (tmp_path / "p" / "settling.png").exists()  # not a step response
    text = title_text(saved["integration.png"])
    assert "charge integrator" in text and "integrator c_f 100 fF" in text
    assert "step response" not in text and "TIA" not in text
    with np.load(tmp_path / "t.npz") as data:
        time, v_out, currents = data["time"], data["v_out_t"], data["currents_t"]
        charge = data["charge"]
    figure = plot_integration(time, v_out, currents, quantity="integrator output", c_f=1e-13)
    written(figure, tmp_path / "integration.png")
    output_axes, charge_axes = figure.axes
    for j in range(4):
        # the collected charge ends at what the run reports (the same trapezoid rule)
        final = line(charge_axes, f"charge:{j}").get_ydata()[-1]
        assert final == pytest.approx(charge[j], rel=1e-9)
    assert output_axes.get_ylabel() == "integrator output"


def test_plots_import_nothing_above_them():
    import ast

    for module in Path(cimspice.plots.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("cimspice"):
                assert node.module.startswith(
                    ("cimspice.plots", "cimspice.arrays", "cimspice.errors")
                ), f"{module.name} imports {node.module}"
