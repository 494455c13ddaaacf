"""Model files and spec strings are untrusted: nothing in them runs, reaches other files or is
echoed; legitimate cards (a .model, a subcircuit wrapper, .lib corners) run from any folder.

The imports of the new module sit inside the tests that need it, so that the tests of public
behaviour fail on a cimspice without these checks for the right reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import cimspice
from cimspice.errors import CircuitWarning, SpecError
from cimspice.netlist import render
from cimspice.resources import data_dir
from cimspice.simulation import simulate
from cimspice.spec import load_spec, spec_from_dict

PACKAGE_ROOT = Path(cimspice.__file__).resolve().parents[1]
"""The folder holding the cimspice these tests import (the CLI runs the same one)."""
SECRET = "XYZZY_not_for_your_eyes"
"""A marker put into refused lines: no error message may hold it."""

SPEC_1T1R = """[array]
rows = 3
cols = 2
cell = "1T1R"
[wire]
r_row = 2.0
r_col = 2.0
[access]
model = "{model}"
model_file = "{model_file}"
"""


def nmos_card(name: str = "myfet") -> str:
    """The built-in NMOS card (its .model statement and continuation lines), renamed."""
    lines = (data_dir("models") / "nmos65.lib").read_text().splitlines()
    start = lines.index(next(ln for ln in lines if ln.startswith(".model nmos65 nmos")))
    end = start + 1
    while end < len(lines) and lines[end].startswith("+"):
        end += 1
    return "\n".join(lines[start:end]).replace("nmos65", name) + "\n"


def subckt_card() -> str:
    """A foundry-style wrapper: the NMOS inside a 4-port subcircuit taking w and l, with a
    0 V sense source on its drain (the transistor is the built-in one)."""
    return (
        "* a subcircuit-wrapped model, as foundry kits ship them\n"
        ".subckt myfet d g s b w=1e-6 l=1e-6  $ ports: drain gate source body\n"
        "vsense d di 0\n"
        "m0 di g s b core w={w} l={l}\n"
        ".ends myfet\n" + nmos_card("core")
    )


def write_spec(folder: Path, model_file: str, model: str = "myfet", extra: str = "") -> Path:
    spec = folder / "spec.toml"
    spec.write_text(SPEC_1T1R.format(model=model, model_file=model_file) + extra)
    return spec


def arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(1e-6, 1e-4, (3, 2)), rng.uniform(0.0, 0.2, (2, 3))


def builtin_1t1r():
    return spec_from_dict(
        {
            "array": {"rows": 3, "cols": 2, "cell": "1T1R"},
            "wire": {"r_row": 2.0, "r_col": 2.0},
        }
    )


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The command line run from ``cwd``, importing the cimspice under test."""
    path = os.pathsep.join([str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    return subprocess.run(
        [sys.executable, "-m", "cimspice.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=cwd,
        env=env,
    )


# ----- what a model file may hold -----


def test_the_builtin_cards_pass_the_rules():
    from cimspice.model_cards import builtin_model_cards

    cards = builtin_model_cards(data_dir("models") / "nmos65.lib")
    assert cards.models == {"nmos65": "nmos", "pmos65": "pmos"}
    assert cards.text.startswith("* nmos65 / pmos65")  # shipped cards keep their comments


def test_real_card_shapes_are_accepted_and_comments_dropped():
    from cimspice.model_cards import parse_model_cards

    text = (
        "* header *# shell touch x\n"
        "# a hash comment\n"
        "$ a dollar comment\n"
        "\n"
        "  .PARAM toxe_n = 1.85e-9 ; inline comment\n"
        ".func dvt(x) {x * 2}\n"
        ".subckt nch d g s b params: w=1u l=1u nf=1\n"
        "+ mult=1\n"
        "* a comment between statements\n"
        ".subckt inner a b\n"
        "r1 a b 10\n"
        ".ends inner\n"
        "m1 d g s b nch_core w={w} l={l}\n"
        "rd d d1 {10/w}  $ drain resistance\n"
        "cgd g d 1f\n"
        "dsb s b dio\n"
        "xin d s inner\n"
        "e1 x 0 d s 1\n"
        "b1 y 0 v = v(d, s) * 2\n"
        "vdc d2 s dc 0\n"
        "ib b s 1n\n"
        ".ends nch\n"
        ".model nch_core.1 nmos level=54 toxe={toxe_n}\n"
        ".model nch_core.2 nmos (level=54 lmin=1e-7)\n"
        ".model dio d is=1e-14\n"
        ".MODEL Q1 NPN(BF=100)\n"
    )
    cards = parse_model_cards(text, name="foundry.lib")
    assert cards.subckts == {"nch": 4}  # inner is nested: not callable from the deck
    assert cards.models == {"nch_core.1": "nmos", "nch_core.2": "nmos", "dio": "d", "q1": "npn"}
    assert "*" not in cards.text.replace("* 2", "") and "comment" not in cards.text
    assert "shell" not in cards.text and "#" not in cards.text
    assert cards.transistor_problem("nch") is None
    assert cards.transistor_problem("nch_core") is None  # a binned model (nch_core.1, .2)
    assert cards.instance_prefix("NCH") == "x" and cards.instance_prefix("nch_core") == ""
    assert "of type d" in (cards.transistor_problem("dio") or "")
    assert "no .model or .subckt named 'inner'" in (cards.transistor_problem("inner") or "")


REFUSED = [
    (".control\nshell touch {s}\n.endc\n", 1, "a .control block"),
    ("  .CONTROL {s}\n", 1, "a .control block"),
    (".controls {s}\n", 1, "a .control block"),  # ngspice's reader takes any .control prefix
    (".endc {s}\n", 1, "a .control block"),
    ("shell touch {s}\n", 1, "an ngspice command"),
    ("source {s}\n", 1, "an ngspice command"),
    (".include /etc/{s}\n", 1, "an .include"),
    (".inc {s}.lib\n", 1, "an .include"),
    (".lib /elsewhere/{s}.lib tt\n", 1, "a .lib reference to another file"),
    (".exec {s}\n", 1, "an .exec block"),
    (".options gmin={s}\n", 1, "an .options line"),
    (".option klu {s}\n", 1, "an .options line"),
    (".tran 1n 1u {s}\n", 1, "an analysis statement"),
    (".op {s}\n", 1, "an analysis statement"),
    (".dc v1 0 1 0.1 {s}\n", 1, "an analysis statement"),
    (".meas tran {s} max v(x)\n", 1, "an output statement"),
    (".save {s}\n", 1, "an output statement"),
    (".end {s}\n", 1, "an .end line"),
    (".temp 125 {s}\n", 1, "a .temp line"),
    (".global {s}\n", 1, "a .global line"),
    (".ic v({s})=1\n", 1, "an initial-condition"),
    (".if (1)\n.model {s} nmos\n.endif\n", 1, "a conditional block"),
    (".frobnicate {s}\n", 1, "an unrecognised dot statement"),
    ("r{s} b0_0 0 1e-3\n", 1, "an element line outside .subckt"),
    (".model x nmos level=54\nm1 d g s b x {s}\n", 2, "an element line outside .subckt"),
    (".subckt w a b\na1 a b {s}\n.ends\n", 2, "an element of a kind"),
    (".subckt w a b\ns1 a b c d {s}\n.ends\n", 2, "an element of a kind"),
    (".subckt w a b\nv1 a b pwl(0 0 1 1) {s}\n.ends\n", 2, "a V or I source that is not"),
    (".model {s} filesource\n", 1, "a .model of a type"),
    (".model {s} d_source\n", 1, "a .model of a type"),
    ('.model x nmos file="{s}"\n', 1, "a '\"' character"),
    (".model x nmos \\\\\n{s}\n", 1, "a '\\\\' character"),
    (".param a = `{s}`\n", 1, "a '`' character"),
    (".param a = @m1[id] {s}\n", 1, "a '@' character"),
    (".model x nmos level=54\r.control {s}\n", 1, "a control character (0x0d)"),
    (".param a = 1\x00{s}\n", 1, "a control character (0x00)"),
    (".param a = 'é{s}'\n", 1, "a non-ASCII character"),
    ("+ level=54 {s}\n", 1, "a continuation line (+) with no statement"),
    (".subckt {s} a b\n", 1, "a .subckt without .ends"),
    (".ends {s}\n", 1, "an .ends without a .subckt"),
    (".lib tt\n.model {s} nmos\n", 1, "a .lib section without .endl"),
    (".subckt cimspice_opamp a b {s}\n.ends\n", 1, "a .subckt name starting with 'cimspice'"),
    (".model nmos65; {s}\n", 1, "a .model without a name and a type"),
    ("* fine\n\n.model ok nmos level=54\n+ vth0=0.4\n.op {s}\n", 5, "an analysis statement"),
]


@pytest.mark.parametrize(("text", "line", "what"), REFUSED, ids=[r[2] for r in REFUSED])
def test_refused_lines_are_named_by_kind_and_line_never_echoed(text, line, what):
    from cimspice.errors import ModelFileError
    from cimspice.model_cards import parse_model_cards

    with pytest.raises(ModelFileError) as info:
        parse_model_cards(text.format(s=SECRET), name="m.lib", source="cards/m.lib")
    message = str(info.value)
    assert f"model file cards/m.lib, line {line}: {what}" in message
    assert SECRET.lower() not in message.lower()  # the foreign text is never echoed
    assert info.value.line == line and info.value.key == "access.model_file"


def test_lib_sections_are_flattened_from_the_chosen_corner(tmp_path):
    from cimspice.errors import ModelFileError
    from cimspice.model_cards import read_model_file

    card = nmos_card()
    (tmp_path / "corners.lib").write_text(
        "* a foundry library: one section per corner, sharing a section of common cards\n"
        ".lib common\n.param vtn = 0.42\n.endl common\n"
        f".lib tt\n.lib 'corners.lib' common\n{card}.endl tt\n"
        f".lib ff\n.lib corners.lib common\n{card.replace('vth0=0.42', 'vth0=0.30')}.endl ff\n"
    )
    tt = read_model_file("corners.lib", spec_file=tmp_path / "s.toml", section="TT")
    assert tt.text.startswith(".param vtn = 0.42\n.model myfet nmos") and "vth0=0.42" in tt.text
    assert ".lib" not in tt.text and ".endl" not in tt.text
    with pytest.raises(ModelFileError, match=r"3 \.lib sections .*access\.model_section"):
        read_model_file("corners.lib", spec_file=tmp_path / "s.toml")
    with pytest.raises(ModelFileError, match=r"no \.lib section 'ss'"):
        read_model_file("corners.lib", spec_file=tmp_path / "s.toml", section="ss")
    (tmp_path / "loop.lib").write_text(".lib a\n.lib loop.lib a\n.endl\n")
    with pytest.raises(ModelFileError, match=r"line 2: a \.lib call that loops back"):
        read_model_file("loop.lib", spec_file=tmp_path / "s.toml", section="a")


# ----- where a model file may come from -----


def test_a_model_file_outside_the_spec_folder_is_refused_unless_listed(tmp_path, monkeypatch):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (elsewhere / "card.lib").write_text(nmos_card() + f"* {SECRET}\n")
    for model_file in ("../elsewhere/card.lib", str(elsewhere / "card.lib")):
        with pytest.raises(SpecError) as info:
            load_spec(write_spec(project, model_file))
        message = str(info.value)
        assert "lies outside the spec's folder" in message
        assert "security policy for model files" in message and "CIMSPICE_MODEL_PATH" in message
        assert SECRET not in message
    # a symbolic link inside the spec's folder does not take the file outside it
    (project / "link.lib").symlink_to(elsewhere / "card.lib")
    with pytest.raises(SpecError, match="lies outside the spec's folder"):
        load_spec(write_spec(project, "link.lib"))
    # the user lists the folder: the card is read
    monkeypatch.setenv("CIMSPICE_MODEL_PATH", f"/nonexistent{os.pathsep}{elsewhere}")
    spec = load_spec(write_spec(project, "../elsewhere/card.lib"))
    assert spec.cards is not None and spec.cards.models == {"myfet": "nmos"}


def test_a_system_file_is_neither_read_nor_echoed(tmp_path):
    """/etc/passwd-like content inside the spec's folder: refused at its first line, its
    text in no message (and /etc itself lies outside)."""
    (tmp_path / "passwd").write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\n")
    with pytest.raises(SpecError) as info:
        load_spec(write_spec(tmp_path, "passwd"))
    assert "line 1: an element line outside .subckt" in str(info.value)
    assert SECRET not in str(info.value) and "root:x" not in str(info.value)
    with pytest.raises(SpecError, match="lies outside"):
        load_spec(write_spec(tmp_path, "../../../../../../etc/passwd"))


def test_special_and_oversized_files_are_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo.lib")  # reading it would block forever
    with pytest.raises(SpecError, match="is not a regular file"):
        load_spec(write_spec(tmp_path, "fifo.lib"))
    with pytest.raises(SpecError, match="model file not found"):
        load_spec(write_spec(tmp_path, "missing.lib"))
    from cimspice.model_cards import MAX_MODEL_FILE_BYTES

    big = tmp_path / "big.lib"
    with big.open("wb") as handle:  # comments only: the limit applies before any parsing
        handle.write(nmos_card().encode() + b"*" * MAX_MODEL_FILE_BYTES)
    with pytest.raises(SpecError, match="larger than 16 MiB"):
        load_spec(write_spec(tmp_path, "big.lib"))


# ----- spec strings that land in a deck -----


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("model_file", "card.lib\n.control\nshell touch x\n.endc"),
        ("model_file", "card.lib\r.endc"),
        ("model_file", "card\x1b[2Jlib"),
        ("model", "x=1"),
        ("model", "nmos65;x"),
        ("model", "{nmos65}"),
        ("model", "nm$os"),
        ("model", ".control"),
        ("model_section", "tt\nshell"),
    ],
)
def test_spec_strings_that_reach_a_deck_must_be_plain(key, value, tmp_path):
    (tmp_path / "card.lib").write_text(nmos_card())
    access = {"model": "myfet", "model_file": "card.lib", key: value}
    with pytest.raises(SpecError, match=f"key 'access.{key}'"):
        spec_from_dict(
            {"array": {"rows": 2, "cols": 2, "cell": "1T1R"}, "access": access},
            source=tmp_path / "spec.toml",
        )


def test_the_deck_holds_the_checked_cards_only(tmp_path):
    (tmp_path / "card.lib").write_text(f"*# shell touch {SECRET}\n" + subckt_card())
    spec = load_spec(write_spec(tmp_path, "card.lib"))
    g, v = arrays()
    deck = render(spec, g, v[0])
    assert SECRET not in deck and "shell" not in deck
    assert "xmn0_0 m0_0 g0 b0_0 0 myfet w=5e-07 l=6.5e-08" in deck  # a subcircuit: X calls
    assert "* ---- device models (card.lib, checked model cards)" in deck


# ----- ngspice, for real -----


@pytest.mark.ngspice
def test_a_control_block_in_a_model_file_never_runs(tmp_path):
    sentinel = tmp_path / "sentinel"
    (tmp_path / "card.lib").write_text(nmos_card() + f".control\nshell touch {sentinel}\n.endc\n")
    g, v = arrays()
    with pytest.raises(SpecError, match=r"card.lib, line \d+: a \.control block"):
        simulate(load_spec(write_spec(tmp_path, "card.lib")), g, v, engine="ngspice")
    assert not sentinel.exists()


@pytest.mark.ngspice
def test_star_hash_comments_never_run(tmp_path):
    """ngspice runs a ``*#`` line of a deck as a command (lower-cased); the deck drops it."""
    sentinel = tmp_path / "sentinel"
    assert str(sentinel) == str(sentinel).lower()  # what ngspice would run is this path
    (tmp_path / "card.lib").write_text(f"*# shell touch {sentinel}\n" + nmos_card())
    g, v = arrays()
    out = simulate(load_spec(write_spec(tmp_path, "card.lib")), g, v, engine="ngspice")
    assert out.currents.shape == (2, 2) and not sentinel.exists()


@pytest.mark.ngspice
def test_a_spiceinit_in_the_working_folder_never_runs(tmp_path, monkeypatch):
    """ngspice runs the commands of a ``.spiceinit`` in its starting folder: a folder of
    shared specs must not be it."""
    sentinel = tmp_path / "sentinel"
    (tmp_path / ".spiceinit").write_text(f"shell touch {sentinel}\n")
    monkeypatch.chdir(tmp_path)
    g, v = arrays()
    simulate(builtin_1t1r(), g, v, engine="ngspice")
    assert not sentinel.exists()


@pytest.mark.ngspice
@pytest.mark.parametrize("wrapped", [False, True], ids=["model", "subckt"])
def test_an_own_model_file_runs_from_any_folder(tmp_path, monkeypatch, wrapped):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "cards").mkdir(parents=True)
    elsewhere.mkdir()
    (project / "cards" / "foundry.lib").write_text(subckt_card() if wrapped else nmos_card())
    spec_file = write_spec(project, "cards/foundry.lib")
    monkeypatch.chdir(elsewhere)
    g, v = arrays()
    mine = simulate(load_spec(spec_file), g, v, engine="ngspice").currents
    builtin = simulate(builtin_1t1r(), g, v, engine="ngspice").currents
    # The same BSIM4 card under another name: the same circuit, but for a 0 V sense source
    # in the wrapper, which adds a node to Newton's solve (reltol 1e-9 in these decks).
    np.testing.assert_allclose(mine, builtin, rtol=1e-12 if not wrapped else 1e-7)


@pytest.mark.ngspice
def test_calibrate_with_an_own_subckt_model_from_another_folder(tmp_path):
    from cimspice.surrogate.model import load_surrogate
    from cimspice.surrogate.transistor_iv import measure_access_transistor

    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "cards").mkdir(parents=True)
    elsewhere.mkdir()
    (project / "cards" / "foundry.lib").write_text(subckt_card())
    spec_file = write_spec(project, "cards/foundry.lib")
    out = elsewhere / "surrogate.json"
    proc = cli(
        "calibrate",
        str(spec_file),
        "-o",
        str(out),
        "--samples",
        "1",
        "--batch",
        "2",
        "--jobs",
        "1",
        cwd=elsewhere,
    )
    assert proc.returncode == 0, proc.stderr
    table = load_surrogate(out).transistor
    assert table is not None
    # The wrapper's transistor is the built-in card: its measured I-V is the built-in one's
    # (the same sweep; the wrapper's 0 V sense source moves Newton's result by ~1e-9).
    builtin = measure_access_transistor(builtin_1t1r(), float(table.voltages[-1]))
    np.testing.assert_allclose(table.currents, builtin.currents, rtol=1e-6, atol=1e-15)


@pytest.mark.ngspice
def test_corners_of_a_lib_file_run_in_ngspice(tmp_path):
    card = nmos_card()
    (tmp_path / "corners.lib").write_text(
        f".lib tt\n{card}.endl tt\n.lib ff\n{card.replace('vth0=0.42', 'vth0=0.30')}.endl ff\n"
    )
    g, v = arrays()
    runs = {}
    for corner in ("tt", "ff"):
        spec_file = write_spec(tmp_path, "corners.lib", extra=f'model_section = "{corner}"\n')
        runs[corner] = simulate(load_spec(spec_file), g, v, engine="ngspice").currents
    builtin = simulate(builtin_1t1r(), g, v, engine="ngspice").currents
    np.testing.assert_allclose(runs["tt"], builtin, rtol=1e-12)  # the same card
    assert np.all(runs["ff"] > runs["tt"])  # a lower threshold passes more current


@pytest.mark.ngspice
def test_ngspice_flooring_a_resistance_reaches_the_user():
    """ngspice floors resistances at 1e-12 ohm and says so only in its log: 1e15 S cells
    are 1e-12 ohm, not 1e-15, and the user hears of it."""
    spec = spec_from_dict({"array": {"rows": 2, "cols": 2}, "wire": {"r_row": 1.0}})
    with pytest.warns(CircuitWarning, match=r"1e-12 ohm.*conductances above 1e12 S"):
        simulate(spec, np.full((2, 2), 1e15), np.full(2, 0.1), engine="ngspice")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a circuit ngspice keeps as it is: no warning
        simulate(spec, np.full((2, 2), 1e-4), np.full(2, 0.1), engine="ngspice")
