"""Charge-domain (1C) tiles: a 64x64 MAC cycle in ngspice, and a network side by side with
memristor tiles (accuracy and energy per MAC, one table and one Pareto plot).

    .venv/bin/python benchmarks/bench_charge.py mac [--size 64] [--repeats 3]
    .venv/bin/python benchmarks/bench_charge.py network [--model mnist-mlp] [--samples 1000]
        [--out bench-out/charge]

``mac``: one MAC cycle and a bit-serial vector (8 cycles) of a size x size tile with ideal
switches (1 fF cells, 1 % mismatch, 20 fF columns, 0.4 V lines), and one cycle with 65 nm
NMOS switches: the wall time of
the whole run (render, worker, ngspice, read-back) beside ngspice's own analysis time, and the
energy per cycle from the supply currents beside the closed form (ideal switches).

``network``: the built-in model on the memristor tile of ``examples/network-128.toml`` (0T1R,
2 ohm wires, 64 conductance levels per device of a differential pair, 8-bit DAC and ADC,
programming noise, drift, read noise, faults; the nominal surrogate, i.e. the exact nodal
solve of its linear network) and on 128x128 charge tiles at equal precision (7-bit
sign-magnitude weights: 63 levels per polarity; 8-bit bit-serial inputs; 8-bit ADC; 1 fF
cells with 0.5 % mismatch, 20 fF columns, kT/C noise; the nominal charge model, exact
against ngspice for ideal switches), with the SRAM CIM and digital anchors of the cost model.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from cimspice.charge.closed_form import cycle_energy
from cimspice.charge.run import run_cycles
from cimspice.spec import spec_from_dict


def charge_tile(n: int, switch: str) -> dict:
    return {
        "array": {"rows": n, "cols": n, "cell": "1C"},
        "driver": {"v_read": 0.4, "dac_bits": 8},
        "charge": {"switch": switch, "mismatch": 0.01, "c_par": 20e-15},
        # 0.4 V lines: an NMOS pass switch gated at 1.2 V passes them fully
    }


def bench_mac(size: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (size, size))
    print(f"\n{size}x{size} charge tile, one MAC cycle and one 8-bit bit-serial vector\n")
    print(
        "| switches | cycles | wall (s, median) | ngspice analysis (s) | wall / analysis "
        "| time points | energy/cycle (fJ) | closed form (fJ) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for switch in ("ideal", "transistor"):
        spec = spec_from_dict(charge_tile(size, switch))
        for cycles in (1, 8) if switch == "ideal" else (1,):
            x = (rng.random((cycles, size)) < 0.5) * spec.driver.v_read
            walls, runs = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                runs.append(run_cycles(spec, bits, x))
                walls.append(time.perf_counter() - t0)
            run = runs[-1]
            analysis = float(run.info["ngspice_analysis_s"])
            wall = statistics.median(walls)
            e = float(run.energy.mean()) * 1e15
            closed = float(cycle_energy(run.caps, bits, x, 20e-15).mean()) * 1e15
            closed_txt = f"{closed:.1f}" if switch == "ideal" else "-"
            print(
                f"| {switch} | {cycles} | {wall:.2f} | {analysis:.2f} | {wall / analysis:.2f} "
                f"| {run.info['time_points']} | {e:.1f} | {closed_txt} |",
                flush=True,
            )


def bench_network(model_name: str, samples: int, out: Path) -> None:
    from cimspice.compensation.cost import CostModel
    from cimspice.plots import save_figure
    from cimspice.spec import load_spec
    from cimspice.studies.charge_network import run_charge_case
    from cimspice.studies.energy import Unit
    from cimspice.studies.evaluate import resolve_model, samples_of
    from cimspice.studies.pareto import markdown_table, pareto_front
    from cimspice.studies.pareto_report import pareto_figure
    from cimspice.studies.schemes import NetworkCase, run_case

    model, data = resolve_model(model_name)
    x, y = samples_of(data, "test")
    x, y = x[:samples], y[:samples]
    calibration = data.x_train[:1000]
    cost = CostModel()
    memristor = load_spec(Path(__file__).parents[1] / "examples" / "network-128.toml")
    charge = spec_from_dict(
        {
            "array": {"rows": 128, "cols": 128, "cell": "1C"},
            "driver": {"v_read": 0.8, "dac_bits": 8},
            "charge": {
                "mismatch": 0.005,
                "c_par": 20e-15,
                "adc_bits": 8,
                "adc_full_scale": 0.2,
            },
            "mapping": {"weight_bits": 7},
        }
    )
    layers = model.weighted_layers()
    results, times = [], {}
    t0 = time.perf_counter()
    results.append(
        run_case(
            NetworkCase("baseline", memristor), model, x, y, calibration=calibration, cost=cost
        )
    )
    times["memristor"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    results.append(
        run_charge_case("charge 1C", charge, model, x, y, calibration=calibration, cost=cost)
    )
    times["charge"] = time.perf_counter() - t0
    for unit in (Unit.SRAM, Unit.DIGITAL):
        case = NetworkCase(f"all {unit.value}", memristor, units=dict.fromkeys(layers, unit))
        results.append(run_case(case, model, x, y, calibration=calibration, cost=cost))
    front = pareto_front(results)
    print(f"\n{model_name}, {samples} test samples (memristor row = 'baseline')\n")
    print(markdown_table(results, front=front))
    print("\n| case | accuracy | exact | J/MAC | array | ADC | DAC | digital |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        e, m = r.energy, r.energy.macs
        print(
            f"| {r.label} | {r.accuracy:.4f} | {r.accuracy_ideal:.4f} | {r.energy_per_mac:.3e} "
            f"| {(e.array + e.readout) / m:.3e} | {e.adc / m:.3e} | {e.dac / m:.3e} "
            f"| {e.digital / m:.3e} |"
        )
    print(f"\nwall time: memristor {times['memristor']:.1f} s, charge {times['charge']:.1f} s")
    out.mkdir(parents=True, exist_ok=True)
    marks = {"SRAM CIM MAC": cost.sram_cim_mac, "digital MAC": cost.digital_mac}
    fig = pareto_figure(results, front, marks=marks, caption=f"{model_name}: memristor vs charge")
    save_figure(fig, out / "pareto-charge.png")
    print(f"figure: {out / 'pareto-charge.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    mac = sub.add_parser("mac")
    mac.add_argument("--size", type=int, default=64)
    mac.add_argument("--repeats", type=int, default=3)
    net = sub.add_parser("network")
    net.add_argument("--model", default="mnist-mlp")
    net.add_argument("--samples", type=int, default=1000)
    net.add_argument("--out", type=Path, default=Path("bench-out/charge"))
    args = parser.parse_args()
    if args.what == "mac":
        bench_mac(args.size, args.repeats)
    else:
        bench_network(args.model, args.samples, args.out)


if __name__ == "__main__":
    main()
