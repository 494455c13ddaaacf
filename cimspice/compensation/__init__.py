"""Compensation schemes for analogue CIM tiles, each validated in SPICE and costed.

Every scheme implements one interface (:class:`~cimspice.compensation.scheme.Scheme`): a
frozen dataclass of its parameters that can refuse a tile (naming the spec key and why),
apply itself to a :class:`~cimspice.compensation.tile.Bench` and say how it carries over to a
network. All are measured one way (:mod:`~cimspice.compensation.tile`): the tile's output as
the digital side sees it (ADC values, else TIA output voltages, else currents; in amperes)
against the ideal ``V @ G`` of the DAC's levels on held-out inputs, through an engine of
:mod:`cimspice.simulation` (programmed once per conductance matrix). The "before" of every
report is the same uncompensated tile. The registry (:data:`SCHEMES`) is what the command
line and the network level use:

===================== ================================================================
``ir-predistort``     :mod:`~cimspice.compensation.ir_predistort`: conductances that undo
                      the wires' IR drop (``T(G') = G``), with rescaling when the window
                      leaves no headroom (linear tiles only)
``column-calibration`` :mod:`~cimspice.compensation.column_calibration`: per-column gain and
                      offset of readout + ADC, fitted on reference inputs
``reference-column``  :mod:`~cimspice.compensation.reference_column`: a dummy column (or
                      differential pairs) cancelling the ``g_min`` floor / common mode
``partitioning``      :mod:`~cimspice.compensation.partitioning`: smaller tiles, partial
                      sums added digitally
``input-scaling``     :mod:`~cimspice.compensation.input_scaling`: smaller input voltages,
                      or bit-serial inputs, against cell nonlinearity
``write-verify``      :mod:`~cimspice.compensation.write_verify`: programming to a
                      tolerance, pulses against precision (the network's programming
                      model: the spec's device model)
===================== ================================================================

The cost model (converters, digital logic, SRAM CIM) is :mod:`~cimspice.compensation.cost`.
The work of ``cimspice compensate`` and ``cimspice predistort`` (requests checked and planned
before any work) is :mod:`~cimspice.compensation.request`.

Hooks for the network level: each scheme keeps its transform apart from its tile
measurement, so a network evaluation can apply it to every tile of a mapped layer:
:func:`~cimspice.compensation.ir_predistort.predistort` (targets to programmed conductances,
and the output gain), :func:`~cimspice.compensation.column_calibration.fit` and
:meth:`~cimspice.compensation.column_calibration.ColumnCalibration.apply`,
:func:`~cimspice.compensation.reference_column.layout` and
:func:`~cimspice.compensation.reference_column.cancel`,
:func:`~cimspice.compensation.input_scaling.bit_planes`,
:func:`~cimspice.compensation.write_verify.program`; every report carries its
:class:`~cimspice.compensation.cost.EnergyBreakdown` per MAC for an accuracy-energy (Pareto)
table.

The network level (surrogate tiles, a model's accuracy and energy per MAC) is apart:
:mod:`~cimspice.studies.schemes` (every scheme as a network case, through its
:meth:`~cimspice.compensation.scheme.Scheme.network_form`; the per-tile pre-distortion and
the per-output calibration), :mod:`~cimspice.studies.energy` (energy per MAC by layer and
compute unit), :mod:`~cimspice.studies.mixed_precision` (memristor / SRAM CIM / digital per
layer by sensitivity, under an energy budget), :mod:`~cimspice.studies.pareto` (the
accuracy-energy front) and :mod:`~cimspice.studies.pareto_report` (``cimspice pareto
SPEC``); hardware-aware training is the network package's (:mod:`cimspice.nn.training`).
Importing this package loads no scheme; :func:`make_scheme` imports the one asked for.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cimspice.errors import InputError
from cimspice.seeds import check_seed
from cimspice.simulation import ENGINES

if TYPE_CHECKING:
    import numpy as np

    from cimspice.compensation.cost import CostModel
    from cimspice.compensation.report import CompensationReport
    from cimspice.compensation.scheme import Scheme
    from cimspice.spec import CrossbarSpec

__all__ = [
    "MEASURING_ENGINES",
    "SCHEMES",
    "SCHEME_NAMES",
    "SchemeEntry",
    "default_targets",
    "evaluate_scheme",
    "make_scheme",
]


@dataclass(frozen=True)
class SchemeEntry:
    """One scheme of the registry.

    Attributes:
        name: what users type (``--scheme NAME``); the class's ``name``.
        summary: one line for ``--help``.
        module: the module that holds the scheme (imported on first use).
        cls: the scheme's class (its parameter dataclass) in it.
    """

    name: str
    summary: str
    module: str
    cls: str

    def load(self) -> type[Scheme]:
        """The scheme's class."""
        return getattr(importlib.import_module(self.module), self.cls)


SCHEMES: dict[str, SchemeEntry] = {
    entry.name: entry
    for entry in (
        SchemeEntry(
            "ir-predistort",
            "conductances that undo the wires' IR drop (linear tiles)",
            "cimspice.compensation.ir_predistort",
            "PredistortParams",
        ),
        SchemeEntry(
            "column-calibration",
            "per-column gain and offset of readout + ADC, removed digitally",
            "cimspice.compensation.column_calibration",
            "CalibrationParams",
        ),
        SchemeEntry(
            "reference-column",
            "reference columns at g_min cancel the floor current (--mode dummy|differential)",
            "cimspice.compensation.reference_column",
            "ReferenceParams",
        ),
        SchemeEntry(
            "partitioning",
            "smaller tiles, partial sums added digitally (--tile N)",
            "cimspice.compensation.partitioning",
            "PartitionParams",
        ),
        SchemeEntry(
            "input-scaling",
            "lower or binary cell voltages against cell nonlinearity (--mode scale|bit-serial)",
            "cimspice.compensation.input_scaling",
            "InputScalingParams",
        ),
        SchemeEntry(
            "write-verify",
            "programming to a tolerance against single-shot programming (--tol X)",
            "cimspice.compensation.write_verify",
            "WriteVerifyParams",
        ),
    )
}
"""Every tile-level scheme, by name."""

SCHEME_NAMES = tuple(SCHEMES)

MEASURING_ENGINES = tuple(name for name, entry in ENGINES.items() if entry.linear_exact)
"""The engines a scheme can be measured with: those of the registry that solve the circuit of
any spec they are given (the schemes build wider and smaller tiles than the one asked for) and
report the power split the cost model needs (``ngspice``, ``nodal``)."""


def make_scheme(name: str, **params: Any) -> Scheme:
    """Scheme ``name`` with ``params`` (fields of its parameter dataclass, e.g.
    ``tile_rows=16``).

    Raises:
        InputError: an unknown scheme (the known ones listed), an unknown parameter (the
            scheme's listed) or an invalid value (named).
    """
    entry = SCHEMES.get(name) if isinstance(name, str) else None
    if entry is None:
        raise InputError(f"unknown scheme {name!r}; known schemes: {', '.join(SCHEME_NAMES)}")
    cls = entry.load()
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(params) - known)
    if unknown:
        raise InputError(
            f"scheme {name!r} takes no parameter {', '.join(unknown)}; its parameters: "
            + ", ".join(sorted(known))
        )
    return cls(**params)


def evaluate_scheme(
    scheme: str | Scheme,
    spec: CrossbarSpec | str | os.PathLike[str],
    conductances: np.ndarray,
    *,
    engine: str = "ngspice",
    batch: int = 32,
    seed: int = 0,
    cost: CostModel | None = None,
    **params: Any,
) -> CompensationReport:
    """Run ``scheme`` on ``spec`` with target ``conductances`` and measure it on a
    :class:`~cimspice.compensation.tile.Bench` (:func:`cimspice.compensation.scheme.measure`).

    Args:
        scheme: a scheme object, or a name of :data:`SCHEMES` built with ``params``.
        spec: the tile (a loaded spec or the path of a spec file).
        conductances: siemens, ``(rows, cols)``: the targets (the ideal matrix).
        engine: what measures the errors (``"ngspice"``: the tile-level truth; ``"nodal"``).
        batch: held-out input vectors.
        seed: their seed.
        cost: the cost model.
        params: with a name, fields of the scheme's parameter dataclass.

    Every argument is checked before any work (the scheme and its parameters, the spec, then
    the bench's: engine, batch, seed, cost, targets), then the memory the tile needs.

    Raises:
        InputError: an unknown scheme or parameter, parameters beside a scheme object, an
            argument of the wrong type or value (named), or a tile the scheme refuses (naming
            the key).
        SpecError: ``spec`` names a missing or invalid spec file.
        MemoryLimitError: the tile is too large to simulate here.
    """
    from cimspice.compensation.scheme import Scheme, measure
    from cimspice.compensation.tile import Bench
    from cimspice.spec import as_spec

    if isinstance(scheme, str):
        scheme = make_scheme(scheme, **params)
    elif not isinstance(scheme, Scheme):
        raise InputError(
            f"scheme must be a scheme's name ({', '.join(SCHEME_NAMES)}) or a scheme object, "
            f"got {type(scheme).__name__}"
        )
    elif params:
        raise InputError("give a scheme's parameters in its object, not as keywords too")
    spec = as_spec(spec)
    scheme.check_tile(spec)  # before any work
    bench = Bench(spec, conductances, engine=engine, batch=batch, seed=seed, cost=cost)
    return measure(scheme, bench)


def default_targets(spec: CrossbarSpec | str | os.PathLike[str], seed: int = 0) -> np.ndarray:
    """Siemens, ``(rows, cols)``: targets ~ U(g_min, g_min + 0.6 (g_max - g_min)).

    The lower 60% of the window (1-60 uS in a 1-100 uS window), leaving headroom for
    corrections that raise conductances (pre-distortion raises most of them).

    Raises:
        InputError: ``spec`` neither a spec nor a path, or ``seed`` not an integer >= 0.
        SpecError: ``spec`` names a missing or invalid spec file.
        MemoryLimitError: the tile is too large to simulate here (checked before drawing).
    """
    import numpy as np

    from cimspice.compensation.tile import check_tile_fits
    from cimspice.spec import as_spec

    spec = as_spec(spec)
    rng = np.random.default_rng(check_seed(seed))
    check_tile_fits(spec)
    lo, hi = spec.device.g_min, spec.device.g_max
    return rng.uniform(lo, lo + 0.6 * (hi - lo), (spec.rows, spec.cols))
