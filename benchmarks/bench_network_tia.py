"""Network evaluation on 1T1R tiles read by CMOS TIAs: the surrogate's modes vs the ideal pass.

    .venv/bin/python benchmarks/bench_network_tia.py [--spec examples/network-128-1t1r-cmos.toml]
        [--out out/bench-tia] [--surrogate FILE] [--samples 2] [--model mnist-mlp]
        [--repeats 5] [--accurate-images 20]

The whole 5,000-image MNIST subset (train + test) through the 784-256-10 MLP, every MVM on
128x128 1T1R tiles (BSIM4 access transistors) whose bit lines end in transistor-level TIAs
with 8-bit ADCs, through the calibrated surrogate's fast mode, against the exact numpy
forward pass of the same model, interleaved (median of the per-pair ratios; each timed pass
after an untimed one of its kind, see ``_common.exact_then_hardware``): the spec as given
(read noise on) and without read noise (the same programmed tiles). The accurate mode (Newton
on the fitted network, the TIAs' loops around it) is timed on the first ``--accurate-images``
images, its ratio per image against the ideal pass's over all of them, and its outputs
compared with the fast mode's there. Programming (mapping, device models, each tile's
preparation) is a one-time cost, timed apart.

Without ``--surrogate`` the surrogate is ``OUT/surrogate.json``, calibrated first if missing
(``cimspice calibrate SPEC --samples N --batch 8``, its SPICE runs cached in ``OUT/cache``,
its report in ``OUT/report``; the time it took is printed).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _common import exact_then_hardware

from cimspice.errors import RangeWarning
from cimspice.mapping.matmul import HardwareMatMul
from cimspice.nn.model import measure_input_ranges
from cimspice.spec import CrossbarSpec, load_spec
from cimspice.studies.evaluate import resolve_model, samples_of
from cimspice.surrogate.model import TileSurrogate, load_surrogate


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def quiet(spec: CrossbarSpec) -> CrossbarSpec:
    """The same tiles without read noise."""
    return dataclasses.replace(spec, nonideal=dataclasses.replace(spec.nonideal, read_noise=0.0))


def surrogate_for(args: argparse.Namespace) -> TileSurrogate:
    """The calibrated surrogate (calibrated now if there is none; its time printed)."""
    path = Path(args.surrogate or Path(args.out) / "surrogate.json")
    if not path.exists():
        from cimspice.surrogate.calibrate import calibrate, write_report

        log(f"calibrating {args.spec} ({args.samples} random matrices) into {path} ...")
        start = time.perf_counter()
        result = calibrate(
            load_spec(args.spec),
            samples=args.samples,
            batch=8,
            cache_dir=Path(args.out) / "cache",
        )
        result.surrogate.save(path)
        write_report(result, Path(args.out) / "report")
        print(f"calibration: {time.perf_counter() - start:.0f} s ({path})")
    return load_surrogate(path)


def print_rows(args: argparse.Namespace, spec: CrossbarSpec, rows: list[tuple]) -> None:
    """The table of the runs measured."""
    print(
        f"\n{args.model}, spec {args.spec} ({spec.rows}x{spec.cols} {spec.array.cell.value}, "
        f"{spec.readout.opamp.value} TIA, {spec.readout.adc_bits}-bit ADC), surrogate "
        f"{args.surrogate or Path(args.out) / 'surrogate.json'}; fast mode: medians of "
        f"{args.repeats} interleaved pairs over the images; accurate mode: one run.\n"
    )
    print(
        "| mode, configuration | tiles | programming, once (s) | images | ideal forward (s) | "
        "hardware forward (s) | hardware / ideal | accuracy ideal | accuracy hardware |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        once = "(same tiles)" if np.isnan(r[2]) else f"{r[2]:.1f}"
        print(
            f"| {r[0]} | {r[1]} | {once} | {r[3]} | {r[4]:.3f} | {r[5]:.3f} | {r[6]:.1f}x | "
            f"{r[7]:.4f} | {r[8]:.4f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="examples/network-128-1t1r-cmos.toml")
    parser.add_argument("--out", default="out/bench-tia")
    parser.add_argument("--surrogate", help="calibrated surrogate (default: OUT/surrogate.json)")
    parser.add_argument("--samples", type=int, default=2, help="calibration's random matrices")
    parser.add_argument("--model", default="mnist-mlp")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--accurate-images", type=int, default=20)
    args = parser.parse_args()
    spec = load_spec(args.spec)
    surrogate = surrogate_for(args)
    metrics = surrogate.metadata.get("validation", {}).get("metrics", {})
    model, data = resolve_model(args.model)
    x, y = samples_of(data, "all")
    ranges = measure_input_ranges(model, data.x_train[:1000])
    warnings.simplefilter("ignore", RangeWarning)  # drift takes cells below g_min: says so once

    rows = []
    programmed = None
    for label, config in (("spec as given (read noise)", spec), ("no read noise", quiet(spec))):
        hw = HardwareMatMul(
            config, surrogate=surrogate, mode="fast", input_ranges=ranges, fold=False
        )
        start = time.perf_counter()
        if programmed is not None:  # the same devices and tiles: reuse them
            hw.layers = programmed
            programming = float("nan")
        else:
            log(f"fast mode, {label}: programming ...")
            for index in model.weighted_layers():
                hw.program(index, model.matrix(index))
            programming = time.perf_counter() - start
            programmed = hw.layers
        tiles = sum(len(layer.tiling.tiles) for layer in hw.layers.values())
        log(f"fast mode, {label}: {args.repeats} interleaved pairs ...")
        pairs, ideal, hardware = exact_then_hardware(
            lambda: model.predict(x),
            functools.partial(model.predict, x, hw),
            args.repeats,
        )
        rows.append(
            (
                f"fast, {label}",
                tiles,
                programming,
                len(x),
                statistics.median(a for a, _ in pairs),
                statistics.median(b for _, b in pairs),
                statistics.median(b / a for a, b in pairs),
                float(np.mean(ideal == y)),
                float(np.mean(hardware == y)),
            )
        )
    fast = hw  # no read noise: comparable with the accurate mode below

    n = args.accurate_images
    if n <= 0:  # the fast mode alone
        print_rows(args, spec, rows)
        return
    log(f"accurate mode, no read noise: programming, then {n} images ...")
    accurate = HardwareMatMul(
        quiet(spec), surrogate=surrogate, mode="accurate", input_ranges=ranges, fold=False
    )
    start = time.perf_counter()
    for index in model.weighted_layers():
        accurate.program(index, model.matrix(index))
    programming = time.perf_counter() - start
    t0 = time.perf_counter()
    ideal_logits = model.forward(x[:n])
    t1 = time.perf_counter()
    accurate_logits = model.forward(x[:n], accurate)
    t2 = time.perf_counter()
    fast_logits = model.forward(x[:n], fast)
    # per image against the ideal pass over all the images (a few images' ideal pass is
    # mostly call overhead)
    ideal_per_image = rows[-1][4] / len(x)
    rows.append(
        (
            "accurate, no read noise",
            tiles,
            programming,
            n,
            t1 - t0,
            t2 - t1,
            (t2 - t1) / n / ideal_per_image,
            float(np.mean(ideal_logits.argmax(1) == y[:n])),
            float(np.mean(accurate_logits.argmax(1) == y[:n])),
        )
    )

    print_rows(args, spec, rows)
    per_image = rows[-1][5] / n
    print(
        f"\naccurate mode: {per_image:.2f} s per image, {per_image * len(x) / 3600:.1f} h for "
        f"{len(x)} images at that rate"
    )
    scale = float(np.max(np.abs(accurate_logits)))
    gap = float(np.max(np.abs(fast_logits - accurate_logits))) / scale
    agree = float(np.mean(fast_logits.argmax(1) == accurate_logits.argmax(1)))
    print(
        f"fast vs accurate on those {n} images: logits within {gap:.2e} of their largest, "
        f"the same class for {agree:.0%}"
    )
    for name in ("surrogate-fast v_out", "surrogate v_out"):
        if name in metrics:
            m = metrics[name]
            print(
                f"held out vs ngspice (calibration report), {name}: NRMSE {m['nrmse']:.2e}, "
                f"max {m['max_error']:.2e}"
            )


if __name__ == "__main__":
    main()
