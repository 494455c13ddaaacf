"""Charge-domain (1C) tiles: a 64x64 MAC cycle in ngspice, and a network side by side with
memristor tiles (accuracy and energy per MAC, one table and one Pareto plot).

    .venv/bin/python benchmarks/bench_charge.py mac [--size 64] [--repeats 3]
    .venv/bin/python benchmarks/bench_charge.py surrogate [--size 16] [--cycles 48]
    .venv/bin/python benchmarks/bench_charge.py network [--model mnist-mlp] [--samples 1000]
        [--out out/bench-charge]
    .venv/bin/python benchmarks/bench_charge.py sar [--bits 4 6 8] [--per-lsb 2]
    .venv/bin/python benchmarks/bench_charge.py noise [--cols 24] [--cycles 13]

``mac``: one MAC cycle and a bit-serial vector (8 cycles) of a size x size tile with ideal
switches (1 fF cells, 1 % mismatch, 20 fF columns, 0.4 V lines), and one cycle with 65 nm
NMOS switches: the wall time of
the whole run (render, worker, ngspice, read-back) beside ngspice's own analysis time, and the
energy per cycle from the supply currents beside the closed form (ideal switches).

``surrogate``: the charge surrogate calibrated against ngspice (multi-level inputs), ideal and
transistor switches, with its held-out error.

``sar``: the transistor-level SAR readout converting a ramp (each point a quarter LSB from
a code edge) against the ideal quantiser, and its energy per conversion from ngspice.

``noise``: every switch's and driver's thermal noise (trnoise) against the analytical
``sqrt(k T / c_par)``, and the reset switches' alone against ``sqrt(k T / C_T)``.

``network``: the built-in model on size x size 1T1R tiles with the devices and converters of
``examples/network-128.toml`` (2 ohm wires, nmos65 access transistors, 64 conductance levels
per device of a differential pair, 8-bit DAC and ADC, programming noise, drift, read noise,
faults; a surrogate calibrated against ngspice here, cached under ``--out``, in its fast
mode) and on size x size
charge tiles at equal precision (6 weight bits and a sign, bit-sliced over column pairs
through the same mapping as memristor tiles: 63 levels per polarity; 8-bit
bit-serial inputs; 8-bit ADC; 1 fF cells with 0.5 % mismatch, 10 fF per 64 rows of column
parasitics, kT/C noise (``charge.noise = "ktc"``); the nominal charge model, exact against
ngspice for ideal switches),
and the same with one multi-level cycle per input (an 8-bit DAC per line, the cost model's DAC
energy) instead of 8 bit-serial cycles, and bit-serial with the transistor-level SAR readout
(its sampling capacitors on the columns, its energy per conversion from ngspice); with the
SRAM CIM and digital anchors of the cost model.
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
        "| switches | cycles | wall (s, median) | ngspice analysis (s, median) | wall / analysis "
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
            analysis = statistics.median(float(r.info["ngspice_analysis_s"]) for r in runs)
            wall = statistics.median(walls)
            e = float(run.energy.mean()) * 1e15
            closed = float(cycle_energy(run.caps, bits, x, 20e-15).mean()) * 1e15
            closed_txt = f"{closed:.1f}" if switch == "ideal" else "-"
            print(
                f"| {switch} | {cycles} | {wall:.2f} | {analysis:.2f} | {wall / analysis:.2f} "
                f"| {run.info['time_points']} | {e:.1f} | {closed_txt} |",
                flush=True,
            )


def memristor_tile(n: int) -> dict:
    """``examples/network-128.toml``'s devices and converters on n x n 1T1R tiles (the ADC's
    full scale scaled with the column length)."""
    import tomllib

    path = Path(__file__).parents[1] / "examples" / "network-128.toml"
    data = tomllib.loads(path.read_text())
    data["array"] = {"rows": n, "cols": n, "cell": "1T1R"}
    data["readout"]["adc_full_scale"] *= n / 128
    return data


def bench_network(model_name: str, samples: int, size: int, out: Path) -> None:
    from cimspice.compensation.cost import CostModel
    from cimspice.plots import save_figure
    from cimspice.studies.energy import Unit
    from cimspice.studies.evaluate import resolve_model, samples_of
    from cimspice.studies.pareto import markdown_table, pareto_front
    from cimspice.studies.pareto_report import pareto_figure
    from cimspice.studies.schemes import NetworkCase, run_case
    from cimspice.surrogate.calibrate import calibrate

    model, data = resolve_model(model_name)
    x, y = samples_of(data, "test")
    x, y = x[:samples], y[:samples]
    calibration = data.x_train[:1000]
    cost = CostModel()
    memristor = spec_from_dict(memristor_tile(size))
    charge = spec_from_dict(
        {
            "array": {"rows": size, "cols": size, "cell": "1C"},
            "driver": {"v_read": 0.8, "dac_bits": 8},
            "charge": {
                "mismatch": 0.005,
                "c_par": 10e-15 * size / 64,
                "adc_bits": 8,
                "adc_full_scale": 0.2,
                "noise": "ktc",
            },
            "mapping": {"weight_bits": 6, "slice_bits": 1},
        }
    )
    t0 = time.perf_counter()
    fitted = calibrate(memristor, samples=4, batch=8, cache_dir=out / "cache")
    times = {"1T1R calibration": time.perf_counter() - t0}
    layers = model.weighted_layers()
    results = []
    t0 = time.perf_counter()
    results.append(
        run_case(
            NetworkCase("baseline", memristor),
            model,
            x,
            y,
            calibration=calibration,
            cost=cost,
            surrogate=fitted.surrogate,
            mode="fast",
        )
    )
    times["1T1R network"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    results.append(
        run_case(
            NetworkCase("charge 1C, bit-serial inputs", charge),
            model,
            x,
            y,
            calibration=calibration,
            cost=cost,
        )
    )
    times["charge network"] = time.perf_counter() - t0
    multi = charge.replace({"charge.input_mode": "multi-level"})
    results.append(
        run_case(
            NetworkCase("charge 1C, 8-bit DAC inputs", multi),
            model,
            x,
            y,
            calibration=calibration,
            cost=cost,
        )
    )
    # the transistor-level SAR: its 2^8 units of 0.5 fF join each column (at 64 rows C_T
    # 74 -> 202 fF), so the full scale follows the swing down; its energy per conversion
    # from ngspice
    c_t = size * charge.charge.c_cell + charge.charge.c_par
    c_sar = 2**8 * charge.charge.sar_c_unit
    sar = charge.replace({"charge.adc": "sar", "charge.adc_full_scale": 0.2 * c_t / (c_t + c_sar)})
    results.append(
        run_case(
            NetworkCase("charge 1C, bit-serial, SAR readout", sar),
            model,
            x,
            y,
            calibration=calibration,
            cost=cost,
        )
    )
    for unit in (Unit.SRAM, Unit.DIGITAL):
        case = NetworkCase(f"all {unit.value}", memristor, units=dict.fromkeys(layers, unit))
        results.append(
            run_case(
                case, model, x, y, calibration=calibration, cost=cost, surrogate=fitted.surrogate
            )
        )
    front = pareto_front(results)
    print(
        f"\n{model_name}, {samples} test samples, {size}x{size} tiles "
        "(1T1R memristor tiles = 'baseline')\n"
    )
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
    print("\n1T1R surrogate held-out:", fitted.surrogate.metadata.get("validation"))
    print("wall times (s):", {k: round(v, 1) for k, v in times.items()})
    out.mkdir(parents=True, exist_ok=True)
    marks = {"SRAM CIM MAC": cost.sram_cim_mac, "digital MAC": cost.digital_mac}
    caption = f"{model_name}: 1T1R + ADC vs charge-domain (1C) tiles, {size}x{size}"
    fig = pareto_figure(results, front, marks=marks, caption=caption)
    print(f"figure: {save_figure(fig, out / 'pareto-charge.png')}")


def bench_surrogate(size: int, cycles: int, test_cycles: int) -> None:
    from cimspice.charge.surrogate import calibrate

    print(f"\ncharge surrogate, {size}x{size}, {cycles} fit + {test_cycles} held-out cycles\n")
    print(
        "| switches | calibration (s) | gain | offset (mV) | k_ones (mV) | held-out NRMSE "
        "| held-out max err | nominal NRMSE |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for switch in ("ideal", "transistor"):
        spec = spec_from_dict(charge_tile(size, switch))
        spec = spec.replace({"charge.input_mode": "multi-level"})
        t0 = time.perf_counter()
        model, rep = calibrate(spec, cycles=cycles, test_cycles=test_cycles)
        dt = time.perf_counter() - t0
        print(
            f"| {switch} | {dt:.1f} | {model.gain:.5f} | {model.offset * 1e3:.3f} "
            f"| {model.k_ones * 1e3:.3f} | {rep.nrmse:.2e} | {rep.max_error:.2e} "
            f"| {rep.nrmse_nominal:.2e} |",
            flush=True,
        )


def bench_sar(bits: list[int], per_lsb: int) -> None:
    from cimspice.charge.sar import reference_levels, run_sar
    from cimspice.converters import charge_adc

    print(f"\ncapacitive SAR at transistor level, a ramp of {per_lsb} points per LSB\n")
    print("| bits | unit C | conversions | codes equal | max |diff| | fJ/conversion | s |")
    print("|---|---|---|---|---|---|---|")
    for n in bits:
        spec = spec_from_dict(
            {
                "array": {"rows": 4, "cols": 2, "cell": "1C"},
                "charge": {
                    "input_mode": "multi-level",
                    "adc": "sar",
                    "adc_bits": n,
                    "adc_full_scale": 0.2,
                },
            }
        )
        _, _, lsb = reference_levels(spec)
        swing = np.arange(-0.75 * lsb, 0.2 + lsb, lsb / per_lsb)
        t0 = time.perf_counter()
        run = run_sar(spec, swing)
        dt = time.perf_counter() - t0
        ideal, _ = charge_adc(spec, swing)
        print(
            f"| {n} | {spec.charge.sar_c_unit:.1e} | {swing.size} "
            f"| {np.mean(run.codes == ideal):.3f} | {np.abs(run.codes - ideal).max()} "
            f"| {np.mean(run.energy) * 1e15:.1f} | {dt:.1f} |",
            flush=True,
        )


def bench_noise(cols: int, cycles: int) -> None:
    from cimspice.charge.capacitors import cell_capacitances
    from cimspice.charge.closed_form import shared_voltage
    from cimspice.charge.deck import NoiseOptions
    from cimspice.charge.run import run_cycles
    from cimspice.charge.surrogate import column_noise_std
    from cimspice.spec import ChargeNoise, load_spec

    example = Path(__file__).resolve().parents[1] / "examples" / "charge-noise.toml"
    spec = load_spec(example).replace({"array.cols": cols})
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 2, (4, cols)).astype(float)
    x = rng.uniform(0, 0.2, (cycles, 4))
    caps = cell_capacitances(spec)
    print(f"\nthermal noise, examples/charge-noise.toml at 4x{cols}, {cycles} cycles\n")
    print("| noisy | ngspice std (mV) | analytical (mV) | ratio | mean (mV) | s |")
    print("|---|---|---|---|---|---|")
    for switches, kind in ((False, ChargeNoise.KTC), (True, ChargeNoise.THERMAL)):
        t0 = time.perf_counter()
        run = run_cycles(spec, bits, x, caps=caps, noise=NoiseOptions(seed=7, switches=switches))
        dt = time.perf_counter() - t0
        d = run.v_col - shared_voltage(caps, bits, x, spec.charge.c_par)
        e = float(column_noise_std(spec, caps, kind)[0])
        label = "every switch and driver" if switches else "reset switches only"
        print(
            f"| {label} | {np.std(d) * 1e3:.4f} | {e * 1e3:.4f} | {np.std(d) / e:.3f} "
            f"| {np.mean(d) * 1e3:.4f} | {dt:.1f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    mac = sub.add_parser("mac")
    mac.add_argument("--size", type=int, default=64)
    mac.add_argument("--repeats", type=int, default=3)
    sur = sub.add_parser("surrogate")
    sur.add_argument("--size", type=int, default=16)
    sur.add_argument("--cycles", type=int, default=48)
    sur.add_argument("--test-cycles", type=int, default=24)
    net = sub.add_parser("network")
    net.add_argument("--model", default="mnist-mlp")
    net.add_argument("--samples", type=int, default=1000)
    net.add_argument("--size", type=int, default=64)
    net.add_argument("--out", type=Path, default=Path("out/bench-charge"))
    sar = sub.add_parser("sar")
    sar.add_argument("--bits", type=int, nargs="+", default=[4, 6, 8])
    sar.add_argument("--per-lsb", type=int, default=2)
    noise = sub.add_parser("noise")
    noise.add_argument("--cols", type=int, default=24)
    noise.add_argument("--cycles", type=int, default=13)
    args = parser.parse_args()
    if args.what == "mac":
        bench_mac(args.size, args.repeats)
    elif args.what == "surrogate":
        bench_surrogate(args.size, args.cycles, args.test_cycles)
    elif args.what == "sar":
        bench_sar(args.bits, args.per_lsb)
    elif args.what == "noise":
        bench_noise(args.cols, args.cycles)
    else:
        bench_network(args.model, args.samples, args.size, args.out)


if __name__ == "__main__":
    main()
