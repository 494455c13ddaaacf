"""Network layers: the weighted ones that run on crossbars and the digital ones around them.

Images are NHWC: a batch of images has shape ``(n, height, width, channels)``. A weighted layer
reduces to one matrix-vector multiply per input row: :class:`Dense` multiplies ``x @ weight``,
:class:`Conv2D` multiplies its im2col patches by ``weight.reshape(-1, c_out)``. The matrix
product itself is a parameter (``matmul``), so the same layer runs exactly in numpy or on
simulated hardware; the bias is always added digitally after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cimspice.errors import ModelError

__all__ = [
    "Conv2D",
    "Dense",
    "Flatten",
    "Layer",
    "LayerMatMul",
    "MaxPool2D",
    "ReLU",
    "WeightedLayer",
    "conv_output_size",
    "im2col",
]

LayerMatMul = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``matmul(X, W) -> X @ W`` for one layer: ``X`` ``(n, fan_in)``, ``W`` ``(fan_in, fan_out)``."""


def _exact(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return x @ w


def _param(value: np.ndarray, ndim: int, what: str) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != ndim:
        raise ModelError(f"{what} must have {ndim} dimension(s), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ModelError(f"{what} must hold real numbers, got dtype {array.dtype}")
    out = np.array(array, dtype=np.float64)  # a private copy: layers own their parameters
    if not np.isfinite(out).all():
        raise ModelError(f"{what} holds NaN or inf")
    return out


def _shape_error(layer: str, expected: str, got: tuple[int, ...]) -> ModelError:
    return ModelError(f"{layer} expects input of shape {expected}, got {got}")


@dataclass(eq=False)
class Dense:
    """A fully connected layer: ``y = x @ weight + bias``.

    Attributes:
        weight: ``(fan_in, fan_out)``, the matrix the crossbar holds.
        bias: ``(fan_out,)``, added digitally after the multiply.

    """

    weight: np.ndarray
    bias: np.ndarray
    kind: ClassVar[str] = "dense"

    def __post_init__(self) -> None:
        self.weight = _param(self.weight, 2, "dense weight")
        self.bias = _param(self.bias, 1, "dense bias")
        if self.bias.shape[0] != self.weight.shape[1]:
            raise ModelError(
                f"dense bias has {self.bias.shape[0]} entries but the weight "
                f"{self.weight.shape} has {self.weight.shape[1]} outputs"
            )

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one output sample for one input sample of ``input_shape``."""
        if tuple(input_shape) != (self.weight.shape[0],):
            raise _shape_error(
                f"dense {self.weight.shape}", f"({self.weight.shape[0]},)", tuple(input_shape)
            )
        return (self.weight.shape[1],)

    def matrix(self) -> np.ndarray:
        """The ``(fan_in, fan_out)`` matrix the MVM uses (the weight itself)."""
        return self.weight

    def forward(self, x: np.ndarray, matmul: LayerMatMul = _exact) -> np.ndarray:
        """``(n, fan_in)`` -> ``(n, fan_out)``."""
        return matmul(x, self.weight) + self.bias


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution along one axis (floor, as in every framework)."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(
    x: np.ndarray, kh: int, kw: int, stride: int, padding: int
) -> tuple[np.ndarray, int, int]:
    """Unfold image patches into rows.

    Args:
        x: ``(n, h, w, c)`` images.
        kh: kernel height.
        kw: kernel width.
        stride: step between patches, both axes.
        padding: zeros added on every side.

    Returns:
        ``(patches, oh, ow)`` with ``patches`` of shape ``(n * oh * ow, kh * kw * c)``; a row
        is one patch in ``(kh, kw, c)`` order, rows run over ``(n, oh, ow)``.

    """
    n, h, w, c = x.shape
    if padding:
        x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    oh = conv_output_size(h, kh, stride, padding)
    ow = conv_output_size(w, kw, stride, padding)
    # (n, h', w', c, kh, kw) views, subsampled by the stride, then laid out as (kh, kw, c)
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    windows = windows[:, : (oh - 1) * stride + 1 : stride, : (ow - 1) * stride + 1 : stride]
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * c)
    return patches, oh, ow


@dataclass(eq=False)
class Conv2D:
    """A 2-D convolution (cross-correlation, as in every framework) computed as im2col.

    Attributes:
        weight: ``(kh, kw, c_in, c_out)``; the crossbar holds ``weight.reshape(-1, c_out)``.
        bias: ``(c_out,)``, added digitally after the multiply.
        stride: step between patches (both axes), >= 1.
        padding: zeros added on every side, >= 0.

    """

    weight: np.ndarray
    bias: np.ndarray
    stride: int = 1
    padding: int = 0
    kind: ClassVar[str] = "conv2d"

    def __post_init__(self) -> None:
        self.weight = _param(self.weight, 4, "conv2d weight")
        self.bias = _param(self.bias, 1, "conv2d bias")
        if self.bias.shape[0] != self.weight.shape[3]:
            raise ModelError(
                f"conv2d bias has {self.bias.shape[0]} entries but the weight "
                f"{self.weight.shape} has {self.weight.shape[3]} output channels"
            )
        if int(self.stride) != self.stride or self.stride < 1:
            raise ModelError(f"conv2d stride must be an integer >= 1, got {self.stride!r}")
        if int(self.padding) != self.padding or self.padding < 0:
            raise ModelError(f"conv2d padding must be an integer >= 0, got {self.padding!r}")
        self.stride, self.padding = int(self.stride), int(self.padding)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(h, w, c_in)`` -> ``(oh, ow, c_out)``."""
        kh, kw, c_in, c_out = self.weight.shape
        if len(input_shape) != 3 or input_shape[2] != c_in:
            raise _shape_error(f"conv2d {self.weight.shape}", f"(h, w, {c_in})", tuple(input_shape))
        oh = conv_output_size(input_shape[0], kh, self.stride, self.padding)
        ow = conv_output_size(input_shape[1], kw, self.stride, self.padding)
        if oh < 1 or ow < 1:
            raise ModelError(
                f"conv2d {self.weight.shape} kernel does not fit its input {tuple(input_shape)}"
            )
        return (oh, ow, c_out)

    def matrix(self) -> np.ndarray:
        """The ``(kh * kw * c_in, c_out)`` matrix the MVM uses."""
        return self.weight.reshape(-1, self.weight.shape[3])

    def forward(self, x: np.ndarray, matmul: LayerMatMul = _exact) -> np.ndarray:
        """``(n, h, w, c_in)`` -> ``(n, oh, ow, c_out)``."""
        kh, kw, _, c_out = self.weight.shape
        patches, oh, ow = im2col(x, kh, kw, self.stride, self.padding)
        out = matmul(patches, self.matrix()) + self.bias
        return out.reshape(x.shape[0], oh, ow, c_out)


@dataclass(eq=False)
class ReLU:
    """``max(x, 0)``, element-wise (digital)."""

    kind: ClassVar[str] = "relu"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Unchanged."""
        return tuple(input_shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Any shape -> the same shape."""
        return np.maximum(x, 0.0)


@dataclass(eq=False)
class MaxPool2D:
    """Non-overlapping ``size x size`` max pooling (digital); a ragged edge is dropped.

    Attributes:
        size: pooling window and stride, >= 1.

    """

    size: int = 2
    kind: ClassVar[str] = "maxpool2d"

    def __post_init__(self) -> None:
        if int(self.size) != self.size or self.size < 1:
            raise ModelError(f"maxpool2d size must be an integer >= 1, got {self.size!r}")
        self.size = int(self.size)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(h, w, c)`` -> ``(h // size, w // size, c)``."""
        if len(input_shape) != 3 or min(input_shape[:2]) < self.size:
            raise _shape_error(
                f"maxpool2d({self.size})", f"(h, w, c) with h, w >= {self.size}", tuple(input_shape)
            )
        return (input_shape[0] // self.size, input_shape[1] // self.size, input_shape[2])

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(n, h, w, c)`` -> ``(n, h // size, w // size, c)``."""
        n, h, w, c = x.shape
        s = self.size
        oh, ow = h // s, w // s
        blocks = x[:, : oh * s, : ow * s].reshape(n, oh, s, ow, s, c)
        return blocks.max(axis=(2, 4))


@dataclass(eq=False)
class Flatten:
    """``(n, h, w, c)`` -> ``(n, h * w * c)`` in NHWC (row-major) order."""

    kind: ClassVar[str] = "flatten"

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(d1, d2, ...)`` -> ``(d1 * d2 * ...,)``."""
        return (int(np.prod(input_shape)),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(n, ...)`` -> ``(n, prod(...))``."""
        return x.reshape(x.shape[0], -1)


WeightedLayer = Dense | Conv2D
"""The layers whose matrix runs on crossbars."""

Layer = Dense | Conv2D | ReLU | MaxPool2D | Flatten
"""Every layer kind a :class:`~cimspice.nn.model.Model` can hold."""
