"""The tile surrogate: a crossbar with fitted wire and cell-series resistances, solved exactly.

Parameters (ohm, all fitted to ngspice runs):

- ``r_first``: driver to the first cell of a word line (driver output + first segment);
- ``r_row``, ``r_col``: word- and bit-line segments;
- ``r_last``: last cell of a bit line to the sense node (last segment + readout input);
- ``r_cell``: a series resistance inside every cell (zero for a bare memristor; an access
  transistor's on-resistance for 1T1R cells, where it is the whole transistor model: exact
  only while the transistor stays in its linear region at a fixed gate voltage);
- ``r_cell_g``: how much that series resistance grows from a cell at 0 S to one at ``g_max``
  (``r_cell + r_cell_g * G / g_max``): a transistor carrying a larger cell current sees a
  larger drain-source voltage and so a larger on-resistance.

The cells follow the spec's own law (``[device] iv``, and the selector of 1S1R cells). A TIA
readout (behavioural or CMOS op-amp) is solved on top of the array: each bit line's sense node
sits where its TIA's loop holds it (:mod:`cimspice.surrogate.readout`).

For linear cells the tile is linear for a given conductance matrix, so
:meth:`TileSurrogate.prepare` computes its exact transfer matrix ``T`` once (and, with TIAs,
the sense nodes' coupling; both by :mod:`cimspice.engines.cascade`); every MVM is then one
dense matmul, ``I = V @ T``, in either mode. For nonlinear cells there are two modes
(:mod:`cimspice.surrogate.prepared`): ``accurate`` solves the fitted network exactly
(Newton, and the TIAs' loops around it), ``fast`` evaluates secant transfer matrices (1T1R) or
per-cell polynomials of attenuated inputs, a matmul per batch, with TIAs their loops
linearised at the same levels and folded into that matmul
(:mod:`cimspice.surrogate.fast_readout`).
"""

from __future__ import annotations

import functools
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cimspice import __version__
from cimspice.arguments import check_fields, path_argument
from cimspice.arrays import check_conductances, check_inputs
from cimspice.checksums import json_checksum
from cimspice.converters import dac
from cimspice.engines import cascade
from cimspice.engines import transfer as exact_transfer
from cimspice.engines.base import EngineBase
from cimspice.engines.cell_laws import CellLaw, SeriesLaw, cell_law, memristor_law
from cimspice.engines.nodal import NodalSolver
from cimspice.engines.wire_drops import WireDrops
from cimspice.errors import InputError, IntegrityWarning, RangeWarning, SurrogateError
from cimspice.outputs import atomic_output
from cimspice.result import Result
from cimspice.spec import CellKind, CrossbarSpec, DeviceIV, spec_from_dict
from cimspice.surrogate.fast_readout import FastTiaTile, FoldedTiaTile, TiaTable
from cimspice.surrogate.prepared import (
    ENVELOPE_FACTOR,
    FAST_EXTRAPOLATION,
    LEVELS,
    AttenuationTile,
    LawFor,
    NewtonTile,
    PreparedTile,
    SecantTile,
    TileLevels,
    fast_read,
    solve_tile,
)
from cimspice.surrogate.readout import MeasuredTia, Readout, readout_of
from cimspice.surrogate.transistor_iv import AccessTransistor
from cimspice.topology import PassiveTopology

__all__ = [
    "FORMAT",
    "MODES",
    "LinearTileSurrogate",
    "Prepared",
    "PreparedTile",
    "RangeWarning",
    "SurrogateEngine",
    "SurrogateOptions",
    "SurrogateTile",
    "TileParams",
    "TileSurrogate",
    "load_surrogate",
    "tile_outputs",
]

Prepared = PreparedTile | NewtonTile | AttenuationTile | SecantTile | FastTiaTile | FoldedTiaTile
"""A surrogate bound to one conductance matrix (see :mod:`cimspice.surrogate.prepared`)."""
MODES = ("accurate", "fast")
"""Surrogate modes for nonlinear cells (identical, and exact, for linear cells)."""

FORMAT = "cimspice-surrogate/2"
"""The file format written: version 1 plus a checksum (``sha256``, see :func:`load_surrogate`)."""
LEGACY_FORMATS = ("cimspice-surrogate/1",)
"""Formats still read: written before checksums, so edits to them cannot be detected (they
load with an :class:`~cimspice.errors.IntegrityWarning`)."""


@dataclass(frozen=True)
class TileParams:
    """Fitted resistances of the tile model (ohm, all >= 0); see the module docstring."""

    r_first: float
    r_row: float
    r_col: float
    r_last: float
    r_cell: float = 0.0
    r_cell_g: float = 0.0

    def __post_init__(self) -> None:
        check_fields(self, "params")

    @classmethod
    def from_spec(cls, spec: CrossbarSpec) -> TileParams:
        """The spec's nominal values (the starting point of a fit)."""
        topo = PassiveTopology.from_spec(spec)
        return cls(topo.r_first, topo.r_row, topo.r_col, topo.r_last, 0.0, 0.0)

    def as_array(self) -> np.ndarray:
        """``[r_first, r_row, r_col, r_last, r_cell, r_cell_g]``."""
        return np.array(
            [self.r_first, self.r_row, self.r_col, self.r_last, self.r_cell, self.r_cell_g]
        )

    @classmethod
    def from_array(cls, values: np.ndarray) -> TileParams:
        """Inverse of :meth:`as_array` (values clipped at 0)."""
        v = np.maximum(np.asarray(values, dtype=float), 0.0)
        return cls(*(float(x) for x in v))


@dataclass(frozen=True)
class TileSurrogate:
    """The fitted model of one spec's tile.

    Attributes:
        spec: the spec it was calibrated for.
        params: the fitted resistances.
        ranges: calibrated ranges: ``g_min``, ``g_max`` (S), ``v_min``, ``v_max`` (V).
        metadata: versions, validation metrics and fit details (JSON-friendly).
        transistor: the access transistor's measured I-V (1T1R tiles calibrated with it);
            without it a 1T1R cell's transistor is the fitted series resistance alone.
        readout_transfer: a transistor-level TIA's static transfer, measured in ngspice.
    """

    spec: CrossbarSpec
    params: TileParams
    ranges: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    transistor: AccessTransistor | None = None
    readout_transfer: MeasuredTia | None = None

    def __post_init__(self) -> None:
        check_fields(self, "surrogate")

    def topology(self) -> PassiveTopology:
        """The network with the fitted wire resistances."""
        p = self.params
        return PassiveTopology(
            self.spec.rows, self.spec.cols, p.r_first, p.r_row, p.r_col, p.r_last
        )

    @property
    def is_linear(self) -> bool:
        """Whether the modelled cells are linear (then both modes are exact and identical; a
        TIA readout is solved on top of the linear array)."""
        return (
            self.spec.device.iv == DeviceIV.LINEAR
            and self.spec.array.cell == CellKind.PASSIVE
            and self.transistor is None
        )

    def _series(self, g: np.ndarray) -> np.ndarray:
        """Ohm: the fitted series resistance inside each cell."""
        p = self.params
        return p.r_cell + p.r_cell_g * g / self.spec.device.g_max

    def _solver(self, g: np.ndarray) -> NodalSolver:
        return self._network(self._cells(g))

    def _network(self, conductances: np.ndarray) -> NodalSolver:
        """The fitted wires with plain linear cells of ``conductances`` (large tiles reduced
        to their ports, as the nodal engine's default does)."""
        return NodalSolver(self._passive, conductances, topology=self.topology(), solver="auto")

    def cell_law(self, conductances: np.ndarray, source: np.ndarray | None = None) -> CellLaw:
        """The law of every cell (memristor, selector, fitted series resistance, measured
        access transistor with its source at ``source`` volts), shaped ``(rows, cols, 1)``."""
        g = check_conductances(conductances, self.spec.rows, self.spec.cols)
        selector = None
        if self.spec.array.cell.value == "1S1R":
            selector = (self.spec.selector.i_s, self.spec.selector.v_s)
        law = cell_law(
            g[:, :, None],
            iv=self.spec.device.iv.value,
            v0=self.spec.device.v0,
            selector=selector,
            series_resistance=self._series(g)[:, :, None],
        )
        if self.transistor is None:
            return law
        return SeriesLaw(law, self.transistor.law(0.0 if source is None else source))

    def _law_for(self, g: np.ndarray) -> LawFor:
        """The cells' law for conductances ``g`` given the bit-line potentials."""
        return lambda source: self.cell_law(g, source)

    @functools.cached_property
    def readout(self) -> Readout | None:
        """The spec's TIAs (``None``: ideal virtual grounds).

        Raises:
            SurrogateError: a readout the surrogate does not model.
        """
        return readout_of(self.spec, self.readout_transfer)

    def _cells(self, g: np.ndarray) -> np.ndarray:
        """Siemens: linear cells of conductances ``g`` with the fitted series resistance."""
        return g / (1.0 + g * self._series(g))

    @functools.cached_property
    def _wires(self) -> WireDrops:
        """The fitted wires as an operator."""
        return WireDrops.from_topology(self.topology())

    @functools.cached_property
    def _passive(self) -> CrossbarSpec:
        """The model is a passive network whatever the tile (a 1T1R cell's transistor is the
        fitted r_cell): the spec the nodal solve is given."""
        return spec_from_dict({"array": {"rows": self.spec.rows, "cols": self.spec.cols}})

    def prepare(self, conductances: np.ndarray, mode: str = "accurate") -> Prepared:
        """Bind the surrogate to ``conductances`` (S, ``(rows, cols)``).

        Args:
            conductances: siemens, ``(rows, cols)``.
            mode: ``"accurate"`` or ``"fast"`` (see the module docstring); linear cells give
                the exact transfer matrix either way, and behind TIAs the fast mode folds the
                op-amps' tangent into it (:class:`~cimspice.surrogate.fast_readout.FoldedTiaTile`).
        """
        if mode not in MODES:
            raise SurrogateError(f"unknown surrogate mode {mode!r}; modes: {', '.join(MODES)}")
        start = time.perf_counter()
        g = check_conductances(conductances, self.spec.rows, self.spec.cols)
        if self.is_linear:
            # the exact matrices of the fitted network (a cascade of row admittances, or on
            # large tiles the port reduction: the same numbers as the nodal solve's sparse LU,
            # to 5e-13 of full scale at 128x128)
            matrix, coupling = exact_transfer.transfer_and_coupling(self.topology(), self._cells(g))
            if self.readout is None:
                return PreparedTile(matrix, time.perf_counter() - start)
            exact = PreparedTile(matrix, time.perf_counter() - start, self.readout, coupling)
            if mode == "fast":  # the TIAs' tangent folded in, the exact loops off the band
                return FoldedTiaTile.build(exact, self._tia_table)
            return exact
        readout = self.readout  # refuses a readout it does not model, before any solve
        rows, cols = self.spec.rows, self.spec.cols
        transistor = self.transistor is not None
        # Every mode measures the tile at uniform levels over the calibrated input range (the
        # spec's v_read before calibration).
        v_max = self.spec.driver.v_read
        if self.ranges:
            v_max = max(abs(self.ranges["v_max"]), abs(self.ranges["v_min"])) or v_max
        reference = TileLevels.measure(
            self._law_for(g), self._wires, (rows, cols), v_max, source_dependent=transistor
        )
        if mode == "accurate":
            return NewtonTile.build(reference, readout)
        return self._fast(reference, readout)

    def _fast(
        self, reference: TileLevels, readout: Readout | None
    ) -> SecantTile | AttenuationTile | FastTiaTile:
        """The fast mode of a nonlinear tile measured at uniform levels (see the module)."""
        if self.transistor is not None and self.spec.device.iv == DeviceIV.LINEAR:
            # linear memristors behind transistors: weakly nonlinear, secant transfer matrices
            def transfer_of(secant: np.ndarray) -> np.ndarray:
                return exact_transfer.transfer_matrix(self.topology(), secant)

            if readout is None:
                return SecantTile.build(reference, transfer_of)
            # with TIAs, the secant network's sense coupling from the same cascade (its loops
            # measured as close to ngspice as the slopes' network's: 2.4e-4 of full scale
            # against 2.5e-4 on a 14x10 tile with a CMOS op-amp)
            start = time.perf_counter()
            secants = SecantTile.secants(reference)
            pairs = [
                exact_transfer.transfer_and_coupling(self.topology(), secants[:, :, k])
                for k in range(LEVELS)
            ]
            matrices, couplings = (np.stack(m) for m in zip(*pairs, strict=True))
            return FastTiaTile.build(
                SecantTile,
                reference,
                matrices,
                couplings,
                self._tia_table,
                seconds=time.perf_counter() - start,
            )
        if readout is None:
            return AttenuationTile.build(reference)
        # the TIAs' loops, linearised at each level: the cells' slopes there
        start = time.perf_counter()
        slopes = reference.solution.slopes
        assert slopes is not None  # every Newton solution carries them
        couplings = np.stack(
            [cascade.coupling_matrix(self.topology(), slopes[:, :, k]) for k in range(LEVELS)]
        )
        matrices = AttenuationTile.level_matrices(reference)
        return FastTiaTile.build(
            AttenuationTile,
            reference,
            matrices,
            couplings,
            self._tia_table,
            seconds=time.perf_counter() - start,
        )

    @functools.cached_property
    def _tia_table(self) -> TiaTable:
        """The TIAs' transfer tabulated for the fast mode, over every column current the tile
        can carry (every cell at the calibrated ``g_max`` and input, by the memristor's own
        law, with margin, as ``calibrate`` measures a CMOS op-amp)."""
        readout = self.readout
        assert readout is not None
        g_max = self.ranges.get("g_max", self.spec.device.g_max)
        v_max = self.spec.driver.v_read
        if self.ranges:
            v_max = max(v_max, abs(self.ranges["v_max"]), abs(self.ranges["v_min"]))
        law = memristor_law(np.asarray(g_max), self.spec.device.iv.value, self.spec.device.v0)
        return TiaTable.of(readout, 1.25 * self.spec.rows * float(law.current(np.asarray(v_max))))

    def outputs(
        self, conductances: np.ndarray, inputs: np.ndarray, mode: str = "accurate"
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(currents, v_out)`` for one conductance matrix and a batch: ampere and, with
        TIAs, their output voltages from the same solve (else ``None``)."""
        if self.readout is None:
            return self.currents(conductances, inputs, mode), None
        return tile_outputs(self.prepare(conductances, mode), inputs)

    def currents(
        self, conductances: np.ndarray, inputs: np.ndarray, mode: str = "accurate"
    ) -> np.ndarray:
        """Ampere, ``(batch, cols)``, for one conductance matrix and a batch of inputs.

        For linear cells a batch smaller than the number of rows is solved directly (cheaper
        than the transfer matrix); a larger one goes through the transfer matrix.
        """
        v = check_inputs(inputs, self.spec.rows)
        if self.is_linear and v.shape[0] < self.spec.rows and self.readout is None:
            g = check_conductances(conductances, self.spec.rows, self.spec.cols)
            return self._solver(g).solve(v).currents
        if not self.is_linear and mode == "accurate" and v.shape[0] <= LEVELS and not self.readout:
            # A few vectors (a fit's residuals): solve them directly, without first measuring
            # the levels that only seed a larger batch's Newton.
            g = check_conductances(conductances, self.spec.rows, self.spec.cols)
            solution = solve_tile(
                self._law_for(g),
                self._wires,
                v,
                self.spec.cols,
                source_dependent=self.transistor is not None,
            )
            return solution.currents.sum(axis=0).T
        return self.prepare(conductances, mode).currents(v)

    def extrapolates(self, mode: str = "accurate") -> bool:
        """Whether, in ``mode``, the model extrapolates curves fitted or measured over its
        calibrated range: the fast mode of a nonlinear tile (its per-cell polynomials or secant
        lines), and any tile with an access transistor (its measured I-V table, or the fitted
        in-cell resistance standing for it). A linear passive tile, or a two-terminal
        nonlinear tile in the accurate mode, is an exact network of fitted wires and the
        spec's own cell law at any value."""
        if self.is_linear:
            return False
        return mode == "fast" or self.transistor is not None or self.spec.has_transistors

    def check_ranges(
        self, conductances: np.ndarray, inputs: np.ndarray, mode: str = "accurate"
    ) -> None:
        """Check values against the calibrated ranges: warn (``RangeWarning``, with the
        numbers) about values outside them; refuse values far outside them where the model
        extrapolates (:meth:`extrapolates`): inputs beyond
        :data:`~cimspice.surrogate.prepared.ENVELOPE_FACTOR` times the largest calibrated
        input magnitude, or conductances beyond that many times the calibrated ``g_max``.

        Raises:
            SurrogateError: values far outside the calibrated ranges of a model that
                extrapolates (both numbers and the factor named).
        """
        if not self.ranges:
            return
        g, v = np.asarray(conductances), np.asarray(inputs)
        if self.extrapolates(mode):
            self._check_envelope(g, v, mode)
        lo, hi = self.ranges["g_min"], self.ranges["g_max"]
        if g.min() < lo * (1 - 1e-9) or g.max() > hi * (1 + 1e-9):
            warnings.warn(
                f"conductances span [{g.min():.4g}, {g.max():.4g}] S, outside the calibrated "
                f"[{lo:.4g}, {hi:.4g}] S",
                RangeWarning,
                stacklevel=3,
            )
        lo, hi = self.ranges["v_min"], self.ranges["v_max"]
        if v.min() < lo - 1e-12 or v.max() > hi + 1e-12:
            warnings.warn(
                f"inputs span [{v.min():.4g}, {v.max():.4g}] V, outside the calibrated "
                f"[{lo:.4g}, {hi:.4g}] V",
                RangeWarning,
                stacklevel=3,
            )

    def _check_envelope(self, g: np.ndarray, v: np.ndarray, mode: str) -> None:
        """The refusal half of :meth:`check_ranges`."""
        far = []
        g_top = self.ranges["g_max"]
        if g_top > 0 and float(g.max()) > ENVELOPE_FACTOR * g_top:
            far.append(
                f"conductances reach {float(g.max()):.4g} S, {float(g.max()) / g_top:.3g}x "
                f"the calibrated g_max {g_top:.4g} S"
            )
        v_top = max(abs(self.ranges["v_min"]), abs(self.ranges["v_max"]))
        v_reach = float(np.max(np.abs(v), initial=0.0))
        if v_top > 0 and v_reach > ENVELOPE_FACTOR * v_top:
            far.append(
                f"inputs reach {v_reach:.4g} V, {v_reach / v_top:.3g}x the largest calibrated "
                f"{v_top:.4g} V"
            )
        if not far:
            return
        if mode == "fast" and self.transistor is None and not self.spec.has_transistors:
            why = FAST_EXTRAPOLATION
        else:
            why = (
                "the access transistor's calibrated model is extrapolated there: calibrate "
                "over these values"
            )
        raise SurrogateError(
            f"{'; '.join(far)}: beyond {ENVELOPE_FACTOR:g}x its calibrated range this "
            f"surrogate ({mode} mode) cannot be trusted, since {why}"
        )

    # ----- file format -----

    def to_json(self) -> dict[str, Any]:
        """The surrogate as JSON data, with its checksum (``sha256``, of everything else)."""
        data = {
            "format": FORMAT,
            "model": "resistive-tile",
            "spec": self.spec.to_dict(),
            "spec_hash": self.spec.content_hash(),
            "params": asdict(self.params),
            "ranges": self.ranges,
            "versions": {"cimspice": __version__, **self.metadata.get("versions", {})},
            **({"access_transistor": self.transistor.to_json()} if self.transistor else {}),
            **(
                {"readout_transfer": self.readout_transfer.to_json()}
                if self.readout_transfer
                else {}
            ),
            **{k: v for k, v in self.metadata.items() if k not in ("versions", "sha256")},
        }
        data = json.loads(json.dumps(data))  # what a reader will see (tuples are lists, ...)
        return {**data, "sha256": json_checksum(data)}

    def save(self, path: str | Path) -> None:
        """Write the surrogate file (JSON), atomically."""
        path = path_argument(path, "path")
        with atomic_output(path, "w") as handle:
            json.dump(self.to_json(), handle, indent=2, sort_keys=False)
            handle.write("\n")


_PARAM_KEYS = ("r_first", "r_row", "r_col", "r_last", "r_cell", "r_cell_g")
_RANGE_KEYS = ("g_min", "g_max", "v_min", "v_max")


def _numbers(table: object, keys: tuple[str, ...], what: str) -> dict[str, float]:
    """``table`` as exactly ``keys`` -> finite floats (and >= 0 for resistances)."""
    if not isinstance(table, dict) or set(table) != set(keys):
        raise ValueError(f"'{what}' must hold exactly the keys {', '.join(keys)}")
    out = {}
    for key in keys:
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"'{what}.{key}' must be a number, got {value!r}")
        if not np.isfinite(value) or (what == "params" and value < 0):
            raise ValueError(f"'{what}.{key}' must be finite{' and >= 0' * (what == 'params')}")
        out[key] = float(value)
    return out


def tile_outputs(prepared: Prepared, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(currents, v_out)`` of a prepared tile (``v_out`` ``None`` without TIAs)."""
    if isinstance(prepared, PreparedTile | NewtonTile | FastTiaTile | FoldedTiaTile):
        return prepared.outputs(inputs)
    return prepared.currents(inputs), None


LinearTileSurrogate = TileSurrogate
"""The name :class:`TileSurrogate` had while it modelled linear cells only."""


def load_surrogate(path: str | Path) -> TileSurrogate:
    """Read a surrogate file.

    Every value is validated, then the file's checksum (``sha256``: of the canonical JSON of
    everything else, :func:`~cimspice.checksums.json_checksum`) is recomputed: a file edited
    after cimspice wrote it is refused. Files of the older format (``cimspice-surrogate/1``,
    written before checksums) load with an :class:`~cimspice.errors.IntegrityWarning`, since
    edits to them cannot be detected; recalibrating writes a checked file.

    Raises:
        SurrogateError: the file is missing, not JSON, not a cimspice surrogate, corrupt, or
            edited after cimspice wrote it (its checksum does not match, or is missing).
        InputError: ``path`` is not a path.
    """
    path = path_argument(path, "path")
    if path.exists() and not path.is_file():  # a folder, FIFO or device: never opened
        raise SurrogateError(f"surrogate file {path} is not a regular file")
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SurrogateError(f"surrogate file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SurrogateError(f"surrogate file {path} is not readable JSON: {err}") from None
    except RecursionError:
        raise SurrogateError(
            f"surrogate file {path} is not a cimspice surrogate: its JSON is nested too deeply"
        ) from None
    formats = (FORMAT, *LEGACY_FORMATS)
    if not isinstance(data, dict) or data.get("format") not in formats:
        raise SurrogateError(f"{path} is not a cimspice surrogate file (format {FORMAT})")
    try:
        spec = spec_from_dict(data["spec"])
        if spec.content_hash() != data["spec_hash"]:
            raise SurrogateError(f"surrogate file {path} is corrupt: its spec hash does not match")
        raw = data["params"]
        if isinstance(raw, dict) and "r_cell_g" not in raw:  # files from before r_cell_g
            raw = {**raw, "r_cell_g": 0.0}
        params = TileParams(**_numbers(raw, _PARAM_KEYS, "params"))
        ranges = _numbers(data["ranges"], _RANGE_KEYS, "ranges")
        if not 0 <= ranges["g_min"] <= ranges["g_max"] or ranges["v_min"] > ranges["v_max"]:
            raise ValueError(
                "'ranges' must hold 0 <= g_min <= g_max and v_min <= v_max, got "
                + ", ".join(f"{k} = {v!r}" for k, v in ranges.items())
            )
        transistor = None
        if "access_transistor" in data:
            transistor = AccessTransistor.from_json(data["access_transistor"])
        transfer = None
        if "readout_transfer" in data:
            transfer = MeasuredTia.from_json(data["readout_transfer"])
    except SurrogateError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise SurrogateError(f"surrogate file {path} is corrupt: {err}") from None
    _verify_checksum(path, data)
    skip = {"format", "spec", "params", "ranges", "access_transistor", "readout_transfer"}
    metadata = {k: v for k, v in data.items() if k not in skip | {"sha256"}}
    return TileSurrogate(spec, params, ranges, metadata, transistor, transfer)


def _verify_checksum(path: Path, data: dict[str, Any]) -> None:
    """Refuse a surrogate file whose content is not what cimspice wrote (see
    :func:`load_surrogate`); warn about an old one that cannot tell."""
    content = {k: v for k, v in data.items() if k != "sha256"}
    claimed = data.get("sha256")
    if claimed is None and data["format"] in LEGACY_FORMATS:
        warnings.warn(
            f"surrogate file {path} has no checksum (format {data['format']}, written before "
            "cimspice checked its files): edits made to it cannot be detected; calibrate again "
            "to get a checked file",
            IntegrityWarning,
            stacklevel=3,
        )
        return
    if claimed is None:
        raise SurrogateError(
            f"surrogate file {path} has no checksum ('sha256'): it was edited after cimspice "
            "wrote it (calibrate again)"
        )
    if claimed != json_checksum(content):
        raise SurrogateError(
            f"surrogate file {path} was edited after cimspice wrote it: its checksum does not "
            "match its content (calibrate again rather than editing a fitted surrogate)"
        )


@dataclass(frozen=True, eq=False)
class SurrogateOptions:
    """Options of the ``surrogate`` engine.

    Attributes:
        surrogate: a calibrated :class:`TileSurrogate`, or the path of its file (required).
        mode: ``"accurate"`` or ``"fast"`` (nonlinear cells; see :class:`TileSurrogate`).
    """

    surrogate: TileSurrogate | str | Path | None = None
    mode: str = "accurate"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SurrogateError(f"unknown surrogate mode {self.mode!r}; modes: {', '.join(MODES)}")
        if self.surrogate is None:
            raise SurrogateError(
                "the surrogate engine needs a calibrated surrogate (option surrogate: a "
                "TileSurrogate or the path of a file written by cimspice calibrate)"
            )
        if not isinstance(self.surrogate, TileSurrogate | str | os.PathLike):
            raise InputError(
                "surrogate must be a TileSurrogate or the path of a surrogate file, got "
                f"{type(self.surrogate).__name__}"
            )


@dataclass(frozen=True, eq=False)
class SurrogateTile:
    """A surrogate bound to one conductance matrix (a
    :class:`~cimspice.engines.base.ProgrammedTile`)."""

    spec: CrossbarSpec
    conductances: np.ndarray
    prepared: Prepared
    mode: str

    @property
    def prepare_s(self) -> float:
        """Seconds the preparation took."""
        return self.prepared.prepare_s

    @property
    def transfer(self) -> np.ndarray | None:
        """The exact transfer matrix of a linear tile read by ideal virtual grounds."""
        p = self.prepared
        return p.transfer if isinstance(p, PreparedTile) and p.readout is None else None

    @property
    def single_precision(self) -> bool:
        """Whether the tile computes in single precision (the fast modes of nonlinear tiles):
        it reads single-precision inputs as exactly as double-precision ones."""
        return isinstance(self.prepared, FastTiaTile | FoldedTiaTile | SecantTile | AttenuationTile)

    def read(self, voltages: np.ndarray, cols: int | None = None) -> np.ndarray:
        """What an ADC reads for word-line ``voltages`` (V, applied; ``(batch, used)`` on the
        first ``used <= rows`` word lines, the others at 0 V): the TIAs' ``v_out`` (V), or
        the column currents (A) with ideal virtual grounds, of the first ``cols`` columns
        (default: all; the fast modes compute those alone). The same numbers as
        :meth:`run`'s (the fast modes' in single precision), without the rest of a
        :class:`~cimspice.result.Result`: a network's hot path.

        Raises:
            InputError: inputs of the wrong shape, or NaN or infinite ones.
        """
        if isinstance(self.prepared, FastTiaTile | FoldedTiaTile):
            return self.prepared.read(voltages, cols)
        if isinstance(self.prepared, SecantTile | AttenuationTile):
            return fast_read(self.prepared, voltages, cols)
        v = np.asarray(voltages)
        if v.ndim == 2 and v.shape[1] < self.spec.rows:
            padded = np.zeros((v.shape[0], self.spec.rows))
            padded[:, : v.shape[1]] = v
            v = padded
        currents, v_out = tile_outputs(self.prepared, v)
        return (currents if v_out is None else v_out)[:, :cols]

    def run(self, voltages: np.ndarray, *, node_voltages: bool = False) -> Result:
        """Currents (and, with TIAs, ``v_out``) for word-line ``voltages`` (V, applied).

        Raises:
            SurrogateError: node voltages asked for (the surrogate has none).
        """
        if node_voltages:
            raise SurrogateError("the surrogate engine computes output currents only")
        start = time.perf_counter()
        currents, v_out = tile_outputs(self.prepared, voltages)  # every kind checks them
        return Result(
            engine="surrogate",
            currents=currents,
            v_out=v_out,
            elapsed_s=time.perf_counter() - start,
            info={"prepare_s": self.prepare_s, "mode": self.mode},
        )


class SurrogateEngine(EngineBase):
    """The ``surrogate`` engine: a calibrated :class:`TileSurrogate`.

    Options: :class:`SurrogateOptions` (as an object or as keywords); the surrogate can also
    be given as the first argument, ``SurrogateEngine(surrogate, mode=...)``.
    """

    name = "surrogate"
    Options = SurrogateOptions

    def __init__(
        self,
        options: SurrogateOptions | TileSurrogate | str | Path | None = None,
        **given: Any,
    ):
        if options is not None and not isinstance(options, SurrogateOptions):
            options = SurrogateOptions(options, **given)
            given = {}
        super().__init__(options, **given)
        self.mode = self.options.mode
        source = self.options.surrogate
        self.surrogate = source if isinstance(source, TileSurrogate) else load_surrogate(source)

    def program(self, spec: CrossbarSpec, conductances: np.ndarray) -> SurrogateTile:
        """Prepare the surrogate for ``conductances`` (S) on ``spec``, the calibrated spec.

        Raises:
            SurrogateError: the spec differs from the one the surrogate was calibrated for.
        """
        spec, g = self.checked(spec, conductances)
        if spec.content_hash() != self.surrogate.spec.content_hash():
            raise SurrogateError(
                "the surrogate was calibrated for another spec (spec hash "
                f"{self.surrogate.spec.content_hash()[:12]}, this spec {spec.content_hash()[:12]})"
            )
        return SurrogateTile(spec, g, self.surrogate.prepare(g, self.mode), self.mode)

    def run(
        self,
        spec: CrossbarSpec,
        conductances: np.ndarray,
        inputs: np.ndarray,
        *,
        node_voltages: bool = False,
    ) -> Result:
        """DAC -> program -> run -> ADC, after warning (``RangeWarning``) about conductances
        or DAC levels outside the calibrated ranges (refused far outside them, see
        :meth:`TileSurrogate.check_ranges`)."""
        if node_voltages:
            raise SurrogateError("the surrogate engine computes output currents only")
        spec, g = self.checked(spec, conductances)
        self.surrogate.check_ranges(g, dac(spec, check_inputs(inputs, spec.rows)), self.mode)
        return super().run(spec, conductances, inputs)
