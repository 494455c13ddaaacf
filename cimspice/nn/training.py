"""Training in numpy: mini-batch Adam (AdamW, cosine decay) on softmax cross-entropy, with
shift and input-noise augmentation, and hardware-aware training.

Hardware-aware training (``weight_noise > 0``) perturbs every weight in every training forward
pass with the noise of :func:`perturb_weight`: additive Gaussian noise whose standard deviation
is ``weight_noise`` times the layer's largest ``|W|``. That is how programming noise on a
differential pair looks in the weight domain: each conductance errs by a fraction of the
conductance window, and the window is set by the layer's largest weight. The gradient computed
with the noisy weights is applied to the clean weights; for additive noise that is the exact
gradient of the noisy loss, except that the noise scale's dependence on ``max|W|`` is ignored.
The network so learns weights whose function survives the noise, at some cost in noise-free
accuracy (``tests/test_network_models.py`` measures the gain). Biases are digital and never
perturbed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cimspice.arguments import instance, integer, label_array
from cimspice.errors import InputError
from cimspice.nn.backprop import backward, cross_entropy, forward_cached, layer_weights
from cimspice.nn.datasets import Dataset
from cimspice.nn.layers import Conv2D, Dense, Layer, MaxPool2D
from cimspice.nn.model import Model

__all__ = [
    "ModelFactory",
    "accuracy",
    "copy_model",
    "he_conv2d",
    "he_dense",
    "perturb_model",
    "perturb_weight",
    "shift_images",
    "train",
]

ModelFactory = Callable[[np.random.Generator], Model]
"""Builds a freshly initialised model from a random generator (an architecture)."""


def he_dense(fan_in: int, fan_out: int, rng: np.random.Generator) -> Dense:
    """A :class:`Dense` layer with He-normal weights (std ``sqrt(2 / fan_in)``), zero bias."""
    weight = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
    return Dense(weight, np.zeros(fan_out))


def he_conv2d(
    kernel: int,
    c_in: int,
    c_out: int,
    rng: np.random.Generator,
    *,
    stride: int = 1,
    padding: int = 0,
) -> Conv2D:
    """A square-kernel :class:`Conv2D` with He-normal weights (fan-in ``kernel**2 * c_in``)."""
    fan_in = kernel * kernel * c_in
    weight = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(kernel, kernel, c_in, c_out))
    return Conv2D(weight, np.zeros(c_out), stride=stride, padding=padding)


def copy_model(model: Model, weights: dict[int, np.ndarray] | None = None) -> Model:
    """A deep copy of ``model``; ``weights`` (``{index: weight}``) replaces chosen weights."""
    weights = weights or {}
    layers: list[Layer] = []
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Dense):
            layers.append(Dense(weights.get(index, layer.weight), layer.bias))
        elif isinstance(layer, Conv2D):
            layers.append(
                Conv2D(weights.get(index, layer.weight), layer.bias, layer.stride, layer.padding)
            )
        elif isinstance(layer, MaxPool2D):
            layers.append(MaxPool2D(layer.size))
        else:
            layers.append(type(layer)())
    return Model(model.name, layers, model.input_shape)


def perturb_weight(weight: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """``weight + level * max|weight| * N(0, 1)``, one draw per weight (any shape)."""
    scale = level * float(np.max(np.abs(weight), initial=0.0))
    return weight + scale * rng.standard_normal(weight.shape)


def perturb_model(model: Model, level: float, rng: np.random.Generator) -> Model:
    """A copy of ``model`` with every weight perturbed by :func:`perturb_weight`."""
    noisy = {}
    for index in model.weighted_layers():
        layer = model.layers[index]
        assert isinstance(layer, Dense | Conv2D)
        noisy[index] = perturb_weight(layer.weight, level, rng)
    return copy_model(model, noisy)


def accuracy(model: Model, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> float:
    """Fraction of samples ``x`` ``(n, ...)`` whose predicted label equals ``y`` ``(n,)``.

    Raises:
        InputError: an argument of the wrong type or value (named), or no samples.
    """
    instance(model, Model, "model")
    y = label_array(y, "y")
    batch_size = integer(batch_size, "batch_size", minimum=1)
    if len(y) == 0:
        raise InputError("y holds no labels")
    correct = 0
    for start in range(0, len(y), batch_size):
        stop = start + batch_size
        correct += int(np.sum(model.predict(x[start:stop]) == y[start:stop]))
    return correct / len(y)


def shift_images(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Shift each image by a random whole number of pixels in ``[-max_shift, max_shift]``
    along both axes, filling with zeros.

    Args:
        images: ``(n, h, w, c)``.
        max_shift: largest shift in pixels (0 returns ``images`` unchanged).
        rng: the random generator.

    Returns:
        ``(n, h, w, c)`` shifted images.

    """
    if max_shift <= 0:
        return images
    n, h, w, _ = images.shape
    k = max_shift
    padded = np.pad(images, ((0, 0), (k, k), (k, k), (0, 0)))
    offsets = rng.integers(0, 2 * k + 1, size=(n, 2))
    code = offsets[:, 0] * (2 * k + 1) + offsets[:, 1]
    out = np.empty_like(images)
    for value in np.unique(code):
        rows = np.flatnonzero(code == value)
        dy, dx = divmod(int(value), 2 * k + 1)
        out[rows] = padded[rows, dy : dy + h, dx : dx + w]
    return out


@dataclass
class _Adam:
    """Adam with decoupled weight decay (AdamW) and a cosine learning-rate decay to 0."""

    lr: float
    total_steps: int
    weight_decay: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    steps_done: int = 0
    moments: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], decay: list[bool]) -> None:
        """Update ``params`` in place from their ``grads``; ``decay`` marks weight-decayed ones."""
        progress = min(self.steps_done, self.total_steps) / self.total_steps
        lr = self.lr * 0.5 * (1 + math.cos(math.pi * progress))
        self.steps_done += 1
        t = self.steps_done
        for key, (param, grad, decayed) in enumerate(zip(params, grads, decay, strict=True)):
            m, v = self.moments.get(key, (np.zeros_like(param), np.zeros_like(param)))
            m = self.beta1 * m + (1 - self.beta1) * grad
            v = self.beta2 * v + (1 - self.beta2) * grad * grad
            self.moments[key] = (m, v)
            if decayed:
                np.multiply(param, 1 - lr * self.weight_decay, out=param)
            m_hat = m / (1 - self.beta1**t)
            v_hat = v / (1 - self.beta2**t)
            np.subtract(param, lr * m_hat / (np.sqrt(v_hat) + self.eps), out=param)


def train(
    model_or_arch: Model | ModelFactory,
    dataset: Dataset,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    weight_noise: float = 0.0,
    weight_decay: float = 0.0,
    augment_shift: int = 0,
    input_noise: float = 0.0,
    progress: bool = False,
) -> Model:
    """Train a network on ``dataset.x_train`` with Adam; the input model is not changed.

    Args:
        model_or_arch: a model to start from (copied), or a factory building a fresh one.
        dataset: its training split is used; samples are reshaped to the model's input shape.
        epochs: passes over the training set.
        lr: peak Adam learning rate, decayed to 0 along a cosine over all steps.
        batch_size: samples per step.
        seed: seeds initialisation (for a factory), shuffling, augmentation and noise.
        weight_noise: hardware-aware training level (see the module docstring); 0 = plain.
        weight_decay: decoupled weight decay per unit learning rate (AdamW), on weights only.
        augment_shift: random image shifts up to this many pixels (0 = none), applied in the
            dataset's ``image_shape``.
        input_noise: standard deviation of Gaussian noise added to each training input
            (0 = none); inputs are in ``[0, 1]``.
        progress: show a tqdm bar over epochs.

    Returns:
        The trained model (a new object).

    Raises:
        InputError: a non-positive epoch count, batch size or learning rate, a negative
            noise or decay level, or samples or labels that don't fit the model.

    """
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise InputError(
            f"epochs, batch_size and lr must be positive, got {epochs}, {batch_size}, {lr}"
        )
    if min(weight_noise, weight_decay, augment_shift, input_noise) < 0:
        raise InputError("weight_noise, weight_decay, augment_shift and input_noise must be >= 0")
    rng = np.random.default_rng(seed)
    model = copy_model(model_or_arch if isinstance(model_or_arch, Model) else model_or_arch(rng))
    model.prepare_inputs(dataset.x_train[:1])  # the samples fit the model (else InputError)
    if dataset.y_train.min() < 0 or dataset.y_train.max() >= model.num_classes:
        raise InputError(
            f"labels of {dataset.name} run {dataset.y_train.min()}..{dataset.y_train.max()}, "
            f"but model '{model.name}' has {model.num_classes} outputs"
        )
    samples = np.asarray(dataset.x_train, dtype=np.float64)
    if augment_shift:
        samples = samples.reshape((-1, *dataset.image_shape))
    labels = np.asarray(dataset.y_train)
    steps = epochs * math.ceil(len(labels) / batch_size)
    optimiser = _Adam(lr, steps, weight_decay)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"training {model.name}", unit="epoch")
    # Mini-batch products are too small to gain from BLAS threads, and on a shared machine
    # threads oversubscribe the cores (measured 5x slower on 2 busy cores): use one thread.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(epochs):
            loss = _epoch(
                model,
                samples,
                labels,
                optimiser,
                rng,
                batch_size=batch_size,
                weight_noise=weight_noise,
                augment_shift=augment_shift,
                input_noise=input_noise,
            )
            if bar is not None:
                bar.set_postfix(loss=f"{loss:.4f}")
                bar.update(1)
    if bar is not None:
        bar.close()
    return model


def _epoch(
    model: Model,
    samples: np.ndarray,
    labels: np.ndarray,
    optimiser: _Adam,
    rng: np.random.Generator,
    *,
    batch_size: int,
    weight_noise: float,
    augment_shift: int,
    input_noise: float,
) -> float:
    """One shuffled pass over the training samples; returns the mean training loss."""
    n = len(labels)
    order = rng.permutation(n)
    indices = model.weighted_layers()
    total_loss = 0.0
    for start in range(0, n, batch_size):
        batch = order[start : start + batch_size]
        xb = samples[batch]
        if augment_shift:
            xb = shift_images(xb, augment_shift, rng).reshape(len(batch), -1)
        if input_noise:
            xb = xb + input_noise * rng.standard_normal(xb.shape)
        clean = layer_weights(model)
        used = clean
        if weight_noise > 0:
            used = {i: perturb_weight(w, weight_noise, rng) for i, w in clean.items()}
        logits, caches = forward_cached(model, model.prepare_inputs(xb), used)
        loss, d_logits = cross_entropy(logits, labels[batch])
        grads = backward(model, caches, d_logits, used)
        params: list[np.ndarray] = []
        gradients: list[np.ndarray] = []
        for i in indices:
            layer = model.layers[i]
            assert isinstance(layer, Dense | Conv2D)
            params += [layer.weight, layer.bias]
            gradients += list(grads[i])
        optimiser.step(params, gradients, [True, False] * len(indices))
        total_loss += loss * len(batch)
    return total_loss / n
