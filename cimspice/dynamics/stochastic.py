"""Read noise as the random source of stochastic inference.

A network on tiles with read noise (``nonideal.read_noise``: each cell's conductance
fluctuates by ``N(0, (read_noise G)^2)`` on every read, :mod:`cimspice.devices.generic`) gives
other logits on every pass: ``K`` passes are ``K`` samples of a random network, and the mean
of their softmax is a predictive distribution (a Monte-Carlo ensemble; the hardware analogue
of MC dropout, Gal and Ghahramani, ICML 2016, with the devices' own noise as the sampler, as
in Dalgaty et al., "In situ learning using intrinsic memristor variability via Markov chain
Monte Carlo sampling", Nat. Electron. 4, 151-161 (2021)).

- :func:`hardware_samples`: the network through :class:`~cimspice.mapping.matmul.HardwareMatMul`
  (the mapping, the tiles of an engine, the read noise as the tiles add it: one draw per bit
  line, of the summed variance);
- :func:`software_samples`: the reference: the same network with every mapped cell's
  conductance perturbed in numpy by its own ``N(0, (read_noise G)^2)`` draw per input vector
  (the noise model as stated, cell by cell), the perturbation carried to the layer's output
  by the mapping's recombination (:meth:`~cimspice.mapping.tiling.LayerTiling.combine`);
- :func:`uncertainty_metrics`: accuracy, negative log-likelihood and expected calibration
  error (ECE, Guo et al., ICML 2017: equal-width confidence bins, the top class) of a
  predictive distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from cimspice.arguments import integer, real_array
from cimspice.errors import InputError
from cimspice.mapping.matmul import HardwareMatMul
from cimspice.mapping.tiling import LayerTiling, tile_layer
from cimspice.nn.model import Model, softmax
from cimspice.seeds import check_seed
from cimspice.spec import CrossbarSpec, as_spec

__all__ = [
    "ECE_BINS",
    "SamplerComparison",
    "UncertaintyMetrics",
    "calibration_bins",
    "compare_samplers",
    "hardware_samples",
    "software_samples",
    "uncertainty_metrics",
]

ECE_BINS = 15
"""Equal-width confidence bins of the expected calibration error (Guo et al.'s choice)."""


def _progress(reads: int, desc: str, enabled: bool) -> Iterable[int]:
    from tqdm import tqdm

    return tqdm(
        range(reads), desc=desc, unit="read", leave=False, disable=None if enabled else True
    )


def hardware_samples(
    model: Model,
    x: np.ndarray,
    spec: CrossbarSpec | str,
    reads: int,
    *,
    engine: str = "ideal",
    progress: bool = False,
) -> np.ndarray:
    """``(reads, n, classes)``: the softmax of ``reads`` passes of ``x`` through ``model`` on
    ``spec``'s tiles (programmed once; every pass reads them again with fresh read noise)."""
    reads = integer(reads, "reads", minimum=1)
    matmul = HardwareMatMul(as_spec(spec), engine=engine)
    return np.stack(
        [softmax(model.forward(x, matmul)) for _ in _progress(reads, "noisy reads", progress)]
    )


def _noisy_matmul(
    spec: CrossbarSpec, rng: np.random.Generator, chunk: int
) -> Callable[[int, np.ndarray, np.ndarray], np.ndarray]:
    """A matmul adding each mapped cell's read fluctuation, drawn cell by cell."""
    tilings: dict[int, LayerTiling] = {}
    sigma = spec.nonideal.read_noise

    def matmul(index: int, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        tiling = tilings.get(index)
        if tiling is None:
            tiling = tilings[index] = tile_layer(w, spec)
        y = x @ tiling.sliced.reconstruct()
        for slot in tiling.tiles:
            g = slot.conductances[: slot.used_rows, : slot.used_cols]
            part = x[:, slot.rows]
            for start in range(0, len(x), chunk):
                rows = part[start : start + chunk]
                eps = rng.standard_normal((len(rows), *g.shape))
                # column currents' fluctuation, in the units of x @ G (the DAC's and the
                # output's scales cancel)
                noise = np.einsum("bi,ij,bij->bj", rows, sigma * g, eps)
                y[start : start + chunk, slot.outputs] += tiling.combine(
                    noise, slot, tiling.sliced.w_scale
                )
        return y

    return matmul


def software_samples(
    model: Model,
    x: np.ndarray,
    spec: CrossbarSpec | str,
    reads: int,
    *,
    seed: int = 0,
    chunk: int = 256,
    progress: bool = False,
) -> np.ndarray:
    """``(reads, n, classes)``: the reference sampler (see the module): ``reads`` passes of
    ``x`` through ``model`` with every mapped cell's conductance perturbed in numpy.

    Only read noise is modelled: ``spec`` must have no programming noise, levels, faults,
    drift, temperature coefficient away from the reference temperature, ADC, DAC or
    bit-serial inputs (those change the signal or split the reads), and a linear cell read
    ideally (the ideal engine's law).

    Raises:
        InputError: one of those is set (its key named).
    """
    spec = as_spec(spec)
    reads = integer(reads, "reads", minimum=1)
    ni = spec.nonideal
    extra = {
        "nonideal.prog_noise_abs": ni.prog_noise_abs,
        "nonideal.prog_noise_rel": ni.prog_noise_rel,
        "nonideal.levels": ni.levels,
        "nonideal.stuck_on": ni.stuck_on,
        "nonideal.stuck_off": ni.stuck_off,
        "nonideal.model_params": dict(ni.model_params),
        "nonideal.drift_nu": ni.drift_nu,
        "nonideal.drift_nu_std": ni.drift_nu_std,
        "nonideal.tc_device": ni.tc_device * (ni.temperature - ni.temperature_ref),
        "readout.adc_bits": spec.readout.adc_bits,
        "driver.dac_bits": spec.driver.dac_bits,
        "mapping.input_bits": spec.mapping.input_bits,
    }
    for key, value in extra.items():
        if value:
            raise InputError(
                f"the software sampler models read noise alone; {key} = {value!r} is set"
            )
    rng = np.random.default_rng(np.random.SeedSequence([check_seed(seed), 16]))
    matmul = _noisy_matmul(spec, rng, integer(chunk, "chunk", minimum=1))
    return np.stack(
        [softmax(model.forward(x, matmul)) for _ in _progress(reads, "software sampler", progress)]
    )


@dataclass(frozen=True)
class UncertaintyMetrics:
    """How good a predictive distribution is.

    Attributes:
        accuracy: fraction of samples whose most probable class is the label.
        nll: mean negative log-likelihood of the labels (nat).
        ece: expected calibration error (fraction).
    """

    accuracy: float
    nll: float
    ece: float


def calibration_bins(
    probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equal-width confidence bin: ``(count, mean confidence, accuracy)``, each
    ``(bins,)`` (NaN in an empty bin); the confidence is the top class's probability."""
    p = real_array(probs, "probs", ndim=2)
    y = np.asarray(labels)
    if y.shape != (p.shape[0],):
        raise InputError(f"labels must be ({p.shape[0]},), got {y.shape}")
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(float)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(which, confidence, minlength=bins) / count
        acc = np.bincount(which, correct, minlength=bins) / count
    return count, conf, acc


def uncertainty_metrics(
    probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> UncertaintyMetrics:
    """Accuracy, NLL and ECE of ``probs`` (``(n, classes)``) against ``labels`` (``(n,)``)."""
    p = real_array(probs, "probs", ndim=2)
    y = np.asarray(labels).astype(int)
    count, conf, acc = calibration_bins(p, y, bins)
    used = count > 0
    ece = float(np.sum(count[used] * np.abs(conf[used] - acc[used])) / count.sum())
    nll = float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))
    return UncertaintyMetrics(float(np.mean(p.argmax(axis=1) == y)), nll, ece)


@dataclass(frozen=True)
class SamplerComparison:
    """Predictive distributions of one network on one test set.

    Attributes:
        probs: name -> ``(n, classes)`` predictive probabilities: ``"deterministic"`` (the
            exact network), ``"one noisy read"`` (the hardware's first read alone),
            ``"hardware sampler"`` and ``"software sampler"`` (the mean of ``reads`` reads).
        labels: ``(n,)``.
        reads: reads per sampler.
        read_noise: the relative read noise.
    """

    probs: dict[str, np.ndarray]
    labels: np.ndarray
    reads: int
    read_noise: float

    def metrics(self) -> dict[str, UncertaintyMetrics]:
        """Accuracy, NLL and ECE of every distribution."""
        return {k: uncertainty_metrics(p, self.labels) for k, p in self.probs.items()}

    def format(self) -> str:
        """The table as text."""
        lines = [f"{'predictive distribution':<26} {'accuracy':>8} {'NLL':>7} {'ECE':>7}"]
        for name, m in self.metrics().items():
            lines.append(f"{name:<26} {m.accuracy:>8.4f} {m.nll:>7.4f} {m.ece:>7.4f}")
        return "\n".join(lines)


def compare_samplers(
    model: Model,
    x: np.ndarray,
    labels: np.ndarray,
    spec: CrossbarSpec | str,
    reads: int,
    *,
    seed: int = 0,
    progress: bool = False,
) -> SamplerComparison:
    """The hardware and the software sampler of ``reads`` reads, one noisy read and the
    deterministic network on ``(x, labels)``; the hardware on the ideal engine, whose law
    (``V @ G``) is the one the software sampler perturbs."""
    spec = as_spec(spec)
    hardware = hardware_samples(model, x, spec, reads, engine="ideal", progress=progress)
    software = software_samples(model, x, spec, reads, seed=seed, progress=progress)
    probs = {
        "deterministic": softmax(model.forward(x)),
        "one noisy read": hardware[0],
        f"hardware sampler (K={reads})": hardware.mean(axis=0),
        f"software sampler (K={reads})": software.mean(axis=0),
    }
    return SamplerComparison(probs, np.asarray(labels), reads, spec.nonideal.read_noise)
