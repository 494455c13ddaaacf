"""1T1R tiles (BSIM4 access transistors): the SPICE path and the fitted surrogate.

    .venv/bin/python benchmarks/bench_1t1r.py [--sizes 64 128 256] [--repeats 3]
        [--calibrate 64 128]

For each size: `cimspice simulate --engine ngspice` (one vector) against `ngspice -b` on the
same deck, interleaved, with ngspice's peak memory; for the sizes in --calibrate: a surrogate
calibration (8 training + 3 held-out runs of 8 vectors) with the held-out error of both
surrogate modes, and the fast mode's MVM throughput against `V @ G` on a batch of 1000 once the
matrix is prepared (interleaved pairs, median of 100).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from _common import interleaved, spec_text, wall

from cimspice.netlist import build_deck
from cimspice.simulation import get_engine
from cimspice.spec import load_spec
from cimspice.surrogate.calibrate import calibrate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calibrate", type=int, nargs="*", default=[64, 128])
    args = parser.parse_args()
    spice_rows, surrogate_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in args.sizes:
            print(f"[bench] {n}x{n} 1T1R ...", file=sys.stderr, flush=True)
            spec_path = work / f"spec{n}.toml"
            spec_path.write_text(spec_text(n, "1T1R"))
            spec = load_spec(spec_path)
            rng = np.random.default_rng(n)
            g = rng.uniform(1e-6, 1e-4, (n, n))
            v = rng.uniform(0.0, 0.2, (1, n))
            np.save(work / "g.npy", g)
            np.save(work / "v.npy", v)
            deck = work / f"deck{n}.cir"
            deck.write_text(build_deck(spec, g, v).text)
            cli = [
                str(Path(sys.executable).parent / "cimspice"),
                "simulate",
                str(spec_path),
                "--conductances",
                str(work / "g.npy"),
                "--inputs",
                str(work / "v.npy"),
                "--engine",
                "ngspice",
                "-o",
                str(work / "o.npz"),
            ]
            ng = [shutil.which("ngspice") or "ngspice", "-b", str(deck)]
            pairs = [(wall(cli), wall(ng)) for _ in range(args.repeats)]
            info = get_engine("ngspice").run(spec, g, v).info
            spice_rows.append(
                (
                    n,
                    statistics.median(a for a, _ in pairs),
                    statistics.median(b for _, b in pairs),
                    statistics.median(a / b for a, b in pairs),
                    info.get("ngspice_program_mb", float("nan")),
                )
            )
            if n in args.calibrate:
                start = time.perf_counter()
                cal = calibrate(spec, samples=4, batch=8, seed=0, cache_dir=work / f"c{n}")
                t_cal = time.perf_counter() - start
                fast = cal.surrogate.prepare(g, "fast")
                vb = rng.uniform(0.0, 0.2, (1000, n))
                _, _, fast_ratio = interleaved(
                    partial(fast.currents, vb), partial(np.matmul, vb, g), 100
                )
                m = cal.metrics
                surrogate_rows.append(
                    (
                        n,
                        t_cal,
                        m["surrogate"]["nrmse"],
                        m["surrogate"]["max_error"],
                        m["surrogate-fast"]["nrmse"],
                        m["surrogate-fast"]["max_error"],
                        m["ideal"]["nrmse"],
                        fast_ratio,
                        fast.prepare_s,
                    )
                )
    print(
        f"\n1T1R tiles, nmos65 W/L = 500/65 nm at v_gate = 1.2 V, 2 ohm segments; median of "
        f"{args.repeats} interleaved pairs.\n"
    )
    print("| N | `simulate` ngspice (s) | `ngspice -b` (s) | ratio | ngspice peak MB |")
    print("|---|---|---|---|---|")
    for r in spice_rows:
        print(f"| {r[0]} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.2f}x | {r[4]:.0f} |")
    if surrogate_rows:
        print(
            "\n| N | calibration (s) | accurate NRMSE | accurate max err | fast NRMSE | fast "
            "max err | ideal NRMSE | fast throughput vs V @ G (batch 1000) | fast prepare (s) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for r in surrogate_rows:
            print(
                f"| {r[0]} | {r[1]:.1f} | {r[2]:.1e} | {r[3]:.1e} | {r[4]:.1e} | {r[5]:.1e} | "
                f"{r[6]:.1e} | {r[7]:.2f}x | {r[8]:.2f} |"
            )


if __name__ == "__main__":
    main()
