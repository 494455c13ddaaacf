"""Write-verify programming: conductance precision against programming pulses (a minimal model).

The network branch owns the full programming model; this is the smallest model that shows the
trade-off at tile level, and every parameter is an assumption of the usual magnitude, not a
published figure.

- **Single shot**: one programming operation lands each cell at its target plus Gaussian
  error of ``sigma_program * (g_max - g_min)`` (clipped to the window).
- **Write-verify**: afterwards, each cell is read (assumed exact) and, while it is further
  than ``tol * (g_max - g_min)`` from its target, given one pulse towards it. A pulse moves a
  cell by ``step * (g_max - g_min) * (1 + step_sigma * e)``, ``e ~ N(0, 1)`` (cycle-to-cycle
  variation), at most up to the target's far side; the loop ends when every cell is within
  tolerance or after ``max_pulses`` pulses per cell. A cell within tolerance takes no more
  pulses.

So a tolerance ``tol`` leaves a uniform-ish error of at most ``tol`` of the window and costs
about ``sigma_program / step`` pulses per cell for the coarse approach plus a few more, rising
as ``tol`` nears ``step`` (the pulse can overshoot a tight band). Energy per pulse:
``v_write^2 * G * t_pulse`` (the cell's Joule heating), plus one read per pulse; both one-off
per programmed matrix, not per MVM, and reported apart. Latency: ``pulses * (t_pulse +
t_read)`` per cell, programmed row by row in parallel over the columns.

Measured like every scheme (:mod:`~cimspice.compensation.tile`): before is the targets
programmed exactly (the same tile every scheme starts from); after is the verified
conductances, so it adds the error the tolerance leaves to the tile's own. The single-shot
tile, what write-verify improves on, is read the same way and its error is in the details.
Programming does not depend on the tile kind: it works on every tile. At network level the
tolerance becomes ``nonideal.verify_tol`` (siemens: ``tol`` times the window) of the
network's own programming model (:mod:`cimspice.devices.generic`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cimspice.arguments import check_fields, instance
from cimspice.compensation.ir_predistort import check_window
from cimspice.compensation.scheme import NetworkForm, Outcome, SchemeBase
from cimspice.compensation.tile import Bench
from cimspice.devices.registry import device_model
from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec, as_spec

__all__ = ["Programmed", "WriteVerifyParams", "program"]


@dataclass(frozen=True)
class WriteVerifyParams(SchemeBase):
    """The ``write-verify`` scheme: parameters of the programming model (fractions are of the
    window ``g_max - g_min``).

    Attributes:
        tol: write-verify tolerance (> 0).
        sigma_program: single-shot programming error, standard deviation (>= 0).
        step: mean conductance change of one pulse (> 0).
        step_sigma: relative cycle-to-cycle variation of a pulse (>= 0).
        max_pulses: pulse limit per cell (>= 1).
        v_write: volt, pulse amplitude.
        t_pulse: second, pulse width.
        seed: random seed of the programming noise.
    """

    name: ClassVar[str] = "write-verify"

    tol: float = 0.01
    sigma_program: float = 0.05
    step: float = 0.005
    step_sigma: float = 0.3
    max_pulses: int = 200
    v_write: float = 1.5
    t_pulse: float = 100e-9
    seed: int = 7

    def __post_init__(self) -> None:
        check_fields(self, self.name)
        if self.seed < 0:
            raise InputError(f"write-verify: seed must be >= 0, got {self.seed}")
        for key in ("tol", "step", "v_write", "t_pulse"):
            value = getattr(self, key)
            if not (np.isfinite(value) and value > 0):
                raise InputError(f"write-verify: {key} must be > 0, got {value!r}")
        for key in ("sigma_program", "step_sigma"):
            value = getattr(self, key)
            if not (np.isfinite(value) and value >= 0):
                raise InputError(f"write-verify: {key} must be >= 0, got {value!r}")
        if self.max_pulses < 1:
            raise InputError(f"write-verify: max_pulses must be >= 1, got {self.max_pulses}")

    def apply(self, bench: Bench) -> Outcome:
        """Program the targets single-shot and verified; read both (see the module)."""
        prog = program(bench.spec, bench.targets, self)
        after = bench.program(prog.verified).read(bench.inputs)
        single = bench.program(prog.single_shot).read(bench.inputs)
        rows_time = bench.spec.rows * int(prog.pulses.max(initial=0))
        return Outcome(
            after.outputs,
            bench.energy(after),
            details={
                "tolerance (of window)": self.tol,
                "single-shot error (no verify)": bench.error(single.outputs),
                "mean pulses per cell": float(prog.pulses.mean()),
                "max pulses per cell": int(prog.pulses.max(initial=0)),
                "cells outside tolerance": prog.unconverged,
                "programming energy, one-off (J)": prog.energy,
                "programming time, one-off (s)": rows_time * (self.t_pulse + bench.cost.t_read),
            },
        )

    def network_form(self, spec: CrossbarSpec) -> NetworkForm:
        """The network's write-verify at this tolerance (``nonideal.verify_tol``, siemens), at
        least 20 pulses per cell.

        Raises:
            InputError: the spec has no programming noise to verify against.
        """
        ni = spec.nonideal
        if not device_model(spec).noisy:
            raise InputError(
                "write-verify needs programming noise at network level: set "
                "nonideal.prog_noise_rel or nonideal.prog_noise_abs in the spec (or choose a "
                "device model with programming noise, nonideal.model)"
            )
        tol = self.tol * (spec.device.g_max - spec.device.g_min)
        return NetworkForm(
            f"write-verify {tol * 1e6:g} uS",
            {
                "nonideal.verify_tol": tol,
                "nonideal.verify_max_pulses": max(ni.verify_max_pulses, 20),
            },
        )


@dataclass(frozen=True)
class Programmed:
    """Conductances as programmed.

    Attributes:
        single_shot: siemens, after the one programming operation.
        verified: siemens, after write-verify.
        pulses: ``(rows, cols)`` verify pulses each cell took.
        unconverged: cells still outside the tolerance at ``max_pulses``.
        energy: joule, every pulse's ``v_write^2 G t_pulse`` summed (one-off).
    """

    single_shot: np.ndarray
    verified: np.ndarray
    pulses: np.ndarray
    unconverged: int
    energy: float


def program(
    spec: CrossbarSpec | str | os.PathLike[str], target: np.ndarray, params: WriteVerifyParams
) -> Programmed:
    """Program ``target`` once, then write-verify it to ``params.tol``.

    Raises:
        InputError: ``params`` not a :class:`WriteVerifyParams`, or targets of the wrong shape
            or outside the window.
    """
    spec = as_spec(spec)
    instance(params, WriteVerifyParams, "params")
    g = check_window(spec, target, "write-verify targets")
    lo, hi = spec.device.g_min, spec.device.g_max
    window = hi - lo
    rng = np.random.default_rng(params.seed)
    shot = np.clip(g + rng.normal(0.0, params.sigma_program * window, g.shape), lo, hi)
    current = shot.copy()
    pulses = np.zeros(g.shape, dtype=np.int64)
    energy = 0.0
    band = params.tol * window
    for _ in range(params.max_pulses):
        off = current - g
        active = np.abs(off) > band
        if not active.any():
            break
        size = params.step * window * (1 + params.step_sigma * rng.standard_normal(g.shape))
        move = -np.sign(off) * np.maximum(size, 0.0)
        # a pulse can overshoot by at most the band's width (the verify read stops the next)
        move = np.where(np.abs(move) > np.abs(off) + band, -off - np.sign(off) * band, move)
        energy += float(np.sum(params.v_write**2 * current[active] * params.t_pulse))
        current = np.where(active, np.clip(current + move, lo, hi), current)
        pulses += active
    unconverged = int(np.sum(np.abs(current - g) > band))
    return Programmed(shot, current, pulses, unconverged, energy)
