"""The one result type every engine returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cimspice.arguments import path_argument, real
from cimspice.arrays import save_npz_atomic
from cimspice.errors import InputError

__all__ = ["Result", "TransientResult"]


@dataclass(frozen=True)
class Result:
    """Outputs of one engine run over a batch of input vectors.

    Attributes:
        engine: name of the engine that produced it (``"ngspice"``, ``"nodal"``, ``"ideal"``).
        currents: ampere, ``(batch, cols)``: current into each bit line's sense node, positive
            when positive inputs drive current into it.
        power: watt, ``(batch,)``: total power drawn from all sources per input vector, or
            ``None`` when the engine cannot compute it.
        v_word: volt, ``(batch, rows, cols)``: word-line potential at each cell, or ``None``
            when node voltages were not requested.
        v_bit: volt, ``(batch, rows, cols)``: bit-line potential at each cell, or ``None``.
        v_out: volt, ``(batch, cols)``: the readout's output voltage (a TIA's), or ``None``
            for readouts without one.
        codes: ``(batch, cols)`` integers: the ADC's output codes, or ``None`` without an ADC.
        digital: ``(batch, cols)``: the values the codes stand for (V for a TIA, else A).
        power_drivers: watt, ``(batch,)``: the word-line drivers' share of ``power`` (what
            the array dissipates), or ``None`` when the engine does not split it.
        power_readout: watt, ``(batch,)``: the readout's share (op-amp outputs or, for CMOS
            op-amps, their rails), or ``None``.
        elapsed_s: second, wall time of the run as seen by the caller.
        info: engine-specific details (e.g. ngspice's own analysis time), JSON-friendly.

    """

    engine: str
    currents: np.ndarray
    power: np.ndarray | None = None
    v_word: np.ndarray | None = None
    v_bit: np.ndarray | None = None
    v_out: np.ndarray | None = None
    codes: np.ndarray | None = None
    digital: np.ndarray | None = None
    power_drivers: np.ndarray | None = None
    power_readout: np.ndarray | None = None
    elapsed_s: float = 0.0
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def batch(self) -> int:
        """Number of input vectors."""
        return int(self.currents.shape[0])

    @property
    def cell_voltages(self) -> np.ndarray:
        """Volt, ``(batch, rows, cols)``: the voltage across each cell (word minus bit).

        Raises:
            InputError: the run did not record node voltages (a ``ValueError`` too).

        """
        if self.v_word is None or self.v_bit is None:
            raise InputError(
                f"the {self.engine} result holds no node voltages; run with node_voltages=True"
            )
        return self.v_word - self.v_bit

    def energy_per_mvm(self, t_read: float) -> dict[str, np.ndarray]:
        """Joule per input vector, each source's share held for ``t_read`` seconds.

        ``drivers``: drawn by the word-line drivers, all of it dissipated in the drivers'
        output resistance, the wires and the cells (the array); ``readout``: for behavioural
        op-amps what their outputs deliver (for a TIA, its feedback resistor's I^2 r_f; a
        macromodel has no quiescent power), for CMOS op-amps (``readout.opamp = "cmos"``)
        everything their supply rails deliver, quiescent power included; ``total``.

        Raises:
            InputError: ``t_read`` is not a finite time > 0, or the engine did not report
                the power split (a ``ValueError`` too).
        """
        t_read = real(t_read, "t_read", positive=True)
        if self.power_drivers is None or self.power_readout is None:
            raise InputError(f"the {self.engine} engine did not report the power split")
        drivers = np.asarray(self.power_drivers) * t_read
        readout = np.asarray(self.power_readout) * t_read
        return {"drivers": drivers, "readout": readout, "total": drivers + readout}

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array this result holds, by name (``currents`` always; others if present)."""
        out = {"currents": self.currents}
        for name in ("power", "v_word", "v_bit", "v_out", "codes", "digital"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def save(self, path: str | Path) -> None:
        """Write :meth:`arrays` to an ``.npz`` file, atomically."""
        save_npz_atomic(path_argument(path, "path"), self.arrays())


@dataclass(frozen=True)
class TransientResult:
    """Waveforms of a transient run (an input step at t = 0) and each output's settling.

    Attributes:
        time: second, ``(n_t,)``.
        currents: ampere, ``(n_t, cols)``: current into each sense node over time.
        v_out: volt, ``(n_t, cols)``: the readout outputs over time (TIA), or ``None``.
        settling_time: second, ``(cols,)``: when each output last entered, for good, the band
            ``+- tol * |final|`` around its final value (the TIA output if there is one,
            else the current).
        tol: the relative settling band.
        info: engine details (ngspice timings, run folder if kept).
        charge: coulomb, ``(cols,)``: the charge each bit line collected over the window.
    """

    time: np.ndarray
    currents: np.ndarray
    v_out: np.ndarray | None
    settling_time: np.ndarray
    tol: float
    info: Mapping[str, Any] = field(default_factory=dict)
    charge: np.ndarray | None = None

    @property
    def final_currents(self) -> np.ndarray:
        """Ampere, ``(1, cols)``: the currents at the end of the window."""
        return self.currents[-1:]

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array, by name: ``time``, ``currents_t``, ``currents`` (final, (1, cols)),
        ``settling_time`` and, with a TIA, ``v_out_t`` and ``v_out`` (final)."""
        out = {
            "time": self.time,
            "currents_t": self.currents,
            "currents": self.final_currents,
            "settling_time": self.settling_time,
        }
        if self.charge is not None:
            out["charge"] = self.charge
        if self.v_out is not None:
            out["v_out_t"] = self.v_out
            out["v_out"] = self.v_out[-1:]
        return out

    def save(self, path: str | Path) -> None:
        """Write :meth:`arrays` to an ``.npz`` file, atomically."""
        save_npz_atomic(path_argument(path, "path"), self.arrays())
