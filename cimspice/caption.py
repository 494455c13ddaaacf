"""One short line that says what circuit a figure shows: the spec's size, cell, wires,
converters and readout, and the engine (or surrogate) that produced the numbers.

Every figure cimspice writes carries such a line under its title (the plot functions of
:mod:`cimspice.plots` take it as ``caption``), e.g.
``"64x64 0T1R, 2 ohm wires, G 1-100 uS, ideal readout; engine ngspice"``.
"""

from __future__ import annotations

import math

from cimspice.spec import CellKind, CrossbarSpec, DeviceIV, OpAmpKind, ReadoutKind

__all__ = ["engineering", "spec_caption"]

_PREFIXES = {-15: "f", -12: "p", -9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G"}


def engineering(value: float, unit: str) -> str:
    """``value`` with an SI prefix and ``unit``, three significant digits: ``10 kohm``,
    ``1 pF``, ``2.5 uS`` (ASCII ``u`` for micro, as in the rest of cimspice's text)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    exponent = 3 * math.floor(math.log10(abs(value)) / 3)
    exponent = min(max(exponent, min(_PREFIXES)), max(_PREFIXES))
    return f"{value / 10.0**exponent:.3g} {_PREFIXES[exponent]}{unit}"


def _wires(spec: CrossbarSpec) -> str:
    r_row, r_col = spec.wire.r_row, spec.wire.r_col
    if r_row == r_col == 0:
        return "ideal wires"
    if r_row == r_col:
        return f"{engineering(r_row, 'ohm')} wires"
    return f"wires {engineering(r_row, 'ohm')} (rows) / {engineering(r_col, 'ohm')} (columns)"


def _readout(spec: CrossbarSpec) -> str:
    readout = spec.readout
    if readout.kind == ReadoutKind.IDEAL:
        text = "ideal readout"
    else:
        opamp = "CMOS" if readout.opamp == OpAmpKind.CMOS else "behavioural"
        if readout.kind == ReadoutKind.TIA:
            text = f"TIA r_f {engineering(readout.r_f, 'ohm')} ({opamp} op-amp)"
        else:
            text = f"integrator c_f {engineering(readout.c_f, 'F')} ({opamp} op-amp)"
    if readout.adc_bits:
        text += f", {readout.adc_bits}-bit ADC"
    return text


def spec_caption(spec: CrossbarSpec, *, engine: str | None = None) -> str:
    """The spec in one line, and with ``engine`` the engine or surrogate behind the figure.

    Args:
        spec: the tile.
        engine: e.g. ``"ngspice"``, ``"nodal"`` or ``"surrogate (calibrated: s.json)"``;
            ``None`` leaves the engine out.

    Returns:
        e.g. ``"64x64 0T1R, 2 ohm wires, G 1-100 uS, ideal readout; engine ngspice"``.
    """
    cell = spec.array.cell.value
    if spec.device.iv == DeviceIV.SINH:
        cell += f" sinh (v0 {engineering(spec.device.v0, 'V')})"
    if spec.array.cell == CellKind.ONE_T_ONE_R:
        cell += f" (Vg {engineering(spec.access.v_gate, 'V')})"
    parts = [f"{spec.rows}x{spec.cols} {cell}", _wires(spec)]
    g_min, g_max = spec.device.g_min, spec.device.g_max
    parts.append(f"G {engineering(g_min, 'S')}-{engineering(g_max, 'S')}")
    drive = f"inputs <= {engineering(spec.driver.v_read, 'V')}"
    if spec.driver.dac_bits:
        drive += f" ({spec.driver.dac_bits}-bit DAC)"
    parts += [drive, _readout(spec)]
    text = ", ".join(parts)
    return text if engine is None else f"{text}; engine {engine}"
