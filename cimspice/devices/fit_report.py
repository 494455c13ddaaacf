"""The report of a ``cimspice fit-device`` run: ``fit.json`` (every estimate with its
standard error) and plots of the data against the fitted model, one per table fitted (for
the generic model and each preset's fit)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cimspice.devices.fitting import DeviceFit
from cimspice.devices.multilevel_fitting import MULTILEVEL_MODEL
from cimspice.devices.pcm_fitting import PCM_MODEL, device_drift
from cimspice.devices.reram_fitting import RERAM_MODEL, TIME_TAGS

__all__ = ["REPORT_FILES", "write_report"]

REPORT_FILES = (
    "fit.json",
    "programming.png",
    "reads.png",
    "drift.png",
    "temperature.png",
    "one_over_f.png",
    "spread.png",
    "levels.png",
    "level_spread.png",
)
"""What a report folder may receive (the plots of the tables given)."""


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
    reports = {PCM_MODEL: _pcm_report, RERAM_MODEL: _reram_report, MULTILEVEL_MODEL: _levels_report}
    if fit.model in reports:
        return written + reports[fit.model](fit, folder)
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
        means, stds = _per_device(data.reads["device"], data.reads["conductance"])
        fig = plot_read_fit(means, stds, p["read_noise"].value, caption=caption)
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


def _per_device(codes: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each device's mean and std over its reads (devices read twice or more)."""
    counts = np.bincount(codes)
    keep = counts > 1
    means = np.bincount(codes, weights=g) / np.maximum(counts, 1)
    square = np.bincount(codes, weights=(g - means[codes]) ** 2)
    return means[keep], np.sqrt(square[keep] / (counts[keep] - 1))


def _reram_report(fit: DeviceFit, folder: Path) -> list[Path]:
    """The ReRAM fit's plots: the spread about the targets at each fitted time (binned data,
    markers) against the fitted quartics (lines); the read noise."""
    from cimspice.devices.model import Window
    from cimspice.devices.reram import ReRAMWan2022Model, relaxation_std
    from cimspice.plots.devices import plot_against_published, plot_read_fit
    from cimspice.plots.figure import save_figure

    g_max = fit.g_max or 1.0
    values = {**fit.fixed, **{k: e.value for k, e in fit.params.items()}}
    model = ReRAMWan2022Model.from_params(Window(0.0, g_max), values)
    caption = f"{RERAM_MODEL} fitted by cimspice fit-device (g_max = {g_max:g} S)"
    data = fit.data
    written: list[Path] = []
    pairs: dict[float, list[tuple[np.ndarray, np.ndarray]]] = {t: [] for t in TIME_TAGS}
    if data.programming is not None:
        pairs[1.0].append((data.programming["target"], data.programming["measured"]))
    if data.drift is not None and "target" in data.drift:
        for t in TIME_TAGS:
            pick = data.drift["time"] == t
            if pick.any():
                pairs[t].append((data.drift["target"][pick], data.drift["conductance"][pick]))
    curves, points = {}, {}
    for t, parts in pairs.items():
        if not parts:
            continue
        target = np.concatenate([p[0] for p in parts])
        measured = np.concatenate([p[1] for p in parts])
        gx, _, spread = _binned(target, measured - target)
        line = np.linspace(float(target.min()), float(target.max()), 200)
        name = f"spread at {TIME_TAGS[t]}"
        curves[name] = (line, relaxation_std(model, line, t))
        points[name] = (gx, spread)
    if curves:
        fig = plot_against_published(
            curves,
            points,
            xlabel="target conductance",
            ylabel="std of measured - target",
            units=("S", "S"),
            labels=("fit", "data, binned"),
            title="ReRAM spread about the targets against the fit",
            caption=caption,
        )
        written.append(save_figure(fig, folder / "spread.png"))
    if data.reads is not None:
        means, stds = _per_device(data.reads["device"], data.reads["conductance"])
        fig = plot_read_fit(means, stds, fit.params["read_noise"].value, caption=caption)
        written.append(save_figure(fig, folder / "reads.png"))
    return written


def _levels_report(fit: DeviceFit, folder: Path) -> list[Path]:
    """The multi-level fit's plots: each level's mean conductance and spread (markers)
    against the fitted placement and ``prog_std_steps`` (lines); the read noise."""
    from cimspice.devices.model import Window
    from cimspice.devices.multilevel import MultiLevelModel, level_set
    from cimspice.plots.devices import plot_against_published
    from cimspice.plots.figure import save_figure

    data = fit.data
    written: list[Path] = []
    table = data.levels
    if table is None:
        return written
    values = {**fit.fixed, **{k: e.value for k, e in fit.params.items()}}
    window = Window(fit.extra["g_min"].value, fit.extra["g_max"].value)
    grid = level_set(MultiLevelModel.from_params(window, values))
    levels = grid.size
    caption = f"{MULTILEVEL_MODEL} fitted by cimspice fit-device ({levels} levels)"
    k = table["level"]
    kx, mean, _ = _binned(k.astype(float), table["conductance"])
    step = fit.extra["step"].value
    fig = plot_against_published(
        {"level conductance": (np.arange(levels), grid)},
        {"level conductance": (kx, mean)},
        xlabel="level number",
        ylabel="conductance",
        units=("", "S"),
        labels=("fit", "data, binned"),
        title="Level placement against the fit",
        caption=caption,
    )
    written.append(save_figure(fig, folder / "levels.png"))
    kx, _, spread = _binned(k.astype(float), (table["conductance"] - grid[k]) / step)
    fig = plot_against_published(
        {
            "programming error": (
                np.array([0.0, levels - 1.0]),
                np.full(2, values["prog_std_steps"]),
            )
        },
        {"programming error": (kx, spread)},
        xlabel="level number",
        ylabel="std about the fitted level (steps)",
        labels=("fit", "data, binned"),
        title="Programming error in level steps against the fit",
        caption=caption,
    )
    written.append(save_figure(fig, folder / "level_spread.png"))
    if data.reads is not None and "read_std_steps" in fit.params:
        means, stds = _per_device(data.reads["device"], data.reads["conductance"])
        flat = np.full(2, fit.params["read_std_steps"].value * step)
        fig = plot_against_published(
            {"std per read": (np.array([means.min(), means.max()]), flat)},
            {"std per read": (means, stds)},
            xlabel="mean conductance",
            ylabel="std per read",
            units=("S", "S"),
            labels=("fit", "devices"),
            title="Read noise against the fit",
            caption=caption,
        )
        written.append(save_figure(fig, folder / "reads.png"))
    return written
