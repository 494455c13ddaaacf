"""Accuracy of the built-in models on every tile kind, with the same devices and converters.

    .venv/bin/python benchmarks/bench_tile_kinds.py [--size 32] [--images 1000]
        [--models digits-mlp,mnist-mlp,mnist-cnn] [--out out/bench-tile-kinds]
        [--calibration-samples 2]

One table: each built-in model (trained on first use, cached) evaluated on the held-out
split, every MVM on ``SIZE x SIZE`` tiles of four kinds that share preset network-128's
wires (2 ohm per segment), devices (64 levels over 1-25 uS, programming noise with
write-verify, 1% read noise, a day of drift with global compensation, 0.1% stuck cells),
DAC (8 bits), mapping (differential pairs) and 8-bit ADC:

- ``passive``: linear memristors, the ADC reads the bit-line currents (the nominal
  surrogate: exact for a linear passive tile);
- ``1T1R``: the 65 nm BSIM4 access transistor in series with each memristor;
- ``sinh``: passive cells with the sinh read law ``I = G v0 sinh(V / v0)``, v0 = 0.2 V;
- ``1T1R + CMOS TIA``: preset 1t1r-cmos-tia-adc's tile (transistor-level TIAs, the ADC
  reads their output voltage).

Each nonlinear kind runs on a surrogate calibrated against ngspice at that size (cached in
``OUT/<kind>.json``, its report beside it; the held-out NRMSE of the calibration report is
printed per kind), in the surrogate's fast mode for the 1T1R kinds and the accurate mode for
sinh. Beside each, the ``ideal`` tile: ``V @ G`` of the same programmed (noisy, drifted)
conductances with the same converters, which isolates what the circuit (IR drop,
transistors, TIAs) costs from what the devices cost. ``float`` is the exact network.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from cimspice.errors import RangeWarning
from cimspice.spec import CrossbarSpec, load_spec
from cimspice.studies.evaluate import evaluate, resolve_model
from cimspice.surrogate.calibrate import calibrate, write_report
from cimspice.surrogate.model import TileSurrogate, load_surrogate

#: tile kind -> (spec changes on top of the preset, preset, surrogate mode)
KINDS: dict[str, tuple[dict[str, object], str, str]] = {
    "passive": ({}, "network-128", "accurate"),
    "1T1R": ({"array.cell": "1T1R"}, "network-128", "fast"),
    "sinh": ({"device.iv": "sinh", "device.v0": 0.2}, "network-128", "accurate"),
    "1T1R + CMOS TIA": ({}, "1t1r-cmos-tia-adc", "fast"),
}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def tile(kind: str, size: int) -> CrossbarSpec:
    """The tile of ``kind`` at ``size x size``."""
    changes, preset, _ = KINDS[kind]
    return load_spec(f"preset:{preset}").replace({"array.size": size, **changes})


def surrogate_for(kind: str, spec: CrossbarSpec, out: Path, samples: int) -> TileSurrogate | None:
    """The calibrated surrogate of a nonlinear kind (calibrated now if missing), else None."""
    if kind == "passive":
        return None
    path = out / f"{kind.replace(' ', '').replace('+', '-')}.json"
    if not path.exists():
        log(f"calibrating {kind} at {spec.rows}x{spec.cols} ({samples} random matrices) ...")
        start = time.perf_counter()
        result = calibrate(spec, samples=samples, batch=8, cache_dir=out / "cache")
        result.surrogate.save(path)
        write_report(result, path.with_suffix(""))
        log(f"calibrated {kind} in {time.perf_counter() - start:.0f} s: {path}")
    return load_surrogate(path)


def held_out(kind: str, surrogate: TileSurrogate | None) -> str:
    """The calibration report's held-out NRMSE (fraction of full scale) of the mode the
    table uses, on what the ADC reads (TIA outputs behind TIAs), or 'exact'."""
    if surrogate is None:
        return "exact"
    spec, mode = surrogate.spec, KINDS[kind][2]
    key = ("surrogate-fast" if mode == "fast" else "surrogate") + (" v_out" if spec.has_tia else "")
    value = surrogate.metadata.get("validation", {}).get("metrics", {}).get(key, {}).get("nrmse")
    return f"{value:.1e}" if isinstance(value, float) else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="tile rows = cols")
    parser.add_argument("--images", type=int, default=1000, help="held-out samples per model")
    parser.add_argument("--models", default="digits-mlp,mnist-mlp,mnist-cnn")
    parser.add_argument("--out", default="out/bench-tile-kinds")
    parser.add_argument("--calibration-samples", type=int, default=2)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore", RangeWarning)  # drift takes cells below g_min: says so once

    tiles = {kind: tile(kind, args.size) for kind in KINDS}
    surrogates = {
        kind: surrogate_for(kind, spec, out, args.calibration_samples)
        for kind, spec in tiles.items()
    }
    header = ["model", "float"] + [f"{kind} / ideal tile" for kind in KINDS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in args.models.split(","):
        model, data = resolve_model(name)
        x, y = data.x_test[: args.images], data.y_test[: args.images]
        cells, exact = [], None
        for kind, spec in tiles.items():
            mode = KINDS[kind][2]
            log(f"{name} on {kind} tiles ({len(x)} images, {mode} mode) ...")
            start = time.perf_counter()
            on_tiles, _ = evaluate(
                model,
                x,
                y,
                spec,
                engine="surrogate",
                surrogate=surrogates[kind],
                mode=mode,
                calibration=data.x_train[:500],
            )
            ideal, _ = evaluate(model, x, y, spec, engine="ideal", calibration=data.x_train[:500])
            exact = on_tiles.accuracy_ideal
            cells.append(f"{on_tiles.accuracy_hardware:.3f} / {ideal.accuracy_hardware:.3f}")
            log(f"  {cells[-1]} in {time.perf_counter() - start:.0f} s")
        lines.append(f"| {name} ({len(x)} images) | {exact:.3f} | " + " | ".join(cells) + " |")
    lines.append(
        "| surrogate held-out NRMSE | | "
        + " | ".join(held_out(kind, surrogates[kind]) for kind in KINDS)
        + " |"
    )
    table = "\n".join(lines)
    (out / "table.md").write_text(table + "\n")
    print(
        f"tiles {args.size}x{args.size}; accuracy on tiles / on ideal tiles (V @ G, same "
        "devices and converters)"
    )
    print(table)


if __name__ == "__main__":
    main()
