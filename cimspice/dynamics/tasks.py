"""Small time-series benchmarks of reservoir computing: NARMA-10 and its scoring.

NARMA-10 (Atiya and Parlos, IEEE Trans. Neural Networks 11(3), 697-709, 2000; the form used
by Jaeger, NIPS 2002 and by most reservoir papers since): inputs ``u(t)`` uniform on
``[0, 0.5]``, and

    y(t + 1) = 0.3 y(t) + 0.05 y(t) sum_{i=0}^{9} y(t - i) + 1.5 u(t - 9) u(t) + 0.1,

so predicting ``y(t + 1)`` from the inputs up to ``u(t)`` needs a memory of ten steps and a
product of inputs ten steps apart. Scored by the normalised mean squared error
``NMSE = mean((prediction - target)^2) / var(target)`` (1: no better than the mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimspice.arguments import integer, real_array
from cimspice.errors import InputError
from cimspice.seeds import check_seed

__all__ = ["NARMA_ORDER", "Splits", "narma10", "nmse", "splits"]

NARMA_ORDER = 10
"""The order of :func:`narma10`: how many past outputs and how far back the product reaches."""
WASHOUT = 200
"""Steps of the series generated and dropped before the first one returned (the recursion's
start-up from ``y = 0``)."""


def narma10(steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(u, target)``, each ``(steps,)``: the inputs and ``target[t] = y(t + 1)``, the value
    to predict from ``u[: t + 1]``.

    Raises:
        InputError: ``steps`` < 1 or a bad seed.
    """
    steps = integer(steps, "steps", minimum=1)
    rng = np.random.default_rng(check_seed(seed))
    total = steps + WASHOUT
    u = rng.uniform(0.0, 0.5, total)
    y = np.zeros(total + 1)
    for t in range(total):
        past = y[max(0, t - NARMA_ORDER + 1) : t + 1].sum()
        product = u[t - NARMA_ORDER + 1] * u[t] if t >= NARMA_ORDER - 1 else 0.0
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * past + 1.5 * product + 0.1
    if not np.all(np.isfinite(y)):  # the recursion can diverge for other input ranges
        raise InputError(f"the NARMA-10 recursion diverged (seed {seed})")
    return u[WASHOUT:], y[WASHOUT + 1 :]


def nmse(prediction: np.ndarray, target: np.ndarray) -> float:
    """``mean((prediction - target)^2) / var(target)``.

    Raises:
        InputError: shapes differ, or the target is constant.
    """
    p = real_array(prediction, "prediction")
    y = real_array(target, "target")
    if p.shape != y.shape:
        raise InputError(f"prediction {p.shape} and target {y.shape} differ in shape")
    var = float(np.var(y))
    if not var > 0:
        raise InputError("the target is constant: its NMSE is undefined")
    return float(np.mean((p - y) ** 2) / var)


@dataclass(frozen=True)
class Splits:
    """Consecutive train, validation and test segments of a series (index slices).

    Attributes:
        train: fit the readout.
        val: choose the regulariser and every hyperparameter.
        test: held out: the figures reported.
    """

    train: slice
    val: slice
    test: slice


def splits(steps: int, skip: int, train: int, val: int) -> Splits:
    """Steps ``skip .. skip + train`` train, the next ``val`` validate, the rest test (``skip``
    drops the first steps, whose features lack a full history).

    Raises:
        InputError: nothing is left for the test.
    """
    end_val = skip + train + val
    if min(skip, train, val) < 0 or min(train, val) < 1 or end_val >= steps:
        raise InputError(
            f"{steps} steps cannot hold {skip} skipped + {train} train + {val} validation "
            "steps and a test segment"
        )
    return Splits(slice(skip, skip + train), slice(skip + train, end_val), slice(end_val, steps))
