"""Dynamic memristor models in ngspice against their equations integrated by scipy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cimspice.errors import ModelFileError, SpecError
from cimspice.spec import spec_from_dict
from cimspice.write.equations import current, integrate
from cimspice.write.models import dynamic_model, read_table
from cimspice.write.pulses import Phase, Program, rest
from cimspice.write.run import run_program

pytestmark = pytest.mark.ngspice

EDGE = 1e-9


def one_device(model: str, **write) -> object:
    return spec_from_dict({"array": {"rows": 1, "cols": 1}, "write": {"model": model, **write}})


def flat_pulse(spec, volts: float, pieces: int, piece_s: float) -> Program:
    """A pulse of ``volts`` on the word line (bit line at 0), held for ``pieces`` phases of
    ``piece_s`` each (the first with the rising edge), then a rest: the phase ends sample the
    state trajectory."""
    level = lambda: Phase("set", piece_s, np.array([volts]), np.zeros(1), np.zeros(1))  # noqa: E731
    return Program((*(level() for _ in range(pieces)), rest(spec, 20e-9)), EDGE)


def pwl_of(program: Program, volts: float, polarity: int) -> tuple[np.ndarray, np.ndarray]:
    """The device voltage v(p, n) of ``flat_pulse`` as (times, volts) corners."""
    end_flat = program.ends[-2]
    v = polarity * volts
    return (
        np.array([0.0, EDGE, end_flat, end_flat + EDGE, program.t_stop]),
        np.array([0.0, v, v, 0.0, 0.0]),
    )


@pytest.mark.parametrize(
    ("model", "volts", "state0"),
    [
        ("stanford", 2.0, 1.6),  # SET from the high-resistance end: abrupt (thermal runaway)
        ("stanford", -2.0, 0.3),  # RESET
        ("vteam", 0.25, 0.8),  # SET (negative v(p, n) in the model's own polarity)
        ("vteam", -0.06, 0.1),  # RESET, slow (k_off is small)
    ],
)
def test_state_under_a_pulse_agrees_with_the_ode(model, volts, state0):
    spec = one_device(model)
    m = dynamic_model(spec)
    program = flat_pulse(spec, volts, pieces=20, piece_s=9e-9)
    spice = run_program(spec, program, np.full((1, 1), state0), reltol=1e-7, progress=False)
    # the word line is the device's p terminal for set_polarity +1, its n terminal for -1
    ode = integrate(model, dict(m.params), pwl_of(program, volts, m.set_polarity), state0)
    expected = ode(program.ends)
    got = spice.states[1:, 0, 0]
    span = m.state_max - m.state_min
    # 1e-4 of the state range: the target; ngspice at reltol 1e-7 reached ~3e-5
    # against Radau at rtol 1e-10 (the ODE's own error is far below that)
    assert np.max(np.abs(got - expected)) <= 1e-4 * span
    assert abs(expected[-1] - state0) > 0.02 * span  # the pulse really moved the state


@pytest.mark.parametrize("volts", [0.019, -0.19])
def test_vteam_does_not_move_below_its_thresholds(volts):
    # v_off = 0.02 V and v_on = -0.2 V in the model's polarity (the word line is its n end)
    spec = one_device("vteam")
    program = flat_pulse(spec, -volts, pieces=2, piece_s=1e-6)
    spice = run_program(spec, program, np.full((1, 1), 0.5), reltol=1e-7, progress=False)
    assert np.all(spice.states[:, 0, 0] == 0.5)  # exactly: the rate is 0 below threshold
    above = flat_pulse(spec, -1.2 * volts, pieces=2, piece_s=1e-6)
    moved = run_program(spec, above, np.full((1, 1), 0.5), reltol=1e-7, progress=False)
    assert abs(moved.final_states[0, 0] - 0.5) > 1e-3


@pytest.mark.parametrize("model", ["stanford", "vteam"])
def test_read_table_is_the_models_current_law(model):
    m = dynamic_model(one_device(model))
    table = read_table(m, 0.2)
    v = 0.2 * m.set_polarity
    law = np.array([current(model, dict(m.params), v, x) / v for x in table.states])
    np.testing.assert_allclose(table.conductances, law, rtol=1e-9)  # DC: solver precision
    g = np.geomspace(table.g_low, table.g_high, 7)
    np.testing.assert_allclose(table.conductance(table.state_for(g)), g, rtol=1e-5)


def test_stanford_window_is_in_the_cim_range_and_sets_towards_small_gaps():
    table = read_table(dynamic_model(one_device("stanford")), 0.2)
    assert 1e-7 < table.g_low < 1e-6 and 5e-5 < table.g_high < 2e-4
    assert table.state_on == pytest.approx(0.1) and table.state_off == pytest.approx(1.7)


def test_parameter_overrides_reach_the_instances():
    m = dynamic_model(one_device("vteam", model_params={"r_on": 10e3, "r_off": 1e6}))
    table = read_table(m, 0.01)
    assert table.g_high == pytest.approx(1e-4, rel=1e-6)
    assert table.g_low == pytest.approx(1e-6, rel=1e-6)


def test_unknown_parameter_of_a_builtin_is_named():
    with pytest.raises(SpecError, match=r"write\.model_params\.r_onn.*no parameter 'r_onn'"):
        dynamic_model(one_device("vteam", model_params={"r_onn": 1.0}))
    with pytest.raises(SpecError, match="unknown dynamic model 'nope'"):
        dynamic_model(one_device("nope"))


USER_MODEL = """* a linear-drift memristor of my own: state 0..1, G from 1 uS to 100 uS
.subckt mymem p n x k=1e7 vt=0.5
bi p n i = v(p, n) * (1e-6 + 99e-6 * v(x))
bx 0 x i = {k} * (max(v(p, n) - {vt}, 0) * (1 - v(x)) + min(v(p, n) + {vt}, 0) * v(x))
cx x 0 1
.ends mymem
"""


def test_a_users_behavioural_model_runs_like_the_builtins(tmp_path: Path):
    (tmp_path / "mymem.lib").write_text(USER_MODEL)
    spec = spec_from_dict(
        {
            "array": {"rows": 1, "cols": 1},
            "write": {"model": "mymem", "model_file": "mymem.lib", "model_params": {"k": 2e7}},
        },
        source=tmp_path / "spec.toml",
    )
    m = dynamic_model(spec)
    table = read_table(m, 0.2)
    assert table.state_on == 1.0 and table.g_high == pytest.approx(100e-6, rel=1e-9)
    program = flat_pulse(spec, 1.0, pieces=1, piece_s=50e-9)
    out = run_program(spec, program, np.zeros((1, 1)), reltol=1e-7, progress=False)
    # dx/dt = k (v - vt)(1 - x), so x = 1 - exp(-k * integral of (v - vt) where v > vt): the
    # rising edge (0 -> 1 V in EDGE) gives 0.125 V * EDGE, the flat top 0.5 V * 50 ns
    exponent = 2e7 * (0.125 * EDGE + 0.5 * 50e-9)
    # ngspice at reltol 1e-7 against the closed form: 1e-5 relative with margin
    assert out.states[1, 0, 0] == pytest.approx(1 - np.exp(-exponent), rel=1e-5)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (".control\nshell ls\n.endc\n", "a .control block"),
        (".subckt two p n\nr1 p n 1k\n.ends two\n", "has 2 ports"),
        (".include other.lib\n", "an .include"),
    ],
)
def test_a_users_model_file_is_checked(tmp_path: Path, text, what):
    (tmp_path / "bad.lib").write_text(text)
    spec = spec_from_dict(
        {"array": {"rows": 1, "cols": 1}, "write": {"model": "two", "model_file": "bad.lib"}},
        source=tmp_path / "spec.toml",
    )
    with pytest.raises(ModelFileError, match=what) as info:
        dynamic_model(spec)
    assert info.value.key in ("write.model_file", "write.model")
