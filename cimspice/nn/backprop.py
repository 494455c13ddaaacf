"""Backpropagation in numpy through every layer kind, for softmax cross-entropy.

The forward pass here mirrors :meth:`Model.forward <cimspice.nn.model.Model.forward>` but
keeps what the backward pass needs, and takes the weights as an argument so that training can
run it with perturbed weights (hardware-aware training). Convolutions backpropagate through
their im2col form: the weight gradient is ``patches.T @ grad``, the input gradient is
``grad @ W.T`` summed back into the image (col2im).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimspice.nn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, im2col
from cimspice.nn.model import Model

__all__ = [
    "Gradients",
    "backward",
    "cross_entropy",
    "forward_cached",
    "layer_weights",
    "loss_and_gradients",
]

Gradients = dict[int, tuple[np.ndarray, np.ndarray]]
"""``{layer_index: (d_loss/d_weight, d_loss/d_bias)}`` for every weighted layer."""


def forward_cached(
    model: Model, x: np.ndarray, weights: dict[int, np.ndarray]
) -> tuple[np.ndarray, list[Any]]:
    """The forward pass, keeping what :func:`backward` needs.

    Args:
        model: the network (its biases and layer settings are used).
        x: ``(n, *input_shape)`` inputs.
        weights: ``{layer_index: weight}`` used instead of the layers' own (e.g. noisy ones).

    Returns:
        ``(logits (n, classes), caches)``, one cache entry per layer.

    """
    caches: list[Any] = []
    h = x
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Dense):
            caches.append(h)
            h = h @ weights[index] + layer.bias
        elif isinstance(layer, Conv2D):
            kh, kw, _, c_out = layer.weight.shape
            patches, oh, ow = im2col(h, kh, kw, layer.stride, layer.padding)
            caches.append((patches, h.shape))
            h = (patches @ weights[index].reshape(-1, c_out) + layer.bias).reshape(
                h.shape[0], oh, ow, c_out
            )
        elif isinstance(layer, ReLU):
            caches.append(h > 0)
            h = h * (h > 0)
        elif isinstance(layer, MaxPool2D):
            n, hh, ww, c = h.shape
            s = layer.size
            oh, ow = hh // s, ww // s
            blocks = h[:, : oh * s, : ow * s].reshape(n, oh, s, ow, s, c)
            blocks = blocks.transpose(0, 1, 3, 5, 2, 4).reshape(n, oh, ow, c, s * s)
            winner = blocks.argmax(axis=-1)
            caches.append((winner, h.shape))
            h = np.take_along_axis(blocks, winner[..., None], axis=-1)[..., 0]
        else:
            assert isinstance(layer, Flatten)
            caches.append(h.shape)
            h = h.reshape(h.shape[0], -1)
    return h, caches


def _col2im(d_patches: np.ndarray, shape: tuple[int, ...], layer: Conv2D) -> np.ndarray:
    """Sum patch gradients ``(n * oh * ow, kh * kw * c)`` back into ``(n, h, w, c)``."""
    kh, kw = layer.weight.shape[:2]
    stride, padding = layer.stride, layer.padding
    n, h, w, c = shape
    oh = (h + 2 * padding - kh) // stride + 1
    ow = (w + 2 * padding - kw) // stride + 1
    d = d_patches.reshape(n, oh, ow, kh, kw, c)
    out = np.zeros((n, h + 2 * padding, w + 2 * padding, c), dtype=d_patches.dtype)
    for i in range(kh):
        for j in range(kw):
            out[
                :, i : i + stride * (oh - 1) + 1 : stride, j : j + stride * (ow - 1) + 1 : stride
            ] += d[:, :, :, i, j]
    return out[:, padding : padding + h, padding : padding + w]


def backward(
    model: Model, caches: list[Any], grad: np.ndarray, weights: dict[int, np.ndarray]
) -> Gradients:
    """Backpropagate ``grad`` = d loss / d logits ``(n, classes)`` through the network.

    Args:
        model: the network of :func:`forward_cached`.
        caches: what :func:`forward_cached` returned for the same batch and weights.
        grad: ``(n, classes)``.
        weights: the weights the forward pass used.

    Returns:
        ``{layer_index: (d_weight, d_bias)}`` for every weighted layer. No gradient is formed
        for the input of the first weighted layer (nothing needs it).

    """
    grads: Gradients = {}
    first_weighted = model.weighted_layers()[0]
    for index in range(len(model.layers) - 1, -1, -1):
        layer, cache = model.layers[index], caches[index]
        need_input_grad = index > first_weighted
        if isinstance(layer, Dense):
            assert isinstance(cache, np.ndarray)
            grads[index] = (cache.T @ grad, grad.sum(axis=0))
            if need_input_grad:
                grad = grad @ weights[index].T
        elif isinstance(layer, Conv2D):
            patches, in_shape = cache
            c_out = layer.weight.shape[3]
            g2 = grad.reshape(-1, c_out)
            grads[index] = ((patches.T @ g2).reshape(layer.weight.shape), g2.sum(axis=0))
            if need_input_grad:
                d_patches = g2 @ weights[index].reshape(-1, c_out).T
                grad = _col2im(d_patches, in_shape, layer)
        elif not need_input_grad:
            continue
        elif isinstance(layer, ReLU):
            grad = grad * cache
        elif isinstance(layer, MaxPool2D):
            winner, in_shape = cache
            n, hh, ww, c = in_shape
            s = layer.size
            oh, ow = hh // s, ww // s
            blocks = np.zeros((n, oh, ow, c, s * s), dtype=grad.dtype)
            np.put_along_axis(blocks, winner[..., None], grad[..., None], axis=-1)
            full = np.zeros(in_shape, dtype=grad.dtype)
            full[:, : oh * s, : ow * s] = (
                blocks.reshape(n, oh, ow, c, s, s)
                .transpose(0, 1, 4, 2, 5, 3)
                .reshape(n, oh * s, ow * s, c)
            )
            grad = full
        else:
            grad = grad.reshape(cache)
    return grads


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy of logits ``(n, classes)`` against labels ``(n,)``, and its
    gradient with respect to the logits ``(n, classes)``."""
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(y)
    loss = -float(log_p[np.arange(n), y].mean())
    d = np.exp(log_p)
    d[np.arange(n), y] -= 1.0
    return loss, d / n


def layer_weights(model: Model) -> dict[int, np.ndarray]:
    """``{layer_index: weight}`` of every weighted layer (the arrays themselves, not copies)."""
    out = {}
    for index in model.weighted_layers():
        layer = model.layers[index]
        assert isinstance(layer, Dense | Conv2D)
        out[index] = layer.weight
    return out


def loss_and_gradients(model: Model, x: np.ndarray, y: np.ndarray) -> tuple[float, Gradients]:
    """Mean softmax cross-entropy of a batch and its gradient for every weighted layer.

    Args:
        model: the network.
        x: ``(n, *input_shape)`` (or flat) inputs.
        y: ``(n,)`` integer labels.

    Returns:
        ``(loss, {layer_index: (d_weight, d_bias)})``; each gradient has its parameter's shape.

    """
    weights = layer_weights(model)
    logits, caches = forward_cached(model, model.prepare_inputs(x), weights)
    loss, d_logits = cross_entropy(logits, np.asarray(y))
    return loss, backward(model, caches, d_logits, weights)
