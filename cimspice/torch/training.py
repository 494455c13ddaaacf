"""Training through the tiles: hardware-aware training with the real forward model.

:func:`fit` trains any torch model with AdamW on cross-entropy. For a converted model every
step's forward pass runs through its tiles exactly as evaluation does
(:meth:`~cimspice.mapping.matmul.HardwareMatMul.mvm`): the layer's current weights mapped and
programmed (levels, programming noise, write-verify, drift, stuck cells), the DAC, the tiles'
law (IR drop through the fitted or nominal surrogate, transistors, TIAs), read noise and the
ADC. The quantisers (DAC, ADC, bit-serial codes) pass gradients straight through; the
gradient reaches the weights as the ideal product's would (the tiles' outputs depend on the
programmed conductances, not differentiably on the weights), and reaches each layer's input
range when :func:`~cimspice.torch.convert` made them learnable (``learn_ranges=True``).

With ``fresh_devices`` each step programs the tiles with a new device seed, so the model
learns the distribution of devices rather than one chip.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from cimspice.arguments import integer, real
from cimspice.errors import InputError
from cimspice.torch.convert import analog_layers, analog_tiles

__all__ = ["fit"]


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 5,
    lr: float = 1e-3,
    batch_size: int = 32,
    weight_decay: float = 0.0,
    seed: int = 0,
    fresh_devices: bool = True,
    progress: bool = False,
) -> list[float]:
    """Train ``model`` on inputs ``x`` and integer labels ``y`` (in place; AdamW, the learning
    rate decaying from ``lr`` to 0 on a cosine over all steps); return the mean training loss
    of every epoch.

    A converted model keeps its device seed and time since programming after training (the
    tiles are programmed again, from the trained weights, on the next forward pass).

    Raises:
        InputError: ``x`` and ``y`` of different lengths or empty; a non-positive epoch count,
            batch size or learning rate.
    """
    epochs = integer(epochs, "epochs", minimum=1)
    batch_size = integer(batch_size, "batch_size", minimum=1)
    lr = real(lr, "lr", positive=True)
    if len(x) != len(y) or len(x) == 0:
        raise InputError(f"{len(x)} inputs and {len(y)} labels: give as many of each, >= 1")
    tiles = analog_tiles(model) if any(True for _ in analog_layers(model)) else None
    seed0 = tiles.seed if tiles is not None else 0
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-len(x) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + np.cos(np.pi * min(step, steps) / steps))
    )
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    model.train()
    try:
        for _ in tqdm(range(epochs), desc="training", disable=not progress):
            order = torch.randperm(len(x), generator=generator)
            total = 0.0
            for start in range(0, len(x), batch_size):
                rows = order[start : start + batch_size]
                if tiles is not None and fresh_devices:
                    tiles.reprogram(seed=int(rng.integers(2**31)))
                optimiser.zero_grad()
                loss = loss_fn(model(x[rows]), y[rows])
                loss.backward()
                optimiser.step()
                schedule.step()
                total += float(loss.detach()) * len(rows)
            losses.append(total / len(x))
    finally:
        model.eval()
        if tiles is not None:
            tiles.reprogram(seed=seed0)
    return losses
