"""A surrogate bound to one conductance matrix, ready for batches of inputs.

Four kinds, all with ``currents(inputs) -> (batch, cols)``:

- :class:`PreparedTile` (linear cells, either mode): the exact transfer matrix ``T`` of the
  fitted network; one matmul per batch.
- :class:`NewtonTile` (nonlinear cells, ``accurate`` mode): Newton on the fitted network's
  cell voltages (:func:`cimspice.engines.line_newton.solve_cell_voltages`), exact for the
  fitted network.
- :class:`SecantTile` (cells that are linear but for an access transistor, ``fast`` mode):
  the exact transfer matrices of the fitted network with every cell replaced by its secant
  conductance ``I / U`` at ``LEVELS`` uniform input levels, fitted by a straight line in the
  level, ``T(x) = T0 + x T1``; a vector of RMS input ``x`` goes through ``T(x)`` (the whole
  batch in one matmul against ``[T0 | T1]``).
- :class:`AttenuationTile` (nonlinear cells, ``fast`` mode): each cell sees its word line's
  input scaled by an attenuation ``alpha_ij`` (its share of the input left after the IR
  drops), ``I_j = sum_i f_ij(alpha_ij v_i)``. The attenuations come from exact solves of the
  fitted network at ``LEVELS`` uniform input levels (how much the wires drop depends mostly
  on how hard the whole array is driven). Each ``f_ij(alpha_ij v)`` is an odd polynomial in
  ``v`` fitted per cell, and its coefficients a straight line in the level, like the
  secants: one matmul of ``len(POWERS) x rows`` features against ``2 x cols`` columns.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cimspice.arrays import check_inputs
from cimspice.engines.cell_laws import CellLaw
from cimspice.engines.line_newton import LineSolution, Workspace, solve_cell_voltages
from cimspice.engines.nodal import NEWTON_BYTES_PER_CELL
from cimspice.engines.wire_drops import WireDrops
from cimspice.errors import ConvergenceError, InputError, SurrogateError
from cimspice.memory import chunk_size
from cimspice.surrogate.readout import CurrentsAt, Readout, sense_bounds

LawFor = Callable[[np.ndarray | None], CellLaw]
"""The cells' law given the bit-line potential at every cell (``None``: all at 0 V): access
transistors depend on it; two-terminal cells ignore it."""

__all__ = [
    "ACCURATE_TOL_V",
    "ENVELOPE_FACTOR",
    "FAST_EXTRAPOLATION",
    "LEVELS",
    "POWERS",
    "AttenuationTile",
    "FastModeWarning",
    "LawFor",
    "NewtonTile",
    "PreparedTile",
    "SecantTile",
    "TileLevels",
    "bracket",
    "cell_polynomials",
    "check_envelope",
    "power_features",
    "rms_of",
    "side_by_side",
    "solve_tile",
]

LEVELS = 8
"""Uniform input levels at which the fast mode measures the attenuations."""
POWERS = (1, 3, 5, 7)
"""Odd powers of the fast mode's per-cell polynomials (degree 7: sinh(x/v0) to ~5e-6 at
x/v0 = 2); consecutive, so each feature is the last times ``v^2``."""
_GRID = 48  # fitting points of each cell polynomial on [0, v_max]
FIT_WARN = 1e-3
"""The fast mode warns when its polynomials miss a cell law by more than this fraction of the
law's largest current on the fitting grid."""


class FastModeWarning(UserWarning):
    """The fast mode is outside the envelope it approximates well (use the accurate mode)."""


ENVELOPE_FACTOR = 2.0
"""How far past its calibrated range a surrogate that extrapolates fitted curves (the fast
modes; measured access transistors) is used: inputs up to this many times the largest
calibrated input magnitude, conductances up to this many times the calibrated ``g_max``
(below, a :class:`~cimspice.errors.RangeWarning`; beyond, a refusal). The fast mode's error
grows quickly outside its fit (a 16x16 sinh tile, v0 = 0.15 V, calibrated to 0.3 V: 0.4% of
full scale inside, 4% at 1.5x the input range, 15% at 2x, 140% at 4x)."""
FAST_EXTRAPOLATION = (
    "the fast mode's fitted curves are extrapolated there (error ~15% of full scale at 2x "
    "its input range, over 100% at 4x): use the accurate mode"
)


def check_envelope(inputs: np.ndarray, top: float) -> float:
    """Refuse ``inputs`` (V) beyond :data:`ENVELOPE_FACTOR` times ``top``, the largest input
    magnitude a fast-mode tile was fitted to; return the lowest input (0 for none).

    NaN and inf are left to the caller's check of the values (they name them better).

    Raises:
        SurrogateError: with both numbers.
    """
    if not inputs.size:
        return 0.0
    lowest = float(inputs.min())
    reach = max(-lowest, float(inputs.max()))  # |inputs|' max, no temporary
    if top > 0 and math.isfinite(reach) and reach > ENVELOPE_FACTOR * top:
        raise SurrogateError(
            f"inputs reach {reach:.4g} V, {reach / top:.3g}x the {top:.4g} V up to which the "
            f"fast mode was fitted (the limit is {ENVELOPE_FACTOR:g}x): {FAST_EXTRAPOLATION}"
        )
    return lowest


SOURCE_TOL_V = 1e-9
"""Volt: outer iterations over the bit-line potentials (access transistors) stop when no
potential moves by more than this."""
SOURCE_MAX_ITER = 20


def solve_tile(
    law_for: LawFor,
    drops: WireDrops,
    inputs: np.ndarray,
    cols: int,
    *,
    source_dependent: bool,
    start: np.ndarray | None = None,
    workspace: Workspace | None = None,
    sense: np.ndarray | None = None,
) -> LineSolution:
    """Solve the fitted network to the accurate mode's tolerance (:data:`ACCURATE_TOL_V`),
    with the bit lines' sense nodes at ``sense`` (V, ``(batch, cols)``; default 0 V);
    with ``source_dependent`` cells (access transistors), repeat with each solution's
    bit-line potentials until they stop moving (a few repeats: the transistors depend on
    them weakly)."""
    solve = functools.partial(
        solve_cell_voltages,
        drops=drops,
        inputs=inputs,
        cols=cols,
        tol=ACCURATE_TOL_V,
        predict=True,
        workspace=Workspace() if workspace is None else workspace,
        sense=sense,
    )
    lift = 0.0 if sense is None else sense.T[None, :, :]  # each bit line's sense potential
    solution = solve(law_for(None), start=start)
    if not source_dependent:
        return solution
    source = drops.bit(solution.currents) + lift
    for _ in range(SOURCE_MAX_ITER):
        solution = solve(law_for(source), start=solution.voltages)
        moved_to = drops.bit(solution.currents) + lift
        moved = float(np.max(np.abs(moved_to - source), initial=0.0))
        source = moved_to
        if moved <= SOURCE_TOL_V:
            return solution
    raise ConvergenceError(
        f"the bit-line potentials under the access transistors did not settle in "
        f"{SOURCE_MAX_ITER} outer iterations (last move {moved:.3g} V)"
    )


@dataclass(frozen=True)
class PreparedTile:
    """Linear cells: ``currents = inputs @ transfer`` (with an ideal readout).

    Attributes:
        transfer: siemens, ``(rows, cols)``.
        prepare_s: seconds spent preparing it.
        readout: the TIAs on the bit lines, or ``None`` (ideal virtual grounds).
        coupling: siemens, ``(cols, cols)``: with TIAs, the currents into the sense nodes
            per volt on each (see :mod:`cimspice.surrogate.readout`).
    """

    transfer: np.ndarray
    prepare_s: float
    readout: Readout | None = None
    coupling: np.ndarray | None = None

    def currents(self, inputs: np.ndarray) -> np.ndarray:
        """Ampere, ``(batch, cols)``: what reaches each sense node."""
        return self.outputs(inputs)[0]

    def outputs(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(currents, v_out)``: ampere and, with TIAs, their output voltages (else
        ``None``), each ``(batch, cols)``."""
        v = check_inputs(inputs, self.transfer.shape[0])
        base = v @ self.transfer
        if self.readout is None or self.coupling is None:
            return base, None
        bounds = sense_bounds(v, self.readout.swing)
        currents, v_out, _ = self.readout.settle_linear(base, self.coupling, bounds)
        return currents, v_out


ACCURATE_TOL_V = 1e-6
"""Volt: the accurate mode's Newton stops once the error it predicts is left in the cell
voltages is below this (:func:`~cimspice.engines.line_newton.predicted_error`); the nodal
engine, the exact solve, stops at 1e-12 V steps instead. On sinh tiles (v0 0.15-0.25 V,
inputs to 0.3 V) this is two Newton steps from the attenuated start instead of three: the
currents came within 1.1e-7 (64x64) and 9e-7 (128x128) of full scale of the exact
solution, against the mode's target of 1e-4 (NRMSE vs ngspice), for 20-40% less time."""


@dataclass(frozen=True)
class NewtonTile:
    """Nonlinear cells, solved exactly on the fitted network (the ``accurate`` mode).

    Newton starts from each input vector scaled by the attenuations measured at uniform input
    levels (as in the fast mode), which saves it about one step.

    Attributes:
        law_for: the cells' law given the bit-line potentials (see :data:`LawFor`).
        drops: the fitted wires.
        source_dependent: whether the law depends on the bit-line potentials.
        levels: volt, ``(L,)``, the uniform input levels of ``attenuation``.
        attenuation: ``(rows, cols, L)``: cell voltage / input at each level.
        prepare_s: seconds spent preparing it.
        chunk: input vectors solved together (bounds the working memory to a few
            ``(rows, cols, chunk)`` arrays).
        readout: the TIAs on the bit lines, or ``None`` (ideal virtual grounds). With TIAs
            the array is solved again at each iterate of the sense potentials (see
            :meth:`~cimspice.surrogate.readout.TiaReadout.settle`), each time from the last
            solution; the cells' slopes there steer that iteration.
    """

    law_for: LawFor
    drops: WireDrops
    source_dependent: bool
    levels: np.ndarray
    attenuation: np.ndarray
    prepare_s: float = 0.0
    chunk: int = 256
    readout: Readout | None = None

    @classmethod
    def build(cls, reference: TileLevels, readout: Readout | None = None) -> NewtonTile:
        """The accurate mode, from the network solved at uniform levels."""
        alpha = reference.solution.voltages / reference.levels
        return cls(
            reference.law_for,
            reference.drops,
            reference.source_dependent,
            reference.levels,
            alpha,
            reference.seconds,
            readout=readout,
        )

    def currents(self, inputs: np.ndarray) -> np.ndarray:
        """Ampere, ``(batch, cols)``: what reaches each sense node."""
        return self.outputs(inputs)[0]

    def outputs(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(currents, v_out)``: ampere and, with TIAs, their output voltages (else
        ``None``), each ``(batch, cols)``."""
        rows, cols = self.attenuation.shape[:2]
        v = check_inputs(inputs, rows)
        out = np.empty((v.shape[0], cols))
        v_out = None if self.readout is None else np.empty((v.shape[0], cols))
        work = Workspace()
        # at most self.chunk vectors, fewer on tiles too large for that many in memory
        chunk = min(
            self.chunk,
            chunk_size(NEWTON_BYTES_PER_CELL * rows * cols, v.shape[0], f"a {rows}x{cols} tile"),
        )
        for k in range(0, v.shape[0], chunk):
            part = v[k : k + chunk]
            # each vector's attenuations, interpolated between the levels around its RMS
            low, weight = bracket(self.levels, rms_of(part))
            start = np.take(self.attenuation, low, axis=2)
            start *= 1.0 - weight
            upper = np.take(self.attenuation, low + 1, axis=2)
            upper *= weight
            start += upper
            start *= part.T[:, None]
            solve = functools.partial(
                solve_tile,
                self.law_for,
                self.drops,
                part,
                cols,
                source_dependent=self.source_dependent,
                workspace=work,
            )
            if self.readout is None or v_out is None:
                out[k : k + part.shape[0]] = solve(start=start).currents.sum(axis=0).T
                continue
            bounds = sense_bounds(part, self.readout.swing)
            currents, outputs, _ = self.readout.settle(
                _array_at(solve, start), (part.shape[0], cols), bounds, tol=ACCURATE_TOL_V
            )
            out[k : k + part.shape[0]] = currents
            v_out[k : k + part.shape[0]] = outputs
        return out, v_out


def _array_at(solve: Callable[..., LineSolution], start: np.ndarray) -> CurrentsAt:
    """The array as :meth:`TiaReadout.settle` sees it: sense potentials to the column currents
    and each column's conductance into its sense node (its cells' slopes summed: the wires
    in series only lower it, and it only steers the iteration), each call solved from the
    last call's solution."""
    last = [start]

    def currents_at(sense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        solution = solve(start=last[0], sense=sense)
        last[0] = solution.voltages
        slopes = (
            solution.slopes if solution.slopes is not None else np.zeros_like(solution.currents)
        )
        return solution.currents.sum(axis=0).T, slopes.sum(axis=0).T

    return currents_at


@dataclass(frozen=True)
class SecantTile:
    """Cells linear but for an access transistor, the ``fast`` mode (see the module).

    Attributes:
        levels: volt, ``(L,)``, the uniform input levels.
        prepare_s: seconds spent preparing it.
        in_level: siemens, ``(rows, 2 cols)``: the least-squares fit ``T(x) = T0 + x T1`` of
            the levels' transfer matrices, side by side; a vector of RMS input ``x`` goes
            through ``T(x)`` (one matmul for the whole batch, see :func:`_through_fit`).
    """

    levels: np.ndarray
    prepare_s: float
    in_level: np.ndarray
    _columns: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(
        cls, reference: TileLevels, transfer_of: Callable[[np.ndarray], np.ndarray]
    ) -> SecantTile:
        """Secant conductances at each level, then each level's exact transfer matrix.

        Args:
            reference: the network solved at uniform levels.
            transfer_of: the fitted wires' transfer matrix for a matrix of cell conductances.
        """
        start = time.perf_counter()
        fit = _fit_in_level(reference.levels, cls.level_matrices(reference, transfer_of))
        return cls(reference.levels, reference.seconds + time.perf_counter() - start, fit)

    @staticmethod
    def level_matrices(
        reference: TileLevels, transfer_of: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """Siemens, ``(LEVELS, rows, cols)``: the secant network's transfer matrix at each
        level (before the fit in the level)."""
        secant = SecantTile.secants(reference)
        return np.stack([transfer_of(secant[:, :, k]) for k in range(len(reference.levels))])

    @staticmethod
    def secants(reference: TileLevels) -> np.ndarray:
        """Siemens, ``(rows, cols, LEVELS)``: every cell's ``I / U`` at each level (0 where it
        carries no voltage)."""
        volts, amps = reference.solution.voltages, reference.solution.currents
        return np.divide(amps, volts, out=np.zeros_like(amps), where=volts != 0)

    @property
    def rows(self) -> int:
        """The tile's word lines."""
        return self.in_level.shape[0]

    def currents(self, inputs: np.ndarray) -> np.ndarray:
        """Ampere, ``(batch, cols)``."""
        v = check_inputs(inputs, self.rows)
        return _through_fit(self.features(v), rms_of(v), self.in_level)

    def features(self, v: np.ndarray, *, ones: bool = False, rows: int | None = None) -> np.ndarray:
        """What multiplies :attr:`in_level`: the inputs ``v`` (V, ``(batch, rows)``, checked)
        themselves; with ``ones`` or ``rows``, in :data:`FAST_DTYPE`, the word lines beyond
        ``v``'s up to ``rows`` at 0 V and, with ``ones``, a column of ones after them.

        Raises:
            SurrogateError: inputs far beyond the levels measured (:func:`check_envelope`).

        Warns:
            FastModeWarning: negative inputs (the transistors were measured at positive
                levels only).
        """
        lowest = check_envelope(v, float(self.levels[-1]))
        features = v
        used = v.shape[1]
        rows = used if rows is None else rows
        if ones or rows > used:
            features = np.empty((v.shape[0], rows + ones), FAST_DTYPE)
            features[:, :used] = v
            features[:, used:] = 1.0 if ones else 0.0
            features[:, used:rows] = 0.0
        if lowest < 0:
            warnings.warn(
                f"negative inputs (down to {lowest:.3g} V): the fast mode measured this "
                "tile's transistors at positive levels only and they are not symmetric; use "
                "the accurate mode",
                FastModeWarning,
                stacklevel=4,
            )
        return features


@dataclass(frozen=True)
class TileLevels:
    """The fitted network solved at ``LEVELS`` uniform input levels: where every prepared
    kind of nonlinear tile starts.

    Attributes:
        law_for: the cells' law given the bit-line potentials.
        drops: the fitted wires.
        source_dependent: whether the law depends on the bit-line potentials.
        levels: volt, ``(LEVELS,)``, up to the calibrated input range.
        solution: the network at each level (batch axis = level).
        seconds: time taken.
    """

    law_for: LawFor
    drops: WireDrops
    source_dependent: bool
    levels: np.ndarray
    solution: LineSolution
    seconds: float

    @classmethod
    def measure(
        cls,
        law_for: LawFor,
        drops: WireDrops,
        shape: tuple[int, int],
        v_max: float,
        *,
        source_dependent: bool,
    ) -> TileLevels:
        """Solve ``(rows, cols) = shape`` at levels ``v_max / LEVELS .. v_max`` (volt)."""
        start = time.perf_counter()
        rows, cols = shape
        levels = np.linspace(v_max / LEVELS, v_max, LEVELS)
        uniform = levels[:, None] * np.ones((1, rows))
        solution = solve_tile(law_for, drops, uniform, cols, source_dependent=source_dependent)
        return cls(law_for, drops, source_dependent, levels, solution, time.perf_counter() - start)


FAST_DTYPE = np.float32
"""The fast modes' arithmetic: single precision, whose rounding (up to 1.4e-6 of full scale on
64x64 and 128x128 tiles, against double precision) is a hundred to a thousand times below
the modes' own error (1e-4 to 5e-3), for a matmul that costs half the double-precision one.
Inputs and outputs stay double."""


def _fit_in_level(levels: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """The least-squares straight line ``M(x) = M0 + x M1`` through ``matrices`` ``(L, r, c)``
    over ``levels`` (volt), as ``[M0 | M1]`` ``(r, 2c)`` in :data:`FAST_DTYPE`. Over these
    levels the matrices move smoothly (how much the wires drop grows with the drive): the
    line reproduced the two-level interpolation it replaced to within its own error (1T1R
    64x64: NRMSE 5.4e-5 against 4.8e-5, vs ngspice) at one matmul per batch instead of one
    per level group."""
    design = np.stack([np.ones_like(levels), levels], axis=1)  # (L, 2)
    flat = matrices.reshape(len(levels), -1)
    line = np.linalg.lstsq(design, flat, rcond=None)[0].reshape(2, *matrices.shape[1:])
    return np.concatenate([line[0], line[1]], axis=1).astype(FAST_DTYPE)


def word_lines(inputs: np.ndarray, rows: int) -> np.ndarray:
    """``inputs`` as ``(batch, used)`` volts on the first ``used <= rows`` word lines, single
    or double precision as given (their values are checked where the RMS is taken).

    Raises:
        InputError: any other shape, an empty batch, or values that are not real numbers.
    """
    v = np.asarray(inputs)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or not 0 < v.shape[1] <= rows or v.shape[0] == 0:
        raise InputError(
            f"inputs must have shape (batch, used) with 0 < used <= rows = {rows} and a batch "
            f"of at least one, got {np.asarray(inputs).shape}"
        )
    if v.dtype not in (np.float32, np.float64):
        v = check_inputs(v, v.shape[1])
    return v


def fast_read(
    tile: SecantTile | AttenuationTile, inputs: np.ndarray, cols: int | None = None
) -> np.ndarray:
    """Ampere, ``(batch, cols)``, single precision: a fast tile's column currents for inputs
    ``(batch, used)`` (V, single or double precision) on its first ``used`` word lines, the
    others at 0 V, of its first ``cols`` columns (default: all): a network's hot path, the
    same numbers as ``tile.currents`` of the padded inputs to single precision (each column
    is its own columns of the fitted matrices, computed alone).

    Raises:
        InputError: inputs of the wrong shape, or NaN or infinite ones.
        SurrogateError: inputs far beyond the levels measured (:func:`check_envelope`).
    """
    rows = tile.rows
    v = word_lines(inputs, rows)
    used = v.shape[1]
    features = tile.features(v, rows=rows)
    rms = np.einsum("ij,ij->i", v, v, dtype=np.float64)
    rms *= 1.0 / rows
    np.sqrt(rms, out=rms)
    if not np.all(np.isfinite(rms)):  # NaN and inf reach the RMS: name them
        check_inputs(v, used)
    matrix = tile.in_level
    if cols is not None and cols < matrix.shape[1] // 2:
        if cols not in tile._columns:
            tile._columns[cols] = first_columns(matrix, cols)
        matrix = tile._columns[cols]
    return _through_fit(features, rms, matrix, FAST_DTYPE)


def first_columns(both: np.ndarray, cols: int) -> np.ndarray:
    """The first ``cols`` columns of each half of a side-by-side ``[M0 | M1]`` matrix (what
    :func:`_through_fit` multiplies by), as one contiguous ``[M0[:, :cols] | M1[:, :cols]]``."""
    width = both.shape[1] // 2
    return np.ascontiguousarray(
        np.concatenate([both[:, :cols], both[:, width : width + cols]], axis=1)
    )


def side_by_side(
    tiles: Sequence[SecantTile | AttenuationTile], cols: Sequence[int], scale: float = 1.0
) -> SecantTile | AttenuationTile | None:
    """One fast tile whose columns are the first ``cols[i]`` columns of each of ``tiles`` in
    turn, times ``scale``: for tiles on the same word lines, fitted at the same levels, one
    :func:`fast_read` reads them all (one RMS, one envelope check, one product), the same
    numbers as reading each to single precision. ``None`` when the tiles differ in kind or
    levels."""
    first = tiles[0]
    if any(
        type(tile) is not type(first) or not np.array_equal(tile.levels, first.levels)
        for tile in tiles
    ):
        return None
    halves = [first_columns(tile.in_level, c) for tile, c in zip(tiles, cols, strict=True)]
    both = np.concatenate(
        [h[:, :c] for h, c in zip(halves, cols, strict=True)]
        + [h[:, c:] for h, c in zip(halves, cols, strict=True)],
        axis=1,
    )
    in_level = np.ascontiguousarray(both * scale, dtype=first.in_level.dtype)
    return type(first)(first.levels, 0.0, in_level)


def rms_of(inputs: np.ndarray) -> np.ndarray:
    """Volt, ``(batch,)``: each input vector's RMS, the level the fast modes evaluate at."""
    return np.sqrt(np.einsum("ij,ij->i", inputs, inputs) / inputs.shape[1])


def _through_fit(
    features: np.ndarray,
    rms: np.ndarray,
    in_level: np.ndarray,
    dtype: type[np.floating] = np.float64,
) -> np.ndarray:
    """``features @ M0 + x (features @ M1)`` with ``x`` each vector's RMS input ``rms``, in
    one matmul (in ``in_level``'s precision; the result in ``dtype``)."""
    cols = in_level.shape[1] // 2
    both = features.astype(in_level.dtype, copy=False) @ in_level
    out = np.multiply(both[:, cols:], rms[:, None], dtype=dtype)
    out += both[:, :cols]
    return out


def bracket(levels: np.ndarray, rms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per input vector of RMS ``rms`` (V): the lower of the two ``levels`` around it and the
    weight of the upper one (clipped to the end levels)."""
    position = np.interp(rms, levels, np.arange(len(levels)))
    low = np.minimum(np.floor(position).astype(int), len(levels) - 2)
    return low, position - low


@dataclass(frozen=True)
class AttenuationTile:
    """Nonlinear cells, the ``fast`` mode (see the module docstring).

    Attributes:
        levels: volt, ``(L,)``, the RMS input levels the polynomials were fitted at.
        prepare_s: seconds spent preparing it.
        in_level: ``(len(POWERS) rows, 2 cols)``: the polynomial coefficients (at a level,
            ``I = sum_p (v ** POWERS[p]) @ C_p``, the ``C_p`` stacked) fitted by a straight
            line in the level, side by side (see :func:`_through_fit`).
    """

    levels: np.ndarray
    prepare_s: float
    in_level: np.ndarray
    _columns: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, reference: TileLevels) -> AttenuationTile:
        """Fit the per-cell polynomials for inputs up to the highest level."""
        start = time.perf_counter()
        fit = _fit_in_level(reference.levels, cls.level_matrices(reference))
        return cls(reference.levels, reference.seconds + time.perf_counter() - start, fit)

    @staticmethod
    def level_matrices(reference: TileLevels) -> np.ndarray:
        """``(LEVELS, len(POWERS) rows, cols)``: each level's polynomial coefficients, the
        ``C_p`` stacked (before the fit in the level).

        Warns:
            FastModeWarning: the polynomials miss the cell law by more than
                :data:`FIT_WARN` of its largest current.
        """
        coefficients, worst = cell_polynomials(reference, POWERS)
        if worst > FIT_WARN:
            warnings.warn(
                f"the fast mode's per-cell polynomials (odd powers {POWERS}) miss the cell law "
                f"by up to {worst:.2g} of its largest current over 0-"
                f"{float(reference.levels[-1]):.3g} V: the law is too steep for them there; use "
                "the accurate mode",
                FastModeWarning,
                stacklevel=5,
            )
        return coefficients

    @property
    def rows(self) -> int:
        """The tile's word lines."""
        return self.in_level.shape[0] // len(POWERS)

    def currents(self, inputs: np.ndarray) -> np.ndarray:
        """Ampere, ``(batch, cols)``."""
        v = check_inputs(inputs, self.rows)
        return _through_fit(self.features(v), rms_of(v), self.in_level)

    def features(self, v: np.ndarray, *, ones: bool = False, rows: int | None = None) -> np.ndarray:
        """What multiplies :attr:`in_level`: ``v, v^3, v^5, ...`` side by side, for inputs ``v``
        (V, ``(batch, rows)``, checked), in :data:`FAST_DTYPE` (with ``ones``, a column of
        ones after them; ``rows``: see :func:`power_features`).

        Raises:
            SurrogateError: inputs far beyond the levels measured (:func:`check_envelope`).
        """
        check_envelope(v, float(self.levels[-1]))
        return power_features(v, POWERS, ones=ones, rows=rows)


def power_features(
    v: np.ndarray, powers: tuple[int, ...], *, ones: bool = False, rows: int | None = None
) -> np.ndarray:
    """``v ** powers[0], v ** powers[1], ...`` side by side, ``(batch, len(powers) rows)`` in
    :data:`FAST_DTYPE`, for consecutive odd or even ``powers`` (each the last times ``v^2``);
    with ``ones``, a column of ones after them. ``rows`` (default: ``v``'s width) counts
    word lines beyond ``v``'s at 0 V."""
    used = v.shape[1]
    rows = used if rows is None else rows
    features = np.empty((v.shape[0], len(powers) * rows + ones), FAST_DTYPE)
    if ones:
        features[:, -1] = 1.0
    features[:, :used] = v
    features[:, used:rows] = 0.0
    square = features[:, :rows] * features[:, :rows]
    if powers[0] == 0:
        features[:, :rows] = 1.0
    for k in range(1, len(powers)):
        np.multiply(
            features[:, (k - 1) * rows : k * rows],
            square,
            out=features[:, k * rows : (k + 1) * rows],
        )
    return features


def cell_polynomials(
    reference: TileLevels, powers: tuple[int, ...], *, slopes: bool = False
) -> tuple[np.ndarray, float]:
    """Each cell's current (or with ``slopes``, its slope ``dI/dU``) as a polynomial in its
    word line's input ``v``, ``sum_p c_p v^p``, at each level: its cell voltage is ``alpha v``,
    ``alpha`` the attenuation measured at that level.

    Returns:
        ``(coefficients, worst)``: ``(LEVELS, len(powers) rows, cols)``, the ``c_p`` stacked
        by power (to multiply :func:`power_features`), and the worst misfit on the fitting
        grid as a fraction of the largest value there.
    """
    levels = reference.levels
    alpha = reference.solution.voltages / levels
    law = reference.law_for(None)
    rows, cols = alpha.shape[:2]
    grid = np.linspace(0.0, float(levels[-1]), _GRID + 1)[1:]
    design = grid[:, None] ** np.array(powers)[None, :]  # (grid, P)
    solve = np.linalg.pinv(design)  # (P, grid)
    coefficients = np.empty((len(levels), len(powers), rows, cols))
    worst = 0.0
    for level in range(len(levels)):
        # f_ij(alpha_ij v) on the grid: (rows, cols, grid)
        voltage = alpha[:, :, level, None] * grid
        values = law.current_and_slope(voltage)[1] if slopes else law.current(voltage)
        coefficients[level] = np.einsum("pg,ijg->pij", solve, values)
        misfit = np.einsum("gp,pij->ijg", design, coefficients[level]) - values
        scale = float(np.max(np.abs(values)))
        if scale > 0:
            worst = max(worst, float(np.max(np.abs(misfit))) / scale)
    return coefficients.reshape(len(levels), len(powers) * rows, cols), worst
