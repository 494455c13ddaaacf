"""The report every scheme returns: error before/after, and what the fix costs."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cimspice.compensation.cost import CostModel, EnergyBreakdown
from cimspice.metrics import max_error, nrmse

__all__ = ["CompensationReport"]


@dataclass(frozen=True)
class CompensationReport:
    """One scheme on one tile: its error before and after, and its cost.

    Errors are fractions of full scale against the ideal ``V @ G`` of the DAC's levels (see
    :mod:`cimspice.metrics`), measured with ``engine`` on the same held-out inputs, on what
    the digital side sees (:mod:`cimspice.compensation.tile`).

    Attributes:
        scheme: the scheme's name (as on the command line).
        engine: the engine that measured both errors (``"ngspice"`` for the tile-level truth).
        reference: ampere, ``(batch, cols)``: the ideal outputs of the held-out inputs.
        outputs_before: ampere, the tile's outputs as the digital side sees them, without the
            scheme (the targets programmed as they are).
        outputs_after: ampere, the same with the scheme (after its digital correction).
        energy_before: joule per MVM without the scheme.
        energy_after: joule per MVM with it.
        base_cells: cells of the uncompensated tile (rows x cols).
        extra_cells: cells the scheme adds (reference columns, differential pairs).
        extra_columns: bit lines the scheme adds.
        extra_adcs: ADCs the scheme adds (one per extra sensed bit line).
        cycles_before: array cycles per MVM without the scheme.
        cycles_after: array cycles per MVM with it.
        details: scheme-specific figures (JSON-friendly), e.g. the rescaling factor.

    The errors (:attr:`error_before` and the rest) follow from the outputs and the reference.
    """

    scheme: str
    engine: str
    reference: np.ndarray = field(repr=False, compare=False)
    outputs_before: np.ndarray = field(repr=False, compare=False)
    outputs_after: np.ndarray = field(repr=False, compare=False)
    energy_before: EnergyBreakdown
    energy_after: EnergyBreakdown
    base_cells: int
    extra_cells: int = 0
    extra_columns: int = 0
    extra_adcs: int = 0
    cycles_before: int = 1
    cycles_after: int = 1
    details: Mapping[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def error_before(self) -> float:
        """Max |error| / full scale without the scheme."""
        return max_error(self.outputs_before, self.reference)

    @functools.cached_property
    def error_after(self) -> float:
        """Max |error| / full scale with it."""
        return max_error(self.outputs_after, self.reference)

    @functools.cached_property
    def nrmse_before(self) -> float:
        """RMS error / full scale without the scheme."""
        return nrmse(self.outputs_before, self.reference)

    @functools.cached_property
    def nrmse_after(self) -> float:
        """RMS error / full scale with it."""
        return nrmse(self.outputs_after, self.reference)

    @property
    def reduction(self) -> float:
        """``error_before / error_after`` (inf when the error vanished)."""
        return self.error_before / self.error_after if self.error_after > 0 else math.inf

    @property
    def area_overhead(self) -> float:
        """Extra cells as a fraction of the tile's cells."""
        return self.extra_cells / self.base_cells

    @property
    def energy_overhead(self) -> float:
        """Relative change of the energy per MVM (``after / before - 1``)."""
        return self.energy_after.total / self.energy_before.total - 1.0

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-friendly data (no arrays): errors, energies (J per MVM, by part,
        and per MAC), area, latency and details; the row a Pareto table is built from."""

        def energy(e: EnergyBreakdown) -> dict[str, float]:
            parts = {k: getattr(e, k) for k in ("array", "readout", "adc", "dac", "digital")}
            return {**parts, "total": e.total, "per_mac": e.per_mac}

        return {
            "scheme": self.scheme,
            "engine": self.engine,
            "error_before": self.error_before,
            "error_after": self.error_after,
            "nrmse_before": self.nrmse_before,
            "nrmse_after": self.nrmse_after,
            "reduction": self.reduction,
            "energy_before": energy(self.energy_before),
            "energy_after": energy(self.energy_after),
            "macs": self.energy_before.macs,
            "base_cells": self.base_cells,
            "extra_cells": self.extra_cells,
            "extra_columns": self.extra_columns,
            "extra_adcs": self.extra_adcs,
            "area_overhead": self.area_overhead,
            "cycles_before": self.cycles_before,
            "cycles_after": self.cycles_after,
            "details": {k: _plain(v) for k, v in self.details.items()},
        }

    def lines(self, cost: CostModel | None = None) -> list[str]:
        """The report as text lines (for the command line)."""
        cost = cost or CostModel()
        b, a = self.energy_before, self.energy_after
        out = [
            f"scheme {self.scheme}, measured with {self.engine}",
            f"  max error / full scale   before {self.error_before:.3e}   after "
            f"{self.error_after:.3e}   reduction {self.reduction:.3g}x",
            f"  RMS error / full scale   before {self.nrmse_before:.3e}   after "
            f"{self.nrmse_after:.3e}",
            f"  energy per MVM (J)       before {b.total:.3e}   after {a.total:.3e}   "
            f"({100 * self.energy_overhead:+.1f}%)",
            f"  energy per MAC (J)       before {b.per_mac:.3e}   after {a.per_mac:.3e}   "
            f"(digital MAC {cost.digital_mac:.2e}, SRAM CIM {cost.sram_cim_mac:.2e})",
            "  after, by part (J/MVM)   "
            + "   ".join(
                f"{k} {getattr(a, k):.2e}" for k in ("array", "readout", "adc", "dac", "digital")
            ),
            f"  area                     +{self.extra_cells} cells "
            f"({100 * self.area_overhead:.1f}%), +{self.extra_columns} columns, "
            f"+{self.extra_adcs} ADCs",
            f"  latency                  {self.cycles_before} -> {self.cycles_after} "
            "array cycles per MVM",
        ]
        out += [f"  {k}: {_fmt(v)}" for k, v in self.details.items()]
        return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _plain(value: Any) -> Any:
    """A JSON-friendly version of a detail (numpy scalars to Python numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    return value
