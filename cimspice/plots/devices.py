"""Device data against a fitted device model: programming error, read noise and drift."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import FigureBase
from matplotlib.ticker import LogLocator, NullFormatter

from cimspice.plots.figure import STYLES, as_array, axes_of, log_ticks, si_axis, titled

__all__ = [
    "plot_accuracy_vs_time",
    "plot_against_published",
    "plot_drift_fit",
    "plot_programming_fit",
    "plot_read_fit",
    "plot_temperature_fit",
]


def plot_programming_fit(
    target: np.ndarray,
    measured: np.ndarray,
    prog_noise_abs: float,
    prog_noise_rel: float,
    *,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Programming error (measured - target) against target, with the fitted +-1 and +-3
    sigma band ``sigma = prog_noise_abs + prog_noise_rel * target``."""
    g = as_array(target, "target", ndim=1)
    err = as_array(measured, "measured", ndim=1) - g
    fig, ax = axes_of(ax, (5.6, 4.0))
    ax.plot(g, err, ".", ms=2, alpha=0.4, color=STYLES[0][0], label="data")
    line = np.linspace(float(g.min()), float(g.max()), 200)
    sigma = prog_noise_abs + prog_noise_rel * line
    for k, style in ((1, "-"), (3, ":")):
        ax.plot(line, k * sigma, style, color=STYLES[1][0], label=f"fit +-{k} sigma")
        ax.plot(line, -k * sigma, style, color=STYLES[1][0])
    _finish(ax, "target conductance", "programming error (measured - target)")
    titled(ax, "Programming error against the fitted spread", caption)
    return fig


def plot_read_fit(
    means: np.ndarray,
    stds: np.ndarray,
    read_noise: float,
    *,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Each device's read-to-read std against its mean conductance, with the fitted
    ``read_noise * G``."""
    m = as_array(means, "means", ndim=1)
    s = as_array(stds, "stds", ndim=1)
    fig, ax = axes_of(ax, (5.6, 4.0))
    ax.plot(m, s, "o", ms=3, mfc="none", color=STYLES[0][0], label="devices")
    line = np.linspace(float(m.min()), float(m.max()), 200)
    ax.plot(line, read_noise * line, "-", color=STYLES[1][0], label=f"fit {read_noise:.3g} G")
    _finish(ax, "mean conductance", "std per read")
    titled(ax, "Read noise against the fitted relative std", caption)
    return fig


def plot_drift_fit(
    time: np.ndarray,
    ratio: np.ndarray,
    drift_nu: float,
    drift_nu_std: float,
    drift_t0: float,
    *,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Each read's conductance over its device's first one against time (log-log), with
    the fitted mean power law ``(t / t0)^-nu`` and its +-1 std band of exponents."""
    t = as_array(time, "time", ndim=1)
    r = as_array(ratio, "ratio", ndim=1)
    fig, ax = axes_of(ax, (5.6, 4.0))
    ax.plot(t, r, ".", ms=2, alpha=0.4, color=STYLES[0][0], label="data")
    line = np.geomspace(float(t.min()), float(t.max()), 200)
    for nu, style, label in (
        (drift_nu, "-", f"fit nu = {drift_nu:.3g}"),
        (drift_nu - drift_nu_std, ":", f"nu +- {drift_nu_std:.2g}"),
        (drift_nu + drift_nu_std, ":", None),
    ):
        ax.plot(line, (line / drift_t0) ** (-nu), style, color=STYLES[1][0], label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _time_axis(ax)
    ax.set_xlabel("time since programming")
    ax.set_ylabel("G(t) / G(t0)")
    ax.legend(fontsize=8)
    titled(ax, "Drift against the fitted power law", caption)
    return fig


def _finish(ax: Axes, xlabel: str, ylabel: str) -> None:
    """Siemens on both axes, their labels and the legend."""
    si_axis(ax.xaxis, "S")
    si_axis(ax.yaxis, "S")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)


def plot_accuracy_vs_time(
    times: np.ndarray,
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    ax: Axes | None = None,
    title: str = "Accuracy against time since programming",
    caption: str = "",
) -> FigureBase:
    """Accuracy (mean, with +-1 std bars over device seeds) against time after programming
    (log axis), one line per case (e.g. per drift compensation)."""
    t = as_array(times, "times", ndim=1)
    fig, ax = axes_of(ax, (5.6, 4.0))
    for (name, (mean, std)), (colour, marker, line) in zip(curves.items(), STYLES, strict=False):
        m, s = as_array(mean, name, ndim=1), as_array(std, name, ndim=1)
        ax.errorbar(t, m, yerr=s, color=colour, marker=marker, ls=line, ms=4, capsize=2, label=name)
    ax.set_xscale("log")
    _time_axis(ax)
    ax.set_xlabel("time since programming")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)
    titled(ax, title, caption)
    return fig


def plot_against_published(
    published: dict[str, tuple[np.ndarray, np.ndarray]],
    sampled: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    xlabel: str,
    ylabel: str,
    units: tuple[str, str] = ("", ""),
    log_x: bool = False,
    labels: tuple[str, str] = ("published fit", "model, sampled"),
    ax: Axes | None = None,
    title: str = "",
    caption: str = "",
) -> FigureBase:
    """A device model's statistics measured on large samples (markers) over the published
    curves they were fitted to (lines), series by series in the same colour; ``labels`` name
    the lines and the markers in the legend."""
    fig, ax = axes_of(ax, (5.6, 4.0))
    for (name, (x, y)), (colour, marker, line) in zip(published.items(), STYLES, strict=False):
        ax.plot(
            as_array(x, name),
            as_array(y, name),
            ls=line,
            color=colour,
            label=f"{name} ({labels[0]})",
        )
        if name in sampled:
            sx, sy = sampled[name]
            ax.plot(
                as_array(sx, name),
                as_array(sy, name),
                marker,
                ls="none",
                mfc="none",
                color=colour,
                label=f"{name} ({labels[1]})",
            )
    for axis, unit in zip((ax.xaxis, ax.yaxis), units, strict=True):
        if unit:
            si_axis(axis, unit)
    if log_x:
        ax.set_xscale("log")
        if units[0] == "s":
            _time_axis(ax)
        else:
            log_ticks(ax.xaxis, units[0])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    titled(ax, title, caption)
    return fig


def plot_temperature_fit(
    temperature: np.ndarray,
    ratio: np.ndarray,
    tc_device: float,
    temperature_ref: float,
    *,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Each read's conductance over its device's at the reference temperature against
    temperature, with the fitted ``1 + tc_device (T - T_ref)``."""
    t = as_array(temperature, "temperature", ndim=1)
    r = as_array(ratio, "ratio", ndim=1)
    fig, ax = axes_of(ax, (5.6, 4.0))
    ax.plot(t, r, ".", ms=2, alpha=0.4, color=STYLES[0][0], label="data")
    line = np.linspace(float(t.min()), float(t.max()), 50)
    fit = 1 + tc_device * (line - temperature_ref)
    ax.plot(line, fit, "-", color=STYLES[1][0], label=f"fit tc = {tc_device:.3g} / K")
    si_axis(ax.xaxis, "K")
    ax.set_xlabel("temperature")
    ax.set_ylabel("G(T) / G(T_ref)")
    ax.legend(fontsize=8)
    titled(ax, "Conductance against temperature", caption)
    return fig


def _time_axis(ax: Axes) -> None:
    """A log time axis over many decades: one tick per decade or two, SI-prefixed seconds."""
    ax.xaxis.set_major_locator(LogLocator(base=10.0, numticks=7))
    ax.xaxis.set_minor_formatter(NullFormatter())
    si_axis(ax.xaxis, "s")
