"""cimspice and IBM aihwkit side by side: the same trained model, the same PCM model
(``pcm-nandakumar2019`` / aihwkit's ``PCMLikeNoiseModel``), read 1 s, 1 hour, 1 day and 1
year after programming, over device seeds.

    .venv/bin/python benchmarks/bench_aihwkit.py [--aihwkit-python .venv-aihwkit/bin/python] \
        [--model digits-mlp] [--seeds 10]

aihwkit runs in its own environment (``bash scripts/setup.sh --aihwkit`` makes
``.venv-aihwkit``: aihwkit 1.1.0, whose wheels load with torch 2.13's CPU build here; its C++
``InferenceTile`` refuses that torch's tensors, so the pure-torch
``TorchInferenceRPUConfig`` tile is used), through ``benchmarks/aihwkit_side.py``. Both sides:
one tile per layer (cimspice: 128 x 256 tiles, ideal wires, differential pairs with
``g_min = 0``, ``g_max = 25 uS``, no DAC or ADC; aihwkit: a perfect forward pass and its
single-pair converter, the same mapping), biases digital, no read noise per MVM. Without
drift compensation and with the global one (cimspice ``drift_compensation_kind = "global"``,
aihwkit ``GlobalDriftCompensation``). Then the same model on passive tiles with 2 ohm wire
segments (IR drop, solved exactly: the nominal surrogate is the nodal network) and 8-bit ADCs
(40 uA full scale: the lowest layer error of 40, 80 and 160 uA at 1 s), which aihwkit cannot
simulate. With ``--surrogate-1t1r FILE`` (a surrogate calibrated for a 1T1R tile with an ADC,
e.g. ``bench_tile_kinds.py``'s ``1T1R.json``: 32 x 32, 1-25 uS, 8-bit DAC and ADC), the same
model on those tiles too, in the surrogate's fast mode (8 s per evaluation here; its accurate
mode took 512 s on the loaded machine). Prints a markdown table: mean accuracy +- its
standard error over the seeds, and the difference cimspice - aihwkit in units of the combined
standard error.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from cimspice.errors import RangeWarning
from cimspice.nn.zoo import builtin_model
from cimspice.spec import NonidealSpec, spec_from_dict
from cimspice.studies.evaluate import evaluate
from cimspice.surrogate.model import load_surrogate

TIMES = {"1 s": 1.0, "1 h": 3600.0, "1 day": 86400.0, "1 year": 3.15e7}
HERE = Path(__file__).resolve().parent


def cimspice_spec(t: float, seed: int, compensate: bool, tile: str = "ideal"):
    nonideal = {"model": "pcm-nandakumar2019", "drift_time": t, "seed": seed}
    if compensate:
        nonideal.update(drift_compensation=True, drift_compensation_kind="global")
    data = {
        "array": {"rows": 128, "cols": 256},
        "device": {"g_min": 0.0, "g_max": 25e-6},
        "nonideal": nonideal,
    }
    if tile == "wires-adc":
        data["wire"] = {"r_row": 2.0, "r_col": 2.0}
        data["readout"] = {"adc_bits": 8, "adc_full_scale": 4e-5}
    return spec_from_dict(data)


def surrogate_spec(surrogate, t: float, seed: int, compensate: bool):
    """The calibrated 1T1R surrogate's tile with this comparison's devices (every other
    ``[nonideal]`` key back at its default)."""
    nonideal = {f"nonideal.{k}": v for k, v in NonidealSpec().to_dict().items()}
    nonideal.update(
        {
            "nonideal.model": "pcm-nandakumar2019",
            "nonideal.drift_time": t,
            "nonideal.seed": seed,
            "nonideal.drift_compensation": compensate,
        }
    )
    return surrogate.spec.replace(nonideal)


def surrogate_accuracies(surrogate, model, data, seeds: int, compensate: bool) -> np.ndarray:
    with warnings.catch_warnings():  # PCM's clip at 0 S sits below the calibrated 1 uS
        warnings.simplefilter("ignore", RangeWarning)
        return np.array(
            [
                [
                    evaluate(
                        model,
                        data.x_test,
                        data.y_test,
                        surrogate_spec(surrogate, t, s, compensate),
                        engine="surrogate",
                        surrogate=surrogate,
                        mode="fast",
                    )[0].accuracy_hardware
                    for s in range(seeds)
                ]
                for t in TIMES.values()
            ]
        )


def aihwkit_accuracies(python: str, model, data, seeds: int, compensate: bool) -> np.ndarray:
    dense = [layer for layer in model.layers if hasattr(layer, "weight")]
    arrays = {}
    for k, layer in enumerate(dense):
        arrays[f"w{k}"], arrays[f"b{k}"] = layer.weight, layer.bias
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.json"
        np.savez(
            src,
            **arrays,
            x=data.x_test,
            y=data.y_test,
            times=np.array(list(TIMES.values())),
            seeds=np.arange(seeds),
            g_max=25.0,
            compensate=int(compensate),
        )
        subprocess.run([python, str(HERE / "aihwkit_side.py"), str(src), str(dst)], check=True)
        return np.array(json.loads(dst.read_text())["acc"])


def cimspice_accuracies(model, data, seeds: int, compensate: bool, tile: str = "ideal"):
    engine = "ideal" if tile == "ideal" else "surrogate"  # nominal: the exact nodal network
    return np.array(
        [
            [
                evaluate(
                    model,
                    data.x_test,
                    data.y_test,
                    cimspice_spec(t, s, compensate, tile),
                    engine=engine,
                )[0].accuracy_hardware
                for s in range(seeds)
            ]
            for t in TIMES.values()
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aihwkit-python", default=str(HERE.parent / ".venv-aihwkit/bin/python"))
    parser.add_argument("--model", default="digits-mlp")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--no-wires", action="store_true", help="skip the wires + ADC rows")
    parser.add_argument(
        "--surrogate-1t1r", metavar="FILE", help="a calibrated 1T1R surrogate: add its rows"
    )
    args = parser.parse_args()
    model, data = builtin_model(args.model)
    n = args.seeds
    print(f"\n{args.model}, {len(data.y_test)} held-out samples, {n} device seeds per point\n")
    print("| compensation | tiles | " + " | ".join(TIMES) + " |")
    print("|---|---|" + "---|" * len(TIMES))
    for compensate in (False, True):
        label = "global" if compensate else "none"
        ours = cimspice_accuracies(model, data, n, compensate)
        theirs = aihwkit_accuracies(args.aihwkit_python, model, data, n, compensate)
        rows = {"cimspice (ideal wires)": ours, "aihwkit 1.1.0": theirs}
        if not args.no_wires:
            rows["cimspice 2-ohm wires + 8-bit ADC"] = cimspice_accuracies(
                model, data, n, compensate, "wires-adc"
            )
        if args.surrogate_1t1r:
            surrogate = load_surrogate(args.surrogate_1t1r)
            rows["cimspice 1T1R + ADC (surrogate, fast)"] = surrogate_accuracies(
                surrogate, model, data, n, compensate
            )
        for name, acc in rows.items():
            cells = " | ".join(
                f"{m:.4f} +- {e:.4f}"
                for m, e in zip(
                    acc.mean(axis=1), acc.std(axis=1, ddof=1) / math.sqrt(n), strict=True
                )
            )
            print(f"| {label} | {name} | {cells} |")
        se = np.hypot(ours.std(axis=1, ddof=1), theirs.std(axis=1, ddof=1)) / math.sqrt(n)
        z = (ours.mean(axis=1) - theirs.mean(axis=1)) / np.maximum(se, 1e-12)
        print(
            f"| {label} | difference / combined SE | " + " | ".join(f"{v:+.2f}" for v in z) + " |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
