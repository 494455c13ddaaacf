"""The access transistor's I-V, measured in ngspice: the 1T1R surrogate's transistor model.

A 1T1R cell is a memristor in series with an NMOS whose gate sits at ``[access] v_gate`` and
whose source sits on the bit line. Its drain current depends on the drain-source voltage and,
through ``Vgs`` and the body effect, on how far the bit line has risen above ground.
:func:`measure_access_transistor` sweeps the drain of one transistor of the spec's model and
size in ngspice once per source voltage in ``SOURCE_VOLTAGES`` (0 V up to 0.2 V: a 128x128
tile's bit lines rise by ~0.1 V), and :class:`AccessTransistor` interpolates: linearly in the
drain-source voltage between table points, piecewise linearly in the source voltage between
the sweeps (a linear ``Vgs`` dependence is the transistor's triode law).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimspice.engines.cell_laws import Pair, written
from cimspice.spec import CrossbarSpec

__all__ = ["SOURCE_VOLTAGES", "AccessTransistor", "measure_access_transistor"]

TABLE_POINTS = 601
"""Points of each drain-current table (odd: 0 V is one of them)."""
SOURCE_VOLTAGES = (0.0, 0.05, 0.1, 0.2)
"""Volt: the source voltages of the sweeps."""


@dataclass(frozen=True)
class AccessTransistor:
    """Drain current tables of the access transistor.

    Attributes:
        voltages: volt, ``(n,)``, drain-source voltages, increasing.
        sources: volt, ``(k,)``, the source voltage of each sweep, increasing, from 0 V.
        currents: ampere, ``(k, n)``, drain current at each source voltage.
    """

    voltages: np.ndarray
    sources: np.ndarray
    currents: np.ndarray

    def law(self, source: np.ndarray | float = 0.0) -> TransistorLaw:
        """The transistor as a two-terminal law with its source at ``source`` volts."""
        return TransistorLaw(self, np.asarray(source, dtype=float))

    def to_json(self) -> dict[str, object]:
        """JSON-ready tables."""
        return {
            "voltages": self.voltages.tolist(),
            "sources": self.sources.tolist(),
            "currents": self.currents.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> AccessTransistor:
        """Inverse of :meth:`to_json` (raises ValueError on inconsistent tables)."""
        v, sources, currents = (
            np.asarray(data[k], dtype=float) for k in ("voltages", "sources", "currents")
        )
        if not (v.ndim == 1 and len(v) >= 2 and sources.ndim == 1 and len(sources) >= 1):
            raise ValueError("access_transistor voltages and sources must be 1-D lists")
        if currents.shape != (len(sources), len(v)):
            raise ValueError("access_transistor currents must be a sources x voltages table")
        for name, x in (("voltages", v), ("sources", sources)):
            if not (np.all(np.isfinite(x)) and np.all(np.diff(x) > 0)):
                raise ValueError(f"access_transistor {name} must increase")
        if not np.all(np.isfinite(currents)):
            raise ValueError("access_transistor currents must be finite")
        return cls(v, sources, currents)


@dataclass(frozen=True)
class TransistorLaw:
    """The access transistor at a given source voltage, as a cell law (see the module)."""

    transistor: AccessTransistor
    source: np.ndarray

    def current(self, voltage: np.ndarray) -> np.ndarray:
        """Ampere, for drain-source voltages ``voltage``."""
        return self.current_and_slope(voltage)[0]

    def current_and_slope(
        self, voltage: np.ndarray, out: Pair | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(I, dI/dVds)``: interpolated in the sweeps around the source voltage, then
        between them (beyond the last sweep, along its last segment)."""
        t = self.transistor
        v, src = t.voltages, t.sources
        k = np.clip(np.searchsorted(v, voltage) - 1, 0, len(v) - 2)
        x = voltage - v[k]
        dv = v[k + 1] - v[k]
        if len(src) == 1:
            lo_i, hi_i = t.currents[0, k], t.currents[0, k + 1]
        else:
            m = np.clip(np.searchsorted(src, self.source) - 1, 0, len(src) - 2)
            w = (self.source - src[m]) / (src[m + 1] - src[m])
            table = t.currents
            lo_i = table[m, k] + (table[m + 1, k] - table[m, k]) * w
            hi_i = table[m, k + 1] + (table[m + 1, k + 1] - table[m, k + 1]) * w
        slope = (hi_i - lo_i) / dv
        return written((lo_i + slope * x, slope), out)


def measure_access_transistor(spec: CrossbarSpec, v_max: float) -> AccessTransistor:
    """Sweep one access transistor of ``spec`` in ngspice over ``[-v_max, v_max]`` drain-source.

    Raises:
        ModelFileError: the spec's model file is refused.
        SimulationError and friends: ngspice rejected the model (deck and log kept).
    """
    from cimspice.engines.ngspice import run_deck

    acc = spec.access
    cards = spec.model_cards()
    prefix = cards.instance_prefix(acc.model)  # X for a subcircuit-wrapped model
    step = 2 * v_max / (TABLE_POINTS - 1)
    # One deck, one run: a transistor per source voltage, each drain held v(sw) above its
    # source by a unity VCVS, v(sw) swept; a 0 V source in each drain reads its current.
    # The model cards are inlined, as in every deck: the deck runs from any folder.
    lines = [
        "* cimspice: access transistor I-V (drain swept above the source; body at 0 V)",
        f"* ---- device models ({cards.name})",
        cards.text.rstrip("\n"),
        f"vg g 0 dc {acc.v_gate!r}",
        "vsw sw 0 dc 0",
    ]
    for k, source in enumerate(SOURCE_VOLTAGES):
        lines += [
            f"vs{k} s{k} 0 dc {source!r}",
            f"e{k} x{k} s{k} sw 0 1",
            f"vm{k} x{k} d{k} dc 0",
            f"{prefix}m{k} d{k} g s{k} 0 {acc.model} w={acc.w!r} l={acc.l!r}",
        ]
    lines += [
        ".options reltol=1e-9 vntol=1e-12 abstol=1e-16",
        f".dc vsw {-v_max!r} {v_max + step / 2!r} {step!r}",
        ".end",
        "",
    ]
    names = [f"vm{k}#branch" for k in range(len(SOURCE_VOLTAGES))]
    arrays, _, _ = run_deck("\n".join(lines), {"i": names})
    # vm<k>'s branch current flows from x<k> into the drain: the drain current itself
    voltages = np.linspace(-v_max, v_max, TABLE_POINTS)
    return AccessTransistor(voltages, np.array(SOURCE_VOLTAGES), arrays["i"])
