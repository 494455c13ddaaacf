"""Running charge decks in ngspice: each cycle's sampled column voltages and its energy."""

from __future__ import annotations

import math
import shutil
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cimspice.charge.capacitors import cell_capacitances
from cimspice.charge.closed_form import settling_constant
from cimspice.charge.deck import NoiseOptions, build_charge_deck
from cimspice.engines.ngspice_process import DEFAULT_TIMEOUT_S
from cimspice.errors import CircuitWarning
from cimspice.spec import CrossbarSpec, SwitchKind, as_spec

__all__ = ["ChargeRun", "run_cycles"]


@dataclass(frozen=True)
class ChargeRun:
    """What ngspice gave for a run of MAC cycles.

    Attributes:
        v_col: volt, ``(cycles, cols)``: each column at its cycle's sample instant.
        energy: joule, ``(cycles,)``: what the level and precharge sources delivered in each
            cycle (from its start to the next cycle's).
        caps: farad, ``(rows, cols)``: the cell capacitors simulated.
        info: ngspice's timing figures, the run folder when kept.
    """

    v_col: np.ndarray
    energy: np.ndarray
    caps: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


SETTLED_TAUS = 14
"""Share (reset) phases shorter than this many drive (line discharge) time constants leave
the columns more than e^-14 ~ 1e-6 from their shared value: warned about."""


def _warn_if_unsettled(spec: CrossbarSpec, caps: np.ndarray, cycles: int) -> None:
    ch = spec.charge
    if ch.switch != SwitchKind.IDEAL:
        return  # a transistor's resistance is not a key; its settling is what SPICE gives
    tau = settling_constant(caps, ch.r_on + spec.driver.r_source, ch.r_on)
    if ch.t_share < SETTLED_TAUS * tau:
        warnings.warn(
            f"charge.t_share ({ch.t_share:g} s) is {ch.t_share / tau:.3g} drive time constants "
            f"(~{tau:.3g} s: the line switches charging their cells): the columns are sampled "
            f"~{math.exp(-ch.t_share / tau):.2g} of the swing before they settle; lengthen "
            "t_share or lower r_on for the settled value",
            CircuitWarning,
            stacklevel=3,
        )
    reset = settling_constant(caps, ch.r_on, ch.r_on)  # the pull-downs emptying the lines
    if cycles > 1 and ch.t_reset < SETTLED_TAUS * reset:  # (the first starts settled)
        warnings.warn(
            f"charge.t_reset ({ch.t_reset:g} s) is {ch.t_reset / reset:.3g} reset time "
            f"constants (~{reset:.3g} s: the line pull-downs discharging their cells): each "
            f"cycle keeps ~{math.exp(-ch.t_reset / reset):.2g} of the previous one's line "
            "levels; lengthen t_reset or lower r_on",
            CircuitWarning,
            stacklevel=3,
        )


def run_cycles(
    spec: CrossbarSpec,
    bits: np.ndarray,
    levels: np.ndarray,
    *,
    caps: np.ndarray | None = None,
    noise: NoiseOptions | None = None,
    reltol: float | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    keep: bool = False,
) -> ChargeRun:
    """Run ``len(levels)`` MAC cycles of ``spec``'s 1C tile in ngspice.

    Args:
        spec: a tile with ``array.cell = "1C"`` (or the path of its spec file).
        bits: ``(rows, cols)`` weight bits.
        levels: V, ``(cycles, rows)``: the input lines' levels, one row per cycle.
        caps: F, the cell capacitors (default: the spec's draw, :func:`cell_capacitances`).
        noise: the reset switches' thermal noise, or ``None``.
        reltol: ngspice's relative tolerance (default: see
            :func:`~cimspice.charge.deck.build_charge_deck`).
        timeout_s: seconds before the worker is killed.
        keep: keep the run folder (deck, log) after success.

    Raises:
        InputError: see :func:`~cimspice.charge.deck.build_charge_deck`.
        SimulationError: the run failed (its deck and log are kept and named).
    """
    from cimspice.engines.ngspice import run_deck

    spec = as_spec(spec)
    c = cell_capacitances(spec) if caps is None else np.asarray(caps, dtype=float)
    deck = build_charge_deck(spec, bits, levels, c, noise=noise, reltol=reltol)
    _warn_if_unsettled(spec, c, deck.cycles)
    vectors = {
        "time": ["time"],
        "columns": [f"v({n})" for n in deck.column_nodes],
        "energy": [f"v({deck.energy_node})"],
    }
    arrays, times, kept = run_deck(deck.text, vectors, timeout_s=timeout_s, keep=True)
    t = arrays["time"][0]
    v_col = np.stack([np.interp(deck.sample_times, t, w) for w in arrays["columns"]], axis=1)
    e = np.interp(deck.cycle_starts, t, arrays["energy"][0]) * 1e-15
    info: dict[str, Any] = {f"ngspice_{k}": v for k, v in times.items()}
    info["time_points"] = int(t.size)
    if keep and kept is not None:
        info["run_dir"] = str(kept)
    elif kept is not None:
        shutil.rmtree(kept, ignore_errors=True)
    return ChargeRun(v_col=v_col, energy=np.diff(e), caps=c, info=info)
