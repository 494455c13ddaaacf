"""A tile's devices: programming a tile's targets through its device model, and read noise.

:func:`program_tile` drives the device model the spec selects
(:func:`cimspice.devices.registry.device_model`; the steps are listed in
:mod:`cimspice.devices.model`): levels, stuck cells, programming pulses (with write-verify,
``nonideal.verify_tol``: every cell further than the tolerance from its target gets another
pulse, a fresh draw, until all are within it or have had ``verify_max_pulses``; stuck cells
are not verified), drift to ``nonideal.drift_time``, the operating temperature. A model with
die-to-die or tile-to-tile spread (:meth:`~cimspice.devices.model.ParamModel.varied`) draws
the tile's parameters first, from a die stream (per seed) and a tile stream (per key). With
**drift compensation** (``nonideal.drift_compensation``, measured at the reference
temperature), by ``nonideal.drift_compensation_kind``: *global*, each tile's outputs
multiplied by ``sum G(t0) / sum G(t)`` over its used cells (the ratio of its responses to an
all-``v_read`` calibration input, which on the array is the summed conductance); *column*,
each column's by its own cells' ratio; *reference*, each tile's by the ratio of an extra
reference column of devices programmed to known targets spread over the window
(:func:`reference_gain`).

**Read noise** (:func:`add_read_noise`) is drawn for every MVM: each cell's conductance
fluctuates by ``N(0, s^2)`` with ``s`` the model's :meth:`read_std
<cimspice.devices.model.DeviceModel.read_std>`, independently per input vector, so a bit
line's current gets ``N(0, sum_i V_i^2 s_ij^2)``, which is what it adds, sampled at the bit
line (the same distribution as drawing every cell; the wires' share of it is neglected), the
normal draws taken from a table of its quantiles (:func:`standard_normals`).

Random numbers come from :func:`rng_for`, one stream per (seed, layer, tile, purpose): a
tile's devices do not depend on the order tiles are programmed in or on the batch size.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace
from scipy.special import ndtri

from cimspice.devices.model import DeviceModel
from cimspice.devices.registry import device_model
from cimspice.spec import CrossbarSpec, DriftCompensation

__all__ = [
    "NORMAL_TABLE_BITS",
    "ProgrammedDevices",
    "add_read_noise",
    "noisy_reads",
    "normal_picks",
    "normals_of_picks",
    "program_tile",
    "read_noise_squares",
    "read_noise_std",
    "reference_gain",
    "rng_for",
    "standard_normals",
    "wire_factor",
]

_PROGRAM, _READ, _REFERENCE, _DIE = 0, 1, 2, 3


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """An independent, reproducible random stream for ``seed`` and a key (layer, tile, ...)."""
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


@dataclass(frozen=True)
class ProgrammedDevices:
    """A tile's conductances as programmed and as read.

    Attributes:
        conductances: siemens, ``(rows, cols)``: at read time (drift, temperature).
        programmed: siemens, ``(rows, cols)``: just after programming, at ``t0``.
        pulses: ``(rows, cols)`` programming pulses per cell (1 without write-verify).
        drift_gain: the drift compensation's digital gain of the whole tile (1 without it
            or with per-column compensation).
        column_gain: ``(cols,)`` per-column drift compensation's digital gains (``None``
            without it).
    """

    conductances: np.ndarray
    programmed: np.ndarray
    pulses: np.ndarray
    drift_gain: float
    column_gain: np.ndarray | None = None


def program_tile(
    targets: np.ndarray,
    spec: CrossbarSpec,
    used: tuple[int, int],
    *key: int,
    model: DeviceModel | None = None,
) -> ProgrammedDevices:
    """Program a tile's target conductances (S, ``(rows, cols)``) with the spec's devices.

    Args:
        targets: siemens, the conductances the mapping asks for.
        spec: the spec whose ``[nonideal]`` section applies (its device model, seed,
            write-verify, read time, temperature, drift compensation).
        used: ``(rows, cols)`` of the tile that carry weights (for drift compensation).
        key: identifies the tile (e.g. layer and tile index) in the random streams.
        model: the device model (default: the one the spec selects).

    Raises:
        SpecError: the spec's device model or its parameters are unknown or invalid.
    """
    ni = spec.nonideal
    model = device_model(spec) if model is None else model
    if getattr(model, "varies", False):  # die-to-die and tile-to-tile parameter spread
        model = model.varied(rng_for(ni.seed, _DIE), rng_for(ni.seed, _DIE, *key))  # type: ignore[attr-defined]
    g_min, g_max = spec.device.g_min, spec.device.g_max
    rng = rng_for(ni.seed, _PROGRAM, *key)
    goal = model.snap(np.asarray(targets, dtype=float))
    stuck_on, stuck_off = model.stuck(goal, rng)
    stuck = stuck_on | stuck_off
    pulses = np.ones(goal.shape, dtype=np.int64)
    noisy = model.noisy
    g = model.pulse(goal, rng) if noisy else goal.copy()
    if ni.verify_tol > 0 and noisy:
        for _ in range(ni.verify_max_pulses - 1):
            redo = (np.abs(g - goal) > ni.verify_tol) & ~stuck
            if not redo.any():
                break
            g[redo] = model.pulse(goal[redo], rng)
            pulses[redo] += 1
    g[stuck_on] = g_max
    g[stuck_off] = g_min
    if ni.verify_tol > 0:  # the verify loop gives up on stuck cells off their target
        pulses[stuck & (np.abs(g - goal) > ni.verify_tol)] = ni.verify_max_pulses
    programmed = g
    read = model.drift(programmed, goal, stuck, ni.drift_time, rng)
    gain, column_gain = 1.0, None
    if read is not programmed and ni.drift_compensation:
        r, c = used
        kind = ni.drift_compensation_kind
        if kind == DriftCompensation.GLOBAL:
            gain = float(programmed[:r, :c].sum() / read[:r, :c].sum())
        elif kind == DriftCompensation.COLUMN:
            column_gain = np.ones(goal.shape[1])
            column_gain[:c] = _ratio(programmed[:r, :c].sum(axis=0), read[:r, :c].sum(axis=0))
        else:
            gain = reference_gain(model, spec, goal.shape[0], *key)
    read = model.at_temperature(read, ni.temperature, ni.temperature_ref)
    return ProgrammedDevices(read, programmed, pulses, gain, column_gain)


def reference_gain(model: DeviceModel, spec: CrossbarSpec, rows: int, *key: int) -> float:
    """The drift gain measured on a tile's reference column: ``rows`` extra devices
    programmed (one pulse each, their own random stream) to targets spread evenly over the
    window, drifted to the spec's read time like the tile; their summed conductance just
    after programming over the same at read time."""
    ni = spec.nonideal
    rng = rng_for(ni.seed, _REFERENCE, *key)
    goal = model.snap(np.linspace(spec.device.g_min, spec.device.g_max, rows)[:, None])
    stuck_on, stuck_off = model.stuck(goal, rng)
    g = model.pulse(goal, rng) if model.noisy else goal.copy()
    g[stuck_on] = spec.device.g_max
    g[stuck_off] = spec.device.g_min
    read = model.drift(g, goal, stuck_on | stuck_off, ni.drift_time, rng)
    return float(_ratio(np.array([g.sum()]), np.array([read.sum()]))[0])


def _ratio(then: np.ndarray, now: np.ndarray) -> np.ndarray:
    """``then / now`` where ``now > 0``, 1 elsewhere (nothing to measure a gain on)."""
    out = np.ones_like(then, dtype=float)
    np.divide(then, now, out=out, where=now > 0)
    return out


def wire_factor(spec: CrossbarSpec) -> float:
    """How much the wires' resistances are scaled at the spec's temperature (1: not at all)."""
    ni = spec.nonideal
    return 1.0 + ni.tc_wire * (ni.temperature - ni.temperature_ref)


def read_noise_squares(conductances: np.ndarray, spec: CrossbarSpec) -> np.ndarray:
    """Each cell's read-noise variance (S^2, ``(rows, cols)``, single precision) at the
    spec's read time: the square of the device model's ``read_std`` (zero for noiseless
    reads); what :func:`add_read_noise` multiplies the squared inputs by (computed once per
    tile)."""
    std = device_model(spec).read_std(conductances, spec.nonideal.drift_time)
    if std is None:
        return np.zeros(np.shape(conductances), dtype=np.float32)
    return np.square(std).astype(np.float32)


def noisy_reads(spec: CrossbarSpec) -> bool:
    """Whether the spec's device model draws read noise at every MVM."""
    return device_model(spec).noisy_reads


def add_read_noise(
    currents: Any,
    voltages: Any,
    conductances: Any,
    spec: CrossbarSpec,
    rng: np.random.Generator | Callable[[tuple[int, ...]], Any],
    *,
    unit: float = 1.0,
) -> Any:
    """Ampere, ``(batch, cols)``: ``currents`` plus the bit-line read noise of one MVM each
    (both in units of ``unit`` amperes).

    Args:
        currents: ``unit`` amperes (e.g. an ADC's steps), ``(batch, cols)``, the noiseless
            column currents.
        voltages: volt, ``(batch, rows)``, the word-line inputs.
        conductances: siemens, ``(rows, cols)``, the cells read, or their
            :func:`read_noise_squares` (single precision) computed beforehand.
        spec: whose device model gives each cell's std per read.
        rng: the read-noise stream: a numpy generator (draws by :func:`standard_normals`), or
            ``normals(shape)`` giving standard normal draws in the arrays' namespace.
        unit: amperes per unit of ``currents`` (and of the result).

    The arrays may be numpy arrays or arrays of another array-API namespace on one device
    (e.g. torch tensors; ``conductances`` then their squares, single precision, there too).
    The standard deviations are computed in single precision (they scale a random draw: 1e-7
    relative is far below anything noise can show).
    """
    if not noisy_reads(spec):
        return currents
    squares = conductances
    if isinstance(squares, np.ndarray) and squares.dtype != np.float32:
        squares = read_noise_squares(conductances, spec)
    noisy = read_noise_std(voltages, squares)
    if isinstance(rng, np.random.Generator):  # the draws scaled by the table: no pass more
        draws = standard_normals(rng, noisy.shape, 1.0 / unit)
    else:
        draws = rng(tuple(noisy.shape))
        if unit != 1.0:
            draws = draws * (1.0 / unit)
    if isinstance(noisy, np.ndarray):
        noisy *= draws
        # in the currents' own precision (single for the surrogate's fast tiles), at least
        # single
        return np.add(noisy, currents, dtype=np.result_type(currents.dtype, np.float32))
    return noisy * draws + currents


def read_noise_std(voltages: Any, squares: Any) -> Any:
    """``(batch, cols)``, single precision: each column's read-noise standard deviation for
    word-line ``voltages`` (``(batch, rows)``), ``sqrt(V^2 @ squares)``, where ``squares``
    are the cells' :func:`read_noise_squares` (in any units: the result is in their square
    root's times the voltages'). Numpy arrays or arrays of another array-API namespace."""
    if isinstance(voltages, np.ndarray):
        std = np.square(voltages, dtype=np.float32) @ squares  # variance
        np.sqrt(std, out=std)
        return std
    xp = array_namespace(voltages)
    return xp.sqrt(xp.square(xp.astype(voltages, xp.float32, copy=False)) @ squares)


NORMAL_TABLE_BITS = 16
"""Bits of a uniform random integer that pick one of the standard normal's quantiles in
:func:`standard_normals`."""


@functools.cache
def _normal_quantiles(scale: float = 1.0) -> np.ndarray:
    """The standard normal's ``2^16`` quantiles at ``(k + 1/2) / 2^16``, single precision,
    scaled to unit variance, times ``scale`` (in single precision)."""
    if scale != 1.0:
        return _normal_quantiles() * np.float32(scale)
    n = 2**NORMAL_TABLE_BITS
    table = ndtri((np.arange(n) + 0.5) / n)
    return (table / np.sqrt(np.mean(table**2))).astype(np.float32)


def standard_normals(
    rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0
) -> np.ndarray:
    """Standard normal draws times ``scale``, single precision, by inverse transform on a
    table: a uniform 16-bit integer picks one of the distribution's ``2^16`` quantiles
    (variance 1, tails cut at 4.3 sigma, where 2 in 10^5 draws would land; the table scaled
    once, so the scale costs no pass). The integers are the generator's raw 64-bit outputs
    cut in four (each quarter of a raw output is uniform and independent of the others).
    Five times as fast as numpy's ziggurat on these machines (a raw output per four draws
    and one gather per draw), which for read noise on every output of every MVM cost as
    much as the tiles' matmuls."""
    return normals_of_picks(normal_picks(rng, shape), scale)


def normal_picks(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """The uniform 16-bit integers :func:`standard_normals` turns into draws of ``shape``
    (``uint16``): drawn ahead, e.g. in a fixed order while the draws are made in threads."""
    size = math.prod(shape)
    raw = rng.bit_generator.random_raw(-(-size // 4))
    return raw.view(np.uint16)[:size].reshape(shape)


def normals_of_picks(
    picks: np.ndarray, scale: float = 1.0, out: np.ndarray | None = None
) -> np.ndarray:
    """The standard normal draws (times ``scale``, single precision) that :func:`normal_picks`'
    integers stand for (written into ``out`` when given)."""
    # "clip" checks no index, twice as fast as "raise": every 16-bit integer is one
    table = _normal_quantiles(float(scale))
    if picks.dtype == np.uint16:
        return table.take(picks, out=out, mode="clip")
    return table.take(picks, out=out)
