"""The cost model: energy per MVM and per MAC, extra area and extra latency of a scheme.

What comes from where:

- **Array and readout** (J per MVM): from the engine's power split (``Result.power_drivers``
  and ``Result.power_readout``, ngspice or nodal) held for ``t_read`` seconds per
  cycle (:meth:`cimspice.result.Result.energy_per_mvm`). The drivers' share is everything
  dissipated in the drivers' output resistance, the wires and the cells (called "array" here).
- **ADC** (J per conversion): Walden's figure of merit, ``E = FOM * 2^ENOB``, defined in
  R. H. Walden, "Analog-to-digital converter survey and analysis", IEEE J. Sel. Areas Commun.
  17(4), 539-550, 1999. The default ``FOM = 9.7 fJ/conversion-step`` is a reported 250 MS/s,
  9.45-ENOB SAR ADC (Verbruggen et al.), as listed in B. E. Jonsson's ADC survey
  (converterpassion.wordpress.com, 2012 survey update); CIM tiles use SAR ADCs in this speed
  class. ENOB is taken equal to the ADC's bit count (an optimistic, simple choice).
- **DAC** (J per conversion): a first-order physical model, not a published figure: each
  conversion charges its word line, capacitance ``c_line_per_cell * cols``, from the supply
  to the input level, ``E = C * v_read * v_supply``. The default 0.2 fF per cell pitch is an
  assumption of the usual magnitude for crossbar wires (set ``wire.c_row`` in the spec to use
  the spec's own value instead). The static current a DAC drives into the array is already
  in the SPICE driver power.
- **Digital arithmetic** (J per operation): M. Horowitz, "Computing's energy problem (and what
  we can do about it)", ISSCC 2014, 45 nm at 0.9 V: 8-bit integer add 0.03 pJ, 8-bit
  multiply 0.2 pJ, so one 8-bit digital MAC 0.23 pJ (arithmetic only, no memory access).
- **SRAM compute-in-memory** (J per MAC): Y.-D. Chih et al., "An 89TOPS/W and 16.3TOPS/mm2
  All-Digital SRAM-Based Full-Precision Compute-In Memory Macro in 22nm for Machine-Learning
  Edge Applications", ISSCC 2021: 89 TOPS/W at the precision that paper reports it for; two
  operations per MAC give ``2 / 89e12 = 22.5 fJ`` per MAC. Used as a comparison point.

Area is counted in extra cells and columns (and converters); latency in array cycles (one
cycle = one analogue read of ``t_read`` plus its conversions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimspice.arguments import check_fields
from cimspice.errors import InputError
from cimspice.result import Result
from cimspice.spec import CrossbarSpec

__all__ = ["CostModel", "EnergyBreakdown", "array_energy", "mvm_energy"]


@dataclass(frozen=True)
class CostModel:
    """Energy figures of the converters and digital logic around a tile (see the module).

    Attributes:
        t_read: second, how long the array is held at its operating point per cycle (> 0).
        adc_fom: joule per conversion step, the ADC's Walden figure of merit (> 0).
        adc_bits: the ADC resolution assumed when the spec has no ADC (``readout.adc_bits``).
        c_line_per_cell: farad per cell pitch of a word line, when ``wire.c_row`` is 0.
        v_supply: volt, the DAC's supply.
        digital_add: joule per 8-bit digital addition (Horowitz 2014).
        digital_mult: joule per 8-bit digital multiplication (Horowitz 2014).
        sram_cim_mac: joule per MAC of an SRAM CIM macro (Chih et al. 2021).
    """

    t_read: float = 10e-9
    adc_fom: float = 9.7e-15
    adc_bits: int = 8
    c_line_per_cell: float = 0.2e-15
    v_supply: float = 0.9
    digital_add: float = 0.03e-12
    digital_mult: float = 0.2e-12
    sram_cim_mac: float = 2.0 / 89e12

    def __post_init__(self) -> None:
        check_fields(self, "cost model")
        for key in ("t_read", "adc_fom", "c_line_per_cell", "v_supply"):
            value = getattr(self, key)
            if not (np.isfinite(value) and value > 0):
                raise InputError(f"cost model: {key} must be finite and > 0, got {value!r}")
        for key in ("digital_add", "digital_mult", "sram_cim_mac"):
            value = getattr(self, key)
            if not (np.isfinite(value) and value >= 0):
                raise InputError(f"cost model: {key} must be finite and >= 0 J, got {value!r}")
        if not 1 <= self.adc_bits <= 24:
            raise InputError(f"cost model: adc_bits must be 1 to 24, got {self.adc_bits}")

    @property
    def digital_mac(self) -> float:
        """Joule per 8-bit digital MAC (one multiply and one add)."""
        return self.digital_add + self.digital_mult

    def bits(self, spec: CrossbarSpec) -> int:
        """The ADC resolution of ``spec`` (or the model's default when it has none)."""
        return spec.readout.adc_bits or self.adc_bits

    def adc_energy(self, spec: CrossbarSpec, bits: int | None = None) -> float:
        """Joule per ADC conversion: ``FOM * 2^bits``."""
        return self.adc_fom * 2.0 ** (self.bits(spec) if bits is None else bits)

    def dac_energy(self, spec: CrossbarSpec) -> float:
        """Joule per DAC conversion: the word line charged to ``v_read`` from ``v_supply``."""
        c_cell = spec.wire.c_row if spec.wire.c_row > 0 else self.c_line_per_cell
        return c_cell * spec.cols * spec.driver.v_read * self.v_supply


@dataclass(frozen=True)
class EnergyBreakdown:
    """Joule per MVM (one input vector through the logical matrix), by where it goes.

    Attributes:
        array: drivers, wires and cells (SPICE), summed over every cycle and tile.
        readout: the readout's power (SPICE): a behavioural TIA's output power (its feedback
            resistor), or a CMOS op-amp's supply rails, quiescent power included.
        adc: every ADC conversion of the MVM.
        dac: every DAC conversion of the MVM.
        digital: digital post-processing (partial-sum adds, gains, offsets).
        macs: multiply-accumulates the MVM computes (rows x cols of the logical matrix).
    """

    array: float
    readout: float
    adc: float
    dac: float
    digital: float
    macs: int

    @property
    def total(self) -> float:
        """Joule per MVM, everything."""
        return self.array + self.readout + self.adc + self.dac + self.digital

    @property
    def per_mac(self) -> float:
        """Joule per MAC."""
        return self.total / self.macs

    def __add__(self, other: EnergyBreakdown) -> EnergyBreakdown:
        """Two parts of one MVM (e.g. two tiles, two cycles): energies add, MACs stay."""
        return EnergyBreakdown(
            self.array + other.array,
            self.readout + other.readout,
            self.adc + other.adc,
            self.dac + other.dac,
            self.digital + other.digital,
            max(self.macs, other.macs),
        )


def array_energy(result: Result, cost: CostModel) -> tuple[float, float]:
    """Joule per input vector (batch mean): the array's and the readout's, from SPICE power.

    Raises:
        InputError: the engine did not report the power split.
    """
    try:
        energy = result.energy_per_mvm(cost.t_read)
    except ValueError as err:
        raise InputError(str(err)) from None
    return float(np.mean(energy["drivers"])), float(np.mean(energy["readout"]))


def mvm_energy(
    spec: CrossbarSpec,
    result: Result,
    cost: CostModel,
    *,
    macs: int,
    adc_conversions: int | None = None,
    dac_conversions: int | None = None,
    digital_adds: int = 0,
    digital_mults: int = 0,
    adc_bits: int | None = None,
) -> EnergyBreakdown:
    """Energy of one cycle of ``spec``'s tile for the batch of ``result`` (its mean).

    By default every column is converted once (``cols`` ADC conversions) and every word line
    driven once (``rows`` DAC conversions).
    """
    array, readout = array_energy(result, cost)
    n_adc = spec.cols if adc_conversions is None else adc_conversions
    n_dac = spec.rows if dac_conversions is None else dac_conversions
    return EnergyBreakdown(
        array=array,
        readout=readout,
        adc=n_adc * cost.adc_energy(spec, adc_bits),
        dac=n_dac * cost.dac_energy(spec),
        digital=digital_adds * cost.digital_add + digital_mults * cost.digital_mult,
        macs=macs,
    )
