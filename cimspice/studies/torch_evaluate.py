"""``cimspice evaluate`` on PyTorch models: ``.pt2`` files and the torch built-ins.

:func:`resolve_torch_model` loads a model saved with ``torch.export`` (see
:mod:`cimspice.torch.exported`: checked, loaded, its constant-matrix products lifted into
layers) or a torch built-in (:mod:`cimspice.torch.zoo`, trained on first use and cached), with
its samples: a data file (``--data``, see :mod:`cimspice.nn.data_file`) or a built-in dataset.
:func:`evaluate_module` converts it (:func:`cimspice.torch.convert`, the numpy path's own tile
pipeline) and reports the same :class:`~cimspice.studies.evaluate.Evaluation` as the numpy
models: both accuracies, every tile layer's MVM error, the programming and forward times.
Needs the ``torch`` extra; without it every entry point says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cimspice.errors import EngineUnavailableError, InputError, ModelError
from cimspice.nn.zoo import TORCH_MODELS

if TYPE_CHECKING:
    from torch import nn

    from cimspice.mapping.matmul import HardwareMatMul
    from cimspice.spec import CrossbarSpec
    from cimspice.studies.evaluate import Evaluation
    from cimspice.surrogate.model import TileSurrogate

__all__ = [
    "TorchModel",
    "evaluate_module",
    "recalibration_inputs",
    "require_torch",
    "resolve_torch_model",
    "seed_accuracies",
    "torch_device",
    "torch_form",
]

_KINDS = {
    "AnalogLinear": "dense",
    "AnalogConv1d": "conv1d",
    "AnalogConv2d": "conv2d",
    "AnalogMultiheadAttention": "attention",
}


def require_torch(what: str) -> None:
    """Refuse clearly when PyTorch is missing.

    Raises:
        EngineUnavailableError: torch is not installed (the extra is named).
    """
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise EngineUnavailableError(
            f"{what} needs PyTorch, which is not installed: pip install 'cimspice[torch]'"
        )


def torch_device(name: str) -> Any:
    """The torch device ``name`` (``cpu``, ``cuda``, ``cuda:1``, ...), checked to exist here.

    Raises:
        EngineUnavailableError: PyTorch is not installed, or the device is a CUDA device this
            machine does not have (how many it has is named).
        InputError: torch knows no such device.
    """
    require_torch(f"--device {name}")
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise InputError(
            f"--device {name!r}: not a torch device (e.g. cpu, cuda, cuda:1): {err}"
        ) from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            raise EngineUnavailableError(
                f"--device {name}: torch finds {count} CUDA device(s) on this machine"
            )
    elif device.type != "cpu":
        raise InputError(f"--device {name!r}: cimspice runs on cpu or cuda devices")
    return device


@dataclass
class TorchModel:
    """A torch model ready to evaluate.

    Attributes:
        name: the built-in's name or the file's stem.
        module: the model (eval mode; its crossbar products as ``nn.Linear``/``nn.Conv``
            modules).
        x: the samples to evaluate, ``(n, *sample_shape)``.
        y: their labels.
        calibration: samples whose exact activations set each layer's input range.
        lifted: for a ``.pt2`` file, the products lifted onto layers (one line each).
        digital: for a ``.pt2`` file, products left digital, with the reason.
    """

    name: str
    module: nn.Module
    x: np.ndarray
    y: np.ndarray
    calibration: np.ndarray
    lifted: list[str] = field(default_factory=list)
    digital: list[str] = field(default_factory=list)


def resolve_torch_model(
    name_or_path: str | os.PathLike[str],
    *,
    data: str | os.PathLike[str] | None = None,
    dataset: str | None = None,
    split: str = "test",
    cache_dir: str | Path | None = None,
    progress: bool = False,
) -> TorchModel:
    """A torch built-in or a ``.pt2`` file, with the samples to evaluate it on.

    The samples: the data file ``data`` (evaluated whole, its first 1,000 samples setting the
    input ranges); else the built-in's own dataset, or for a file ``dataset`` (default: the
    built-in dataset of the model's sample size, 64 digits, 784 MNIST), its ``split``, the
    first 1,000 training samples setting the input ranges (as for the numpy models).

    Raises:
        EngineUnavailableError: PyTorch is not installed.
        ModelError: a TorchScript or pickled file (refused, with how to export instead), or a
            ``.pt2`` file that is refused or malformed (see
            :func:`~cimspice.torch.exported.load_exported`).
        InputError: a bad data file (see :func:`~cimspice.nn.data_file.load_data_file`), a
            dataset that does not fit the model (sizes named), or ``data`` together with
            ``dataset`` or a split other than ``test``.
    """
    from cimspice.studies.evaluate import samples_of

    name = os.fspath(name_or_path)
    require_torch(f"model {name}")
    if data is not None and (dataset is not None or split != "test"):
        raise InputError(
            "--data gives the samples to evaluate: --dataset and --split do not apply with it"
        )
    if name in TORCH_MODELS:
        from cimspice.torch.zoo import builtin_torch_model

        module, own, shape = builtin_torch_model(name, cache_dir=cache_dir, progress=progress)
        if dataset is not None and dataset != own.name:
            raise InputError(
                f"built-in model {name} was trained on the {own.name} dataset and is "
                f"evaluated on it; dataset {dataset!r} does not apply"
            )
        outputs, lifted, digital = 10, [], []
    else:
        path = Path(name)
        if path.suffix.lower() != ".pt2":
            raise ModelError(
                f"{path}: only models saved with torch.export (.pt2) are accepted; a "
                f"{path.suffix} file is TorchScript or a pickle, which cimspice does not load "
                "(both run code from the file): save the model with "
                "torch.export.save(torch.export.export(model, (example,)), 'model.pt2')"
            )
        from cimspice.torch.exported import load_exported

        exported = load_exported(path)
        module, shape, outputs = exported.module, exported.sample_shape, exported.outputs
        lifted, digital = exported.lifted, exported.digital
        own = None
    if data is not None:
        from cimspice.nn.data_file import load_data_file

        x, y = load_data_file(data, shape, outputs)
        return TorchModel(path_name(name), module, x, y, x[:1000], lifted, digital)
    if own is None:
        own = _dataset_for(name, shape, outputs, dataset)
    x, y = samples_of(own, split)
    return TorchModel(
        path_name(name),
        module,
        x.reshape((len(x), *shape)),
        y,
        own.x_train[:1000].reshape((-1, *shape)),
        lifted,
        digital,
    )


def torch_form(
    name_or_path: str,
    *,
    cache_dir: str | Path | None = None,
    dataset: str | None = None,
    split: str = "test",
) -> TorchModel:
    """A numpy model (a built-in or an ``.npz`` file, :func:`~cimspice.studies.evaluate.
    resolve_model`) in its torch form (:func:`cimspice.torch.models.from_numpy`, float32),
    with its samples: the same as :func:`resolve_torch_model` gives a PyTorch model.

    Raises:
        EngineUnavailableError: PyTorch is not installed.
        ModelError, InputError: see :func:`~cimspice.studies.evaluate.resolve_model`;
            a layer without a torch form.
    """
    from cimspice.studies.evaluate import resolve_model, samples_of

    require_torch(f"model {name_or_path} on a torch device")
    from cimspice.torch.models import from_numpy

    model, data = resolve_model(name_or_path, cache_dir=cache_dir, dataset=dataset)
    x, y = samples_of(data, split)
    shape = model.input_shape
    return TorchModel(
        path_name(name_or_path),
        from_numpy(model).eval(),
        x.reshape((len(x), *shape)),
        y,
        data.x_train[:1000].reshape((-1, *shape)),
    )


def path_name(name: str) -> str:
    """A model's display name: a built-in's name, a file's stem."""
    return name if name in TORCH_MODELS else Path(name).stem


def _dataset_for(name: str, shape: tuple[int, ...], outputs: int, dataset: str | None) -> Any:
    """The built-in dataset a model file is evaluated on (given, or by its sample size)."""
    from cimspice.nn.datasets import load_dataset

    size = int(np.prod(shape))
    if dataset is None:
        dataset = {64: "digits", 784: "mnist"}.get(size)
        if dataset is None:
            raise InputError(
                f"model file {name} takes samples of shape {shape} (size {size}), which is no "
                "built-in dataset's (digits: 64, mnist: 784): give the samples with --data"
            )
    data = load_dataset(dataset)
    sample = int(np.prod(data.x_test.shape[1:]))
    if sample != size:
        raise InputError(
            f"model file {name} takes samples of shape {shape} (size {size}), but the "
            f"{dataset} dataset's samples have size {sample}"
        )
    if outputs != data.num_classes:
        raise InputError(
            f"model file {name} has {outputs} outputs, but the {dataset} dataset has "
            f"{data.num_classes} classes: its outputs cannot be the class scores"
        )
    return data


def _dtype(module: nn.Module) -> Any:
    """The dtype of ``module``'s parameters (float32 when it has none)."""
    import torch

    return next((p.dtype for p in module.parameters()), torch.float32)


def _predict(module: nn.Module, x: Any, batch: int, device: Any = "cpu") -> np.ndarray:
    """Top-1 labels of ``x`` (a tensor), ``batch`` samples at a time, on ``device`` (the
    labels back on the host: the device's work finished)."""
    import torch

    with torch.no_grad():
        labels = [
            module(x[s : s + batch].to(device)).argmax(dim=-1) for s in range(0, len(x), batch)
        ]
    return torch.cat(labels).cpu().numpy()


def evaluate_module(
    model: TorchModel,
    spec: CrossbarSpec,
    *,
    engine: str = "surrogate",
    surrogate: TileSurrogate | None = None,
    mode: str = "accurate",
    batch_size: int = 500,
    spot_check: bool = False,
    recalibrate_bn: int = 0,
    progress: bool = False,
    device: str = "cpu",
) -> tuple[Evaluation, HardwareMatMul, nn.Module]:
    """Classify ``model.x`` with the exact model and with its products on tiles of ``spec``.

    ``recalibrate_bn``: when above 0, the converted model's batch-norm statistics are
    re-estimated on its tiles from the first ``recalibrate_bn`` calibration samples before it
    classifies (:func:`cimspice.torch.recalibrate_batch_norm`); 0: as trained.

    ``device``: where both models classify, batch by batch (:func:`torch_device`; the tiles'
    operators copied there once), and where batch norm is re-estimated; the input ranges
    (exact activations) are measured on the CPU first.

    Returns:
        the evaluation; the hardware multiply (its programmed layers and statistics; with
        ``spot_check``, one whose :attr:`~HardwareMatMul.record` holds the first tile layer's
        busiest tile on the first inputs it saw, for
        :func:`~cimspice.studies.spotcheck.spot_check`); the converted model.

    Raises:
        InputError: the model has no product that maps onto tiles; ``recalibrate_bn`` with a
            model without batch norm.
        SpecError, SurrogateError: see :func:`cimspice.torch.convert`.
    """
    import torch

    from cimspice.mapping.matmul import HardwareMatMul
    from cimspice.studies.evaluate import summarise
    from cimspice.torch import (
        analog_layers,
        analog_tiles,
        calibrate_input_ranges,
        convert,
        recalibrate_batch_norm,
    )

    dtype = _dtype(model.module)
    converted = convert(model.module, spec, surrogate, engine=engine, mode=mode)
    if not any(True for _ in analog_layers(converted)):
        raise InputError(
            f"model {model.name}: no product maps onto tiles (no linear layer or convolution "
            "with constant weights)"
        )
    tiles = analog_tiles(converted)
    calibrate_input_ranges(converted, torch.as_tensor(model.calibration, dtype=dtype))
    target = torch_device(device)
    model.module.to(target)
    converted.to(target)
    if recalibrate_bn:  # on the device: its read noise, as the evaluation below
        recalibrate_batch_norm(converted, recalibration_inputs(model, recalibrate_bn).to(target))
    x = torch.as_tensor(model.x, dtype=dtype)
    hardware = tiles.hardware()
    tiles.recording = True
    starts = range(0, len(x), batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc=f"evaluate {model.name}", unit="batch", leave=False)
    ideal_s = hardware_s = 0.0
    ideal, hw = [], []
    try:
        for start in starts:
            batch = x[start : start + batch_size]
            t0 = time.perf_counter()
            ideal.append(_predict(model.module, batch, batch_size, target))
            t1 = time.perf_counter()
            before = hardware.prepare_s
            hw.append(_predict(converted, batch, batch_size, target))
            t2 = time.perf_counter()
            ideal_s += t1 - t0
            hardware_s += (t2 - t1) - (hardware.prepare_s - before)
    finally:
        tiles.recording = False
    kinds = {
        index: _KINDS.get(type(layer).__name__, type(layer).__name__)
        for layer in analog_layers(converted)
        for index in layer.analog_indices
    }
    result = summarise(
        model.name,
        engine,
        hardware,
        {index: kinds[index] for index in sorted(hardware.layers)},
        predictions=(np.concatenate(ideal), np.concatenate(hw), model.y),
        seconds=(ideal_s, hardware_s),
    )
    if spot_check:
        index = min(tiles.first_inputs)
        inputs, x_max = tiles.first_inputs[index]
        probe = HardwareMatMul(
            tiles.spec,
            engine=engine,
            surrogate=surrogate,
            mode=mode,
            input_ranges={index: x_max},
            probe=(index, None),
        )
        probe(index, inputs, hardware.layers[index].weights)
        hardware = probe
    return result, hardware, converted


def recalibration_inputs(model: TorchModel, count: int) -> Any:
    """The first ``count`` calibration samples of ``model`` as a tensor of its dtype, the
    inputs batch norm is re-estimated from."""
    import torch

    return torch.as_tensor(model.calibration[:count], dtype=_dtype(model.module))


def seed_accuracies(
    model: TorchModel,
    converted: nn.Module,
    seeds: Sequence[int],
    *,
    recalibrate_bn: int = 0,
    progress: bool = False,
    device: str = "cpu",
) -> dict[str, Any]:
    """The hardware accuracy with the devices programmed with each of ``seeds`` (see
    :func:`cimspice.torch.monte_carlo.evaluate_seeds`; with ``recalibrate_bn``, batch norm
    re-estimated per seed from that many calibration samples), JSON-ready: ``seeds``,
    ``accuracy_hardware`` (one per seed), ``mean``, ``std``. ``converted`` and its inputs on
    ``device``."""
    import torch

    from cimspice.torch.monte_carlo import evaluate_seeds

    dtype = _dtype(model.module)
    target = torch_device(device)
    converted.to(target)
    recalibrate = recalibration_inputs(model, recalibrate_bn) if recalibrate_bn else None
    results = evaluate_seeds(
        converted,
        torch.as_tensor(model.x, dtype=dtype).to(target),
        torch.as_tensor(model.y).to(target),
        seeds,
        recalibrate=None if recalibrate is None else recalibrate.to(target),
        progress=progress,
    )
    return {
        "seeds": list(results.seeds),
        "accuracy_hardware": list(results.accuracies),
        "mean": results.mean,
        "std": results.std,
    }
