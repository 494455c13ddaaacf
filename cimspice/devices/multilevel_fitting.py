"""Fitting the multi-level model (``memristor-rao2023``, :mod:`cimspice.devices.multilevel`)
to a user's measurements, with uncertainties: ``cimspice fit-device --model
memristor-rao2023 [--levels N]``.

The model: ``levels`` conductances ``G_k = g_min + (g_max - g_min) (k / (n - 1))^e``
(``e = level_exponent``), each programmed with a Gaussian error of ``prog_std_steps`` mean
level steps (``step = (g_max - g_min) / (n - 1)``) and read with a Gaussian noise of
``read_std_steps`` steps. The tidy tables (read by
:func:`cimspice.devices.fitting.read_tables`):

=============  =====================================  =====================================
table          columns                                fits
=============  =====================================  =====================================
levels         ``level`` (0 .. n - 1), ``conductance``  the window ``g_min``, ``g_max``
               (S): one row per device programmed to   (written as a comment: set
               that level and read once                ``[device]``), ``level_exponent``,
                                                       ``prog_std_steps``
reads          ``device``, ``conductance`` (S)         ``read_std_steps`` (the pooled std
                                                       per read over the step)
=============  =====================================  =====================================

- **levels**: ``conductance ~ N(G_k, s^2)`` with ``G_k`` as above; ``g_min``, ``g_max``
  and ``e`` by nonlinear least squares (the maximum-likelihood estimate for a constant
  ``s``), their standard errors from ``s^2 (J^T J)^-1`` (``J``: the Jacobian of ``G_k``),
  ``s^2`` the residual variance (``N - 3`` degrees of freedom) and ``prog_std_steps = s /
  step``, its standard error from those of ``s`` (``s / sqrt(2 (N - 3))``) and of the step
  (error propagation). ``n`` is ``--levels`` (default: the highest level in the data plus
  one). The model's clip at the window's ends is not modelled: keep the data's levels a few
  ``s`` inside them (the fit extrapolates the curve to ``k = 0`` and ``k = n - 1``).
- **reads**: each device read repeatedly at one moment; the pooled std per read
  (:func:`~cimspice.devices.fitting.fit_reads`, in siemens) over the step of the levels fit
  (a reads table needs a levels table beside it: the step is the unit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from cimspice.devices.fitting import DeviceData, DeviceFit, Estimate, fit_reads
from cimspice.devices.multilevel import MultiLevelModel
from cimspice.errors import InputError

__all__ = ["MULTILEVEL_MODEL", "LevelFit", "fit_levels", "fit_multilevel", "in_steps"]

MULTILEVEL_MODEL = MultiLevelModel.name
"""The registry name of the model these functions fit."""

_MAX_LEVELS = 65536


@dataclass(frozen=True)
class LevelFit:
    """The level placement and programming spread fitted to a levels table.

    Attributes:
        levels: the level count ``n`` (given, not fitted).
        g_min, g_max: siemens, the fitted window (the curve at ``k = 0`` and ``k = n - 1``).
        exponent: the fitted ``level_exponent``.
        spread: siemens, the programming error's std ``s``.
        step: siemens, the mean level step ``(g_max - g_min) / (n - 1)``.
    """

    levels: int
    g_min: Estimate
    g_max: Estimate
    exponent: Estimate
    spread: Estimate
    step: Estimate

    @property
    def prog_std_steps(self) -> Estimate:
        """``s / step``, its error propagated from both."""
        return in_steps(self.spread, self.step)

    def curve(self, k: np.ndarray) -> np.ndarray:
        """Siemens: the fitted level conductances ``G_k``."""
        u = np.asarray(k, dtype=float) / (self.levels - 1)
        return self.g_min.value + (self.g_max.value - self.g_min.value) * u**self.exponent.value


def in_steps(std: Estimate, step: Estimate) -> Estimate:
    """``std / step`` with its standard error (relative errors added in quadrature)."""
    ratio = std.value / step.value
    if std.value <= 0:
        return Estimate(ratio, std.stderr / step.value)
    return Estimate(ratio, ratio * math.hypot(std.stderr / std.value, step.stderr / step.value))


def _placement(u: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``G(u)`` for ``p = (g_min, g_max, e)`` and its Jacobian ``(rows, 3)``."""
    lo, hi, e = p
    power = u**e
    log_u = np.log(np.where(u > 0, u, 1.0))  # u^e ln u -> 0 at u = 0
    jac = np.stack([1.0 - power, power, (hi - lo) * power * log_u], axis=1)
    return lo + (hi - lo) * power, jac


def fit_levels(
    level: np.ndarray, conductance: np.ndarray, levels: int | None = None, *, where: str = "levels"
) -> LevelFit:
    """The window, the level exponent and the programming spread from a levels table (see
    the module).

    Raises:
        InputError: fewer than 10 rows, fewer than 3 distinct levels, a level at or above
            ``levels``, a level count outside 2 .. 65536, or a fit that does not converge.
    """
    k = np.asarray(level, dtype=np.int64)
    g = np.asarray(conductance, dtype=float)
    if k.size < 10:
        raise InputError(f"{where}: column 'level' has {k.size} rows; the fit needs >= 10")
    n = int(k.max()) + 1 if levels is None else int(levels)
    if not 2 <= n <= _MAX_LEVELS:
        raise InputError(f"--levels must be from 2 to {_MAX_LEVELS}, got {n}")
    if int(k.max()) >= n:
        raise InputError(
            f"{where}: column 'level' holds {int(k.max())}, not below --levels ({n}; levels "
            "are numbered from 0)"
        )
    if np.unique(k).size < 3:
        raise InputError(
            f"{where}: column 'level' holds fewer than 3 distinct levels; the placement "
            "(g_min, g_max, level_exponent) needs 3 or more"
        )
    u = k / (n - 1)
    slope, intercept = np.polyfit(u, g, 1)
    start = np.array([intercept, intercept + slope, 1.0])
    scale = max(abs(float(slope)), float(np.max(np.abs(g))), 1e-300)

    def residuals(p: np.ndarray) -> np.ndarray:
        return (_placement(u, p * [scale, scale, 1.0])[0] - g) / scale

    res = least_squares(
        residuals,
        start / [scale, scale, 1.0],
        bounds=([-np.inf, -np.inf, 1e-3], [np.inf, np.inf, 1e3]),
        x_scale="jac",
    )
    p = res.x * [scale, scale, 1.0]
    mean, jac = _placement(u, p)
    dof = k.size - 3
    s2 = float(np.sum((g - mean) ** 2)) / dof
    if not (res.success and np.all(np.isfinite(p))) or s2 <= 0 or p[1] <= p[0]:
        raise InputError(
            f"{where}: columns 'level' and 'conductance' give no increasing level curve "
            "(the placement fit failed)"
        )
    cov = np.linalg.pinv(jac.T @ jac) * s2
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    step_var = (cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]) / (n - 1) ** 2
    s = math.sqrt(s2)
    return LevelFit(
        n,
        Estimate(float(p[0]), float(se[0])),
        Estimate(float(p[1]), float(se[1])),
        Estimate(float(p[2]), float(se[2])),
        Estimate(s, s / math.sqrt(2 * dof)),
        Estimate(float(p[1] - p[0]) / (n - 1), math.sqrt(max(step_var, 0.0))),
    )


def fit_multilevel(data: DeviceData, levels: int | None = None) -> DeviceFit:
    """Fit the multi-level model to a levels table (and a reads table).

    Raises:
        InputError: no levels table, a table the model has no parameters for
            (programming, drift, temperature), or what each fit raises (file and column
            named).
    """
    data.refuse(
        MULTILEVEL_MODEL,
        ("levels", "reads"),
        "levels: level, conductance, one row per device programmed to a level; reads: "
        "device, conductance. The model has no drift or temperature law",
    )
    if data.levels is None:
        raise InputError(
            f"fit-device --model {MULTILEVEL_MODEL} needs a levels table (columns level, "
            "conductance): the level placement and step the model's noise is measured in"
        )
    table = data.levels
    fit = fit_levels(table["level"], table["conductance"], levels, where=data.where("levels"))
    params = {"level_exponent": fit.exponent, "prog_std_steps": fit.prog_std_steps}
    counts = {"levels rows": int(table["level"].size)}
    if data.reads is not None:
        reads = data.reads
        std = fit_reads(
            reads["device"], reads["conductance"], where=data.where("reads"), relative=False
        )["read_noise"]
        params["read_std_steps"] = in_steps(std, fit.step)
        counts["reads devices"] = int(np.unique(reads["device"]).size)
    extra = {"g_min": fit.g_min, "g_max": fit.g_max, "step": fit.step, "spread": fit.spread}
    return DeviceFit(
        params,
        extra,
        counts,
        data,
        model=MULTILEVEL_MODEL,
        fixed={"levels": float(fit.levels)},
        g_max=fit.g_max.value,
        g_min=fit.g_min.value,
    )
