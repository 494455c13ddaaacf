"""The interface every engine implements: program a tile once, run it on many input batches.

An engine turns a spec and a conductance matrix into a :class:`ProgrammedTile`
(:meth:`Engine.program`): the one-time work (a factorisation, a transfer matrix, a fitted
model's preparation, or for ngspice just the checked arrays) happens there. The tile's
:meth:`~ProgrammedTile.run` maps the word-line voltages actually applied (the DAC's levels) to
a :class:`~cimspice.result.Result`, and a linear tile read by ideal virtual grounds also
offers its exact :attr:`~ProgrammedTile.transfer` matrix.

The converters sit in one place, :func:`run_tile`: DAC -> tile -> ADC. Every engine's
:meth:`EngineBase.run` (the one-shot ``run(spec, G, V)``) is that pipeline, so an engine writes
only ``program`` and its tile's ``run``, as a VlsirTools ``Sim`` writes only its ``run``.

Each engine declares its options as a frozen dataclass (:attr:`EngineBase.Options`); an
unknown option is an :class:`~cimspice.errors.InputError` naming it and the valid ones.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from cimspice.arguments import flag
from cimspice.arrays import check_conductances, check_inputs
from cimspice.converters import dac, with_adc
from cimspice.errors import EngineUnavailableError, InputError
from cimspice.result import Result
from cimspice.spec import CrossbarSpec, as_spec

__all__ = [
    "Engine",
    "EngineBase",
    "NoOptions",
    "ProgrammedTile",
    "check_spec",
    "make_options",
    "run_tile",
]


@runtime_checkable
class ProgrammedTile(Protocol):
    """One tile bound to one conductance matrix, ready to run input batches."""

    @property
    def spec(self) -> CrossbarSpec:
        """The tile's spec."""
        ...

    @property
    def conductances(self) -> np.ndarray:
        """Siemens, ``(rows, cols)``, as programmed."""
        ...

    @property
    def prepare_s(self) -> float:
        """Seconds the one-time preparation took."""
        ...

    @property
    def transfer(self) -> np.ndarray | None:
        """Siemens, ``(rows, cols)``: ``T`` with ``currents = voltages @ T`` exactly, for a
        linear tile read by ideal virtual grounds; ``None`` for every other tile."""
        ...

    def run(self, voltages: np.ndarray, *, node_voltages: bool = False) -> Result:
        """The tile's analogue outputs for word-line ``voltages`` (V, ``(batch, rows)``, the
        levels applied: no DAC here): currents and, with TIAs, ``v_out``; no ADC codes."""
        ...


@runtime_checkable
class Engine(Protocol):
    """A way to compute a crossbar's outputs (see the module)."""

    name: str

    def program(self, spec: CrossbarSpec, conductances: np.ndarray) -> ProgrammedTile:
        """Bind ``spec`` to ``conductances`` (S, ``(rows, cols)``).

        Raises:
            InputError: invalid conductances. EngineUnavailableError: a tile this engine
                does not model.
        """
        ...

    def run(
        self,
        spec: CrossbarSpec,
        conductances: np.ndarray,
        inputs: np.ndarray,
        *,
        node_voltages: bool = False,
    ) -> Result:
        """DAC -> program -> run -> ADC for one batch (see :func:`run_tile`)."""
        ...


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """The options of an engine that has none."""


def make_options(options_type: type, engine: str, options: Any = None, **given: Any) -> Any:
    """``options_type`` built from an options object or keywords (not both).

    Raises:
        InputError: an option the engine does not have (naming it and listing the valid
            ones), or an options object of another engine's type.
    """
    if options is not None:
        if given:
            raise InputError(f"engine {engine!r}: give an options object or keywords, not both")
        if not isinstance(options, options_type):
            raise InputError(
                f"engine {engine!r} takes {options_type.__name__}, got {type(options).__name__}"
            )
        return options
    known = [f.name for f in dataclasses.fields(options_type)]
    unknown = sorted(set(given) - set(known))
    if unknown:
        valid = ", ".join(known) if known else "none"
        raise InputError(
            f"engine {engine!r} has no option {', '.join(map(repr, unknown))}; its options: {valid}"
        )
    return options_type(**given)


def run_tile(
    spec: CrossbarSpec,
    tile: ProgrammedTile,
    inputs: np.ndarray,
    *,
    node_voltages: bool = False,
    started: float | None = None,
    converters: bool = True,
) -> Result:
    """DAC -> ``tile`` -> ADC: the outputs of ``inputs`` (V, ``(batch, rows)`` or
    ``(rows,)``, before the DAC) as the converters of ``spec`` see them.

    ``elapsed_s`` counts from ``started`` (``time.perf_counter()``; default: now), so that a
    one-shot run includes its programming. ``converters=False`` skips both converters (the
    ``ideal`` engine's exact reference).
    """
    start = time.perf_counter() if started is None else started
    v = check_inputs(inputs, spec.rows)
    result = tile.run(dac(spec, v) if converters else v, node_voltages=node_voltages)
    info = dict(result.info)
    info.setdefault("prepare_s", tile.prepare_s)
    done = dataclasses.replace(result, elapsed_s=time.perf_counter() - start, info=info)
    return with_adc(spec, done) if converters else done


def check_spec(spec: CrossbarSpec | str | os.PathLike[str]) -> CrossbarSpec:
    """``spec`` as a loaded spec: a :class:`CrossbarSpec` or the path of a spec file.

    Raises:
        InputError: anything else, naming what to give instead. SpecError: a bad spec file.
    """
    return as_spec(spec)


class EngineBase:
    """What every engine shares: its options and the one-shot pipeline.

    A subclass sets :attr:`name` and :attr:`Options` and writes :meth:`program`;
    :attr:`converters` ``False`` makes :meth:`run` skip the DAC and the ADC.
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type] = NoOptions
    converters: ClassVar[bool] = True
    charge_domain: ClassVar[bool] = False
    """Whether the engine models charge-domain (1C) tiles."""

    def __init__(self, options: Any = None, **given: Any):
        self.options = make_options(self.Options, self.name, options, **given)

    def program(self, spec: CrossbarSpec, conductances: np.ndarray) -> ProgrammedTile:
        """See :meth:`Engine.program`."""
        raise NotImplementedError

    def checked(
        self, spec: CrossbarSpec | str | os.PathLike[str], conductances: np.ndarray
    ) -> tuple[CrossbarSpec, np.ndarray]:
        """``spec`` loaded (see :func:`check_spec`) and ``conductances`` validated for it
        (float64)."""
        spec = check_spec(spec)
        if spec.is_charge and not self.charge_domain:
            raise EngineUnavailableError(
                f"engine {self.name!r} models resistive crossbars; a charge-domain tile "
                '(array.cell = "1C") runs on engine "charge"'
            )
        return spec, check_conductances(conductances, spec.rows, spec.cols)

    def run(
        self,
        spec: CrossbarSpec,
        conductances: np.ndarray,
        inputs: np.ndarray,
        *,
        node_voltages: bool = False,
    ) -> Result:
        """DAC -> :meth:`program` -> run -> ADC (:func:`run_tile`) for one batch."""
        start = time.perf_counter()
        spec = check_spec(spec)
        node_voltages = flag(node_voltages, "node_voltages")
        check_inputs(inputs, spec.rows)  # before any (possibly long) programming
        tile = self.program(spec, conductances)
        return run_tile(
            spec,
            tile,
            inputs,
            node_voltages=node_voltages,
            started=start,
            converters=self.converters,
        )
