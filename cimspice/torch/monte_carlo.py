"""Monte Carlo over devices and time for a converted model.

A converted model's devices are drawn from the spec's ``[nonideal]`` seed
(:func:`~cimspice.devices.generic.program_tile`, one stream per layer and tile).
:func:`reprogram` draws them again with another seed and/or reads them at another time since
programming (drift: the same devices, read later, when only the time changes);
:func:`evaluate_seeds` gives the accuracy over several device seeds, as ``cimspice evaluate
--seeds`` does for the numpy models, and :func:`accuracy_over_time` over times since
programming. With ``recalibrate`` (unlabelled inputs), every seed's and time's batch norms
are re-estimated on its tiles first (:func:`~cimspice.torch.batch_norm.recalibrate_batch_norm`,
a per-chip calibration), and the model's own statistics restored after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from cimspice.errors import InputError
from cimspice.torch.batch_norm import batch_norms, recalibrate_batch_norm
from cimspice.torch.convert import analog_tiles

__all__ = ["SeedResults", "accuracy", "accuracy_over_time", "evaluate_seeds", "reprogram"]


def reprogram(model: nn.Module, seed: int | None = None, time_s: float | None = None) -> None:
    """Program ``model``'s tiles again on its next forward pass: device seed ``seed`` and/or
    read ``time_s`` seconds after programming (see
    :meth:`~cimspice.torch.tiles.AnalogTiles.reprogram`).

    Raises:
        InputError: ``model`` has no converted layer; a bad seed or time (named).
    """
    analog_tiles(model).reprogram(seed=seed, time_s=time_s)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 500) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) on inputs ``x`` and integer labels ``y``.

    Raises:
        InputError: ``x`` and ``y`` have different lengths, or none.
    """
    if len(x) != len(y) or len(x) == 0:
        raise InputError(f"{len(x)} inputs and {len(y)} labels: give as many of each, >= 1")
    was_training = model.training
    model.eval()
    try:
        right = 0
        for start in range(0, len(x), batch):
            logits = model(x[start : start + batch])
            right += int((logits.argmax(dim=-1) == y[start : start + batch]).sum())
    finally:
        model.train(was_training)
    return right / len(x)


@dataclass(frozen=True)
class SeedResults:
    """Accuracies over device seeds.

    Attributes:
        seeds: the device seeds.
        accuracies: one per seed.
    """

    seeds: tuple[int, ...]
    accuracies: tuple[float, ...]

    @property
    def mean(self) -> float:
        """Mean accuracy."""
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        """Sample standard deviation (0 for one seed)."""
        return float(np.std(self.accuracies, ddof=1)) if len(self.accuracies) > 1 else 0.0


def evaluate_seeds(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    seeds: Sequence[int],
    *,
    time_s: float | None = None,
    recalibrate: torch.Tensor | None = None,
    progress: bool = False,
) -> SeedResults:
    """The accuracy with the devices programmed with each of ``seeds`` (read ``time_s`` after
    programming, default: the spec's); the model's own seed and time are restored after.

    ``recalibrate``: inputs (no labels) from which every seed's batch-norm statistics are
    re-estimated on its tiles before its accuracy is measured (see
    :func:`~cimspice.torch.batch_norm.recalibrate_batch_norm`); the model's own statistics
    are restored after.

    Raises:
        InputError: no seeds; see :func:`reprogram`, :func:`accuracy` and
            :func:`~cimspice.torch.batch_norm.recalibrate_batch_norm`.
    """
    seeds = tuple(seeds)
    if not seeds:
        raise InputError("seeds: give at least one device seed")
    tiles = analog_tiles(model)
    seed0, time0 = tiles.seed, tiles.time_s
    kept = [{k: v.clone() for k, v in norm.state_dict().items()} for norm in batch_norms(model)]
    results = []
    try:
        for seed in tqdm(seeds, desc="device seeds", disable=not progress):
            tiles.reprogram(seed=seed, time_s=time_s)
            if recalibrate is not None:
                recalibrate_batch_norm(model, recalibrate)
            results.append(accuracy(model, x, y))
    finally:
        tiles.reprogram(seed=seed0, time_s=time0)
        for norm, state in zip(batch_norms(model), kept, strict=True):
            norm.load_state_dict(state)
    return SeedResults(seeds, tuple(results))


def accuracy_over_time(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    times_s: Sequence[float],
    seeds: Sequence[int] = (0,),
    *,
    recalibrate: torch.Tensor | None = None,
    progress: bool = False,
) -> np.ndarray:
    """``(len(times_s), len(seeds))``: the accuracy read ``t`` seconds after programming, per
    device seed (each seed's devices drifting from the same programmed state); with
    ``recalibrate``, batch norm re-estimated at every time and seed (see
    :func:`evaluate_seeds`).

    Raises:
        InputError: see :func:`evaluate_seeds`.
    """
    rows = [
        evaluate_seeds(model, x, y, seeds, time_s=t, recalibrate=recalibrate).accuracies
        for t in tqdm(list(times_s), desc="times since programming", disable=not progress)
    ]
    return np.array(rows)
