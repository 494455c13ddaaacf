"""The aihwkit half of ``bench_aihwkit.py``: runs in aihwkit's own environment (numpy, torch
and aihwkit only; no cimspice), reads the model and data the cimspice half exported, and
writes aihwkit's accuracies.

    <aihwkit venv>/bin/python benchmarks/aihwkit_side.py IN.npz OUT.json

IN.npz: ``w0, b0, w1, b1, ...`` (Dense layers, ``(fan_in, fan_out)``; ReLU between),
``x``, ``y``, ``times`` (s after programming), ``seeds``, ``g_max`` (uS), ``compensate``
(0: none, 1: aihwkit's GlobalDriftCompensation). Tiles: ``TorchInferenceRPUConfig`` with a
perfect forward pass (``forward.is_perfect``: no DAC, ADC or output noise, as cimspice's
ideal-wire tiles without converters), ``PCMLikeNoiseModel(g_max)``, its single-pair
conductance converter, biases digital. OUT.json: ``{"acc": [[per seed] per time]}``.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch
from aihwkit.inference import GlobalDriftCompensation, PCMLikeNoiseModel
from aihwkit.nn import AnalogLinear, AnalogSequential
from aihwkit.simulator.configs import TorchInferenceRPUConfig


def build(data: dict, compensate: bool) -> AnalogSequential:
    config = TorchInferenceRPUConfig()
    config.forward.is_perfect = True
    config.noise_model = PCMLikeNoiseModel(g_max=float(data["g_max"]))
    config.drift_compensation = GlobalDriftCompensation() if compensate else None
    layers: list[torch.nn.Module] = []
    k = 0
    while f"w{k}" in data:
        w, b = data[f"w{k}"], data[f"b{k}"]
        if k:
            layers.append(torch.nn.ReLU())
        layer = AnalogLinear(w.shape[0], w.shape[1], bias=True, rpu_config=config)
        layer.set_weights(
            torch.tensor(w.T, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)
        )
        layers.append(layer)
        k += 1
    return AnalogSequential(*layers)


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    with np.load(src) as f:
        data = {name: f[name] for name in f.files}
    x = torch.tensor(data["x"], dtype=torch.float32)
    y = data["y"]
    acc = []
    for t in data["times"]:
        row = []
        for seed in data["seeds"]:
            torch.manual_seed(int(seed))
            model = build(data, bool(data["compensate"]))
            model.eval()
            model.program_analog_weights()
            model.drift_analog_weights(float(t))
            with torch.no_grad():
                pred = model(x).argmax(dim=1).numpy()
            row.append(float(np.mean(pred == y)))
        acc.append(row)
    with open(dst, "w", encoding="utf-8") as handle:
        json.dump({"acc": acc, "aihwkit": __import__("aihwkit").__version__}, handle)


if __name__ == "__main__":
    main()
