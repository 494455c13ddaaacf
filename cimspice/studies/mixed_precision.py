"""Mixed precision: each layer on memristor CIM, SRAM CIM or a digital unit, chosen by its
error sensitivity under an energy budget.

In the manner of hybrid memristor/SRAM compute-in-memory processors (a 2025 design that keeps
the error-sensitive part of a network on exact SRAM CIM and the rest
on dense analogue memristor arrays); no figure of that design is used here, only the idea.
The energies are those of :mod:`cimspice.studies.energy`.

1. **Sensitivity** (:func:`sensitivities`): for each weighted layer, the network's accuracy
   drop when only that layer runs on memristor tiles (every other layer exact), and what the
   layer costs per inference on each unit (memristor: metered on that run; SRAM CIM and
   digital: its MACs times ``CostModel.sram_cim_mac`` / ``digital_mac``).
2. **Assignment** (:func:`assign`), greedy: start with every layer on memristor tiles; take
   the layers in decreasing sensitivity (ties: the cheaper to move first) and move each to
   the exact unit it fits (SRAM CIM while its weights fit the SRAM's capacity, else digital)
   when the network's predicted energy per MAC stays within the budget or falls. The drops
   of single layers are taken as additive (a first-order model of the interactions).
3. The assignment is then evaluated as a :class:`~cimspice.studies.schemes.NetworkCase`
   (:func:`mixed_case`): its measured accuracy and energy.

With an unlimited budget every layer leaves the memristor tiles, so the network is exact:
the all-digital accuracy. Weight-bit splitting (high bit-slices on SRAM) is not modelled.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cimspice.arguments import check_fields
from cimspice.compensation.cost import CostModel
from cimspice.errors import InputError
from cimspice.mapping.matmul import TileTransform
from cimspice.nn.model import Model
from cimspice.studies.energy import Unit
from cimspice.studies.schemes import NetworkCase, run_case

__all__ = [
    "Assignment",
    "LayerSensitivity",
    "MixedPrecisionParams",
    "assign",
    "mixed_case",
    "sensitivities",
]


@dataclass(frozen=True)
class MixedPrecisionParams:
    """The constraints of the assignment.

    Attributes:
        budget: joule per MAC of the whole network (> 0; ``math.inf``: unlimited).
        sram_weights: weights the SRAM CIM macros hold (``None``: unlimited; 0: no SRAM CIM,
            exact layers go to digital units).
    """

    budget: float = math.inf
    sram_weights: int | None = None

    def __post_init__(self) -> None:
        check_fields(self, "mixed precision")
        if not self.budget > 0:
            raise InputError(f"mixed precision: budget must be > 0 J/MAC, got {self.budget!r}")
        if self.sram_weights is not None and self.sram_weights < 0:
            raise InputError(f"mixed precision: sram_weights must be >= 0, got {self.sram_weights}")


@dataclass(frozen=True)
class LayerSensitivity:
    """How much one layer's memristor tiles cost the network, in accuracy and energy.

    Attributes:
        layer: the weighted layer's index.
        accuracy_drop: exact accuracy minus the accuracy with only this layer on memristor
            tiles (fraction; may be <= 0 within sampling noise).
        energy: joule per inference of the layer on each unit.
        macs: MACs per inference of the layer.
        weights: the layer's weights (``fan_in * fan_out``), what SRAM CIM must hold.
    """

    layer: int
    accuracy_drop: float
    energy: dict[Unit, float]
    macs: int
    weights: int


@dataclass(frozen=True)
class Assignment:
    """A unit for every weighted layer.

    Attributes:
        units: per weighted layer, its unit.
        energy_per_mac: joule per MAC the sensitivities predict for it.
        budget: the budget it was chosen under (J/MAC).
        sensitivities: what it was chosen from.
    """

    units: dict[int, Unit]
    energy_per_mac: float
    budget: float
    sensitivities: dict[int, LayerSensitivity] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly data (an unlimited budget as ``None``)."""
        return {
            "units": {str(k): str(v) for k, v in self.units.items()},
            "predicted_energy_per_mac": self.energy_per_mac,
            "budget": None if math.isinf(self.budget) else self.budget,
            "sensitivities": {
                str(k): {
                    "accuracy_drop": s.accuracy_drop,
                    "energy_per_inference": {str(u): e for u, e in s.energy.items()},
                    "macs": s.macs,
                }
                for k, s in self.sensitivities.items()
            },
        }


def sensitivities(
    base: NetworkCase,
    model: Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    calibration: np.ndarray,
    cost: CostModel | None = None,
    engine: str = "surrogate",
    predistorter: TileTransform | None = None,
) -> dict[int, LayerSensitivity]:
    """Every weighted layer's sensitivity on ``base``'s tiles (see the module).

    The exact layers of each run are put on SRAM CIM (exact; their energy is not used).
    """
    cost = cost or CostModel()
    layers = model.weighted_layers()
    out = {}
    for layer in layers:
        others = {i: Unit.SRAM for i in layers if i != layer}
        case = dataclasses.replace(base, label=f"only layer {layer} on memristor", units=others)
        result = run_case(
            case,
            model,
            x,
            y,
            calibration=calibration,
            cost=cost,
            engine=engine,
            predistorter=predistorter,
        )
        macs = result.layer_macs[layer]
        out[layer] = LayerSensitivity(
            layer,
            result.accuracy_ideal - result.accuracy,
            {
                Unit.MEMRISTOR: result.layer_energy[layer],
                Unit.SRAM: macs * cost.sram_cim_mac,
                Unit.DIGITAL: macs * cost.digital_mac,
            },
            macs,
            int(model.matrix(layer).size),
        )
    return out


def assign(
    sens: dict[int, LayerSensitivity], params: MixedPrecisionParams | None = None
) -> Assignment:
    """The greedy assignment of the module under ``params``.

    Raises:
        InputError: no layers, or even the cheapest assignment the greedy search reaches is
            above the budget (the message gives that energy).
    """
    params = params or MixedPrecisionParams()
    if not sens:
        raise InputError("mixed precision: the model has no weighted layers")
    total_macs = sum(s.macs for s in sens.values())
    units = {k: Unit.MEMRISTOR for k in sens}

    def per_mac(choice: dict[int, Unit]) -> float:
        return sum(sens[k].energy[u] for k, u in choice.items()) / total_macs

    sram_left = math.inf if params.sram_weights is None else params.sram_weights
    order = sorted(
        sens.values(),
        key=lambda s: (-s.accuracy_drop, s.energy[Unit.SRAM] - s.energy[Unit.MEMRISTOR]),
    )
    for s in order:
        unit = Unit.SRAM if s.weights <= sram_left else Unit.DIGITAL
        trial = {**units, s.layer: unit}
        if per_mac(trial) <= params.budget or per_mac(trial) < per_mac(units):
            units = trial
            if unit == Unit.SRAM:
                sram_left -= s.weights
    energy = per_mac(units)
    if energy > params.budget:
        raise InputError(
            f"mixed precision: the budget {params.budget:.3e} J/MAC is below the cheapest "
            f"assignment found, {energy:.3e} J/MAC"
        )
    return Assignment(units, energy, params.budget, sens)


def mixed_case(base: NetworkCase, assignment: Assignment, label: str | None = None) -> NetworkCase:
    """``base`` with the layers ``assignment`` moves off the memristor tiles."""
    return dataclasses.replace(
        base,
        label=label or f"{base.label} + mixed precision",
        schemes=(*base.schemes, "mixed-precision"),
        units={k: u for k, u in assignment.units.items() if u != Unit.MEMRISTOR},
    )
