"""Network evaluation benchmark: the hardware forward pass vs the ideal numpy forward pass.

    .venv/bin/python benchmarks/bench_network.py [--spec examples/network-128.toml]
        [--surrogate FILE] [--model mnist-mlp] [--repeats 5]

The whole 5,000-image MNIST subset (train + test) through the 784-256-10 MLP, every MVM on
128x128 tiles through the surrogate (one matmul per tile and input phase once the tile is
prepared), against the exact numpy forward pass of the same model, interleaved (median of the
per-pair ratios). Programming (mapping, device models, each tile's transfer matrix) is a
one-time cost, timed separately. Each timed pass follows an untimed one of its own kind
(``_common.exact_then_hardware``: steady state, as ``cimspice evaluate`` runs its hardware
batches one after the other and then the exact pass).

Three configurations of the same tiles: the spec as given (per-column ADC and read noise: every
tile run on its own), the same without read noise, and the fast path (exact readout, no read
noise: tiles folded into one matrix per layer).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import statistics
import sys
import time

import numpy as np
from _common import exact_then_hardware

from cimspice.mapping.matmul import HardwareMatMul
from cimspice.nn.model import measure_input_ranges
from cimspice.spec import CrossbarSpec, load_spec
from cimspice.studies.evaluate import resolve_model, samples_of


def quiet(spec: CrossbarSpec) -> CrossbarSpec:
    """The same tiles without read noise."""
    return dataclasses.replace(spec, nonideal=dataclasses.replace(spec.nonideal, read_noise=0.0))


def fast_path(spec: CrossbarSpec) -> CrossbarSpec:
    """The same tiles with an exact readout and no read noise."""
    return dataclasses.replace(
        quiet(spec), readout=dataclasses.replace(spec.readout, adc_bits=0, adc_full_scale=0.0)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="examples/network-128.toml")
    parser.add_argument("--surrogate", help="calibrated surrogate (default: nominal)")
    parser.add_argument("--model", default="mnist-mlp")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    spec = load_spec(args.spec)
    surrogate = None
    if args.surrogate:
        from cimspice.surrogate.model import load_surrogate

        surrogate = load_surrogate(args.surrogate)
    model, data = resolve_model(args.model)
    x, y = samples_of(data, "all")
    ranges = measure_input_ranges(model, data.x_train[:1000])
    rows = []
    configs = (
        ("spec as given (per tile)", spec),
        ("no read noise (per tile)", quiet(spec)),
        ("fast path (folded)", fast_path(spec)),
    )
    programmed = None
    for label, config in configs:
        print(f"[bench] {label}: programming ...", file=sys.stderr, flush=True)
        hw = HardwareMatMul(config, engine="surrogate", surrogate=surrogate, input_ranges=ranges)
        start = time.perf_counter()
        if programmed is not None and not hw.fold:  # the same devices and tiles: reuse them
            hw.layers = programmed
            programming = float("nan")
        else:
            for index in model.weighted_layers():
                hw.program(index, model.matrix(index))
            programming = time.perf_counter() - start
        programmed = programmed or hw.layers
        tiles = sum(len(layer.tiling.tiles) for layer in hw.layers.values())
        pairs, ideal, hardware = exact_then_hardware(
            lambda: model.predict(x),
            functools.partial(model.predict, x, hw),
            args.repeats,
        )
        assert len(hw.layers) == len(model.weighted_layers())  # nothing re-programmed
        rows.append(
            (
                label,
                tiles,
                programming,
                statistics.median(a for a, _ in pairs),
                statistics.median(b for _, b in pairs),
                statistics.median(b / a for a, b in pairs),
                float(np.mean(ideal == y)),
                float(np.mean(hardware == y)),
            )
        )
    source = args.surrogate or "nominal surrogate"
    print(
        f"\n{args.model}, {len(x)} images (train + test), spec {args.spec} "
        f"({spec.rows}x{spec.cols} tiles), {source}; medians of {args.repeats} interleaved pairs, "
        "each timed pass after an untimed one of its kind.\n"
    )
    print(
        "| configuration | tiles | programming, once (s) | ideal forward (s) | hardware forward "
        "(s) | hardware / ideal | accuracy ideal | accuracy hardware |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        once = "(same tiles)" if np.isnan(r[2]) else f"{r[2]:.1f}"
        print(
            f"| {r[0]} | {r[1]} | {once} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.1f}x | "
            f"{r[6]:.4f} | {r[7]:.4f} |"
        )


if __name__ == "__main__":
    main()
