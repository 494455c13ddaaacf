"""Row decks of 1T1R writes: the static-row approximations against the all-dynamic deck, row
decks in write-verify against the whole-array program, and the programming model calibrated
from row-deck write-verify against held-out SPICE runs."""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.errors import InputError
from cimspice.spec import spec_from_dict
from cimspice.write.calibrate import calibrate_programming, compare, ks_distance, model_errors
from cimspice.write.pulses import Program, read_row, row_pulse
from cimspice.write.run import run_program
from cimspice.write.verify import VerifyPolicy, write_verify

pytestmark = pytest.mark.ngspice

WINDOW = 45e-6  # g_max - g_min of the specs below


def one_t(n: int, seed: int = 0, **write) -> object:
    """A 1T1R array of VTEAM devices whose window covers 5-50 uS (the benchmark's)."""
    return spec_from_dict(
        {
            "array": {"rows": n, "cols": n, "cell": "1T1R"},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "device": {"g_min": 5e-6, "g_max": 50e-6},
            "write": {
                "model": "vteam",
                "model_params": {"r_on": 1.8e4, "r_off": 1e6},
                "t_pulse": 50e-9,
                "v_gate_set": 1.0,
                "v_gate_reset": 3.0,
                "variation": 0.2,
                "seed": seed,
                **write,
            },
        }
    )


def test_static_rows_against_the_all_dynamic_deck_on_8x8():
    spec = one_t(8)
    rng = np.random.default_rng(3)
    x0 = rng.uniform(0.05, 0.95, (8, 8))  # every cell somewhere else in its window
    row = 3
    program = Program(
        (
            row_pulse(spec, row, rng.uniform(0.02, 0.06, 8), "reset"),
            read_row(spec, row, 20e-9),
            row_pulse(spec, row, np.where(np.arange(8) % 2 == 0, 0.8, 0.0), "set"),
            read_row(spec, row, 20e-9),
        ),
        1e-9,
    )
    full = run_program(spec, program, x0, progress=False)
    static = run_program(spec, program, x0, progress=False, dynamic_rows=[row])
    opened = run_program(spec, program, x0, progress=False, dynamic_rows=[row], static_cells="open")
    moved = np.abs(full.final_states[row] - x0[row])
    assert moved.min() > 1e-3  # the written row did change: the comparison has content
    others = np.delete(np.arange(8), row)
    # the assumption itself: behind their off transistors the other rows' cells see almost
    # no voltage, and a VTEAM device below its thresholds does not move at all (ngspice's
    # rounding only: measured 1.4e-14)
    assert np.max(np.abs(full.final_states[others] - x0[others])) < 1e-9
    for approx in (static, opened):
        np.testing.assert_array_equal(approx.final_states[others], x0[others])
        # the written row's states: the same circuit but for the other rows' cells, which
        # carry the off transistors' leakage only; what else differs is ngspice's time steps,
        # which its reltol (1e-5) bounds (measured 3e-11 with the static rows as resistors,
        # 1.6e-6 with them left out, of the state range)
        np.testing.assert_allclose(approx.states[:, row], full.states[:, row], rtol=0, atol=1e-5)
        # the verify reads (phases 1 and 3) as a fraction of the 45 uS window: 1e-5, ten times
        # the time-step error of a read (measured 1e-11 and 5e-7)
        for k in (1, 3):
            dg = (approx.bit_currents[k] - full.bit_currents[k]) / spec.driver.v_read
            assert np.max(np.abs(dg)) / WINDOW < 1e-5
        # energy, relative: the left-out cells' leakage and capacitance (measured 7e-12, 4e-7)
        assert abs(approx.total_energy - full.total_energy) < 1e-5 * full.total_energy


def test_a_verify_read_is_the_same_at_the_end_of_two_reads_in_a_row():
    # after a RESET (gate at 3 V) the read's gate edge injects charge into the access
    # transistors; under the trapezoidal rule it rang, step after step, and a read at a flat
    # phase's end came out up to 50% off on a 1.7 uS cell at reltol 1e-5 (the deck now
    # integrates with Gear): two reads of one state must agree
    spec = one_t(2)
    x0 = np.array([[0.87, 0.3], [0.5, 0.5]])
    program = Program(
        (
            row_pulse(spec, 0, np.array([0.04, 0.05]), "reset"),
            read_row(spec, 0, 20e-9),
            read_row(spec, 0, 100e-9),
        ),
        1e-9,
    )
    out = run_program(spec, program, x0, progress=False)
    # a read moves no VTEAM state (0.2 V is below its thresholds), so the two read currents
    # are of one state: 1e-5 relative is ngspice's reltol
    np.testing.assert_allclose(out.bit_currents[2], out.bit_currents[1], rtol=1e-5)
    # and they are the cells' conductance at that state in series with the on transistor:
    # below the model's own read conductance, by at most the transistor's share (5%)
    from cimspice.write.models import dynamic_model, read_table

    g = read_table(dynamic_model(spec), 0.2).conductance(out.final_states[0])
    ratio = out.bit_currents[2] / 0.2 / g
    assert np.all((ratio < 1) & (ratio > 0.95))


def test_static_rows_are_refused_where_the_approximation_does_not_hold():
    spec = one_t(3)
    x0 = np.full((3, 3), 0.5)
    program = Program((read_row(spec, 1, 20e-9),), 1e-9)
    with pytest.raises(InputError, match="turns on the gate of row 1"):
        run_program(spec, program, x0, progress=False, dynamic_rows=[0])
    with pytest.raises(InputError, match="static_cells must be 'resistor' or 'open'"):
        run_program(spec, program, x0, progress=False, dynamic_rows=[1], static_cells="lumped")
    passive = spec_from_dict({"array": {"rows": 2, "cols": 2}, "write": {"model": "vteam"}})
    with pytest.raises(InputError, match=r"static rows .* need 1T1R cells"):
        run_program(
            passive, Program((read_row(passive, 0, 20e-9),), 1e-9), np.full((2, 2), 0.5),
            progress=False, dynamic_rows=[0],
        )  # fmt: skip
    with pytest.raises(InputError, match="row_decks needs 1T1R cells"):
        write_verify(passive, np.full((2, 2), passive.device.g_min), row_decks=True)


POLICY = VerifyPolicy(tol=0.04, v_set_start=0.8, v_reset_start=0.03, step=0.004, max_pulses=30)
"""Coarser than the benchmark's (fewer pulses): tests stay short."""


def test_row_decks_program_what_the_whole_array_deck_programs():
    spec = one_t(3)
    targets = np.random.default_rng(5).uniform(5e-6, 50e-6, (3, 3))
    whole = write_verify(spec, targets, POLICY, progress=False)
    rows = write_verify(spec, targets, POLICY, progress=False, row_decks=True, jobs=2)
    opened = write_verify(
        spec, targets, POLICY, progress=False, row_decks=True, static_cells="open", jobs=2
    )
    assert whole.converged.all()
    for r in (rows, opened):
        # the same pulses, cell by cell: every verify decision came out the same
        np.testing.assert_array_equal(r.pulses, whole.pulses)
        # reads: the off cells' leakage, and the decks' time steps, whose state differences
        # add up over ~20 pulses (measured 3e-4 of the window after the last): 1e-3
        assert np.max(np.abs(r.history - whole.history)) / WINDOW < 1e-3
        # time adds the same phases (rows in turn); energy within the left-out leakage
        assert r.time_s == pytest.approx(whole.time_s, rel=1e-12)
        assert r.energy_j == pytest.approx(whole.energy_j, rel=1e-3)


def test_calibrated_programming_model_against_held_out_row_deck_runs():
    runs = []
    for seed in (0, 1, 2):
        targets = np.random.default_rng(10 + seed).uniform(5e-6, 50e-6, (4, 4))
        runs.append(
            write_verify(
                one_t(4, seed=seed), targets, POLICY, progress=False, row_decks=True,
                static_cells="open", jobs=2,
            )
        )  # fmt: skip
    model = calibrate_programming(runs[:2], bins=2, source="test")
    held = runs[2]
    c = compare(model, held, draws=50)
    spice = held.errors.ravel()
    # write-verify stops a cell once inside the band: the errors lie in [-tol, tol] plus
    # the last pulse's overshoot, and the model draws from the same stopping rule
    assert np.all(np.abs(spice) <= POLICY.tol + 0.02)
    # the empirical model against 16 held-out cells: a two-sample KS distance below 0.4
    # (the 1% critical value for 16 against 800 draws is 1.63 sqrt(1/16 + 1/800) = 0.41)
    assert c["ks"] < 0.41
    # ...which the same statistic would reject for a model off by the tolerance
    shifted, _, _ = model_errors(model, held.targets, draws=50)
    assert ks_distance(shifted + POLICY.tol, spice) > 0.41
    # the spread: within a factor 2 of SPICE's for both models (16 cells: the sample
    # standard deviation is uncertain by ~20%, and the Gaussian fit carries no mean offset)
    for key in ("std_model", "std_generic"):
        assert c["std_spice"] / 2 < c[key] < 2 * c["std_spice"]
    # pulses per cell: the model's draws within 30% of SPICE's mean
    assert c["pulses_model"] == pytest.approx(c["pulses_spice"], rel=0.3)


def test_cli_write_verify_in_row_decks(tmp_path, capsys):
    from cimspice.cli import main

    spec = tmp_path / "a.toml"
    spec.write_text(
        '[array]\nrows = 2\ncols = 2\ncell = "1T1R"\n[device]\ng_min = 5e-6\ng_max = 50e-6\n'
        '[write]\nmodel = "vteam"\nt_pulse = 50e-9\nv_gate_reset = 3.0\n'
        "model_params = { r_on = 1.8e4, r_off = 1e6 }\n"
    )
    out = tmp_path / "v.npz"
    code = main(
        ["write", "verify", str(spec), "--row-decks", "--static-cells", "open", "--jobs", "2",
         "--max-pulses", "3", "--v-set-start", "0.8", "--v-reset-start", "0.03", "--step",
         "0.004", "--on-crossing", "restart", "--min-step", "0.001", "-o", str(out),
         "--no-progress"]
    )  # fmt: skip
    assert code == 0
    with np.load(out) as data:
        assert data["history"].shape[1:] == (2, 2) and data["pulses"].max() <= 3
    assert "write-verify of 4 cells" in capsys.readouterr().out
    passive = tmp_path / "p.toml"
    passive.write_text('[array]\nrows = 2\ncols = 2\n[write]\nmodel = "vteam"\n')
    assert main(["write", "verify", str(passive), "--row-decks", "-o", str(out)]) == 1
    assert "row_decks needs 1T1R cells" in capsys.readouterr().err
