"""Device non-idealities: seeded models of how programmed conductances differ from targets.

Every parameter lives in the spec's ``[nonideal]`` section
(:class:`~cimspice.spec.NonidealSpec`, which documents units and defaults; all off by default).
:func:`program_tile` turns a tile's target conductances into the conductances it is read
with, in this order:

1. **levels**: targets snap to the nearest of ``levels`` conductances evenly spaced over
   ``[g_min, g_max]``;
2. **stuck-at faults**: a fraction ``stuck_on`` of cells is fixed at ``g_max``, ``stuck_off``
   at ``g_min``, whatever their target (and they neither drift nor verify);
3. **programming noise**, state-dependent: a pulse leaves ``G = target + N(0, sigma^2)``
   with ``sigma = prog_noise_abs + prog_noise_rel * target``; programming saturates at the
   window's edges, ``[g_min, g_max]``;
4. **write-verify** (``verify_tol > 0``): every cell further than ``verify_tol`` from its
   target gets another pulse (a fresh draw), until all are within tolerance or have had
   ``verify_max_pulses`` pulses; the pulses are counted per cell;
5. **drift**: ``G(t) = G(t0) (t / t0)^-nu`` with a per-cell ``nu ~ N(drift_nu,
   drift_nu_std^2)`` clipped at 0; with **global drift compensation** each tile's outputs
   are multiplied by ``sum G(t0) / sum G(t)`` over its used cells (the ratio of its responses
   to an all-``v_read`` calibration input, which on the array is the summed conductance);
6. **temperature**: ``G (1 + tc_device (T - T_ref))``; the wires' resistances scale by
   ``1 + tc_wire (T - T_ref)`` (:func:`wire_factor`).

**Read noise** (:func:`add_read_noise`) is drawn for every MVM: each cell's conductance
fluctuates by ``N(0, (read_noise G)^2)`` independently per input vector, so a bit line's
current gets ``N(0, read_noise^2 sum_i V_i^2 G_ij^2)``, which is what it adds, sampled at the
bit line (the same distribution as drawing every cell; the wires' share of it is neglected),
the normal draws taken from a table of its quantiles (:func:`standard_normals`).

Random numbers come from :func:`rng_for`, one stream per (seed, layer, tile, purpose): a
tile's devices do not depend on the order tiles are programmed in or on the batch size.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace
from scipy.special import ndtri

from cimspice.spec import CrossbarSpec, NonidealSpec

__all__ = [
    "ProgrammedDevices",
    "add_read_noise",
    "program_tile",
    "read_noise_squares",
    "rng_for",
    "snap_to_levels",
    "standard_normals",
    "wire_factor",
]

_PROGRAM, _READ = 0, 1


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
        drift_gain: the global drift compensation's digital gain (1 without it).
    """

    conductances: np.ndarray
    programmed: np.ndarray
    pulses: np.ndarray
    drift_gain: float


def snap_to_levels(targets: np.ndarray, spec: CrossbarSpec) -> np.ndarray:
    """Siemens: ``targets`` moved to the nearest of ``nonideal.levels`` levels (if set)."""
    levels = spec.nonideal.levels
    if not levels:
        return targets
    g_min, g_max = spec.device.g_min, spec.device.g_max
    step = (g_max - g_min) / (levels - 1)
    return g_min + np.clip(np.rint((targets - g_min) / step), 0, levels - 1) * step


def _pulse(targets: np.ndarray, ni: NonidealSpec, spec: CrossbarSpec, rng: np.random.Generator):
    sigma = ni.prog_noise_abs + ni.prog_noise_rel * targets
    g = targets + sigma * rng.standard_normal(targets.shape)
    return np.clip(g, spec.device.g_min, spec.device.g_max)


def program_tile(
    targets: np.ndarray, spec: CrossbarSpec, used: tuple[int, int], *key: int
) -> ProgrammedDevices:
    """Program a tile's target conductances (S, ``(rows, cols)``) with the spec's devices.

    Args:
        targets: siemens, the conductances the mapping asks for.
        spec: the spec whose ``[nonideal]`` section applies.
        used: ``(rows, cols)`` of the tile that carry weights (for drift compensation).
        key: identifies the tile (e.g. layer and tile index) in the random streams.
    """
    ni = spec.nonideal
    g_min, g_max = spec.device.g_min, spec.device.g_max
    rng = rng_for(ni.seed, _PROGRAM, *key)
    goal = snap_to_levels(np.asarray(targets, dtype=float), spec)
    draw = rng.random(goal.shape)
    stuck_on = draw < ni.stuck_on
    stuck_off = (draw >= ni.stuck_on) & (draw < ni.stuck_on + ni.stuck_off)
    stuck = stuck_on | stuck_off
    pulses = np.ones(goal.shape, dtype=np.int64)
    noisy = ni.prog_noise_abs > 0 or ni.prog_noise_rel > 0
    g = _pulse(goal, ni, spec, rng) if noisy else goal.copy()
    if ni.verify_tol > 0 and noisy:
        for _ in range(ni.verify_max_pulses - 1):
            redo = (np.abs(g - goal) > ni.verify_tol) & ~stuck
            if not redo.any():
                break
            g[redo] = _pulse(goal[redo], ni, spec, rng)
            pulses[redo] += 1
    g[stuck_on] = g_max
    g[stuck_off] = g_min
    if ni.verify_tol > 0:  # the verify loop gives up on stuck cells off their target
        pulses[stuck & (np.abs(g - goal) > ni.verify_tol)] = ni.verify_max_pulses
    programmed = g
    read = programmed
    gain = 1.0
    if ni.drift_time > 0 and (ni.drift_nu > 0 or ni.drift_nu_std > 0):
        nu = np.maximum(ni.drift_nu + ni.drift_nu_std * rng.standard_normal(goal.shape), 0.0)
        nu[stuck] = 0.0
        read = programmed * (ni.drift_time / ni.drift_t0) ** (-nu)
        if ni.drift_compensation:
            r, c = used
            gain = float(programmed[:r, :c].sum() / read[:r, :c].sum())
    if ni.tc_device and ni.temperature != ni.temperature_ref:
        read = read * (1.0 + ni.tc_device * (ni.temperature - ni.temperature_ref))
    return ProgrammedDevices(read, programmed, pulses, gain)


def wire_factor(spec: CrossbarSpec) -> float:
    """How much the wires' resistances are scaled at the spec's temperature (1: not at all)."""
    ni = spec.nonideal
    return 1.0 + ni.tc_wire * (ni.temperature - ni.temperature_ref)


def read_noise_squares(conductances: np.ndarray, spec: CrossbarSpec) -> np.ndarray:
    """``(read_noise G)^2`` of ``conductances`` (S, ``(rows, cols)``), single precision:
    what :func:`add_read_noise` multiplies the squared inputs by (computed once per tile)."""
    squares = np.square(np.asarray(conductances, dtype=float) * spec.nonideal.read_noise)
    return squares.astype(np.float32)


def add_read_noise(
    currents: Any,
    voltages: Any,
    conductances: Any,
    spec: CrossbarSpec,
    rng: np.random.Generator | Callable[[tuple[int, ...]], Any],
) -> Any:
    """Ampere, ``(batch, cols)``: ``currents`` plus the bit-line read noise of one MVM each.

    Args:
        currents: ampere, ``(batch, cols)``, the noiseless column currents.
        voltages: volt, ``(batch, rows)``, the word-line inputs.
        conductances: siemens, ``(rows, cols)``, the cells read, or their
            :func:`read_noise_squares` (single precision) computed beforehand.
        spec: whose ``nonideal.read_noise`` is the relative std per cell and read.
        rng: the read-noise stream: a numpy generator (draws by :func:`standard_normals`), or
            ``normals(shape)`` giving standard normal draws in the arrays' namespace.

    The arrays may be numpy arrays or arrays of another array-API namespace on one device
    (e.g. torch tensors; ``conductances`` then their squares, single precision, there too).
    The standard deviations are computed in single precision (they scale a random draw: 1e-7
    relative is far below anything noise can show).
    """
    sigma = spec.nonideal.read_noise
    if not sigma:
        return currents
    squares = conductances
    if isinstance(squares, np.ndarray) and squares.dtype != np.float32:
        squares = read_noise_squares(conductances, spec)
    if isinstance(voltages, np.ndarray):
        noisy = np.square(voltages, dtype=np.float32) @ squares  # variance
        np.sqrt(noisy, out=noisy)
    else:
        xp = array_namespace(voltages)
        noisy = xp.sqrt(xp.square(xp.astype(voltages, xp.float32)) @ squares)
    draws = (
        standard_normals(rng, noisy.shape)
        if isinstance(rng, np.random.Generator)
        else rng(tuple(noisy.shape))
    )
    if isinstance(noisy, np.ndarray):
        noisy *= draws
        # in the currents' own precision (single for the surrogate's fast tiles), at least
        # single
        return np.add(noisy, currents, dtype=np.result_type(currents.dtype, np.float32))
    return noisy * draws + currents


NORMAL_TABLE_BITS = 16
"""Bits of a uniform random integer that pick one of the standard normal's quantiles in
:func:`standard_normals`."""


@functools.cache
def _normal_quantiles() -> np.ndarray:
    """The standard normal's ``2^16`` quantiles at ``(k + 1/2) / 2^16``, single precision,
    scaled to unit variance."""
    n = 2**NORMAL_TABLE_BITS
    table = ndtri((np.arange(n) + 0.5) / n)
    return (table / np.sqrt(np.mean(table**2))).astype(np.float32)


def standard_normals(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal draws, single precision, by inverse transform on a table: a uniform
    16-bit integer picks one of the distribution's ``2^16`` quantiles (variance 1, tails cut
    at 4.3 sigma, where 2 in 10^5 draws would land). Three times as fast as numpy's ziggurat
    on these machines (16-bit integers and one gather per draw), which for read noise on
    every output of every MVM cost as much as the tiles' matmuls."""
    picks = rng.integers(0, 2**NORMAL_TABLE_BITS, size=shape, dtype=np.uint16)
    return _normal_quantiles().take(picks)
