"""Hardware-aware training through cimspice.torch: accuracy gain over plain training.

    .venv/bin/python benchmarks/bench_hwa_training.py [--seeds 5] [--device-seeds 5]
        [--epochs 30] [--hwa-epochs 6] [--lr 5e-3]

A 64-128-10 MLP on the 8x8 digits (the ``digits-mlp`` architecture, in torch), trained
digitally with each of ``--seeds`` training seeds. Each trained model is then

- *plain*: converted onto the tile below and evaluated;
- *digital fine-tune* (the control): trained ``--hwa-epochs`` more epochs digitally, converted
  and evaluated (does more training alone help?);
- *hardware-aware*: converted with learnable input ranges (calibrated on 500 training
  samples first) and trained ``--hwa-epochs`` more epochs through the tiles
  (:func:`cimspice.torch.training.fit`: the same mapping, programming noise, DAC, IR drop
  through the tile's nominal surrogate, i.e. its exact resistive network, read noise and ADC
  as evaluation; straight-through quantisers; a fresh device seed every step).

Every model is evaluated on the held-out split over ``--device-seeds`` device seeds that
training never saw (1000..). The tile: 64x64 passive, 4 ohm wire segments, 1-100 uS (a
strong IR drop), a 6-bit DAC, a 4-bit ADC (150 uA full scale), 64 levels, 5% programming
noise (no write-verify), 2% read noise.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from cimspice.nn.datasets import load_dataset
from cimspice.spec import spec_from_dict
from cimspice.torch import convert
from cimspice.torch.monte_carlo import evaluate_seeds
from cimspice.torch.training import fit

SPEC = {
    "array": {"rows": 64, "cols": 64},
    "wire": {"r_row": 4.0, "r_col": 4.0},
    "driver": {"v_read": 0.2, "dac_bits": 6},
    "readout": {"adc_bits": 4, "adc_full_scale": 150e-6},
    "device": {"g_min": 1e-6, "g_max": 100e-6},
    "nonideal": {"seed": 0, "levels": 64, "prog_noise_rel": 0.05, "read_noise": 0.02},
}


def mlp(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="training seeds")
    parser.add_argument("--device-seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30, help="plain training epochs")
    parser.add_argument("--hwa-epochs", type=int, default=6, help="fine-tuning epochs")
    parser.add_argument("--lr", type=float, default=5e-3, help="fine-tuning's peak rate")
    args = parser.parse_args()
    torch.set_num_threads(1)
    spec = spec_from_dict(SPEC)
    data = load_dataset("digits")
    x_train = torch.from_numpy(data.x_train).float()
    y_train = torch.from_numpy(data.y_train)
    x_test = torch.from_numpy(data.x_test).float()
    y_test = torch.from_numpy(data.y_test)
    device_seeds = list(range(1000, 1000 + args.device_seeds))
    rows = []
    print("seed | ideal | plain | digital fine-tune | hardware-aware | HWA - plain | HWA s")
    for seed in range(args.seeds):
        model = mlp(seed)
        fit(model, x_train, y_train, epochs=args.epochs, lr=2e-3, seed=seed)
        with torch.no_grad():
            ideal = float((model(x_test).argmax(1) == y_test).float().mean())
        calibration = x_train[:500]
        plain = evaluate_seeds(
            convert(model, spec, calibration=calibration), x_test, y_test, device_seeds
        )
        control = mlp(seed)
        control.load_state_dict(model.state_dict())
        fit(control, x_train, y_train, epochs=args.hwa_epochs, lr=args.lr, seed=seed + 100)
        digital = evaluate_seeds(
            convert(control, spec, calibration=calibration), x_test, y_test, device_seeds
        )
        aware = convert(model, spec, calibration=calibration, learn_ranges=True)
        start = time.perf_counter()
        fit(aware, x_train, y_train, epochs=args.hwa_epochs, lr=args.lr, seed=seed + 100)
        seconds = time.perf_counter() - start
        hwa = evaluate_seeds(aware, x_test, y_test, device_seeds)
        rows.append((ideal, plain.mean, digital.mean, hwa.mean))
        print(
            f"{seed} | {ideal:.4f} | {plain.mean:.4f} +- {plain.std:.4f} | "
            f"{digital.mean:.4f} +- {digital.std:.4f} | {hwa.mean:.4f} +- {hwa.std:.4f} | "
            f"{hwa.mean - plain.mean:+.4f} | {seconds:.0f}",
            flush=True,
        )
    gains = [r[3] - r[1] for r in rows]
    control_gains = [r[2] - r[1] for r in rows]

    def summary(values: list[float]) -> str:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        mean = statistics.mean(values)
        return f"{mean:+.4f} +- {spread:.4f} (min {min(values):+.4f}, max {max(values):+.4f})"

    print(f"means over {len(rows)} training seeds x {len(device_seeds)} device seeds:")
    for name, k in (("ideal", 0), ("plain", 1), ("digital fine-tune", 2), ("hardware-aware", 3)):
        print(f"  {name}: {statistics.mean(r[k] for r in rows):.4f}")
    print(f"gain of hardware-aware training over plain: {summary(gains)}")
    print(f"gain of digital fine-tuning over plain (control): {summary(control_gains)}")


if __name__ == "__main__":
    main()
