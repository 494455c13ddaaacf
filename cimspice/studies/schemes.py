"""The compensation schemes at network level: a network's hardware accuracy and energy per MAC
with and without each scheme, on the surrogate (or nominal) tile model.

A :class:`NetworkCase` is one configuration of the hardware; :func:`run_case` evaluates a
model on it and returns a :class:`SchemeOutcome` (accuracy, energy per MAC, write-verify pulses).
How each tile-level scheme carries over to a network is the scheme's own
:meth:`~cimspice.compensation.scheme.Scheme.network_form` (:func:`scheme_case` applies it;
:func:`scheme_cases` builds every case from a base spec):

============================ ==============================================================
``ir-predistort``            every programmed tile's targets pre-distorted
                             (:func:`cimspice.compensation.ir_predistort.predistort`,
                             through :class:`~cimspice.mapping.matmul.HardwareMatMul`'s
                             ``tile_transform``), with a headroom factor ``alpha`` per tile
                             and the digital gain ``1 / alpha``
``column-calibration``       per layer output, a gain and offset fitted on the hardware's
                             outputs for reference inputs (the exact network's activations of
                             calibration samples) and removed digitally
``reference-column``         the mapping scheme (``mapping.scheme``): ``dummy`` is one column
                             per weight and a shared reference column (``"reference"``),
                             ``differential`` a column pair per weight
``partitioning``             smaller tiles (``array.rows``, ``array.cols``)
``input-scaling``            ``scale``: ``driver.v_read`` and the ADC's full scale scaled by
                             ``s``; ``bit-serial``: ``mapping.input_bits``, inputs applied one
                             bit plane per cycle
``write-verify``             the nonideal write-verify tolerance (``nonideal.verify_tol``,
                             the tile-level tolerance times the window)
``hardware-aware``           the built-in model trained with weight noise
                             (:mod:`cimspice.nn.training`), same tiles
``mixed-precision``          some layers on SRAM CIM or digital units
                             (:mod:`cimspice.studies.mixed_precision`)
============================ ==============================================================

The constant a pre-distortion adds to every target of a tile (:data:`PREDISTORT_MARGIN`)
cancels in the column pairs (differential: both columns; reference: data and reference
columns alike), so only the gain ``1 / alpha`` is applied.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cimspice.compensation import make_scheme
from cimspice.compensation.column_calibration import ColumnCalibration, fit
from cimspice.compensation.cost import CostModel, EnergyBreakdown
from cimspice.compensation.ir_predistort import transfer
from cimspice.compensation.scheme import Scheme
from cimspice.errors import InputError
from cimspice.mapping.matmul import HardwareMatMul, TileTransform
from cimspice.nn.model import Model, measure_input_ranges
from cimspice.spec import CrossbarSpec
from cimspice.studies.energy import MeteredMatMul, Unit
from cimspice.studies.sweeps import with_value
from cimspice.surrogate.model import TileSurrogate

__all__ = [
    "NetworkCase",
    "SchemeOutcome",
    "combine",
    "fit_calibration",
    "layer_inputs",
    "over_seeds",
    "predistort_transform",
    "run_case",
    "run_seeds",
    "scheme_case",
    "scheme_cases",
    "seed_cases",
]

PREDISTORT_MARGIN = 0.95
"""The network's pre-distortion programs each tile for ``g_min + offset + alpha (G - g_min)``
(outputs times ``1 / alpha``; the constant cancels in the column pairs) with ``alpha`` the
largest (at most 1) that keeps ``0.95 g_max`` above the first-order need: a cell needs
``G' = G^2 / T(G)`` to undo its IR drop, so this leaves 5% headroom at the top of the
window (cells the first order underestimates clip at the edge). At the floor, the wires'
sneak currents ask some cells (a differential pair's idle side sits at ``g_min``) for
``G' < g_min``: every target of the tile is raised by ``offset``, twice the largest first-order
shortfall, as in the tile-level scheme; the offset adds ``offset * sum(V)`` to every column,
which cancels in the column pairs."""
PREDISTORT_STEPS = 3
"""Steps of the pre-distortion iteration per tile (each one transfer matrix). The update is
:mod:`~cimspice.compensation.ir_predistort`'s; a few steps bring the IR error of a 128x128
tile with 2 ohm segments (up to 10% of full scale differential, 30% with a reference column)
below the devices' own programming error (levels 1/63 of the window apart, 2% noise), where
iterating to convergence would cost tens of transfers per tile and change nothing."""


@dataclass(frozen=True)
class NetworkCase:
    """One hardware configuration of a network evaluation.

    Attributes:
        label: its name in tables and plots.
        spec: the tiles, converters, mapping and devices.
        schemes: the schemes it applies (names as in the module table; empty: none).
        predistort: pre-distort every tile's targets against IR drop.
        calibrate: per-output gain/offset calibration of every memristor layer.
        hardware_aware: weight-noise level of the model's training (0: plainly trained).
        units: per layer index, a unit other than memristor tiles.
    """

    label: str
    spec: CrossbarSpec
    schemes: tuple[str, ...] = ()
    predistort: bool = False
    calibrate: bool = False
    hardware_aware: float = 0.0
    units: Mapping[int, Unit] = field(default_factory=dict)


@dataclass(frozen=True)
class SchemeOutcome:
    """A network evaluated on one case.

    Attributes:
        label: the case's label.
        schemes: the schemes it applies.
        accuracy: hardware accuracy (fraction).
        accuracy_ideal: the exact network's accuracy.
        energy: joule per inference by part (``macs``: MACs per inference).
        pulses: mean write-verify pulses per programmed cell on memristor layers.
        units: per weighted layer, its unit.
        layer_energy: per weighted layer, joule per inference on its unit.
        layer_macs: per weighted layer, MACs per inference.
        accuracy_std: standard deviation of ``accuracy`` over device seeds (0: one seed).
        seeds: how many device seeds ``accuracy`` is the mean of.
    """

    label: str
    schemes: tuple[str, ...]
    accuracy: float
    accuracy_ideal: float
    energy: EnergyBreakdown
    pulses: float
    units: dict[int, str]
    layer_energy: dict[int, float] = field(default_factory=dict)
    layer_macs: dict[int, int] = field(default_factory=dict)
    accuracy_std: float = 0.0
    seeds: int = 1

    @property
    def energy_per_mac(self) -> float:
        """Joule per MAC."""
        return self.energy.per_mac

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly data."""
        parts = ("array", "adc", "dac", "digital")
        return {
            "label": self.label,
            "schemes": list(self.schemes),
            "accuracy": self.accuracy,
            "accuracy_std": self.accuracy_std,
            "seeds": self.seeds,
            "accuracy_ideal": self.accuracy_ideal,
            "energy_per_mac": self.energy_per_mac,
            "energy_per_inference": self.energy.total,
            "energy_parts": {k: getattr(self.energy, k) for k in parts},
            "macs_per_inference": self.energy.macs,
            "pulses": self.pulses,
            "units": {str(k): v for k, v in self.units.items()},
        }


def predistort_transform(steps: int = PREDISTORT_STEPS) -> TileTransform:
    """A per-tile transform: ``steps`` pre-distortion steps for ``alpha G`` plus a constant,
    ``alpha`` chosen per tile (:data:`PREDISTORT_MARGIN`), inside the window.

    Returns ``(G', 1 / alpha)``. A tile without wire, driver or sense resistance is ideal
    (``T(G) = G``) and keeps its targets and gain 1. Solutions are kept per tile and targets
    (the targets do not depend on the devices' seed), so evaluating the same weights again,
    e.g. over device seeds, costs nothing. Cells that the first order does not lift off the
    floor (or that exceed ``g_max``) stay at the window's edge.

    Raises:
        InputError: ``steps`` < 1.
    """
    if steps < 1:
        raise InputError(f"ir-predistort: steps must be >= 1, got {steps}")
    solved: dict[tuple[str, bytes], tuple[np.ndarray, float]] = {}

    def transform(tile: CrossbarSpec, targets: np.ndarray) -> tuple[np.ndarray, float]:
        resistances = (tile.wire.r_row, tile.wire.r_col, tile.driver.r_source, tile.readout.r_in)
        if not any(resistances):
            return targets, 1.0
        key = (tile.content_hash(), hashlib.sha256(targets.tobytes()).digest())
        if key not in solved:
            lo, hi = tile.device.g_min, tile.device.g_max
            t = transfer(tile, targets)
            need = targets * targets / t  # first-order G' of every cell
            offset = 2.0 * max(0.0, lo - float(np.min(need)))
            top = PREDISTORT_MARGIN * hi - offset - lo
            alpha = min(1.0, top / (float(np.max(need)) - lo))
            goal = lo + offset + alpha * (targets - lo)  # the floor stays at lo + offset
            gp = goal
            for step in range(steps):
                if step or alpha < 1:  # t is T(G) so far, not T(alpha G)
                    t = transfer(tile, gp)
                ratio = np.clip(np.divide(gp, t, out=np.ones_like(gp), where=t > 0), 0.5, 2.0)
                gp = np.clip(gp + (goal - t) * ratio, lo, hi)
            solved[key] = (gp, 1.0 / alpha)
        return solved[key]

    return transform


def layer_inputs(model: Model, x: np.ndarray) -> dict[int, np.ndarray]:
    """Per weighted layer, the exact network's inputs to its MVM for samples ``x``."""
    seen: dict[int, np.ndarray] = {}

    def record(index: int, inputs: np.ndarray, weights: np.ndarray) -> np.ndarray:
        seen[index] = np.asarray(inputs, dtype=float)
        return inputs @ weights

    model.forward(x, record)
    return seen


def fit_calibration(
    model: Model, hardware: HardwareMatMul, x_ref: np.ndarray, layers: list[int] | None = None
) -> dict[int, ColumnCalibration]:
    """Per weighted layer (or those in ``layers``), each output's gain and offset fitted from
    the hardware's outputs for the exact activations of the reference samples ``x_ref``.

    Outputs that no reference input moves keep gain 1 and offset 0.

    Raises:
        InputError: fewer than two reference samples.
    """
    inputs = layer_inputs(model, x_ref)
    out = {}
    for index in layers if layers is not None else model.weighted_layers():
        w = model.matrix(index)
        x = inputs[index]
        measured = hardware(index, x, w)
        ideal = x @ w
        live = np.ptp(ideal, axis=0) > 0  # an output no reference input moves stays as it is
        gain, offset = np.ones(w.shape[1]), np.zeros(w.shape[1])
        if live.any():
            part = fit(ideal[:, live], measured[:, live])
            gain[live], offset[live] = part.gain, part.offset
        out[index] = ColumnCalibration(gain, offset)
    return out


def run_case(
    case: NetworkCase,
    model: Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    calibration: np.ndarray,
    reference: np.ndarray | None = None,
    engine: str = "surrogate",
    cost: CostModel | None = None,
    batch_size: int = 1000,
    predistorter: TileTransform | None = None,
    surrogate: TileSurrogate | None = None,
    mode: str = "accurate",
) -> SchemeOutcome:
    """Evaluate ``model`` (trained for ``case.hardware_aware``) on ``case``.

    Args:
        case: the configuration.
        model: the network.
        x: samples.
        y: their labels.
        calibration: samples whose exact activations set each layer's input range.
        reference: samples for column calibration (default: the first 256 of
            ``calibration``).
        engine: the tile engine (``surrogate``: the spec's nominal model).
        cost: the energy figures.
        batch_size: samples per forward batch.
        predistorter: the transform of ``case.predistort`` (default: a fresh
            :func:`predistort_transform`; pass one to reuse its solutions across cases).
        surrogate: a calibrated surrogate of ``case.spec``'s tile (default: the spec's
            nominal model, which exists for passive linear tiles only).
        mode: the surrogate's mode on nonlinear tiles (``"accurate"`` or ``"fast"``).

    Raises:
        InputError: no samples, or as many labels as samples.
    """
    y = np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise InputError(f"got {len(x)} samples and {len(y)} labels (need as many, >= 1)")
    cost = cost or CostModel()
    hardware = HardwareMatMul(
        case.spec,
        engine=engine,
        surrogate=surrogate,
        mode=mode,
        input_ranges=measure_input_ranges(model, calibration),
        tile_transform=(predistorter or predistort_transform()) if case.predistort else None,
    )
    memristor = [i for i in model.weighted_layers() if case.units.get(i) in (None, Unit.MEMRISTOR)]
    for index in memristor:
        hardware.program(index, model.matrix(index))
    fitted = {}
    if case.calibrate and memristor:
        ref = calibration[:256] if reference is None else reference
        fitted = fit_calibration(model, hardware, ref, memristor)
    meter = MeteredMatMul(hardware, cost, dict(case.units), fitted)
    correct = 0
    ideal_correct = 0
    for start in range(0, len(x), batch_size):
        batch, labels = x[start : start + batch_size], y[start : start + batch_size]
        correct += int(np.sum(model.predict(batch, meter) == labels))
        ideal_correct += int(np.sum(model.predict(batch) == labels))
    pulses = [hardware.layers[i].pulses()["mean"] for i in memristor]
    units = {i: str(case.units.get(i, Unit.MEMRISTOR)) for i in model.weighted_layers()}
    return SchemeOutcome(
        case.label,
        case.schemes,
        correct / len(y),
        ideal_correct / len(y),
        _per_inference(meter.total(), len(y)),
        float(np.mean(pulses)) if pulses else 1.0,
        units,
        {i: m.breakdown().total / len(y) for i, m in meter.layers.items()},
        {i: m.macs // len(y) for i, m in meter.layers.items()},
    )


def run_seeds(
    case: NetworkCase,
    model: Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    seeds: int,
    **options: Any,
) -> SchemeOutcome:
    """:func:`run_case` over device seeds ``nonideal.seed + 0 .. seeds - 1``: the mean
    accuracy (and its standard deviation), the energy and pulses of the first seed's devices
    (which vary with the seed by far less than accuracy does).

    Raises:
        InputError: ``seeds`` < 1.
    """
    runs = [run_case(c, model, x, y, **options) for c in seed_cases(case, seeds)]
    return over_seeds(runs)


def seed_cases(case: NetworkCase, seeds: int) -> list[NetworkCase]:
    """``case`` on each device seed ``nonideal.seed + 0 .. seeds - 1``.

    Raises:
        InputError: ``seeds`` < 1.
    """
    if seeds < 1:
        raise InputError(f"case {case.label!r}: need at least one device seed, got {seeds}")
    return [
        dataclasses.replace(
            case, spec=with_value(case.spec, "nonideal.seed", case.spec.nonideal.seed + s)
        )
        for s in range(seeds)
    ]


def over_seeds(runs: Sequence[SchemeOutcome]) -> SchemeOutcome:
    """One case's runs on its device seeds (in seed order) as one outcome: the mean accuracy
    and its standard deviation, the energy and pulses of the first seed's devices (which vary
    with the seed by far less than accuracy does)."""
    acc = np.array([r.accuracy for r in runs])
    return dataclasses.replace(
        runs[0], accuracy=float(acc.mean()), accuracy_std=float(acc.std()), seeds=len(runs)
    )


def _per_inference(total: EnergyBreakdown, samples: int) -> EnergyBreakdown:
    return EnergyBreakdown(
        total.array / samples,
        total.readout / samples,
        total.adc / samples,
        total.dac / samples,
        total.digital / samples,
        max(total.macs // samples, 1),
    )


def scheme_case(scheme: Scheme, spec: CrossbarSpec) -> NetworkCase:
    """``scheme`` at network level on ``spec``'s tiles: its
    :meth:`~cimspice.compensation.scheme.Scheme.network_form` applied to ``spec``.

    Raises:
        InputError: the scheme has no network-level form on this spec (named).
        SpecError: a value the form sets is invalid for the spec (named).
    """
    form = scheme.network_form(spec)
    changed = spec
    for key, value in form.changes.items():
        changed = with_value(changed, key, value)
    return NetworkCase(form.label, changed, (scheme.name,), form.predistort, form.calibrate)


def scheme_cases(
    spec: CrossbarSpec,
    *,
    hardware_aware: float = 0.05,
    tile_sizes: tuple[int, ...] = (64, 32),
    input_scale: float = 0.5,
    input_bits: int = 8,
    verify_tol: float = 0.1e-6,
) -> dict[str, NetworkCase]:
    """The base case and one case per network-level scheme (see the module), by label; the
    tile-level schemes from the registry (:func:`scheme_case`).

    Args:
        spec: the base spec (its own write-verify tolerance is the base's).
        hardware_aware: the weight-noise level of the hardware-aware model.
        tile_sizes: the partitioned tile sizes (square).
        input_scale: the input-scaling factor ``s``.
        input_bits: bits of the bit-serial inputs.
        verify_tol: siemens, the tighter write-verify tolerance (the looser one is none).
    """
    other = "dummy" if spec.mapping.scheme.value == "differential" else "differential"
    schemes = [
        make_scheme("ir-predistort"),
        make_scheme("column-calibration"),
        make_scheme("reference-column", mode=other),
        *(make_scheme("partitioning", tile_rows=n, tile_cols=n) for n in tile_sizes),
        make_scheme("input-scaling", mode="scale", scale=input_scale),
        make_scheme("input-scaling", mode="bit-serial", bits=input_bits),
    ]
    ni = spec.nonideal
    noisy = bool(ni.prog_noise_abs or ni.prog_noise_rel)
    if noisy:
        window = spec.device.g_max - spec.device.g_min
        schemes.append(make_scheme("write-verify", tol=verify_tol / window))
    cases = {"baseline": NetworkCase("baseline", spec)}
    if noisy:
        cases["no write-verify"] = NetworkCase(
            "no write-verify", with_value(spec, "nonideal.verify_tol", 0.0), ()
        )
    for scheme in schemes:
        case = scheme_case(scheme, spec)
        cases[case.label] = case
    if hardware_aware:
        cases["hardware-aware"] = NetworkCase(
            "hardware-aware", spec, ("hardware-aware",), hardware_aware=hardware_aware
        )
    return cases


def combine(label: str, base: CrossbarSpec, *cases: NetworkCase) -> NetworkCase:
    """One case applying every scheme of ``cases`` (built on the same ``base`` spec).

    Raises:
        InputError: more than one of them changes the spec (their changes would conflict).
    """
    changed = [c.spec for c in cases if c.spec is not base]
    if len(changed) > 1:
        raise InputError(f"{label}: more than one of the combined cases changes the spec")
    schemes: list[str] = []
    units: dict[int, Unit] = {}
    for c in cases:
        schemes += [s for s in c.schemes if s not in schemes]
        units.update(c.units)
    return NetworkCase(
        label,
        changed[0] if changed else base,
        tuple(schemes),
        any(c.predistort for c in cases),
        any(c.calibrate for c in cases),
        max(c.hardware_aware for c in cases),
        units,
    )
