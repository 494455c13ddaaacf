"""Sweeps: hardware accuracy against one spec parameter, Monte Carlo over device seeds.

A sweep key is a dotted spec key (``wire.r_row``, ``readout.adc_bits``, ``driver.dac_bits``,
``nonideal.read_noise``, ``nonideal.drift_time``, ``nonideal.levels``, ...) or ``array.size``
(square tiles: rows = cols). Each value gives a spec validated like a spec file (a bad value is
a :class:`~cimspice.errors.SpecError` naming the key); each is evaluated with ``seeds`` device
seeds (``nonideal.seed + 0 .. seeds - 1``; sweeping ``nonideal.seed`` itself moves that base)
and the accuracies' mean and standard deviation reported. A sweep over a key that changes the
tile's circuit (array size, wires, device window, ...) cannot use one calibrated surrogate
file; without one, each swept tile's nominal surrogate is used (passive linear tiles).

The points (value x seed) are independent: they run on an executor of
:mod:`cimspice.executors` (this process, local worker processes, or Dask), with the same
results wherever they run, and each point's accuracies are stored as it finishes in a cache
keyed by everything the point depends on (:func:`point_key`), so an interrupted sweep resumes
where it stopped and a repeated one costs nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cimspice.arguments import instance, integer
from cimspice.caption import spec_caption
from cimspice.checksums import arrays_checksum
from cimspice.errors import InputError
from cimspice.executors import check_executor, map_tasks, worker_count
from cimspice.resources import code_fingerprint
from cimspice.spec import CrossbarSpec, as_spec
from cimspice.studies.evaluate import evaluate
from cimspice.sweep import SweepCache, progress_counter

if TYPE_CHECKING:
    from cimspice.nn.model import Model
    from cimspice.surrogate.model import LinearTileSurrogate

__all__ = [
    "SweepData",
    "SweepResult",
    "evaluate_point",
    "parse_sweep",
    "run_sweep",
    "with_value",
]


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


@dataclass(frozen=True)
class SweepData:
    """What every point of a sweep shares (picklable: it travels to each worker process once,
    not with every point).

    Attributes:
        model: the network.
        x: samples.
        y: labels.
        engine: the tiles' engine.
        surrogate: a calibrated surrogate, or ``None`` (each tile's nominal one).
        mode: the surrogate's mode on nonlinear tiles.
        calibration: samples that set each layer's input range (``None``: ``x``).
        batch_size: samples per forward batch.
    """

    model: Model
    x: np.ndarray
    y: np.ndarray
    engine: str
    surrogate: LinearTileSurrogate | None
    mode: str
    calibration: np.ndarray | None
    batch_size: int

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of everything here and of the cimspice code
        (:func:`~cimspice.resources.code_fingerprint`): the model (its pickled layers and
        weights), the samples, the engine and mode, the surrogate (its JSON form) and the
        batch size."""
        h = hashlib.sha256()
        h.update(f"{code_fingerprint()}\0{self.engine}\0{self.mode}\0".encode())
        h.update(f"{self.batch_size}\0".encode())
        h.update(pickle.dumps(self.model, protocol=5))
        arrays = {"x": self.x, "y": self.y}
        if self.calibration is not None:
            arrays["calibration"] = self.calibration
        h.update(arrays_checksum(arrays).encode())
        if self.surrogate is not None:
            to_json = getattr(self.surrogate, "to_json", None)
            if to_json is not None:
                h.update(json.dumps(to_json(), sort_keys=True, default=str).encode())
            else:
                h.update(pickle.dumps(self.surrogate, protocol=5))
        return h.hexdigest()

    def key(self, spec: CrossbarSpec) -> str:
        """SHA-256 of everything the point on ``spec`` depends on: :attr:`fingerprint` and the
        full spec with the files it names (:func:`spec_text`)."""
        return hashlib.sha256(f"{self.fingerprint}\0{spec_text(spec)}".encode()).hexdigest()


def spec_text(spec: CrossbarSpec) -> str:
    """The full spec (network tables included) as JSON, with the SHA-256 of the contents of
    every file it names (``nonideal.programming_file``, ``access.model_file``, resolved from
    the spec's folder): what a cached run on ``spec`` depends on, a recalibrated file
    included.

    Raises:
        ModelFileError: a named file outside the allowed folders or missing.
    """
    files: dict[str, str] = {}
    if spec.nonideal.programming_file:
        from cimspice.devices.programmed import resolve_programming_file

        path = resolve_programming_file(spec)
        files["programming_file"] = hashlib.sha256(path.read_bytes()).hexdigest()
    if spec.has_transistors and spec.access.model_file:
        if spec.cards is not None:  # read already: the cards are what the runs use
            files["model_file"] = hashlib.sha256(repr(spec.cards).encode()).hexdigest()
        else:
            files["model_file"] = hashlib.sha256(spec.model_path().read_bytes()).hexdigest()
    return json.dumps({"spec": spec.to_dict(), "files": files}, sort_keys=True, default=str)


def evaluate_point(data: SweepData, spec: CrossbarSpec) -> tuple[float, float]:
    """One sweep point: ``(hardware accuracy, exact accuracy)`` of :func:`evaluate` on
    ``spec`` (a module-level function, so that worker processes can run it)."""
    result, _ = evaluate(
        data.model,
        data.x,
        data.y,
        spec,
        engine=data.engine,
        surrogate=data.surrogate,
        mode=data.mode,
        calibration=data.calibration,
        batch_size=data.batch_size,
    )
    return result.accuracy_hardware, result.accuracy_ideal


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
    executor: str = "local",
    jobs: int | None = 1,
    scheduler: str | None = None,
    cache: SweepCache | None = None,
) -> SweepResult:
    """Evaluate ``model`` on ``spec`` with ``key`` set to each of ``values``, ``seeds`` times.

    Args:
        model: the network.
        x: samples.
        y: labels.
        spec: the base spec.
        key: the swept dotted spec key.
        values: its values.
        seeds: device seeds per value (``nonideal.seed + 0 .. seeds - 1``).
        engine: the tiles' engine.
        surrogate: a calibrated surrogate (``None``: each tile's nominal one).
        mode: the surrogate's mode on nonlinear tiles.
        calibration: samples that set each layer's input range (``None``: ``x``).
        batch_size: samples per forward batch.
        progress: show a progress bar over the points.
        executor: where the points run, ``"local"`` or ``"dask"`` (see
            :func:`cimspice.executors.map_tasks`).
        jobs: points at a time: ``1`` (the default) runs them in this process, ``None`` on
            every core this process may use.
        scheduler: a running Dask scheduler's address (``None``: a local Dask cluster).
        cache: where each point's accuracies are kept and found (``None``: no cache).

    Raises:
        SpecError: a swept value is invalid (the message names the key), or ``spec`` names
            a missing or invalid spec file.
        InputError: ``seeds`` < 1, no values, a bad executor, or an argument of the wrong
            type (named), all before any point runs.
        SurrogateError: ``surrogate`` does not fit a swept tile.
    """
    spec = as_spec(spec)
    seeds = integer(seeds, "seeds", minimum=1)
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
        raise InputError(f"values must be a non-empty list of values, got {values!r}")
    check_executor(executor, scheduler)
    worker_count(jobs)
    if cache is not None:
        instance(cache, SweepCache, "cache", "a SweepCache or None")
    specs = [with_value(spec, key, v) for v in values]  # every value checked before running
    base = spec.nonideal.seed
    seed_list = list(range(base, base + seeds))
    acc = np.full((len(values), seeds), np.nan)
    ideal = np.full((len(values), seeds), np.nan)
    points = [(i, s) for i in range(len(values)) for s in range(seeds)]
    data = SweepData(model, x, y, engine, surrogate, mode, calibration, batch_size)
    tasks = []
    for i, s in points:
        point = specs[i]  # its own seed (a sweep may set it) plus the Monte Carlo offset
        tasks.append(with_value(point, "nonideal.seed", point.nonideal.seed + s))
    keys = [data.key(task) if cache is not None else "" for task in tasks]
    missing = []
    for k, (i, s) in enumerate(points):
        hit = cache.load_arrays(keys[k], _check_entry) if cache is not None else None
        if hit is None:
            missing.append(k)
        else:
            acc[i, s], ideal[i, s] = hit["accuracy"]
    advance = progress_counter(
        len(points), f"sweep {key}", done=len(points) - len(missing), enabled=progress
    )

    def done(t: int, accuracies: tuple[float, float]) -> None:
        k = missing[t]
        i, s = points[k]
        acc[i, s], ideal[i, s] = accuracies
        if cache is not None:  # at once: an interrupted sweep keeps every finished point
            cache.store_arrays(keys[k], {"accuracy": np.array(accuracies, dtype=float)})
        advance()

    map_tasks(
        evaluate_point,
        [(tasks[k],) for k in missing],
        done,
        shared=(data,),
        executor=executor,
        jobs=jobs,
        scheduler=scheduler,
        name="cimspice-sweep-point",
    )
    if engine == "surrogate":
        engine = "surrogate (calibrated)" if surrogate is not None else "surrogate (nominal)"
        engine += "" if spec.is_linear else f", {mode} mode"
    caption = f"{spec_caption(spec, engine=engine)}; {model.name} on {len(x)} samples"
    return SweepResult(key, list(values), acc, float(ideal.flat[-1]), seed_list, caption)


def _check_entry(arrays: dict[str, np.ndarray]) -> None:
    """Refuse a cache entry that is not one point's two accuracies."""
    accuracy = arrays["accuracy"]
    if accuracy.shape != (2,) or not np.issubdtype(accuracy.dtype, np.floating):
        raise ValueError(f"accuracy has shape {accuracy.shape} and dtype {accuracy.dtype}")
