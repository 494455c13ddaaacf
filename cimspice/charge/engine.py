"""The ``charge`` engine: charge-domain (1C) tiles behind the :class:`Engine` protocol.

``program(spec, bits)`` binds a 1C tile to its weight bits (``(rows, cols)``, 0 or 1: what
a charge tile holds where a resistive one holds conductances); the tile's ``run(voltages)``
takes the DAC's levels (V, ``(batch, rows)``, in ``[0, driver.v_read]``) and runs MAC cycles:

- ``charge.input_mode = "bit-serial"``: one cycle per input bit (``driver.dac_bits``), each
  line at 0 or ``v_read``; the digital side adds the cycles' ADC values weighted by
  ``2^b / (2^B - 1)``;
- ``"multi-level"``: one cycle with the lines at their levels.

Each cycle runs in ngspice (no ``surrogate``: every batch's cycles in one transient deck) or
on a :class:`~cimspice.charge.surrogate.ChargeSurrogate`. The result's ``v_out`` is each
column's swing above ``v_reset`` recombined over the cycles (V, what a multi-level cycle
would give), ``digital`` the ADC's recombined values and ``codes`` the last cycle's codes;
``currents`` holds the column's coupled charge ``v_out * C_T`` (coulomb: a charge tile has
no output current). ``info["energy_per_cycle"]`` is the mean switching energy per MAC cycle
(J): from the supply currents in ngspice, from the closed form on the surrogate.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cimspice.charge.capacitors import cell_capacitances
from cimspice.charge.closed_form import column_capacitance, cycle_energy
from cimspice.charge.deck import check_bits
from cimspice.charge.surrogate import ChargeSurrogate, nominal
from cimspice.converters import charge_adc
from cimspice.engines.base import EngineBase, check_spec
from cimspice.errors import InputError
from cimspice.result import Result
from cimspice.spec import ChargeNoise, CrossbarSpec, InputMode

__all__ = ["ChargeEngine", "ChargeOptions", "ChargeTile", "input_planes", "noise_kind"]


@dataclass(frozen=True)
class ChargeOptions:
    """Options of the ``charge`` engine.

    Attributes:
        surrogate: a calibrated :class:`ChargeSurrogate`, ``"nominal"`` (ideal charge
            sharing with the tile's capacitors), or ``None``: every cycle in ngspice.
        noise: the switches' thermal noise: ``None``, as the spec's ``charge.noise`` says;
            ``False``, none; ``True``, the spec's kind or, where it says ``"off"``, the reset
            switches' (``"ktc"``). On a surrogate it is the analytical term, in ngspice the
            switches' thermal noise (``trnoise``; ideal switches and phases of >= 10 time
            constants only, see :class:`~cimspice.charge.deck.NoiseOptions`).
        seed: the noise stream's seed (ngspice: each run's noise seed is ``seed + 1`` plus
            the number of earlier runs of the tile).
        timeout_s: seconds an ngspice run may take.
    """

    surrogate: ChargeSurrogate | str | None = None
    noise: bool | None = None
    seed: int = 0
    timeout_s: float = 600.0

    def __post_init__(self) -> None:
        if self.noise is not None and not isinstance(self.noise, bool):
            raise InputError(f"noise must be True, False or None, got {self.noise!r}")
        if not (isinstance(self.seed, int) and 0 <= self.seed < 2**31 - 2**20):
            raise InputError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not (
            self.surrogate is None
            or self.surrogate == "nominal"
            or isinstance(self.surrogate, ChargeSurrogate)
        ):
            raise InputError(
                f'surrogate must be a ChargeSurrogate, "nominal" or None, got {self.surrogate!r}'
            )


def noise_kind(spec: CrossbarSpec, option: bool | None) -> ChargeNoise:
    """The noise a tile of ``spec`` runs with, given the engine's ``noise`` option (see
    :class:`ChargeOptions`)."""
    own = spec.charge.noise
    if option is None:
        return own
    if not option:
        return ChargeNoise.OFF
    return own if own != ChargeNoise.OFF else ChargeNoise.KTC


def input_planes(spec: CrossbarSpec, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The MAC cycles of ``levels`` (V, ``(batch, rows)``): line levels ``(planes, batch,
    rows)`` and each plane's digital weight ``(planes,)`` (their weighted sum is the
    levels)."""
    top = spec.driver.v_read
    if spec.charge.input_mode == InputMode.MULTI_LEVEL:
        return levels[None], np.ones(1)
    n_bits = spec.driver.dac_bits
    scale = 2**n_bits - 1
    index = np.rint(np.clip(levels, 0, top) / top * scale).astype(np.int64)
    planes = np.stack([((index >> b) & 1) * top for b in range(n_bits)]).astype(float)
    return planes, 2.0 ** np.arange(n_bits) / scale


@dataclass
class ChargeTile:
    """A 1C tile bound to its weight bits (see the module).

    Attributes:
        spec: the tile.
        bits: its weight bits.
        options: the engine's options.
        prepare_s: seconds programming took.
        caps: farad, ``(rows, cols)``: its capacitors (default: the spec's own draw).
        rng: its noise stream (default: from ``options.seed``).
        cycles_run: MAC cycles run so far (every input bit of every vector).
        energy_j: joule, the switching energy of those cycles (ngspice's supply currents,
            or the closed form on a surrogate).
    """

    spec: CrossbarSpec = dataclasses.field(repr=False)
    bits: np.ndarray = dataclasses.field(repr=False)
    options: ChargeOptions
    prepare_s: float = 0.0
    caps: np.ndarray | None = dataclasses.field(default=None, repr=False)
    rng: np.random.Generator | None = dataclasses.field(default=None, repr=False)
    cycles_run: int = 0
    energy_j: float = 0.0
    _runs: int = dataclasses.field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.caps is None:
            self.caps = cell_capacitances(self.spec)
        if self.rng is None:
            self.rng = np.random.default_rng(self.options.seed)
        self._noise_seed = self.options.seed + 1

    @property
    def conductances(self) -> np.ndarray:
        """The weight bits (a charge tile's programmed state), ``(rows, cols)``."""
        return self.bits

    @property
    def transfer(self) -> None:
        """``None``: a charge tile's outputs are voltages, not ``V @ T`` currents."""
        return None

    def _model(self) -> ChargeSurrogate | None:
        s = self.options.surrogate
        if s is None:
            return None
        model = nominal(self.spec) if s == "nominal" else s
        assert isinstance(model, ChargeSurrogate)
        model.check(self.spec)
        return model

    def cycles(self, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each column's swing (V, ``(cycles, cols)``) and each cycle's energy (J) for line
        levels ``lines`` ``(cycles, rows)``."""
        model = self._model()
        c_par = self.spec.charge.c_column
        kind = noise_kind(self.spec, self.options.noise)
        assert self.caps is not None and self.rng is not None  # set on construction
        if model is None:
            from cimspice.charge.deck import NoiseOptions
            from cimspice.charge.run import run_cycles

            noise = None
            if kind != ChargeNoise.OFF:
                seed = (self._noise_seed + self._runs) % (2**31 - 1) or 1
                noise = NoiseOptions(seed=seed, switches=kind == ChargeNoise.THERMAL)
            self._runs += 1
            run = run_cycles(
                self.spec,
                self.bits,
                lines,
                caps=self.caps,
                noise=noise,
                timeout_s=self.options.timeout_s,
            )
            return run.v_col - self.spec.charge.v_reset, run.energy
        rng = self.rng if kind != ChargeNoise.OFF else None
        swing = model.swing(self.spec, self.bits, lines, caps=self.caps, rng=rng, noise=kind)
        return swing, cycle_energy(self.caps, self.bits, lines, c_par)

    def noiseless(self, voltages: np.ndarray) -> np.ndarray:
        """Volt, ``(batch, cols)``: the columns' swings for line levels ``voltages``
        recombined over the input bits (``v_out`` of :meth:`run`), from the tile's surrogate
        without noise and without counting the cycles (a probe of what it computes).

        Raises:
            InputError: the tile runs every cycle in ngspice (it has no surrogate).
        """
        model = self._model()
        if model is None:
            raise InputError("this charge tile runs in ngspice: it has no surrogate to probe")
        v = np.atleast_2d(np.asarray(voltages, dtype=float))
        planes, weights = input_planes(self.spec, v)
        n_p, batch, rows = planes.shape
        swing = model.swing(self.spec, self.bits, planes.reshape(n_p * batch, rows), caps=self.caps)
        return np.tensordot(weights, swing.reshape(n_p, batch, -1), axes=1)

    def reseed(self, rng: np.random.Generator) -> None:
        """Draw this tile's noise from ``rng`` (a network gives each tile its own stream);
        the ngspice backend's noise seeds are drawn from it too."""
        self.rng = rng
        self._noise_seed = int(rng.integers(1, 2**30))

    def read(self, voltages: np.ndarray, cols: int | None = None) -> np.ndarray:
        """``(batch, cols)``: what the digital side receives for line levels ``voltages``
        (every line, ``(batch, rows)``): the ADC's values (V) recombined over the input bits
        or, without an ADC (``charge.adc_bits = 0``), the columns' swings (see :meth:`run`),
        of the first ``cols`` columns (default: all)."""
        result = self.run(voltages)
        out = result.digital if result.digital is not None else result.v_out
        assert out is not None
        return out if cols is None else out[:, :cols]

    def run(self, voltages: np.ndarray, *, node_voltages: bool = False) -> Result:
        """See the module (``node_voltages`` is refused: a charge tile has no DC nodes)."""
        if node_voltages:
            raise InputError("a charge-domain tile has no node voltages to report")
        start = time.perf_counter()
        v = np.atleast_2d(np.asarray(voltages, dtype=float))
        planes, weights = input_planes(self.spec, v)
        n_p, batch, rows = planes.shape
        swing, energy = self.cycles(planes.reshape(n_p * batch, rows))
        self.cycles_run += n_p * batch
        self.energy_j += float(np.sum(energy))
        swing = swing.reshape(n_p, batch, -1)
        codes, values = charge_adc(self.spec, swing)
        v_out = np.tensordot(weights, swing, axes=1)
        digital = np.tensordot(weights, values, axes=1)
        assert self.caps is not None
        c_t = column_capacitance(self.caps, self.spec.charge.c_column)
        info: dict[str, Any] = {
            "energy_per_cycle": float(np.mean(energy)),
            "cycles": int(n_p * batch),
            "backend": "ngspice" if self.options.surrogate is None else "surrogate",
        }
        return Result(
            engine="charge",
            currents=v_out * c_t,
            v_out=v_out,
            codes=codes[-1] if self.spec.charge.adc_bits else None,
            digital=digital if self.spec.charge.adc_bits else None,
            elapsed_s=time.perf_counter() - start,
            info=info,
        )


class ChargeEngine(EngineBase):
    """The ``charge`` engine (see the module)."""

    name: ClassVar[str] = "charge"
    Options: ClassVar[type] = ChargeOptions
    charge_domain: ClassVar[bool] = True

    def program(
        self,
        spec: CrossbarSpec,
        conductances: np.ndarray,
        *,
        caps: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> ChargeTile:
        """Bind ``spec``'s 1C tile to weight bits ``conductances`` (0 or 1, ``(rows,
        cols)``), with capacitors ``caps`` (F, default: the spec's draw) and noise stream
        ``rng`` (default: from the ``seed`` option).

        Raises:
            InputError: a tile that is not 1C, or bits that are not 0 or 1.
        """
        start = time.perf_counter()
        spec = check_spec(spec)
        if not spec.is_charge:
            raise InputError(
                'the charge engine runs charge-domain tiles (array.cell = "1C"), got '
                f"{spec.array.cell.value!r}"
            )
        bits = check_bits(conductances, spec.rows, spec.cols)
        if caps is not None:
            caps = np.asarray(caps, dtype=float)
            if caps.shape != bits.shape or not np.all(np.isfinite(caps)) or caps.min() <= 0:
                raise InputError(f"capacitors must be finite and > 0, shape {bits.shape}")
        tile = ChargeTile(spec, bits, self.options, caps=caps)
        if rng is not None:
            tile.reseed(rng)
        tile.prepare_s = time.perf_counter() - start
        return tile
