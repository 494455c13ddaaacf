"""The ReRAM preset ``reram-wan2022``: the NeuRRAM chip's conductance relaxation.

Source: W. Wan et al., "A compute-in-memory chip based on resistive random-access memory",
Nature 608, 504-512 (2022), Extended Data Fig. 3: the spread of conductances around their
targets after write-verify, versus target conductance (0-40 uS), measured 1 s, 1 day and 2
days after programming. The figure's points are not tabulated in the paper; the preset uses
the 4th-order polynomial fits of ``sigma(G_T)`` at those three times published in IBM
aihwkit's ``ReRamWan2022NoiseModel`` (``aihwkit/inference/noise/reram.py``, read for this
preset; no code copied), in uS on a 40 uS window, ``x = G_T / g_max``:

=========  ==========================================================
time       ``sigma(x)`` [uS], coefficients of ``x^0 .. x^4``
=========  ==========================================================
1 s        0.348, 16.030, -43.853, 45.393, -16.815
1 day      0.701, 22.086, -50.773, 47.095, -16.458
2 days     0.782, 20.274, -43.507, 37.062, -11.934
=========  ==========================================================

An independent digitisation of the same figure's 1 s data, Sandia CrossSim's ``RRAMWan``
device (a cubic in G [uS]: ``1.536e-4 G^3 - 1.167e-2 G^2 + 0.2374 G + 1.053``), agrees with
the 1 s polynomial within 16 % between 4 and 30 uS (30 % at the window's ends); the tests use
it as the check (its coefficients are in ``cimspice/devices/published.toml``).

Model: programming leaves ``G_T + N(0, sigma_1s(G_T)^2)`` (clipped at 0 S). At
``t = nonideal.drift_time`` after programming the array holds ``G_T + N(0, sigma_t(G_T)^2)``,
a fresh draw (relaxation is a random walk away from the verified value, as aihwkit models
it), ``sigma_t`` interpolated linearly in ``log t`` between the fitted times; ``t <= 1 s`` is
the programmed state. Beyond 2 days the data stop and the model refuses (no extrapolation).
``sigma`` scales by ``g_max / 40 uS`` (aihwkit's default leaves it unscaled whatever the
window: a documented difference). The paper gives no read-noise figure separate from
relaxation (aihwkit suggests about 1 % white read noise per MVM: ``read_noise = 0.01``; the
preset leaves it 0), no die-to-die spread and no stuck-cell rates, so the preset has none
(``die_spread``, ``tile_spread`` and ``stuck_*`` of
:class:`~cimspice.devices.model.ParamModel` take yours; the spread scales ``noise_scale``).
``cimspice fit-device --model reram-wan2022`` fits the three spread curves and the read noise
to your data (:mod:`cimspice.devices.reram_fitting`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np

from cimspice.devices.model import ParamModel, relative_std
from cimspice.errors import SpecError
from cimspice.spec import NonidealSpec

__all__ = ["FIT_TIMES", "ReRAMWan2022Model", "relaxation_std"]

FIT_TIMES = (1.0, 86400.0, 172800.0)
"""Seconds after programming at which Wan et al. measured the relaxation (1 s, 1 day, 2 days)."""
_TAGS = ("1s", "1d", "2d")


@dataclass(frozen=True)
class ReRAMWan2022Model(ParamModel):
    """NeuRRAM ReRAM after Wan et al. 2022 (see the module).

    Attributes:
        s1s_0 .. s1s_4: uS, ``sigma(x)`` coefficients of ``x^0 .. x^4`` at 1 s.
        s1d_0 .. s1d_4: the same, 1 day after programming.
        s2d_0 .. s2d_4: the same, 2 days after programming.
        g_ref: siemens, the window the fits were made on (40 uS).
        noise_scale: multiplies every sigma.
        read_noise: white read noise per MVM, relative std (0: off, as in the preset).
    """

    name: ClassVar[str] = "reram-wan2022"
    VARIED: ClassVar[tuple[str, ...]] = ("noise_scale",)
    s1s_0: float = 0.348
    s1s_1: float = 16.030
    s1s_2: float = -43.853
    s1s_3: float = 45.393
    s1s_4: float = -16.815
    s1d_0: float = 0.701
    s1d_1: float = 22.086
    s1d_2: float = -50.773
    s1d_3: float = 47.095
    s1d_4: float = -16.458
    s2d_0: float = 0.782
    s2d_1: float = 20.274
    s2d_2: float = -43.507
    s2d_3: float = 37.062
    s2d_4: float = -11.934
    g_ref: float = 40e-6
    noise_scale: float = 1.0
    read_noise: float = 0.0

    @classmethod
    def from_spec(cls, nonideal: NonidealSpec, g_min: float, g_max: float) -> Self:
        """The model, refusing read times beyond the data (2 days)."""
        if nonideal.drift_time > FIT_TIMES[-1]:
            raise SpecError(
                f"must be <= {FIT_TIMES[-1]:g} s (2 days) for device model {cls.name!r}: "
                f"Wan et al. measured relaxation up to 2 days; got {nonideal.drift_time!r}",
                key="nonideal.drift_time",
            )
        return super().from_spec(nonideal, g_min, g_max)

    def _check(self) -> None:
        self.nonnegative("noise_scale", "read_noise")
        if self.g_ref <= 0:
            raise self.error("g_ref", f"must be > 0, got {self.g_ref!r}")

    @property
    def noisy(self) -> bool:
        """Whether programming draws noise."""
        return self.noise_scale > 0

    @property
    def noisy_reads(self) -> bool:
        """Whether reads draw white noise per MVM."""
        return self.read_noise > 0

    def coefficients(self, tag: str) -> tuple[float, ...]:
        """The ``sigma(x)`` coefficients (uS) at one fitted time (``"1s"``, ``"1d"``, ``"2d"``)."""
        return tuple(getattr(self, f"s{tag}_{k}") for k in range(5))

    def pulse(self, goal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``goal + N(0, sigma_1s(goal)^2)``, clipped at 0 S."""
        sigma = relaxation_std(self, goal, FIT_TIMES[0])
        return np.maximum(goal + sigma * rng.standard_normal(goal.shape), 0.0)

    def drift(
        self,
        programmed: np.ndarray,
        goal: np.ndarray,
        stuck: np.ndarray,
        t: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """A fresh draw around the targets with ``sigma_t`` (``programmed`` at ``t <= 1 s``)."""
        if t <= FIT_TIMES[0]:
            return programmed
        sigma = relaxation_std(self, goal, t)
        g = np.maximum(goal + sigma * rng.standard_normal(goal.shape), 0.0)
        g[stuck] = programmed[stuck]
        return g

    def read_std(self, conductances: np.ndarray, t: float) -> np.ndarray | None:
        """``read_noise G`` per MVM (``None`` when off, as in the preset)."""
        return relative_std(conductances, self.read_noise)


def relaxation_std(model: ReRAMWan2022Model, targets: np.ndarray, t: float) -> np.ndarray:
    """Siemens: the spread around ``targets`` at ``t`` seconds after programming (1 s .. 2
    days; interpolated linearly in ``log t`` between the fitted times)."""
    x = np.asarray(targets, dtype=float) / model.window.g_max
    scale = 1e-6 * model.noise_scale * model.window.g_max / model.g_ref

    def at(tag: str) -> np.ndarray:
        coeffs = model.coefficients(tag)
        return np.maximum(sum(c * x**k for k, c in enumerate(coeffs)), 0.0) * scale

    t = min(max(t, FIT_TIMES[0]), FIT_TIMES[-1])
    for (t_lo, lo), (t_hi, hi) in zip(
        zip(FIT_TIMES, _TAGS, strict=True), zip(FIT_TIMES[1:], _TAGS[1:], strict=True), strict=False
    ):
        if t <= t_hi:
            w = (np.log(t) - np.log(t_lo)) / (np.log(t_hi) - np.log(t_lo))
            return (1 - w) * at(lo) + w * at(hi)
    return at(_TAGS[-1])
