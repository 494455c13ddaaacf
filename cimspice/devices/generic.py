"""The generic device model (``nonideal.model = "generic"``, the default): seeded, generic
knobs of how programmed conductances differ from targets.

Every parameter lives in the spec's ``[nonideal]`` section
(:class:`~cimspice.spec.NonidealSpec`, which documents units and defaults; all off by default).
:class:`GenericModel` is one :class:`~cimspice.devices.model.DeviceModel`;
:func:`~cimspice.devices.tile.program_tile` turns a tile's target conductances into the
conductances it is read with, in this order:

1. **levels**: targets snap to the nearest of ``levels`` conductances evenly spaced over
   ``[g_min, g_max]``;
2. **stuck-at faults**: a fraction ``stuck_on`` of cells is fixed at ``g_max``, ``stuck_off``
   at ``g_min``, whatever their target (and they neither drift nor verify);
3. **programming noise**, state-dependent: a pulse leaves ``G = target + N(0, sigma^2)``
   with ``sigma = prog_noise_abs + prog_noise_rel * target``; programming saturates at the
   window's edges, ``[g_min, g_max]``;
4. **write-verify** (``verify_tol > 0``): every cell further than ``verify_tol`` from its
   target gets another pulse (a fresh draw), until all are within tolerance or have had
   ``verify_max_pulses`` pulses; the pulses are counted per cell;
5. **drift**: ``G(t) = G(t0) (t / t0)^-nu`` with a per-cell ``nu ~ N(drift_nu,
   drift_nu_std^2)`` clipped at 0; with **global drift compensation** each tile's outputs
   are multiplied by ``sum G(t0) / sum G(t)`` over its used cells (the ratio of its responses
   to an all-``v_read`` calibration input, which on the array is the summed conductance);
6. **temperature**: ``G (1 + tc_device (T - T_ref))``; the wires' resistances scale by
   ``1 + tc_wire (T - T_ref)`` (:func:`wire_factor`).

**Variation** (``nonideal.model_params``, the one use of that table the generic model has;
off by default): ``die_spread`` and ``tile_spread`` multiply the programming noise
(``prog_noise_abs`` and ``_rel`` together) and the drift (``drift_nu`` and ``_std``
together) by log-normal factors drawn once per die (every tile under one seed) and once per
tile; ``stuck_on_low`` / ``_high`` and ``stuck_off_low`` / ``_high`` replace step 2's constant
fractions by probabilities linear in the target (see :mod:`cimspice.devices.model`).

**Read noise** (:func:`add_read_noise`) is drawn for every MVM: each cell's conductance
fluctuates by ``N(0, (read_noise G)^2)`` independently per input vector, so a bit line's
current gets ``N(0, read_noise^2 sum_i V_i^2 G_ij^2)``, which is what it adds, sampled at the
bit line (the same distribution as drawing every cell; the wires' share of it is neglected),
the normal draws taken from a table of its quantiles (:func:`standard_normals`).

Random numbers come from :func:`rng_for`, one stream per (seed, layer, tile, purpose): a
tile's devices do not depend on the order tiles are programmed in or on the batch size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Self

import numpy as np

from cimspice.devices.model import VARIATION_KEYS, ParamModel, Window, relative_std
from cimspice.devices.tile import (
    ProgrammedDevices,
    add_read_noise,
    program_tile,
    read_noise_squares,
    rng_for,
    standard_normals,
    wire_factor,
)
from cimspice.errors import SpecError
from cimspice.spec import CrossbarSpec, NonidealSpec

__all__ = [
    "GenericModel",
    "ProgrammedDevices",
    "add_read_noise",
    "program_tile",
    "read_noise_squares",
    "rng_for",
    "snap_to_levels",
    "standard_normals",
    "wire_factor",
]


@dataclass(frozen=True)
class GenericModel(ParamModel):
    """The generic device model: its parameters are the ``[nonideal]`` keys.

    Its ``nonideal.model_params`` take the variation every
    :class:`~cimspice.devices.model.ParamModel` has, and nothing else: ``die_spread`` and
    ``tile_spread`` multiply the programming noise (``prog_noise_abs`` and
    ``prog_noise_rel`` by one factor) and the drift (``drift_nu`` and ``drift_nu_std`` by
    another) by ``exp(s z)``, per die and per tile; ``stuck_on_low`` / ``_high`` and
    ``stuck_off_low`` / ``_high`` make the stuck probabilities depend on the target (in
    place of the constant ``stuck_on`` / ``stuck_off``, which are refused beside them).

    Attributes:
        window: the conductance window (``[device]``).
        nonideal: the ``[nonideal]`` table it reads its parameters from.
    """

    name: ClassVar[str] = "generic"
    VARIED: ClassVar[tuple[str, ...]] = ("prog_noise", "drift")
    """Two groups: the programming noise (``prog_noise_abs``, ``prog_noise_rel``) and the
    drift (``drift_nu``, ``drift_nu_std``)."""
    nonideal: NonidealSpec = field(default_factory=NonidealSpec, kw_only=True)

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """What ``model_params`` may hold for the generic model: the variation keys."""
        return VARIATION_KEYS

    @classmethod
    def from_spec(cls, nonideal: NonidealSpec, g_min: float, g_max: float) -> Self:
        """The model of ``nonideal``'s keys, with the variation in its ``model_params``.

        Raises:
            SpecError: a ``model_params`` key other than the variation keys (the generic
                model's own parameters are the table's keys), a bad value, or a
                target-dependent stuck probability beside ``stuck_on`` / ``stuck_off``.
        """
        for key in dict(nonideal.model_params):
            if key not in VARIATION_KEYS:
                raise SpecError(
                    "the generic device model takes its parameters from the [nonideal] keys "
                    "themselves (levels, prog_noise_rel, read_noise, drift_nu, ...); its "
                    f"model_params take only {', '.join(VARIATION_KEYS)}",
                    key=f"nonideal.model_params.{key}",
                )
        model = cls.from_params(
            Window(g_min, g_max), dict(nonideal.model_params), nonideal=nonideal
        )
        if model.stuck_varies and (nonideal.stuck_on or nonideal.stuck_off):
            key = next(k for k in VARIATION_KEYS[2:] if getattr(model, k))
            raise model.error(
                key,
                "a target-dependent stuck probability beside nonideal.stuck_on / stuck_off: "
                "give one (a constant rate is stuck_*_low = stuck_*_high)",
            )
        return model

    def scaled(self, factors: Mapping[str, float]) -> Self:
        """The model with the programming noise and the drift scaled by their factors."""
        ni = self.nonideal
        prog, drift = factors["prog_noise"], factors["drift"]
        changed = dataclasses.replace(
            ni,
            prog_noise_abs=ni.prog_noise_abs * prog,
            prog_noise_rel=ni.prog_noise_rel * prog,
            drift_nu=ni.drift_nu * drift,
            drift_nu_std=ni.drift_nu_std * drift,
        )
        return dataclasses.replace(self, nonideal=changed)

    @property
    def noisy(self) -> bool:
        """Whether programming draws noise."""
        return self.nonideal.prog_noise_abs > 0 or self.nonideal.prog_noise_rel > 0

    @property
    def noisy_reads(self) -> bool:
        """Whether reads draw noise."""
        return bool(self.nonideal.read_noise)

    def snap(self, targets: np.ndarray) -> np.ndarray:
        """Targets on ``levels`` evenly spaced levels (continuous without)."""
        return _snap(targets, self.nonideal.levels, self.window.g_min, self.window.g_max)

    def stuck(self, goal: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A fraction ``stuck_on`` of cells stuck at ``g_max``, ``stuck_off`` at ``g_min``
        (or, with ``model_params``' ``stuck_*_low`` / ``_high``, probabilities linear in the
        target: :meth:`ParamModel.stuck <cimspice.devices.model.ParamModel.stuck>`)."""
        if self.stuck_varies:
            return super().stuck(goal, rng)
        ni = self.nonideal
        draw = rng.random(goal.shape)
        stuck_on = draw < ni.stuck_on
        stuck_off = (draw >= ni.stuck_on) & (draw < ni.stuck_on + ni.stuck_off)
        return stuck_on, stuck_off

    def pulse(self, goal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``goal + N(0, (prog_noise_abs + prog_noise_rel goal)^2)`` within the window."""
        ni = self.nonideal
        sigma = ni.prog_noise_abs + ni.prog_noise_rel * goal
        g = goal + sigma * rng.standard_normal(goal.shape)
        return np.clip(g, self.window.g_min, self.window.g_max)

    def drift(
        self,
        programmed: np.ndarray,
        goal: np.ndarray,
        stuck: np.ndarray,
        t: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """``G (t / t0)^-nu``, a per-cell ``nu ~ N(drift_nu, drift_nu_std^2)`` clipped at 0
        (stuck cells do not drift); ``programmed`` itself at ``t = 0`` or without drift."""
        ni = self.nonideal
        if not (t > 0 and (ni.drift_nu > 0 or ni.drift_nu_std > 0)):
            return programmed
        nu = np.maximum(ni.drift_nu + ni.drift_nu_std * rng.standard_normal(goal.shape), 0.0)
        nu[stuck] = 0.0
        return programmed * (t / ni.drift_t0) ** (-nu)

    def at_temperature(self, g: np.ndarray, temperature: float, reference: float) -> np.ndarray:
        """``G (1 + tc_device (T - T_ref))``."""
        tc = self.nonideal.tc_device
        if tc and temperature != reference:
            return g * (1.0 + tc * (temperature - reference))
        return g

    def read_std(self, conductances: np.ndarray, t: float) -> np.ndarray | None:
        """``read_noise G`` (``None`` without read noise)."""
        return relative_std(conductances, self.nonideal.read_noise)


def _snap(targets: np.ndarray, levels: int, g_min: float, g_max: float) -> np.ndarray:
    if not levels:
        return targets
    step = (g_max - g_min) / (levels - 1)
    return g_min + np.clip(np.rint((targets - g_min) / step), 0, levels - 1) * step


def snap_to_levels(targets: np.ndarray, spec: CrossbarSpec) -> np.ndarray:
    """Siemens: ``targets`` moved to the nearest of ``nonideal.levels`` levels (if set)."""
    return _snap(targets, spec.nonideal.levels, spec.device.g_min, spec.device.g_max)
