"""Accuracy against time since programming: the built-in models under each device preset,
with and without each drift compensation.

    .venv/bin/python benchmarks/bench_drift.py [--models digits-mlp,mnist-mlp] [--seeds 5] \
        [--presets pcm-nandakumar2019,...] [--out out/drift]

Tiles: 64 x 64, ideal wires (``engine="ideal"``: ``V @ G`` per tile; the device layer is the
subject), differential mapping, no ADC. Presets: ``pcm-nandakumar2019`` (window 0-25 uS, read
1 s, 1 h, 1 day, 1 year after programming), the same with die-to-die and tile-to-tile
spread of 0.3 (log-normal sigma on its noise and drift scales: user parameters, not
sourced), ``reram-wan2022`` (0-40 uS; 1 s, 1 h, 1 day, 2
days: its data stop at 2 days), ``memristor-rao2023`` (2,048 even levels over 1-100 uS, a
window of this script's choosing: the source's is not available; no drift or noise is
sourced, so the preset is the levels alone), ``generic`` (drift nu = 0.05 +- 0.01,
programming noise 2 % + 0.2 uS, 1-100 uS). Compensations: none, global, per column,
reference column. Accuracy is the mean (+- std) over device seeds on the dataset's held-out
split. Prints one markdown table
per model and writes ``accuracy_<model>_<preset>.png`` into ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from cimspice.nn.zoo import builtin_model
from cimspice.plots.devices import plot_accuracy_vs_time
from cimspice.plots.figure import save_figure
from cimspice.spec import spec_from_dict
from cimspice.studies.evaluate import evaluate

YEAR = 3.15e7
PRESETS = {
    "pcm-nandakumar2019": (
        {"model": "pcm-nandakumar2019"},
        (0.0, 25e-6),
        (1.0, 3600.0, 86400.0, YEAR),
    ),
    "pcm-nandakumar2019-spread": (
        {"model": "pcm-nandakumar2019", "model_params": {"die_spread": 0.3, "tile_spread": 0.3}},
        (0.0, 25e-6),
        (1.0, 3600.0, 86400.0, YEAR),
    ),
    "reram-wan2022": ({"model": "reram-wan2022"}, (0.0, 40e-6), (1.0, 3600.0, 86400.0, 172800.0)),
    "memristor-rao2023": (
        {"model": "memristor-rao2023"},
        (1e-6, 100e-6),
        (1.0, 3600.0, 86400.0, YEAR),
    ),
    "generic": (
        {"drift_nu": 0.05, "drift_nu_std": 0.01, "prog_noise_rel": 0.02, "prog_noise_abs": 0.2e-6},
        (1e-6, 100e-6),
        (1.0, 3600.0, 86400.0, YEAR),
    ),
}
COMPENSATIONS = {
    "none": None,
    "global": "global",
    "per column": "column",
    "reference column": "reference",
}


def spec_for(nonideal: dict, window: tuple[float, float], t: float, comp: str | None, seed: int):
    ni = {**nonideal, "seed": seed, "drift_time": t}
    if nonideal.get("model") is None:  # the generic model reads from t0 = 1 s
        ni["drift_time"] = max(t, 1.0)
    if comp is not None:
        ni.update(drift_compensation=True, drift_compensation_kind=comp)
    return spec_from_dict(
        {
            "array": {"rows": 64, "cols": 64},
            "device": {"g_min": window[0], "g_max": window[1]},
            "nonideal": ni,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="digits-mlp")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma-separated")
    parser.add_argument("--out", default="out/drift")
    args = parser.parse_args()
    out = Path(args.out)
    for name in args.models.split(","):
        model, data = builtin_model(name)
        x, y = data.x_test, data.y_test
        what = f"mean +- std over {args.seeds} device seeds, {len(y)} samples"
        print(f"\n### {name}: accuracy ({what})\n")
        for preset in args.presets.split(","):
            nonideal, window, times = PRESETS[preset]
            print(f"{preset}\n")
            print("| compensation | " + " | ".join(_when(t) for t in times) + " |")
            print("|---|" + "---|" * len(times))
            curves = {}
            for label, comp in COMPENSATIONS.items():
                acc = np.array(
                    [
                        [
                            evaluate(
                                model, x, y, spec_for(nonideal, window, t, comp, s), engine="ideal"
                            )[0].accuracy_hardware
                            for s in range(args.seeds)
                        ]
                        for t in times
                    ]
                )
                mean, std = acc.mean(axis=1), acc.std(axis=1, ddof=1)
                curves[label] = (mean, std)
                cells = " | ".join(f"{m:.4f} +- {d:.4f}" for m, d in zip(mean, std, strict=True))
                print(f"| {label} | {cells} |")
            print()
            fig = plot_accuracy_vs_time(
                np.array(times),
                curves,
                title=f"{name} on {preset}",
                caption=f"64x64 ideal-wire tiles, {args.seeds} device seeds (bench_drift.py)",
            )
            save_figure(fig, out / f"accuracy_{name}_{preset}.png")


def _accuracy(model, x, y, spec) -> float:
    return evaluate(model, x, y, spec, engine="ideal")[0].accuracy_hardware


def _when(t: float) -> str:
    for unit, size in (("y", YEAR), ("d", 86400.0), ("h", 3600.0)):
        if t >= size:
            return f"{t / size:g} {unit}"
    return f"{t:g} s"


if __name__ == "__main__":
    main()
