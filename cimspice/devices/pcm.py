"""The PCM preset ``pcm-nandakumar2019``: phase-change memory fitted to measured devices.

Source: S. R. Nandakumar et al., "Phase-change memory models for deep learning training and
inference", ICECS 2019 (https://ieeexplore.ieee.org/abstract/document/8964852), measured on
an array of one million doped-Ge2Sb2Te5 devices, and V. Joshi et al., "Accurate deep neural
network inference using computational phase-change memory", Nature Communications 11, 2473
(2020), Supplementary Note 1 / Fig. 2 (programming error, drift exponent and 1/f noise versus
target conductance). The constants are the published fit as implemented in IBM aihwkit's
``PCMLikeNoiseModel`` (``aihwkit/inference/noise/pcm.py``, read for this preset; no code
copied), which is the form the aihwkit comparison checks against:

- **programming noise** (after iterative program-and-verify, read at ``t0 = 20 s``): additive
  Gaussian with ``sigma = (c0 + c1 x + c2 x^2) * g_max / 25 uS``, ``x = G_T / g_max``,
  ``c = (0.26348, 1.9650, -1.1731) uS`` (fitted on a 25 uS window; Joshi 2020 Fig. 2a), the
  result clipped at 0 S;
- **drift**: ``G(t) = G_prog ((t + t0) / t0)^-nu`` with a per-device ``nu ~ |N(mu, s^2)|``,
  ``mu = clip(-0.0155 ln x + 0.0244, 0.049, 0.1)``, ``s = clip(-0.0125 ln x - 0.0059, 0.008,
  0.045)`` (Joshi 2020 Fig. 2b, drift exponent mean and spread vs G_T);
- **1/f noise accumulated since programming**: at read time ``t`` a relative Gaussian of std
  ``Q_s sqrt(ln((t + t0 + t_read) / (2 t_read)))``, ``Q_s = min(0.0088 / max((G_prog /
  g_max)^0.65, 1e-3), 0.2)``, ``t_read = 250 ns`` (Joshi 2020 Fig. 2c). Like aihwkit, it is
  drawn once per programmed array and read time: 1/f noise's power lies at low
  frequencies, so within one evaluation it is a static offset that grows with ``t``.

Per-MVM white read noise (aihwkit's ``forward.w_noise``) is off in the preset; set
``read_noise`` (relative std per read) to add it. Device-to-device variation is the drift
exponent's spread and the programming error; the sources give no die-to-die variation and no
stuck-cell probabilities, so the preset has none (``die_spread``, ``tile_spread`` and the
``stuck_*`` parameters of :class:`~cimspice.devices.model.ParamModel` take yours; the
spread scales ``prog_noise_scale``, ``drift_scale`` and ``read_noise_scale``).
``cimspice fit-device --model pcm-nandakumar2019`` fits the laws to your data
(:mod:`cimspice.devices.pcm_fitting`); ``cimspice/devices/published.toml`` holds CrossSim's
independent fit of the programming error, which the tests hold the preset to.
``t = nonideal.drift_time`` counts from the end of programming (aihwkit's ``t_inference``):
at 0 the array is read at ``t0``, with the 1/f noise accumulated by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cimspice.devices.model import ParamModel, relative_std

__all__ = ["PCMModel", "drift_exponent_stats", "one_over_f_std", "programming_std"]


@dataclass(frozen=True)
class PCMModel(ParamModel):
    """PCM after Nandakumar et al. 2019 / Joshi et al. 2020 (see the module).

    Attributes:
        prog_c0: siemens, programming-noise polynomial, constant term (on a ``prog_g_ref``
            window).
        prog_c1: siemens, linear coefficient (in ``x = G_T / g_max``).
        prog_c2: siemens, quadratic coefficient.
        prog_g_ref: siemens, the window the polynomial was fitted on (25 uS); sigma scales by
            ``g_max / prog_g_ref``.
        prog_noise_scale: multiplies the programming noise.
        nu_mu_a, nu_mu_b: drift-exponent mean ``a ln x + b``.
        nu_mu_min, nu_mu_max: its clip range.
        nu_std_a, nu_std_b: drift-exponent std ``a ln x + b``.
        nu_std_min, nu_std_max: its clip range.
        drift_scale: multiplies every drift exponent.
        t0: seconds, the first read after programming (the drift reference).
        t_read: seconds, the read duration of the 1/f fit.
        q_a, q_exp, q_max: 1/f amplitude ``Q_s = min(q_a / max(x^q_exp, 1e-3), q_max)``.
        read_noise_scale: multiplies the accumulated 1/f noise.
        read_noise: white read noise per MVM, relative std (0: off, as in the preset).
    """

    name: ClassVar[str] = "pcm-nandakumar2019"
    VARIED: ClassVar[tuple[str, ...]] = ("prog_noise_scale", "drift_scale", "read_noise_scale")
    prog_c0: float = 0.26348e-6
    prog_c1: float = 1.9650e-6
    prog_c2: float = -1.1731e-6
    prog_g_ref: float = 25e-6
    prog_noise_scale: float = 1.0
    nu_mu_a: float = -0.0155
    nu_mu_b: float = 0.0244
    nu_mu_min: float = 0.049
    nu_mu_max: float = 0.1
    nu_std_a: float = -0.0125
    nu_std_b: float = -0.0059
    nu_std_min: float = 0.008
    nu_std_max: float = 0.045
    drift_scale: float = 1.0
    t0: float = 20.0
    t_read: float = 250e-9
    q_a: float = 0.0088
    q_exp: float = 0.65
    q_max: float = 0.2
    read_noise_scale: float = 1.0
    read_noise: float = 0.0

    def _check(self) -> None:
        self.nonnegative(
            "prog_noise_scale", "drift_scale", "read_noise_scale", "read_noise", "q_a", "q_max"
        )
        for key in ("prog_g_ref", "t0", "t_read"):
            if getattr(self, key) <= 0:
                raise self.error(key, f"must be > 0, got {getattr(self, key)!r}")
        if self.window.g_max <= 0:
            raise self.error("prog_g_ref", "needs device.g_max > 0")

    @property
    def noisy(self) -> bool:
        """Whether programming draws noise."""
        return self.prog_noise_scale > 0

    @property
    def noisy_reads(self) -> bool:
        """Whether reads draw white noise per MVM."""
        return self.read_noise > 0

    def pulse(self, goal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``goal + N(0, sigma(goal)^2)``, clipped at 0 S."""
        sigma = programming_std(self, goal)
        g = goal + self.prog_noise_scale * sigma * rng.standard_normal(goal.shape)
        return np.maximum(g, 0.0)

    def drift(
        self,
        programmed: np.ndarray,
        goal: np.ndarray,
        stuck: np.ndarray,
        t: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Power-law drift from ``t0`` with G-dependent exponents, then the 1/f noise
        accumulated by ``t + t0``; clipped at 0 S."""
        mu, std = drift_exponent_stats(self, goal)
        nu = np.abs(mu + std * rng.standard_normal(goal.shape)) * self.drift_scale
        nu[stuck] = 0.0
        g = programmed * ((t + self.t0) / self.t0) ** (-nu) if t > 0 else programmed
        noise = one_over_f_std(self, programmed, t) * self.read_noise_scale
        g = g + np.abs(g) * noise * rng.standard_normal(goal.shape)
        return np.maximum(g, 0.0)

    def read_std(self, conductances: np.ndarray, t: float) -> np.ndarray | None:
        """``read_noise G`` per MVM (``None`` when off, as in the preset)."""
        return relative_std(conductances, self.read_noise)


def _relative(model: PCMModel, g: np.ndarray) -> np.ndarray:
    return np.asarray(g, dtype=float) / model.window.g_max


def programming_std(model: PCMModel, targets: np.ndarray) -> np.ndarray:
    """Siemens: the programming error's std at ``targets`` (before ``prog_noise_scale``)."""
    x = _relative(model, targets)
    poly = model.prog_c0 + model.prog_c1 * x + model.prog_c2 * x * x
    return poly * (model.window.g_max / model.prog_g_ref)


def drift_exponent_stats(model: PCMModel, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The drift exponent's mean and std (of the normal before ``|.|``) at ``targets``."""
    log_x = np.log(np.maximum(np.abs(_relative(model, targets)), 1e-7))
    mu = np.clip(model.nu_mu_a * log_x + model.nu_mu_b, model.nu_mu_min, model.nu_mu_max)
    std = np.clip(model.nu_std_a * log_x + model.nu_std_b, model.nu_std_min, model.nu_std_max)
    return mu, std


def one_over_f_std(model: PCMModel, programmed: np.ndarray, t: float) -> np.ndarray:
    """The accumulated 1/f noise's relative std at ``t`` seconds after programming."""
    power = np.maximum(np.abs(_relative(model, programmed)) ** model.q_exp, 1e-3)
    q_s = np.minimum(model.q_a / power, model.q_max)
    total = t + model.t0
    return q_s * np.sqrt(np.log((total + model.t_read) / (2 * model.t_read)))
