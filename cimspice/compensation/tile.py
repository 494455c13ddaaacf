"""How every scheme measures a tile: one bench, one reading, one reference.

A :class:`Bench` holds what a scheme is measured on: the tile (its spec), the target
conductances (the ideal matrix ``G``), an engine from :mod:`cimspice.simulation`, the held-out
inputs and the cost model. Every output a scheme produces, before or after, comes from
:meth:`MeasuredTile.read`: a tile programmed once (:meth:`Bench.program`, the engine's
``program``) and run on a batch through DAC -> tile -> ADC
(:func:`cimspice.engines.base.run_tile`), read as the digital side sees it
(:func:`digital_outputs`: the ADC's values if there is an ADC, else the TIA's output voltage,
else the bit-line currents), in amperes through the readout's nominal gain (``-1 / r_f`` for
a TIA). The reference is the ideal ``V @ G`` of the levels the DAC applies
(:attr:`Bench.reference`); errors are fractions of its full scale (:mod:`cimspice.metrics`).

The uncompensated tile (:attr:`Bench.before`) is the targets programmed as they are and read
on the held-out inputs: the same for every scheme on the same tile, targets and inputs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from cimspice.arrays import check_conductances
from cimspice.compensation import MEASURING_ENGINES
from cimspice.compensation.cost import CostModel, EnergyBreakdown, mvm_energy
from cimspice.converters import dac
from cimspice.engines.base import Engine, ProgrammedTile, check_spec, run_tile
from cimspice.errors import InputError
from cimspice.metrics import max_error
from cimspice.result import Result
from cimspice.simulation import get_engine
from cimspice.spec import CrossbarSpec, ReadoutKind

__all__ = [
    "Bench",
    "MeasuredTile",
    "Reading",
    "digital_outputs",
    "held_out_inputs",
]


def held_out_inputs(spec: CrossbarSpec, batch: int, seed: int) -> np.ndarray:
    """Volt, ``(batch, rows)``: inputs ~ U(0, v_read), the spec's range of use.

    Raises:
        InputError: ``batch`` < 1.
    """
    if batch < 1:
        raise InputError(f"compensation: batch must be >= 1 held-out vector, got {batch}")
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, spec.driver.v_read, (batch, spec.rows))


def digital_outputs(spec: CrossbarSpec, result: Result) -> np.ndarray:
    """Ampere, ``(batch, cols)``: the tile's output as the digital side sees it, in current
    units (the ADC's values, else the TIA's ``v_out``, else the currents; a TIA's voltages
    through its nominal gain ``-1 / r_f``)."""
    if result.digital is not None:
        value = result.digital
    elif result.v_out is not None:
        value = result.v_out
    else:
        return result.currents
    return -value / spec.readout.r_f if spec.has_tia else value


@dataclass(frozen=True)
class Reading:
    """One batch through a tile.

    Attributes:
        outputs: ampere, ``(batch, cols)``: what the digital side sees
            (:func:`digital_outputs`).
        result: the engine's result (currents, power, ADC codes).
    """

    outputs: np.ndarray
    result: Result


@dataclass(frozen=True)
class MeasuredTile:
    """A tile programmed once, read on as many batches as a scheme needs."""

    spec: CrossbarSpec
    tile: ProgrammedTile

    def read(self, inputs: np.ndarray) -> Reading:
        """``inputs`` (V, ``(batch, rows)``, before the DAC) through DAC -> tile -> ADC, read
        as the digital side sees them: the one way every scheme measures its outputs."""
        result = run_tile(self.spec, self.tile, inputs)
        return Reading(digital_outputs(self.spec, result), result)


class Bench:
    """What a scheme is measured on (see the module).

    Args:
        spec: the tile.
        targets: siemens, ``(rows, cols)``: the ideal matrix ``G``.
        engine: one of :data:`~cimspice.compensation.MEASURING_ENGINES` (``ngspice``: the
            tile-level truth).
        batch: held-out input vectors (>= 1).
        seed: their seed.
        cost: the cost model (default :class:`~cimspice.compensation.cost.CostModel`).

    Raises:
        InputError: a spec that is not loaded, targets of the wrong shape or values, an
            engine that cannot measure a scheme, an integrator readout, or targets whose ideal
            outputs are all zero (no full scale to measure against).
    """

    def __init__(
        self,
        spec: CrossbarSpec,
        targets: np.ndarray,
        *,
        engine: str = "ngspice",
        batch: int = 32,
        seed: int = 0,
        cost: CostModel | None = None,
    ):
        self.spec = check_spec(spec)
        if spec.readout.kind == ReadoutKind.INTEGRATOR:
            raise InputError(
                "compensation measures operating points; readout.kind = 'integrator' is read "
                "in transient simulations only: use 'ideal' or 'tia'"
            )
        self.targets = check_conductances(targets, spec.rows, spec.cols)
        if engine not in MEASURING_ENGINES:
            raise InputError(
                f"compensation measures with {' or '.join(MEASURING_ENGINES)} (an engine that "
                f"solves the circuit of every tile a scheme builds), not {engine!r}"
            )
        self.engine_name = engine
        self.engine: Engine = get_engine(engine)
        self.inputs = held_out_inputs(spec, batch, seed)
        self.applied = dac(spec, self.inputs)
        self.reference = self.applied @ self.targets
        if not np.any(self.reference):
            raise InputError("the targets' ideal outputs are all zero: no full scale to measure")
        self.cost = cost or CostModel()

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one MVM of the logical matrix (``rows * cols``)."""
        return self.spec.rows * self.spec.cols

    def program(self, conductances: np.ndarray, spec: CrossbarSpec | None = None) -> MeasuredTile:
        """``conductances`` (S) programmed on ``spec``'s tile (default: the bench's)."""
        tile_spec = self.spec if spec is None else spec
        return MeasuredTile(tile_spec, self.engine.program(tile_spec, conductances))

    @functools.cached_property
    def baseline(self) -> MeasuredTile:
        """The targets programmed as they are (programmed once, on first use)."""
        return self.program(self.targets)

    @functools.cached_property
    def before(self) -> Reading:
        """The uncompensated tile on the held-out inputs."""
        return self.baseline.read(self.inputs)

    def error(self, outputs: np.ndarray, reference: np.ndarray | None = None) -> float:
        """Max ``|outputs - reference|`` over the reference's full scale (default reference:
        :attr:`reference`)."""
        return max_error(outputs, self.reference if reference is None else reference)

    def energy(
        self, reading: Reading, *, spec: CrossbarSpec | None = None, **counts: int
    ) -> EnergyBreakdown:
        """Joule per MVM of one cycle of ``reading``'s tile (``spec``, default the bench's),
        with ``counts`` of :func:`~cimspice.compensation.cost.mvm_energy` (conversions,
        digital operations)."""
        tile_spec = self.spec if spec is None else spec
        return mvm_energy(tile_spec, reading.result, self.cost, macs=self.macs, **counts)
