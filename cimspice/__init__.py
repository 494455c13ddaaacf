"""cimspice: circuit-level SPICE co-simulation of memristor-crossbar compute-in-memory.

The package has no import-time side effects: importing it loads neither ngspice nor
matplotlib. The main entry points are re-exported lazily::

    from cimspice import load_spec, render, simulate
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "CimspiceError": "cimspice.errors",
    "SpecError": "cimspice.errors",
    "InputError": "cimspice.errors",
    "SimulationError": "cimspice.errors",
    "CrossbarSpec": "cimspice.spec",
    "load_spec": "cimspice.spec",
    "spec_from_dict": "cimspice.spec",
    "render": "cimspice.netlist",
    "build_deck": "cimspice.netlist",
    "Result": "cimspice.result",
    "simulate": "cimspice.simulation",
    "get_engine": "cimspice.simulation",
}

__all__ = [  # noqa: RUF022  (grouped as in _EXPORTS)
    "__version__",
    "CimspiceError",
    "SpecError",
    "InputError",
    "SimulationError",
    "CrossbarSpec",
    "load_spec",
    "spec_from_dict",
    "render",
    "build_deck",
    "Result",
    "simulate",
    "get_engine",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cimspice' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
