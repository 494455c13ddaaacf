"""SPICE path benchmark: render, `cimspice simulate` vs `ngspice -b`, batching, nodal vs ngspice.

Run from the repository root (after scripts/setup.sh):

    .venv/bin/python benchmarks/bench_spice_path.py [--sizes 64 128 256] [--repeats 5]

Every comparison is measured side by side in this one run (commands interleaved A B A B ...),
and reported as medians and as the median of the per-pair ratios: the machines are shared and
noisy, so ratios are the figures to quote, not absolute seconds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import spec_text, wall

from cimspice.metrics import max_error
from cimspice.netlist import build_deck
from cimspice.simulation import get_engine
from cimspice.spec import load_spec


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench_size(n: int, repeats: int, batch: int, work: Path) -> dict[str, float]:
    rng = np.random.default_rng(n)
    spec_path = work / f"spec{n}.toml"
    spec_path.write_text(spec_text(n, "0T1R"))
    spec = load_spec(spec_path)
    g = rng.uniform(1e-6, 100e-6, (n, n))
    v1 = rng.uniform(0.0, 0.2, (1, n))
    vb = rng.uniform(0.0, 0.2, (batch, n))
    for name, arr in (("g", g), ("v1", v1), ("vb", vb)):
        np.save(work / f"{name}{n}.npy", arr)
    row: dict[str, float] = {"n": n}

    # 1. render time (in process, median), one vector and the batch deck
    build_deck(spec, g, v1)  # warm the template cache
    row["render_1_s"] = statistics.median(
        timed(lambda: build_deck(spec, g, v1))[0] for _ in range(repeats)
    )
    row["render_batch_s"] = statistics.median(
        timed(lambda: build_deck(spec, g, vb))[0] for _ in range(max(1, repeats // 2))
    )
    deck = work / f"deck{n}.cir"
    deck.write_text(build_deck(spec, g, v1).text)

    # 2. `cimspice simulate --engine ngspice` vs `ngspice -b` on the same deck, interleaved
    cimspice = [
        str(Path(sys.executable).parent / "cimspice"),
        "simulate",
        str(spec_path),
        "--conductances",
        str(work / f"g{n}.npy"),
        "--inputs",
        str(work / f"v1{n}.npy"),
        "--engine",
        "ngspice",
        "-o",
        str(work / f"out{n}.npz"),
    ]
    ngspice = [shutil.which("ngspice") or "ngspice", "-b", str(deck)]
    wall(cimspice), wall(ngspice)  # warm-up (page cache)
    pairs = [(wall(cimspice), wall(ngspice)) for _ in range(repeats)]
    row["cli_ngspice_s"] = statistics.median(a for a, _ in pairs)
    row["ngspice_b_s"] = statistics.median(b for _, b in pairs)
    row["cli_over_ngspice_b"] = statistics.median(a / b for a, b in pairs)

    # 3. batching: per-vector cost of a batch vs a single-vector run (engine API, in process)
    engine = get_engine("ngspice")
    single = [timed(lambda: engine.run(spec, g, v1))[0] for _ in range(repeats)]
    one = engine.run(spec, g, v1)
    row["ngspice_parse_s"] = float(one.info["ngspice_load_s"])
    row["render_over_parse"] = row["render_1_s"] / row["ngspice_parse_s"]
    t_batch, spice = timed(lambda: engine.run(spec, g, vb))
    row["ngspice_1_s"] = statistics.median(single)
    row["ngspice_batch_s"] = t_batch
    row["batch_per_vector_ratio"] = (t_batch / batch) / row["ngspice_1_s"]

    # 4. nodal vs ngspice on the same batch
    nodal_engine = get_engine("nodal")
    t_nodal = statistics.median(
        timed(lambda: nodal_engine.run(spec, g, vb))[0] for _ in range(repeats)
    )
    nodal = nodal_engine.run(spec, g, vb)
    row["nodal_batch_s"] = t_nodal
    row["ngspice_over_nodal"] = t_batch / t_nodal
    row["nodal_vs_ngspice_max_err"] = max_error(nodal.currents, spice.currents)
    row["ngspice_program_mb"] = float(spice.info.get("ngspice_program_mb", float("nan")))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="cimspice-bench-") as tmp:
        for n in args.sizes:
            print(f"[bench] {n}x{n} ...", file=sys.stderr, flush=True)
            rows.append(bench_size(n, args.repeats, args.batch, Path(tmp)))
    b = args.batch
    print(
        f"\nPassive NxN arrays, 2 ohm segments, G ~ U(1, 100) uS, V ~ U(0, 0.2) V; "
        f"medians of {args.repeats} runs; batch = {b} vectors.\n"
    )
    columns = [
        ("N", "n", "{:d}"),
        ("render 1 vec (s)", "render_1_s", "{:.3f}"),
        ("ngspice parse (s)", "ngspice_parse_s", "{:.3f}"),
        ("render / parse", "render_over_parse", "{:.2f}"),
        ("render batch (s)", "render_batch_s", "{:.3f}"),
        ("`simulate` ngspice, 1 vec (s)", "cli_ngspice_s", "{:.3f}"),
        ("`ngspice -b` (s)", "ngspice_b_s", "{:.3f}"),
        ("ratio", "cli_over_ngspice_b", "{:.2f}x"),
        ("engine 1 vec (s)", "ngspice_1_s", "{:.3f}"),
        (f"engine {b} vec (s)", "ngspice_batch_s", "{:.2f}"),
        ("per-vector cost, batch / single", "batch_per_vector_ratio", "{:.3f}"),
        (f"nodal {b} vec (s)", "nodal_batch_s", "{:.3f}"),
        ("ngspice / nodal", "ngspice_over_nodal", "{:.0f}x"),
        ("nodal vs ngspice max err", "nodal_vs_ngspice_max_err", "{:.1e}"),
        ("ngspice MB", "ngspice_program_mb", "{:.0f}"),
    ]
    print("| " + " | ".join(title for title, _, _ in columns) + " |")
    print("|" + "---|" * len(columns))
    for r in rows:
        cells = [fmt.format(int(r[key]) if fmt == "{:d}" else r[key]) for _, key, fmt in columns]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
