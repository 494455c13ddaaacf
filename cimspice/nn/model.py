"""A network model: a chain of layers, its forward pass, and its file format.

The forward pass takes the matrix product as a parameter (:data:`MatMul`), so hardware
evaluation replaces exactly the multiplies that a crossbar performs and nothing else::

    logits = model.forward(x)                                   # exact numpy
    logits = model.forward(x, lambda i, X, W: tiles[i].mvm(X))  # on (simulated) hardware

Model file (``.npz``, no pickles), written atomically by :func:`save_model`:

- ``cimspice_model``: format version (int);
- ``name``: the model's name; ``input_shape``: shape of one input sample (ints);
- ``architecture``: JSON list, one object per layer: ``{"kind": "dense"}``,
  ``{"kind": "conv2d", "stride": s, "padding": p}``, ``{"kind": "relu"}``,
  ``{"kind": "maxpool2d", "size": k}``, ``{"kind": "flatten"}``;
- ``layer<i>_weight`` and ``layer<i>_bias`` for every weighted layer ``i``.

:func:`load_model` also reads a plain user file holding only ``W0, b0, W1, b1, ...``: a dense
stack (``W<k>`` of shape ``(fan_in, fan_out)``) with ReLU between the layers.
"""

from __future__ import annotations

import json
import numbers
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cimspice.arguments import instance, path_argument
from cimspice.arrays import save_npz_atomic
from cimspice.checksums import arrays_checksum
from cimspice.errors import InputError, ModelError
from cimspice.nn.layers import (
    Conv2D,
    Dense,
    Flatten,
    Layer,
    MaxPool2D,
    ReLU,
)

__all__ = [
    "FORMAT_VERSION",
    "Conv2D",
    "Dense",
    "Flatten",
    "Layer",
    "MatMul",
    "MaxPool2D",
    "Model",
    "ReLU",
    "load_model",
    "measure_input_ranges",
    "save_model",
    "softmax",
]

FORMAT_VERSION = 1
"""Version of the model file layout written by :func:`save_model`."""

MatMul = Callable[[int, np.ndarray, np.ndarray], np.ndarray]
"""``matmul(layer_index, X, W) -> X @ W``: ``X`` ``(n, fan_in)`` float64, ``W``
``(fan_in, fan_out)`` float64, result ``(n, fan_out)``; ``layer_index`` indexes
:attr:`Model.layers`. The layer adds its bias after the multiply."""


@dataclass(eq=False)
class Model:
    """A feed-forward network: ``layers`` applied in order to inputs of ``input_shape``.

    Attributes:
        name: a label (built-in name or file stem).
        layers: the chain; weighted layers (:class:`Dense`, :class:`Conv2D`) run on crossbars.
        input_shape: shape of one input sample, e.g. ``(64,)``, ``(784,)``, ``(28, 28, 1)``.

    Raises:
        ModelError: a layer's weight does not fit the shape the previous layer produces
            (the message names the layer's index and kind), or the chain is empty.

    """

    name: str
    layers: list[Layer]
    input_shape: tuple[int, ...]
    output_shapes: list[tuple[int, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ModelError(f"a model's name must be a string, got {self.name!r}")
        if isinstance(self.layers, str | bytes) or not isinstance(self.layers, Sequence):
            raise ModelError(
                f"model '{self.name}': layers must be a list of layers, got "
                f"{type(self.layers).__name__}"
            )
        self.layers = list(self.layers)
        shape = self.input_shape
        if (
            isinstance(shape, str | bytes)
            or not isinstance(shape, Sequence)
            or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in shape)
        ):
            raise ModelError(
                f"model '{self.name}': input_shape must be a tuple of integers, got {shape!r}"
            )
        self.input_shape = tuple(int(d) for d in shape)
        if not self.layers:
            raise ModelError(f"model '{self.name}' has no layers")
        if not self.input_shape or min(self.input_shape) < 1:
            raise ModelError(f"model '{self.name}' has an invalid input shape {self.input_shape}")
        shape = self.input_shape
        self.output_shapes = []
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Dense | Conv2D | ReLU | MaxPool2D | Flatten):
                raise ModelError(f"layer {index} is not a cimspice layer: {type(layer).__name__}")
            try:
                shape = layer.output_shape(shape)
            except ModelError as err:
                raise ModelError(f"layer {index} ({layer.kind}): {err}") from None
            self.output_shapes.append(shape)
        if len(shape) != 1:
            raise ModelError(
                f"model '{self.name}' ends in shape {shape}; the last layer must give "
                "(classes,) logits (add a Flatten and a Dense)"
            )

    @property
    def num_classes(self) -> int:
        """Number of logits the model outputs."""
        return self.output_shapes[-1][0]

    def weighted_layers(self) -> list[int]:
        """Indices (into :attr:`layers`) of the :class:`Dense` and :class:`Conv2D` layers."""
        return [i for i, layer in enumerate(self.layers) if isinstance(layer, Dense | Conv2D)]

    def matrix(self, index: int) -> np.ndarray:
        """The ``(fan_in, fan_out)`` matrix the MVM of layer ``index`` uses.

        Raises:
            ModelError: layer ``index`` does not exist or has no weights.

        """
        if not 0 <= index < len(self.layers):
            raise ModelError(f"model '{self.name}' has no layer {index}")
        layer = self.layers[index]
        if not isinstance(layer, Dense | Conv2D):
            raise ModelError(f"layer {index} ({layer.kind}) has no weight matrix")
        return layer.matrix()

    def prepare_inputs(self, x: np.ndarray) -> np.ndarray:
        """Check a batch and give it the model's sample shape.

        Args:
            x: ``(n, *input_shape)``, or ``(n, prod(input_shape))`` (flat samples are reshaped).

        Returns:
            ``(n, *input_shape)`` float64.

        Raises:
            InputError: the samples fit neither shape.

        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim >= 1 and x.shape[1:] == self.input_shape:
            return x
        if x.ndim == 2 and x.shape[1] == int(np.prod(self.input_shape)):
            return x.reshape((x.shape[0], *self.input_shape))
        sample = ", ".join(map(str, self.input_shape))
        raise InputError(
            f"model '{self.name}' takes inputs of shape (n, {sample}) or flat "
            f"(n, {int(np.prod(self.input_shape))}), got {x.shape}"
        )

    def forward(self, x: np.ndarray, matmul: MatMul | None = None) -> np.ndarray:
        """Logits of a batch.

        Args:
            x: ``(n, *input_shape)`` or flat ``(n, prod(input_shape))``.
            matmul: the multiply of weighted layers; ``None`` is the exact ``X @ W``.

        Returns:
            ``(n, classes)`` logits.

        """
        h = self.prepare_inputs(x)
        for index, layer in enumerate(self.layers):
            if isinstance(layer, Dense | Conv2D):
                if matmul is None:
                    h = layer.forward(h)
                else:
                    h = layer.forward(h, _bind(matmul, index))
            else:
                h = layer.forward(h)
        return h

    def predict(self, x: np.ndarray, matmul: MatMul | None = None) -> np.ndarray:
        """Predicted labels ``(n,)`` (argmax of :meth:`forward`)."""
        return np.argmax(self.forward(x, matmul), axis=1)


def _bind(matmul: MatMul, index: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def layer_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
        out = np.asarray(matmul(index, x, w), dtype=np.float64)
        if out.shape != (x.shape[0], w.shape[1]):
            raise InputError(
                f"matmul for layer {index} returned shape {out.shape}, "
                f"expected {(x.shape[0], w.shape[1])}"
            )
        return out

    return layer_matmul


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, classes)`` from logits ``(n, classes)`` (numerically stable)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# --- file format -----------------------------------------------------------------------------


def _describe(layer: Layer) -> dict[str, Any]:
    if isinstance(layer, Conv2D):
        return {"kind": layer.kind, "stride": layer.stride, "padding": layer.padding}
    if isinstance(layer, MaxPool2D):
        return {"kind": layer.kind, "size": layer.size}
    return {"kind": layer.kind}


def save_model(model: Model, path: str | Path) -> None:
    """Write ``model`` to ``path`` (``.npz``, self-describing, atomic: all or nothing), with a
    checksum of its arrays (``sha256``) that :func:`load_model` verifies.

    Raises:
        InputError: ``model`` is not a :class:`Model` or ``path`` not a path.
    """
    instance(model, Model, "model")
    path = path_argument(path, "path")
    arrays: dict[str, np.ndarray] = {
        "cimspice_model": np.array(FORMAT_VERSION),
        "name": np.array(model.name),
        "input_shape": np.array(model.input_shape, dtype=np.int64),
        "architecture": np.array(json.dumps([_describe(layer) for layer in model.layers])),
    }
    for index in model.weighted_layers():
        layer = model.layers[index]
        assert isinstance(layer, Dense | Conv2D)
        arrays[f"layer{index}_weight"] = layer.weight
        arrays[f"layer{index}_bias"] = layer.bias
    arrays["sha256"] = np.array(arrays_checksum(arrays))
    save_npz_atomic(path, arrays)


def _build_layer(spec: Any, index: int, arrays: Mapping[str, np.ndarray]) -> Layer:
    if not isinstance(spec, dict) or not isinstance(spec.get("kind"), str):
        raise ModelError(f"layer {index}: architecture entry must be an object with a 'kind'")
    kind = spec["kind"]
    if kind in ("dense", "conv2d"):
        try:
            weight, bias = arrays[f"layer{index}_weight"], arrays[f"layer{index}_bias"]
        except KeyError as err:
            raise ModelError(f"layer {index} ({kind}): array {err} is missing") from None
        try:
            if kind == "dense":
                return Dense(weight, bias)
            return Conv2D(
                weight, bias, stride=spec.get("stride", 1), padding=spec.get("padding", 0)
            )
        except ModelError as err:
            raise ModelError(f"layer {index} ({kind}): {err}") from None
    if kind == "relu":
        return ReLU()
    if kind == "flatten":
        return Flatten()
    if kind == "maxpool2d":
        try:
            return MaxPool2D(spec.get("size", 2))
        except ModelError as err:
            raise ModelError(f"layer {index} ({kind}): {err}") from None
    raise ModelError(f"layer {index}: unknown layer kind '{kind}'")


def _from_described(arrays: Mapping[str, np.ndarray], stem: str) -> Model:
    try:
        version = int(arrays["cimspice_model"])
        try:
            architecture = json.loads(str(arrays["architecture"]))
        except RecursionError:
            raise ValueError("the architecture's JSON is nested too deeply") from None
        input_shape = tuple(int(d) for d in np.asarray(arrays["input_shape"]).ravel())
        name = str(arrays["name"]) if "name" in arrays else stem
    except KeyError as err:
        raise ModelError(f"array {err} is missing") from None
    except (ValueError, TypeError) as err:
        raise ModelError(
            f"malformed header (version, architecture or input shape): {err}"
        ) from None
    if version > FORMAT_VERSION:
        raise ModelError(
            f"model format version {version} is newer than this cimspice reads ({FORMAT_VERSION})"
        )
    if not isinstance(architecture, list):
        raise ModelError("architecture must be a JSON list of layers")
    layers = [_build_layer(spec, i, arrays) for i, spec in enumerate(architecture)]
    return Model(name, layers, input_shape)


_PLAIN_KEY = re.compile(r"^([Wb])(\d+)$")


def _from_plain(arrays: Mapping[str, np.ndarray], stem: str) -> Model:
    found: dict[int, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        match = _PLAIN_KEY.match(key)
        if match is None:
            raise ModelError(
                f"unexpected array '{key}': a model file is either one written by save_model or "
                "holds only W0, b0, W1, b1, ... (a dense stack)"
            )
        found.setdefault(int(match.group(2)), {})[match.group(1)] = value
    if not found:
        raise ModelError("the file holds no arrays")
    if sorted(found) != list(range(len(found))):
        raise ModelError(
            f"dense stack layers must be numbered 0..{len(found) - 1}, got {sorted(found)}"
        )
    layers: list[Layer] = []
    for k in range(len(found)):
        if set(found[k]) != {"W", "b"}:
            missing = ({"W", "b"} - set(found[k])).pop()
            raise ModelError(f"dense layer {k}: array '{missing}{k}' is missing")
        if k:
            layers.append(ReLU())
        try:
            layers.append(Dense(found[k]["W"], found[k]["b"]))
        except ModelError as err:
            raise ModelError(f"layer {len(layers)} (dense W{k}): {err}") from None
    first = layers[0]
    assert isinstance(first, Dense)
    return Model(stem, layers, (first.weight.shape[0],))


def load_model(path: str | Path) -> Model:
    """Read a model file written by :func:`save_model`, or a plain ``W0, b0, ...`` stack.

    A file that carries a checksum (``sha256``: every file :func:`save_model` writes) is
    verified: one edited after it was written is refused. Files without one (plain stacks,
    files written before checksums) are read as they are.

    Raises:
        ModelError: the file is missing, is not a readable ``.npz``, lacks an array, holds an
            unknown layer, its weights' shapes don't chain (message names file and layer), or
            its checksum does not match its arrays.
        InputError: ``path`` is not a path.

    """
    path = path_argument(path, "path")
    if not path.exists():
        raise ModelError(f"{path}: model file not found")
    if not path.is_file():  # a folder, FIFO or device: never opened (a FIFO would block)
        raise ModelError(f"{path}: not a regular file")
    try:
        # our own handle, closed even when numpy fails half-way through a damaged archive
        with path.open("rb") as handle:
            data = np.load(handle, allow_pickle=False)
            if isinstance(data, np.ndarray):
                raise ModelError(f"{path}: a single .npy array, not a model file (.npz)")
            with data:
                arrays = {key: data[key] for key in data.files}
    except ModelError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise ModelError(f"{path}: not a readable model file (.npz): {err}") from None
    except MemoryError as err:  # e.g. an array whose header claims a huge shape
        raise ModelError(f"{path}: an array in it does not fit in memory: {err}") from None
    claimed = arrays.pop("sha256", None)
    if claimed is not None and str(claimed) != arrays_checksum(arrays):
        raise ModelError(
            f"{path}: edited after cimspice wrote it (its checksum does not match its arrays); "
            "write it again with save_model"
        )
    try:
        if "cimspice_model" in arrays:
            return _from_described(arrays, path.stem)
        return _from_plain(arrays, path.stem)
    except ModelError as err:
        raise ModelError(f"{path}: {err}") from None


def measure_input_ranges(
    model: Model, x: np.ndarray, *, batch_size: int = 1000
) -> dict[int, float]:
    """Per weighted layer, the largest ``|input|`` of the exact network on ``x`` (samples)."""
    ranges: dict[int, float] = {}

    def record(index: int, inputs: np.ndarray, weights: np.ndarray) -> np.ndarray:
        top = float(np.max(np.abs(inputs), initial=0.0))
        ranges[index] = max(ranges.get(index, 0.0), top)
        return inputs @ weights

    for start in range(0, len(x), batch_size):
        model.forward(x[start : start + batch_size], record)
    return ranges
