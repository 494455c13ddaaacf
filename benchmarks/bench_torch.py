"""cimspice.torch benchmark: mnist-mlp converted onto tiles vs the unconverted torch forward.

    .venv/bin/python benchmarks/bench_torch.py [--surrogate out/bench-torch/surrogate-1t1r.json]
        [--repeats 5] [--threads 1] [--devices cpu,cuda]

The built-in ``mnist-mlp`` (784-256-10, its trained weights, as an ``nn.Sequential`` by
:func:`cimspice.torch.models.from_numpy`) on all 5,000 images of the MNIST subset, float32,
through :func:`cimspice.torch.convert`, against the same torch model unconverted; medians of
interleaved pairs (benchmarks/_common.py), torch and BLAS on ``--threads`` threads. Programming
(mapping, devices, each tile's transfer matrix or fast-mode tables) is a one-time cost, timed
apart (the first forward pass). Configurations:

- linear tiles, ``examples/network-128.toml`` (128x128 passive, 2 ohm wires, 8-bit DAC and ADC,
  devices, 1% read noise): as given (per tile); without read noise (per tile); exact readout
  and no read noise (tiles folded into one matrix per layer);
- 1T1R tiles, ``examples/network-128-1t1r.toml`` (the same with 1T1R cells, ideal virtual
  grounds, 8-bit ADC), through its calibrated surrogate in fast mode (calibrated into
  ``out/bench-torch/`` first when the file is missing): as given, and without read noise.

A row per configuration and device (``--devices``; default the CPU, and the GPU where CUDA
is present): the model, the images and the converted model's tiles on that device, every
timed pass waited for (``torch.cuda.synchronize``) on a GPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

from cimspice.errors import CimspiceError
from cimspice.nn.zoo import builtin_model
from cimspice.spec import CrossbarSpec, load_spec
from cimspice.studies.torch_evaluate import torch_device
from cimspice.surrogate.model import load_surrogate
from cimspice.torch import convert
from cimspice.torch.models import from_numpy

sys.path.insert(0, str(Path(__file__).parent))
from _common import interleaved

OUT = Path("out/bench-torch")


def quiet(spec: CrossbarSpec) -> CrossbarSpec:
    """The same tiles without read noise."""
    return dataclasses.replace(spec, nonideal=dataclasses.replace(spec.nonideal, read_noise=0.0))


def folded(spec: CrossbarSpec) -> CrossbarSpec:
    """The same tiles with an exact readout and no read noise."""
    return dataclasses.replace(
        quiet(spec), readout=dataclasses.replace(spec.readout, adc_bits=0, adc_full_scale=0.0)
    )


def surrogate_1t1r(path: Path, spec_path: str):
    if not path.is_file():
        from cimspice.surrogate.calibrate import calibrate

        print(f"calibrating {spec_path} into {path} ...", flush=True)
        result = calibrate(load_spec(spec_path), samples=2, batch=8, cache_dir=OUT / "cache")
        path.parent.mkdir(parents=True, exist_ok=True)
        result.surrogate.save(path)
    return load_surrogate(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surrogate", default=str(OUT / "surrogate-1t1r.json"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--devices",
        help="comma-separated torch devices (default: cpu, and cuda where it is available)",
    )
    args = parser.parse_args()
    devices = (args.devices or ("cpu,cuda" if torch.cuda.is_available() else "cpu")).split(",")
    for name in devices:
        try:
            torch_device(name)
        except CimspiceError as err:
            parser.error(str(err))
    torch.set_num_threads(args.threads)
    numpy_model, data = builtin_model("mnist-mlp")
    model = from_numpy(numpy_model).eval()
    x = torch.from_numpy(np.concatenate([data.x_train, data.x_test])).float()
    y = torch.from_numpy(np.concatenate([data.y_train, data.y_test]))
    calibration = torch.from_numpy(data.x_train[:1000]).float()
    linear = load_spec("examples/network-128.toml")
    spec_1t1r_path = "examples/network-128-1t1r.toml"
    surrogate = surrogate_1t1r(Path(args.surrogate), spec_1t1r_path)
    spec_1t1r = load_spec(spec_1t1r_path)
    configs = [
        ("linear tiles, spec as given (per tile)", linear, None, "accurate"),
        ("linear tiles, no read noise (per tile)", quiet(linear), None, "accurate"),
        ("linear tiles, exact readout, no read noise (folded)", folded(linear), None, "accurate"),
        ("1T1R tiles, fast mode, spec as given", spec_1t1r, surrogate, "fast"),
        ("1T1R tiles, fast mode, no read noise", quiet(spec_1t1r), surrogate, "fast"),
    ]
    with torch.no_grad():
        ideal_accuracy = float((model(x).argmax(1) == y).float().mean())
    print(f"threads {args.threads}, {len(x)} images, ideal accuracy {ideal_accuracy:.4f}")
    print(
        "| configuration | device | programming, once (s) | torch forward (s) | converted "
        "forward (s) | converted / torch | accuracy converted |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, spec, model_surrogate, mode in configs:
        for device in devices:
            print(
                f"| {name} | {device} | "
                + row(model, spec, model_surrogate, mode, calibration, x, y, device, args.repeats),
                flush=True,
            )


def row(
    model: torch.nn.Module,
    spec: CrossbarSpec,
    surrogate,
    mode: str,
    calibration: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    device: str,
    repeats: int,
) -> str:
    """The rest of a table row: ``model`` converted onto ``spec``'s tiles, on ``device``."""
    converted = convert(model, spec, surrogate, mode=mode, calibration=calibration).to(device)
    plain, x, y = model.to(device), x.to(device), y.to(device)

    def timed(module: torch.nn.Module):
        def run():
            out = module(x)
            if x.device.type == "cuda":
                torch.cuda.synchronize(x.device)
            return out

        return run

    with torch.no_grad():
        start = time.perf_counter()
        logits = timed(converted)()  # programs every tile, then runs
        first = time.perf_counter() - start
        accuracy = float((logits.argmax(1) == y).float().mean())
        plain_s, converted_s, ratio = interleaved(timed(plain), timed(converted), repeats)
    model.to("cpu")
    programming = first - converted_s
    return (
        f"{programming:.1f} | {plain_s:.4f} | {converted_s:.3f} | {ratio:.1f}x | {accuracy:.4f} |"
    )


if __name__ == "__main__":
    main()
