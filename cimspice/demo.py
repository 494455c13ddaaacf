"""The quick-start demo: generate, simulate, calibrate and report on one crossbar.

A 64x64 passive array with 2 ohm wire segments, random conductances in 1-100 uS and random
inputs up to 0.2 V is simulated by ngspice, nodal and ideal; a surrogate is then calibrated
against ngspice runs and joins the table. The demo prints the table (error of each engine vs
SPICE, time of each) and writes into its output folder the arrays, the deck, the table, a
heatmap of the voltage across every cell, the surrogate file and its calibration report.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from cimspice.arrays import save_npz_atomic
from cimspice.caption import spec_caption
from cimspice.engines.nodal import tile_work_bytes
from cimspice.memory import check_fits
from cimspice.metrics import max_error, nrmse
from cimspice.netlist import render
from cimspice.outputs import OutputPlan, atomic_output
from cimspice.result import Result
from cimspice.seeds import check_seed
from cimspice.simulation import get_engine
from cimspice.spec import CrossbarSpec, load_preset
from cimspice.surrogate.calibrate import REPORT_FILES, calibrate, write_report

__all__ = ["ENGINES", "demo_files", "demo_spec", "run_demo"]

ENGINES = ("ngspice", "nodal", "surrogate", "ideal")
"""The engines the demo compares."""


def demo_spec(size: int = 64) -> CrossbarSpec:
    """The demo's array (preset ``demo``): ``size x size`` passive cells, 2 ohm segments,
    1-100 uS, 0.2 V."""
    return load_preset("demo").replace({"array.size": size})


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_demo(out: Path, *, size: int = 64, batch: int = 100, seed: int = 0) -> dict[str, dict]:
    """Run the demo, print its table to stdout and write its files into ``out``.

    The files (:func:`demo_files`) appear together at the end or not at all; the SPICE cache
    ``out/spice-cache`` is written as the runs finish (a rerun resumes from it).

    Returns:
        the table as ``{engine: {"time_s", "max_err", "nrmse"}}`` (errors vs ngspice).

    Raises:
        OutputError: ``out`` or a file in it is refused (checked before any work).
    """
    check_seed(seed)
    check_fits(  # the deck or solver, node voltages for the heatmap, the arrays
        tile_work_bytes(demo_spec(size)) + 8.0 * batch * size * (3 * size + 4),
        f"the demo on a {size}x{size} array with {batch} input vectors",
    )
    plan = OutputPlan()
    plan.folder(out, "demo folder", demo_files())
    plan.cache(out / "spice-cache", "demo cache")
    with plan:
        return _run(out, plan.stage(out), size=size, batch=batch, seed=seed)


def demo_files() -> list[str]:
    """The files the demo writes into its folder (beside its SPICE cache, ``spice-cache/``)."""
    return [
        "conductances.npy",
        "inputs.npy",
        "deck.cir",
        "surrogate.json",
        *(f"surrogate-report/{name}" for name in REPORT_FILES),
        "table.txt",
        "table.json",
        *(f"result_{name}.npz" for name in ENGINES),
        "cell_voltages.png",
    ]


def _run(final: Path, out: Path, *, size: int, batch: int, seed: int) -> dict[str, dict]:
    """:func:`run_demo`, writing into ``out`` (the staged ``final``)."""
    rng = np.random.default_rng(seed)
    spec = demo_spec(size)
    out.mkdir(parents=True, exist_ok=True)
    g = rng.uniform(spec.device.g_min, spec.device.g_max, size=(size, size))
    v = rng.uniform(0.0, spec.driver.v_read, size=(batch, size))
    np.save(out / "conductances.npy", g)
    np.save(out / "inputs.npy", v)
    with atomic_output(out / "deck.cir", "w") as handle:
        handle.write(render(spec, g, v))

    _say("[demo] calibrating a surrogate against ngspice (cached in out/.../spice-cache) ...")
    calibration = calibrate(
        spec, samples=4, batch=8, seed=seed + 1, cache_dir=final / "spice-cache"
    )
    calibration.surrogate.save(out / "surrogate.json")
    write_report(calibration, out / "surrogate-report")

    results: dict[str, Result] = {}
    for name in ENGINES:
        _say(f"[demo] {name}: {size}x{size} array, {batch} input vectors ...")
        start = time.perf_counter()
        options = {"surrogate": calibration.surrogate} if name == "surrogate" else {}
        results[name] = get_engine(name, **options).run(spec, g, v)
        _say(f"[demo] {name}: done in {time.perf_counter() - start:.3f} s")
    spice = results["ngspice"].currents
    table = {
        name: {
            "time_s": r.elapsed_s,
            "max_err": max_error(r.currents, spice),
            "nrmse": nrmse(r.currents, spice),
        }
        for name, r in results.items()
    }
    n_train = len(calibration.surrogate.metadata["dataset"]["training_cases"])
    lines = [
        f"cimspice demo: {size}x{size} 0T1R, r_row = r_col = 2 ohm, G ~ U(1, 100) uS, "
        f"V ~ U(0, 0.2) V, {batch} vectors",
        "errors vs ngspice, as a fraction of full scale (max |I_ngspice| = "
        f"{np.abs(spice).max() * 1e3:.4f} mA)",
        "",
        f"{'engine':<9} {'time (s)':>10} {'max error':>12} {'NRMSE':>12}",
    ]
    for name, row in table.items():
        lines.append(
            f"{name:<9} {row['time_s']:>10.4f} {row['max_err']:>12.3e} {row['nrmse']:>12.3e}"
        )
    speedup = table["ngspice"]["time_s"] / table["nodal"]["time_s"]
    lines += [
        "",
        f"nodal agrees with ngspice to {table['nodal']['max_err']:.1e} of full scale and ran "
        f"{speedup:.0f}x faster;",
        f"the ideal V @ G is off by up to {100 * table['ideal']['max_err']:.2f}% of full scale "
        "(IR drop of the wires).",
        f"The surrogate, calibrated on {n_train} ngspice runs, is off by "
        f"{calibration.metrics['surrogate']['max_error']:.1e} of full scale on held-out runs "
        f"(ideal: {calibration.metrics['ideal']['max_error']:.1e}; analytical IR-drop model: "
        f"{calibration.metrics['analytical']['max_error']:.1e}).",
    ]
    text = "\n".join(lines)
    print(text)
    with atomic_output(out / "table.txt", "w") as handle:
        handle.write(text + "\n")
    with atomic_output(out / "table.json", "w") as handle:
        json.dump(table, handle, indent=2)
    for name, r in results.items():
        save_npz_atomic(out / f"result_{name}.npz", r.arrays())
    _say("[demo] ngspice: every word line at v_read, node voltages for the IR-drop map ...")
    uniform = np.full((1, size), spec.driver.v_read)
    flat = get_engine("ngspice").run(spec, g, uniform, node_voltages=True)
    from cimspice.plots import plot_cell_voltages, save_figure  # matplotlib: only when drawing

    caption = spec_caption(spec, engine="ngspice")
    figure = plot_cell_voltages(
        flat.cell_voltages[0], uniform[0], caption=f"{caption}; every word line at v_read"
    )
    save_figure(figure, out / "cell_voltages.png")
    png = final / "cell_voltages.png"
    worst = float(100 * (1 - flat.cell_voltages.min() / spec.driver.v_read))
    print(
        f"\nIR drop with every word line at {spec.driver.v_read} V: the worst cell sees "
        f"{worst:.1f}% less than its input.\nwrote {png} (voltage across every cell, ngspice) "
        f"and the arrays, deck, table, surrogate.json and surrogate-report/ into {final}/"
    )
    return table
