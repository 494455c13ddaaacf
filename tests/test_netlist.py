import re

import numpy as np
import pytest
from conftest import make_spec
from golden.make_golden import GOLDEN_G, GOLDEN_SPEC, GOLDEN_V, GOLDEN_V_BATCH, HERE, golden_decks

from cimspice.errors import InputError, NetlistError
from cimspice.netlist import build_deck, render
from cimspice.spec import spec_from_dict


@pytest.mark.parametrize("name", ["crossbar_2x2_op.cir", "crossbar_2x2_dc.cir"])
def test_golden_deck(name):
    # Exact text: node names, element order and number formatting are a contract (caches
    # and users' scripts key on them). Regenerate with tests/golden/make_golden.py on purpose.
    assert golden_decks()[name] == (HERE / name).read_text()


def test_render_is_deterministic_and_pure():
    spec = spec_from_dict(GOLDEN_SPEC)
    g = GOLDEN_G.copy()
    first = render(spec, g, GOLDEN_V)
    assert render(spec, g, GOLDEN_V) == first
    assert np.array_equal(g, GOLDEN_G)  # inputs untouched


def test_deck_structure_counts():
    rows, cols = 5, 3
    spec = make_spec(rows, cols, r_row=2.0, r_col=1.5, r_source=4.0, r_in=3.0)
    deck = render(spec, np.full((rows, cols), 1e-5), np.full(rows, 0.1))
    lines = [ln for ln in deck.splitlines() if ln and not ln.startswith("*")]
    count = lambda prefix: sum(1 for ln in lines if ln.startswith(prefix))  # noqa: E731
    assert count("rc") == rows * cols
    assert count("rw") == rows * cols  # first segment + (cols - 1) per word line
    assert count("rb") == rows * cols  # (rows - 1) inner + last segment per bit line
    assert count("vd") == rows and count("vs") == cols
    assert ".options klu" in lines and ".op" in lines and lines[-1] == ".end"
    # r_source adds to the first word-line segment, r_in to the last bit-line segment
    assert "rw0_0 d0 w0_0 6.0" in lines
    assert "rb4_2 b4_2 s2 4.5" in lines


def test_values_round_trip_exactly():
    rng = np.random.default_rng(3)
    g = rng.uniform(1e-6, 1e-4, (3, 4))
    v = rng.uniform(-0.2, 0.2, 3)
    deck = render(make_spec(3, 4, r_row=1.0, r_col=1.0), g, v)
    values = {m[0]: float(m[1]) for m in re.findall(r"^(rc\d+_\d+) \S+ \S+ (\S+)$", deck, re.M)}
    for (i, j), gij in np.ndenumerate(g):
        assert values[f"rc{i}_{j}"] == 1.0 / gij  # repr() round-trips doubles exactly
    sources = {m[0]: float(m[1]) for m in re.findall(r"^(vd\d+) \S+ 0 dc (\S+)$", deck, re.M)}
    assert [sources[f"vd{i}"] for i in range(3)] == v.tolist()


@pytest.mark.parametrize(
    ("kwargs", "word", "bit"),
    [
        ({}, "d1", "s2"),
        ({"r_source": 5.0}, "w1", "s2"),
        ({"r_in": 5.0}, "d1", "b2"),
        ({"r_row": 1.0, "r_col": 1.0}, "w1_2", "b1_2"),
    ],
)
def test_zero_resistance_lines_are_single_nodes(kwargs, word, bit):
    deck = build_deck(make_spec(3, 4, **kwargs), np.full((3, 4), 1e-5), np.full(3, 0.1))
    assert deck.word_nodes[1][2] == word and deck.bit_nodes[1][2] == bit
    assert f"rc1_2 {word} {bit} " in deck.text
    assert " 0.0\n" not in deck.text  # no zero-ohm resistor is ever written


def test_batch_deck_is_a_dc_sweep_over_vectors():
    spec = spec_from_dict(GOLDEN_SPEC)
    deck = build_deck(spec, GOLDEN_G, GOLDEN_V_BATCH)
    assert deck.analysis == "dc" and deck.batch == 2
    assert ".dc temp 0 1 1" in deck.text and "vvec" not in deck.text
    assert "bd1 d1 0 v = pwl(temper, -0.25, 0.2, 0.25, 0.2, 0.75, -0.05, 1.25, -0.05)" in deck.text
    assert deck.driver_sources == ("bd0", "bd1")
    index = build_deck(spec, GOLDEN_G, GOLDEN_V_BATCH, sweep="index")
    assert ".dc vvec 0 1 1" in index.text and "vvec vec 0 dc 0" in index.text
    assert "bd0 d0 0 v = pwl(v(vec), " in index.text


def test_save_nodes_switch(monkeypatch):
    import cimspice.netlist as netlist

    spec = spec_from_dict(GOLDEN_SPEC)
    assert ".save all" in render(spec, GOLDEN_G, GOLDEN_V, save_nodes=True)
    assert ".save i(vs0) i(vs1) i(vd0) i(vd1)" in render(spec, GOLDEN_G, GOLDEN_V, save_nodes=False)
    assert ".save all" in render(spec, GOLDEN_G, GOLDEN_V)  # small: everything
    # 2x2 with 3 vectors: 12 vectors * 3 points * 8 bytes = 288 bytes of results
    monkeypatch.setattr(netlist, "SAVE_ALL_LIMIT_BYTES", 287)
    assert ".save i(vs0)" in render(spec, GOLDEN_G, np.ones((3, 2)))
    monkeypatch.setattr(netlist, "SAVE_ALL_LIMIT_BYTES", 288)
    assert ".save all" in render(spec, GOLDEN_G, np.ones((3, 2)))


def test_defaults_without_arrays():
    spec = make_spec(2, 3)
    deck = render(spec)
    assert deck.count(f" {1 / spec.device.g_max!r}\n") == 6
    assert deck.count(f"dc {spec.driver.v_read!r}\n") == 2


@pytest.mark.parametrize(
    ("g", "v", "fragment"),
    [
        (np.ones((3, 2)) * 1e-5, np.ones(2), "shape"),
        (np.ones((2, 3)) * 1e-5, np.ones(3), "rows = 2"),
        (-np.ones((2, 3)), np.ones(2), ">= 0"),
        (np.full((2, 3), np.nan), np.ones(2), "non-finite"),
        (np.ones((2, 3)) * 1e-5, np.array([1.0, np.inf]), "non-finite"),
        (np.ones((2, 3), dtype=complex), np.ones(2), "real numbers"),
        (np.ones((2, 3)) * 1e-5, np.zeros((0, 2)), "empty batch"),
    ],
)
def test_bad_arrays(g, v, fragment):
    with pytest.raises(InputError, match=fragment):
        render(make_spec(2, 3), g, v)


def test_missing_template(monkeypatch):
    import cimspice.netlist as netlist

    monkeypatch.setattr(netlist, "TEMPLATE", "no_such_template.cir.j2")
    with pytest.raises(NetlistError, match="no_such_template"):
        render(make_spec(1, 1))
