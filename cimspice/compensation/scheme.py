"""The one interface every tile-level scheme implements, and the one way it is measured.

A scheme is a frozen dataclass of its parameters (validated on construction) with:

- :attr:`Scheme.name`, as on the command line;
- :meth:`Scheme.check_tile`: refuse a tile it cannot work on, naming the spec key and why
  (e.g. ``ir-predistort`` needs a linear tile's transfer matrix);
- :meth:`Scheme.apply`: run the scheme on a :class:`~cimspice.compensation.tile.Bench` and
  return its :class:`Outcome` (the outputs after it, as the digital side sees them after its
  digital correction, and what it costs);
- :meth:`Scheme.network_form`: how it carries over to a network evaluation
  (:class:`NetworkForm`, applied by :mod:`cimspice.studies.schemes`).

:func:`measure` is the only place a report is assembled: it checks the tile, lets the scheme
apply itself to the bench, and takes the "before" from the bench: the targets programmed as
they are, read on the held-out inputs. Every scheme's before and after are
therefore measured the same way (:meth:`~cimspice.compensation.tile.MeasuredTile.read`), and
the before is the same for every scheme on the same tile, targets and inputs.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np

from cimspice.compensation.cost import EnergyBreakdown
from cimspice.compensation.report import CompensationReport
from cimspice.compensation.tile import Bench
from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec

__all__ = [
    "NetworkForm",
    "Outcome",
    "Scheme",
    "SchemeBase",
    "enum_field",
    "measure",
    "tile_conflicts",
]

E = TypeVar("E", bound=enum.Enum)


@dataclass(frozen=True)
class Outcome:
    """What a scheme did on a bench.

    Attributes:
        outputs: ampere, ``(batch, cols)``: the held-out outputs with the scheme, as the
            digital side sees them after the scheme's digital correction.
        energy: joule per MVM with the scheme.
        extra_cells: cells the scheme adds (reference columns, differential pairs).
        extra_columns: bit lines it adds.
        extra_adcs: ADCs it adds.
        cycles: array cycles per MVM with it.
        details: scheme-specific figures (JSON-friendly).
    """

    outputs: np.ndarray
    energy: EnergyBreakdown
    extra_cells: int = 0
    extra_columns: int = 0
    extra_adcs: int = 0
    cycles: int = 1
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NetworkForm:
    """How a tile-level scheme carries over to a network evaluation.

    Attributes:
        label: the network case's label (in tables and plots).
        changes: dotted spec keys (or ``array.size``) and the values the case sets.
        predistort: pre-distort every programmed tile's targets against IR drop.
        calibrate: fit and remove every layer output's gain and offset.
    """

    label: str
    changes: Mapping[str, Any] = field(default_factory=dict)
    predistort: bool = False
    calibrate: bool = False


@runtime_checkable
class Scheme(Protocol):
    """A tile-level compensation scheme (see the module)."""

    name: ClassVar[str]

    def check_tile(self, spec: CrossbarSpec) -> None:
        """Refuse a tile the scheme cannot work on.

        Raises:
            InputError: naming the spec key(s) and the reason.
        """
        ...

    def apply(self, bench: Bench) -> Outcome:
        """Run the scheme on ``bench``'s tile and targets; every output through
        :meth:`~cimspice.compensation.tile.MeasuredTile.read`."""
        ...

    def network_form(self, spec: CrossbarSpec) -> NetworkForm:
        """The scheme at network level on ``spec``'s tiles.

        Raises:
            InputError: it has no network-level form on this spec (naming why).
        """
        ...


class SchemeBase:
    """What schemes share: a tile check that accepts every tile (override to refuse some)."""

    name: ClassVar[str] = ""

    def check_tile(self, spec: CrossbarSpec) -> None:
        """Every tile is accepted (see :meth:`Scheme.check_tile`)."""


def measure(scheme: Scheme, bench: Bench) -> CompensationReport:
    """Measure ``scheme`` on ``bench`` (its tile, targets, engine, held-out inputs and cost):
    the one place a report is assembled.

    Raises:
        InputError: a tile the scheme refuses (naming the key), or what the scheme finds
            wrong with the targets (e.g. outside the window).
    """
    scheme.check_tile(bench.spec)
    outcome = scheme.apply(bench)
    before = bench.before
    return CompensationReport(
        scheme=scheme.name,
        engine=bench.engine_name,
        reference=bench.reference,
        outputs_before=before.outputs,
        outputs_after=outcome.outputs,
        energy_before=bench.energy(before),
        energy_after=outcome.energy,
        base_cells=bench.macs,
        extra_cells=outcome.extra_cells,
        extra_columns=outcome.extra_columns,
        extra_adcs=outcome.extra_adcs,
        cycles_after=outcome.cycles,
        details=outcome.details,
    )


def enum_field(params: object, key: str, kind: type[E], scheme: str) -> E:
    """Field ``key`` of the frozen ``params`` turned into a member of ``kind`` in place (for
    ``__post_init__``).

    Raises:
        InputError: a value that names no member (the known ones listed).
    """
    try:
        value = kind(getattr(params, key))
    except ValueError:
        known = ", ".join(str(m.value) for m in kind)
        raise InputError(
            f"{scheme}: unknown {key} {getattr(params, key)!r}; known: {known}"
        ) from None
    object.__setattr__(params, key, value)
    return value


def tile_conflicts(spec: CrossbarSpec, *, linear: bool, ideal_readout: bool) -> list[str]:
    """The spec keys of ``spec`` (as ``key = 'value'``) that break what a scheme needs: bare
    memristors (``array.cell = '0T1R'``: no access transistor, no selector) always; with
    ``linear``, ohmic ones (``device.iv = 'linear'``); with ``ideal_readout``, ideal virtual
    grounds (``readout.kind = 'ideal'``)."""
    keys = []
    if spec.array.cell.value != "0T1R":
        keys.append(f"array.cell = {spec.array.cell.value!r}")
    if linear and spec.device.iv.value != "linear":
        keys.append(f"device.iv = {spec.device.iv.value!r}")
    if ideal_readout and spec.readout.kind.value != "ideal":
        keys.append(f"readout.kind = {spec.readout.kind.value!r}")
    return keys
