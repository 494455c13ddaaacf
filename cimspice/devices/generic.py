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

**Read noise** (:func:`add_read_noise`) is drawn for every MVM: each cell's conductance
fluctuates by ``N(0, (read_noise G)^2)`` independently per input vector, so a bit line's
current gets ``N(0, read_noise^2 sum_i V_i^2 G_ij^2)``, which is what it adds, sampled at the
bit line (the same distribution as drawing every cell; the wires' share of it is neglected),
the normal draws taken from a table of its quantiles (:func:`standard_normals`).

Random numbers come from :func:`rng_for`, one stream per (seed, layer, tile, purpose): a
tile's devices do not depend on the order tiles are programmed in or on the batch size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cimspice.devices.model import Window, relative_std
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
class GenericModel:
    """The generic device model: its parameters are the ``[nonideal]`` keys.

    Attributes:
        window: the conductance window (``[device]``).
        nonideal: the ``[nonideal]`` table it reads its parameters from.
    """

    name: ClassVar[str] = "generic"
    window: Window
    nonideal: NonidealSpec

    @classmethod
    def from_spec(cls, nonideal: NonidealSpec, g_min: float, g_max: float) -> GenericModel:
        """The model of ``nonideal``'s keys (``model_params`` must be empty: its parameters
        are the table's own keys)."""
        if nonideal.model_params:
            name = next(iter(dict(nonideal.model_params)))
            raise SpecError(
                "the generic device model takes its parameters from the [nonideal] keys "
                "themselves (levels, prog_noise_rel, read_noise, drift_nu, ...), not "
                "model_params",
                key=f"nonideal.model_params.{name}",
            )
        return cls(Window(g_min, g_max), nonideal)

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
        """A fraction ``stuck_on`` of cells stuck at ``g_max``, ``stuck_off`` at ``g_min``."""
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


def _pulse(targets: np.ndarray, ni: NonidealSpec, spec: CrossbarSpec, rng: np.random.Generator):
    sigma = ni.prog_noise_abs + ni.prog_noise_rel * targets
    g = targets + sigma * rng.standard_normal(targets.shape)
    return np.clip(g, spec.device.g_min, spec.device.g_max)
