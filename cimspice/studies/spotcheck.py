"""SPICE spot-check: one tile of an evaluation re-run in ngspice, the surrogate's error on it.

The tile's exact conductances (as read: every non-ideality applied) and the word-line
voltages the evaluation gave it (:class:`~cimspice.mapping.matmul.TileRecord`) go through
ngspice (:func:`cimspice.simulation.simulate`) on the analogue tile
(:func:`~cimspice.mapping.matmul.tile_spec`: the spec's circuit, wires at its temperature,
converters off since the network applies them). What the evaluation read of the tile is
compared with ngspice's over every column, as fractions of full scale (:mod:`cimspice.metrics`):
the column currents of a tile read by ideal virtual grounds, the TIAs' output voltages (what
the ADC reads) of a tile ending in TIAs. The figures are set beside the surrogate file's
held-out validation error of the same quantity and mode (its calibration report's figures).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from cimspice.errors import InputError
from cimspice.mapping.matmul import TileRecord, tile_spec
from cimspice.metrics import max_error, nrmse
from cimspice.spec import CrossbarSpec

__all__ = ["ROUNDOFF", "SpotCheck", "held_out_error", "spot_check"]

ROUNDOFF = 1e-12
"""Fraction of full scale below which an error is the solvers' round-off: ngspice and the
nodal solve agree to about 3e-13 at 128x128 (BENCHMARKS.md). A measured error under it counts
as within the held-out error whatever the held-out figure (both are then round-off)."""


@dataclass(frozen=True)
class SpotCheck:
    """The surrogate's error on one tile of an evaluation, against ngspice.

    Attributes:
        layer: the model layer's index.
        tile: the tile's index in the layer.
        vectors: number of input vectors run.
        quantity: what was compared: ``"currents"`` (A) or ``"v_out"`` (V, TIA outputs).
        nrmse: the evaluation's outputs vs ngspice, RMS error as a fraction of full scale.
        max_error: the same, largest error.
        held_out_nrmse: the surrogate file's held-out NRMSE (``None``: no file, the nominal
            surrogate was used).
        held_out_max_error: the surrogate file's held-out max error.
        within: whether both measured errors are within the held-out ones, or below
            :data:`ROUNDOFF` (``None`` without a file).
        spice_s: seconds ngspice took (process included).
    """

    layer: int
    tile: int
    vectors: int
    quantity: str
    nrmse: float
    max_error: float
    held_out_nrmse: float | None
    held_out_max_error: float | None
    within: bool | None
    spice_s: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return asdict(self)

    def summary(self) -> str:
        """One line for the console."""
        line = (
            f"spot-check (ngspice): layer {self.layer} tile {self.tile}, {self.vectors} vectors, "
            f"{self.quantity}: surrogate NRMSE {self.nrmse:.2e}, max {self.max_error:.2e}"
        )
        if self.held_out_nrmse is None or self.held_out_max_error is None:
            return line + " (nominal surrogate: no calibration report to compare with)"
        verdict = "within" if self.within else "NOT within"
        return (
            f"{line}; {verdict} the surrogate's held-out NRMSE {self.held_out_nrmse:.2e}, "
            f"max {self.held_out_max_error:.2e}"
        )


def held_out_error(
    metadata: dict[str, Any], *, mode: str = "accurate", v_out: bool = False
) -> tuple[float, float] | None:
    """``(nrmse, max_error)`` of a surrogate file's held-out validation for ``mode``
    (``"accurate"`` or ``"fast"``) and quantity (the currents, or with ``v_out`` the TIAs'
    outputs), if it holds them (``validation.metrics`` in the file, as ``cimspice calibrate``
    writes it: ``surrogate``, ``surrogate-fast``, ``surrogate v_out``, ...)."""
    name = "surrogate" if mode == "accurate" else "surrogate-fast"
    if v_out:
        name += " v_out"
    try:
        row = metadata["validation"]["metrics"][name]
        return float(row["nrmse"]), float(row["max_error"])
    except (KeyError, TypeError, ValueError):
        return None


def spot_check(
    spec: CrossbarSpec,
    record: TileRecord,
    *,
    held_out: tuple[float, float] | None = None,
    timeout_s: float = 600.0,
) -> SpotCheck:
    """Run ``record``'s tile in ngspice and measure the evaluation's currents against it.

    Args:
        spec: the evaluated spec.
        record: the tile's conductances, voltages and the outputs the evaluation used.
        held_out: the surrogate file's held-out ``(nrmse, max_error)`` (see
            :func:`held_out_error`).
        timeout_s: ngspice's time limit.

    Raises:
        InputError: the recorded inputs are all zero (no current to compare).
        SimulationError, EngineUnavailableError: ngspice failed or is not installed.
    """
    from cimspice.simulation import simulate

    if not np.any(record.voltages):
        raise InputError(
            f"layer {record.layer} tile {record.tile} got all-zero inputs: nothing to check"
        )
    if spec.is_charge:
        return _charge_spot_check(record, held_out, timeout_s)
    start = time.perf_counter()
    result = simulate(
        tile_spec(spec),
        record.conductances,
        record.voltages,
        engine="ngspice",
        timeout_s=timeout_s,
    )
    elapsed = time.perf_counter() - start
    mine, spice, quantity = record.currents, result.currents, "currents"
    if record.v_out is not None:
        if result.v_out is None:
            raise InputError("the record holds TIA outputs but the spec's tile has no TIAs")
        mine, spice, quantity = record.v_out, result.v_out, "v_out"
    return _compare(record, (mine, spice), quantity, held_out, elapsed)


def _compare(
    record: TileRecord,
    pair: tuple[np.ndarray, np.ndarray],
    quantity: str,
    held_out: tuple[float, float] | None,
    elapsed: float,
) -> SpotCheck:
    """The :class:`SpotCheck` of the evaluation's outputs against ngspice's (``pair``)."""
    mine, spice = pair
    err_rms, err_max = nrmse(mine, spice), max_error(mine, spice)
    within = None
    if held_out is not None:
        within = err_rms <= max(held_out[0], ROUNDOFF) and err_max <= max(held_out[1], ROUNDOFF)
    return SpotCheck(
        record.layer,
        record.tile,
        record.voltages.shape[0],
        quantity,
        err_rms,
        err_max,
        None if held_out is None else held_out[0],
        None if held_out is None else held_out[1],
        within,
        elapsed,
    )


def _charge_spot_check(
    record: TileRecord, held_out: tuple[float, float] | None, timeout_s: float
) -> SpotCheck:
    """A charge-domain (1C) tile's spot-check: its MAC cycles (every input bit of the
    recorded vectors, with its weight bits and drawn capacitors) in ngspice without noise,
    against the surrogate's noiseless column swings (``v_out``, V) that the record holds."""
    from cimspice.charge.engine import ChargeEngine, ChargeTile

    tile = record.programmed
    if not isinstance(tile, ChargeTile) or record.v_out is None:
        raise InputError("the record holds no charge-domain tile to re-run")
    start = time.perf_counter()
    engine = ChargeEngine(surrogate=None, noise=False, timeout_s=timeout_s)
    spice = engine.program(tile.spec, tile.bits, caps=tile.caps).run(record.voltages).v_out
    assert spice is not None
    elapsed = time.perf_counter() - start
    return _compare(record, (record.v_out, spice), "v_out", held_out, elapsed)
