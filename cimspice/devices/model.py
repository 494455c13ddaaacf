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

Every :class:`ParamModel` (the presets, and the generic model, whose ``model_params`` take
these keys only) also takes two kinds of variation beyond each cell's own draws (which are
the device-to-device variation the sources measure: programming error, drift exponents, 1/f
noise), all off by default because **none of the cited sources gives figures for them; no
preset sets them**:

- **die-to-die and tile-to-tile spread** (``die_spread``, ``tile_spread``): the parameters a
  model lists in :attr:`ParamModel.VARIED` (its noise and drift scales) are multiplied by
  ``exp(s z)``, ``z ~ N(0, 1)`` drawn independently per parameter, once per die (one die:
  every tile programmed under one ``nonideal.seed``) and once per tile
  (:meth:`ParamModel.varied`, called by :func:`~cimspice.devices.tile.program_tile` with
  their own seeded streams). Per-MVM read noise keeps the nominal parameters.
- **conductance-dependent stuck cells** (``stuck_on_low``, ``stuck_on_high``,
  ``stuck_off_low``, ``stuck_off_high``): the probability that a cell is stuck at ``g_max``
  (on) or ``g_min`` (off), for targets at the window's bottom (low) and top (high), linear in
  the target between.
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

__all__ = ["GENERIC_KEYS", "VARIATION_KEYS", "DeviceModel", "ParamModel", "Window", "relative_std"]

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

VARIATION_KEYS = (
    "die_spread",
    "tile_spread",
    "stuck_on_low",
    "stuck_on_high",
    "stuck_off_low",
    "stuck_off_high",
)
"""The parameters every :class:`ParamModel` has: variation and stuck cells (off by default)."""


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

    Subclasses set :attr:`name` and :attr:`VARIED`, give every parameter a default (the
    preset's fitted value) and document it in the class docstring; :meth:`_check` raises
    :meth:`error` on a bad value.

    Attributes:
        die_spread: log-normal sigma of a per-die factor on each :attr:`VARIED` parameter.
        tile_spread: log-normal sigma of a per-tile factor on each :attr:`VARIED` parameter.
        stuck_on_low, stuck_on_high: probability of a cell stuck at ``g_max`` for a target at
            ``g_min`` and at ``g_max`` (linear between).
        stuck_off_low, stuck_off_high: the same for cells stuck at ``g_min``.
    """

    name: ClassVar[str] = ""
    VARIED: ClassVar[tuple[str, ...]] = ()
    """The parameters die-to-die and tile-to-tile spread scale (the model's noise and drift
    scales)."""
    window: Window
    die_spread: float = 0.0
    tile_spread: float = 0.0
    stuck_on_low: float = 0.0
    stuck_on_high: float = 0.0
    stuck_off_low: float = 0.0
    stuck_off_high: float = 0.0

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
    def from_params(cls, window: Window, params: Mapping[str, float], **context: Any) -> Self:
        """The model with ``params`` overriding its defaults (``context``: further,
        non-float fields of a subclass, passed to the constructor as they are).

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
        model = cls(window=window, **context, **{k: float(v) for k, v in params.items()})
        for key in known:
            if not math.isfinite(getattr(model, key)):
                raise model.error(key, f"must be finite, got {getattr(model, key)!r}")
        model._check_variation()
        model._check()
        return model

    def _check_variation(self) -> None:
        """The variation parameters: spreads >= 0, probabilities in [0, 1] summing to <= 1."""
        self.nonnegative(*VARIATION_KEYS)
        for key in VARIATION_KEYS[2:]:
            if getattr(self, key) > 1:
                raise self.error(key, f"is a probability, <= 1; got {getattr(self, key)!r}")
        for end in ("low", "high"):
            on, off = getattr(self, f"stuck_on_{end}"), getattr(self, f"stuck_off_{end}")
            if on + off > 1:
                raise self.error(f"stuck_off_{end}", f"stuck_on_{end} + stuck_off_{end} > 1")
        if (self.die_spread or self.tile_spread) and not self.VARIED:
            raise self.error("die_spread", "this model has no parameters that vary per die")

    @property
    def varies(self) -> bool:
        """Whether :meth:`varied` draws per-die or per-tile parameters."""
        return bool(self.die_spread or self.tile_spread)

    def varied(self, die: np.random.Generator, tile: np.random.Generator) -> Self:
        """The model of one tile: each :attr:`VARIED` parameter times ``exp(die_spread z_die +
        tile_spread z_tile)`` (``die``: the die's stream, the same for every tile of a die;
        ``tile``: the tile's own)."""
        if not self.varies:
            return self
        n = len(self.VARIED)
        z = self.die_spread * die.standard_normal(n) + self.tile_spread * tile.standard_normal(n)
        return self.scaled(dict(zip(self.VARIED, np.exp(z).tolist(), strict=True)))

    def scaled(self, factors: Mapping[str, float]) -> Self:
        """The model with each parameter named in ``factors`` multiplied by its factor (what
        :meth:`varied` draws; a subclass whose :attr:`VARIED` names groups of parameters
        says how each group scales)."""
        return dataclasses.replace(self, **{k: getattr(self, k) * f for k, f in factors.items()})

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

    # defaults shared by the presets: continuous levels, no temperature law

    def snap(self, targets: np.ndarray) -> np.ndarray:
        """Continuous conductances: the targets themselves."""
        return targets

    @property
    def stuck_varies(self) -> bool:
        """Whether any of the target-dependent stuck probabilities is set."""
        return any(getattr(self, k) for k in VARIATION_KEYS[2:])

    def stuck(self, goal: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Cells stuck at ``g_max`` and at ``g_min`` with the target-dependent probabilities
        (none, and no random draw, when all four are 0: the presets' default, as the sources
        give no stuck probabilities)."""
        if not self.stuck_varies:
            none = np.zeros(goal.shape, dtype=bool)
            return none, none
        lo_on, hi_on = self.stuck_on_low, self.stuck_on_high
        lo_off, hi_off = self.stuck_off_low, self.stuck_off_high
        span = self.window.g_max - self.window.g_min
        w = np.clip((goal - self.window.g_min) / span, 0.0, 1.0) if span > 0 else 0.0 * goal
        p_on = lo_on + (hi_on - lo_on) * w
        p_off = lo_off + (hi_off - lo_off) * w
        draw = rng.random(goal.shape)
        return draw < p_on, (draw >= p_on) & (draw < p_on + p_off)

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
