"""Network-level compensation: each scheme moves the error it targets the right way, does
nothing on an ideal array, the energy meter agrees with the physics, mixed precision keeps
its budget, the Pareto front is non-dominated, and ``compensate --pareto`` end to end.

Small cases: the digits MLP (64-128-10, cached after its first training) on small tiles."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.compensation.cost import CostModel, EnergyBreakdown
from cimspice.errors import InputError
from cimspice.mapping.matmul import HardwareMatMul, tile_spec
from cimspice.nn.model import measure_input_ranges
from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict
from cimspice.studies.energy import MeteredMatMul, Unit
from cimspice.studies.evaluate import resolve_model, samples_of
from cimspice.studies.mixed_precision import (
    LayerSensitivity,
    MixedPrecisionParams,
    assign,
    mixed_case,
    sensitivities,
)
from cimspice.studies.pareto import best_tradeoff, dominates, markdown_table, pareto_front
from cimspice.studies.schemes import (
    NetworkCase,
    SchemeOutcome,
    combine,
    fit_calibration,
    layer_inputs,
    predistort_transform,
    run_case,
    scheme_cases,
)
from cimspice.studies.sweeps import with_value

WIRES = {
    "array": {"rows": 32, "cols": 32},
    "wire": {"r_row": 5.0, "r_col": 5.0},  # heavy wires: IR drop well above round-off
    "driver": {"v_read": 0.2},
    "device": {"g_min": 1e-6, "g_max": 25e-6},
}


@pytest.fixture(scope="module")
def digits():
    model, data = resolve_model("digits-mlp")  # trained once, then cached
    x, y = samples_of(data, "test")
    return model, data, x[:200], y[:200]


def layer_error(spec, model, data, *, transform=None, calibrate=False):
    """RMS error of layer 0's MVM on held-out activations, over the RMS of the exact one."""
    ranges = measure_input_ranges(model, data.x_train[:500])
    hw = HardwareMatMul(spec, input_ranges=ranges, tile_transform=transform)
    w = model.matrix(0)
    hw.program(0, w)
    x = layer_inputs(model, data.x_test[:300])[0]
    y = hw(0, x, w)
    if calibrate:
        y = fit_calibration(model, hw, data.x_train[:200], [0])[0].apply(y)
    exact = x @ w
    return float(np.sqrt(np.mean((y - exact) ** 2)) / np.sqrt(np.mean(exact**2)))


def test_predistortion_removes_most_of_the_ir_drop(digits):
    model, data, _, _ = digits
    spec = spec_from_dict(WIRES)
    before = layer_error(spec, model, data)
    after = layer_error(spec, model, data, transform=predistort_transform())
    # 5 ohm segments on 32x32 tiles: a few percent of error; three steps of the iteration
    # leave well under a tenth of it (the tile-level tests show convergence itself)
    assert before > 1e-2
    assert after < 0.1 * before


def test_column_calibration_reduces_the_ir_drop_error(digits):
    model, data, _, _ = digits
    spec = spec_from_dict(WIRES)
    before = layer_error(spec, model, data)
    after = layer_error(spec, model, data, calibrate=True)
    # the IR drop is mostly a per-column gain loss; what calibration leaves is the part that
    # depends on which rows are driven. Require a clear (2x) reduction, not a fixed figure.
    assert after < 0.5 * before


def test_partitioning_reduces_the_ir_drop_error(digits):
    model, data, _, _ = digits
    spec = spec_from_dict(WIRES)
    small = with_value(spec, "array.size", 16)
    # IR drop grows with the lines' length, roughly with its square
    assert layer_error(small, model, data) < 0.5 * layer_error(spec, model, data)


def test_differential_pairs_suffer_less_ir_drop_than_a_reference_column(digits):
    model, data, _, _ = digits
    spec = spec_from_dict(WIRES)
    reference = with_value(spec, "mapping.scheme", "reference")
    # reference-column cells sit mid-window: far more current, far more IR drop, and the
    # reference column (at the tile's far end) does not see the data columns' drop
    assert layer_error(spec, model, data) < layer_error(reference, model, data)


def test_write_verify_reduces_the_programming_error(digits):
    model, data, _, _ = digits
    noisy = dict(WIRES, wire={"r_row": 0.0, "r_col": 0.0})
    noisy["nonideal"] = {"prog_noise_rel": 0.1, "verify_max_pulses": 20}
    spec = spec_from_dict(noisy)
    verified = with_value(spec, "nonideal.verify_tol", 0.2e-6)
    # 10% programming noise vs a 0.2 uS tolerance on a 24 uS window: several times less error
    assert layer_error(verified, model, data) < 0.5 * layer_error(spec, model, data)


def test_schemes_on_an_ideal_array_change_nothing(digits):
    model, data, x, y = digits
    ideal = spec_from_dict({**WIRES, "wire": {"r_row": 0.0, "r_col": 0.0}})
    g = np.random.default_rng(0).uniform(1e-6, 25e-6, (32, 32))
    same, gain = predistort_transform()(tile_spec(ideal), g)
    assert same is g and gain == 1.0
    opts = {"calibration": data.x_train[:300]}
    plain = run_case(NetworkCase("plain", ideal), model, x, y, **opts)
    for flags in ({"predistort": True}, {"calibrate": True}):
        case = run_case(NetworkCase("with", ideal, **flags), model, x, y, **opts)
        assert case.accuracy == plain.accuracy == plain.accuracy_ideal
    cal = fit_calibration(model, HardwareMatMul(ideal, engine="ideal"), data.x_train[:100])
    for c in cal.values():  # exact tiles: gain 1 and offset 0 to rounding
        np.testing.assert_allclose(c.gain, 1.0, atol=1e-9)
        np.testing.assert_allclose(c.offset, 0.0, atol=1e-9 * np.abs(c.offset).max() + 1e-12)


def test_input_scaling_and_bit_serial_costs(digits):
    model, data, x, y = digits
    spec = spec_from_dict({**WIRES, "readout": {"adc_bits": 8, "adc_full_scale": 50e-6}})
    cases = scheme_cases(spec, hardware_aware=0.0, tile_sizes=(), input_scale=0.5, input_bits=4)
    opts = {"calibration": data.x_train[:300]}
    base = run_case(cases["baseline"], model, x, y, **opts).energy
    scaled = run_case(cases["input-scaling 0.5"], model, x, y, **opts).energy
    serial = run_case(cases["bit-serial 4b"], model, x, y, **opts).energy
    # half the voltage: a quarter of the cells' power (linear cells), the same conversions
    assert scaled.array == pytest.approx(base.array / 4, rel=0.05)
    assert scaled.adc == base.adc
    # binary phases: up to one ADC conversion per bit (all-zero bit planes are skipped)
    assert base.adc < serial.adc <= 4 * base.adc


def test_meter_matches_the_nodal_power():
    spec = spec_from_dict(WIRES)
    w = np.random.default_rng(1).normal(size=(32, 16))
    x = np.random.default_rng(2).uniform(0, 1, (20, 32))
    hw = HardwareMatMul(spec, input_ranges={0: 1.0})
    meter = MeteredMatMul(hw, CostModel(t_read=1.0))
    meter(0, x, w)
    tile = hw.layers[0].programmed[0].conductances
    volts = x * spec.driver.v_read
    result = simulate(tile_spec(spec), tile, volts, engine="nodal")
    exact = float(np.sum(result.energy_per_mvm(1.0)["drivers"]))
    # the meter counts the cells' power V^2 G without the wires' drop: a first-order figure
    # within the tile's IR drop (a few percent here) of the network's true dissipation
    assert meter.layers[0].array == pytest.approx(exact, rel=0.05)


def test_units_cost_their_figure_per_mac(digits):
    model, data, x, y = digits
    spec = spec_from_dict(WIRES)
    cost = CostModel()
    layers = model.weighted_layers()
    for unit, per_mac in ((Unit.SRAM, cost.sram_cim_mac), (Unit.DIGITAL, cost.digital_mac)):
        case = NetworkCase("all", spec, units=dict.fromkeys(layers, unit))
        r = run_case(case, model, x, y, calibration=data.x_train[:300], cost=cost)
        assert r.energy_per_mac == pytest.approx(per_mac, rel=1e-12)
        assert r.accuracy == r.accuracy_ideal  # exact units


def sens(drop0, drop2, mem0=1.0, mem2=1.0):
    """Two made-up layers: 100 and 10 MACs, memristor energy as given (J)."""
    cost = CostModel()

    def layer(k, drop, macs, mem):
        energy = {Unit.MEMRISTOR: mem, Unit.SRAM: macs * cost.sram_cim_mac}
        energy[Unit.DIGITAL] = macs * cost.digital_mac
        return LayerSensitivity(k, drop, energy, macs, macs)

    return {0: layer(0, drop0, 100, mem0), 2: layer(2, drop2, 10, mem2)}


def test_mixed_precision_keeps_its_budget():
    cost = CostModel()
    # memristor layers at 1e-14 J/MAC, no SRAM: digital costs 2.3e-13 J/MAC
    s = sens(0.01, 0.05, mem0=100e-14, mem2=10e-14)
    cheap = assign(s, MixedPrecisionParams(budget=1e-14 + 1e-20, sram_weights=0))
    assert all(u == Unit.MEMRISTOR for u in cheap.units.values())
    # room for the small, sensitive layer on a digital unit but not for the big one
    budget = (100e-14 + 10 * cost.digital_mac) / 110 * 1.001
    some = assign(s, MixedPrecisionParams(budget=budget, sram_weights=0))
    assert some.units == {0: Unit.MEMRISTOR, 2: Unit.DIGITAL}
    assert some.energy_per_mac <= budget
    everything = assign(s, MixedPrecisionParams(budget=math.inf, sram_weights=10))
    assert everything.units == {0: Unit.DIGITAL, 2: Unit.SRAM}  # SRAM holds 10 weights
    with pytest.raises(InputError, match="budget"):
        assign(s, MixedPrecisionParams(budget=1e-15, sram_weights=0))


def test_mixed_precision_with_no_limit_is_the_all_digital_accuracy(digits):
    model, data, x, y = digits
    spec = spec_from_dict({**WIRES, "nonideal": {"prog_noise_rel": 0.2}})
    opts = {"calibration": data.x_train[:300]}
    base = NetworkCase("baseline", spec)
    chosen = assign(sensitivities(base, model, x, y, **opts), MixedPrecisionParams())
    mixed = run_case(mixed_case(base, chosen), model, x, y, **opts)
    digital = NetworkCase("digital", spec, units=dict.fromkeys(model.weighted_layers(), "digital"))
    assert mixed.accuracy == run_case(digital, model, x, y, **opts).accuracy
    assert all(u != Unit.MEMRISTOR for u in chosen.units.values())


def result(label, accuracy, energy):
    e = EnergyBreakdown(energy, 0.0, 0.0, 0.0, 0.0, 1)
    return SchemeOutcome(label, (), accuracy, 1.0, e, 1.0, {})


def test_pareto_front_is_non_dominated():
    rng = np.random.default_rng(3)
    points = [result(f"c{k}", a, e) for k, (a, e) in enumerate(rng.uniform(0.1, 1, (60, 2)))]
    points.append(result("baseline", 0.5, 0.5))
    front = pareto_front(points)
    assert front
    for p in front:
        assert not any(dominates(o, p) for o in points)
    for p in points:
        assert p in front or any(dominates(f, p) for f in front)
    assert [p.energy_per_mac for p in front] == sorted(p.energy_per_mac for p in front)
    best = best_tradeoff(points, points[-1])
    assert best in front and best.accuracy > 0.5
    assert "**yes**" in markdown_table(points)


def test_combine_refuses_two_spec_changes():
    spec = spec_from_dict(WIRES)
    cases = scheme_cases(spec, hardware_aware=0.1, tile_sizes=(16,))
    both = combine("x", spec, cases["ir-predistort"], cases["hardware-aware"])
    assert both.predistort and both.hardware_aware == 0.1
    with pytest.raises(InputError, match="more than one"):
        combine("y", spec, cases["partitioning 16x16"], cases["mapping reference"])


def test_compensate_pareto_end_to_end(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        "[array]\nrows = 32\ncols = 32\n[wire]\nr_row = 2.0\nr_col = 2.0\n[readout]\n"
        "adc_bits = 8\nadc_full_scale = 20e-6\n[device]\ng_min = 1e-6\ng_max = 25e-6\n"
        "[nonideal]\nprog_noise_rel = 0.05\nverify_tol = 0.5e-6\n"
    )
    flags = ["--model", "digits-mlp", "--out", "out", "--samples", "100", "--seeds", "1"]
    flags += ["--hardware-aware", "0.1", "--no-progress"]
    forms = {
        "pareto": ["pareto", str(spec), *flags],
        "alias": ["compensate", str(spec), "--pareto", *flags],  # the older form
    }
    written, printed = {}, {}
    for name, args in forms.items():
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)  # the report names --out as given: the same path
        assert main(args) == 0
        printed[name] = capsys.readouterr()
        written[name] = {p.name: p.read_bytes() for p in sorted(Path("out").iterdir())}
    # the alias is routed to the same request handler: byte-identical files and output
    assert written["pareto"] == written["alias"]
    assert printed["pareto"] == printed["alias"]
    out = tmp_path / "pareto" / "out"
    data = json.loads((out / "pareto.json").read_text())
    labels = [c["label"] for c in data["cases"]]
    assert labels[0] == "baseline" and "mixed precision" in labels and "all sram" in labels
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert "Best accuracy per energy" in (out / "pareto.md").read_text() or data["best"] is None
    assert main(["compensate", str(spec), "--pareto"]) == 1
    assert "--out" in capsys.readouterr().err


def test_seeds_average(digits):
    from cimspice.studies.schemes import run_seeds

    model, data, x, y = digits
    spec = spec_from_dict({**WIRES, "nonideal": {"prog_noise_rel": 0.3}})
    r = run_seeds(NetworkCase("b", spec), model, x, y, seeds=2, calibration=data.x_train[:300])
    one = [
        run_case(
            NetworkCase("b", with_value(spec, "nonideal.seed", s)),
            model,
            x,
            y,
            calibration=data.x_train[:300],
        ).accuracy
        for s in (0, 1)
    ]
    assert r.seeds == 2 and r.accuracy == pytest.approx(np.mean(one))
    assert dataclasses.replace(r, seeds=1).seeds == 1


def test_compensate_scheme_reports_tile_and_network_level(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        "[array]\nrows = 32\ncols = 32\n[wire]\nr_row = 2.0\nr_col = 2.0\n[device]\n"
        "g_min = 1e-6\ng_max = 25e-6\n"
    )
    args = ["compensate", str(spec), "--scheme", "ir-predistort", "--engine", "nodal"]
    args += ["--network", "--model", "digits-mlp", "--samples", "150", "--seeds", "1"]
    assert main([*args, "--no-progress"]) == 0
    text = capsys.readouterr().out
    line = next(t for t in text.splitlines() if t.startswith("network level"))
    before, after = (float(x) for x in line.split("accuracy ")[1].split(" (")[0].split(" -> "))
    exact = float(line.split("exact network ")[1].split(")")[0])
    # The command's wiring, end to end: no device non-idealities here, the tiles' only error
    # is the IR drop, which pre-distortion removes (to its iteration's precision; the MVM
    # error itself is checked in test_predistortion_removes_most_of_the_ir_drop), so the
    # compensated network scores the exact network's accuracy to within one sample (1/150)
    # and no worse than the plain one.
    assert after >= before - 1 / 150
    assert abs(after - exact) <= 1 / 150 + 1e-12
    bad = ["compensate", str(spec), "--scheme", "write-verify", "--engine", "nodal"]
    assert main([*bad, "--network", "--model", "digits-mlp", "--no-progress"]) == 1
    assert "write-verify needs programming noise" in capsys.readouterr().err
