"""Calibration and validation cases drawn over a spec's ranges.

Training cases: random conductances ``U(g_min, g_max)`` with random inputs ``U(0, v_read)``,
plus structured cases that pin the extremes: every cell at ``g_max`` (worst IR drop), every
cell at ``g_min``, one word line driven at a time, and Gaussian weights mapped linearly onto
the conductance window (a stand-in for a trained layer until networks land).

Validation cases come from distributions the fit never saw: binary conductances (only
``g_min`` and ``g_max``), log-uniform conductances, sparse inputs (a fifth of the word lines
driven) and inputs at full scale on every line.
"""

from __future__ import annotations

import numpy as np

from cimspice.spec import CrossbarSpec
from cimspice.sweep import Case

__all__ = ["training_cases", "validation_cases"]


def _window(spec: CrossbarSpec) -> tuple[float, float, float]:
    return spec.device.g_min, spec.device.g_max, spec.driver.v_read


def gaussian_weights_to_conductances(spec: CrossbarSpec, rng: np.random.Generator) -> np.ndarray:
    """N(0, 1) weights clipped at +-3 sigma, mapped linearly onto [g_min, g_max]."""
    g_min, g_max, _ = _window(spec)
    w = np.clip(rng.standard_normal((spec.rows, spec.cols)), -3.0, 3.0)
    return g_min + (w + 3.0) / 6.0 * (g_max - g_min)


def training_cases(
    spec: CrossbarSpec, *, samples: int, batch: int, rng: np.random.Generator
) -> list[Case]:
    """``samples`` random cases and the structured ones, ``batch`` input vectors each."""
    g_min, g_max, v_read = _window(spec)
    rows, cols = spec.rows, spec.cols

    def inputs() -> np.ndarray:
        return rng.uniform(0.0, v_read, (batch, rows))

    cases = [
        Case(f"random-{k}", rng.uniform(g_min, g_max, (rows, cols)), inputs())
        for k in range(samples)
    ]
    one_hot = np.zeros((min(batch, rows), rows))
    lines = rng.choice(rows, size=one_hot.shape[0], replace=False)
    one_hot[np.arange(one_hot.shape[0]), lines] = v_read
    cases += [
        Case("all-gmax", np.full((rows, cols), g_max), inputs()),
        Case("all-gmin", np.full((rows, cols), g_min), inputs()),
        Case("single-rows", rng.uniform(g_min, g_max, (rows, cols)), one_hot),
        Case("gaussian-weights", gaussian_weights_to_conductances(spec, rng), inputs()),
    ]
    return cases


def validation_cases(
    spec: CrossbarSpec, *, samples: int, batch: int, rng: np.random.Generator
) -> list[Case]:
    """Held-out cases from distributions the training set did not contain."""
    g_min, g_max, v_read = _window(spec)
    rows, cols = spec.rows, spec.cols
    cases = []
    for k in range(max(1, samples)):
        binary = np.where(rng.random((rows, cols)) < 0.5, g_min, g_max)
        log_uniform = np.exp(rng.uniform(np.log(max(g_min, 1e-12)), np.log(g_max), (rows, cols)))
        sparse = rng.uniform(0.0, v_read, (batch, rows)) * (rng.random((batch, rows)) < 0.2)
        cases += [
            Case(f"binary-{k}", binary, rng.uniform(0.0, v_read, (batch, rows))),
            Case(f"log-uniform-{k}", log_uniform, sparse),
        ]
    cases.append(
        Case(
            "full-scale-inputs", rng.uniform(g_min, g_max, (rows, cols)), np.full((2, rows), v_read)
        )
    )
    return cases
