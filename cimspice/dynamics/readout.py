"""The linear readout of a reservoir: ridge regression in numpy, its regulariser chosen on a
validation split.

Features are standardised with the training segment's mean and standard deviation (a
digital step before the readout), a bias column is added, and the weights solve
``(X^T X + lambda I) w = X^T y`` (the bias not penalised), for every ``lambda`` of a grid; the
one with the lowest validation NMSE is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimspice.arguments import real_array
from cimspice.dynamics.tasks import Splits, nmse
from cimspice.errors import InputError

__all__ = ["RIDGE_GRID", "Readout", "fit_readout"]

RIDGE_GRID = tuple(10.0**k for k in range(-8, 3))
"""The regularisers tried, on standardised features (``1e-8 .. 1e2``)."""


@dataclass(frozen=True)
class Readout:
    """A trained linear readout.

    Attributes:
        mean, scale: ``(n_features,)``, the standardisation.
        weights: ``(n_features + 1,)``, the bias last.
        ridge: the regulariser chosen.
        val_nmse: its NMSE on the validation segment.
    """

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    ridge: float
    val_nmse: float

    def predict(self, features: np.ndarray) -> np.ndarray:
        """``(steps,)`` outputs of ``(steps, n_features)`` features."""
        return _design(features, self.mean, self.scale) @ self.weights


def _design(features: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    x = (features - mean) / scale
    return np.hstack([x, np.ones((x.shape[0], 1))])


def fit_readout(
    features: np.ndarray,
    target: np.ndarray,
    split: Splits,
    grid: tuple[float, ...] = RIDGE_GRID,
) -> Readout:
    """Fit a ridge readout on ``split.train`` with the regulariser of ``grid`` that scores best
    on ``split.val``.

    Args:
        features: ``(steps, n_features)``.
        target: ``(steps,)``.
        split: the segments.
        grid: the regularisers tried.

    Raises:
        InputError: shapes that do not match, non-finite features.
    """
    x = real_array(features, "features", ndim=2)
    y = real_array(target, "target", ndim=1)
    if x.shape[0] != y.shape[0]:
        raise InputError(f"features have {x.shape[0]} steps, the target {y.shape[0]}")
    train = x[split.train]
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale[scale == 0] = 1.0  # a constant feature: left at 0 after centring
    a = _design(train, mean, scale)
    gram, rhs = a.T @ a, a.T @ y[split.train]
    penalty = np.eye(a.shape[1])
    penalty[-1, -1] = 0.0
    best: Readout | None = None
    for ridge in grid:
        w = np.linalg.solve(gram + ridge * penalty, rhs)
        score = nmse(_design(x[split.val], mean, scale) @ w, y[split.val])
        if best is None or score < best.val_nmse:
            best = Readout(mean, scale, w, float(ridge), score)
    assert best is not None
    return best
