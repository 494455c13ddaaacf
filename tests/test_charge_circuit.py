"""Charge-domain (1C) tiles through real ngspice: charge sharing, line capacitance, capacitor
mismatch, kT/C noise and the switching energy of a MAC cycle, each against its closed form
(:mod:`cimspice.charge.closed_form`)."""

import numpy as np
import pytest

from cimspice.charge.capacitors import cell_capacitances
from cimspice.charge.closed_form import (
    column_capacitance,
    cycle_energy,
    ktc_noise_std,
    mismatch_std,
    shared_voltage,
)
from cimspice.charge.deck import NoiseOptions, build_charge_deck
from cimspice.charge.run import run_cycles
from cimspice.errors import InputError
from cimspice.spec import spec_from_dict


def charge_spec(rows, cols, **charge):
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols, "cell": "1C"},
            "charge": {"input_mode": "multi-level", **charge},
        }
    )


def draw(rows, cols, cycles, seed=0, top=0.2):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, (rows, cols)), rng.uniform(0, top, (cycles, rows))


@pytest.mark.ngspice
def test_ideal_charge_sharing_is_the_capacitor_weighted_mean():
    # No mismatch, no parasitics, ideal switches: each column after sharing is
    # sum(C_i V_i) / sum(C_i), V_i the bottom plate (x_i where the bit is 1, else 0). The deck
    # is linear between switch events and every integration step conserves the floating
    # column's charge, so SPICE meets it to the leak of the open reset switch (1e15 ohm:
    # ~1e-10 in the share phase) and the reset's residue of the previous cycle (e^-30 with
    # t_reset = 2 ns and r_on * C_T = 64 ps): 1e-6 relative is the target with room.
    spec = charge_spec(16, 6)
    bits, x = draw(16, 6, cycles=3)
    run = run_cycles(spec, bits, x)
    assert np.all(run.caps == 1e-15)
    v_i = bits[None, :, :] * x[:, :, None]  # (cycles, rows, cols)
    expected = (run.caps * v_i).sum(axis=1) / run.caps.sum(axis=0)
    assert np.abs(run.v_col - expected).max() <= 1e-6 * np.abs(expected).max()
    assert np.abs(run.v_col - expected).max() > 0 or np.all(expected == 0)  # not a copy


@pytest.mark.ngspice
def test_line_capacitance_and_precharge_enter_the_closed_form():
    # With c_par the total is sum(C_i) + c_par and the column starts from v_reset; driver
    # resistance changes the settling only (the share phase is >= 30 time constants).
    spec = spec_from_dict(
        {
            "array": {"rows": 12, "cols": 5, "cell": "1C"},
            "driver": {"r_source": 200.0, "v_read": 0.3},
            "charge": {"input_mode": "multi-level", "c_par": 7e-15, "v_reset": 0.1},
        }
    )
    bits, x = draw(12, 5, cycles=2, seed=1, top=0.3)
    run = run_cycles(spec, bits, x)
    expected = shared_voltage(run.caps, bits, x, 7e-15, 0.1)
    without = 0.1 + (x @ (bits * run.caps)) / run.caps.sum(axis=0)
    swing = np.abs(expected - 0.1).max()
    assert np.abs(run.v_col - expected).max() <= 1e-6 * swing
    assert np.abs(without - expected).max() > 0.1 * swing  # c_par matters at this size


@pytest.mark.ngspice
def test_mismatch_spread_over_draws_matches_its_variance():
    # Every column holds the same bits and sees the same inputs, so each column (and each
    # seed) is one independent draw of 16 capacitors with sigma 4 %: 2 seeds x 400 columns =
    # 800 draws. Each run agrees with the closed form of its own drawn capacitors to 1e-6
    # (so the spread is the capacitors', not the simulator's). The sample standard deviation
    # of n = 800 Gaussian values has a relative standard error of 1/sqrt(2 (n - 1)) = 2.5 %;
    # the first-order variance neglects terms of relative order sigma^2 (~0.2 %); 10 % is
    # four standard errors: a wrong formula (a missing sqrt(c_ref / c_cell), a factor of 2 in
    # the variance) fails it, chance fails it about once in 3e4 runs.
    rows, cols = 16, 400
    column = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1])
    bits = np.repeat(column[:, None], cols, axis=1)
    x = np.linspace(0.2, 0.05, rows)[None, :]
    outputs = []
    for seed in (0, 1):
        # mismatch 8 % at 0.25 fF is 4 % at 1 fF (Pelgrom: sqrt(0.25 / 1))
        spec = charge_spec(  # t_share 12 ns: each line drives 400 cells, tau ~0.4 ns
            rows,
            cols,
            mismatch=0.08,
            mismatch_c_ref=0.25e-15,
            seed=seed,
            c_par=2e-15,
            t_share=12e-9,
        )
        assert spec.charge.sigma == pytest.approx(0.04)
        run = run_cycles(spec, bits, x)
        exact = shared_voltage(run.caps, bits, x, 2e-15)
        assert np.abs(run.v_col - exact).max() <= 1e-6 * np.abs(exact).max()
        outputs.append(run.v_col[0])
    spread = np.concatenate(outputs).std(ddof=1)
    predicted = mismatch_std(1e-15, 0.04, bits, x, 2e-15)[0, 0]
    assert spread == pytest.approx(predicted, rel=0.10)
    # the seeds' draws differ and each is reproducible
    assert not np.array_equal(outputs[0], outputs[1])
    assert np.array_equal(cell_capacitances(spec), run.caps)


@pytest.mark.ngspice
def test_ktc_noise_of_the_reset_switch():
    # The reset switch's thermal noise (trnoise, 4kT r_reset) is what the column keeps when
    # the switch opens: sqrt(kT / C_T) whatever r_reset. 160 columns (independent noise
    # sources) x 4 cycles = 640 samples (each reset phase is 10 time constants, so the
    # cycles' samples are independent: correlation e^-10). The sample standard deviation's
    # relative standard error is 1/sqrt(2 * 639) = 2.8 %, so the 10 % is 3.6 of them;
    # trnoise's linear interpolation takes ~(1/20)/6 ~ 0.8 % off the variance (0.4 % off the
    # std). r_reset is 1000 r_on so that the bottom plates are AC ground for the reset noise
    # (the drivers are noiseless; otherwise the column sees less than C_T). The deck is
    # linear, so a noise deck's reltol 1e-3 leaves the noise-free part exact (checked below by
    # the mean).
    rows, cols, c_par = 4, 160, 4e-15
    spec = charge_spec(
        rows,
        cols,
        r_on=1e2,
        r_reset=1e5,
        c_cell=4e-15,
        c_par=c_par,
        t_reset=20e-9,
        t_share=2e-9,
    )
    bits, x = draw(rows, cols, cycles=4)
    run = run_cycles(spec, bits, x, noise=NoiseOptions(seed=3))  # reltol: NOISE_RELTOL
    noise = run.v_col - shared_voltage(run.caps, bits, x, c_par)
    c_total = column_capacitance(run.caps, c_par)
    assert c_total == pytest.approx(np.full(cols, 20e-15), rel=1e-12)
    expected = float(ktc_noise_std(20e-15))  # 0.455 mV at 300 K
    n = noise.size
    assert noise.std(ddof=1) == pytest.approx(expected, rel=0.10)
    assert abs(noise.mean()) < 4 * expected / np.sqrt(n)  # zero-mean: 4 standard errors


def test_noise_needs_a_settled_reset_and_ideal_switches():
    spec = charge_spec(4, 2, r_reset=1e6, t_reset=2e-9)  # 10 tau = 40 ns > 2 ns
    bits, x = draw(4, 2, cycles=1)
    with pytest.raises(InputError, match="t_reset"):
        build_charge_deck(spec, bits, x, cell_capacitances(spec), noise=NoiseOptions())
    spec = charge_spec(4, 2, switch="transistor")
    with pytest.raises(InputError, match="ideal switches only"):
        build_charge_deck(spec, bits, x, cell_capacitances(spec), noise=NoiseOptions())


@pytest.mark.ngspice
def test_energy_per_cycle_from_the_supply_currents():
    # The level sources deliver sum_j (sum_i w C x^2 - C_T dV^2) per cycle (C V^2 per
    # toggled cell less what the column's rise returns; the reset draws no net charge from
    # v_reset). Integrated in the deck from v * i of every source; the integrator follows
    # ngspice's time steps at reltol 1e-6, so 1e-5 relative.
    spec = spec_from_dict(
        {
            "array": {"rows": 10, "cols": 4, "cell": "1C"},
            "charge": {"input_mode": "multi-level", "c_par": 3e-15, "v_reset": 0.05},
        }
    )
    bits, x = draw(10, 4, cycles=3, seed=2)
    run = run_cycles(spec, bits, x)
    expected = cycle_energy(run.caps, bits, x, 3e-15)
    assert run.energy == pytest.approx(expected, rel=1e-5)
    # a cell holding a 0, or a line at 0 V, costs nothing: one toggled cell is C x^2 (1 - C/C_T)
    one = np.zeros((10, 4))
    one[3, 1] = 1
    x1 = np.zeros((1, 10))
    x1[0, 3] = 0.2
    single = run_cycles(spec, one, x1)
    c_t = 10e-15 + 3e-15
    assert single.energy[0] == pytest.approx(1e-15 * 0.04 * (1 - 1e-15 / c_t), rel=1e-5)


@pytest.mark.ngspice
def test_transistor_switches_inject_charge_a_small_offset():
    # With 65 nm NMOS switches the reset transistor's channel charge and overlap capacitance
    # land on the column when it opens: an offset (negative for an NMOS) that ideal switches
    # do not have, of the order of its gate charge over C_T (a few mV here), and the same in
    # every cycle; the charge sharing itself stays linear in the inputs.
    spec = charge_spec(8, 3, switch="transistor", c_par=2e-15)
    bits, x = draw(8, 3, cycles=3, seed=4)
    run = run_cycles(spec, bits, x)
    ideal = shared_voltage(run.caps, bits, x, 2e-15)
    offset = run.v_col - ideal
    assert np.all(offset < 0) and np.all(offset > -0.05)
    assert np.abs(offset).max() > 1e-4  # injection is there
    # the same bits and twice the levels: the response is linear to a few percent
    # (the gain through the switches' junction capacitances, the offset unchanged)
    doubled = run_cycles(spec, bits, np.minimum(2 * x, 0.2))
    slope = (doubled.v_col - run.v_col) / (
        shared_voltage(run.caps, bits, np.minimum(2 * x, 0.2), 2e-15) - ideal
    )
    assert np.all(np.abs(slope - 1) < 0.1)


def test_bad_bits_and_levels_are_named():
    spec = charge_spec(3, 2)
    caps = cell_capacitances(spec)
    with pytest.raises(InputError, match=r"shape \(3, 2\)"):
        build_charge_deck(spec, np.ones((2, 3)), np.zeros((1, 3)), caps)
    with pytest.raises(InputError, match=r"0 or 1, got 0.5 at \(1, 0\)"):
        build_charge_deck(spec, [[1, 0], [0.5, 1], [0, 0]], np.zeros((1, 3)), caps)
    with pytest.raises(InputError, match=r"driver\.v_read"):
        build_charge_deck(spec, np.ones((3, 2)), np.full((1, 3), 0.5), caps)
    with pytest.raises(InputError, match="NaN"):
        build_charge_deck(spec, np.ones((3, 2)), np.full((1, 3), np.nan), caps)
    passive = spec_from_dict({"array": {"rows": 3, "cols": 2}})
    with pytest.raises(InputError, match='"1C"'):
        build_charge_deck(passive, np.ones((3, 2)), np.zeros((1, 3)), caps)
