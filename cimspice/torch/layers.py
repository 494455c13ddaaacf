"""Torch layers whose multiplies run on crossbar tiles.

Each class subclasses the torch layer it replaces and keeps its parameters, attributes
(``in_features``, ``kernel_size``, ``groups``, ...) and ``state_dict`` keys; it adds one buffer,
``input_range`` (one entry per layer index the module owns: the largest ``|x|`` its DAC
expects, 0 for each batch's own ``max |x|``; a parameter when the ranges are learnt). Only the
matrix products move onto tiles (:meth:`AnalogTiles.matmul`); biases, padding, unfolding,
attention's softmax and masks stay digital in torch.

- :class:`AnalogLinear`: ``x @ W^T`` on tiles (any leading dimensions).
- :class:`AnalogConv1d`, :class:`AnalogConv2d`: im2col (``F.unfold``) and one matrix per
  group (grouped and depthwise convolutions: each group its own layer index and tiles), every
  padding mode and string padding as torch pads them.
- :class:`AnalogMultiheadAttention`: the query, key and value projections on tiles (one layer
  index each), the attention itself digital, the output projection an :class:`AnalogLinear`.
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
import torch.nn.functional as F  # noqa: N812 (torch's own convention)
from torch import nn

from cimspice.torch.tiles import AnalogTiles

__all__ = [
    "AnalogConv1d",
    "AnalogConv2d",
    "AnalogLayer",
    "AnalogLinear",
    "AnalogMultiheadAttention",
]


class AnalogLayer(nn.Module):
    """What every analog layer shares: its tiles, its layer indices, its input ranges."""

    analog_tiles: AnalogTiles
    analog_index: int
    input_range: torch.Tensor

    def analog_setup(self, tiles: AnalogTiles, index: int, count: int) -> None:
        """Bind the layer to ``tiles`` with layer indices ``index .. index + count - 1``."""
        self.analog_tiles = tiles
        self.analog_index = index
        reference = next(self.parameters())
        self.register_buffer(
            "input_range", torch.zeros(count, dtype=reference.dtype, device=reference.device)
        )

    @property
    def analog_indices(self) -> range:
        """The layer indices (into :attr:`AnalogTiles.hardware`'s layers) this module owns."""
        return range(self.analog_index, self.analog_index + len(self.input_range))

    def analog_matmul(self, k: int, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``x @ weights`` for the module's ``k``-th layer index, on tiles (or exactly, while
        the input ranges are being measured)."""
        tiles = self.analog_tiles
        if tiles.calibrating:
            with torch.no_grad():
                top = x.detach().abs().amax().to(self.input_range.dtype)
                self.input_range[k] = torch.maximum(self.input_range[k], top)
            return x @ weights
        r = self.input_range[k]
        x_max = None if not bool(r > 0) else r
        return tiles.matmul(self.analog_index + k, x, weights, x_max)


class AnalogLinear(nn.Linear, AnalogLayer):
    """:class:`torch.nn.Linear` on tiles (one layer index)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x W^T + b`` with the product on tiles."""
        flat = x.reshape(-1, self.in_features)
        y = self.analog_matmul(0, flat, self.weight.T)
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)


def _pad(module: nn.Conv1d | nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``x`` padded as the convolution pads it (any padding mode, string paddings)."""
    pads = module._reversed_padding_repeated_twice
    if not any(pads):
        return x
    mode = "constant" if module.padding_mode == "zeros" else module.padding_mode
    return F.pad(x, pads, mode=mode)


def _grouped_conv(
    layer: AnalogLayer,
    x: torch.Tensor,
    weight: torch.Tensor,
    *,
    kernel: tuple[int, ...],
    dilation: tuple[int, ...],
    stride: tuple[int, ...],
    groups: int,
) -> torch.Tensor:
    """``(n, out, oh, ow)``: a padded ``(n, c, h, w)`` input convolved with ``weight`` of
    shape ``(out, c / groups, kh, kw)`` (no bias), each group's matrix on its own tiles."""
    n, c, h, w = x.shape
    out = weight.shape[0]
    columns = F.unfold(x, kernel, dilation=dilation, stride=stride)  # (n, c kh kw, L)
    oh = (h - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    ow = (w - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    length = columns.shape[-1]
    per_in = c // groups * kernel[0] * kernel[1]
    per_out = out // groups
    columns = columns.reshape(n, groups, per_in, length)
    parts = []
    for g in range(groups):
        xg = columns[:, g].transpose(1, 2).reshape(n * length, per_in)
        wg = weight[g * per_out : (g + 1) * per_out].reshape(per_out, per_in)
        parts.append(layer.analog_matmul(g, xg, wg.T))
    y = parts[0] if groups == 1 else torch.cat(parts, dim=1)
    return y.reshape(n, length, out).transpose(1, 2).reshape(n, out, oh, ow)


class AnalogConv2d(nn.Conv2d, AnalogLayer):
    """:class:`torch.nn.Conv2d` on tiles (one layer index per group)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution with every product on tiles."""
        batched = x.dim() == 4
        x = _pad(self, x if batched else x[None])
        k, d, s = self.kernel_size, self.dilation, self.stride
        y = _grouped_conv(
            self,
            x,
            self.weight,
            kernel=k,
            dilation=d,
            stride=s,
            groups=self.groups,
        )
        if self.bias is not None:
            y = y + self.bias[:, None, None]
        return y if batched else y[0]


class AnalogConv1d(nn.Conv1d, AnalogLayer):
    """:class:`torch.nn.Conv1d` on tiles (one layer index per group)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution with every product on tiles."""
        batched = x.dim() == 3
        x = _pad(self, x if batched else x[None])
        y = _grouped_conv(
            self,
            x[:, :, None, :],
            self.weight[:, :, None, :],
            kernel=(1, self.kernel_size[0]),
            dilation=(1, self.dilation[0]),
            stride=(1, self.stride[0]),
            groups=self.groups,
        )[:, :, 0, :]
        if self.bias is not None:
            y = y + self.bias[:, None]
        return y if batched else y[0]


class AnalogMultiheadAttention(nn.MultiheadAttention, AnalogLayer):
    """:class:`torch.nn.MultiheadAttention` with its projections on tiles.

    Layer indices: query, key and value projections (in that order); the output projection is
    an :class:`AnalogLinear` of its own. The attention (scores, masks, softmax, dropout) is
    computed digitally. ``add_bias_kv`` and ``add_zero_attn`` are refused by
    :func:`~cimspice.torch.convert`.
    """

    def _projections(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self._qkv_same_embed_dim:
            w = cast(torch.Tensor, self.in_proj_weight)
            e = self.embed_dim
            return w[:e], w[e : 2 * e], w[2 * e :]
        return (
            cast(torch.Tensor, self.q_proj_weight),
            cast(torch.Tensor, self.k_proj_weight),
            cast(torch.Tensor, self.v_proj_weight),
        )

    def _project(self, k: int, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        length, n, width = x.shape
        y = self.analog_matmul(k, x.reshape(length * n, width), weight.T)
        if self.in_proj_bias is not None:
            e = self.embed_dim
            y = y + self.in_proj_bias[k * e : (k + 1) * e]
        return y.reshape(length, n, self.embed_dim)

    def forward(  # noqa: PLR0917 (torch's signature)
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        need_weights: bool = True,
        attn_mask: torch.Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """As :meth:`torch.nn.MultiheadAttention.forward`, the projections on tiles."""
        batched = query.dim() == 3
        if not batched:
            query, key, value = query[:, None], key[:, None], value[:, None]
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask[None]
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        length, n, e = query.shape
        source = key.shape[0]
        heads, head_dim = self.num_heads, self.head_dim
        wq, wk, wv = self._projections()
        q = self._project(0, query, wq)
        k = self._project(1, key, wk)
        v = self._project(2, value, wv)
        q = q.reshape(length, n * heads, head_dim).transpose(0, 1)
        k = k.reshape(source, n * heads, head_dim).transpose(0, 1)
        v = v.reshape(source, n * heads, head_dim).transpose(0, 1)
        scores = q @ k.transpose(1, 2) / math.sqrt(head_dim)  # (n heads, L, S)
        mask = _additive(attn_mask, scores.dtype)
        if mask is None and is_causal:
            mask = _additive(
                torch.ones(length, source, dtype=torch.bool, device=q.device).triu(1), q.dtype
            )
        if mask is not None:
            scores = scores + (mask if mask.dim() == 2 else mask.reshape(n * heads, length, -1))
        padding = _additive(key_padding_mask, scores.dtype)
        if padding is not None:
            scores = (scores.reshape(n, heads, length, source) + padding[:, None, None, :]).reshape(
                n * heads, length, source
            )
        weights = torch.softmax(scores, dim=-1)
        dropped = F.dropout(weights, p=self.dropout, training=self.training)
        out = (dropped @ v).transpose(0, 1).reshape(length * n, e)
        out = self.out_proj(out).reshape(length, n, e)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        elif not batched:
            out = out[:, 0]
        if not need_weights:
            return out, None
        per_head = weights.reshape(n, heads, length, source)
        result: Any = per_head.mean(dim=1) if average_attn_weights else per_head
        return out, result if batched else result[0]


def _additive(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """A boolean mask (``True``: not allowed) as an additive ``-inf`` mask; a float one as
    it is."""
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
            mask, float("-inf")
        )
    return mask.to(dtype)
