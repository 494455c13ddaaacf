"""NARMA-10 on a dynamic-memristor reservoir against its software baselines, each readout
trained the same way (:func:`~cimspice.dynamics.readout.fit_readout`) on the same splits.

Rows of the table:

- ``"memristor reservoir"``: :class:`~cimspice.dynamics.reservoir.DeviceReservoir`, ``devices``
  features (its encoding fixed; read noise as the spec gives it);
- ``"echo-state network"``: :class:`~cimspice.dynamics.baselines.EchoStateNetwork` of as many
  units, its spectral radius, leak and input scale chosen on the validation split
  (:data:`ESN_GRID`);
- ``"linear, N delays"``: linear regression on the last ``devices`` inputs (as many features);
- ``"linear, window delays"``: on the last ``window`` inputs (the reservoir's memory length).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from cimspice.arguments import integer
from cimspice.dynamics.baselines import EchoStateNetwork, delay_features
from cimspice.dynamics.readout import Readout, fit_readout
from cimspice.dynamics.reservoir import DeviceReservoir, PulseEncoding, reservoir_spec
from cimspice.dynamics.tasks import Splits, narma10, nmse, splits

__all__ = ["ESN_GRID", "NARMA_RANGE", "NarmaRow", "NarmaTable", "narma_table"]

ESN_GRID = {
    "radius": (0.5, 0.9, 1.1),
    "leak": (0.3, 0.6, 1.0),
    "input_scale": (0.1, 0.5, 1.0),
}
"""The echo-state network's hyperparameters tried on the validation split."""
NARMA_RANGE = (0.0, 0.5)
"""The range of NARMA-10's inputs."""


@dataclass(frozen=True)
class NarmaRow:
    """One model's result.

    Attributes:
        name: the model.
        features: how many features its readout has.
        val_nmse, test_nmse: on the validation and the held-out test segment.
        setting: its chosen hyperparameters (the readout's ridge among them).
        prediction: the readout's outputs over the test segment.
    """

    name: str
    features: int
    val_nmse: float
    test_nmse: float
    setting: dict[str, float]
    prediction: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class NarmaTable:
    """NARMA-10 results of every model, on one series.

    Attributes:
        rows: one per model.
        target: the test segment's targets.
        split: the segments.
    """

    rows: tuple[NarmaRow, ...]
    target: np.ndarray = field(repr=False)
    split: Splits = field(repr=False)

    def row(self, name: str) -> NarmaRow:
        """The row of ``name``."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def format(self) -> str:
        """The table as text."""
        lines = [f"{'model':<24} {'features':>8} {'val NMSE':>9} {'test NMSE':>9}  setting"]
        for r in self.rows:
            setting = ", ".join(f"{k}={v:g}" for k, v in r.setting.items())
            lines.append(
                f"{r.name:<24} {r.features:>8d} {r.val_nmse:>9.4f} {r.test_nmse:>9.4f}  {setting}"
            )
        return "\n".join(lines)


def _row(
    name: str, features: np.ndarray, y: np.ndarray, split: Splits, setting: dict[str, float]
) -> tuple[NarmaRow, Readout]:
    readout = fit_readout(features, y, split)
    prediction = readout.predict(features[split.test])
    row = NarmaRow(
        name,
        features.shape[1],
        readout.val_nmse,
        nmse(prediction, y[split.test]),
        {**setting, "ridge": readout.ridge},
        prediction,
    )
    return row, readout


def narma_table(
    devices: int = 50,
    *,
    steps: int = 3000,
    train: int = 1500,
    val: int = 700,
    seed: int = 0,
    encoding: PulseEncoding | None = None,
    read_noise: float = 0.0,
    variation: float = 0.1,
    progress: bool = False,
) -> NarmaTable:
    """Run NARMA-10 on the reservoir and the baselines (see the module).

    Args:
        devices: reservoir devices (= ESN units = delays of the first linear baseline).
        steps: the series' length: ``window`` steps skipped (the first windows are partly
            empty), then ``train``, ``val`` and the rest for the test.
        train: steps that fit the readouts.
        val: steps that choose the regularisers and the ESN's hyperparameters.
        seed: the series', the reservoir's masks' and devices' and the ESN's seed.
        encoding: the reservoir's pulse encoding (default :class:`PulseEncoding`).
        read_noise: relative read noise of the reservoir's features.
        variation: device-to-device spread of the switching rates (``write.variation``).
        progress: show progress bars (the reservoir's pulses, the ESN's grid).
    """
    devices = integer(devices, "devices", minimum=1)
    encoding = encoding or PulseEncoding()
    u, y = narma10(steps, seed)
    split = splits(steps, max(encoding.window, 10), train, val)
    rows = []
    spec = reservoir_spec(devices, seed=seed, read_noise=read_noise, variation=variation)
    reservoir = DeviceReservoir(spec, encoding, seed)
    rows.append(
        _row(
            "memristor reservoir",
            reservoir.features(u, NARMA_RANGE, progress=progress),
            y,
            split,
            {"window": encoding.window, "read_noise": read_noise},
        )[0]
    )
    best: NarmaRow | None = None
    from tqdm import tqdm

    grid = list(itertools.product(*ESN_GRID.values()))
    for radius, leak, scale in tqdm(
        grid, desc="ESN grid", leave=False, disable=None if progress else True
    ):
        esn = EchoStateNetwork(devices, radius, leak, scale, seed)
        setting = {"radius": radius, "leak": leak, "input_scale": scale}
        row = _row("echo-state network", esn.features(u, NARMA_RANGE), y, split, setting)[0]
        if best is None or row.val_nmse < best.val_nmse:
            best = row
    assert best is not None
    rows.append(best)
    rows.append(_row("linear, N delays", delay_features(u, devices), y, split, {})[0])
    rows.append(_row("linear, window delays", delay_features(u, encoding.window), y, split, {})[0])
    return NarmaTable(tuple(rows), y[split.test], split)
