"""``cimspice fit-device``: fit a device model (the generic one, or the PCM model with
``--model pcm-nandakumar2019``: :mod:`cimspice.devices.pcm_fitting`) to data files and write
the device file and, optionally, a report (JSON of every estimate with its standard error,
and plots of the data against the fit).

The device file holds a ``[nonideal]`` table: copy it into a spec, or apply it in Python with
:func:`apply_device_file` (``spec.replace`` of each key, validated as a spec file is).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cimspice.devices.fitting import DeviceFit, fit_device, read_tables
from cimspice.devices.pcm_fitting import PCM_MODEL, device_drift, fit_pcm
from cimspice.errors import InputError, SpecError
from cimspice.outputs import OutputPlan
from cimspice.spec import CrossbarSpec, NonidealSpec

__all__ = [
    "FIT_MODELS",
    "REPORT_FILES",
    "FitDeviceRequest",
    "apply_device_file",
    "load_device_file",
    "run_fit_device",
    "write_report",
]

REPORT_FILES = (
    "fit.json",
    "programming.png",
    "reads.png",
    "drift.png",
    "temperature.png",
    "one_over_f.png",
)
"""What a report folder may receive (the plots of the tables given)."""

FIT_MODELS = ("generic", PCM_MODEL)
"""The device models ``fit-device`` fits (``--model``)."""


@dataclass(frozen=True)
class FitDeviceRequest:
    """One ``fit-device`` run.

    Attributes:
        data: the data files (CSV or NPZ), one per table.
        output: the device file to write (TOML).
        report: a folder for ``fit.json`` and the plots (``None``: no report).
        model: the device model to fit (one of :data:`FIT_MODELS`).
        g_max: siemens, the window's top the data were taken on (the PCM model needs it).
    """

    data: Sequence[Path]
    output: Path
    report: Path | None = None
    model: str = "generic"
    g_max: float | None = None


def run_fit_device(request: FitDeviceRequest) -> DeviceFit:
    """Check every path, fit, write the device file (and report) all or nothing.

    Raises:
        InputError: bad data (file and column named).
        OutputError: an output path that may not be written.
    """
    if request.model not in FIT_MODELS:
        raise InputError(
            f"fit-device --model {request.model!r}: fits {', '.join(FIT_MODELS)} (the other "
            "presets take their published parameters; set them with nonideal.model_params)"
        )
    plan = OutputPlan()
    for path in request.data:
        plan.read(path, "DATA")
    plan.write(request.output, "-o")
    if request.report is not None:
        plan.folder(request.report, "--report", REPORT_FILES)
    with plan:
        data = read_tables(request.data)
        fit = fit_device(data) if request.model == "generic" else fit_pcm(data, request.g_max)
        names = ", ".join(str(p) for p in request.data)
        text = fit.to_toml(f"written by cimspice fit-device from {names}\n{fit.model} model")
        plan.stage(request.output).write_text(text, encoding="utf-8")
        if request.report is not None:
            write_report(fit, plan.stage(request.report))
    return fit


def write_report(fit: DeviceFit, folder: Path) -> list[Path]:
    """``fit.json`` and one plot per table fitted, into ``folder``; returns the files."""
    from cimspice.plots.devices import (
        plot_drift_fit,
        plot_programming_fit,
        plot_read_fit,
        plot_temperature_fit,
    )
    from cimspice.plots.figure import save_figure

    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "fit.json"]
    written[0].write_text(json.dumps(fit.to_dict(), indent=2) + "\n", encoding="utf-8")
    if fit.model == PCM_MODEL:
        return written + _pcm_report(fit, folder)
    p, data = fit.params, fit.data
    caption = "generic device model fitted by cimspice fit-device"
    if data.programming is not None:
        fig = plot_programming_fit(
            data.programming["target"],
            data.programming["measured"],
            p["prog_noise_abs"].value,
            p["prog_noise_rel"].value,
            caption=caption,
        )
        written.append(save_figure(fig, folder / "programming.png"))
    if data.reads is not None:
        codes, g = data.reads["device"], data.reads["conductance"]
        counts = np.bincount(codes)
        keep = counts > 1
        means = np.bincount(codes, weights=g) / np.maximum(counts, 1)
        square = np.bincount(codes, weights=(g - means[codes]) ** 2)
        stds = np.sqrt(square[keep] / (counts[keep] - 1))
        fig = plot_read_fit(means[keep], stds, p["read_noise"].value, caption=caption)
        written.append(save_figure(fig, folder / "reads.png"))
    if data.drift is not None:
        codes, t, g = data.drift["device"], data.drift["time"], data.drift["conductance"]
        first = np.zeros(int(codes.max()) + 1)
        order = np.argsort(t, kind="stable")
        first[codes[order[::-1]]] = g[order[::-1]]  # the earliest read of each device wins
        fig = plot_drift_fit(
            t,
            g / first[codes],
            p["drift_nu"].value,
            p["drift_nu_std"].value,
            p["drift_t0"].value,
            caption=caption,
        )
        written.append(save_figure(fig, folder / "drift.png"))
    if data.temperature is not None:
        codes, temp, g = (data.temperature[k] for k in ("device", "temperature", "conductance"))
        t_ref = p["temperature_ref"].value
        tc = p["tc_device"].value
        at_ref = np.zeros(int(codes.max()) + 1)
        for d in np.unique(codes):  # each device's fitted line at T_ref
            pick = codes == d
            if np.ptp(temp[pick]) > 0:
                b, a = np.polyfit(temp[pick], g[pick], 1)
                at_ref[d] = a + b * t_ref
        keep = at_ref[codes] > 0
        ratio = g[keep] / at_ref[codes[keep]]
        fig = plot_temperature_fit(temp[keep], ratio, tc, t_ref, caption=caption)
        written.append(save_figure(fig, folder / "temperature.png"))
    return written


def _binned(x: np.ndarray, y: np.ndarray, bins: int = 12) -> tuple[np.ndarray, ...]:
    """Per bin of ``x`` (equal counts): the mean ``x``, the mean and the std of ``y``."""
    order = np.argsort(x)
    parts = [p for p in np.array_split(order, min(bins, max(x.size // 5, 1))) if p.size > 1]
    return tuple(
        np.array([f(v[p]) for p in parts])
        for f, v in ((np.mean, x), (np.mean, y), (lambda a: np.std(a, ddof=1), y))
    )


def _pcm_report(fit: DeviceFit, folder: Path) -> list[Path]:
    """The PCM fit's plots: binned data (markers) against the fitted curves (lines)."""
    from cimspice.devices.model import Window
    from cimspice.devices.pcm import PCMModel, drift_exponent_stats, programming_std
    from cimspice.plots.devices import plot_against_published
    from cimspice.plots.figure import save_figure

    g_max = fit.g_max or 1.0
    values = {**fit.fixed, **{k: e.value for k, e in fit.params.items()}}
    model = PCMModel.from_params(Window(0.0, g_max), values)
    labels = ("fit", "data, binned")
    caption = f"{PCM_MODEL} fitted by cimspice fit-device (g_max = {g_max:g} S)"
    written = []
    data = fit.data
    if data.programming is not None:
        target = data.programming["target"]
        gx, _, spread = _binned(target, data.programming["measured"] - target)
        line = np.linspace(float(target.min()), float(target.max()), 200)
        fig = plot_against_published(
            {"programming std": (line, programming_std(model, line))},
            {"programming std": (gx, spread)},
            xlabel="target conductance",
            ylabel="std of measured - target",
            units=("S", "S"),
            labels=labels,
            title="PCM programming error against the fit",
            caption=caption,
        )
        written.append(save_figure(fig, folder / "programming.png"))
    if data.drift is not None:
        table = data.drift
        d = device_drift(
            table["device"], table["time"], table["conductance"], target=table.get("target")
        )
        gx, nu_mean, nu_std = _binned(d.g_nu, d.nu)
        line = np.linspace(float(d.g_nu.min()), float(d.g_nu.max()), 200)
        mu, std = drift_exponent_stats(model, line)
        fig = plot_against_published(
            {"nu mean": (line, mu), "nu std": (line, std)},
            {"nu mean": (gx, nu_mean), "nu std": (gx, nu_std)},
            xlabel="conductance",
            ylabel="drift exponent",
            units=("S", ""),
            labels=labels,
            title="PCM drift exponents against the fit",
            caption=caption + "; the binned std includes each slope's own fitting noise",
        )
        written.append(save_figure(fig, folder / "drift.png"))
        gx, q2, _ = _binned(d.g_prog, d.s2)
        line = np.linspace(float(d.g_prog.min()), float(d.g_prog.max()), 200)
        q_s = np.minimum(model.q_a / np.maximum((line / g_max) ** model.q_exp, 1e-3), model.q_max)
        fig = plot_against_published(
            {"1/f amplitude Q_s": (line, q_s)},
            {"1/f amplitude Q_s": (gx, np.sqrt(q2))},
            xlabel="programmed conductance",
            ylabel="Q_s (relative std per sqrt(ln t))",
            units=("S", ""),
            labels=labels,
            title="PCM 1/f noise amplitude against the fit",
            caption=caption,
        )
        written.append(save_figure(fig, folder / "one_over_f.png"))
    return written


def load_device_file(path: str | Path) -> dict[str, Any]:
    """The ``[nonideal]`` keys of a device file, checked as a spec's table is.

    Raises:
        SpecError: not TOML, a table other than ``[nonideal]``, or a bad key or value.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SpecError(f"not a readable device file: {err}", file=path) from None
    extra = sorted(set(data) - {"nonideal"})
    if extra or "nonideal" not in data:
        raise SpecError(
            "a device file holds one [nonideal] table"
            + (f"; it has [{'], ['.join(extra)}]" if extra else ""),
            file=path,
        )
    table = data["nonideal"]
    if not isinstance(table, dict):
        raise SpecError("must be a table", file=path, key="nonideal")
    for key in table:
        if key not in NonidealSpec.params():
            raise SpecError("unknown key", file=path, key=f"nonideal.{key}")
    try:
        NonidealSpec(**table)
    except SpecError as err:
        raise SpecError(str(err), file=path) from None
    return dict(table)


def apply_device_file(spec: CrossbarSpec, path: str | Path) -> CrossbarSpec:
    """``spec`` with the device file's ``[nonideal]`` keys set (the rest kept)."""
    keys = load_device_file(path)
    return spec.replace({f"nonideal.{k}": v for k, v in keys.items()})
