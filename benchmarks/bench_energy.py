"""Energy per MVM of a 64x64 1T1R tile from ngspice, split into drivers (array) and readout.

    .venv/bin/python benchmarks/bench_energy.py [--size 64] [--t-read 10e-9]

The default 1T1R tile (nmos65 access transistors at v_gate 1.2 V, 2 ohm segments,
G ~ U(1, 100) uS, 10 inputs ~ U(0, 0.2) V) read through three readouts: the ideal virtual
ground, a behavioural TIA (r_f 2 kohm) and a CMOS TIA (the transistor-level op-amp,
i_bias 50 uA so that its output stage sinks the column currents, r_f 1 kohm); each source's
power held for t_read.
"""

from __future__ import annotations

import argparse

import numpy as np

from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict

READOUTS = {
    "ideal virtual ground": {"kind": "ideal"},
    "behavioural TIA (r_f 2 kohm)": {"kind": "tia", "r_f": 2e3},
    "CMOS TIA (r_f 1 kohm, i_bias 50 uA)": {
        "kind": "tia",
        "r_f": 1e3,
        "opamp": "cmos",
        "i_bias": 50e-6,
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--t-read", type=float, default=10e-9)
    args = parser.parse_args()
    n = args.size
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 1e-4, (n, n))
    v = rng.uniform(0.0, 0.2, (10, n))
    print(f"\n{n}x{n} 1T1R, energy per MVM (mean of 10 vectors), t_read = {args.t_read:g} s\n")
    print("| readout | drivers + array (pJ) | readout (pJ) | total (pJ) | pJ per MAC |")
    print("|---|---|---|---|---|")
    for name, readout in READOUTS.items():
        spec = spec_from_dict(
            {
                "array": {"rows": n, "cols": n, "cell": "1T1R"},
                "wire": {"r_row": 2.0, "r_col": 2.0},
                "readout": readout,
            }
        )
        e = simulate(spec, g, v, engine="ngspice").energy_per_mvm(args.t_read)
        d, r, t = (float(np.mean(e[k])) * 1e12 for k in ("drivers", "readout", "total"))
        print(f"| {name} | {d:.2f} | {r:.2f} | {t:.2f} | {t / n / n:.4f} |")


if __name__ == "__main__":
    main()
