"""The dynamics figures draw the numbers they are given (read back from their artists)."""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.dynamics.stochastic import calibration_bins
from cimspice.errors import InputError
from cimspice.plots import save_figure
from cimspice.plots.dynamics import plot_nmse_vs_size, plot_prediction, plot_reliability


def test_prediction_trace_draws_target_and_predictions(tmp_path):
    target = np.sin(np.arange(300) / 10)
    fig = plot_prediction(target, {"model": target + 0.1}, steps=100, caption="c")
    ax = fig.axes[0]
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["target"], target[:100])
    np.testing.assert_array_equal(lines["model"], target[:100] + 0.1)
    assert save_figure(fig, tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(InputError, match="different shapes"):
        plot_prediction(target, {"short": target[:10]})


def test_nmse_vs_size_is_log_scaled_and_refuses_zero(tmp_path):
    fig = plot_nmse_vs_size([10, 20], {"a": [0.3, 0.2], "b": [0.4, 0.35]})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [0.3, 0.2])
    with pytest.raises(InputError, match="> 0"):
        plot_nmse_vs_size([10], {"a": [0.0]})


def test_reliability_points_are_the_bins(tmp_path):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), 200)
    labels = rng.integers(0, 3, 200)
    count, conf, acc = calibration_bins(probs, labels)
    fig = plot_reliability({"sampler": (count, conf, acc)})
    points = fig.axes[0].collections[0].get_offsets()
    used = count > 0
    np.testing.assert_allclose(points[:, 0], conf[used])
    np.testing.assert_allclose(points[:, 1], acc[used])
    assert save_figure(fig, tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
