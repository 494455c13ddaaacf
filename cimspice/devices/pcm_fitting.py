"""Fitting the PCM model (``pcm-nandakumar2019``, :mod:`cimspice.devices.pcm`) to a user's
measurements, with uncertainties: ``cimspice fit-device --model pcm-nandakumar2019``.

Two tidy tables (read by :func:`cimspice.devices.fitting.read_tables`; ``x = G / g_max`` with
``g_max`` the window the data were taken on, ``--g-max``):

=============  =======================================  =====================================
table          columns                                  fits (``nonideal.model_params``)
=============  =======================================  =====================================
programming    ``target``, ``measured`` (S)             ``prog_c0``, ``prog_c1``, ``prog_c2``
drift          ``device``, ``time`` (s after            ``nu_mu_a``, ``nu_mu_b``,
               programming), ``conductance`` (S),       ``nu_std_a``, ``nu_std_b``
               optionally ``target`` (S)                (drift exponents against G),
                                                        ``q_a``, ``q_exp`` (1/f noise growth)
=============  =======================================  =====================================

- **programming**: ``measured - target ~ N(0, sigma(x)^2)``, ``sigma = c0 + c1 x + c2 x^2``
  (siemens), by maximum likelihood; standard errors from the Fisher information
  ``I = sum_i 2 / sigma_i^2 [1, x_i, x_i^2] [1, x_i, x_i^2]^T`` (exact for this model). The
  model's clip at 0 S is not modelled: keep targets a few sigma above 0 S. The file sets
  ``prog_g_ref = g_max`` (the polynomial's window).
- **drift** (the model: ``ln G(t) = ln G_prog - nu ln((t + t0) / t0) + ln(1 + e_t)``, with a
  per-device ``nu ~ N(a ln x + b, (c ln x + d)^2)`` and relative 1/f noise ``e_t ~ N(0,
  Q_s(x)^2 L(t))``, ``Q_s = q_a x^-q_exp``, ``L(t) = ln((t + t0 + t_read) / (2 t_read))``,
  ``t0 = 20 s`` and ``t_read = 250 ns`` as in the preset): per device a least-squares line of
  ``ln G`` on ``ln(t + t0)`` gives ``nu_d`` (minus its slope), ``G_prog`` (the line at ``t =
  0``) and the residual sum of squares ``RSS_d``, whose expectation is ``Q_s^2 sum_t (1 -
  h_tt) L(t)`` (``h``: the line's hat matrix) when the 1/f noise is drawn independently at
  each read time (as aihwkit draws it at each inference time). ``q_a`` and ``q_exp`` are
  fitted to the ``RSS_d`` by gamma quasi-likelihood (log link, ``x`` from ``G_prog``),
  standard errors from the Fisher information scaled by the measured dispersion. Then the
  exponents: ``nu_d ~ N(a ln x + b, (c ln x + d)^2 + v_d)`` by maximum likelihood, with
  ``v_d`` each slope's own variance under the fitted 1/f noise (subtracted, as the generic fit
  does), ``x`` from the ``target`` column if given, else from ``G_prog``; standard errors from
  the exact Fisher information of that normal model. Valid while the relative 1/f noise is
  small (``ln(1 + e) ~ e``: a few per cent) and the exponents sit well above 0 (the model's
  ``|nu|`` fold is not modelled).

The fitted file leaves the clips open (``nu_mu_min = nu_std_min = 0``, ``nu_mu_max =
nu_std_max = 1``, ``q_max = 1``: the lines hold over the data's range) and sets ``t0``,
``t_read`` and ``prog_g_ref``. Every problem with the data is an
:class:`~cimspice.errors.InputError` naming the file and the column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from cimspice.devices.fitting import (
    DeviceData,
    DeviceFit,
    Estimate,
    fit_spread_polynomial,
    need_g_max,
)
from cimspice.errors import InputError

__all__ = [
    "PCM_FIXED",
    "PCM_MODEL",
    "DeviceDrift",
    "device_drift",
    "fit_pcm",
    "fit_pcm_drift",
    "fit_pcm_programming",
]

PCM_MODEL = "pcm-nandakumar2019"
"""The registry name of the model these functions fit."""

PCM_FIXED: dict[str, float] = {
    "nu_mu_min": 0.0,
    "nu_mu_max": 1.0,
    "nu_std_min": 0.0,
    "nu_std_max": 1.0,
    "q_max": 1.0,
    "t0": 20.0,
    "t_read": 250e-9,
}
"""Parameters a PCM fit writes without fitting them (clips opened; the preset's times)."""

_MIN_DEVICES = 10


def fit_pcm_programming(
    target: np.ndarray, measured: np.ndarray, g_max: float, *, where: str = "programming"
) -> tuple[dict[str, Estimate], Estimate]:
    """``prog_c0``, ``prog_c1``, ``prog_c2`` (siemens, in ``x = target / g_max``) by maximum
    likelihood, and the mean error (``bias``): :func:`~cimspice.devices.fitting.
    fit_spread_polynomial` with a quadratic.

    Raises:
        InputError: fewer than 10 rows, targets above ``g_max`` or at fewer than 3
            conductances (a quadratic needs 3), or a spread that is not positive somewhere.
    """
    return fit_spread_polynomial(
        target,
        measured,
        g_max,
        ("prog_c0", "prog_c1", "prog_c2"),
        where=where,
        what="PCM programming noise",
    )


@dataclass(frozen=True)
class DeviceDrift:
    """Each device's own power-law fit (devices read at 3 or more times only).

    Attributes:
        nu: the drift exponent (minus the slope of ``ln G`` on ``ln(t + t0)``).
        g_prog: siemens, the line at ``t = 0`` (the programmed conductance, at ``t0``).
        g_nu: siemens, the conductance the exponent statistics are taken at (``target`` when
            given, else ``g_prog``).
        s2: the residual sum of squares over its expectation per unit ``Q_s^2`` (an
            unbiased estimate of ``Q_s^2``).
        dof: residual degrees of freedom (reads - 2).
        slope_l: ``sum_t (du_t^2 L_t) / suu^2``: the slope's variance per unit ``Q_s^2``.
    """

    nu: np.ndarray
    g_prog: np.ndarray
    g_nu: np.ndarray
    s2: np.ndarray
    dof: np.ndarray
    slope_l: np.ndarray


def device_drift(
    device: np.ndarray,
    time: np.ndarray,
    conductance: np.ndarray,
    *,
    target: np.ndarray | None = None,
    t0: float = PCM_FIXED["t0"],
    t_read: float = PCM_FIXED["t_read"],
    where: str = "drift",
) -> DeviceDrift:
    """Each device's least-squares line of ``ln G`` on ``ln(t + t0)`` (see the module).

    Raises:
        InputError: a zero conductance or target, or fewer than 10 devices read at 3 or
            more times.
    """
    codes = np.asarray(device)
    t = np.asarray(time, dtype=float)
    g = np.asarray(conductance, dtype=float)
    if np.any(g <= 0):
        raise InputError(f"{where}: column 'conductance' holds 0 S (its log is needed)")
    u = np.log(t + t0)
    y = np.log(g)
    big_l = np.log((t + t0 + t_read) / (2 * t_read))
    count = np.bincount(codes)
    ubar = np.bincount(codes, weights=u) / np.maximum(count, 1)
    ybar = np.bincount(codes, weights=y) / np.maximum(count, 1)
    du = u - ubar[codes]
    suu = np.bincount(codes, weights=du * du)
    pairs = np.unique(np.stack([codes.astype(float), t]), axis=1)  # (device, time) once each
    distinct = np.bincount(pairs[0].astype(np.int64), minlength=count.size)
    keep = (distinct >= 3) & (suu > 0)
    if int(keep.sum()) < _MIN_DEVICES:
        raise InputError(
            f"{where}: column 'time' gives {int(keep.sum())} devices read at 3 or more times; "
            f"the PCM drift fit needs >= {_MIN_DEVICES} such devices"
        )
    rows = keep[codes]
    safe = np.where(keep, suu, 1.0)
    slope = np.bincount(codes, weights=du * (y - ybar[codes])) / safe
    resid = y - ybar[codes] - slope[codes] * du
    rss = np.bincount(codes, weights=np.where(rows, resid * resid, 0.0))
    hat = 1.0 / np.maximum(count, 1)[codes] + du * du / safe[codes]
    expected = np.bincount(codes, weights=np.where(rows, (1 - hat) * big_l, 0.0))
    g_prog = np.exp(ybar + slope * (np.log(t0) - ubar))[keep]
    g_nu = g_prog
    if target is not None:
        tg = np.asarray(target, dtype=float)
        if np.any(tg <= 0):
            raise InputError(f"{where}: column 'target' holds 0 S (its log is needed)")
        g_nu = (np.bincount(codes, weights=tg) / np.maximum(count, 1))[keep]
    return DeviceDrift(
        nu=-slope[keep],
        g_prog=g_prog,
        g_nu=g_nu,
        s2=rss[keep] / expected[keep],
        dof=count[keep] - 2.0,
        slope_l=np.bincount(codes, weights=du * du * big_l)[keep] / suu[keep] ** 2,
    )


def fit_pcm_drift(
    device: np.ndarray,
    time: np.ndarray,
    conductance: np.ndarray,
    g_max: float,
    *,
    target: np.ndarray | None = None,
    where: str = "drift",
) -> dict[str, Estimate]:
    """The drift-exponent lines (``nu_mu_a``, ``nu_mu_b``, ``nu_std_a``, ``nu_std_b``) and the
    1/f noise growth (``q_a``, ``q_exp``) from conductance against time (see the module).

    Raises:
        InputError: what :func:`device_drift` raises, or devices all at one conductance
            (the lines in ``ln x`` need a spread).
    """
    d = device_drift(device, time, conductance, target=target, where=where)
    x_prog, x_nu = d.g_prog / g_max, d.g_nu / g_max
    if np.ptp(np.log(x_prog)) <= 1e-6 or np.ptp(np.log(x_nu)) <= 1e-6:
        raise InputError(
            f"{where}: column 'conductance' puts every device at one conductance; the PCM "
            "drift and 1/f lines against G need devices spread over the window"
        )
    q = _fit_one_over_f(d.s2, d.dof, np.log(x_prog))
    q_s2 = (q["q_a"].value * x_prog ** (-q["q_exp"].value)) ** 2
    lines = _fit_exponent_lines(d.nu, q_s2 * d.slope_l, np.log(x_nu))
    return {**lines, **q}


def _fit_one_over_f(s2: np.ndarray, dof: np.ndarray, log_x: np.ndarray) -> dict[str, Estimate]:
    """``q_a``, ``q_exp`` with ``E[s2] = q_a^2 x^(-2 q_exp)``: gamma quasi-likelihood (shape
    ``dof / 2``), log link; errors from the Fisher information times the dispersion."""
    shape = dof / 2.0
    design = np.stack([2.0 * np.ones_like(log_x), -2.0 * log_x], axis=1)
    floor = float(np.mean(s2)) * 1e-12 + 1e-300
    target = np.log(np.maximum(s2, floor))
    start = np.linalg.lstsq(design, target, rcond=None)[0]

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = design @ theta
        ratio = s2 * np.exp(-eta)
        return float(np.sum(shape * (eta + ratio))), design.T @ (shape * (1 - ratio))

    theta = minimize(nll, start, jac=True, method="BFGS").x
    mean = np.exp(design @ theta)
    dispersion = float(np.sum(shape * (s2 / mean - 1) ** 2) / max(s2.size - 2, 1))
    cov = np.linalg.pinv((design * shape[:, None]).T @ design) * dispersion
    q_a = math.exp(theta[0])
    return {
        "q_a": Estimate(q_a, q_a * math.sqrt(max(cov[0, 0], 0.0))),
        "q_exp": Estimate(float(theta[1]), math.sqrt(max(cov[1, 1], 0.0))),
    }


def _fit_exponent_lines(
    nu: np.ndarray, slope_var: np.ndarray, log_x: np.ndarray
) -> dict[str, Estimate]:
    """``nu ~ N(a lx + b, (c lx + d)^2 + v)`` by maximum likelihood, exact Fisher errors."""
    a0, b0 = np.polyfit(log_x, nu, 1)
    spread = float(np.var(nu - (a0 * log_x + b0))) - float(np.mean(slope_var))
    start = np.array([a0, b0, 0.0, math.sqrt(max(spread, 1e-10))])

    def nll(p: np.ndarray) -> tuple[float, np.ndarray]:
        mu = p[0] * log_x + p[1]
        s = p[2] * log_x + p[3]
        var = s * s + slope_var
        r = nu - mu
        dmu = r / var
        dvar = 0.5 / var - 0.5 * r * r / var**2
        grad = np.array(
            [
                -np.sum(dmu * log_x),
                -np.sum(dmu),
                np.sum(dvar * 2 * s * log_x),
                np.sum(dvar * 2 * s),
            ]
        )
        return float(np.sum(0.5 * np.log(var) + 0.5 * r * r / var)), grad

    p = minimize(nll, start, jac=True, method="BFGS").x
    s = p[2] * log_x + p[3]
    if float(np.mean(s)) < 0:  # only s^2 enters the likelihood; the model needs s >= 0
        p[2:] = -p[2:]
        s = -s
    var = s * s + slope_var
    one = np.ones_like(log_x)
    grads_mu = np.stack([log_x, one, 0 * one, 0 * one], axis=1)
    grads_var = np.stack([0 * one, 0 * one, 2 * s * log_x, 2 * s], axis=1)
    info = (grads_mu / var[:, None]).T @ grads_mu + (
        grads_var / (2 * var * var)[:, None]
    ).T @ grads_var
    cov = np.linalg.pinv(info)
    names = ("nu_mu_a", "nu_mu_b", "nu_std_a", "nu_std_b")
    return {
        name: Estimate(float(p[k]), float(math.sqrt(max(cov[k, k], 0.0))))
        for k, name in enumerate(names)
    }


def fit_pcm(data: DeviceData, g_max: float | None) -> DeviceFit:
    """Fit the PCM model to every table ``data`` holds (programming and drift).

    Raises:
        InputError: no ``g_max``, a table the PCM model has no parameters for (reads,
            temperature), no table, or what each fit raises (file and column named).
    """
    g_max = need_g_max(g_max, PCM_MODEL)
    data.refuse(
        PCM_MODEL,
        ("programming", "drift"),
        "programming: target, measured; drift: device, time, conductance. Its read noise is "
        "the 1/f noise fitted from the drift table",
    )
    src = data.sources
    params: dict[str, Estimate] = {}
    extra: dict[str, Estimate] = {}
    counts: dict[str, int] = {}
    fixed: dict[str, float] = {}
    if data.programming is not None:
        fitted, bias = fit_pcm_programming(
            data.programming["target"],
            data.programming["measured"],
            g_max,
            where=f"data file {src.get('programming', 'programming')}",
        )
        params.update(fitted)
        extra["bias"] = bias
        counts["programming"] = int(data.programming["target"].size)
        fixed["prog_g_ref"] = g_max
    if data.drift is not None:
        table: Mapping[str, np.ndarray] = data.drift
        params.update(
            fit_pcm_drift(
                table["device"],
                table["time"],
                table["conductance"],
                g_max,
                target=table.get("target"),
                where=f"data file {src.get('drift', 'drift')}",
            )
        )
        counts["drift devices"] = int(np.unique(table["device"]).size)
        fixed.update(PCM_FIXED)
    if not params:
        raise InputError(f"no table to fit for {PCM_MODEL}: give a programming or drift table")
    return DeviceFit(params, extra, counts, data, model=PCM_MODEL, fixed=fixed, g_max=g_max)
