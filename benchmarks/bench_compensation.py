"""Compensation schemes on tiles in ngspice: error before/after, energy, area, latency.

    .venv/bin/python benchmarks/bench_compensation.py [--size 64] [--batch 32] [--plot-dir DIR]

1. The target (>= 100x): IR-drop pre-distortion on a 64x64 passive array, 2 ohm segments,
   targets ~ U(1, 60) uS in a 1-100 uS window; max error against the ideal V @ G on held-out
   inputs ~ U(0, 0.2) V, before and after, measured in ngspice; target reduction >= 100x.
2. The same with no headroom (targets ~ U(1, 100) uS): the error the window leaves, and the
   rescaled solution (alpha, digital gain 1/alpha).
3. Every other scheme (write-verify: the minimal pulse model) on its own tile in ngspice
   (the error each targets; see the table's tile column), with its energy and area overhead.
4. Partitioning: error and ADCs against tile size for the size x size matrix.
5. Measured one way: every scheme (default parameters; partitioning into 8x8 tiles) on the
   same 16x16 tile, targets and held-out inputs, read as the digital side sees it: a passive
   tile with a 6-bit ADC, and a 1T1R tile with TIAs and a 6-bit ADC (the same "before" in
   every row; a scheme that cannot work on a tile says why).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from cimspice.caption import spec_caption
from cimspice.compensation import SCHEME_NAMES, default_targets, evaluate_scheme
from cimspice.compensation import partitioning as pt
from cimspice.compensation.cost import CostModel
from cimspice.compensation.report import CompensationReport
from cimspice.errors import InputError
from cimspice.plots import plot_before_after, plot_tradeoff, save_figure
from cimspice.spec import spec_from_dict


def passive(n: int, **extra: dict) -> object:
    return spec_from_dict(
        {"array": {"rows": n, "cols": n}, "wire": {"r_row": 2.0, "r_col": 2.0}, **extra}
    )


def row(name: str, tile: str, r: CompensationReport) -> str:
    return (
        f"| {name} | {tile} | {r.error_before:.2e} | {r.error_after:.2e} | {r.reduction:.3g}x | "
        f"{r.energy_before.per_mac:.2e} | {r.energy_after.per_mac:.2e} | "
        f"{100 * r.energy_overhead:+.0f}% | {100 * r.area_overhead:.0f}% "
        f"(+{r.extra_adcs} ADCs) | {r.cycles_after} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--plot-dir", type=Path)
    args = parser.parse_args()
    n = args.size
    spec = passive(n)
    g = default_targets(spec, seed=0)  # 1-60 uS in 1-100 uS
    cost = CostModel()  # every report's, and the tradeoff plot's reference MACs
    print(f"[bench] ir-predistort {n}x{n} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    target = evaluate_scheme(
        "ir-predistort", spec, g, engine="ngspice", batch=args.batch, cost=cost
    )
    elapsed = time.perf_counter() - start
    print(f"## IR-drop pre-distortion, {n}x{n}, 2 ohm segments, targets 1-60 uS (ngspice)\n")
    print(f"max error before: {target.error_before:.3e} of full scale")
    print(f"max error after: {target.error_after:.3e} of full scale")
    print(f"reduction: {target.reduction:.0f}x (target >= 100x)")
    for key, value in target.details.items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
    print(f"wall time: {elapsed:.1f} s (pre-distortion + 2 ngspice runs)\n")
    if args.plot_dir is not None:
        figure = plot_before_after(
            target.outputs_before,
            target.outputs_after,
            target.reference,
            title="ir-predistort: error against V @ G, before and after",
            caption=spec_caption(spec, engine=target.engine),
        )
        save_figure(figure, args.plot_dir / f"ir_predistort_{n}.png")

    print(f"[bench] no headroom {n}x{n} ...", file=sys.stderr, flush=True)
    full = np.random.default_rng(1).uniform(1e-6, 100e-6, (n, n))
    tight = evaluate_scheme("ir-predistort", spec, full, engine="ngspice", batch=args.batch)
    print(f"## No headroom: targets 1-100 uS, {n}x{n} (ngspice)\n")
    print(f"max error before: {tight.error_before:.3e}; after (rescaled): {tight.error_after:.3e}")
    for key, value in tight.details.items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
    print()

    header = (
        "| scheme | tile | max err before | after | reduction | J/MAC before | J/MAC after | "
        "energy | area | cycles |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = [row("ir-predistort", f"{n}x{n} passive, 2 ohm", target)]
    reports = {"ir-predistort": target}
    sinh32 = spec_from_dict(
        {
            "array": {"rows": 32, "cols": 32},
            "wire": {"r_row": 0.5, "r_col": 0.5},
            "device": {"iv": "sinh", "v0": 0.2},
        }
    )
    cases = [
        (
            "column-calibration",
            "32x32, TIA gain 200, 5 mV offset, 10-bit ADC",
            spec_from_dict(
                {
                    "array": {"rows": 32, "cols": 32},
                    "wire": {"r_row": 2.0, "r_col": 2.0},
                    "readout": {
                        "kind": "tia",
                        "r_f": 1e3,
                        "gain": 200.0,
                        "v_offset": 5e-3,
                        "adc_bits": 10,
                        "adc_full_scale": 0.5,
                    },
                }
            ),
            {},
            None,
        ),
        (
            "reference-column (dummy)",
            "32x32, 10-100 uS window",
            passive(32, device={"g_min": 10e-6, "g_max": 100e-6}),
            {"mode": "dummy"},
            "full",
        ),
        (
            "reference-column (differential)",
            "32x32, 10-100 uS window",
            passive(32, device={"g_min": 10e-6, "g_max": 100e-6}),
            {"mode": "differential"},
            "full",
        ),
        (
            "partitioning (16x16 tiles)",
            f"{n}x{n} passive",
            spec,
            {"tile_rows": 16, "tile_cols": 16},
            None,
        ),
        (
            "input-scaling (s = 0.25)",
            "32x32 sinh (v0 = 0.2 V), 0.5 ohm",
            sinh32,
            {"mode": "scale", "scale": 0.25},
            "full",
        ),
        (
            "input-scaling (bit-serial, 8 bits)",
            "32x32 sinh (v0 = 0.2 V), 0.5 ohm",
            sinh32,
            {"mode": "bit-serial", "bits": 8},
            "full",
        ),
        (
            "write-verify (tol 0.5% of window)",
            "32x32 passive, 0.5 ohm",
            spec_from_dict(
                {"array": {"rows": 32, "cols": 32}, "wire": {"r_row": 0.5, "r_col": 0.5}}
            ),
            {"tol": 0.005},
            None,
        ),
    ]
    for name, tile, s, params, window in cases:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        rng = np.random.default_rng(2)
        lo, hi = s.device.g_min, s.device.g_max
        gg = rng.uniform(lo, hi, (s.rows, s.cols)) if window == "full" else default_targets(s)
        key = name.split(" (")[0]
        r = evaluate_scheme(key, s, gg, engine="ngspice", batch=args.batch, cost=cost, **params)
        rows.append(row(name, tile, r))
        reports[name] = r
        if key == "write-verify":
            wv_details = r.details
    print("## Every scheme on a tile (ngspice)\n")
    print(header)
    print("\n".join(rows))
    print()
    if args.plot_dir is not None:
        figure = plot_tradeoff(
            list(reports),
            np.array([r.energy_before.per_mac for r in reports.values()]),
            np.array([r.energy_after.per_mac for r in reports.values()]),
            np.array([r.error_before for r in reports.values()]),
            np.array([r.error_after for r in reports.values()]),
            energy_marks={"digital MAC": cost.digital_mac, "SRAM CIM MAC": cost.sram_cim_mac},
            caption="each scheme on its own tile (see the table); engine ngspice",
        )
        save_figure(figure, args.plot_dir / "tradeoff.png")
    print("write-verify, one-off: " + ", ".join(f"{k} {v:.3g}" for k, v in wv_details.items()))
    print()

    print(f"[bench] partitioning sweep {n}x{n} ...", file=sys.stderr, flush=True)
    print(f"## Partitioning a {n}x{n} matrix: error vs tile size (ngspice)\n")
    print("| tile | tiles | max error | ADCs | J/MAC |\n|---|---|---|---|---|")
    sizes = [s for s in (64, 32, 16, 8) if s <= n]
    for size, r in zip(sizes, pt.sweep(spec, g, sizes, batch=args.batch), strict=True):
        print(
            f"| {size}x{size} | {r.details['tiles']} | {r.error_after:.2e} | "
            f"{n + r.extra_adcs} | {r.energy_after.per_mac:.2e} |"
        )

    one_way(args.batch)


def one_way(batch: int) -> None:
    """Section 5: every scheme on the same two ADC tiles (see the module)."""
    tia = {"kind": "tia", "r_f": 2e3, "gain": 1e3, "v_offset": 2e-3}
    tiles = {
        "16x16 passive, 2 ohm, 6-bit ADC (150 uA)": {
            "readout": {"adc_bits": 6, "adc_full_scale": 150e-6}
        },
        "16x16 1T1R, 2 ohm, TIA (2 kohm, gain 1e3, 2 mV), 6-bit ADC (0.3 V)": {
            "array": {"rows": 16, "cols": 16, "cell": "1T1R"},
            "readout": {**tia, "adc_bits": 6, "adc_full_scale": 0.3},
        },
    }
    print("\n## Measured one way: every scheme on the same tile (ngspice)\n")
    for tile, extra in tiles.items():
        s = passive(16, **extra)
        g = default_targets(s, seed=1)
        print(f"**{tile}**, targets 1-60 uS, {batch} held-out inputs:\n")
        print("| scheme | max err before | after | RMS before | after | J/MAC after |")
        print("|---|---|---|---|---|---|")
        for name in SCHEME_NAMES:
            print(f"[bench] {name} on {tile} ...", file=sys.stderr, flush=True)
            try:
                params = {"tile_rows": 8, "tile_cols": 8} if name == "partitioning" else {}
                r = evaluate_scheme(name, s, g, engine="ngspice", batch=batch, seed=0, **params)
            except InputError as err:
                print(f"| {name} | refused: {err} | | | | |")
                continue
            print(
                f"| {name} | {r.error_before:.3e} | {r.error_after:.3e} | {r.nrmse_before:.3e} "
                f"| {r.nrmse_after:.3e} | {r.energy_after.per_mac:.2e} |"
            )
        print()


if __name__ == "__main__":
    main()
