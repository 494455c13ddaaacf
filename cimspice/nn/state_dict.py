"""Import of a user's PyTorch weights (a ``state_dict``) as a cimspice :class:`Model`.

torch is optional: it is imported only to read a ``.pt``/``.pth`` file. A ``state_dict``
already in memory (tensors or numpy arrays) converts without it.

Rules:

- parameters are taken in the ``state_dict``'s order, grouped by prefix: ``<prefix>.weight``
  and (optional) ``<prefix>.bias``; a 2-D weight is an ``nn.Linear``, a 4-D one an ``nn.Conv2d``;
- ``architecture`` lists every layer as in the model file format (:mod:`cimspice.nn.model`):
  ``"dense"``, ``"relu"``, ``"flatten"``, ``"maxpool2d"`` or ``{"kind": "maxpool2d", "size": 2}``,
  ``"conv2d"`` or ``{"kind": "conv2d", "stride": 1, "padding": 1}``; its weighted entries
  consume the parameter groups in order. Without it, a state_dict of only linear layers becomes
  ``dense, relu, dense, ..., dense``; convolutional ones need it (a state_dict holds no
  strides, paddings or pooling);
- layouts are converted: ``nn.Linear`` ``(out, in)`` becomes ``(in, out)``; ``nn.Conv2d``
  ``(out, in, kh, kw)`` becomes ``(kh, kw, in, out)``; a dense layer after a flatten of
  ``(h, w, c)`` feature maps has its rows reordered from PyTorch's ``(c, h, w)`` flattening to
  cimspice's NHWC ``(h, w, c)``, so the imported model computes what the PyTorch one does on the
  same images;
- what a chain cannot represent is refused, naming the construct and the entry: batch or
  layer norm (running statistics, 1-D weights), residual connections (shortcut, downsample
  and skip branches), attention (packed projections), recurrent layers, Conv1d/Conv3d
  weights. Such models run on tiles through :func:`cimspice.torch.convert` instead. (A
  residual model built only from Linear layers of chaining shapes, with no such name, holds
  nothing in its state_dict that tells it from a chain: pass ``architecture`` to be sure.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cimspice.arguments import path_argument
from cimspice.errors import InputError, ModelError
from cimspice.nn.layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, ReLU
from cimspice.nn.model import Model

__all__ = ["load_torch_state_dict", "model_from_state_dict", "read_state_dict"]

_KINDS = ("dense", "conv2d", "relu", "flatten", "maxpool2d")


def read_state_dict(path: str | Path) -> dict[str, Any]:
    """Read a ``state_dict`` saved with ``torch.save`` (tensors only; no code is unpickled).

    Raises:
        ModelError: torch is not installed, or the file is missing or not a state_dict.

    """
    path = path_argument(path, "path")
    try:
        import torch
    except ImportError:
        raise ModelError(
            f"{path}: reading a PyTorch state_dict needs torch, which is not installed "
            "(pip install torch), or pass the state_dict itself"
        ) from None
    if not path.is_file():
        raise ModelError(f"{path}: state_dict file not found")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file
        raise ModelError(f"{path}: not a readable PyTorch state_dict: {err}") from None
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping):
        raise ModelError(f"{path}: holds a {type(loaded).__name__}, not a state_dict")
    return dict(loaded)


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


_TORCH = "run it on tiles with cimspice.torch.convert (the torch extra) instead"
_RESIDUAL_WORDS = ("downsample", "shortcut", "skip", "residual")
_NORM_LEAVES = ("running_mean", "running_var", "num_batches_tracked")


def _refuse_construct(key: str, value: np.ndarray) -> None:
    """Refuse a state_dict entry of something a chain cannot represent, naming it."""
    prefix, _, leaf = key.rpartition(".")
    parts = prefix.lower().split(".")
    if leaf in _NORM_LEAVES:
        raise ModelError(
            f"state_dict entry '{key}' belongs to a batch norm layer ('{prefix}'), which a "
            f"numpy chain cannot represent; {_TORCH} (or fold it into the weights first)"
        )
    if any(word in part for part in parts for word in _RESIDUAL_WORDS):
        raise ModelError(
            f"state_dict entry '{key}' belongs to a residual connection's branch ('{prefix}'), "
            f"which a numpy chain cannot represent; {_TORCH}"
        )
    if leaf.startswith(("in_proj", "q_proj", "k_proj", "v_proj")):
        raise ModelError(
            f"state_dict entry '{key}' belongs to an attention layer ('{prefix}'), which a "
            f"numpy chain cannot represent; {_TORCH}"
        )
    if leaf.startswith(("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
        raise ModelError(
            f"state_dict entry '{key}' belongs to a recurrent layer ('{prefix}'), which a "
            "numpy chain cannot represent (nor can cimspice.torch.convert map it)"
        )
    if leaf == "weight" and value.ndim == 1:
        raise ModelError(
            f"state_dict entry '{key}' is a 1-D weight: a normalisation layer ('{prefix}', "
            f"batch or layer norm), which a numpy chain cannot represent; {_TORCH}"
        )
    if leaf == "weight" and value.ndim in (3, 5):
        kind = "Conv1d" if value.ndim == 3 else "Conv3d"
        raise ModelError(
            f"state_dict entry '{key}' is a {value.ndim}-D weight: a {kind} layer "
            f"('{prefix}'), which a numpy chain cannot represent; {_TORCH}"
        )


def _groups(state: Mapping[str, Any]) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    params: dict[str, dict[str, np.ndarray]] = {}
    arrays = {str(key): _to_numpy(value) for key, value in state.items()}
    # batch norm's running statistics first: its 1-D weight would be named less precisely
    for key, value in sorted(
        arrays.items(), key=lambda kv: kv[0].rpartition(".")[2] not in _NORM_LEAVES
    ):
        _refuse_construct(key, value)
    for key, value in arrays.items():
        prefix, _, leaf = key.rpartition(".")
        if leaf not in ("weight", "bias"):
            raise ModelError(
                f"state_dict entry '{key}' is not a weight or bias (only Linear and Conv2d "
                f"layers can be imported into a numpy chain; {_TORCH})"
            )
        params.setdefault(prefix, {})[leaf] = value
    out = []
    for prefix, entry in params.items():
        if "weight" not in entry:
            raise ModelError(f"state_dict layer '{prefix}' has a bias but no weight")
        out.append((prefix, entry["weight"], entry.get("bias")))
    return out


def _normalise(entry: str | Mapping[str, Any], index: int) -> dict[str, Any]:
    spec = {"kind": entry} if isinstance(entry, str) else dict(entry)
    kind = spec.get("kind")
    if kind == "linear":
        spec["kind"] = kind = "dense"
    if kind not in _KINDS:
        raise ModelError(f"architecture entry {index}: unknown layer kind {kind!r}")
    return spec


def _default_architecture(
    groups: list[tuple[str, np.ndarray, np.ndarray | None]],
) -> list[dict[str, Any]]:
    if any(weight.ndim != 2 for _, weight, _ in groups):
        raise ModelError(
            "the state_dict has convolution weights: pass architecture=[...] (strides, "
            "paddings and pooling are not stored in a state_dict)"
        )
    arch: list[dict[str, Any]] = []
    for k in range(len(groups)):
        if k:
            arch.append({"kind": "relu"})
        arch.append({"kind": "dense"})
    return arch


def _convert(
    spec: dict[str, Any],
    group: tuple[str, np.ndarray, np.ndarray | None],
    after_flatten_of: tuple[int, ...] | None,
) -> Layer:
    prefix, weight, bias = group
    kind = spec["kind"]
    want = 2 if kind == "dense" else 4
    if weight.ndim != want:
        raise ModelError(
            f"'{prefix}.weight' has shape {weight.shape}, but the architecture puts a {kind} "
            f"layer there (needs a {want}-D weight)"
        )
    out_features = weight.shape[0]
    b = np.zeros(out_features) if bias is None else bias
    if kind == "conv2d":
        return Conv2D(
            weight.transpose(2, 3, 1, 0),
            b,
            stride=spec.get("stride", 1),
            padding=spec.get("padding", 0),
        )
    matrix = weight.T  # (in, out)
    if after_flatten_of is not None and matrix.shape[0] == int(np.prod(after_flatten_of)):
        h, w, c = after_flatten_of
        matrix = matrix.reshape(c, h, w, out_features).transpose(1, 2, 0, 3)
        matrix = matrix.reshape(h * w * c, out_features)
    return Dense(matrix, b)


def model_from_state_dict(
    path_or_dict: str | Path | Mapping[str, Any],
    *,
    input_shape: tuple[int, ...] | None = None,
    architecture: Sequence[str | Mapping[str, Any]] | None = None,
    name: str | None = None,
) -> Model:
    """Build a :class:`Model` from a PyTorch ``state_dict`` (see the module docstring).

    Args:
        path_or_dict: a file written by ``torch.save(model.state_dict(), path)`` (needs torch)
            or the state_dict itself (tensors or numpy arrays).
        input_shape: shape of one input sample; default ``(in_features,)`` of a first dense
            layer. A first convolution needs it, as ``(h, w, c)``.
        architecture: the layer list; default a ReLU MLP (linear layers only).
        name: the model's name (default the file stem, or ``"torch"``).

    Raises:
        ModelError: torch is missing (for a path), the file is unreadable, a parameter is not a
            Linear/Conv2d one, the architecture and parameters disagree, or shapes don't chain.

    """
    if not isinstance(path_or_dict, str | os.PathLike | Mapping):
        raise InputError(
            "path_or_dict must be a state_dict file's path or a state_dict (a mapping), got "
            f"{type(path_or_dict).__name__}"
        )
    if isinstance(path_or_dict, str | os.PathLike):
        state = read_state_dict(path_or_dict)
        label = Path(path_or_dict).stem
        where = f"{path_or_dict}: "
    else:
        state, label, where = dict(path_or_dict), "torch", ""
    try:
        groups = _groups(state)
        if not groups:
            raise ModelError("the state_dict holds no parameters")
        specs = (
            _default_architecture(groups)
            if architecture is None
            else [_normalise(entry, i) for i, entry in enumerate(architecture)]
        )
        weighted = sum(spec["kind"] in ("dense", "conv2d") for spec in specs)
        if weighted != len(groups):
            raise ModelError(
                f"the architecture has {weighted} weighted layer(s) but the state_dict "
                f"{len(groups)}: {', '.join(prefix for prefix, _, _ in groups)}"
            )
        if input_shape is None:
            first = groups[0][1]
            if first.ndim != 2:
                raise ModelError("a model starting with a convolution needs input_shape=(h, w, c)")
            input_shape = (first.shape[1],)
        layers = _build(specs, groups, tuple(int(d) for d in input_shape))
        return Model(name or label, layers, tuple(input_shape))
    except ModelError as err:
        raise ModelError(f"{where}{err}") from None


def _build(
    specs: list[dict[str, Any]],
    groups: list[tuple[str, np.ndarray, np.ndarray | None]],
    input_shape: tuple[int, ...],
) -> list[Layer]:
    layers: list[Layer] = []
    shape = input_shape
    flattened: tuple[int, ...] | None = None
    remaining = iter(groups)
    for index, spec in enumerate(specs):
        kind = spec["kind"]
        layer: Layer
        if kind in ("dense", "conv2d"):
            layer = _convert(spec, next(remaining), flattened)
            flattened = None
        elif kind == "relu":
            layer = ReLU()
        elif kind == "maxpool2d":
            layer = MaxPool2D(spec.get("size", 2))
        else:
            layer = Flatten()
            flattened = shape if len(shape) == 3 else None
        try:
            shape = layer.output_shape(shape)
        except ModelError as err:
            raise ModelError(f"layer {index} ({kind}): {err}") from None
        layers.append(layer)
    return layers


load_torch_state_dict = model_from_state_dict
"""The same as :func:`model_from_state_dict` (its older name)."""
