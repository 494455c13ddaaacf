"""Sweeps: hardware accuracy against one spec parameter, Monte Carlo over device seeds.

A sweep key is a dotted spec key (``wire.r_row``, ``readout.adc_bits``, ``driver.dac_bits``,
``nonideal.read_noise``, ``nonideal.drift_time``, ``nonideal.levels``, ...) or ``array.size``
(square tiles: rows = cols). Each value gives a spec validated like a spec file (a bad value is
a :class:`~cimspice.errors.SpecError` naming the key); each is evaluated with ``seeds`` device
seeds (``nonideal.seed + 0 .. seeds - 1``; sweeping ``nonideal.seed`` itself moves that base)
and the accuracies' mean and standard deviation reported. A sweep over a key that changes the
tile's circuit (array size, wires, device window, ...) cannot use one calibrated surrogate
file; without one, each swept tile's nominal surrogate is used (passive linear tiles).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cimspice.arguments import instance, integer
from cimspice.caption import spec_caption
from cimspice.errors import InputError
from cimspice.spec import CrossbarSpec, as_spec
from cimspice.studies.evaluate import evaluate

if TYPE_CHECKING:
    from cimspice.nn.model import Model
    from cimspice.surrogate.model import LinearTileSurrogate

__all__ = ["SweepResult", "parse_sweep", "run_sweep", "with_value"]


def _value(text: str) -> Any:
    """A sweep value as TOML reads it (int, float, bool), else the bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):  # a deeply nested array: a bad string
        return text


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """``"KEY=v1,v2,..."`` as ``(key, [values])``.

    Raises:
        InputError: not of that form, or no values.
    """
    instance(text, str, "text", 'a "KEY=v1,v2,..." string')
    key, sep, rest = text.partition("=")
    key = key.strip()
    values = [_value(v.strip()) for v in rest.split(",") if v.strip()]
    if not sep or "." not in key or not values:
        raise InputError(
            f"a sweep is KEY=v1,v2,... with a dotted spec key (e.g. wire.r_row=0,1,2), got {text!r}"
        )
    return key, values


def with_value(spec: CrossbarSpec, key: str, value: Any) -> CrossbarSpec:
    """``spec`` with ``key`` (dotted, or ``array.size``) set to ``value``, validated: one key
    of :meth:`CrossbarSpec.replace <cimspice.spec.base.Sections.replace>`.

    Raises:
        SpecError: unknown key or invalid value (named).
    """
    instance(spec, CrossbarSpec, "spec")
    instance(key, str, "key", "a dotted spec key (str)")
    return spec.replace({key: value})


@dataclass(frozen=True)
class SweepResult:
    """Accuracy against a swept parameter.

    Attributes:
        key: the swept key.
        values: the swept values.
        accuracy: ``(len(values), seeds)`` hardware accuracies (fractions).
        accuracy_ideal: the exact network's accuracy (the same at every point).
        seeds: the device seeds used (at points that do not set ``nonideal.seed``).
        caption: one line naming the base spec, the engine and the model (for the plot).
    """

    key: str
    values: list[Any]
    accuracy: np.ndarray
    accuracy_ideal: float
    seeds: list[int]
    caption: str = field(default="", compare=False)

    @property
    def mean(self) -> np.ndarray:
        """Mean accuracy per value."""
        return self.accuracy.mean(axis=1)

    @property
    def std(self) -> np.ndarray:
        """Standard deviation over seeds per value (0 with one seed)."""
        return self.accuracy.std(axis=1)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "key": self.key,
            "values": self.values,
            "seeds": self.seeds,
            "accuracy_ideal": self.accuracy_ideal,
            "accuracy_mean": self.mean.tolist(),
            "accuracy_std": self.std.tolist(),
            "accuracy": self.accuracy.tolist(),
        }

    def summary(self) -> str:
        """A text table, mean +- std over seeds."""
        lines = [f"sweep {self.key} ({len(self.seeds)} seed(s)); ideal {self.accuracy_ideal:.4f}"]
        for value, m, s in zip(self.values, self.mean, self.std, strict=True):
            lines.append(f"  {value!s:>12}  accuracy {m:.4f} +- {s:.4f}")
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """Draw accuracy (mean +- std) against the swept value to ``path`` (PNG)."""
        from cimspice.plots import plot_accuracy_sweep, save_figure

        figure = plot_accuracy_sweep(
            self.key,
            self.values,
            self.mean,
            self.std,
            seeds=len(self.seeds),
            exact_accuracy=self.accuracy_ideal,
            caption=self.caption,
        )
        return save_figure(figure, path)


def run_sweep(
    model: Model,
    x: np.ndarray,
    y: np.ndarray,
    spec: CrossbarSpec | str | os.PathLike[str],
    *,
    key: str,
    values: list[Any],
    seeds: int = 1,
    engine: str = "surrogate",
    surrogate: LinearTileSurrogate | None = None,
    mode: str = "accurate",
    calibration: np.ndarray | None = None,
    batch_size: int = 1000,
    progress: bool = False,
) -> SweepResult:
    """Evaluate ``model`` on ``spec`` with ``key`` set to each of ``values``, ``seeds`` times.

    Raises:
        SpecError: a swept value is invalid (the message names the key), or ``spec`` names
            a missing or invalid spec file.
        InputError: ``seeds`` < 1, no values, or an argument of the wrong type (named).
        SurrogateError: ``surrogate`` does not fit a swept tile.
    """
    spec = as_spec(spec)
    seeds = integer(seeds, "seeds", minimum=1)
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
        raise InputError(f"values must be a non-empty list of values, got {values!r}")
    specs = [with_value(spec, key, v) for v in values]  # every value checked before running
    base = spec.nonideal.seed
    seed_list = list(range(base, base + seeds))
    acc = np.zeros((len(values), seeds))
    ideal = float("nan")
    points = [(i, s) for i in range(len(values)) for s in range(seeds)]
    if progress:
        from tqdm import tqdm

        points = tqdm(points, desc=f"sweep {key}", unit="run")
    for i, s in points:
        point = specs[i]  # its own seed (a sweep may set it) plus the Monte Carlo offset
        point = with_value(point, "nonideal.seed", point.nonideal.seed + s)
        result, _ = evaluate(
            model,
            x,
            y,
            point,
            engine=engine,
            surrogate=surrogate,
            mode=mode,
            calibration=calibration,
            batch_size=batch_size,
        )
        acc[i, s] = result.accuracy_hardware
        ideal = result.accuracy_ideal
    if engine == "surrogate":
        engine = "surrogate (calibrated)" if surrogate is not None else "surrogate (nominal)"
        engine += "" if spec.is_linear else f", {mode} mode"
    caption = f"{spec_caption(spec, engine=engine)}; {model.name} on {len(x)} samples"
    return SweepResult(key, list(values), acc, ideal, seed_list, caption)
