"""How to push many input vectors through ngspice: the strategies, side by side.

    .venv/bin/python benchmarks/bench_batching.py [--size 64] [--batch 50] [--repeats 3]

Strategies, all through the `ngspice` engine on the same array and inputs:

- one run per vector: a fresh `.op` deck (and worker) for each vector;
- `.dc` over an index source: drivers are tables of `v(vec)`;
- `.dc` over temperature (the default): drivers are tables of `temper`.

Each is checked against the nodal solve; the figures are medians of interleaved runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from cimspice.metrics import max_error
from cimspice.simulation import get_engine
from cimspice.spec import spec_from_dict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, b = args.size, args.batch
    spec = spec_from_dict({"array": {"rows": n, "cols": n}, "wire": {"r_row": 2.0, "r_col": 2.0}})
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 100e-6, (n, n))
    v = rng.uniform(0.0, 0.2, (b, n))
    reference = get_engine("nodal").run(spec, g, v).currents

    def per_vector() -> np.ndarray:
        engine = get_engine("ngspice")
        return np.concatenate([engine.run(spec, g, v[k : k + 1]).currents for k in range(b)])

    strategies = {
        "one .op run per vector": per_vector,
        ".dc over an index source": lambda: (
            get_engine("ngspice", sweep="index").run(spec, g, v).currents
        ),
        ".dc over temperature (default)": lambda: (
            get_engine("ngspice", sweep="temp").run(spec, g, v).currents
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in strategies}
    errors: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, fn in strategies.items():
            start = time.perf_counter()
            out = fn()
            times[name].append(time.perf_counter() - start)
            errors[name] = max_error(out, reference)
    base = statistics.median(times["one .op run per vector"])
    print(
        f"\n{n}x{n} passive array, 2 ohm segments, {b} input vectors, "
        f"median of {args.repeats} interleaved runs\n"
    )
    print("| strategy | total (s) | per vector (s) | vs one run per vector | max error vs nodal |")
    print("|---|---|---|---|---|")
    for name in strategies:
        t = statistics.median(times[name])
        print(f"| {name} | {t:.2f} | {t / b:.4f} | {t / base:.3f}x | {errors[name]:.1e} |")


if __name__ == "__main__":
    main()
