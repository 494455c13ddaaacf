"""The software baselines a physical reservoir is compared with.

Each gives as many features as the reservoir has devices:

- an echo-state network (Jaeger, GMD Report 148, 2001; leaky-integrator form of Jaeger et
  al., Neural Networks 20(3), 335-352, 2007): ``x(t) = (1 - leak) x(t - 1) + leak tanh(W x(t -
  1) + w_in s(t) + b)``, ``W`` dense Gaussian scaled to the spectral radius ``radius``,
  ``w_in`` and ``b`` uniform on ``[-input_scale, input_scale]``; its states are the features;
- a delay line: the last ``n`` inputs ``u(t), u(t - 1) .. u(t - n + 1)`` (a linear readout on it
  is linear regression on delayed inputs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimspice.arguments import integer, real, real_array
from cimspice.errors import InputError
from cimspice.seeds import check_seed

__all__ = ["EchoStateNetwork", "delay_features"]


def delay_features(u: np.ndarray, n: int) -> np.ndarray:
    """``(steps, n)``: column ``k`` is ``u(t - k)`` (0 before the series starts)."""
    x = real_array(u, "u", ndim=1)
    n = integer(n, "n", minimum=1)
    padded = np.concatenate([np.zeros(n - 1), x])
    return np.lib.stride_tricks.sliding_window_view(padded, n)[:, ::-1].copy()


@dataclass(frozen=True)
class EchoStateNetwork:
    """A leaky echo-state network of ``size`` tanh units (see the module).

    Attributes:
        size: units (features).
        radius: the spectral radius of the recurrent matrix.
        leak: the leak rate, in ``(0, 1]``.
        input_scale: the range of the input and bias weights.
        seed: the weights' seed.
    """

    size: int
    radius: float = 0.9
    leak: float = 1.0
    input_scale: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        integer(self.size, "size", minimum=1)
        real(self.radius, "radius", minimum=0.0)
        real(self.leak, "leak", positive=True, maximum=1.0)
        real(self.input_scale, "input_scale", minimum=0.0)
        check_seed(self.seed)

    def weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(W, w_in, b)``: ``(size, size)``, ``(size,)``, ``(size,)``."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 7]))
        w = rng.standard_normal((self.size, self.size))
        top = float(np.max(np.abs(np.linalg.eigvals(w))))
        w *= self.radius / top
        w_in = rng.uniform(-self.input_scale, self.input_scale, self.size)
        b = rng.uniform(-self.input_scale, self.input_scale, self.size)
        return w, w_in, b

    def features(self, u: np.ndarray, u_range: tuple[float, float]) -> np.ndarray:
        """``(steps, size)``: the states driven by ``u`` scaled to ``[-1, 1]`` over
        ``u_range``, from 0."""
        x = real_array(u, "u", ndim=1)
        lo, hi = u_range
        if not hi > lo:
            raise InputError(f"u_range must be (low, high) with high > low, got {u_range!r}")
        s = 2.0 * (x - lo) / (hi - lo) - 1.0
        w, w_in, b = self.weights()
        state = np.zeros(self.size)
        out = np.empty((len(s), self.size))
        for t, value in enumerate(s):
            state = (1 - self.leak) * state + self.leak * np.tanh(w @ state + w_in * value + b)
            out[t] = state
        return out
