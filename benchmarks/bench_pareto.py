"""Network-level compensation benchmark: accuracy vs energy per MAC of every scheme.

    .venv/bin/python benchmarks/bench_pareto.py [--spec examples/network-128.toml]
        [--model mnist-mlp] [--samples N] [--seeds 2] [--out out/pareto]

Runs :func:`cimspice.studies.pareto_report.run_pareto` (the work of ``cimspice pareto
SPEC``): the model on the spec's tiles (nominal surrogate) without and with
each scheme, some combinations, mixed precision and hardware-aware training, every case over
``--seeds`` device seeds on the same held-out samples. Prints the markdown table (accuracy and
energy per MAC, side by side with the baseline's as differences and ratios), the best
accuracy-per-energy case and the mixed-precision assignment; writes pareto.png, pareto.md and
pareto.json under ``--out``, and the wall time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cimspice.studies.pareto_report import ParetoRequest, run_pareto


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="examples/network-128.toml")
    parser.add_argument("--model", default="mnist-mlp")
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--hardware-aware", type=float, default=0.05)
    parser.add_argument("--out", default="out/pareto")
    args = parser.parse_args()
    start = time.perf_counter()
    run_pareto(
        ParetoRequest(
            spec=Path(args.spec),
            out=Path(args.out),
            model=args.model,
            samples=args.samples,
            seeds=args.seeds,
            hardware_aware=args.hardware_aware,
        )
    )
    print(f"wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
