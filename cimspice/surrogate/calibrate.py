"""Calibration: a SPICE dataset, a least-squares fit of the tile model, held-out validation.

``calibrate(spec, ...)`` runs the training and validation cases in ngspice (cached, parallel,
with progress), fits :class:`~cimspice.surrogate.model.TileParams` to the training currents,
measures the surrogate and the baselines on the validation cases, and returns the surrogate
with its metrics; :func:`write_report` turns them into a table and figures.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from cimspice.arguments import instance, integer, path_argument
from cimspice.converters import dac
from cimspice.engines.cell_laws import memristor_law
from cimspice.engines.nodal import tile_work_bytes
from cimspice.executors import MAX_JOBS, check_executor
from cimspice.memory import check_fits
from cimspice.outputs import OutputPlan
from cimspice.seeds import check_seed
from cimspice.spec import CrossbarSpec, as_spec
from cimspice.surrogate.baselines import analytical_ir_drop, ideal
from cimspice.surrogate.dataset import training_cases, validation_cases
from cimspice.surrogate.model import TileParams, TileSurrogate
from cimspice.surrogate.readout import MeasuredTia, check_readout, measure_tia
from cimspice.surrogate.transistor_iv import AccessTransistor, measure_access_transistor
from cimspice.sweep import CaseResult, SweepCache, ngspice_version, run_cases

__all__ = [
    "REPORT_FILES",
    "Calibration",
    "calibrate",
    "error_metrics",
    "fit_params",
    "model_speeds",
    "write_report",
]

_MODEL_NAMES = {"accurate": "surrogate", "fast": "surrogate-fast"}
"""Report names of the surrogate's modes (``surrogate`` is the accurate one)."""
SPEED_BATCH = 64
"""Input vectors in the batch each model is timed on for the report's speed columns."""
SPEED_REPEATS = 3
REPORT_FILES = ("report.md", "parity.png", "error_histogram.png", "column_error.png")
"""The files :func:`write_report` writes into its folder."""


@dataclass(frozen=True)
class Calibration:
    """The outcome of a calibration.

    Attributes:
        surrogate: the fitted surrogate (its metadata holds the metrics below).
        metrics: per model (``surrogate``, ``ideal``, ``analytical``): ``nrmse``,
            ``max_error`` (fractions of full scale) and ``per_column_nrmse``.
        validation: the held-out SPICE results, with each model's predictions.
        timings: seconds per phase (``spice``, ``fit``, ``validate``).
        speeds: per model the surrogate can run as (its modes, and ``ideal``, ``V @ G``):
            ``prepare_s``, seconds to bind to one conductance matrix, and ``mvm_per_s``,
            MVMs per second after that (see :func:`model_speeds`).
    """

    surrogate: TileSurrogate
    metrics: dict[str, dict[str, Any]]
    validation: dict[str, np.ndarray]
    timings: dict[str, float]
    speeds: dict[str, dict[str, float]] = field(default_factory=dict)


def _log(message: str) -> None:
    print(f"[calibrate] {message}", file=sys.stderr, flush=True)


def fit_params(
    spec: CrossbarSpec,
    training: list[CaseResult],
    *,
    start: TileParams | None = None,
    transistor: AccessTransistor | None = None,
    readout_transfer: MeasuredTia | None = None,
) -> tuple[TileParams, dict]:
    """Least-squares fit of the tile's resistances to SPICE currents.

    The residuals are the currents' differences scaled by the training set's full scale;
    the fit starts from ``start`` (default: the spec's nominal values) and keeps every
    resistance >= 0. Cells without a transistor have no series element, and a measured
    ``transistor`` models it itself, so in both cases only the four wire resistances are
    fitted (``r_cell`` and ``r_cell_g`` are 0). A transistor-level TIA is modelled by its
    measured ``readout_transfer``.
    """
    scale = max(float(np.max(np.abs(r.currents))) for r in training)

    def driven(r: CaseResult) -> np.ndarray:  # what the DACs put on the word lines
        return dac(spec, r.case.inputs)

    if start is None:
        start = TileParams.from_spec(spec)
        if spec.has_transistors and transistor is None:
            # An access transistor's on-resistance: start at a tenth of the smallest cell
            # resistance, a typical design target, and let the fit move it.
            r_on = 0.1 / spec.device.g_max
            start = TileParams(
                start.r_first, start.r_row, start.r_col, start.r_last, r_on, 0.05 * r_on
            )
    nominal = start
    # Scale of each parameter for the solver: its start value, or the cell scale for r_cell
    # and r_cell_g.
    x_scale = np.maximum(nominal.as_array(), 1.0)
    x_scale[4:] = np.maximum(x_scale[4:], 0.1 / spec.device.g_max)
    series = spec.has_transistors and transistor is None  # r_cell stands for the transistor
    free = 6 if series else 4
    fixed = nominal.as_array()[free:] if series else np.zeros(2)

    def params_of(x: np.ndarray) -> TileParams:
        return TileParams.from_array(np.concatenate([x, fixed]))

    def residuals(x: np.ndarray) -> np.ndarray:
        model = TileSurrogate(
            spec, params_of(x), transistor=transistor, readout_transfer=readout_transfer
        )
        return np.concatenate(
            [
                ((model.currents(r.case.conductances, driven(r)) - r.currents) / scale).ravel()
                for r in training
            ]
        )

    clock = time.perf_counter()
    solution = least_squares(
        residuals,
        nominal.as_array()[:free],
        bounds=(0.0, np.inf),
        x_scale=x_scale[:free],
        diff_step=1e-6,
        xtol=1e-12,
        ftol=1e-12,
        gtol=1e-12,
        max_nfev=200,
    )
    info = {
        "cost": float(solution.cost),
        "evaluations": int(solution.nfev),
        "status": int(solution.status),
        "message": str(solution.message),
        "seconds": time.perf_counter() - clock,
        "train_nrmse": float(np.sqrt(np.mean(solution.fun**2))),
    }
    return params_of(solution.x), info


def error_metrics(predicted: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """NRMSE, max error and per-column NRMSE, as fractions of ``max |reference|``."""
    scale = float(np.max(np.abs(reference)))
    err = (predicted - reference) / scale
    return {
        "nrmse": float(np.sqrt(np.mean(err**2))),
        "max_error": float(np.max(np.abs(err))),
        "per_column_nrmse": np.sqrt(np.mean(err**2, axis=0)).tolist(),
    }


def calibrate(
    spec: CrossbarSpec | str | os.PathLike[str],
    *,
    samples: int = 8,
    batch: int = 16,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    jobs: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
) -> Calibration:
    """Fit a surrogate for ``spec`` to ngspice and validate it on held-out runs.

    Args:
        spec: the tile.
        samples: random training matrices (structured cases are added).
        batch: input vectors per matrix.
        seed: seed of every random draw.
        cache_dir: SPICE result cache (reruns are instant; an interrupted sweep resumes).
        jobs: ngspice runs at a time (default: the cores this process may use).
        executor: ``"local"`` or ``"dask"`` (see :func:`cimspice.sweep.run_cases`).
        scheduler: a Dask scheduler's address (``None``: a local Dask cluster).

    Raises:
        InputError: an argument of the wrong type or value (named: a negative seed, a bad
            executor or scheduler address...), before any SPICE run.
        SpecError: ``spec`` names a missing or invalid spec file.
        MemoryLimitError: the tile, cases and batches would not fit in memory (before any run).
        SimulationError: a SPICE run failed (finished runs are in the cache).
    """
    spec = as_spec(spec)
    samples = integer(samples, "samples", minimum=1)
    batch = integer(batch, "batch", minimum=1)
    seed = check_seed(seed)
    if cache_dir is not None:
        cache_dir = path_argument(cache_dir, "cache_dir")
    if jobs is not None:
        jobs = integer(jobs, "jobs", minimum=1, maximum=MAX_JOBS)
    check_executor(executor, scheduler)
    check_readout(spec)  # before any SPICE run
    runs = 2 * samples + 16  # random, structured and held-out cases, generously
    check_fits(  # each run: its matrix, and inputs, outputs and deck tables of its batch
        tile_work_bytes(spec, matrices=runs) + 32.0 * runs * batch * (spec.rows + spec.cols),
        f"calibrating a {spec.rows}x{spec.cols} tile with {samples} samples of {batch} vectors",
    )
    spec = spec.with_model_cards()  # a user's model file: checked now and read once
    rng = np.random.default_rng(seed)
    train = training_cases(spec, samples=samples, batch=batch, rng=rng)
    held_out = validation_cases(spec, samples=max(1, samples // 4), batch=batch, rng=rng)
    cache = SweepCache(cache_dir) if cache_dir is not None else None
    _log(
        f"{len(train)} training + {len(held_out)} validation ngspice runs, "
        f"{spec.rows}x{spec.cols}, {batch} vectors each"
    )
    t0 = time.perf_counter()
    results = run_cases(
        spec,
        train + held_out,
        cache=cache,
        jobs=jobs,
        description="ngspice",
        executor=executor,
        scheduler=scheduler,
    )
    cached = sum(r.cached for r in results)
    t1 = time.perf_counter()
    _log(f"SPICE done in {t1 - t0:.1f} s ({cached} of {len(results)} from the cache); fitting")
    # the largest input the cases drive, or the spec's v_read if larger
    reach = max(
        [spec.driver.v_read] + [float(np.max(np.abs(dac(spec, r.case.inputs)))) for r in results]
    )
    transistor = None
    if spec.has_transistors:
        # the access transistor's I-V over every drain-source voltage the cases can reach
        transistor = measure_access_transistor(spec, 1.25 * reach)
    readout_transfer = None
    if spec.has_cmos_opamps:
        # the TIA's transfer over every column current the tile can carry at that input
        # (every cell at g_max, by the memristor's own law: a sinh cell carries more than
        # G V), or the largest the SPICE runs saw, with margin
        law = memristor_law(np.asarray(spec.device.g_max), spec.device.iv.value, spec.device.v0)
        ideal_bound = spec.rows * float(np.abs(law.current(np.asarray(reach))))
        seen = max(float(np.max(np.abs(r.currents))) for r in results)
        readout_transfer = measure_tia(spec, 1.25 * max(ideal_bound, seen))
    params, fit_info = fit_params(
        spec, results[: len(train)], transistor=transistor, readout_transfer=readout_transfer
    )
    t2 = time.perf_counter()
    val = results[len(train) :]
    all_g = np.concatenate([r.case.conductances.ravel() for r in results[: len(train)]])
    all_v = np.concatenate([dac(spec, r.case.inputs).ravel() for r in results[: len(train)]])
    ranges = {
        "g_min": float(all_g.min()),
        "g_max": float(all_g.max()),
        "v_min": float(all_v.min()),
        "v_max": float(all_v.max()),
    }
    surrogate = TileSurrogate(
        spec, params, ranges, transistor=transistor, readout_transfer=readout_transfer
    )
    spice = np.concatenate([r.currents for r in val])
    modes = ["accurate"] if surrogate.is_linear else ["accurate", "fast"]
    solved = {  # per mode and case: (currents, TIA outputs or None)
        mode: [surrogate.outputs(r.case.conductances, dac(spec, r.case.inputs), mode) for r in val]
        for mode in modes
    }
    predictions = {
        _MODEL_NAMES[mode]: np.concatenate([currents for currents, _ in pairs])
        for mode, pairs in solved.items()
    }
    predictions |= {
        "ideal": np.concatenate([ideal(r.case.conductances, r.case.inputs) for r in val]),
        "analytical": np.concatenate(
            [analytical_ir_drop(spec, r.case.conductances, r.case.inputs) for r in val]
        ),
    }
    metrics = {name: error_metrics(p, spice) for name, p in predictions.items()}
    if spec.has_tia and all(r.v_out is not None for r in val):
        # what the ADC reads: the TIAs' outputs, against -I r_f of the ideal model
        spice_out = np.concatenate([r.v_out for r in val if r.v_out is not None])
        for mode, pairs in solved.items():
            modelled = [v_out for _, v_out in pairs if v_out is not None]
            metrics[f"{_MODEL_NAMES[mode]} v_out"] = error_metrics(
                np.concatenate(modelled), spice_out
            )
        # an ideal op-amp that still saturates, at the swing or at a CMOS op-amp's rails
        swing = spec.readout.v_supply / 2 if spec.has_cmos_opamps else spec.readout.v_swing
        ideal_out = np.clip(-spec.readout.r_f * predictions["ideal"], -swing, swing)
        metrics["ideal v_out"] = error_metrics(ideal_out, spice_out)
    speeds = model_speeds(surrogate, modes, val[0].case.conductances, rng)
    t3 = time.perf_counter()
    timings = {"spice": t1 - t0, "fit": t2 - t1, "validate": t3 - t2}
    metadata = {
        "versions": {"ngspice": ngspice_version()},
        "fit": fit_info,
        "validation": {
            "cases": [r.case.name for r in val],
            "vectors": int(spice.shape[0]),
            "full_scale_a": float(np.max(np.abs(spice))),
            "metrics": metrics,
        },
        "dataset": {
            "training_cases": [r.case.name for r in results[: len(train)]],
            "batch": batch,
            "seed": seed,
        },
        "timings_s": timings,
        "speeds": speeds,
    }
    surrogate = TileSurrogate(spec, params, ranges, metadata, transistor, readout_transfer)
    return Calibration(surrogate, metrics, {"spice": spice, **predictions}, timings, speeds)


def model_speeds(
    surrogate: TileSurrogate,
    modes: list[str],
    conductances: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, dict[str, float]]:
    """How fast each mode runs, next to ``V @ G``: the trade-off the error table leaves out.

    Each mode is prepared for ``conductances`` once (``prepare_s``), called once to warm up,
    then timed on a batch of :data:`SPEED_BATCH` input vectors drawn over the calibrated
    input range, best of :data:`SPEED_REPEATS` (``mvm_per_s``).
    Small-batch timings: indicative only, see the repository's benchmarks for measured ratios.
    """
    r = surrogate.ranges
    v = rng.uniform(r["v_min"], r["v_max"], (SPEED_BATCH, surrogate.spec.rows))

    def per_second(run: Callable[[], object]) -> float:
        run()
        best = np.inf
        for _ in range(SPEED_REPEATS):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        return SPEED_BATCH / best if best > 0 else float("inf")

    speeds = {}
    for mode in modes:
        start = time.perf_counter()
        tile = surrogate.prepare(conductances, mode)
        prepare_s = time.perf_counter() - start
        speeds[_MODEL_NAMES[mode]] = {
            "prepare_s": prepare_s,
            "mvm_per_s": per_second(functools.partial(tile.currents, v)),
        }
    speeds["ideal"] = {
        "prepare_s": 0.0,
        "mvm_per_s": per_second(functools.partial(np.matmul, v, conductances)),
    }
    return speeds


def _write_figures(calibration: Calibration, out: Path) -> list[Path]:
    """``parity.png`` (the surrogate on its own axes, the baselines beside it, every model's
    error on a log axis), ``error_histogram.png`` and ``column_error.png``."""
    from cimspice.caption import spec_caption
    from cimspice.plots import (
        plot_column_error,
        plot_error_histogram,
        plot_parity,
        save_figure,
    )

    spice = calibration.validation["spice"]
    models = {k: v for k, v in calibration.validation.items() if k != "spice"}
    vectors = spice.shape[0]
    caption = spec_caption(
        calibration.surrogate.spec,
        engine=f"ngspice (the reference: {vectors} held-out vectors)",
    )
    per_column = {k: calibration.metrics[k]["per_column_nrmse"] for k in models}
    figures = {
        "parity.png": plot_parity(
            spice, models, own_axes=tuple(_MODEL_NAMES.values()), caption=caption
        ),
        "error_histogram.png": plot_error_histogram(spice, models, caption=caption),
        "column_error.png": plot_column_error(per_column, caption=caption),
    }
    return [save_figure(figure, out / name) for name, figure in figures.items()]


def write_report(calibration: Calibration, out_dir: str | Path) -> list[Path]:
    """Write ``report.md`` and the figures (parity, error histogram, per-column error) into
    ``out_dir`` (created), all or nothing (see :mod:`cimspice.outputs`).

    Returns:
        the files written.

    Raises:
        OutputError: ``out_dir`` or a file in it is refused, or cannot be written.
    """
    instance(calibration, Calibration, "calibration")
    final = path_argument(out_dir, "out_dir")
    plan = OutputPlan()
    plan.folder(final, "report folder", REPORT_FILES)
    with plan:
        out = plan.stage(final)
        files = _write_figures(calibration, out)
        (out / "report.md").write_text(_report_text(calibration, files))
    return [final / "report.md", *(final / f.name for f in files)]


def _report_text(calibration: Calibration, files: list[Path]) -> str:
    """The calibration report (markdown) that shows ``files``."""
    s = calibration.surrogate
    p = s.params
    lines = [
        f"# Surrogate calibration: {s.spec.rows}x{s.spec.cols} {s.spec.array.cell.value}",
        "",
        f"Spec hash `{s.spec.content_hash()[:16]}`; "
        f"held-out validation on {s.metadata['validation']['vectors']} vectors "
        f"({', '.join(s.metadata['validation']['cases'])}), none of whose distributions "
        "were in the training set. Errors are fractions of full scale "
        f"(max |I_ngspice| = {s.metadata['validation']['full_scale_a'] * 1e3:.4g} mA; the "
        "`v_out` rows, TIA outputs, of max |V_out|).",
        "",
        "Speeds on one held-out conductance matrix, a batch of "
        f"{SPEED_BATCH} vectors (indicative: the repository's benchmarks measure ratios on "
        "larger batches).",
        "",
        "| model | NRMSE | max error | prepare (s) | MVMs/s once prepared |",
        "|---|---|---|---|---|",
    ]
    for name, m in calibration.metrics.items():
        speed = calibration.speeds.get(name)
        timing = (
            f"{speed['prepare_s']:.3g} | {speed['mvm_per_s']:.3g}" if speed is not None else "- | -"
        )
        lines.append(f"| {name} | {m['nrmse']:.3e} | {m['max_error']:.3e} | {timing} |")
    lines += [
        "",
        "Fitted parameters (ohm): "
        f"r_first = {p.r_first:.6g}, r_row = {p.r_row:.6g}, r_col = {p.r_col:.6g}, "
        f"r_last = {p.r_last:.6g}, r_cell = {p.r_cell:.6g}, r_cell_g = {p.r_cell_g:.6g}.",
        "",
        "Time (s): " + ", ".join(f"{k} {v:.2f}" for k, v in calibration.timings.items()) + ".",
        "",
        *[f"![{f.stem}]({f.name})" for f in files],
        "",
    ]
    return "\n".join(lines)
