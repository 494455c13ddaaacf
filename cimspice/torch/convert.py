"""Convert a user's PyTorch model: its crossbar layers onto tiles, everything else unchanged.

:func:`convert` deep-copies the model and turns every :class:`torch.nn.Linear`,
:class:`torch.nn.Conv1d`, :class:`torch.nn.Conv2d` (grouped and depthwise included) and the
projections of every :class:`torch.nn.MultiheadAttention` into the layers of
:mod:`cimspice.torch.layers` (the same objects, their class changed: parameters, hooks and
attributes stay). Batch norm, activations, residual adds, pooling, embeddings and any other
module or functional stay digital in torch, so any graph works.

Recurrent layers (LSTM, GRU, RNN and their cells) keep their matrices inside fused kernels;
they are refused, with the list of what is supported, rather than left silently digital.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import cast

import torch
from torch import nn

from cimspice.errors import InputError, ModelError
from cimspice.spec import CrossbarSpec, as_spec
from cimspice.surrogate.model import TileSurrogate
from cimspice.torch.layers import (
    AnalogConv1d,
    AnalogConv2d,
    AnalogLayer,
    AnalogLinear,
    AnalogMultiheadAttention,
)
from cimspice.torch.tiles import AnalogTiles

__all__ = [
    "SUPPORTED",
    "analog_layers",
    "analog_tiles",
    "calibrate_input_ranges",
    "convert",
]

_CONVERTED: dict[type[nn.Module], type[AnalogLayer]] = {
    nn.Linear: AnalogLinear,
    nn.modules.linear.NonDynamicallyQuantizableLinear: AnalogLinear,
    nn.Conv1d: AnalogConv1d,
    nn.Conv2d: AnalogConv2d,
    nn.MultiheadAttention: AnalogMultiheadAttention,
}
SUPPORTED = ("Linear", "Conv1d", "Conv2d (grouped, depthwise)", "MultiheadAttention")
"""The layers :func:`convert` puts on tiles (everything else stays digital)."""
_REFUSED = (nn.RNNBase, nn.RNNCellBase)


def _supported() -> str:
    return (
        f"supported on tiles: {', '.join(SUPPORTED)}; every other module (batch norm, "
        "activations, pooling, embeddings, residual adds) stays digital"
    )


def _check(name: str, module: nn.Module) -> None:
    """Refuse modules whose matrices cannot be mapped, naming the module."""
    where = name or "the model"
    if isinstance(module, _REFUSED):
        raise ModelError(
            f"{where} is a {type(module).__name__}: recurrent layers are not mapped onto "
            f"tiles (their matrices sit inside fused kernels); {_supported()}"
        )
    kind = type(module)
    for base in _CONVERTED:
        if (
            isinstance(module, base)
            and kind not in _CONVERTED
            and not issubclass(kind, AnalogLayer)
        ):
            raise ModelError(
                f"{where} is a {kind.__name__}, a subclass of {base.__name__} whose forward "
                f"cimspice cannot know; {_supported()}"
            )
    if isinstance(module, nn.MultiheadAttention) and (
        module.bias_k is not None or module.add_zero_attn
    ):
        raise ModelError(
            f"{where}: MultiheadAttention with add_bias_kv or add_zero_attn is not supported "
            "on tiles (use the defaults)"
        )


def _count(module: nn.Module) -> int:
    """How many layer indices (weight matrices) a converted module owns."""
    if isinstance(module, nn.Conv1d | nn.Conv2d):
        return module.groups
    if isinstance(module, nn.MultiheadAttention):
        return 3
    return 1


def convert(
    model: nn.Module,
    spec: CrossbarSpec | str | os.PathLike[str],
    surrogate: TileSurrogate | str | os.PathLike[str] | None = None,
    *,
    engine: str = "surrogate",
    mode: str = "accurate",
    calibration: torch.Tensor | None = None,
    learn_ranges: bool = False,
) -> nn.Module:
    """A copy of ``model`` whose crossbar layers run on tiles of ``spec``.

    Args:
        model: any :class:`torch.nn.Module` (not changed).
        spec: a loaded spec or the path of a spec file: the tile, its converters, mapping and
            devices.
        surrogate: a calibrated surrogate (or its file) for nonlinear tiles; ``None``: the
            spec's nominal one (exact for passive linear tiles).
        engine: the tile engine (``"surrogate"``, ``"ideal"``, ``"nodal"``, ``"ngspice"``).
        mode: the surrogate's mode for nonlinear tiles, ``"accurate"`` or ``"fast"``.
        calibration: inputs whose exact activations set every layer's input range (``max
            |x|``); ``None``: each batch's own ``max |x|`` until
            :func:`calibrate_input_ranges` is called.
        learn_ranges: make the input ranges parameters (trained with the weights; set them
            from ``calibration`` first).

    Raises:
        ModelError: the model holds a recurrent layer, a subclass of a convertible layer, or
            an attention module with ``add_bias_kv``/``add_zero_attn`` (named, with what is
            supported). SpecError, SurrogateError, InputError: see
            :class:`~cimspice.mapping.matmul.HardwareMatMul`.
    """
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    spec = as_spec(spec)
    if surrogate is not None and not isinstance(surrogate, TileSurrogate):
        from cimspice.surrogate.model import load_surrogate

        surrogate = load_surrogate(os.fspath(surrogate))
    for name, module in model.named_modules():
        _check(name, module)
    tiles = AnalogTiles(spec, surrogate, engine=engine, mode=mode)
    converted = copy.deepcopy(model)
    index = 0
    for _, module in converted.named_modules():
        target = _CONVERTED.get(type(module))
        if target is None:
            continue
        count = _count(module)
        module.__class__ = target
        cast(AnalogLayer, module).analog_setup(tiles, index, count)
        index += count
    if calibration is not None:
        calibrate_input_ranges(converted, calibration)
    if learn_ranges:
        for layer in analog_layers(converted):
            ranges = layer.input_range.detach().clone()
            del layer.input_range  # the buffer, replaced by a parameter of the same name
            layer.input_range = nn.Parameter(ranges)
    return converted


def analog_layers(model: nn.Module) -> Iterator[AnalogLayer]:
    """The converted layers of ``model``, in module order."""
    for module in model.modules():
        if isinstance(module, AnalogLayer):
            yield module


def analog_tiles(model: nn.Module) -> AnalogTiles:
    """The tiles of a model :func:`convert` returned.

    Raises:
        InputError: the model has no converted layer.
    """
    for layer in analog_layers(model):
        return layer.analog_tiles
    raise InputError("the model has no layer on tiles: convert it with cimspice.torch.convert")


@torch.no_grad()
def calibrate_input_ranges(model: nn.Module, inputs: torch.Tensor, batch: int = 256) -> None:
    """Set every converted layer's input range to the largest ``|x|`` it sees when ``inputs``
    run through the exact (digital) model, as :func:`~cimspice.nn.model.measure_input_ranges`
    does for the numpy models.

    Raises:
        InputError: the model has no converted layer.
    """
    tiles = analog_tiles(model)
    layers = list(analog_layers(model))
    for layer in layers:
        layer.input_range.zero_()
    was_training = model.training
    model.eval()
    tiles.calibrating = True
    try:
        for start in range(0, len(inputs), batch):
            model(inputs[start : start + batch])
    finally:
        tiles.calibrating = False
        model.train(was_training)
