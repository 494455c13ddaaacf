"""1T1R cells: memristor + BSIM4 access transistor, through real ngspice."""

import itertools
import warnings

import numpy as np
import pytest

from cimspice.errors import CircuitWarning, EngineUnavailableError, NetlistError, SpecError
from cimspice.metrics import max_error
from cimspice.netlist import build_deck, render
from cimspice.resources import data_dir
from cimspice.simulation import get_engine, simulate
from cimspice.spec import load_spec, spec_from_dict


def spec_1t1r(rows=12, cols=10, **access):
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols, "cell": "1T1R"},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "access": access,
        }
    )


def passive(rows=12, cols=10):
    return spec_from_dict(
        {"array": {"rows": rows, "cols": cols}, "wire": {"r_row": 2.0, "r_col": 2.0}}
    )


def arrays(rows=12, cols=10, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(1e-6, 1e-4, (rows, cols)), rng.uniform(0.0, 0.2, (batch, rows))


def test_deck_holds_transistors_select_lines_and_the_model():
    deck = build_deck(spec_1t1r(2, 2), np.full((2, 2), 1e-5), np.array([[0.1, 0.2], [0.2, 0.1]]))
    text = deck.text
    assert "rc0_1 w0_1 m0_1 " in text
    assert "mn0_1 m0_1 g0 b0_1 0 nmos65 w=5e-07 l=6.5e-08" in text
    assert "vg1 g1 0 dc 1.2" in text
    assert ".model nmos65 nmos level=54" in text  # the deck is self-contained
    assert ".dc vvec 0 1 1" in text  # transistors depend on temperature: index sweep
    with pytest.raises(NetlistError, match="temperature sweep"):
        build_deck(spec_1t1r(2, 2), None, np.ones((2, 2)) * 0.1, sweep="temp")


def test_select_line_resistance_makes_a_chain():
    text = render(spec_1t1r(2, 3, r_select=5.0), np.full((2, 3), 1e-5), np.ones(2) * 0.1)
    assert "rg1_2 g1_1 g1_2 5.0" in text and "mn1_2 m1_2 g1_2 b1_2 0" in text


def test_nodal_refuses_transistors():
    g, v = arrays()
    with pytest.raises(EngineUnavailableError, match="transistors: use the ngspice engine"):
        simulate(spec_1t1r(), g, v, engine="nodal")


@pytest.mark.ngspice
def test_wide_transistor_approaches_the_passive_array():
    g, v = arrays()
    wide = simulate(spec_1t1r(w=50e-6), g, v, engine="ngspice").currents
    bare = simulate(passive(), g, v, engine="nodal").currents
    # A 50 um access transistor at 1.2 V is ~12 ohm next to >= 10 kohm cells: within 0.5%
    # of the passive array (measured 0.06%), and never above it.
    assert max_error(wide, bare) < 5e-3
    assert np.all(wide <= bare * (1 + 1e-9))


@pytest.mark.ngspice
def test_closed_gates_collapse_the_currents():
    g, v = arrays()
    with pytest.warns(CircuitWarning, match=r"v_gate = 0.0 V is below the threshold"):
        off = simulate(spec_1t1r(v_gate=0.0), g, v, engine="ngspice").currents
    on = simulate(spec_1t1r(), g, v, engine="ngspice").currents
    # subthreshold leakage of a 500 nm device at Vgs = 0: nA against tens of uA
    assert np.max(np.abs(off)) < 1e-4 * np.max(on)


@pytest.mark.ngspice
def test_currents_grow_with_gate_voltage():
    g, v = arrays(batch=2)
    totals = []
    for v_gate in (0.5, 0.7, 0.9, 1.1, 1.3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CircuitWarning)
            out = simulate(spec_1t1r(v_gate=v_gate), g, v, engine="ngspice").currents
        totals.append(out)
    for lower, higher in itertools.pairwise(totals):
        assert np.all(higher > lower)


@pytest.mark.ngspice
def test_batch_sweep_equals_one_run_per_vector():
    g, v = arrays(batch=3, seed=4)
    spec = spec_1t1r()
    batch = simulate(spec, g, v, engine="ngspice").currents
    single = np.concatenate(
        [simulate(spec, g, v[k : k + 1], engine="ngspice").currents for k in range(3)]
    )
    # The .dc sweep (index source) and separate .op runs solve the same nonlinear circuit,
    # both with the deck's tightened Newton tolerances (reltol 1e-9): 1e-6 of full scale is
    # the engines' contract.
    assert max_error(batch, single) <= 1e-6


@pytest.mark.ngspice
def test_a_users_model_file(tmp_path):
    card = (data_dir("models") / "nmos65.lib").read_text().replace("nmos65 nmos", "myfet nmos")
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "foundry.lib").write_text(card)
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(
        '[array]\nrows = 4\ncols = 3\ncell = "1T1R"\n[wire]\nr_row = 2.0\nr_col = 2.0\n'
        '[access]\nmodel = "myfet"\nmodel_file = "cards/foundry.lib"\n'
    )
    spec = load_spec(spec_file)
    g, v = arrays(4, 3, 2)
    mine = get_engine("ngspice").run(spec, g, v).currents
    builtin = get_engine("ngspice").run(spec_1t1r(4, 3), g, v).currents
    np.testing.assert_allclose(mine, builtin, rtol=1e-12)  # the same card under another name
    spec_file.write_text(spec_file.read_text().replace("cards/foundry.lib", "cards/none.lib"))
    with pytest.raises(SpecError, match="model file not found"):
        get_engine("ngspice").run(load_spec(spec_file), g, v)


@pytest.mark.ngspice
def test_a_model_ngspice_rejects_is_a_clear_error(tmp_path):
    from cimspice.errors import SimulationError

    (tmp_path / "bad.lib").write_text(".model myfet nmos level=54 vth0=\n")
    spec = spec_from_dict(
        {
            "array": {"rows": 2, "cols": 2, "cell": "1T1R"},
            "access": {"model": "myfet", "model_file": "bad.lib"},
        },
        source=tmp_path / "spec.toml",  # the folder that model_file is taken from
    )
    with pytest.raises(SimulationError) as info:
        simulate(spec, np.full((2, 2), 1e-5), np.ones(2) * 0.1, engine="ngspice")
    assert info.value.deck is not None and info.value.deck.exists()


@pytest.mark.ngspice
def test_surrogate_models_the_measured_access_transistor(tmp_path):
    from cimspice.surrogate.calibrate import calibrate
    from cimspice.surrogate.model import load_surrogate

    spec = spec_1t1r(12, 12)
    result = calibrate(spec, samples=3, batch=6, seed=2, cache_dir=tmp_path)
    surrogate = result.surrogate
    assert surrogate.transistor is not None  # the I-V swept in ngspice
    assert surrogate.params.r_cell == 0 and surrogate.params.r_cell_g == 0
    # Near Vds = 0 the table's slope (source at 0 V) is the on-resistance the card gives
    # (590 ohm*um at W = 0.5 um: ~1.2 kohm), and a risen source turns the transistor less on.
    t = surrogate.transistor
    middle = len(t.voltages) // 2
    r_on = (t.voltages[middle + 1] - t.voltages[middle]) / (
        t.currents[0, middle + 1] - t.currents[0, middle]
    )
    assert 300 < r_on < 3000
    assert np.all(np.diff(t.currents[:, middle + 1]) < 0)
    m = result.metrics
    # Held out, against ngspice: the accurate mode (Newton with the measured transistor and
    # the bit lines' rise under its source) meets the surrogate issue's 0.01%; the fast mode
    # (secant transfer matrices) its 0.05%; measured ~2e-5 and ~1e-4 on small tiles.
    assert m["surrogate"]["nrmse"] <= 1e-4
    assert m["surrogate-fast"]["nrmse"] <= 5e-4
    assert m["surrogate-fast"]["nrmse"] < 0.05 * m["ideal"]["nrmse"]
    path = tmp_path / "s.json"
    surrogate.save(path)
    again = load_surrogate(path)
    g, v = arrays(12, 12, 4)
    for mode in ("accurate", "fast"):
        np.testing.assert_allclose(
            again.currents(g, v, mode), surrogate.currents(g, v, mode), rtol=1e-12
        )
