"""Torch models: the numpy built-ins as ``nn.Module`` (the same weights and layout).

:func:`from_numpy` turns a :class:`~cimspice.nn.model.Model` into an ``nn.Sequential`` that
takes the same inputs (flat vectors, or NHWC images as the numpy models do) and computes the
same function, so that the built-ins run through :func:`cimspice.torch.convert` as any user
model does.
"""

from __future__ import annotations

import torch
from torch import nn

from cimspice.errors import ModelError
from cimspice.nn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from cimspice.nn.model import Model

__all__ = ["Permute", "from_numpy"]


class Permute(nn.Module):
    """``x.permute(*dims)`` as a module (NHWC <-> NCHW)."""

    def __init__(self, *dims: int):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with its dimensions reordered."""
        return x.permute(*self.dims)

    def extra_repr(self) -> str:
        """The dimensions."""
        return f"dims={self.dims}"


def from_numpy(model: Model, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """``model`` as an ``nn.Sequential`` on the same inputs (NHWC images for convolutional
    models: permuted to NCHW inside, and back before flattening, so that the dense layers
    see the numpy model's order).

    Raises:
        ModelError: a layer kind without a torch counterpart here.
    """
    modules: list[nn.Module] = []
    images = len(model.input_shape) == 3
    if images:
        modules.append(Permute(0, 3, 1, 2))
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Dense):
            fan_in, fan_out = layer.weight.shape
            linear = nn.Linear(fan_in, fan_out, dtype=dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.weight.T.copy()))
                linear.bias.copy_(torch.from_numpy(layer.bias))
            modules.append(linear)
        elif isinstance(layer, Conv2D):
            kh, kw, c_in, c_out = layer.weight.shape
            conv = nn.Conv2d(
                c_in, c_out, (kh, kw), stride=layer.stride, padding=layer.padding, dtype=dtype
            )
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(layer.weight.transpose(3, 2, 0, 1).copy()))
                conv.bias.copy_(torch.from_numpy(layer.bias))  # type: ignore[union-attr]
            modules.append(conv)
        elif isinstance(layer, ReLU):
            modules.append(nn.ReLU())
        elif isinstance(layer, MaxPool2D):
            modules.append(nn.MaxPool2d(layer.size))
        elif isinstance(layer, Flatten):
            if images:
                modules.append(Permute(0, 2, 3, 1))
            modules.append(nn.Flatten())
        else:
            raise ModelError(
                f"model {model.name!r}: layer {index} ({layer.kind}) has no torch form"
            )
    return nn.Sequential(*modules)
