"""Why mnist-resnet collapses on the default tile, and what batch-norm recalibration recovers.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_resnet_devices.py \\
        [--part effects|layers|errors|currents|fold|finetune|offsets|all] \\
        [--samples 100] [--seeds 3] [--recalibrate 200] [--epochs 2]

The torch built-in ``mnist-resnet`` (cached or trained on first use) on
``examples/network-128.toml`` (128x128 passive, 2 ohm wires, 8-bit DAC and ADC, programming
and read noise, a day of drift with global compensation, 0.1% stuck cells), on the first
``--samples`` held-out MNIST images, device seeds ``0 .. --seeds - 1``, input ranges from the
first 1,000 training images (as ``cimspice evaluate``). Parts:

- ``effects``: the spec's device effects switched on one at a time (wires and converters
  always on), hardware accuracy per seed, as trained and with batch norm re-estimated on the
  tiles from ``--recalibrate`` training images (:func:`cimspice.torch.recalibrate_batch_norm`);
- ``layers``: one tile layer at a time with the devices of the spec (stuck cells alone, drift
  alone, all), every other layer on device-free tiles (wires and converters only);
- ``errors``: per tile layer, the MVM error against the exact product of the same inputs
  relative to each output channel's spread: ``rms(error) / std(exact)`` (mean and max over
  channels) and ``|mean error| / std(exact)`` (max over channels: a fixed per-channel offset),
  for the ResNet and the numpy ``mnist-cnn`` (through :func:`~cimspice.torch.models.from_numpy`)
  on the same tile, devices off and on;
- ``currents``: per tile, the column currents the spec's DAC drives into the mapped
  conductances (wires and devices aside) against the ADC's full scale, both models, 50 images;
- ``fold``: batch norm folded into the preceding convolutions before mapping
  (``torch.nn.utils.fusion.fuse_conv_bn_eval``: a per-output-channel scale of the weights and
  a digital bias), on the spec's tile, against the model as trained;
- ``finetune``: hardware-aware fine-tuning through the tiles (:func:`cimspice.torch.training.fit`,
  ``--epochs`` over the 4,000 training images, batches of 64, peak rate 1e-3, a fresh device
  seed every step, batch norm on batch statistics while training), then the accuracy per
  device seed as trained, recalibrated, fine-tuned, fine-tuned and recalibrated;
- ``offsets``: digital sensitivity, no tiles: every convolution's and linear layer's output
  gets a fixed per-channel offset (the same at every position and for every image) or fresh
  noise per value, of ``r`` times that channel's std, for both models (``--samples`` x 5).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from cimspice.nn.zoo import builtin_model
from cimspice.spec import CrossbarSpec, load_spec
from cimspice.torch import analog_layers, analog_tiles, convert, recalibrate_batch_norm
from cimspice.torch.convert import calibrate_input_ranges
from cimspice.torch.models import BasicBlock, from_numpy
from cimspice.torch.monte_carlo import accuracy
from cimspice.torch.tiles import AnalogTiles
from cimspice.torch.zoo import builtin_torch_model

OFF = {
    "prog_noise_rel": 0.0,
    "prog_noise_abs": 0.0,
    "read_noise": 0.0,
    "drift_time": 0.0,
    "stuck_on": 0.0,
    "stuck_off": 0.0,
}
EFFECTS = {
    "no devices": (),
    "programming noise": ("prog_noise_rel", "prog_noise_abs"),
    "read noise": ("read_noise",),
    "drift (a day, compensated)": ("drift_time",),
    "stuck cells": ("stuck_on", "stuck_off"),
    "all but stuck cells": ("prog_noise_rel", "prog_noise_abs", "read_noise", "drift_time"),
    "all (the spec)": tuple(OFF),
}


def with_devices(spec: CrossbarSpec, keys: tuple[str, ...], seed: int) -> CrossbarSpec:
    """``spec`` with only the device effects ``keys`` on (as the spec has them), seed ``seed``."""
    off = {k: v for k, v in OFF.items() if k not in keys}
    nonideal = dataclasses.replace(spec.nonideal, seed=seed, **off)
    return dataclasses.replace(spec, nonideal=nonideal)


def on_tiles(model: nn.Module, spec: CrossbarSpec, calibration: torch.Tensor) -> nn.Module:
    converted = convert(model, spec)
    calibrate_input_ranges(converted, calibration)
    return converted


def effects(model, spec, x, y, calibration, seeds, recalibrate) -> None:
    print(f"\n## device effects one at a time ({len(x)} images, seeds {list(seeds)})")
    print(f"| effects on | as trained | batch norm re-estimated ({recalibrate} images) |")
    print("|---|---|---|")
    for name, keys in EFFECTS.items():
        plain, recal = [], []
        for seed in seeds:
            converted = on_tiles(model, with_devices(spec, keys, seed), calibration)
            plain.append(accuracy(converted, x, y))
            recalibrate_batch_norm(converted, calibration[:recalibrate])
            recal.append(accuracy(converted, x, y))
        print(f"| {name} | {_spread(plain)} | {_spread(recal)} |", flush=True)


def layers(model, spec, x, y, calibration, seeds) -> None:
    print(f"\n## one tile layer at a time with devices ({len(x)} images, seeds {list(seeds)})")
    count = len(list(analog_layers(convert(model, spec))))
    groups = {
        "stuck cells": ("stuck_on", "stuck_off"),
        "drift": ("drift_time",),
        "all": tuple(OFF),
    }
    print("| layer | " + " | ".join(groups) + " |")
    print("|---|" + "---|" * len(groups))
    for index in range(count):
        cells = []
        for keys in groups.values():
            accs = []
            for seed in seeds:
                converted = on_tiles(model, with_devices(spec, (), seed), calibration)
                target = list(analog_layers(converted))[index]
                target.analog_tiles = AnalogTiles(with_devices(spec, keys, seed))
                accs.append(accuracy(converted, x, y))
            cells.append(_spread(accs))
        print(f"| {index} | " + " | ".join(cells) + " |", flush=True)


def channel_errors(converted: nn.Module, x: torch.Tensor) -> dict[int, dict[str, Any]]:
    """Per tile layer: the error's rms and mean per output channel, and the exact output's
    std per channel, over one pass of ``x``."""
    sums: dict[int, dict[str, Any]] = {}
    tiles = analog_tiles(converted)
    original = tiles.matmul

    def matmul(index, inputs, weights, x_max):
        y = original(index, inputs, weights, x_max)
        with torch.no_grad():
            exact = (inputs @ weights).double()
            error = y.double() - exact
            s = sums.setdefault(index, {"n": 0, "s": 0.0, "s2": 0.0, "e": 0.0, "e2": 0.0})
            s["n"] += exact.shape[0]
            s["s"] = s["s"] + exact.sum(0)
            s["s2"] = s["s2"] + (exact**2).sum(0)
            s["e"] = s["e"] + error.sum(0)
            s["e2"] = s["e2"] + (error**2).sum(0)
        return y

    tiles.matmul = matmul  # type: ignore[method-assign]
    try:
        with torch.no_grad():
            converted(x)
    finally:
        del tiles.matmul
    out = {}
    for index, s in sorted(sums.items()):
        n = s["n"]
        std = torch.sqrt(s["s2"] / n - (s["s"] / n) ** 2)
        rms, mean = torch.sqrt(s["e2"] / n) / std, (s["e"] / n).abs() / std
        out[index] = {"rms": rms, "offset": mean}
    return out


def errors(models, spec, seeds) -> None:
    print("\n## MVM error per output channel / the channel's std (mean, max; max offset)")
    for name, (model, x, y, calibration) in models.items():
        for label, keys in (("no devices", ()), ("all (the spec)", tuple(OFF))):
            for seed in seeds:
                converted = on_tiles(model, with_devices(spec, keys, seed), calibration)
                rows = channel_errors(converted, x)
                cells = [
                    f"L{i} {float(r['rms'].mean()):.2f}/{float(r['rms'].max()):.2f}; "
                    f"{float(r['offset'].max()):.2f}"
                    for i, r in rows.items()
                ]
                acc = accuracy(converted, x, y)
                print(f"| {name} | {label} | {seed} | {acc:.2f} | " + " | ".join(cells) + " |")
                if not keys:
                    break  # no devices: every seed the same


def currents(models, spec, count=50) -> None:
    from cimspice.mapping.encoding import encode_inputs

    full_scale = spec.readout.adc_full_scale
    print(f"\n## column currents / ADC full scale ({full_scale * 1e6:.0f} uA), {count} images")
    print("| model | layer | tile | word lines | mean | p99 | max | above full scale |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (model, x, _, calibration) in models.items():
        converted = on_tiles(model, spec, calibration)
        tiles = analog_tiles(converted)
        seen: dict[tuple[int, int], list[np.ndarray]] = {}
        original = tiles.matmul

        def matmul(index, inputs, weights, x_max, original=original, tiles=tiles, seen=seen):
            y = original(index, inputs, weights, x_max)
            values = inputs.detach().double().numpy()
            top = float(x_max) if x_max is not None else float(np.abs(values).max())
            for slot in tiles.hardware().layers[index].tiling.tiles:
                g = slot.conductances[: slot.used_rows, : slot.used_cols]
                for phase in encode_inputs(values, top, spec):
                    key = (index, slot.index)
                    seen.setdefault(key, []).append(phase.voltages[:, slot.rows] @ g)
            return y

        tiles.matmul = matmul  # type: ignore[method-assign]
        with torch.no_grad():
            converted(x[:count])
        for (index, k), parts in sorted(seen.items()):
            i = np.concatenate(parts) / full_scale
            rows = tiles.hardware().layers[index].tiling.tiles[k].used_rows
            print(
                f"| {name} | {index} | {k} | {rows} | {i.mean():.3f} | "
                f"{np.percentile(i, 99):.3f} | {i.max():.3f} | {100 * np.mean(i > 1):.2f}% |"
            )


def folded_batch_norm(model: nn.Module) -> nn.Module:
    """``small_resnet`` with every batch norm folded into the convolution before it."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = copy.deepcopy(model).eval()
    folded[0] = fuse_conv_bn_eval(folded[0], folded[1])
    folded[1] = nn.Identity()
    for block in folded:
        if isinstance(block, BasicBlock):
            block.conv1 = fuse_conv_bn_eval(block.conv1, block.bn1)
            block.conv2 = fuse_conv_bn_eval(block.conv2, block.bn2)
            block.bn1, block.bn2 = nn.Identity(), nn.Identity()
    return folded


def fold(model, spec, x, y, calibration, seeds) -> None:
    folded = folded_batch_norm(model)
    print("\n## per convolution: each channel's max |W| / the layer's; batch norm's gamma / sigma")
    convolutions = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for index, (conv, norm) in enumerate(zip(convolutions, norms, strict=True)):
        w = conv.weight.detach().abs().flatten(1).amax(dim=1)
        gain = (norm.weight / torch.sqrt(norm.running_var + norm.eps)).detach()
        print(
            f"layer {index}: max|W| per channel {float(w.min() / w.max()):.2f}-1 of the "
            f"layer's; gamma/sigma {float(gain.min()):.2f}-{float(gain.max()):.2f}"
        )
    print(f"\n## batch norm folded into the convolutions ({len(x)} images)")
    print(f"exact: as trained {accuracy(model, x, y):.3f}, folded {accuracy(folded, x, y):.3f}")
    print("| seed | as trained | folded |")
    print("|---|---|---|")
    for seed in seeds:
        tile = with_devices(spec, tuple(OFF), seed)
        plain = accuracy(on_tiles(model, tile, calibration), x, y)
        print(
            f"| {seed} | {plain:.2f} | {accuracy(on_tiles(folded, tile, calibration), x, y):.2f} |"
        )


def finetune(model, spec, x, y, calibration, seeds, recalibrate, epochs, train) -> None:
    from cimspice.torch.monte_carlo import evaluate_seeds
    from cimspice.torch.training import fit

    converted = on_tiles(model, spec, calibration)
    rows = {
        "as trained": evaluate_seeds(converted, x, y, seeds),
        "recalibrated": evaluate_seeds(
            converted, x, y, seeds, recalibrate=calibration[:recalibrate]
        ),
    }
    start = time.perf_counter()
    losses = fit(converted, *train, epochs=epochs, lr=1e-3, batch_size=64, seed=0)
    took = time.perf_counter() - start
    rows["fine-tuned"] = evaluate_seeds(converted, x, y, seeds)
    rows["fine-tuned, recalibrated"] = evaluate_seeds(
        converted, x, y, seeds, recalibrate=calibration[:recalibrate]
    )
    print(f"\n## fine-tuning through the tiles: {epochs} epoch(s), {took:.0f} s, losses {losses}")
    print(f"({len(x)} images, seeds {list(seeds)}, recalibration from {recalibrate} images)")
    print("| model | mean +- std | per seed |")
    print("|---|---|---|")
    for name, result in rows.items():
        per_seed = ", ".join(f"{a:.3f}" for a in result.accuracies)
        print(f"| {name} | {result.mean:.4f} +- {result.std:.4f} | {per_seed} |", flush=True)


def offsets(models, sizes=(0.1, 0.2, 0.3, 0.5), seeds=range(3)) -> None:
    print("\n## digital sensitivity: per-channel offset or fresh noise of r x channel std")
    print("| model | ideal | kind | " + " | ".join(f"r = {r}" for r in sizes) + " |")
    print("|---|---|---|" + "---|" * len(sizes))
    for name, (model, x, y, _) in models.items():
        stds = _output_stds(model, x)
        ideal = accuracy(model, x, y)
        for kind in ("offset", "noise"):
            cells = []
            for r in sizes:
                accs = []
                for seed in seeds:
                    generator = torch.Generator().manual_seed(seed)
                    hooks = [
                        module.register_forward_hook(_perturb(kind, r * std, generator))
                        for module, std in stds.items()
                    ]
                    try:
                        accs.append(accuracy(model, x, y))
                    finally:
                        for hook in hooks:
                            hook.remove()
                cells.append(_spread(accs))
            print(f"| {name} | {ideal:.3f} | {kind} | " + " | ".join(cells) + " |", flush=True)


def _output_stds(model: nn.Module, x: torch.Tensor) -> dict[nn.Module, torch.Tensor]:
    """Every convolution's and linear layer's output std per channel on ``x``."""
    stds: dict[nn.Module, torch.Tensor] = {}

    def keep(module, _inputs, output):
        per_channel = output.transpose(0, 1).reshape(output.shape[1], -1)
        stds[module] = per_channel.std(dim=1)

    targets = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    hooks = [m.register_forward_hook(keep) for m in targets]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return stds


def _perturb(kind: str, scale: torch.Tensor, generator: torch.Generator) -> Callable:
    offset = torch.randn(scale.shape, generator=generator) * scale

    def hook(_module, _inputs, output):
        shape = (-1,) + (1,) * (output.dim() - 2)
        if kind == "offset":
            return output + offset.reshape(shape)
        noise = torch.randn(output.shape, generator=generator)
        return output + noise * scale.reshape(shape)

    return hook


def _spread(values: list[float]) -> str:
    values_text = ", ".join(f"{v:.2f}" for v in values)
    return f"{np.mean(values):.3f} ({values_text})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part",
        choices=["effects", "layers", "errors", "currents", "fold", "finetune", "offsets", "all"],
        default="all",
    )
    parser.add_argument("--samples", type=int, default=100, help="held-out images")
    parser.add_argument("--seeds", type=int, default=3, help="device seeds 0 .. N - 1")
    parser.add_argument(
        "--recalibrate", type=int, default=200, help="training images batch norm is fit on"
    )
    parser.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs")
    parser.add_argument("--spec", default="examples/network-128.toml")
    args = parser.parse_args()
    torch.set_num_threads(1)
    spec = load_spec(args.spec)
    seeds = range(args.seeds)
    n = args.samples
    resnet, mnist, shape = builtin_torch_model("mnist-resnet")
    cnn_numpy, _ = builtin_model("mnist-cnn")

    def samples(model, sample_shape, count):
        x = torch.as_tensor(mnist.x_test[:count], dtype=torch.float32)
        calibration = torch.as_tensor(mnist.x_train[:1000], dtype=torch.float32)
        return (
            model,
            x.reshape(-1, *sample_shape),
            torch.as_tensor(mnist.y_test[:count]),
            calibration.reshape(-1, *sample_shape),
        )

    models = {
        "mnist-resnet": samples(resnet, shape, n),
        "mnist-cnn": samples(from_numpy(cnn_numpy), (28, 28, 1), n),
    }
    start = time.perf_counter()
    model, x, y, calibration = models["mnist-resnet"]
    print(f"mnist-resnet ideal accuracy on {n} images: {accuracy(model, x, y):.3f}")
    if args.part in ("effects", "all"):
        effects(model, spec, x, y, calibration, seeds, args.recalibrate)
    if args.part in ("layers", "all"):
        layers(model, spec, x, y, calibration, seeds)
    if args.part in ("errors", "all"):
        errors(models, spec, seeds)
    if args.part in ("currents", "all"):
        currents(models, spec)
    if args.part in ("fold", "all"):
        fold(model, spec, x, y, calibration, seeds)
    if args.part in ("finetune", "all"):
        train = (
            torch.as_tensor(mnist.x_train, dtype=torch.float32).reshape(-1, *shape),
            torch.as_tensor(mnist.y_train),
        )
        finetune(model, spec, x, y, calibration, seeds, args.recalibrate, args.epochs, train)
    if args.part in ("offsets", "all"):
        offsets({k: samples(v[0], v[1].shape[1:], 5 * n) for k, v in models.items()})
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
