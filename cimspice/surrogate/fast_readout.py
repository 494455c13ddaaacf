"""The fast mode's TIA readout on nonlinear tiles: the TIAs' loops in a few matrix products.

The fast modes (:class:`~cimspice.surrogate.prepared.SecantTile`,
:class:`~cimspice.surrogate.prepared.AttenuationTile`) give the currents ``I0`` into ideal
virtual grounds. A TIA holds its sense node near 0 V, not at it: at the potentials ``x``,
``I = I0 + x @ K`` to first order, ``K`` the sense nodes' coupling of the array linearised at
the vector's level (:mod:`cimspice.engines.cascade`: for 1T1R cells the secant network's,
from the transfer matrix's own cascade; for sinh and 1S1R cells the slopes' network's, each
column's own share corrected for the vector's cell voltages, :class:`SlopeSpread`), and every
column's TIA sets ``x_j = h(I_j)`` and ``V_out_j = o(I_j)``, its static transfer
(:class:`TiaTable`: the behavioural op-amp's law or the CMOS op-amp's measured curves).

Over most of its range a TIA is linear to far better than the fast modes' error (the loop
gain suppresses the op-amp's own curvature): ``h(I) = h0 + h1 I`` and ``o(I) = o0 + o1 I``
to :data:`BAND_TOL` of the output swing inside a band of outputs. There the loops are linear,
``I = (I0 + h0 1 K)(1 - h1 K)^-1``, so :class:`FastTiaTile` folds them into the fast model's
matrices level by level at preparation: each MVM is the fast mode's one matmul, now giving
``V_out`` directly, plus a check of the band. An input vector with an output outside the band
(saturating op-amps, the CMOS op-amp's output stage running out of current) is solved again
on the tables: every column's own loop ``I = I0 - d h(I)`` (``d = -K_jj``) by
:data:`LOOP_STEPS` Newton steps on the tabulated ``h``, all columns at once, then the other
columns' pull, ``(x @ K_offdiagonal)``, as a first-order correction that each column's own
loop absorbs, and ``V_out = o(I)``.
"""

from __future__ import annotations

import functools
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from cimspice.arrays import check_inputs
from cimspice.errors import RangeWarning
from cimspice.surrogate.prepared import (
    ENVELOPE_FACTOR,
    FAST_DTYPE,
    AttenuationTile,
    PreparedTile,
    SecantTile,
    TileLevels,
    _fit_in_level,
    _through_fit,
    bracket,
    cell_polynomials,
    first_columns,
    power_features,
    word_lines,
)
from cimspice.surrogate.readout import MeasuredTia, Readout, TiaReadout, bracketed_root

__all__ = [
    "BAND_TOL",
    "EVEN_POWERS",
    "LOOP_STEPS",
    "TABLE_POINTS",
    "FastTiaTile",
    "FoldedTiaTile",
    "SlopeSpread",
    "TiaTable",
]

TABLE_POINTS = 2**14
"""Points of a TIA's tabulated transfer (uniform in the current)."""
BAND_TOL = 1e-5
"""The linear band: where a TIA's transfer departs from its tangent at 0 A by at most this
fraction of its largest output (sense potential and output alike: ``x = V_out + r_f I``). A
tenth of the fast modes' own error (1e-4 of full scale and up); the 65 nm CMOS op-amp's
closed loop stays inside it to about +-0.1 V at its output (its gain falls towards the rails,
the departure grows with the square of the output), the behavioural one's to most of its
swing (its loop gain suppresses the tanh's curvature)."""
LOOP_STEPS = 8
"""Newton steps on each column's own loop, outside the linear band (from the ideal virtual
ground's currents; the steps approach the root from one side)."""

FastTile = SecantTile | AttenuationTile


@dataclass(frozen=True)
class TiaTable:
    """A TIA's static transfer on a uniform grid of input currents, and its linear band.

    Attributes:
        lo: ampere, the grid's first current.
        step: ampere, the grid's spacing.
        sense: volt, ``(n,)``: the inverting input's potential at each current.
        v_out: volt, ``(n,)``: the output at each current.
        tangent: ``(h0, h1, o0, o1)``: ``h(I) = h0 + h1 I`` and ``o(I) = o0 + o1 I`` at 0 A
            (volt, ohm, volt, ohm).
        band: volt, ``(low, high)``: the outputs inside which the tangent holds to
            :data:`BAND_TOL`.
    """

    lo: float
    step: float
    sense: np.ndarray
    v_out: np.ndarray
    tangent: tuple[float, float, float, float]
    band: tuple[float, float]

    @classmethod
    def of(cls, readout: Readout, i_max: float) -> TiaTable:
        """Tabulate ``readout``: a measured transfer over its measured currents, a
        behavioural op-amp's law over ``[-i_max, i_max]`` (ampere)."""
        if isinstance(readout, MeasuredTia):
            sense_of, v_out_of = readout.splines
            grid = np.linspace(readout.currents[0], readout.currents[-1], TABLE_POINTS)
            sense, v_out = sense_of(grid), v_out_of(grid)
        else:
            grid = np.linspace(-i_max, i_max, TABLE_POINTS)
            sense = _behavioural_sense(readout, grid)
            v_out = sense - readout.r_f * grid
        return cls._with_band(grid, sense, v_out)

    @classmethod
    def _with_band(cls, grid: np.ndarray, sense: np.ndarray, v_out: np.ndarray) -> TiaTable:
        step = float(grid[1] - grid[0])
        zero = int(np.clip(np.rint(-grid[0] / step), 1, len(grid) - 2))  # the point nearest 0 A
        tangent = []
        for curve in (sense, v_out):
            slope = (curve[zero + 1] - curve[zero - 1]) / (2 * step)
            tangent += [float(curve[zero] - slope * grid[zero]), float(slope)]
        h0, h1, o0, o1 = tangent
        scale = float(np.max(np.abs(v_out)))
        off = (np.abs(sense - h0 - h1 * grid) > BAND_TOL * scale) | (
            np.abs(v_out - o0 - o1 * grid) > BAND_TOL * scale
        )
        below, above = np.flatnonzero(off[:zero]), np.flatnonzero(off[zero:])
        first = below[-1] + 1 if below.size else 0
        last = zero + above[0] - 1 if above.size else len(grid) - 1
        ends = v_out[first], v_out[last]
        return cls(
            float(grid[0]),
            step,
            sense,
            v_out,
            (h0, h1, o0, o1),
            (float(min(ends)), float(max(ends))),
        )

    def at(self, currents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(h, dh/dI, o)`` at ``currents`` (ampere), linearly interpolated; beyond the grid
        its end values hold (slope 0)."""
        t = (currents - self.lo) / self.step
        last = len(self.sense) - 1
        beyond = (t < 0) | (t > last)
        np.clip(t, 0, last, out=t)
        k = np.minimum(t.astype(np.intp), last - 1)
        t -= k
        rise = self.sense[k + 1] - self.sense[k]
        sense = self.sense[k] + t * rise
        slope = np.where(beyond, 0.0, rise / self.step)
        v_out = self.v_out[k] + t * (self.v_out[k + 1] - self.v_out[k])
        return sense, slope, v_out

    def rows_off_band(self, v_out: np.ndarray) -> np.ndarray:
        """The rows of outputs ``v_out`` (volt, ``(batch, cols)``) with one outside the
        linear band (two reductions when none is)."""
        low, high = self.band
        if v_out.size and (v_out.min() < low or v_out.max() > high):
            return np.flatnonzero(((v_out < low) | (v_out > high)).any(axis=1))
        return np.zeros(0, dtype=np.intp)

    def holds(self, centres: np.ndarray, moves: np.ndarray) -> bool:
        """Whether outputs within ``moves`` of ``centres`` (volt, per column) all stay
        inside the linear band."""
        low, high = self.band
        return bool(np.all(centres - moves > low) and np.all(centres + moves < high))

    def reaches(self, currents: np.ndarray) -> bool:
        """Whether ``currents`` (ampere) stay on the grid."""
        top = self.lo + self.step * (len(self.sense) - 1)
        return bool(np.all((currents >= self.lo) & (currents <= top)))


def _behavioural_sense(readout: TiaReadout, currents: np.ndarray) -> np.ndarray:
    """Volt: the potential a behavioural TIA's loop settles its input at for ``currents``
    (ampere) arriving there, ``x - V_out(x) = r_f I``, solved to rounding."""
    pushed = readout.r_f * currents
    scale = readout.gain / readout.v_swing

    def model(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.tanh((readout.v_offset - x) * scale)
        return x - readout.v_swing * t - pushed, 1.0 + readout.gain * (1 - t * t)

    return bracketed_root(model, pushed.copy(), pushed - readout.v_swing, pushed + readout.v_swing)


EVEN_POWERS = (0, 2, 4, 6)
"""Even powers of the cells' slope polynomials (the derivatives of the odd current ones)."""


def _line(levels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``(2, ...)``: the least-squares straight line through ``values`` ``(L, ...)`` over
    ``levels`` (intercept, slope), in double precision."""
    design = np.stack([np.ones_like(levels), levels], axis=1)
    flat = values.reshape(len(levels), -1)
    return np.linalg.lstsq(design, flat, rcond=None)[0].reshape(2, *values.shape[1:])


@dataclass(frozen=True)
class SlopeSpread:
    """How far a vector's cells stand from the uniform level's slopes (nonlinear cells).

    A column's conductance into its sense node is its cells' slopes ``dI/dU`` in series with
    the wires. At a uniform level every cell of a column has about the same slope; a real
    vector drives each cell to its own voltage, and a ``sinh`` or selector cell's slope grows
    several-fold over the input range. This gives each vector's excess over the uniform level:
    the column's summed slope as even polynomials of the inputs (the cells' attenuated
    voltages, as the fast mode's currents), less its value at uniform inputs, times the share
    the wires leave of it.

    Attributes:
        fit: ``(len(EVEN_POWERS) rows, 2 cols)``: the summed slopes' polynomial coefficients,
            a straight line in the level, side by side.
        uniform: siemens, ``(2, cols)``: the same at uniform inputs, a line in the level.
        share: ``(cols,)``: the conductance into the sense node per summed slope (middle
            level), over ``1 + h1 d`` (each column's own loop takes that much of a change
            back).
    """

    fit: np.ndarray
    uniform: np.ndarray
    share: np.ndarray

    @classmethod
    def build(cls, reference: TileLevels, own: np.ndarray, h1: float) -> SlopeSpread:
        """From the network at uniform levels and the columns' own conductances ``own``
        (S, ``(L, cols)``) there; ``h1`` (ohm) the TIA's sense potential per ampere."""
        levels = reference.levels
        coefficients, _ = cell_polynomials(reference, EVEN_POWERS, slopes=True)
        rows = coefficients.shape[1] // len(EVEN_POWERS)
        at_level = np.einsum(
            "lpc,lp->lc",
            coefficients.reshape(len(levels), len(EVEN_POWERS), rows, -1).sum(axis=2),
            levels[:, None] ** np.array(EVEN_POWERS)[None, :],
        )
        middle = len(levels) // 2
        summed = np.maximum(at_level[middle], np.finfo(float).tiny)
        share = own[middle] / summed / (1.0 + h1 * own[middle])
        return cls(_fit_in_level(levels, coefficients), _line(levels, at_level), share)

    def excess(self, v: np.ndarray, rms: np.ndarray, rows: int | None = None) -> np.ndarray:
        """Siemens, ``(batch, cols)``: each column's own conductance for inputs ``v`` (V,
        RMS ``rms``; word lines beyond ``v``'s up to ``rows`` at 0 V) above the uniform
        level's, over ``1 + h1 d``."""
        features = power_features(v, EVEN_POWERS, rows=rows)
        extra = _through_fit(features, rms, self.fit)
        extra -= self.uniform[0]
        extra -= rms[:, None] * self.uniform[1]
        extra *= self.share
        return extra


@dataclass(frozen=True)
class FastTiaTile:
    """A fast-mode tile read by TIAs (see the module).

    Attributes:
        base: the fast model: currents into ideal virtual grounds.
        folded: the same model with each level's linear loops folded in: its "currents"
            are the TIAs' outputs in the linear band, less ``offset``.
        offset: volt, ``(2, cols)``: the outputs' constant part, a straight line in the level
            (``offset[0] + x offset[1]``).
        table: the TIAs' transfer.
        own: siemens, ``(L, cols)``: each column's conductance into its own sense node at
            each level (``-K_jj``).
        cross: siemens, ``(L, cols, cols)``: the coupling between sense nodes at each level
            (``K`` without its diagonal).
        prepare_s: seconds spent preparing it.
    """

    base: FastTile
    folded: FastTile
    offset: np.ndarray
    table: TiaTable
    own: np.ndarray
    cross: np.ndarray
    spread: SlopeSpread | None
    prepare_s: float
    _columns: dict[int, np.ndarray | None] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        kind: type[FastTile],
        reference: TileLevels,
        matrices: np.ndarray,
        couplings: np.ndarray,
        table: TiaTable,
        *,
        seconds: float = 0.0,
    ) -> FastTiaTile:
        """Fold the linear loops into a fast model.

        Args:
            kind: the fast model's class.
            reference: the network solved at the fast model's uniform levels.
            matrices: ``(L, features, cols)``: its matrices at each level (features to
                currents into ideal virtual grounds), before the fit in the level.
            couplings: siemens, ``(L, cols, cols)``: the sense nodes' coupling ``K`` of the
                array linearised at each level.
            table: the TIAs' transfer.
            seconds: time spent on ``matrices`` and ``couplings`` (counted in
                :attr:`prepare_s`, with the levels' and the folding's).
        """
        start = time.perf_counter()
        levels = reference.levels
        h0, h1, o0, o1 = table.tangent
        cols = couplings.shape[1]
        folded = np.empty_like(matrices)
        offsets = np.empty((len(levels), cols))
        for level, coupling in enumerate(couplings):
            # I = (I0 + h0 1 K) N with N = (1 - h1 K)^-1; V_out = o0 + o1 I
            loops = np.linalg.inv(np.eye(cols) - h1 * coupling) * o1
            folded[level] = matrices[level] @ loops
            offsets[level] = o0 + h0 * (coupling.sum(axis=0) @ loops)
        own = -np.diagonal(couplings, axis1=1, axis2=2).copy()
        cross = couplings.copy()
        cross[:, np.arange(cols), np.arange(cols)] = 0.0
        spread = None if kind is SecantTile else SlopeSpread.build(reference, own, h1)
        spent = reference.seconds + seconds + time.perf_counter() - start
        return cls(
            kind(levels, spent, _fit_in_level(levels, matrices)),
            kind(levels, spent, _fit_in_level(levels, folded)),
            _line(levels, offsets),
            table,
            own,
            cross,
            spread,
            spent,
        )

    @functools.cached_property
    def _with_offset(self) -> np.ndarray:
        """The folded matrices with the offsets' line as one more row (for a ones feature)."""
        offsets = self.offset.reshape(1, -1).astype(self.folded.in_level.dtype)
        return np.concatenate([self.folded.in_level, offsets])

    @property
    def levels(self) -> np.ndarray:
        """Volt, ``(L,)``: the uniform levels the tile was measured at."""
        return self.base.levels

    def currents(self, inputs: np.ndarray) -> np.ndarray:
        """Ampere, ``(batch, cols)``: what reaches each sense node."""
        return self.outputs(inputs)[0]

    def outputs(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(currents, v_out)``: ampere and volt, each ``(batch, cols)``."""
        currents, v_out = self._solve(check_inputs(inputs, self.base.rows), currents=True)
        assert currents is not None
        return currents, v_out.astype(np.float64)

    def read(self, inputs: np.ndarray, cols: int | None = None) -> np.ndarray:
        """Volt, ``(batch, cols)``, single precision: the TIAs' outputs alone, what an ADC
        reads (rounding 6e-8 of them, a thousandth of the fast mode's error), for inputs
        ``(batch, used)`` (V, single or double precision) on the first ``used <= rows`` word
        lines, the others at 0 V; of the first ``cols`` columns only (default: all).

        A column's output in the linear band depends on its own column of the folded
        matrices alone, so the first ``cols`` cost that share of the matmul when the other
        columns cannot leave the band for any input the envelope admits (a network's spare
        columns, whose cells sit at ``g_min``; :meth:`_matrix`): then a vector that takes a
        read column outside it is solved with every column's loop, as :meth:`outputs` does,
        and the numbers are those of reading every column. Otherwise every column is read.

        Raises:
            InputError: inputs of the wrong shape, or NaN or infinite ones.
        """
        return self._solve(word_lines(inputs, self.base.rows), currents=False, cols=cols)[1]

    def _matrix(self, cols: int) -> np.ndarray | None:
        """:attr:`_with_offset` for the first ``cols`` columns (kept once made), or ``None``
        when the others might leave the linear band (their loops then pull on the first
        ones): their outputs' largest distance from their offsets, for inputs and RMS up to
        the envelope's reach, must keep them inside it. Cells whose slopes follow each
        vector (:attr:`spread`) always read every column."""
        width = self.folded.in_level.shape[1] // 2
        if cols >= width:
            return self._with_offset
        if cols not in self._columns:
            both = self._with_offset.astype(np.float64)
            reach = ENVELOPE_FACTOR * float(self.levels[-1])
            rest = slice(cols, width)
            moves = reach * np.abs(both[:-1, rest]).sum(axis=0)
            moves += reach * reach * np.abs(both[:-1, width + cols :]).sum(axis=0)
            moves += reach * np.abs(both[-1, width + cols :])
            inside = self.spread is None and self.table.holds(both[-1, rest], moves)
            self._columns[cols] = first_columns(self._with_offset, cols) if inside else None
        return self._columns[cols]

    def _solve(
        self, v: np.ndarray, *, currents: bool, cols: int | None = None
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """``(currents or None, v_out)`` for inputs ``v`` (see :meth:`read`) and the first
        ``cols`` columns (default: all); ``v_out`` in :data:`FAST_DTYPE`."""
        rows, used = self.base.rows, v.shape[1]
        width = self.folded.in_level.shape[1] // 2
        cols = width if cols is None else min(cols, width)
        matrix = self._matrix(cols)
        if matrix is None:  # every column read, the first ones kept
            currents_all, v_out_all = self._solve(v, currents=currents)
            return (
                None if currents_all is None else currents_all[:, :cols],
                v_out_all[:, :cols],
            )
        # the offsets ride on a column of ones: one matmul gives the outputs
        features = self.folded.features(v, ones=True, rows=rows)
        rms = np.einsum("ij,ij->i", features[:, :used], features[:, :used])
        rms *= 1.0 / rows
        np.sqrt(rms, out=rms)
        if not np.all(np.isfinite(rms)):  # NaN and inf reach the RMS: name them
            check_inputs(v, used)
        v_out = _through_fit(features, rms, matrix, FAST_DTYPE)
        h0, h1, o0, o1 = self.table.tangent
        extra = None
        if self.spread is not None:
            # each column's own loop with its cells' slopes at this vector: I -= x extra
            extra = self.spread.excess(v, rms, rows)
            sense = v_out - o0
            sense *= h1 / o1
            sense += h0
            sense *= extra[:, :cols]
            sense *= o1
            v_out -= sense
        outside = self.table.rows_off_band(v_out)
        amperes = None
        if currents:
            amperes = np.subtract(v_out, o0, dtype=np.float64)
            amperes *= 1.0 / o1
        if outside.size:  # every column's loop, the other columns' pull included
            part = self.base.features(v[outside], rows=rows)
            base = _through_fit(part, rms[outside], self.base.in_level)
            more = None if extra is None else extra[outside]
            solved, looped = self._loops(base, rms[outside].astype(np.float64), more)
            v_out[outside] = looped[:, :cols]
            if amperes is not None:
                amperes[outside] = solved[:, :cols]
        return amperes, v_out

    def _loops(
        self, base: np.ndarray, rms: np.ndarray, extra: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(currents, v_out)`` of vectors with currents ``base`` into ideal virtual grounds,
        RMS inputs ``rms`` and own conductances ``extra`` above their level's (``None``:
        none): the loops on the table (see the module).

        Warns:
            RangeWarning: currents beyond the table (its ends were held).
        """
        low, weight = bracket(self.levels, rms)
        w = weight[:, None]
        own = self.own[low] * (1.0 - w) + self.own[low + 1] * w
        if extra is not None:
            own += extra
        currents = base.copy()
        for _ in range(LOOP_STEPS):  # I + d h(I) - I0 = 0, increasing in I
            sense, slope, _ = self.table.at(currents)
            currents -= (currents + own * sense - base) / (1.0 + own * slope)
        sense, slope, _ = self.table.at(currents)
        pull = np.empty_like(currents)
        for k in np.unique(low):  # the other columns' pull, at the vectors' levels
            rows = np.flatnonzero(low == k)
            x, a = sense[rows], w[rows]
            pull[rows] = (x @ self.cross[k]) * (1.0 - a) + (x @ self.cross[k + 1]) * a
        currents += pull / (1.0 + own * slope)  # each column's own loop takes some back
        if not self.table.reaches(currents):
            warnings.warn(
                f"column currents reach [{float(currents.min()):.4g}, "
                f"{float(currents.max()):.4g}] A, beyond the TIAs' tabulated transfer: its "
                "ends were held there",
                RangeWarning,
                stacklevel=5,
            )
        return currents, self.table.at(currents)[2]


@dataclass(frozen=True)
class FoldedTiaTile:
    """A linear tile read by TIAs, the ``fast`` mode: the TIAs' loops folded into the
    transfer matrix where the op-amps are linear, the exact loops elsewhere.

    Inside the linear band every TIA is its tangent ``h(I) = h0 + h1 I`` (sense node),
    ``o(I) = o0 + o1 I`` (output), so the loops through the array's sense-node coupling ``K``
    are linear: ``I = (I0 + h0 1 K) (1 - h1 K)^-1`` with ``I0 = V T``, and the outputs are one
    matmul, ``V_out = V T (1 - h1 K)^-1 o1 + offset`` (the fast TIA tiles' folding, at one
    level: a linear tile's matrices do not depend on it). A vector with an output outside the
    band (saturating op-amps) is solved exactly, as the accurate mode does
    (:class:`~cimspice.surrogate.prepared.PreparedTile`). Error: the band's, at most
    :data:`BAND_TOL` of the output swing per TIA, times the loops' gain on it.

    Attributes:
        exact: the accurate mode's tile (the transfer and coupling matrices, the readout).
        folded: ``(rows + 1, cols)``, single precision: the folded matrix, the offsets as its
            last row (for a column of ones).
        table: the TIAs' transfer (its tangent and band).
        prepare_s: seconds spent preparing it.
    """

    exact: PreparedTile
    folded: np.ndarray
    table: TiaTable
    prepare_s: float
    _columns: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, exact: PreparedTile, table: TiaTable) -> FoldedTiaTile:
        """Fold ``table``'s tangent into ``exact``'s transfer and coupling matrices."""
        start = time.perf_counter()
        assert exact.coupling is not None  # a tile with TIAs has its coupling
        h0, h1, o0, o1 = table.tangent
        cols = exact.coupling.shape[0]
        loops = np.linalg.inv(np.eye(cols) - h1 * exact.coupling) * o1
        offsets = o0 + h0 * (exact.coupling.sum(axis=0) @ loops)
        folded = np.concatenate([exact.transfer @ loops, offsets[None, :]]).astype(FAST_DTYPE)
        return cls(exact, folded, table, exact.prepare_s + time.perf_counter() - start)

    @property
    def rows(self) -> int:
        """The tile's word lines."""
        return self.folded.shape[0] - 1

    def currents(self, inputs: np.ndarray) -> np.ndarray:
        """Ampere, ``(batch, cols)``: what reaches each sense node."""
        return self.outputs(inputs)[0]

    def outputs(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(currents, v_out)``: ampere and volt, each ``(batch, cols)``, double precision
        (in the band the currents are the outputs' through the tangent, ``(V_out - o0) / o1``).
        """
        v = check_inputs(inputs, self.rows)
        v_out, outside = self._fold(v, None)
        _, _, o0, o1 = self.table.tangent
        currents = np.subtract(v_out, o0, dtype=np.float64)
        currents *= 1.0 / o1
        v_out = v_out.astype(np.float64)
        if outside.size:
            currents[outside], exact = self.exact.outputs(v[outside])
            assert exact is not None
            v_out[outside] = exact
        return currents, v_out

    def read(self, inputs: np.ndarray, cols: int | None = None) -> np.ndarray:
        """Volt, ``(batch, cols)``, single precision: the TIAs' outputs alone, of the first
        ``cols`` columns (default: all), for inputs ``(batch, used)`` on the first ``used``
        word lines, the others at 0 V (a network's hot path; see
        :meth:`FastTiaTile.read` for the columns left out: a vector whose read outputs leave
        the band is solved exactly with every column)."""
        v = word_lines(inputs, self.rows)
        if not np.all(np.isfinite(v)):
            check_inputs(v, v.shape[1])
        v_out, outside = self._fold(v, cols)
        if outside.size:
            padded = np.zeros((outside.size, self.rows))
            padded[:, : v.shape[1]] = v[outside]
            exact = self.exact.outputs(padded)[1]
            assert exact is not None
            v_out[outside] = exact[:, : v_out.shape[1]]
        return v_out

    def _fold(self, v: np.ndarray, cols: int | None) -> tuple[np.ndarray, np.ndarray]:
        """The folded outputs (single precision) of inputs ``v`` on the first word lines and
        the rows with one outside the band."""
        width = self.folded.shape[1]
        matrix = self.folded
        used = v.shape[1]
        if cols is not None and cols < width and self._others_inside(v, cols):
            if cols not in self._columns:
                self._columns[cols] = np.ascontiguousarray(self.folded[:, :cols])
            matrix = self._columns[cols]
        v_out = v.astype(FAST_DTYPE, copy=False) @ matrix[:used]
        v_out += matrix[-1]
        outside = self.table.rows_off_band(v_out)
        if cols is not None:
            v_out = v_out[:, :cols]
        return v_out, outside

    def _others_inside(self, v: np.ndarray, cols: int) -> bool:
        """Whether the columns from ``cols`` on stay inside the band for every vector of
        ``v`` (bounded by its largest input magnitude times each column's summed ``|F|``)."""
        reach = max(-float(v.min()), float(v.max())) if v.size else 0.0
        rest = self.folded[: v.shape[1], cols:].astype(np.float64)
        moves = reach * np.abs(rest).sum(axis=0)
        return self.table.holds(self.folded[-1, cols:].astype(np.float64), moves)
