"""Networks on charge-domain (1C) tiles: multi-bit weights sliced across columns, the
charge engine per tile, and the energy of every MAC cycle and conversion.

:class:`ChargeMatMul` is a :data:`~cimspice.nn.model.MatMul`. On a layer's first call it
quantises the weight matrix to ``mapping.weight_bits`` (sign and magnitude, scaled by the
largest ``|w|``) and slices it: each output gets ``2 (B - 1)`` columns, one per magnitude
bit of its positive part and of its negative part, each cell holding one bit. The sliced
matrix is tiled over ``rows x cols`` tiles, each programmed on the ``charge`` engine
(:mod:`cimspice.charge.engine`) with its own capacitor draw. Per batch:

1. inputs scaled by the layer's range to ``[0, driver.v_read]`` (negative inputs in a
   second pass) and put through the DAC (bit-serial cycles or one multi-level cycle);
2. each tile's column swings, from the calibrated surrogate (or ngspice) with kT/C noise,
   then the column ADC (``charge.adc_bits``);
3. the digital side turns each swing into its count with the nominal capacitances
   (``swing * C_T / (c_cell * v_read)``: it does not know the mismatch), adds the bit
   columns weighted by 2^b, positive minus negative, and the tiles' partial sums.

Energy per layer (:class:`~cimspice.compensation.cost.EnergyBreakdown`): ``array`` is the
switching energy of every MAC cycle (the closed form of
:func:`~cimspice.charge.closed_form.cycle_energy`, which ngspice's supply currents match to
1e-5: ``tests/test_charge_circuit.py``), ``adc`` one conversion per used column and cycle at
the cost model's Walden figure, ``digital`` one add per conversion; a multi-level input adds
one DAC conversion per used line and cycle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cimspice.charge.capacitors import cell_capacitances
from cimspice.charge.engine import ChargeEngine, ChargeTile
from cimspice.compensation.cost import CostModel, EnergyBreakdown
from cimspice.engines.base import run_tile
from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec, InputMode

if TYPE_CHECKING:
    from cimspice.nn.model import Model
    from cimspice.studies.schemes import SchemeOutcome

__all__ = ["ChargeLayer", "ChargeMatMul", "run_charge_case", "slice_weights"]


def slice_weights(weights: np.ndarray, bits: int) -> tuple[np.ndarray, float, int]:
    """``weights`` ``(fan_in, fan_out)`` as bit columns: ``(fan_in, fan_out * 2 (bits - 1))``
    of 0/1 (per output: its positive part's magnitude bits, LSB first, then its negative
    part's), the scale ``max |w|`` and the top magnitude ``2^(bits-1) - 1``."""
    if bits < 2:
        raise InputError(
            f"charge tiles need mapping.weight_bits >= 2 (sign + magnitude), got {bits}"
        )
    top = 2 ** (bits - 1) - 1
    scale = float(np.abs(weights).max()) or 1.0
    q = np.rint(weights / scale * top).astype(np.int64)
    m = bits - 1
    planes = []
    for part in (np.maximum(q, 0), np.maximum(-q, 0)):
        planes.append(np.stack([(part >> b) & 1 for b in range(m)], axis=-1))
    sliced = np.stack(planes, axis=-2)  # (fan_in, fan_out, 2, m)
    return sliced.reshape(weights.shape[0], -1).astype(float), scale, top


def _add(a: EnergyBreakdown, b: EnergyBreakdown) -> EnergyBreakdown:
    """Two batches' (or layers') energies: everything adds, MACs too."""
    return dataclasses.replace(a + b, macs=a.macs + b.macs)


@dataclass
class ChargeLayer:
    """One weighted layer's tiles: ``tiles[(r, c)]`` holds rows ``r*rows...`` and sliced
    columns ``c*cols...``."""

    fan_in: int
    fan_out: int
    scale: float
    top: int
    tiles: dict[tuple[int, int], ChargeTile]
    used_cols: dict[tuple[int, int], int]
    used_rows: dict[tuple[int, int], int]


@dataclass
class ChargeMatMul:
    """``x @ w`` on charge tiles (see the module).

    Args:
        spec: the 1C tile, its converters and ``mapping.weight_bits``.
        input_ranges: per layer, the largest ``|x|`` expected (absent: each batch's own).
        engine: the charge engine (its surrogate, noise and seed).
        cost: the ADC, DAC and digital energy figures.
    """

    spec: CrossbarSpec
    input_ranges: Mapping[int, float] = field(default_factory=dict)
    engine: ChargeEngine = field(default_factory=lambda: ChargeEngine(surrogate="nominal"))
    cost: CostModel = field(default_factory=CostModel)
    layers: dict[int, ChargeLayer] = field(default_factory=dict)
    energy: dict[int, EnergyBreakdown] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.spec.is_charge:
            raise InputError('ChargeMatMul needs a charge-domain tile (array.cell = "1C")')

    def program(self, index: int, weights: np.ndarray) -> ChargeLayer:
        """Slice and tile layer ``index``'s ``weights`` and program every tile."""
        spec = self.spec
        sliced, scale, top = slice_weights(np.asarray(weights, float), spec.mapping.weight_bits)
        fan_in, fan_out = weights.shape
        tiles, used_cols, used_rows = {}, {}, {}
        count = 0
        for r0 in range(0, fan_in, spec.rows):
            for c0 in range(0, sliced.shape[1], spec.cols):
                block = np.zeros((spec.rows, spec.cols))
                part = sliced[r0 : r0 + spec.rows, c0 : c0 + spec.cols]
                block[: part.shape[0], : part.shape[1]] = part
                tile = self.engine.program(spec, block)
                tile.caps = cell_capacitances(spec, count)
                key = (r0 // spec.rows, c0 // spec.cols)
                tiles[key], used_cols[key], used_rows[key] = tile, part.shape[1], part.shape[0]
                count += 1
        layer = ChargeLayer(fan_in, fan_out, scale, top, tiles, used_cols, used_rows)
        self.layers[index] = layer
        return layer

    def __call__(self, index: int, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``x @ w`` for layer ``index`` on its tiles; the energy is added to :attr:`energy`."""
        layer = self.layers.get(index) or self.program(index, w)
        x2 = np.asarray(x, dtype=float).reshape(-1, layer.fan_in)
        rng = self.input_ranges.get(index) or float(np.abs(x2).max()) or 1.0
        out = np.zeros((len(x2), layer.fan_out))
        macs = EnergyBreakdown(0.0, 0.0, 0.0, 0.0, 0.0, len(x2) * layer.fan_in * layer.fan_out)
        self.energy[index] = _add(self.energy[index], macs) if index in self.energy else macs
        for sign, part in ((1.0, np.maximum(x2, 0)), (-1.0, np.maximum(-x2, 0))):
            if not part.any():
                continue
            counts = self._counts(index, layer, np.clip(part / rng, 0, 1))
            # counts: (batch, fan_out, 2, m) of sum_i bit * x_i / v_read
            m = counts.shape[-1]
            mags = counts @ (2.0 ** np.arange(m))
            out += sign * (mags[..., 0] - mags[..., 1]) * (layer.scale / layer.top) * rng
        return out.reshape(*np.shape(x)[:-1], layer.fan_out)

    def _counts(self, index: int, layer: ChargeLayer, frac: np.ndarray) -> np.ndarray:
        spec, ch = self.spec, self.spec.charge
        n_cols = layer.fan_out * 2 * (spec.mapping.weight_bits - 1)
        total = np.zeros((len(frac), n_cols))
        c_t = spec.rows * ch.c_cell + ch.c_par
        to_count = c_t / (ch.c_cell * spec.driver.v_read)
        e = EnergyBreakdown(0.0, 0.0, 0.0, 0.0, 0.0, 0)
        bits = ch.adc_bits or self.cost.adc_bits
        for (r, c), tile in layer.tiles.items():
            rows = layer.used_rows[r, c]
            levels = np.zeros((len(frac), spec.rows))
            levels[:, :rows] = frac[:, r * spec.rows : r * spec.rows + rows] * spec.driver.v_read
            res = run_tile(spec, tile, levels)
            swing = res.digital if res.digital is not None else res.v_out
            assert swing is not None
            used = layer.used_cols[r, c]
            total[:, c * spec.cols : c * spec.cols + used] += swing[:, :used] * to_count
            cycles = int(res.info["cycles"])
            conversions = cycles * used
            dac = cycles * rows if ch.input_mode == InputMode.MULTI_LEVEL else 0
            e = e + EnergyBreakdown(
                array=float(res.info["energy_per_cycle"]) * cycles,
                readout=0.0,
                adc=conversions * self.cost.adc_fom * 2.0**bits,
                dac=dac * self.cost.dac_energy(spec),
                digital=conversions * self.cost.digital_add,
                macs=0,
            )
        self.energy[index] = _add(self.energy[index], e)
        return total.reshape(len(frac), layer.fan_out, 2, -1)

    def energy_total(self) -> EnergyBreakdown:
        """Every layer's energy so far, added (MACs summed)."""
        parts = list(self.energy.values())
        if not parts:
            raise InputError("no layer has run yet")
        out = parts[0]
        for p in parts[1:]:
            out = _add(out, p)
        return out

    def summary(self) -> dict[str, Any]:
        """Energy per MAC by part (JSON-friendly)."""
        t = self.energy_total()
        return {
            "macs": t.macs,
            "energy_per_mac": t.per_mac,
            "array_per_mac": t.array / t.macs,
            "adc_per_mac": t.adc / t.macs,
            "dac_per_mac": t.dac / t.macs,
            "digital_per_mac": t.digital / t.macs,
        }


def run_charge_case(
    label: str,
    spec: CrossbarSpec,
    model: Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    calibration: np.ndarray,
    engine: ChargeEngine | None = None,
    cost: CostModel | None = None,
    batch_size: int = 1000,
) -> SchemeOutcome:
    """Evaluate ``model`` on charge tiles of ``spec``, as
    :func:`~cimspice.studies.schemes.run_case` evaluates it on memristor tiles (the same
    result type, so both sit in one table and on one Pareto plot).

    Args:
        label: the case's name.
        spec: the 1C tile, converters and ``mapping.weight_bits``.
        model: the network.
        x: samples.
        y: their labels.
        calibration: samples whose exact activations set each layer's input range.
        engine: the charge engine (default: the nominal model with kT/C noise, seed 0).
        cost: the energy figures.
        batch_size: samples per forward batch.

    Raises:
        InputError: no samples, or not as many labels as samples.
    """
    from cimspice.nn.model import measure_input_ranges
    from cimspice.studies.schemes import SchemeOutcome

    y = np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise InputError(f"got {len(x)} samples and {len(y)} labels (need as many, >= 1)")
    mm = ChargeMatMul(
        spec,
        input_ranges=measure_input_ranges(model, calibration),
        engine=engine or ChargeEngine(surrogate="nominal", noise=True, seed=0),
        cost=cost or CostModel(),
    )
    hw, ideal = [], []
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        ideal.append(model.predict(batch))
        hw.append(model.predict(batch, mm))
    total = mm.energy_total()
    per = len(x)
    energy = EnergyBreakdown(
        total.array / per,
        0.0,
        total.adc / per,
        total.dac / per,
        total.digital / per,
        total.macs // per,
    )
    layers = sorted(mm.energy)
    return SchemeOutcome(
        label=label,
        schemes=(),
        accuracy=float(np.mean(np.concatenate(hw) == y)),
        accuracy_ideal=float(np.mean(np.concatenate(ideal) == y)),
        energy=energy,
        pulses=0.0,
        units={i: "charge" for i in layers},
        layer_energy={i: mm.energy[i].total / per for i in layers},
        layer_macs={i: mm.energy[i].macs // per for i in layers},
    )
