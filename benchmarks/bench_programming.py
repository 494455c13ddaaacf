"""Programming a network's tiles: device models plus each tile's preparation.

    .venv/bin/python benchmarks/bench_programming.py [--spec examples/network-128.toml]
        [--model mnist-mlp] [--repeats 3] [--lu-tiles 3]

Maps the model's weighted layers onto tiles of the spec (mnist-mlp on 128x128: 30 tiles) and
programs every tile (levels, stuck cells, programming noise with write-verify, drift:
``cimspice.devices.generic.program_tile``) and prepares it for the surrogate (the fitted
network's transfer matrix, by the admittance cascade, ``cimspice.engines.cascade``): the
whole of ``HardwareMatMul.program``, timed ``--repeats`` times (median), with the share of
the device models. Beside it, on the first ``--lu-tiles`` programmed tiles, the transfer
matrix by the cascade and by the nodal engine's sparse LU (``rows`` triangular solves, what
the preparation used before), interleaved: the median ratio and their largest difference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from _common import interleaved

from cimspice.engines import cascade
from cimspice.engines.nodal import NodalSolver
from cimspice.mapping import matmul
from cimspice.mapping.matmul import HardwareMatMul, tile_spec
from cimspice.spec import load_spec
from cimspice.studies.evaluate import resolve_model
from cimspice.topology import PassiveTopology


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="examples/network-128.toml")
    parser.add_argument("--model", default="mnist-mlp")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lu-tiles", type=int, default=3)
    args = parser.parse_args()
    spec = load_spec(args.spec)
    model, _ = resolve_model(args.model)

    devices_s = [0.0]
    program_tile = matmul.program_tile

    def timed(*a, **k):  # the device models' share of the programming
        start = time.perf_counter()
        out = program_tile(*a, **k)
        devices_s[0] += time.perf_counter() - start
        return out

    matmul.program_tile = timed
    totals, devices, hw = [], [], None
    for repeat in range(args.repeats):
        print(f"[bench] programming, run {repeat + 1} ...", file=sys.stderr, flush=True)
        hw = HardwareMatMul(spec)
        devices_s[0] = 0.0
        start = time.perf_counter()
        for index in model.weighted_layers():
            hw.program(index, model.matrix(index))
        totals.append(time.perf_counter() - start)
        devices.append(devices_s[0])
    matmul.program_tile = program_tile
    assert hw is not None
    tiles = [
        (p, t)
        for layer in hw.layers.values()
        for p, t in zip(layer.programmed, layer.tiles, strict=True)
    ]

    analogue = tile_spec(spec)
    topology = PassiveTopology.from_spec(analogue)
    ratios, gaps = [], []
    for devices_k, _ in tiles[: args.lu_tiles]:
        g = devices_k.conductances
        out: dict[str, np.ndarray] = {}

        def by_cascade(g=g, out=out):
            out["cascade"] = cascade.transfer_matrix(topology, g)

        def by_lu(g=g, out=out):
            out["lu"] = NodalSolver(analogue, g).transfer_matrix()

        _, _, ratio = interleaved(by_cascade, by_lu, 3)
        ratios.append(ratio)
        gaps.append(float(np.max(np.abs(out["cascade"] - out["lu"])) / np.max(np.abs(out["lu"]))))

    print(
        f"\n{args.model} on {args.spec} ({spec.rows}x{spec.cols} tiles, {len(tiles)} tiles); "
        f"median of {args.repeats} runs\n"
    )
    print(
        "| tiles | programming, all tiles (s) | of which device models (s) | per tile (s) | "
        "transfer matrix, sparse LU / cascade | largest difference / full scale |"
    )
    print("|---|---|---|---|---|---|")
    total = statistics.median(totals)
    print(
        f"| {len(tiles)} | {total:.2f} | {statistics.median(devices):.2f} | "
        f"{total / len(tiles):.3f} | {statistics.median(ratios):.1f}x | {max(gaps):.1e} |"
    )


if __name__ == "__main__":
    main()
