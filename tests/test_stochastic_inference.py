"""Read noise as the random source of stochastic inference: the hardware sampler (the network
on tiles with read noise, read again and again) against the software sampler (every mapped
cell's conductance perturbed in numpy by the same noise model), and the uncertainty metrics."""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.dynamics.stochastic import (
    calibration_bins,
    compare_samplers,
    hardware_samples,
    software_samples,
    uncertainty_metrics,
)
from cimspice.errors import InputError
from cimspice.nn.layers import Dense, ReLU
from cimspice.nn.model import Model
from cimspice.spec import spec_from_dict

READS = 300


def tiny_network() -> tuple[Model, np.ndarray]:
    """16 -> 12 -> 4 with random weights (logits of order 1, so read noise moves the
    probabilities), and 40 random non-negative inputs."""
    rng = np.random.default_rng(1)
    model = Model(
        "tiny",
        [
            Dense(rng.normal(0, 1, (16, 12)), rng.normal(0, 0.1, 12)),
            ReLU(),
            Dense(rng.normal(0, 0.5, (12, 4)), np.zeros(4)),
        ],
        (16,),
    )
    return model, rng.uniform(0, 1, (40, 16))


def noisy_tiles(read_noise: float) -> object:
    # 8x16 tiles: the first layer spans two row blocks and two column blocks (the mapping's
    # partial sums and its recombination are in the path)
    return spec_from_dict(
        {"array": {"rows": 8, "cols": 16}, "nonideal": {"read_noise": read_noise}}
    )


def z_scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The difference of two Monte-Carlo means of (reads, n, classes) samples over its
    standard error, for the entries whose standard error is not negligible."""
    k = a.shape[0]
    se = np.sqrt(a.var(axis=0, ddof=1) / k + b.var(axis=0, ddof=1) / b.shape[0])
    used = se > 1e-5
    return (a.mean(axis=0) - b.mean(axis=0))[used] / se[used]


@pytest.fixture(scope="module")
def hardware():
    model, x = tiny_network()
    return hardware_samples(model, x, noisy_tiles(0.1), READS)


def test_hardware_sampler_matches_the_software_sampler(hardware):
    model, x = tiny_network()
    software = software_samples(model, x, noisy_tiles(0.1), READS, seed=3)
    z = z_scores(hardware, software)
    assert len(z) > 100  # most entries really are random
    # Each z is a difference of two means of READS independent reads over its standard error:
    # ~N(0, 1) when the samplers agree. Family-wise false alarm 1e-3 over len(z) entries
    # (Bonferroni): |z| < 4.9 for 160 entries.
    from scipy.stats import norm

    assert np.max(np.abs(z)) < norm.isf(1e-3 / (2 * len(z)))
    # mean z^2 is 1 in expectation; the four classes of a sample are correlated (they sum to
    # 1), so allow 6 standard deviations of a chi-square mean as if only len(z) / 4 were
    # independent (measured: 1.05 here; the means move little with the noise level, so the
    # spread below is what tells a wrong level, see the next test)
    bound = 1 + 6 * np.sqrt(2 / (len(z) / 4))
    assert np.mean(z**2) < bound
    # the spread too: the summed variances of the probabilities agree to 15% (their relative
    # standard error is sqrt(2 / READS) = 8% per entry, less summed; measured 0.99)
    ratio = hardware.var(axis=0).sum() / software.var(axis=0).sum()
    assert 0.85 < ratio < 1.15


def test_the_comparison_sees_a_wrong_noise_level(hardware):
    model, x = tiny_network()
    software = software_samples(model, x, noisy_tiles(0.125), READS, seed=4)
    ratio = hardware.var(axis=0).sum() / software.var(axis=0).sum()
    assert not 0.85 < ratio < 1.15  # 25% more noise: 1.56x the variance (measured 0.66)


def test_without_read_noise_every_read_is_the_exact_network():
    model, x = tiny_network()
    hw = hardware_samples(model, x, noisy_tiles(0.0), 2)
    sw = software_samples(model, x, noisy_tiles(0.0), 2)
    exact = np.exp(model.forward(x))
    exact /= exact.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(hw, np.broadcast_to(exact, hw.shape), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sw, np.broadcast_to(exact, sw.shape), rtol=1e-9, atol=1e-12)


def test_metrics_of_hand_made_predictions():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([0, 1, 1, 0])
    m = uncertainty_metrics(probs, labels, bins=10)
    assert m.accuracy == 0.75
    nll = -np.mean(np.log([0.9, 0.2, 0.7, 0.6]))
    assert m.nll == pytest.approx(nll, rel=1e-12)
    # bins: 0.9 -> [0.9, 1.0) right, 0.8 -> [0.8, 0.9) wrong, 0.7 right, 0.6 right
    assert m.ece == pytest.approx((0.1 + 0.8 + 0.3 + 0.4) / 4, rel=1e-12)
    count, conf, acc = calibration_bins(probs, labels, bins=10)
    assert count.sum() == 4 and np.isnan(conf[0]) and acc[8] == 0.0


def test_the_software_sampler_refuses_what_it_does_not_model():
    model, x = tiny_network()
    spec = spec_from_dict(
        {
            "array": {"rows": 8, "cols": 16},
            "nonideal": {"read_noise": 0.1, "prog_noise_rel": 0.05},
        }
    )
    with pytest.raises(InputError, match=r"nonideal\.prog_noise_rel"):
        software_samples(model, x, spec, 2)
    with pytest.raises(InputError, match="labels must be"):
        uncertainty_metrics(np.ones((3, 2)) / 2, np.zeros(2))


def test_comparison_table_holds_every_distribution():
    model, x = tiny_network()
    labels = np.argmax(model.forward(x), axis=1)  # the exact network's own labels
    c = compare_samplers(model, x, labels, noisy_tiles(0.1), reads=4)
    assert list(c.probs) == [
        "deterministic",
        "one noisy read",
        "hardware sampler (K=4)",
        "software sampler (K=4)",
    ]
    metrics = c.metrics()
    assert metrics["deterministic"].accuracy == 1.0
    noisy = c.probs["one noisy read"]
    assert np.max(np.abs(noisy - c.probs["deterministic"])) > 1e-3  # the read noise is in it
    assert len(c.format().splitlines()) == 5
