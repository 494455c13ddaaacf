"""Waveforms of transient runs: step responses with settling times, and what an integrating
readout (or pulse-width-encoded inputs) collects over time."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import FigureBase
from matplotlib.ticker import EngFormatter

from cimspice.errors import InputError
from cimspice.plots.figure import (
    as_array,
    axes_of,
    new_figure,
    same_shape,
    si_axis,
    suptitled,
    titled,
)

__all__ = ["plot_integration", "plot_settling"]


def _waves(time: Any, waves: Any) -> tuple[np.ndarray, np.ndarray]:
    t, w = as_array(time, "time", 1), as_array(waves, "waveforms", 2)
    if w.shape[0] != t.size:
        raise InputError(f"waveforms have {w.shape[0]} time points, time has {t.size}")
    return t, w


def plot_settling(
    time: np.ndarray,
    waves: np.ndarray,
    settling_time: np.ndarray,
    tol: float,
    *,
    quantity: str = "bit-line current",
    columns: int = 8,
    ax: Axes | None = None,
    caption: str = "",
) -> FigureBase:
    """Step responses normalised to their final values, with each one's settling time.

    Draws the ``columns`` slowest outputs as output / final value over time, the ``+- tol``
    band and a dotted mark at each one's settling time.

    Args:
        time: second, ``(n_t,)``.
        waves: ``(n_t, cols)`` outputs (A or V).
        settling_time: second, ``(cols,)``.
        tol: the settling band (fraction).
        quantity: what the waves are (``"bit-line current"``, ``"TIA output"``).
        columns: how many outputs to draw.
        ax: the axes to draw on (``None``: a new figure).
        caption: the line naming spec and engine.

    Raises:
        InputError: shapes do not match.
    """
    t, w = _waves(time, waves)
    settle = as_array(settling_time, "settling_time", 1)
    if settle.size != w.shape[1]:
        raise InputError(f"{settle.size} settling times for {w.shape[1]} outputs")
    fig, ax = axes_of(ax, (8.5, 4.6))
    final = w[-1]
    for j in np.argsort(settle)[::-1][:columns]:
        scale = final[j] if final[j] != 0 else 1.0
        line = ax.plot(t, w[:, j] / scale, lw=1, label=f"bit line {j}")[0]
        ax.axvline(settle[j], color=line.get_color(), ls=":", lw=0.8)
    ax.axhspan(1 - tol, 1 + tol, color="0.85", label=f"±{tol:g} band")
    si_axis(ax.xaxis, "s")
    ax.set_xlabel("time (dotted: each output's settling time)")
    ax.set_ylabel(f"{quantity} / its final value")
    slowest = EngFormatter("s", 3)(float(settle.max()))
    titled(ax, f"step response of the {quantity}; slowest settling {slowest}", caption)
    ax.legend(fontsize=7, ncols=2, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def plot_integration(
    time: np.ndarray,
    output: np.ndarray,
    currents: np.ndarray,
    *,
    quantity: str = "integrator output",
    unit: str = "V",
    c_f: float | None = None,
    t_start: float = 0.0,
    columns: int = 8,
    fig: FigureBase | None = None,
    title: str | None = None,
    caption: str = "",
) -> FigureBase:
    """What an integrating readout (or pulse-width-encoded inputs) collects over time.

    Top: the output waveforms of the ``columns`` outputs that collect the most charge
    (with ``c_f``, an integrator's, beside the dashed ideal ``-Q / c_f``). Bottom: the charge
    each bit line has collected since ``t_start`` (the integral of its current).

    Args:
        time: second, ``(n_t,)``.
        output: ``(n_t, cols)``: the readout's output (V) or the bit-line current (A).
        currents: ampere, ``(n_t, cols)``: the bit-line currents.
        quantity: what ``output`` is.
        unit: its unit.
        c_f: farad, the integrator's feedback capacitor (``None``: not an integrator).
        t_start: second, when collection starts (an integrator's reset release).
        columns: how many outputs to draw.
        fig: a Figure or SubFigure to draw two panels on (``None``: a new figure).
        title: what the figure shows (default: the quantity and the collected charge).
        caption: the line naming spec and engine.

    Raises:
        InputError: shapes do not match.
    """
    t, out = _waves(time, output)
    _, cur = _waves(time, currents)
    same_shape("output and currents", out, cur)
    steps = np.diff(t)[:, None] * (cur[1:] + cur[:-1]) / 2
    charge = np.concatenate([np.zeros((1, cur.shape[1])), np.cumsum(steps, axis=0)])
    started = t >= t_start
    if started.any():
        charge = charge - charge[np.argmax(started)]
    charge[~started] = 0.0
    if fig is None:
        fig = new_figure((8.5, 6.8))
    ax, ax2 = fig.subplots(2, 1, sharex=True)
    chosen = np.argsort(np.abs(charge[-1]))[::-1][:columns]
    for k, j in enumerate(chosen):
        colour = f"C{k % 10}"
        ax.plot(t, out[:, j], color=colour, lw=1.1, label=f"bit line {j}")
        if c_f is not None:
            ax.plot(t, -charge[:, j] / c_f, color=colour, ls="--", lw=0.8)
        ax2.plot(t, charge[:, j], color=colour, lw=1.1, gid=f"charge:{j}")
    for a in (ax, ax2):
        if t_start > 0:
            a.axvline(t_start, color="0.4", ls=":", lw=0.8)
        a.grid(alpha=0.3)
    si_axis(ax.yaxis, unit)
    si_axis(ax2.yaxis, "C")
    si_axis(ax2.xaxis, "s")
    ax.set_ylabel(quantity)
    ax2.set_ylabel("collected charge Q")
    ax2.set_xlabel("time" + (" (dotted: reset released)" if t_start > 0 else ""))
    ideal = " (dashed: ideal -Q / c_f)" if c_f is not None else ""
    ax.set_title(f"{quantity} over time{ideal}", fontsize=9)
    ax2.set_title("charge collected by each bit line", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    suptitled(fig, title or f"{quantity} and the charge collected", caption)
    return fig
