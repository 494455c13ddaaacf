"""Linear tiles behind TIAs: the surrogate's fast mode (the TIAs' tangent folded in) against
its accurate mode (the loops solved exactly) and against ``V @ G``.

    .venv/bin/python benchmarks/bench_tia_fast.py [--size 128] [--batch 1000] [--pairs 20]

A passive NxN tile (2 ohm segments, 1-25 uS) whose bit lines end in TIAs, behavioural (r_f
2 kohm, gain 1e4, 1 mV offset) or the 65 nm two-stage CMOS op-amp (r_f 750 ohm, 80 uA bias:
its transfer measured in ngspice first, as ``calibrate`` does), the spec's own network
(nothing fitted: the fast and accurate modes share it, so their difference is the fast
mode's alone). Inputs: a batch of sparse vectors (half the word lines at 0-0.2 V, the others
at 0 V) and the same scaled to a quarter (every output inside the op-amps' linear band).
Throughput: MVMs per second of each mode's outputs, beside ``V @ G`` (float64) on the same
batch, medians of interleaved pairs on one BLAS thread. Error: the fast mode's outputs
against the accurate mode's, as a fraction of the largest output.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from cimspice.engines.cell_laws import memristor_law
from cimspice.spec import spec_from_dict
from cimspice.surrogate.model import TileParams, TileSurrogate
from cimspice.surrogate.readout import measure_tia

sys.path.insert(0, str(Path(__file__).parent))
from _common import interleaved

READOUTS = {
    "behavioural": {"kind": "tia", "r_f": 2e3, "gain": 1e4, "v_offset": 1e-3},
    "CMOS": {"kind": "tia", "opamp": "cmos", "r_f": 750.0, "i_bias": 80e-6},
}


def surrogate_for(size: int, readout: dict) -> TileSurrogate:
    """The spec's own network, a CMOS op-amp's transfer measured in ngspice."""
    spec = spec_from_dict(
        {
            "array": {"rows": size, "cols": size},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "device": {"g_min": 1e-6, "g_max": 25e-6},
            "driver": {"v_read": 0.2},
            "readout": readout,
        }
    )
    transfer = None
    if spec.has_cmos_opamps:
        law = memristor_law(np.asarray(spec.device.g_max), spec.device.iv.value, spec.device.v0)
        top = float(law.current(np.asarray(spec.driver.v_read)))
        transfer = measure_tia(spec, 1.25 * spec.rows * top)
    return TileSurrogate(spec, TileParams.from_spec(spec), readout_transfer=transfer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=20)
    args = parser.parse_args()
    n = args.size
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 25e-6, (n, n))
    sparse = rng.uniform(0, 0.2, (args.batch, n)) * (rng.random((args.batch, n)) < 0.5)
    print(
        f"{n}x{n} passive tile, 2 ohm segments, 1-25 uS, batches of {args.batch}, medians of "
        f"{args.pairs} interleaved pairs, one BLAS thread\n"
    )
    print(
        "| op-amp | inputs | vectors off the band | fast vs V @ G | accurate vs V @ G | "
        "fast max error | fast NRMSE |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, readout in READOUTS.items():
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        surrogate = surrogate_for(n, readout)
        fast = surrogate.prepare(g, "fast")
        accurate = surrogate.prepare(g, "accurate")
        low, high = fast.table.band  # type: ignore[union-attr]
        for label, v in (("sparse, to 0.2 V", sparse), ("the same / 4", sparse / 4)):
            exact = accurate.outputs(v)[1]
            assert exact is not None
            got = fast.outputs(v)[1]
            scale = float(np.abs(exact).max())
            off = float(np.mean(((exact < low) | (exact > high)).any(axis=1)))
            with threadpool_limits(1):
                _, _, fast_ratio = interleaved(
                    partial(np.matmul, v, g), partial(fast.read, v), args.pairs
                )
                _, _, accurate_ratio = interleaved(
                    partial(np.matmul, v, g), partial(accurate.outputs, v), max(3, args.pairs // 5)
                )
            print(
                f"| {name} | {label} | {off:.1%} | {1 / fast_ratio:.2f}x | "
                f"{1 / accurate_ratio:.4f}x | {np.abs(got - exact).max() / scale:.1e} | "
                f"{np.sqrt(np.mean((got - exact) ** 2)) / scale:.1e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
