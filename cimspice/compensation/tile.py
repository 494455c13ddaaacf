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

A bench checks its arguments (naming each) and estimates the memory its tile needs
(:func:`check_tile_fits`) before any work; a scheme that reads more vectors at once, or a
larger tile, asks :meth:`Bench.check_fits` before it simulates.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from cimspice.arguments import instance, integer
from cimspice.arrays import check_conductances
from cimspice.compensation import MEASURING_ENGINES
from cimspice.compensation.cost import CostModel, EnergyBreakdown, mvm_energy
from cimspice.converters import dac
from cimspice.engines.base import Engine, ProgrammedTile, check_spec, run_tile
from cimspice.errors import InputError
from cimspice.memory import check_fits
from cimspice.metrics import max_error
from cimspice.result import Result
from cimspice.seeds import check_seed
from cimspice.simulation import get_engine
from cimspice.spec import CrossbarSpec, ReadoutKind

__all__ = [
    "Bench",
    "MeasuredTile",
    "Reading",
    "check_tile_fits",
    "digital_outputs",
    "held_out_inputs",
]

VECTOR_BYTES_PER_LINE = 4 * 32.0
"""Bytes per input vector and word or bit line a tile run holds: its inputs, outputs and
deck tables, before and after (an estimate, with room to spare)."""


def check_tile_fits(spec: CrossbarSpec, vectors: int = 0) -> None:
    """Refuse a ``spec`` tile too large to simulate here with ``vectors`` input vectors at
    once (:func:`~cimspice.engines.nodal.tile_work_bytes` plus the vectors' inputs, outputs and
    deck tables), before any work.

    Raises:
        MemoryLimitError: it needs more memory than is available (the figures named).
    """
    from cimspice.engines.nodal import tile_work_bytes

    check_fits(
        tile_work_bytes(spec) + VECTOR_BYTES_PER_LINE * vectors * (spec.rows + spec.cols),
        f"compensating a {spec.rows}x{spec.cols} tile with {vectors} input vectors",
    )


def held_out_inputs(spec: CrossbarSpec, batch: int, seed: int) -> np.ndarray:
    """Volt, ``(batch, rows)``: inputs ~ U(0, v_read), the spec's range of use.

    Raises:
        InputError: ``batch`` not an integer >= 1, or ``seed`` not an integer >= 0 (named).
    """
    batch = integer(batch, "batch", minimum=1)
    rng = np.random.default_rng(check_seed(seed))
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

    Every argument is checked (naming it), then the memory the tile needs with ``batch``
    vectors (:func:`check_tile_fits`), before any work.

    Args:
        spec: the tile (a loaded spec or the path of a spec file).
        targets: siemens, ``(rows, cols)``: the ideal matrix ``G``.
        engine: one of :data:`~cimspice.compensation.MEASURING_ENGINES` (``ngspice``: the
            tile-level truth).
        batch: held-out input vectors (an integer >= 1).
        seed: their seed (an integer >= 0).
        cost: the cost model (default :class:`~cimspice.compensation.cost.CostModel`).

    Raises:
        InputError: a spec that is neither loaded nor a path, targets of the wrong shape or
            values, an engine that cannot measure a scheme, a batch, seed or cost model of the
            wrong type or value, an integrator readout, or targets whose ideal outputs are all
            zero (no full scale to measure against).
        SpecError: ``spec`` names a missing or invalid spec file.
        MemoryLimitError: the tile and batch need more memory than is available.
    """

    def __init__(
        self,
        spec: CrossbarSpec | str | os.PathLike[str],
        targets: np.ndarray,
        *,
        engine: str = "ngspice",
        batch: int = 32,
        seed: int = 0,
        cost: CostModel | None = None,
    ):
        self.spec = spec = check_spec(spec)
        if spec.readout.kind == ReadoutKind.INTEGRATOR:
            raise InputError(
                "compensation measures operating points; readout.kind = 'integrator' is read "
                "in transient simulations only: use 'ideal' or 'tia'"
            )
        if not isinstance(engine, str) or engine not in MEASURING_ENGINES:
            raise InputError(
                f"engine must be one of {', '.join(MEASURING_ENGINES)} (an engine that solves "
                f"the circuit of every tile a scheme builds), not {engine!r}"
            )
        batch = integer(batch, "batch", minimum=1)
        seed = check_seed(seed)
        if cost is not None:
            instance(cost, CostModel, "cost", "a CostModel or None")
        self.targets = check_conductances(targets, spec.rows, spec.cols)
        self.check_fits(batch)
        self.engine_name = engine
        self.engine: Engine = get_engine(engine)
        self.inputs = held_out_inputs(spec, batch, seed)
        self.applied = dac(spec, self.inputs)
        self.reference = self.applied @ self.targets
        if not np.any(self.reference):
            raise InputError("the targets' ideal outputs are all zero: no full scale to measure")
        self.cost = cost or CostModel()

    @property
    def batch(self) -> int:
        """Held-out input vectors."""
        return len(self.inputs)

    def check_fits(self, vectors: int, spec: CrossbarSpec | None = None) -> None:
        """Refuse, before any work, to run ``vectors`` input vectors at once on ``spec``'s
        tile (default: the bench's) if it needs more memory than is available
        (:func:`check_tile_fits`).

        Raises:
            MemoryLimitError: naming the tile, the vectors and the figures.
        """
        check_tile_fits(self.spec if spec is None else spec, vectors)

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
