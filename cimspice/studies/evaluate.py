"""Evaluate a network on simulated tiles: ideal vs hardware accuracy, per-layer MVM errors.

:func:`evaluate` runs a model's exact forward pass and its hardware forward pass
(:class:`~cimspice.mapping.matmul.HardwareMatMul`) on the same samples and reports both
accuracies, every weighted layer's MVM error statistics (NRMSE and max error as fractions of
the layer's full scale, see :mod:`~cimspice.mapping.stats`), the write-verify pulses used, the
one-time programming cost and the forward-pass times. :func:`resolve_model` turns a built-in
name or a model file into a model and its dataset.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cimspice.arguments import (
    flag,
    instance,
    integer,
    label_array,
    path_argument,
    real,
    real_array,
)
from cimspice.errors import InputError
from cimspice.mapping.matmul import HardwareMatMul
from cimspice.nn.model import measure_input_ranges
from cimspice.outputs import atomic_output
from cimspice.spec import CrossbarSpec, as_spec

if TYPE_CHECKING:
    from cimspice.charge.surrogate import ChargeSurrogate
    from cimspice.nn.datasets import Dataset
    from cimspice.nn.model import Model
    from cimspice.surrogate.model import LinearTileSurrogate

__all__ = [
    "SPLITS",
    "TORCH_SUFFIXES",
    "Evaluation",
    "check_model_name",
    "evaluate",
    "is_torch_model",
    "resolve_model",
    "samples_of",
]

SPLITS = ("test", "train", "all")
CALIBRATION_SAMPLES = 1000
"""Training samples whose exact activations set each layer's input range (max |x|)."""


TORCH_SUFFIXES = (".pt2", ".pt", ".pth", ".ts")
"""File suffixes taken for PyTorch models (only ``.pt2`` loads; the others are refused with
the reason)."""


def is_torch_model(name_or_path: str) -> bool:
    """Whether ``name_or_path`` is a torch built-in or a PyTorch model file (by suffix)."""
    from cimspice.nn.zoo import TORCH_MODELS

    return name_or_path in TORCH_MODELS or Path(name_or_path).suffix.lower() in TORCH_SUFFIXES


def check_model_name(name_or_path: str) -> Path | None:
    """The model file ``name_or_path`` names, or ``None`` for a built-in model (no loading).

    Raises:
        ModelError: neither a built-in model name nor an existing path; the message lists the
            built-in names.
    """
    from cimspice.errors import ModelError
    from cimspice.nn.zoo import BUILTIN_MODELS, TORCH_MODELS

    if name_or_path in BUILTIN_MODELS or name_or_path in TORCH_MODELS:
        return None
    path = Path(name_or_path)
    if not path.exists():
        raise ModelError(
            f"unknown model {name_or_path!r}: no built-in model has that name "
            f"({', '.join(BUILTIN_MODELS + TORCH_MODELS)}; the last {len(TORCH_MODELS)} need "
            "the torch extra) and no model file is there"
        )
    return path


def resolve_model(
    name_or_path: str | os.PathLike[str],
    *,
    cache_dir: str | Path | None = None,
    dataset: str | None = None,
    hardware_aware: float = 0.0,
) -> tuple[Model, Dataset]:
    """A built-in model (trained on first use, cached) or a model file, with its dataset.

    For a file, the dataset is ``dataset`` or, if not given, the built-in dataset whose
    samples have the model's input size (64: digits, 784: mnist); the model's input size and
    its number of outputs must be the dataset's sample size and number of classes. A built-in
    model comes with the dataset it was trained on; ``dataset`` may name only that one.
    ``hardware_aware`` picks a built-in model trained with that weight-noise level (see
    :mod:`cimspice.nn.training`).

    Raises:
        ModelError: neither a built-in name nor an existing file (the message lists the
            built-in names), the file is malformed (see ``load_model``), or the model is a
            PyTorch one (a torch built-in or a ``.pt2``/``.pt`` file: see
            :mod:`cimspice.studies.torch_evaluate`).
        InputError: the dataset cannot be inferred or is unknown, does not fit the model
            (input size, number of classes: both numbers named), is another than a built-in
            model's own, ``hardware_aware`` is given for a model file, or an argument has the
            wrong type (named).
    """
    if not isinstance(name_or_path, str):
        name_or_path = str(path_argument(name_or_path, "name_or_path"))
    if dataset is not None:
        instance(dataset, str, "dataset", "a dataset name (str) or None")
    hardware_aware = real(hardware_aware, "hardware_aware", minimum=0.0)
    from cimspice.errors import ModelError
    from cimspice.nn.datasets import load_dataset
    from cimspice.nn.zoo import RECIPES, builtin_model

    if is_torch_model(name_or_path):
        raise ModelError(
            f"{name_or_path} is a PyTorch model: it is evaluated through "
            "cimspice.studies.torch_evaluate (as cimspice evaluate does), not as a numpy model"
        )
    if check_model_name(name_or_path) is None:
        own = RECIPES[name_or_path].dataset
        if dataset is not None and dataset != own:
            raise InputError(
                f"built-in model {name_or_path} was trained on the {own} dataset and is "
                f"evaluated on it; dataset {dataset!r} does not apply (leave it out, or give a "
                f"model file trained on {dataset})"
            )
        return builtin_model(name_or_path, cache_dir=cache_dir, hardware_aware=hardware_aware)
    if hardware_aware:
        raise InputError(
            f"hardware-aware training applies to built-in models, not the file {name_or_path}"
        )
    from cimspice.nn.model import load_model

    model = load_model(name_or_path)
    size = int(np.prod(model.input_shape))
    if dataset is None:
        dataset = {64: "digits", 784: "mnist"}.get(size)
        if dataset is None:
            raise InputError(
                f"model file {name_or_path} takes inputs of size {size}, which is no built-in "
                "dataset's (digits: 64, mnist: 784): give the dataset"
            )
    data = load_dataset(dataset, images=len(model.input_shape) == 3)
    sample = int(np.prod(data.x_test.shape[1:]))
    if sample != size:
        raise InputError(
            f"model file {name_or_path} takes inputs of size {size}, but the {dataset} "
            f"dataset's samples have size {sample}"
        )
    if model.num_classes != data.num_classes:
        raise InputError(
            f"model file {name_or_path} has {model.num_classes} outputs, but the {dataset} "
            f"dataset has {data.num_classes} classes: its outputs cannot be the class scores"
        )
    return model, data


def samples_of(data: Dataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of a split: ``"test"`` (held out), ``"train"`` or ``"all"`` (both)."""
    from cimspice.nn.datasets import Dataset

    instance(data, Dataset, "data", "a Dataset (see load_dataset)")
    if split == "test":
        return data.x_test, data.y_test
    if split == "train":
        return data.x_train, data.y_train
    if split == "all":
        return (
            np.concatenate([data.x_train, data.x_test]),
            np.concatenate([data.y_train, data.y_test]),
        )
    raise InputError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")


@dataclass
class Evaluation:
    """The outcome of one evaluation.

    Attributes:
        model: the model's name.
        samples: number of samples evaluated.
        engine: the hardware engine.
        accuracy_ideal: fraction of samples the exact network classifies right.
        accuracy_hardware: the same on the tiles.
        agreement: fraction of samples where both predict the same label.
        layers: per weighted layer index: ``kind``, ``shape`` (fan_in, fan_out), ``tiles``,
            ``nrmse`` and ``max_error`` (fractions of full scale), ``full_scale``,
            ``pulses_mean``, ``pulses_max``, ``prepare_s``.
        prepare_s: seconds programming and preparing all tiles (a one-time cost).
        ideal_s: seconds of the exact forward pass.
        hardware_s: seconds of the hardware forward pass, programming excluded.
        spot_check: the SPICE spot-check's figures, if one was run.
    """

    model: str
    samples: int
    engine: str
    accuracy_ideal: float
    accuracy_hardware: float
    agreement: float
    layers: dict[int, dict[str, Any]]
    prepare_s: float
    ideal_s: float
    hardware_s: float
    spot_check: dict[str, Any] | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (layer indices become strings)."""
        return {
            "model": self.model,
            "samples": self.samples,
            "engine": self.engine,
            "accuracy_ideal": self.accuracy_ideal,
            "accuracy_hardware": self.accuracy_hardware,
            "agreement": self.agreement,
            "layers": {str(k): v for k, v in self.layers.items()},
            "prepare_s": self.prepare_s,
            "ideal_s": self.ideal_s,
            "hardware_s": self.hardware_s,
            "spot_check": self.spot_check,
        }

    def save_json(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path`` atomically."""
        with atomic_output(path, "w") as handle:
            json.dump(self.to_json(), handle, indent=2)
            handle.write("\n")

    def summary(self) -> str:
        """A short text table."""
        lines = [
            f"{self.model}: {self.samples} samples, engine {self.engine}",
            f"accuracy  ideal {self.accuracy_ideal:.4f}   hardware {self.accuracy_hardware:.4f}"
            f"   ({self.accuracy_hardware - self.accuracy_ideal:+.4f}; same label on "
            f"{self.agreement:.4f})",
            "layer  kind    matrix      tiles  MVM NRMSE   max error   pulses mean/max",
        ]
        for index, row in self.layers.items():
            shape = "x".join(str(d) for d in row["shape"])
            lines.append(
                f"{index:<6} {row['kind']:<7} {shape:<11} {row['tiles']:<6} "
                f"{row['nrmse']:<11.3e} {row['max_error']:<11.3e} "
                f"{row['pulses_mean']:.2f}/{row['pulses_max']}"
            )
        lines.append(
            f"time: programming {self.prepare_s:.2f} s (once); forward ideal "
            f"{self.ideal_s:.3f} s, hardware {self.hardware_s:.3f} s"
        )
        return "\n".join(lines)


def evaluate(
    model: Model,
    x: np.ndarray,
    y: np.ndarray,
    spec: CrossbarSpec | str | os.PathLike[str],
    *,
    engine: str = "surrogate",
    surrogate: LinearTileSurrogate | ChargeSurrogate | None = None,
    mode: str = "accurate",
    calibration: np.ndarray | None = None,
    batch_size: int = 1000,
    probe: tuple[int, int | None] | None = None,
    progress: bool = False,
) -> tuple[Evaluation, HardwareMatMul]:
    """Classify ``x`` with the exact network and on tiles of ``spec``.

    Args:
        model: the network.
        x: samples, ``(n, *input_shape)`` or flat.
        y: labels, ``(n,)``.
        spec: the tile, converters, mapping and non-idealities.
        engine: a registered engine's name (see ``HardwareMatMul``).
        surrogate: a calibrated surrogate of any tile kind (default: the spec's nominal
            one, for passive linear tiles and charge-domain tiles); a
            :class:`~cimspice.charge.surrogate.ChargeSurrogate` for 1C tiles.
        mode: the surrogate's mode on nonlinear tiles (``"accurate"`` or ``"fast"``).
        calibration: samples whose exact activations set each layer's input range
            (default: ``x`` itself).
        batch_size: samples per forward batch.
        probe: ``(layer, tile)`` to record for a spot-check (``tile=None``: the tile with
            the largest inputs).
        progress: show a progress bar over batches.

    Returns:
        the evaluation and the hardware multiply (its programmed tiles and record).

    Raises:
        InputError: ``x`` and ``y`` differ in length or are empty, or an argument has the
            wrong type or value (named).
        SpecError: ``spec`` names a missing or invalid spec file.
    """
    from cimspice.nn.model import Model

    instance(model, Model, "model", "a Model (see resolve_model)")
    spec = as_spec(spec)
    x = real_array(x, "x", finite=False)
    y = label_array(y, "y")
    if x.ndim == 0:
        raise InputError(f"x must be a batch of samples, got shape {x.shape}")
    if calibration is not None:
        calibration = real_array(calibration, "calibration", finite=False)
    batch_size = integer(batch_size, "batch_size", minimum=1)
    progress = flag(progress, "progress")
    if len(x) != len(y) or len(x) == 0:
        raise InputError(f"got {len(x)} samples and {len(y)} labels (need as many, >= 1)")
    ranges = measure_input_ranges(model, x if calibration is None else calibration)
    hardware = HardwareMatMul(
        spec, engine=engine, surrogate=surrogate, mode=mode, input_ranges=ranges, probe=probe
    )
    # Program every layer first: a mapping error (e.g. tiles too narrow) surfaces before any
    # progress bar, and programming (the one-time cost) is timed apart from the forward pass.
    layers = model.weighted_layers()
    if progress:
        from tqdm import tqdm

        layers = tqdm(layers, desc="programming tiles", unit="layer", leave=False)
    for index in layers:
        hardware.program(index, model.matrix(index))
    starts = range(0, len(x), batch_size)
    # the hardware pass over every batch first, then the exact one: OpenBLAS's threads spin
    # for about 0.1 s after the exact pass's multi-threaded products, and would take a core
    # from the tile threads of a hardware batch run right after (cimspice.threads); the
    # tile threads leave nothing running behind them
    hardware_s = 0.0
    hw_pred = []
    batches = starts
    if progress:
        batches = tqdm(starts, desc=f"evaluate {model.name}", unit="batch", leave=False)
    for start in batches:
        batch = x[start : start + batch_size]
        t1 = time.perf_counter()
        before = hardware.prepare_s
        hw_pred.append(model.predict(batch, hardware))
        t2 = time.perf_counter()
        hardware_s += (t2 - t1) - (hardware.prepare_s - before)
    t0 = time.perf_counter()
    ideal_pred = [model.predict(x[start : start + batch_size]) for start in starts]
    ideal_s = time.perf_counter() - t0
    kinds = {index: model.layers[index].kind for index in hardware.layers}
    result = summarise(
        model.name,
        engine,
        hardware,
        kinds,
        predictions=(np.concatenate(ideal_pred), np.concatenate(hw_pred), y),
        seconds=(ideal_s, hardware_s),
    )
    return result, hardware


def summarise(
    name: str,
    engine: str,
    hardware: HardwareMatMul,
    kinds: Mapping[int, str],
    *,
    predictions: tuple[np.ndarray, np.ndarray, np.ndarray],
    seconds: tuple[float, float],
) -> Evaluation:
    """An evaluation's :class:`Evaluation`: ``predictions`` ``(ideal, hardware, labels)``,
    ``seconds`` ``(ideal, hardware)``, and a row per layer of ``kinds`` (its kind, in that
    order) from ``hardware``'s tiles and error statistics."""
    ideal, hw, y = predictions
    rows = {}
    for index, kind in kinds.items():
        mapped = hardware.layers[index]
        stats = hardware.stats[index].as_dict()
        pulses = mapped.pulses()
        rows[index] = {
            "kind": kind,
            "shape": list(mapped.tiling.shape),
            "tiles": len(mapped.tiling.tiles),
            "nrmse": stats["nrmse"],
            "max_error": stats["max_error"],
            "full_scale": stats["full_scale"],
            "pulses_mean": pulses["mean"],
            "pulses_max": pulses["max"],
            "prepare_s": mapped.prepare_s,
        }
    return Evaluation(
        model=name,
        samples=len(y),
        engine=engine,
        accuracy_ideal=float(np.mean(ideal == y)),
        accuracy_hardware=float(np.mean(hw == y)),
        agreement=float(np.mean(ideal == hw)),
        layers=rows,
        prepare_s=hardware.prepare_s,
        ideal_s=seconds[0],
        hardware_s=seconds[1],
    )
