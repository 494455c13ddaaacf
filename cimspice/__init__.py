"""cimspice: circuit-level SPICE co-simulation of memristor-crossbar compute-in-memory.

The package has no import-time side effects: importing it loads neither numpy nor ngspice
nor matplotlib. The main entry points are re-exported lazily (each loads its module on first
use)::

    from cimspice import load_preset, load_spec, render, simulate
    from cimspice import calibrate, evaluate, evaluate_scheme, load_surrogate, run_transient
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SPEC_NAMES = (
    "CrossbarSpec",
    "TileSpec",
    "NetworkSpec",
    "ArraySpec",
    "WireSpec",
    "DriverSpec",
    "ReadoutSpec",
    "DeviceSpec",
    "AccessSpec",
    "SelectorSpec",
    "MappingSpec",
    "NonidealSpec",
    "CellKind",
    "DeviceIV",
    "ReadoutKind",
    "OpAmpKind",
    "MappingScheme",
    "load_spec",
    "load_preset",
    "spec_from_dict",
)

_EXPORTS = {
    "CimspiceError": "cimspice.errors",
    "SpecError": "cimspice.errors",
    "InputError": "cimspice.errors",
    "SimulationError": "cimspice.errors",
    **dict.fromkeys(_SPEC_NAMES, "cimspice.spec"),
    "render": "cimspice.netlist",
    "build_deck": "cimspice.netlist",
    "Result": "cimspice.result",
    "simulate": "cimspice.simulation",
    "get_engine": "cimspice.simulation",
    "run_transient": "cimspice.engines.transient",
    "calibrate": "cimspice.surrogate.calibrate",
    "load_surrogate": "cimspice.surrogate.model",
    "evaluate": "cimspice.studies.evaluate",
    "evaluate_scheme": "cimspice.compensation",
}

__all__ = ["__version__", *_EXPORTS]  # noqa: PLE0604  (names resolved lazily below)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cimspice' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
