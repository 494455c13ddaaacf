"""The device-model protocol: how a target conductance is programmed, how it drifts with time
and temperature, and how it reads.

A device model is one object (:class:`DeviceModel`); :func:`cimspice.devices.tile.program_tile`
drives it for a tile, in this order, all draws from the tile's programming stream:

1. :meth:`~DeviceModel.snap`: targets moved onto the model's level set (identity when the
   device is continuous);
2. :meth:`~DeviceModel.stuck`: which cells are stuck at the window's top or bottom;
3. :meth:`~DeviceModel.pulse`: one programming pulse (one draw of the programming error),
   repeated by write-verify (``nonideal.verify_tol``) for cells off their target;
4. :meth:`~DeviceModel.drift`: the conductances ``t`` seconds after programming;
5. :meth:`~DeviceModel.at_temperature`: at the tile's operating temperature.

At every MVM a cell's conductance fluctuates by :meth:`~DeviceModel.read_std` (independently
per read), which :func:`~cimspice.devices.tile.add_read_noise` adds at the bit lines.

Models with named float parameters derive from :class:`ParamModel`: their parameters are
dataclass fields documented in the class, built from ``nonideal.model_params`` by
:meth:`ParamModel.from_params` (an unknown name is a :class:`~cimspice.errors.SpecError`
naming ``nonideal.model_params.NAME``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np

from cimspice.errors import SpecError

if TYPE_CHECKING:
    from cimspice.spec import NonidealSpec

__all__ = ["GENERIC_KEYS", "DeviceModel", "ParamModel", "Window", "relative_std"]

GENERIC_KEYS = (
    "levels",
    "prog_noise_rel",
    "prog_noise_abs",
    "read_noise",
    "drift_t0",
    "drift_nu",
    "drift_nu_std",
    "stuck_on",
    "stuck_off",
    "tc_device",
)
"""The ``[nonideal]`` keys that are the generic model's parameters (refused with another)."""


@dataclass(frozen=True)
class Window:
    """The programmable conductance window of the spec's ``[device]`` table (siemens)."""

    g_min: float
    g_max: float


@runtime_checkable
class DeviceModel(Protocol):
    """One device technology: programming, drift, temperature and read noise.

    Attributes:
        name: the registry name (``nonideal.model``).
        window: the conductance window the tile maps weights into.
        noisy: whether :meth:`pulse` is random (write-verify only runs when it is).
        noisy_reads: whether :meth:`read_std` is ever non-zero (per-MVM noise is drawn).
    """

    name: str
    window: Window

    @property
    def noisy(self) -> bool: ...

    @property
    def noisy_reads(self) -> bool: ...

    def snap(self, targets: np.ndarray) -> np.ndarray:
        """Siemens: ``targets`` on the model's level set (or ``targets`` itself)."""
        ...

    def stuck(self, goal: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks of the cells stuck at ``g_max`` and at ``g_min``."""
        ...

    def pulse(self, goal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Siemens: the conductances one programming pulse towards ``goal`` leaves."""
        ...

    def drift(
        self,
        programmed: np.ndarray,
        goal: np.ndarray,
        stuck: np.ndarray,
        t: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Siemens: the conductances ``t`` seconds after programming (``programmed`` itself,
        the same object, when nothing changes)."""
        ...

    def at_temperature(self, g: np.ndarray, temperature: float, reference: float) -> np.ndarray:
        """Siemens: ``g`` (at ``reference`` kelvin) at ``temperature`` kelvin."""
        ...

    def read_std(self, conductances: np.ndarray, t: float) -> np.ndarray | None:
        """Siemens: each cell's std per read at ``t`` seconds after programming (``None``:
        noiseless reads)."""
        ...


@dataclass(frozen=True)
class ParamModel:
    """The base of a model whose parameters are named floats (dataclass fields after
    ``window``), built from ``nonideal.model_params`` by :meth:`from_params`.

    Subclasses set :attr:`name`, give every parameter a default (the preset's fitted value)
    and document it in the class docstring; :meth:`_check` raises :meth:`error` on a bad
    value.
    """

    name: ClassVar[str] = ""
    window: Window

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """The model's parameter names, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "window")

    @classmethod
    def from_spec(cls, nonideal: NonidealSpec, g_min: float, g_max: float) -> Self:
        """The model ``nonideal`` selects: its ``model_params`` over the defaults.

        Raises:
            SpecError: a key of the generic model set (it would be silently ignored), or
                what :meth:`from_params` raises.
        """
        defaults = type(nonideal).defaults()
        for key in GENERIC_KEYS:
            if getattr(nonideal, key) != defaults[key]:
                raise SpecError(
                    f"belongs to the generic device model; nonideal.model = {nonideal.model!r} "
                    f"takes its parameters from nonideal.model_params "
                    f"({', '.join(cls.param_names())})",
                    key=f"nonideal.{key}",
                )
        return cls.from_params(Window(g_min, g_max), dict(nonideal.model_params))

    @classmethod
    def from_params(cls, window: Window, params: Mapping[str, float]) -> Self:
        """The model with ``params`` overriding its defaults.

        Raises:
            SpecError: an unknown parameter or a bad value (``nonideal.model_params.NAME``).
        """
        known = cls.param_names()
        for key in params:
            if key not in known:
                raise SpecError(
                    f"unknown parameter of device model {cls.name!r}; known: {', '.join(known)}",
                    key=f"nonideal.model_params.{key}",
                )
        model = cls(window=window, **{k: float(v) for k, v in params.items()})
        for key in known:
            if not math.isfinite(getattr(model, key)):
                raise model.error(key, f"must be finite, got {getattr(model, key)!r}")
        model._check()
        return model

    def _check(self) -> None:
        """The rules the parameters follow (none by default)."""

    def error(self, key: str, message: str) -> SpecError:
        """A SpecError about parameter ``key``."""
        return SpecError(
            f"{message} (device model {self.name!r})", key=f"nonideal.model_params.{key}"
        )

    def params(self) -> dict[str, Any]:
        """The parameters as plain data (name -> value)."""
        return {k: getattr(self, k) for k in self.param_names()}

    def nonnegative(self, *keys: str) -> None:
        """Raise :meth:`error` for the first of ``keys`` that is negative."""
        for key in keys:
            if getattr(self, key) < 0:
                raise self.error(key, f"must be >= 0, got {getattr(self, key)!r}")

    # defaults shared by the presets: no stuck cells, continuous levels, no temperature law

    def snap(self, targets: np.ndarray) -> np.ndarray:
        """Continuous conductances: the targets themselves."""
        return targets

    def stuck(self, goal: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """No stuck cells (the sources give no stuck probabilities)."""
        none = np.zeros(goal.shape, dtype=bool)
        return none, none

    def at_temperature(self, g: np.ndarray, temperature: float, reference: float) -> np.ndarray:
        """No temperature law beyond the reference temperature: refused elsewhere."""
        if temperature != reference:
            raise SpecError(
                f"device model {self.name!r} has no temperature law; set nonideal.temperature "
                f"equal to nonideal.temperature_ref",
                key="nonideal.temperature",
            )
        return g


def relative_std(conductances: np.ndarray, fraction: float) -> np.ndarray | None:
    """Siemens: ``fraction G`` per cell, the read noise of a relative std (``None`` at 0)."""
    if not fraction:
        return None
    return np.asarray(conductances, dtype=float) * fraction
