"""The access transistor's I-V, measured in ngspice: the 1T1R surrogate's transistor model.

A 1T1R cell is a memristor in series with an NMOS whose gate sits at ``[access] v_gate`` and
whose source sits on the bit line. Its drain current depends on the drain-source voltage and,
through ``Vgs`` and the body effect, on how far the bit line has risen above ground.
:func:`measure_access_transistor` sweeps the drain of one transistor of the spec's model and
size in ngspice twice, with the source at 0 V and at ``SOURCE_OFFSET_V``, and
:class:`AccessTransistor` interpolates: linearly in the drain-source voltage between table
points, linearly in the source voltage between the two sweeps (the source rises by millivolts
to tens of millivolts; a linear ``Vgs`` dependence is the transistor's triode law).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimspice.spec import CrossbarSpec

__all__ = ["SOURCE_OFFSET_V", "AccessTransistor", "measure_access_transistor"]

TABLE_POINTS = 601
"""Points of each drain-current table (odd: 0 V is one of them)."""
SOURCE_OFFSET_V = 0.05
"""Volt: the source voltage of the second sweep."""


@dataclass(frozen=True)
class AccessTransistor:
    """Drain current tables of the access transistor.

    Attributes:
        voltages: volt, ``(n,)``, drain-source voltages, increasing.
        currents: ampere, ``(n,)``, drain current with the source at 0 V.
        currents_offset: ampere, ``(n,)``, drain current with the source at ``offset``.
        offset: volt, the second sweep's source voltage.
    """

    voltages: np.ndarray
    currents: np.ndarray
    currents_offset: np.ndarray
    offset: float = SOURCE_OFFSET_V

    def law(self, source: np.ndarray | float = 0.0) -> TransistorLaw:
        """The transistor as a two-terminal law with its source at ``source`` volts."""
        return TransistorLaw(self, np.asarray(source, dtype=float))

    def to_json(self) -> dict[str, object]:
        """JSON-ready tables."""
        return {
            "voltages": self.voltages.tolist(),
            "currents": self.currents.tolist(),
            "currents_offset": self.currents_offset.tolist(),
            "offset": self.offset,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> AccessTransistor:
        """Inverse of :meth:`to_json` (raises ValueError on inconsistent tables)."""
        v, i0, i1 = (
            np.asarray(data[k], dtype=float) for k in ("voltages", "currents", "currents_offset")
        )
        if not (v.ndim == 1 and v.shape == i0.shape == i1.shape and len(v) >= 2):
            raise ValueError("access_transistor tables must be equal-length 1-D lists")
        if not (np.all(np.isfinite(v)) and np.all(np.diff(v) > 0)):
            raise ValueError("access_transistor voltages must increase")
        offset = data["offset"]
        if isinstance(offset, bool) or not isinstance(offset, int | float) or offset <= 0:
            raise ValueError("access_transistor offset must be a positive number")
        return cls(v, i0, i1, float(offset))


@dataclass(frozen=True)
class TransistorLaw:
    """The access transistor at a given source voltage, as a cell law (see the module)."""

    transistor: AccessTransistor
    source: np.ndarray

    def current(self, voltage: np.ndarray) -> np.ndarray:
        """Ampere, for drain-source voltages ``voltage``."""
        return self.current_and_slope(voltage)[0]

    def current_and_slope(self, voltage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(I, dI/dVds)``: interpolated in both tables, then between them."""
        t = self.transistor
        v = t.voltages
        k = np.clip(np.searchsorted(v, voltage) - 1, 0, len(v) - 2)
        dv = v[k + 1] - v[k]
        x = voltage - v[k]
        w = self.source / t.offset
        i_lo = t.currents[k] + (t.currents_offset[k] - t.currents[k]) * w
        i_hi = t.currents[k + 1] + (t.currents_offset[k + 1] - t.currents[k + 1]) * w
        slope = (i_hi - i_lo) / dv
        return i_lo + slope * x, slope


def measure_access_transistor(spec: CrossbarSpec, v_max: float) -> AccessTransistor:
    """Sweep one access transistor of ``spec`` in ngspice over ``[-v_max, v_max]`` drain-source.

    Raises:
        SimulationError and friends: ngspice rejected the model (deck and log kept).
    """
    from cimspice.engines.ngspice import run_deck

    acc = spec.access
    step = 2 * v_max / (TABLE_POINTS - 1)
    tables = []
    for source in (0.0, SOURCE_OFFSET_V):
        deck = "\n".join(
            [
                "* cimspice: access transistor I-V (drain swept above the source; body at 0 V)",
                f".include {spec.model_path()}",
                f"vg g 0 dc {acc.v_gate!r}",
                f"vsrc s 0 dc {source!r}",
                "vd d s dc 0",
                f"m1 d g s 0 {acc.model} w={acc.w!r} l={acc.l!r}",
                ".options reltol=1e-9 vntol=1e-12 abstol=1e-16",
                f".dc vd {-v_max!r} {v_max + step / 2!r} {step!r}",
                ".end",
                "",
            ]
        )
        arrays, _, _ = run_deck(deck, {"i": ["vd#branch"]})
        tables.append(-arrays["i"][0])  # branch current flows into the source's + terminal
    voltages = np.linspace(-v_max, v_max, TABLE_POINTS)
    return AccessTransistor(voltages, tables[0], tables[1])
