"""Error measures between an engine's output currents and a reference's.

"Full scale" is the largest current magnitude in the reference batch, ``max |I_ref|``: errors
are fractions of the largest output the reference actually produced.
"""

from __future__ import annotations

import numpy as np

__all__ = ["full_scale", "max_error", "nrmse"]


def full_scale(reference: np.ndarray) -> float:
    """Ampere: ``max |I_ref|`` over the batch (the denominator of every relative error)."""
    value = float(np.max(np.abs(reference)))
    if value == 0:
        raise ValueError("the reference currents are all zero; relative error is undefined")
    return value


def max_error(test: np.ndarray, reference: np.ndarray) -> float:
    """``max |I - I_ref| / full_scale(I_ref)``."""
    return float(np.max(np.abs(test - reference))) / full_scale(reference)


def nrmse(test: np.ndarray, reference: np.ndarray) -> float:
    """Root-mean-square error as a fraction of full scale."""
    return float(np.sqrt(np.mean((test - reference) ** 2))) / full_scale(reference)
