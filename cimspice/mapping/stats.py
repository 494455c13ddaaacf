"""Per-layer MVM error statistics of hardware against the exact ``X @ W``, over many batches.

For each call the reference is the exact product of the *same* inputs the hardware got (its
own, already imperfect activations), so a layer's figures measure that layer's MVMs alone,
not the error it inherits. "Full scale" is the largest ``|X @ W|`` the layer produced over
everything evaluated (as in :mod:`cimspice.metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MVMErrorStats"]


@dataclass
class MVMErrorStats:
    """Running error statistics of one layer's MVMs.

    Attributes:
        count: number of output values compared.
        sum_sq: sum of squared errors (in the layer's output units).
        max_abs: largest absolute error.
        full_scale: largest ``|X @ W|``.
    """

    count: int = 0
    sum_sq: float = 0.0
    max_abs: float = 0.0
    full_scale: float = 0.0

    def update(self, hardware: np.ndarray, exact: np.ndarray) -> None:
        """Add one batch: ``hardware`` and ``exact`` of the same shape ``(n, fan_out)``."""
        err = np.subtract(hardware, exact, dtype=float)
        self.count += err.size
        if not err.size:
            return
        # largest magnitudes without a temporary array of them
        self.max_abs = max(self.max_abs, float(err.max()), -float(err.min()))
        # numpy's own sum, not BLAS's dot: OpenBLAS runs a long dot product on its threads,
        # which then spin for about 0.1 s, taking a core from the next layer's tile threads
        self.sum_sq += float(np.square(err, out=err).sum())
        self.full_scale = max(self.full_scale, float(exact.max()), -float(exact.min()))

    def merge(self, other: MVMErrorStats) -> None:
        """Add the batches ``other`` has seen."""
        self.count += other.count
        self.sum_sq += other.sum_sq
        self.max_abs = max(self.max_abs, other.max_abs)
        self.full_scale = max(self.full_scale, other.full_scale)

    @property
    def nrmse(self) -> float:
        """Root-mean-square error as a fraction of full scale (0 when nothing was seen)."""
        if not self.count or not self.full_scale:
            return 0.0
        return float(np.sqrt(self.sum_sq / self.count)) / self.full_scale

    @property
    def max_error(self) -> float:
        """Largest absolute error as a fraction of full scale."""
        return self.max_abs / self.full_scale if self.full_scale else 0.0

    def as_dict(self) -> dict[str, float]:
        """``nrmse``, ``max_error`` (fractions of full scale), ``full_scale`` and ``count``."""
        return {
            "nrmse": self.nrmse,
            "max_error": self.max_error,
            "full_scale": self.full_scale,
            "count": self.count,
        }
