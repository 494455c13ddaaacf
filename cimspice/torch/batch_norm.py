"""Batch-norm statistics re-estimated on the tiles (AdaBS), per programmed chip.

A model with batch norm keeps, after training, every channel's running mean and variance of
the *exact* convolution outputs; in eval mode it subtracts that mean and divides by that
standard deviation. On tiles every programmed chip has its own fixed per-cell errors (stuck
cells, each cell's own drift exponent, programming noise): they shift and scale each output
channel by the same amount at every position and for every input, and batch norm, its
statistics frozen, passes those per-channel offsets on at full weight. A network that pools
globally before a small classifier (a ResNet) is very sensitive to them: on ``mnist-resnet``
fixed per-channel offsets of 10% of each channel's spread, added digitally to every
convolution's output, already cost 31 points (BENCHMARKS.md).

:func:`recalibrate_batch_norm` re-estimates the running statistics from unlabelled inputs run
through the model as it is (its tiles programmed, drifted, noisy), so batch norm normalises
what the chip computes: adaptive batch-norm statistics ("AdaBS", Joshi et al., *Nature
Communications* 11, 2473, 2020, there on phase-change memory after drift). Nothing is trained;
it needs only inputs (no labels) and is redone for every chip (device seed) and time since
programming, as :func:`cimspice.torch.monte_carlo.evaluate_seeds` does with ``recalibrate``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from cimspice.errors import InputError

__all__ = ["batch_norms", "recalibrate_batch_norm"]


def batch_norms(model: nn.Module) -> Iterator[nn.modules.batchnorm._BatchNorm]:
    """The batch norms of ``model`` that keep running statistics, in module order."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            yield module


@torch.no_grad()
def recalibrate_batch_norm(model: nn.Module, inputs: torch.Tensor, batch: int = 100) -> int:
    """Re-estimate every batch norm's running mean and variance from ``inputs`` run through
    ``model`` as it is (converted: on its tiles), ``batch`` samples at a time.

    The statistics are torch's cumulative average over the batches (``momentum=None``): the
    mean of the batch means and of the batch variances (unbiased), every batch norm in
    training mode (normalising by the batch's own statistics, as AdaBS does) and every other
    module in eval mode; afterwards each module's mode and momentum are as they were. Biases
    and scales (``weight``, ``bias``) are not touched.

    Returns:
        how many batch norms were recalibrated.

    Raises:
        InputError: ``model`` has no batch norm with running statistics; fewer than two
            ``inputs``, or ``batch`` not an integer >= 2 (one sample gives no variance per
            channel of a ``BatchNorm1d``).
    """
    norms = list(batch_norms(model))
    if not norms:
        raise InputError(
            "the model has no batch norm with running statistics: nothing to recalibrate"
        )
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 2:
        raise InputError(f"batch must be an integer >= 2, got {batch!r}")
    if len(inputs) < 2:
        raise InputError(
            f"recalibrating batch norm needs at least two input samples, got {len(inputs)}"
        )
    modes = {module: module.training for module in model.modules()}
    momenta = [norm.momentum for norm in norms]
    model.eval()
    try:
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None
            norm.train()
        starts = list(range(0, len(inputs), batch))
        if len(starts) > 1 and len(inputs) - starts[-1] < 2:
            starts.pop()  # a last batch of one sample: its variance is undefined
        for start in starts:
            stop = start + batch if start != starts[-1] else len(inputs)
            model(inputs[start:stop])
    finally:
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        for module, training in modes.items():
            module.training = training
    return len(norms)
