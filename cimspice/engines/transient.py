"""Transient runs: a step on every word line, waveforms, and each output's settling time.

The deck is the crossbar's with a ``.tran`` analysis (see :class:`cimspice.netlist.Transient`);
it runs through the same ngspice worker as every other deck.
"""

from __future__ import annotations

import shutil

import numpy as np

from cimspice.arguments import instance, real
from cimspice.arrays import check_conductances, check_inputs
from cimspice.converters import dac
from cimspice.engines.ngspice import NgspiceEngine, run_deck
from cimspice.errors import InputError, SimulationError
from cimspice.netlist import Transient
from cimspice.result import TransientResult
from cimspice.spec import CrossbarSpec, as_spec

__all__ = ["run_transient", "settling_times"]


def settling_times(time_s: np.ndarray, waves: np.ndarray, tol: float) -> np.ndarray:
    """Second, ``(cols,)``: when each column of ``waves`` ``(n_t, cols)`` last entered the band
    ``+- tol * full scale`` around its final value and stayed (0 if it never left it).

    Full scale is the largest final value in magnitude over all columns, so that an output
    settling near 0 is judged like the others (a readout resolves a fraction of full scale).
    """
    final = waves[-1]
    band = tol * max(float(np.max(np.abs(final))), np.finfo(float).tiny)
    outside = np.abs(waves - final) > band
    out = np.zeros(waves.shape[1])
    for j in range(waves.shape[1]):
        idx = np.flatnonzero(outside[:, j])
        if idx.size:
            out[j] = time_s[min(idx[-1] + 1, len(time_s) - 1)]
    return out


def run_transient(
    engine: NgspiceEngine,
    spec: CrossbarSpec,
    conductances: np.ndarray,
    inputs: np.ndarray,
    *,
    t_stop: float,
    t_step: float | None = None,
    t_rise: float = 1e-12,
    tol: float = 1e-3,
    pulse_period: float = 0.0,
) -> TransientResult:
    """Step every word line from 0 V to its input at t = 0 and follow the outputs.

    With ``pulse_period`` the inputs are pulse-width encoded instead (see
    :class:`~cimspice.netlist.Transient`): the result's ``charge`` is what each bit line
    collected, ideally ``pulse_period * (V @ G)``, and no settling is required (the outputs
    return to 0 after the pulses; ``settling_time`` then reports when they did).

    Args:
        engine: the ngspice engine (time limit, keep).
        spec: the tile's spec.
        conductances: siemens, ``(rows, cols)``.
        inputs: volt, one vector ``(rows,)`` or ``(1, rows)``: the step's final values.
        t_stop: second, the simulated window.
        t_step: second, the print step (default ``t_stop / 1000``).
        t_rise: second, the inputs' rise time.
        tol: the settling band, as a fraction of full scale (the largest final output).
        pulse_period: second, the full-scale pulse of pulse-width encoding (0: level steps).

    Raises:
        SimulationError: an output has not settled within the window (it must stay inside
            its band for the last fifth of it); the deck and log are kept and named.
    """
    instance(engine, NgspiceEngine, "engine", "an NgspiceEngine (transients run in ngspice)")
    spec = as_spec(spec)
    t_stop = real(t_stop, "t_stop", positive=True)
    if t_step is not None:
        t_step = real(t_step, "t_step", positive=True)
    tol = real(tol, "tol")
    if not 0 < tol < 1:
        raise InputError(f"the settling tolerance must be in (0, 1), got {tol!r}")
    g = check_conductances(conductances, spec.rows, spec.cols)
    v = dac(spec, check_inputs(inputs, spec.rows))
    transient = Transient(
        t_stop, t_step if t_step is not None else t_stop / 1000, t_rise, pulse_period
    )
    worker, deck = engine.start_and_render(spec, g, v, save_nodes=False, transient=transient)
    vectors: dict[str, list[str]] = {
        "time": ["time"],
        "currents": [f"{name}#branch" for name in deck.sense_sources],
    }
    if deck.output_nodes:
        vectors["outputs"] = list(deck.output_nodes)
    arrays, times, kept = run_deck(
        deck.text, vectors, timeout_s=engine.timeout_s, keep=True, worker=worker
    )
    assert kept is not None
    time_s = arrays["time"][0]
    currents = arrays["currents"].T.copy()
    v_out = arrays["outputs"].T.copy() if deck.output_nodes else None
    watched = v_out if v_out is not None else currents
    settle = settling_times(time_s, watched, tol)
    charge = np.trapezoid(currents, time_s, axis=0)
    late = settle > 0.8 * time_s[-1]
    if pulse_period > 0:
        late[:] = False  # pulses end by design: their outputs fall back to 0
    if late.any():
        j = int(np.flatnonzero(late)[0])
        raise SimulationError(
            f"{int(late.sum())} output(s) did not settle to {tol:g} of their final value within "
            f"the simulated {t_stop:g} s (output {j} last left its band at {settle[j]:.3g} s); "
            "simulate a longer window",
            deck=kept / "deck.cir",
            log=kept / "ngspice.log",
        )
    info: dict[str, object] = {f"ngspice_{k}": t for k, t in times.items()}
    if engine.keep:
        info["run_dir"] = str(kept)
    else:
        shutil.rmtree(kept, ignore_errors=True)
    return TransientResult(time_s, currents, v_out, settle, tol, info, charge=charge)
