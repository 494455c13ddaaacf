"""Engines: ways to compute a crossbar's outputs, all behind one interface and one result type.

=========== ===========================================================================
``ngspice``  the rendered deck run by ngspice (shared library via PySpice), in its own
             process: the truth for everything SPICE models
``nodal``    exact nodal analysis of the resistive network (scipy.sparse LU)
``surrogate`` a fitted fast model of the tile (:mod:`cimspice.surrogate`)
``ideal``    ``V @ G``: the reference every error is measured against
=========== ===========================================================================
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from cimspice.errors import EngineUnavailableError

if TYPE_CHECKING:  # this package stays cheap to import: numpy loads with an engine
    import numpy as np

    from cimspice.engines.base import Engine
    from cimspice.result import Result
    from cimspice.spec import CrossbarSpec

__all__ = ["ENGINE_NAMES", "get_engine", "simulate"]

ENGINE_NAMES = ("ngspice", "nodal", "surrogate", "ideal")


def get_engine(name: str, **options: Any) -> Engine:
    """The engine called ``name``, constructed with ``options``.

    Raises:
        EngineUnavailableError: unknown name, or an engine not available in this version.

    """
    if name == "ideal":
        from cimspice.engines.ideal import IdealEngine

        return IdealEngine(**options)
    if name == "nodal":
        from cimspice.engines.nodal import NodalEngine

        return NodalEngine(**options)
    if name == "ngspice":
        from cimspice.engines.ngspice import NgspiceEngine

        return NgspiceEngine(**options)
    if name == "surrogate":
        from cimspice.surrogate.model import SurrogateEngine

        if "surrogate" not in options:
            raise EngineUnavailableError("the surrogate engine needs a surrogate file")
        return SurrogateEngine(options["surrogate"], mode=options.get("mode", "accurate"))
    raise EngineUnavailableError(
        f"unknown engine {name!r}; known engines: {', '.join(ENGINE_NAMES)}"
    )


def simulate(
    spec: CrossbarSpec | str | os.PathLike[str],
    conductances: np.ndarray,
    inputs: np.ndarray,
    *,
    engine: str = "nodal",
    node_voltages: bool = False,
    **options: Any,
) -> Result:
    """Run ``engine`` on ``spec`` with ``conductances`` (S, (rows, cols)) and ``inputs`` (V).

    Args:
        spec: a :class:`~cimspice.spec.CrossbarSpec`, or the path of a spec file (loaded).
        conductances: siemens, ``(rows, cols)``.
        inputs: volt, ``(batch, rows)`` or ``(rows,)``.
        engine: one of :data:`ENGINE_NAMES`.
        node_voltages: also compute every node's potential (``nodal`` and ``ngspice``).
        options: the engine's options (see :func:`get_engine`).

    Raises:
        InputError: an argument of the wrong type or value (named), or invalid arrays.
        SpecError: ``spec`` names a missing or invalid spec file.
        EngineUnavailableError: an unknown engine. SimulationError: the engine failed.
    """
    from cimspice.arguments import flag
    from cimspice.spec import as_spec

    spec = as_spec(spec)
    node_voltages = flag(node_voltages, "node_voltages")
    return get_engine(engine, **options).run(
        spec, conductances, inputs, node_voltages=node_voltages
    )
