"""Published curves the device presets are checked against, from ``published.toml`` (package
data): independent fits of the source papers' figures, each with its citation, figure, who
digitised it, how the numbers were read and the tolerance a preset is held to, and the list
of what could not be found (:func:`missing_data`). No point in it was read off a figure by
this project: see the file's header.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from cimspice.errors import SpecError

__all__ = ["DATA_FILE", "Missing", "PublishedCurve", "missing_data", "published_curves"]

DATA_FILE = "published.toml"
"""The data file's name inside :mod:`cimspice.devices`."""

_UNITS = {"S": 1.0, "uS": 1e-6}


@dataclass(frozen=True)
class PublishedCurve:
    """One published fit of a figure: ``sigma(G) = max(sum_k c_k G^k, 0)`` in its units.

    Attributes:
        preset: the device preset it checks.
        quantity: what it gives (``programming_std``, ``relaxation_std_1s``).
        label: a legend label.
        citation: the paper.
        figure: the figure (and what it shows).
        digitised_by: who fitted the figure's points (and where).
        how_read: how the numbers came into this file.
        x_unit, y_unit: units of ``G`` and ``sigma`` (``S`` or ``uS``).
        x_range: ``(lo, hi)`` in ``x_unit``, where the curve holds.
        coefficients: ``c_0 .. c_n``.
        tolerance: relative, the agreement a preset is held to.
        tolerance_reason: why that tolerance.
        note: anything else a reader should know (``""``: nothing).
    """

    preset: str
    quantity: str
    label: str
    citation: str
    figure: str
    digitised_by: str
    how_read: str
    x_unit: str
    y_unit: str
    x_range: tuple[float, float]
    coefficients: tuple[float, ...]
    tolerance: float
    tolerance_reason: str
    note: str = ""

    def __call__(self, g: np.ndarray) -> np.ndarray:
        """Siemens: the curve at conductances ``g`` (siemens)."""
        x = np.asarray(g, dtype=float) / _UNITS[self.x_unit]
        y = sum(c * x**k for k, c in enumerate(self.coefficients))
        return np.maximum(y, 0.0) * _UNITS[self.y_unit]

    def grid(self, n: int = 200) -> np.ndarray:
        """Siemens: ``n`` conductances spanning :attr:`x_range`."""
        lo, hi = self.x_range
        return np.linspace(lo, hi, n) * _UNITS[self.x_unit]


@dataclass(frozen=True)
class Missing:
    """Published data a preset would be checked against but that was not found.

    Attributes:
        preset: the device preset.
        what: the data.
        why: why it is absent.
        searched: where it was looked for (corpora, pages, files, strings) and what each held.
    """

    preset: str
    what: str
    why: str
    searched: str = ""


@functools.cache
def _load() -> dict[str, Any]:
    text = resources.files("cimspice.devices").joinpath(DATA_FILE).read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"not valid TOML: {err}", file=DATA_FILE) from None


def published_curves(preset: str | None = None) -> list[PublishedCurve]:
    """Every published curve (of ``preset`` only, when given).

    Raises:
        SpecError: a curve with a missing key or an unknown unit.
    """
    curves = []
    for k, raw in enumerate(_load().get("curve", [])):
        try:
            curve = PublishedCurve(
                **{
                    **raw,
                    "x_range": tuple(raw["x_range"]),
                    "coefficients": tuple(float(c) for c in raw["coefficients"]),
                }
            )
        except (KeyError, TypeError) as err:
            raise SpecError(f"curve {k}: {err}", file=DATA_FILE, key="curve") from None
        if curve.x_unit not in _UNITS or curve.y_unit not in _UNITS:
            raise SpecError(f"curve {k}: unit not in {sorted(_UNITS)}", file=DATA_FILE)
        if preset is None or curve.preset == preset:
            curves.append(curve)
    return curves


def missing_data(preset: str | None = None) -> list[Missing]:
    """What each preset lacks (of ``preset`` only, when given)."""
    return [
        Missing(**raw)
        for raw in _load().get("missing", [])
        if preset is None or raw["preset"] == preset
    ]
