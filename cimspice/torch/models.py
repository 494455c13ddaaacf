"""Torch models: the numpy built-ins as ``nn.Module`` (the same weights and layout), a small
ResNet and a small transformer.

:func:`small_resnet` builds a ResNet of :class:`BasicBlock` residual blocks with batch norm
(the kind of model the numpy chain cannot express); :class:`RowTransformer` reads an image's
rows as tokens through :class:`torch.nn.MultiheadAttention`. :func:`from_numpy` turns a
:class:`~cimspice.nn.model.Model` into an ``nn.Sequential`` that takes the same inputs (flat
vectors, or NHWC images as the numpy models do) and computes the same function, so that the
built-ins run through :func:`cimspice.torch.convert` as any user model does.
"""

from __future__ import annotations

import torch
from torch import nn

from cimspice.errors import ModelError
from cimspice.nn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from cimspice.nn.model import Model

__all__ = ["BasicBlock", "Permute", "RowTransformer", "from_numpy", "small_resnet"]


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


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3x3 convolutions with batch norm, the input added back."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``relu(x + bn2(conv2(relu(bn1(conv1(x))))))``."""
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


def small_resnet(
    in_channels: int = 1, channels: int = 16, blocks: int = 2, classes: int = 10, stride: int = 1
) -> nn.Sequential:
    """A small ResNet on NCHW images: a 3x3 stem convolution (stride ``stride``) with batch
    norm, ``blocks`` :class:`BasicBlock` s, global average pooling and a linear head."""
    return nn.Sequential(
        nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        *(BasicBlock(channels) for _ in range(blocks)),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(channels, classes),
    )


class RowTransformer(nn.Module):
    """A one-block transformer encoder on images whose rows are the tokens.

    Flat samples of ``rows * width`` values become ``rows`` tokens of ``width`` features; a
    linear embedding plus a learnt position embedding, then one pre-norm block (multi-head
    self-attention, a ReLU MLP, both residual), a final layer norm, the mean over tokens and a
    linear head. Written out with :class:`torch.nn.MultiheadAttention` (not
    ``nn.TransformerEncoderLayer``, whose inference fast path would bypass the attention
    module's projections, and with them the tiles).
    """

    def __init__(
        self, rows: int = 8, width: int = 8, dim: int = 32, heads: int = 4, classes: int = 10
    ):
        super().__init__()
        self.rows, self.width = rows, width
        self.embed = nn.Linear(width, dim)
        self.position = nn.Parameter(torch.zeros(rows, dim))
        self.norm1 = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))
        self.norm3 = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores of ``(n, rows * width)`` samples."""
        h = self.embed(x.reshape(-1, self.rows, self.width)) + self.position
        a = self.norm1(h)
        h = h + self.attention(a, a, a, need_weights=False)[0]
        h = h + self.mlp(self.norm2(h))
        return self.head(self.norm3(h).mean(dim=1))
