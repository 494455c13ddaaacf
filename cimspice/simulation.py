"""The engine registry and the one entry point that runs a tile: :func:`simulate`.

Engines live in :mod:`cimspice.engines` (and the calibrated surrogate in
:mod:`cimspice.surrogate`); this module sits above both, lists them (:data:`ENGINES`), builds
one by name with its typed options (:func:`get_engine`) and runs the pipeline DAC -> program ->
run -> ADC (:func:`simulate`; the pipeline itself is
:func:`cimspice.engines.base.run_tile`). Every other layer (command line, calibration,
compensation, networks) asks for engines here, so a new engine is one entry in
:data:`ENGINES`.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cimspice.errors import InputError

if TYPE_CHECKING:  # this module stays cheap to import: the command line lists engines
    import numpy as np

    from cimspice.engines.base import Engine
    from cimspice.result import Result
    from cimspice.spec import CrossbarSpec

__all__ = [
    "ENGINES",
    "ENGINE_NAMES",
    "EngineEntry",
    "engine_options",
    "get_engine",
    "simulate",
]


@dataclass(frozen=True)
class EngineEntry:
    """One engine of the registry.

    Attributes:
        name: what users type (``--engine NAME``).
        summary: one line for ``--help``.
        module: the module that holds the engine class (imported on first use).
        cls: the engine class's name in it.
        linear_exact: whether it solves a passive linear tile exactly (it can check another).
        charge_domain: whether it runs charge-domain (1C) tiles (and only those) rather
            than resistive crossbars.
    """

    name: str
    summary: str
    module: str
    cls: str
    linear_exact: bool
    charge_domain: bool = False

    def load(self) -> type[Engine]:
        """The engine class."""
        return getattr(importlib.import_module(self.module), self.cls)


ENGINES: dict[str, EngineEntry] = {
    entry.name: entry
    for entry in (
        EngineEntry(
            "ngspice",
            "the generated netlist in ngspice 46 (KLU): transistors, readouts, power",
            "cimspice.engines.ngspice",
            "NgspiceEngine",
            True,
        ),
        EngineEntry(
            "nodal",
            "exact solve of the resistive network (linear or nonlinear two-terminal cells)",
            "cimspice.engines.nodal",
            "NodalEngine",
            True,
        ),
        EngineEntry(
            "surrogate",
            "a surrogate calibrated against ngspice (cimspice calibrate)",
            "cimspice.surrogate.model",
            "SurrogateEngine",
            False,
        ),
        EngineEntry(
            "ideal", "V @ G: the reference", "cimspice.engines.ideal", "IdealEngine", False
        ),
        EngineEntry(
            "charge",
            "charge-domain (1C) tiles: MAC cycles in ngspice or their calibrated surrogate",
            "cimspice.charge.engine",
            "ChargeEngine",
            False,
            charge_domain=True,
        ),
    )
}
"""Every engine, from most to least faithful."""

ENGINE_NAMES = tuple(ENGINES)


def _entry(name: object) -> EngineEntry:
    entry = ENGINES.get(name) if isinstance(name, str) else None
    if entry is None:
        raise InputError(f"unknown engine {name!r}; engines: {', '.join(ENGINE_NAMES)}")
    return entry


def engine_options(name: str) -> tuple[str, ...]:
    """The option names engine ``name`` takes.

    Raises:
        InputError: unknown engine.
    """
    return tuple(f.name for f in fields(_entry(name).load().Options))  # type: ignore[attr-defined]


def get_engine(name: str, options: Any = None, /, **given: Any) -> Engine:
    """The engine called ``name``, with its options as an object of its ``Options`` class or
    as keywords.

    Raises:
        InputError: unknown engine or option (naming it and the valid ones).
        SurrogateError: the surrogate engine without a surrogate, or a bad file.
    """
    return _entry(name).load()(options, **given)  # type: ignore[call-arg]


def simulate(
    spec: CrossbarSpec | str | os.PathLike[str],
    conductances: np.ndarray,
    inputs: np.ndarray,
    *,
    engine: str = "nodal",
    node_voltages: bool = False,
    **options: Any,
) -> Result:
    """DAC -> program -> run -> ADC: ``spec``'s tile with ``conductances`` (S,
    ``(rows, cols)``) on ``inputs`` (V, ``(batch, rows)`` or ``(rows,)``) through ``engine``
    with its ``options`` (see :func:`get_engine`). ``spec`` is a loaded spec or the path of a
    spec file.
    """
    if isinstance(spec, str | os.PathLike):
        from cimspice.spec import load_spec

        spec = load_spec(Path(spec))
    return get_engine(engine, **options).run(
        spec, conductances, inputs, node_voltages=node_voltages
    )
