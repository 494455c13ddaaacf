"""Write-verify programming: conductance precision against programming pulses, at tile level.

There is one programming model, the network's (:func:`cimspice.devices.tile.program_tile`
driving the spec's device model, :mod:`cimspice.devices`): one programming pulse lands a cell
at its target plus the device model's programming error; write-verify reads every cell
(assumed exact) and gives each cell further than ``tol * (g_max - g_min)`` from its target
another pulse, up to ``max_pulses`` pulses. Stuck cells never converge. When the spec's device
model has no programming error (a tile spec without ``[nonideal]`` noise), the generic model
with an error of ``sigma_program`` of the window stands in, so the trade-off shows on any
tile; the scheme's ``tol``, ``max_pulses`` and ``seed`` become the spec's
``nonideal.verify_tol`` (siemens), ``verify_max_pulses`` and ``seed``, so the tile-level scheme
and a network programmed from the same spec give the same conductances.

So a tolerance ``tol`` leaves an error of at most ``tol`` of the window on converged cells and
costs about ``1 / P(|error| <= tol)`` pulses per cell, rising as ``tol`` tightens. Energy per
pulse: ``v_write^2 * G * t_pulse`` (the cell's Joule heating at its target), plus one read per
pulse; both one-off per programmed matrix, not per MVM, and reported apart. Latency: ``pulses
* (t_pulse + t_read)`` per cell, programmed row by row in parallel over the columns.

Measured like every scheme (:mod:`~cimspice.compensation.tile`): before is the targets
programmed exactly (the same tile every scheme starts from); after is the verified
conductances, so it adds the error the tolerance leaves to the tile's own. The single-shot
tile (one pulse, no verify: what write-verify improves on) is read the same way and its error
is in the details. Programming does not depend on the tile kind: it works on every tile.
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
from cimspice.devices.tile import program_tile
from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec, as_spec

__all__ = ["Programmed", "WriteVerifyParams", "program", "programming_spec"]


@dataclass(frozen=True)
class WriteVerifyParams(SchemeBase):
    """The ``write-verify`` scheme: its tolerance and pulse budget (fractions are of the
    window ``g_max - g_min``).

    Attributes:
        tol: write-verify tolerance (> 0).
        sigma_program: programming error, standard deviation, of the generic device model
            that stands in when the spec's device model has none (>= 0).
        max_pulses: pulse limit per cell, the first programming pulse included (>= 1).
        v_write: volt, pulse amplitude.
        t_pulse: second, pulse width.
        seed: random seed of the programming noise.
    """

    name: ClassVar[str] = "write-verify"

    tol: float = 0.01
    sigma_program: float = 0.05
    max_pulses: int = 200
    v_write: float = 1.5
    t_pulse: float = 100e-9
    seed: int = 7

    def __post_init__(self) -> None:
        check_fields(self, self.name)
        if self.seed < 0:
            raise InputError(f"write-verify: seed must be >= 0, got {self.seed}")
        for key in ("tol", "v_write", "t_pulse"):
            value = getattr(self, key)
            if not (np.isfinite(value) and value > 0):
                raise InputError(f"write-verify: {key} must be > 0, got {value!r}")
        if not (np.isfinite(self.sigma_program) and self.sigma_program >= 0):
            raise InputError(
                f"write-verify: sigma_program must be >= 0, got {self.sigma_program!r}"
            )
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
        single_shot: siemens, after one programming pulse.
        verified: siemens, after write-verify.
        pulses: ``(rows, cols)`` verify pulses each cell took after its first.
        unconverged: cells still outside the tolerance at ``max_pulses``.
        energy: joule, every verify pulse's ``v_write^2 G t_pulse`` summed (one-off).
    """

    single_shot: np.ndarray
    verified: np.ndarray
    pulses: np.ndarray
    unconverged: int
    energy: float


def programming_spec(spec: CrossbarSpec, params: WriteVerifyParams) -> CrossbarSpec:
    """``spec`` with the scheme's write-verify (``nonideal.verify_tol`` = ``tol`` of the
    window, ``verify_max_pulses``, ``seed``), no drift, and the generic model's programming
    error of ``sigma_program`` of the window when the spec's device model has none."""
    window = spec.device.g_max - spec.device.g_min
    changes: dict[str, object] = {
        "nonideal.verify_tol": params.tol * window,
        "nonideal.verify_max_pulses": params.max_pulses,
        "nonideal.seed": params.seed,
        "nonideal.drift_time": 0.0,
    }
    if not device_model(spec).noisy:
        changes |= {
            "nonideal.prog_noise_abs": params.sigma_program * window,
            "nonideal.prog_noise_rel": 0.0,
        }
    return spec.replace(changes)


def program(
    spec: CrossbarSpec | str | os.PathLike[str], target: np.ndarray, params: WriteVerifyParams
) -> Programmed:
    """Program ``target`` once, then write-verify it to ``params.tol``, with the spec's
    device model (see the module).

    Raises:
        InputError: ``params`` not a :class:`WriteVerifyParams`, or targets of the wrong shape
            or outside the window.
        SpecError: the spec's device model refuses the stand-in programming error (named).
    """
    spec = as_spec(spec)
    instance(params, WriteVerifyParams, "params")
    g = check_window(spec, target, "write-verify targets")
    verifying = programming_spec(spec, params)
    once = verifying.replace({"nonideal.verify_tol": 0.0})
    used = g.shape
    shot = program_tile(g, once, used).programmed
    devices = program_tile(g, verifying, used)
    verified = devices.programmed
    pulses = devices.pulses - 1  # the verify pulses, after the first programming pulse
    # each verify pulse heats its cell at about its target
    energy = float(np.sum(pulses * g) * params.v_write**2 * params.t_pulse)
    band = params.tol * (spec.device.g_max - spec.device.g_min)
    unconverged = int(np.sum(np.abs(verified - g) > band * (1 + 1e-12)))
    return Programmed(shot, verified, pulses, unconverged, energy)
