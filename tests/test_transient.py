"""Transients: parasitic capacitance, step responses and settling times, through ngspice."""

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.engines.ngspice import NgspiceEngine
from cimspice.engines.transient import run_transient, settling_times
from cimspice.errors import InputError, SimulationError
from cimspice.metrics import max_error
from cimspice.netlist import Transient, build_deck
from cimspice.simulation import simulate
from cimspice.spec import spec_from_dict


def rc_spec(rows=1, cols=1, c_row=1e-12, **extra):
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols},
            "wire": {"r_row": 1e3, "r_col": 0.0, "c_row": c_row, **extra.get("wire", {})},
            "device": extra.get("device", {}),
        }
    )


def test_an_output_settling_near_zero_is_judged_against_full_scale():
    t = np.linspace(0, 10, 1001)
    waves = np.stack([1 - np.exp(-t), 1e-9 * np.exp(-t)], axis=1)  # second output -> ~0
    s = settling_times(t, waves, 1e-3)
    assert s[1] == 0.0  # always within 1e-3 of full scale (1), though not of its own value


def test_settling_times_of_known_waves():
    t = np.linspace(0, 10, 1001)
    waves = np.stack([1 - np.exp(-t), np.ones_like(t)], axis=1)
    s = settling_times(t, waves, 1e-3)
    # 1 - exp(-t) is within 1e-3 of its final value f = 1 - e^-10 once
    # e^-t - e^-10 <= 1e-3 f, i.e. from t = -ln(1e-3 f + e^-10) on (to the 0.01 grid)
    f = 1 - np.exp(-10)
    assert s[0] == pytest.approx(-np.log(1e-3 * f + np.exp(-10)), abs=0.011)
    assert s[1] == 0.0


def test_transient_deck_and_bad_windows():
    spec = rc_spec(2, 2, wire={"c_col": 1e-15}, device={"c_cell": 1e-16})
    deck = build_deck(
        spec, np.full((2, 2), 1e-5), np.ones(2) * 0.1, transient=Transient(1e-9, 1e-12)
    )
    assert deck.analysis == "tran" and ".tran 1e-12 1e-09" in deck.text
    assert "vd0 d0 0 pwl(0 0 1e-12 0.1)" in deck.text
    assert "cw0_1 w0_1 0 1e-12" in deck.text and "cc1_1 w1_1 s1 1e-16" in deck.text
    # r_col = 0: a bit line is one node (here the 0 V sense node of the ideal readout, which
    # needs no capacitor); behind a TIA it keeps the whole line's capacitance, rows * c_col
    assert " cb" not in deck.text.replace("* cb", "")
    tia = spec_from_dict({**spec.to_dict(), "readout": {"kind": "tia"}})
    tia_deck = build_deck(
        tia, np.full((2, 2), 1e-5), np.ones(2) * 0.1, transient=Transient(1e-9, 1e-12)
    )
    assert "cb0 s0 0 2e-15" in tia_deck.text and "cb1 s1 0 2e-15" in tia_deck.text
    # r_row = 0 (collapsed word line): one node holding cols * c_row
    flat = spec_from_dict({**spec.to_dict(), "wire": {**spec.to_dict()["wire"], "r_row": 0.0}})
    flat_deck = build_deck(
        flat, np.full((2, 2), 1e-5), np.ones(2) * 0.1, transient=Transient(1e-9, 1e-12)
    )
    assert "cd0" not in flat_deck.text  # the driver node itself needs none
    with pytest.raises(InputError, match="one input vector"):
        build_deck(spec, None, np.ones((2, 2)), transient=Transient(1e-9, 1e-12))
    with pytest.raises(InputError, match="below t_stop"):
        Transient(1e-9, 2e-9)


@pytest.mark.ngspice
def test_single_rc_settles_as_the_closed_form_says():
    # driver -> 1 kohm -> word node (1 pF to ground) -> 10 kohm cell -> virtual ground:
    # tau = C (R1 || R2), and the current reaches tol of its final value after tau ln(1/tol).
    spec = rc_spec()
    g = np.array([[1e-4]])
    r = run_transient(NgspiceEngine(), spec, g, np.array([0.2]), t_stop=20e-9, t_step=1e-11)
    tau = 1e-12 * (1e3 * 1e4 / (1e3 + 1e4))
    assert r.settling_time[0] == pytest.approx(tau * np.log(1e3), rel=0.02)  # 2%: the 10 ps
    # print step and 1 ps rise against a 6.3 ns settling time
    assert r.final_currents[0, 0] == pytest.approx(0.2 / 11e3, rel=1e-6)


@pytest.mark.ngspice
def test_final_values_are_the_dc_solution_and_capacitance_slows_settling():
    rng = np.random.default_rng(3)
    g = rng.uniform(1e-6, 1e-4, (8, 8))
    v = rng.uniform(0.05, 0.2, 8)
    times = []
    for c in (2e-14, 8e-14):  # 50 ohm segments: time constants of tens of ps
        wire = {"r_row": 50.0, "r_col": 50.0, "c_row": c, "c_col": c}
        spec = spec_from_dict({"array": {"rows": 8, "cols": 8}, "wire": wire})
        r = run_transient(NgspiceEngine(), spec, g, v, t_stop=2e-9, t_step=1e-12)
        dc = simulate(spec, g, v, engine="nodal").currents
        # settled well inside the window: the last point is the DC solution (1e-6 of
        # full scale; the band is 1e-3 and the tail decays exponentially)
        assert max_error(r.final_currents, dc) < 1e-6
        times.append(r.settling_time.max())
    assert times[1] > times[0]


@pytest.mark.ngspice
def test_a_window_too_short_to_settle_is_a_clear_error():
    with pytest.raises(SimulationError, match="did not settle") as info:
        run_transient(NgspiceEngine(), rc_spec(), np.array([[1e-4]]), np.array([0.2]), t_stop=2e-9)
    assert info.value.deck is not None and info.value.deck.exists()


@pytest.mark.ngspice
def test_transient_from_the_command_line(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text("[array]\nrows = 1\ncols = 1\n[wire]\nr_row = 1e3\nc_row = 1e-12\n")
    np.save(tmp_path / "g.npy", np.array([[1e-4]]))
    np.save(tmp_path / "v.npy", np.array([0.2]))
    out = tmp_path / "t.npz"
    code = main(
        [
            "simulate",
            str(spec),
            "--conductances",
            str(tmp_path / "g.npy"),
            "--inputs",
            str(tmp_path / "v.npy"),
            "--engine",
            "ngspice",
            "--analysis",
            "tran",
            "--t-stop",
            "20e-9",
            "--plot-dir",
            str(tmp_path / "p"),
            "-o",
            str(out),
        ]
    )
    assert code == 0
    with np.load(out) as data:
        assert data["currents_t"].shape == (data["time"].shape[0], 1)
        assert data["settling_time"].shape == (1,)
    assert (tmp_path / "p" / "settling.png").read_bytes()[:4] == b"\x89PNG"
    assert (
        main(
            [
                "simulate",
                str(spec),
                "--conductances",
                str(tmp_path / "g.npy"),
                "--inputs",
                str(tmp_path / "v.npy"),
                "--engine",
                "nodal",
                "--analysis",
                "tran",
                "--t-stop",
                "1e-9",
                "-o",
                str(out),
            ]
        )
        == 2
    )


@pytest.mark.ngspice
def test_pulse_width_encoding_collects_period_times_v_at_g():
    # No wires, no capacitance: each bit line collects exactly sum_i G_ij v_read t_i with
    # t_i = T V_i / v_read, i.e. T (V @ G); the 1 ps edges add +-(1 ps) v_read G per pulse,
    # 1e-3 of a 1 ns pulse, so 2e-3 bounds it.
    spec = spec_from_dict({"array": {"rows": 5, "cols": 4}, "driver": {"v_read": 0.2}})
    rng = np.random.default_rng(7)
    g = rng.uniform(1e-6, 1e-4, (5, 4))
    v = rng.uniform(0.02, 0.2, 5)
    r = run_transient(NgspiceEngine(), spec, g, v, t_stop=2e-9, t_step=1e-12, pulse_period=1e-9)
    np.testing.assert_allclose(r.charge, 1e-9 * (v @ g), rtol=2e-3)
    deck = build_deck(spec, g, v, transient=Transient(2e-9, 1e-12, pulse_period=1e-9))
    assert "pwl(0 0 1e-12 0.2 " in deck.text
    with pytest.raises(InputError, match="pulse-width encoding takes inputs in"):
        build_deck(spec, g, -v, transient=Transient(2e-9, 1e-12, pulse_period=1e-9))
