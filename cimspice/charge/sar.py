"""The capacitive SAR ADC of a charge-domain column at transistor level
(``charge.adc = "sar"``, ``netlists/charge_sar.cir.j2``).

A binary-weighted capacitor DAC of ``2^N`` units (``charge.sar_c_unit``; with a dummy unit)
samples the column on its bottom plates with its top plate at ``v_cm`` (top-plate sampling,
:data:`V_CM` of the supply),
then resolves one bit per step, MSB first: the bit's bottom plate goes from the low
reference ``v_low`` to the high one ``v_high``, a StrongARM latch comparator of the built-in
65 nm cards (``nmos65``/``pmos65``) compares the top plate with ``v_cm``, and behavioural SAR
logic keeps the bit or drops it. The code is ``floor((v - v_low) / LSB)`` with
``LSB = (v_high - v_low) / 2^N``; the references are set so that it is the behavioural
quantiser's (:func:`cimspice.converters.charge_adc`): ``LSB = adc_full_scale / (2^N - 1)``
and ``v_low = v_reset - LSB / 2`` make ``floor`` a rounding of the swing ``v - v_reset``.
The top plate's parasitics (the comparator's gate) scale the input and the DAC alike, so
they do not move the codes.

In a tile, the DAC's sampling capacitance (``2^N sar_c_unit``) hangs on the column from the
reset through the share phase (its top plate at ``v_cm``, an AC ground):
:attr:`~cimspice.spec.ChargeSpec.c_column` adds it to ``c_par`` wherever the column's
capacitance enters (the MAC-cycle deck, the surrogate, the closed forms). Its energy per
conversion (:func:`energy_per_conversion`) is what the references, ``v_cm`` and the
comparator's supply deliver in ngspice, averaged over a ramp across the full scale.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cimspice import __version__
from cimspice.charge.deck import pwl_table
from cimspice.errors import InputError
from cimspice.spec import BUILTIN_TRANSISTOR_MODELS, ChargeAdc, CrossbarSpec

__all__ = [
    "SarDeck",
    "SarRun",
    "build_sar_deck",
    "energy_per_conversion",
    "reference_levels",
    "run_sar",
]

R_SWITCH = 100.0
"""Ohm: the SAR's switches (ideal): an 8-bit DAC's MSB of 0.5 fF units (64 fF) settles in
6.4 ps, 1/30 of the settling step."""
T_EDGE = 20e-12
"""Second: every clock edge."""
T_SAMPLE = 1e-9
"""Second: the sample phase."""
T_SETTLE = 0.2e-9
"""Second: from a bit's trial to the comparator's clock edge (the DAC settles)."""
T_DECIDE = 0.4e-9
"""Second: from the comparator's clock edge to the latch (the StrongARM regenerates in
< 100 ps for a 1 mV input; near a code edge it may take longer, an error of one code)."""
T_LATCH = 0.1e-9
"""Second: the latch pulse."""
T_BIT = 1.0e-9
"""Second: one bit: settle, decide, latch, the comparator's reset."""
V_CM = 0.75
"""The top plate's sampling level, a fraction of the supply (``charge.v_gate``): the
comparator's NMOS input pair needs the overdrive (at half the 65 nm supply its input pair
took > 0.5 ns to pull the latch in)."""
SIZES = {"w_tail": "2u", "w_in": "1u", "w_latch": "0.5u", "w_latch_p": "1u", "w_reset": "0.5u"}
"""The StrongARM's widths (every length 65 nm): input pair, tail, latch, reset."""


def reference_levels(spec: CrossbarSpec) -> tuple[float, float, float]:
    """``(v_low, v_high, lsb)`` (V) of ``spec``'s SAR: see the module."""
    ch = spec.charge
    if ch.adc != ChargeAdc.SAR:
        raise InputError('the SAR readout needs charge.adc = "sar"')
    lsb = ch.adc_full_scale / (2**ch.adc_bits - 1)
    v_low = ch.v_reset - lsb / 2
    return v_low, v_low + 2**ch.adc_bits * lsb, lsb


@dataclass(frozen=True)
class SarDeck:
    """A rendered SAR deck and when to read it.

    Attributes:
        text: the netlist.
        read_times: second, ``(n,)``: each conversion's end (its bits are read there).
        starts: second, ``(n + 1,)``: each conversion's start, then the deck's end.
    """

    text: str
    read_times: np.ndarray
    starts: np.ndarray


def build_sar_deck(spec: CrossbarSpec, inputs: np.ndarray, *, reltol: float = 1e-4) -> SarDeck:
    """Render the deck of one conversion per value of ``inputs`` (V, the column's voltage,
    ``v_reset`` plus its swing).

    Raises:
        InputError: not a SAR readout, or inputs that are not finite 1-D volts.
        NetlistError: the template is missing or incomplete.
    """
    from cimspice.model_cards import builtin_model_cards
    from cimspice.netlist import render_template
    from cimspice.resources import data_dir

    v_low, v_high, _ = reference_levels(spec)
    v = np.asarray(inputs, dtype=float)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise InputError(f"SAR inputs must be finite volts, shape (n,), got shape {v.shape}")
    ch = spec.charge
    bits, vdd, e = ch.adc_bits, ch.v_gate, T_EDGE
    period = T_SAMPLE + 2 * e + bits * T_BIT
    top: list[tuple[float, float]] = [(0.0, 0.0)]
    sample: list[tuple[float, float]] = [(0.0, 0.0)]
    clock: list[tuple[float, float]] = [(0.0, 0.0)]
    trials: list[list[tuple[float, float]]] = [[(0.0, 0.0)] for _ in range(bits)]
    latches: list[list[tuple[float, float]]] = [[(0.0, 0.0)] for _ in range(bits)]
    values: list[tuple[float, float]] = [(0.0, float(v[0]))]
    reads = np.empty(v.size)
    for n in range(v.size):
        t0 = n * period
        if n:
            values += [(t0, float(v[n - 1])), (t0 + e, float(v[n]))]
            for k in range(bits):  # every trial ends with the conversion
                trials[k] += [(t0, vdd), (t0 + e, 0.0)]
        top += [(t0 + e, 0.0), (t0 + 2 * e, vdd), (t0 + T_SAMPLE - e, vdd), (t0 + T_SAMPLE, 0.0)]
        sample += [(t0 + e, 0.0), (t0 + 2 * e, vdd), (t0 + T_SAMPLE, vdd)]
        sample += [(t0 + T_SAMPLE + e, 0.0)]
        for j in range(bits):
            k = bits - 1 - j  # MSB first
            w = t0 + T_SAMPLE + 2 * e + j * T_BIT
            trials[k] += [(w, 0.0), (w + e, vdd)]
            up = w + T_SETTLE
            latch = up + T_DECIDE
            clock += [(up, 0.0), (up + e, vdd), (latch + T_LATCH + e, vdd)]
            clock += [(latch + T_LATCH + 2 * e, 0.0)]
            latches[k] += [(latch, 0.0), (latch + e, vdd), (latch + T_LATCH, vdd)]
            latches[k] += [(latch + T_LATCH + e, 0.0)]
        reads[n] = t0 + period - e / 2
    path = data_dir("models") / BUILTIN_TRANSISTOR_MODELS["nmos65"]["file"]
    cards = builtin_model_cards(path)
    starts = np.arange(v.size + 1) * period
    context: dict[str, Any] = {
        "version": __version__,
        "bits": bits,
        "conversions": v.size,
        "c_unit": ch.sar_c_unit,
        "model_source": cards.name,
        "model_text": cards.text.rstrip("\n"),
        "reltol": repr(reltol),
        "v_threshold": repr(vdd / 2),
        "v_hysteresis": repr(vdd / 10),
        "r_switch": repr(R_SWITCH),
        "vdd": repr(vdd),
        "v_high": repr(v_high),
        "v_low": repr(v_low),
        "v_cm": repr(V_CM * vdd),
        "input_table": pwl_table(values),
        "top_table": pwl_table(top),
        "sample_table": pwl_table(sample),
        "clock_table": pwl_table(clock),
        "trial_tables": [pwl_table(t) for t in trials],
        "latch_tables": [pwl_table(t) for t in latches],
        "save_line": " ".join(f"v(d{k})" for k in range(bits)),
        "t_step": repr(e / 4),
        "t_stop": repr(float(starts[-1])),
        "t_max": repr(e * 2),
        **SIZES,
    }
    text = render_template("charge_sar.cir.j2", context)
    return SarDeck(text=text, read_times=reads, starts=starts)


@dataclass(frozen=True)
class SarRun:
    """What ngspice gave for a run of SAR conversions.

    Attributes:
        codes: ``(n,)`` each conversion's code.
        energy: joule, ``(n,)``: what the references, ``v_cm`` and the comparator's supply
            delivered in each conversion.
        info: ngspice's timing figures.
    """

    codes: np.ndarray
    energy: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def run_sar(spec: CrossbarSpec, inputs: np.ndarray, *, timeout_s: float = 600.0) -> SarRun:
    """Convert ``inputs`` (V, ``(n,)``: column voltages) with ``spec``'s SAR in ngspice.

    Raises:
        InputError: see :func:`build_sar_deck`. SimulationError: the run failed.
    """
    from cimspice.engines.ngspice import run_deck

    deck = build_sar_deck(spec, inputs)
    bits = spec.charge.adc_bits
    vectors = {
        "time": ["time"],
        "bits": [f"v(d{k})" for k in range(bits)],
        "energy": ["v(en)"],
    }
    arrays, times, kept = run_deck(deck.text, vectors, timeout_s=timeout_s, keep=True)
    if kept is not None:
        shutil.rmtree(kept, ignore_errors=True)
    t = arrays["time"][0]
    high = spec.charge.v_gate / 2
    decided = np.stack([np.interp(deck.read_times, t, w) > high for w in arrays["bits"]])
    codes = (decided.astype(np.int64) * (2 ** np.arange(bits))[:, None]).sum(axis=0)
    energy = np.diff(np.interp(deck.starts, t, arrays["energy"][0])) * 1e-15
    info: dict[str, Any] = {f"ngspice_{k}": v for k, v in times.items()}
    return SarRun(codes=codes, energy=energy, info=info)


@functools.lru_cache(maxsize=16)
def _energy(spec: CrossbarSpec) -> float:
    ch = spec.charge
    ramp = ch.v_reset + np.linspace(0.0, ch.adc_full_scale, 16)
    return float(np.mean(run_sar(spec, ramp).energy))


def energy_per_conversion(spec: CrossbarSpec) -> float:
    """Joule: the SAR's mean energy per conversion over 16 conversions ramping across the
    full scale, from ngspice's supply currents (run once per spec in a process).

    Raises:
        InputError: not a SAR readout. SimulationError: the run failed.
    """
    reference_levels(spec)
    return _energy(spec)
