"""Energy of a network's MVMs, layer by layer, on the compute unit each layer is assigned to.

:class:`MeteredMatMul` is a :data:`~cimspice.nn.model.MatMul` that runs every weighted
layer on its :class:`Unit` and adds up what the layer's MVMs cost, with the figures of
:class:`~cimspice.compensation.cost.CostModel`:

- ``memristor``: the layer's tiles (a :class:`~cimspice.mapping.matmul.HardwareMatMul`).
  Per input phase and tile: the **array** energy ``t_read * sum_i V_i^2 sum_j G_ij`` over
  the tile's word lines and every column of the tile (the cells as read, spare ones
  included: they sit at ``g_min`` between a driven word line and a virtual ground); this is
  the power of the cells alone, which the wires' IR drop lowers by a fraction of the order
  of the tile's IR drop (a first-order figure: the network tiles run on a transfer matrix,
  not a nodal solve, so the drivers' currents are not at hand). One **DAC** conversion per
  used word line and one **ADC** conversion per used column (Walden figure of merit at the
  spec's ADC bits, or the cost model's default without an ADC); **digital**: one add per
  used column (recombining slices, column pairs and partial sums), one multiply per output
  (the phase's weight and the layer's scale), and, when the layer is column-calibrated, one
  add and one multiply per output; with per-column drift compensation, one multiply per used
  column (a global or reference-column gain folds into the per-output multiply). Measuring
  the drift gains is a one-off cost per refresh (:meth:`MeteredMatMul.drift_calibration`);
- ``sram``: an all-digital SRAM compute-in-memory macro, exact (full-precision arithmetic),
  ``cost.sram_cim_mac`` per MAC;
- ``digital``: a digital MAC unit, exact, ``cost.digital_mac`` per MAC.

On charge-domain (1C) tiles the ``memristor`` unit is those tiles (see
:meth:`MeteredMatMul._meter_charge`): **array** is the switching energy of every MAC cycle
the tiles ran, as they report it (ngspice's supply currents, or on a surrogate the closed
form :func:`~cimspice.charge.closed_form.cycle_energy` that ngspice matches to 1e-5); one
**ADC** conversion per used column and cycle, one **DAC** conversion per used line and cycle
with multi-level inputs (bit-serial lines switch between 0 and ``v_read``: their energy is
the array's), one add per conversion and one multiply per output.

The readout is the ideal virtual ground the network reads through (no power of its own).
Counts are per input vector of the layer's matrix (a convolution counts every patch).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from cimspice.compensation.column_calibration import ColumnCalibration
from cimspice.compensation.cost import CostModel, EnergyBreakdown
from cimspice.mapping.encoding import encode_inputs
from cimspice.mapping.matmul import HardwareMatMul
from cimspice.spec import DriftCompensation

__all__ = ["LayerEnergy", "MeteredMatMul", "Unit"]


class Unit(enum.StrEnum):
    """Where a layer's MVMs run."""

    MEMRISTOR = "memristor"
    """Analogue memristor tiles (the spec's), with their errors."""
    SRAM = "sram"
    """An all-digital SRAM CIM macro: exact, ``CostModel.sram_cim_mac`` per MAC."""
    DIGITAL = "digital"
    """A digital MAC unit: exact, ``CostModel.digital_mac`` per MAC."""


@dataclass
class LayerEnergy:
    """Joules a layer's MVMs spent so far, by part, and the MACs they computed."""

    macs: int = 0
    """Multiply-accumulates computed."""
    array: float = 0.0
    """The cells (first order, see the module)."""
    converters: tuple[float, float] = (0.0, 0.0)
    """Every ADC conversion and every DAC conversion."""
    digital: float = 0.0
    """Digital adds and multiplies; the whole MVM on an SRAM CIM or digital unit."""

    def add_converters(self, adc: float, dac: float) -> None:
        """Add ADC and DAC energy (J)."""
        self.converters = (self.converters[0] + adc, self.converters[1] + dac)

    def breakdown(self) -> EnergyBreakdown:
        """The totals as an :class:`EnergyBreakdown` (``macs`` at least 1)."""
        adc, dac = self.converters
        return EnergyBreakdown(self.array, 0.0, adc, dac, self.digital, max(self.macs, 1))


@dataclass
class MeteredMatMul:
    """Runs each weighted layer on its unit and meters the energy (see the module).

    Args:
        hardware: the memristor tiles.
        cost: the energy figures.
        units: per layer index, a unit other than memristor tiles (absent: memristor).
        calibration: per layer index, a per-output gain/offset fitted on reference inputs
            (:func:`cimspice.compensation.column_calibration.fit`), removed digitally from
            the memristor layer's outputs.
    """

    hardware: HardwareMatMul
    cost: CostModel = field(default_factory=CostModel)
    units: Mapping[int, Unit] = field(default_factory=dict)
    calibration: Mapping[int, ColumnCalibration] = field(default_factory=dict)
    layers: dict[int, LayerEnergy] = field(default_factory=dict)
    _tallied: dict[tuple[int, int], tuple[int, float]] = field(default_factory=dict, repr=False)

    def __call__(self, index: int, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``x @ w`` for layer ``index`` on its unit; its energy is added to :attr:`layers`."""
        unit = self.units.get(index, Unit.MEMRISTOR)
        meter = self.layers.setdefault(index, LayerEnergy())
        n, fan_out = x.shape[0], w.shape[1]
        meter.macs += n * x.shape[1] * fan_out
        if unit != Unit.MEMRISTOR:
            per_mac = self.cost.sram_cim_mac if unit == Unit.SRAM else self.cost.digital_mac
            meter.digital += n * x.shape[1] * fan_out * per_mac
            return np.asarray(x, dtype=float) @ w
        y = self.hardware(index, x, w)
        self._meter_tiles(index, np.asarray(x, dtype=float), meter)
        if index in self.calibration:
            y = self.calibration[index].apply(y)
            meter.digital += n * fan_out * (self.cost.digital_add + self.cost.digital_mult)
        return y

    def _meter_tiles(self, index: int, x: np.ndarray, meter: LayerEnergy) -> None:
        hw = self.hardware
        spec = hw.spec
        layer = hw.layers[index]
        if spec.is_charge:
            self._meter_charge(index, x.shape[0], meter)
            return
        x_max = hw.input_ranges.get(index) or float(np.max(np.abs(x), initial=0.0))
        if x_max <= 0:
            return
        phases = encode_inputs(x, x_max, spec)
        n = x.shape[0]
        e_adc = self.cost.adc_energy(spec)
        e_dac = self.cost.dac_energy(spec)
        fan_out = layer.tiling.shape[1]
        for phase in phases:
            squared = phase.voltages * phase.voltages
            for k, (slot, tile) in enumerate(
                zip(layer.tiling.tiles, layer.programmed, strict=True)
            ):
                row_g = tile.conductances[: slot.used_rows].sum(axis=1)
                meter.array += self.cost.t_read * float(np.sum(squared[:, slot.rows] @ row_g))
                meter.add_converters(n * slot.used_cols * e_adc, n * slot.used_rows * e_dac)
                meter.digital += n * slot.used_cols * self.cost.digital_add
                if layer.column_gains and layer.column_gains[k] is not None:
                    meter.digital += n * slot.used_cols * self.cost.digital_mult
            meter.digital += n * fan_out * self.cost.digital_mult

    def _meter_charge(self, index: int, n: int, meter: LayerEnergy) -> None:
        """Layer ``index``'s 1C tiles since the last call: the cycles they ran and their
        switching energy (their own tallies), the conversions (see the module)."""
        from cimspice.charge.engine import ChargeTile
        from cimspice.spec import ChargeAdc, InputMode

        spec = self.hardware.spec
        layer = self.hardware.layers[index]
        if spec.charge.adc == ChargeAdc.SAR:  # the transistor-level SAR's, from ngspice
            from cimspice.charge.sar import energy_per_conversion

            e_adc = energy_per_conversion(spec)
        else:
            e_adc = self.cost.adc_energy(spec, spec.charge.adc_bits or None)
        e_dac = self.cost.dac_energy(spec) if spec.charge.input_mode == InputMode.MULTI_LEVEL else 0
        for k, (slot, tile) in enumerate(zip(layer.tiling.tiles, layer.tiles, strict=True)):
            assert isinstance(tile, ChargeTile)
            cycles, energy = self._tallied.get((index, k), (0, 0.0))
            self._tallied[index, k] = (tile.cycles_run, tile.energy_j)
            cycles, energy = tile.cycles_run - cycles, tile.energy_j - energy
            meter.array += energy
            meter.add_converters(cycles * slot.used_cols * e_adc, cycles * slot.used_rows * e_dac)
            meter.digital += cycles * slot.used_cols * self.cost.digital_add
        meter.digital += n * layer.tiling.shape[1] * self.cost.digital_mult

    def drift_calibration(self, index: int) -> float:
        """Joule, one-off: measuring layer ``index``'s drift compensation gains once (at
        each read time they are refreshed), by ``nonideal.drift_compensation_kind``.

        *global* and *column*: one all-``v_read`` input on every tile (every used word line's
        DAC, every used column's ADC, the cells' ``t_read v_read^2 sum G``) and one divide
        (costed as a multiply) per tile or per used column; *reference*: the reference
        column alone (the used word lines' DACs, one ADC, its cells, taken at the window's
        mean conductance), one divide per tile. 0 without drift compensation.
        """
        hw = self.hardware
        spec = hw.spec
        if not spec.nonideal.drift_compensation:
            return 0.0
        kind = spec.nonideal.drift_compensation_kind
        layer = hw.layers[index]
        v2 = spec.driver.v_read**2
        e_adc, e_dac = self.cost.adc_energy(spec), self.cost.dac_energy(spec)
        mid = 0.5 * (spec.device.g_min + spec.device.g_max)
        total = 0.0
        for slot, tile in zip(layer.tiling.tiles, layer.programmed, strict=True):
            total += slot.used_rows * e_dac
            if kind == DriftCompensation.REFERENCE:
                total += self.cost.t_read * v2 * mid * slot.used_rows + e_adc
                total += self.cost.digital_mult
                continue
            cells = tile.conductances[: slot.used_rows, : slot.used_cols]
            total += self.cost.t_read * v2 * float(cells.sum()) + slot.used_cols * e_adc
            divides = slot.used_cols if kind == DriftCompensation.COLUMN else 1
            total += divides * self.cost.digital_mult
        return total

    def total(self) -> EnergyBreakdown:
        """Every layer's energy added up; ``macs`` is the MACs of all layers."""
        parts = [m.breakdown() for m in self.layers.values()]
        return EnergyBreakdown(
            sum(p.array for p in parts),
            0.0,
            sum(p.adc for p in parts),
            sum(p.dac for p in parts),
            sum(p.digital for p in parts),
            max(sum(m.macs for m in self.layers.values()), 1),
        )
