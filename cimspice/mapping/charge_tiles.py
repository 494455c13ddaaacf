"""Charge-domain (1C) tiles in the hardware forward pass: the tile kind whose read is not a
matrix.

:class:`~cimspice.mapping.matmul.HardwareMatMul` maps a network onto 1C tiles exactly as
onto memristor tiles (the same slicing, tiling, input encoding, seeds, recombination and
statistics); this module holds the four things that differ, behind :class:`ChargeTiles`:

- **the mapping's rules** (:func:`check_charge_mapping`): a cell holds one bit, so weights
  are bit-sliced (``mapping.weight_bits`` >= 1, ``mapping.slice_bits = 1``) over
  differential column pairs (each output's positive part's bits, then its negative part's);
  device non-idealities other than stuck bits do not apply to a capacitor;
- **programming**: the tiling's target conductances (``g_min`` or ``g_max`` per slice of one
  bit) become the cells' weight bits; tile ``k`` of layer ``l`` gets its own capacitor draw
  (:func:`~cimspice.charge.capacitors.cell_capacitances` keyed ``(l, k)``) and its own noise
  stream (the read-noise stream a memristor tile of that place would use:
  ``nonideal.seed``, layer, tile);
- **the engine**: ``surrogate`` runs the calibrated :class:`~cimspice.charge.surrogate.
  ChargeSurrogate` (or, without one, ideal charge sharing with the drawn capacitors),
  ``ngspice`` every MAC cycle in ngspice, ``charge`` the charge engine with its own options;
- **units**: a tile gives its columns' ADC values (or swings) in volts; the digital side
  turns them into the current units the recombination expects with the *nominal*
  capacitances (it does not know the mismatch): ``to_current = (g_max - g_min) C_T / c_cell``
  with ``C_T = rows c_cell + c_column``, so that a column reads
  ``(g_max - g_min) sum_i w_i x_i`` as a differential memristor column would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from cimspice.charge.capacitors import cell_capacitances
from cimspice.charge.engine import ChargeEngine, ChargeTile, noise_kind
from cimspice.charge.surrogate import ChargeSurrogate
from cimspice.devices.tile import rng_for
from cimspice.engines.base import Engine, ProgrammedTile
from cimspice.errors import InputError, SpecError, SurrogateError
from cimspice.simulation import get_engine
from cimspice.spec import ChargeNoise, CrossbarSpec, MappingScheme, MappingSpec, NonidealSpec

__all__ = ["CHARGE_ENGINES", "ChargeTiles", "charge_tiles", "check_charge_mapping"]

CHARGE_ENGINES = ("surrogate", "ngspice", "charge")
"""The tile engines a network on 1C tiles runs on (see the module)."""
_NOISE_STREAM = 1
"""The key of each tile's noise stream: the read-noise stream's of
:class:`~cimspice.mapping.matmul.HardwareMatMul` (a 1C tile's thermal noise is its read
noise)."""
_DEVICE_KEYS = ("seed", "stuck_on", "stuck_off")
"""The ``[nonideal]`` keys that apply to a 1C tile's bit cells (the seed of its noise and of
stuck bits, and the stuck fractions)."""


def check_charge_mapping(spec: CrossbarSpec) -> None:
    """Refuse what a network on 1C tiles cannot do, naming the key.

    Raises:
        SpecError: ``mapping.weight_bits`` 0 (analogue weights), ``mapping.slice_bits`` other
            than 1 with more than one weight bit, the reference scheme, or a device
            non-ideality a capacitor cell does not have.
    """
    m = spec.mapping

    def error(key: str, text: str) -> SpecError:
        return SpecError(text, file=spec.source, key=key)

    if not m.weight_bits:
        raise error(
            "mapping.weight_bits",
            "a charge-domain (1C) cell holds one weight bit: give the weights' precision "
            "(mapping.weight_bits >= 1; they are bit-sliced, one bit per cell)",
        )
    if m.weight_bits > 1 and m.slice_bits != 1:
        raise error(
            "mapping.slice_bits",
            f"a charge-domain (1C) cell holds one bit: set mapping.slice_bits = 1 (got "
            f"{m.slice_bits}; each of the {m.weight_bits} weight bits takes its own column)",
        )
    if m.scheme != MappingScheme.DIFFERENTIAL:
        raise error(
            "mapping.scheme",
            'charge-domain (1C) tiles take signed weights as column pairs: use "differential" '
            "(a reference column at mid-scale would be half a bit)",
        )
    defaults = NonidealSpec.defaults()
    for key, default in defaults.items():
        if key not in _DEVICE_KEYS and getattr(spec.nonideal, key) != default:
            raise error(
                f"nonideal.{key}",
                "is a memristor device non-ideality; a charge-domain (1C) cell holds an SRAM "
                f"bit (only {', '.join(_DEVICE_KEYS)} apply): leave it at {default!r}",
            )


@dataclass(frozen=True)
class ChargeTiles:
    """How :class:`~cimspice.mapping.matmul.HardwareMatMul` programs and reads 1C tiles.

    Attributes:
        spec: the network's spec (its ``[nonideal]`` seeds the noise streams).
        engine: the charge engine the tiles run on.
        program_spec: the tile each is programmed with (network tables at their defaults).
        to_current: what turns a tile's output (V) into the recombination's current units.
    """

    spec: CrossbarSpec
    engine: ChargeEngine
    program_spec: CrossbarSpec
    to_current: float

    @property
    def quiet(self) -> bool:
        """Whether a tile's output for an all-zero input is the same every time (no thermal
        noise): the forward pass may then skip idle input vectors (they take the zero
        vector's outputs). With noise every vector's columns carry their own draw."""
        return noise_kind(self.program_spec, self.engine.options.noise) == ChargeNoise.OFF

    @property
    def registered(self) -> Engine:
        """The engine as the registry's :class:`~cimspice.engines.base.Engine` (what
        :class:`~cimspice.mapping.matmul.HardwareMatMul` holds)."""
        return cast("Engine", self.engine)

    def program(self, conductances: np.ndarray, layer: int, tile: int) -> ChargeTile:
        """Tile ``tile`` of layer ``layer`` holding the bits the target ``conductances``
        (``g_min`` or ``g_max``, as programmed) stand for.

        Raises:
            InputError: a conductance that is neither (not a bit).
        """
        g_min, g_max = self.spec.device.g_min, self.spec.device.g_max
        bits = np.rint((np.asarray(conductances) - g_min) / (g_max - g_min))
        if not np.all((bits == 0) | (bits == 1)):
            raise InputError("a charge-domain tile's targets must be g_min or g_max (bits)")
        return self.engine.program(
            self.program_spec,
            bits,
            caps=cell_capacitances(self.program_spec, (layer, tile)),
            rng=rng_for(self.spec.nonideal.seed, _NOISE_STREAM, layer, tile),
        )

    def probe(self, tile: ProgrammedTile, voltages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(charge, v_out)`` of ``tile`` for ``voltages`` without noise and without using
        its noise stream (what a spot-check compares ngspice with): the coupled charge
        (C) and the columns' swings (V)."""
        assert isinstance(tile, ChargeTile) and tile.caps is not None
        v_out = tile.noiseless(voltages)
        c_t = tile.caps.sum(axis=0) + self.program_spec.charge.c_column
        return v_out * c_t, v_out


def charge_tiles(
    spec: CrossbarSpec,
    engine: str,
    surrogate: object,
    options: Mapping[str, Any],
) -> ChargeTiles:
    """The :class:`ChargeTiles` of a network on ``spec``'s 1C tiles.

    Args:
        spec: a 1C tile with its network tables.
        engine: ``"surrogate"``, ``"ngspice"`` or ``"charge"`` (see the module).
        surrogate: a calibrated :class:`~cimspice.charge.surrogate.ChargeSurrogate`, or
            ``None`` (ideal charge sharing).
        options: further options of the charge engine (``noise``, ``timeout_s``, ...).

    Raises:
        InputError: another engine, or an unknown option. SurrogateError: a surrogate of
            another tile kind. SpecError: see :func:`check_charge_mapping`.
    """
    check_charge_mapping(spec)
    if engine not in CHARGE_ENGINES:
        raise InputError(
            f"a charge-domain (1C) tile runs on {', '.join(CHARGE_ENGINES)} (its surrogate, "
            f"every MAC cycle in ngspice, or the charge engine's own options), not {engine!r}"
        )
    if surrogate is not None and not isinstance(surrogate, ChargeSurrogate):
        raise SurrogateError(
            "a charge-domain (1C) tile needs a charge surrogate (cimspice.charge.surrogate."
            f"calibrate), got a {type(surrogate).__name__}"
        )
    given = dict(options)
    if engine == "surrogate":
        given.setdefault("surrogate", surrogate or "nominal")
    elif engine == "ngspice":
        if surrogate is not None:
            raise InputError("a surrogate was given but the tile engine is 'ngspice'")
        given["surrogate"] = None
    elif surrogate is not None:
        given.setdefault("surrogate", surrogate)
    charge_engine = get_engine("charge", **given)
    assert isinstance(charge_engine, ChargeEngine)
    program_spec = dataclasses.replace(spec, mapping=MappingSpec(), nonideal=NonidealSpec())
    ch = spec.charge
    c_t = spec.rows * ch.c_cell + ch.c_column
    to_current = (spec.device.g_max - spec.device.g_min) * c_t / ch.c_cell
    return ChargeTiles(spec, charge_engine, program_spec, to_current)
