"""The command line: contracts of DESIGN.md, and every bad input as one clear line."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cimspice.cli import main

SPEC = """[array]
rows = 6
cols = 4
cell = "0T1R"
[wire]
r_row = 2.0
r_col = 2.0
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    g = tmp_path / "g.npy"
    np.save(g, rng.uniform(1e-6, 1e-4, (6, 4)))
    v = tmp_path / "v.npy"
    np.save(v, rng.uniform(0, 0.2, (5, 6)))
    return {"spec": spec, "g": g, "v": v, "dir": tmp_path}


def simulate_args(files: dict[str, Path], engine: str, out: Path, *extra: str) -> list[str]:
    """``cimspice simulate`` on the fixture's spec and arrays."""
    arrays = ["--conductances", str(files["g"]), "--inputs", str(files["v"])]
    return ["simulate", str(files["spec"]), *arrays, "--engine", engine, *extra, "-o", str(out)]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cimspice.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("command", [[], ["netlist"], ["simulate"], ["demo"]])
def test_help_on_every_command(command):
    proc = run_cli(*command, "--help")
    assert proc.returncode == 0 and "usage: cimspice" in proc.stdout


def test_netlist_command(files):
    out = files["dir"] / "deck.cir"
    assert (
        main(
            [
                "netlist",
                str(files["spec"]),
                "--conductances",
                str(files["g"]),
                "--inputs",
                str(files["v"]),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    text = out.read_text()
    assert ".dc temp 0 4 1" in text and text.rstrip().endswith(".end")
    out1 = files["dir"] / "default.cir"
    assert main(["netlist", str(files["spec"]), "-o", str(out1)]) == 0
    assert ".op" in out1.read_text()


@pytest.mark.parametrize(
    "engine", ["nodal", "ideal", pytest.param("ngspice", marks=pytest.mark.ngspice)]
)
def test_simulate_command(files, engine):
    out = files["dir"] / f"{engine}.npz"
    args = simulate_args(files, engine, out)
    assert main(args) == 0
    with np.load(out) as data:
        assert data["currents"].shape == (5, 4)
        assert data["power"].shape == (5,)
        assert (data["currents"] > 0).all()


@pytest.mark.ngspice
def test_simulate_plot_and_node_voltages(files):
    out = files["dir"] / "r.npz"
    plots = files["dir"] / "plots"
    args = simulate_args(files, "ngspice", out, "--node-voltages", "--plot-dir", str(plots))
    assert main(args) == 0
    with np.load(out) as data:
        assert data["v_word"].shape == data["v_bit"].shape == (5, 6, 4)
    for name in ("cell_voltages.png", "error_map.png"):
        assert (plots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _bad(files, name, array):
    path = files["dir"] / name
    np.save(path, array)
    return path


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("missing_spec", "spec file not found"),
        ("bad_spec", "key 'wire.r_row'"),
        ("missing_g", "conductances file not found"),
        ("not_npy", "not a readable .npy"),
        ("g_shape", "shape (rows, cols) = (6, 4)"),
        ("g_nan", "non-finite"),
        ("g_inf", "non-finite"),
        ("g_negative", "must be >= 0 siemens"),
        ("g_dtype", "real numbers"),
        ("g_object", "not a readable .npy"),
        ("v_rows", "rows = 6"),
        ("v_3d", "rows = 6"),
        ("v_nan", "non-finite"),
        ("npz_given", "several arrays"),
        ("surrogate", "surrogate file not found"),
    ],
)
def test_bad_input_exits_with_one_line(files, case, fragment, capsys):
    spec, g, v = files["spec"], files["g"], files["v"]
    engine = "nodal"
    extra: list[str] = []
    if case == "missing_spec":
        spec = files["dir"] / "nope.toml"
    elif case == "bad_spec":
        spec = files["dir"] / "bad.toml"
        spec.write_text(SPEC.replace("r_row = 2.0", "r_row = -2.0"))
    elif case == "missing_g":
        g = files["dir"] / "missing.npy"
    elif case == "not_npy":
        g = files["dir"] / "junk.npy"
        g.write_text("not an array")
    elif case == "g_shape":
        g = _bad(files, "g_shape.npy", np.ones((4, 6)))
    elif case == "g_nan":
        g = _bad(files, "g_nan.npy", np.where(np.eye(6, 4) > 0, np.nan, 1e-5))
    elif case == "g_inf":
        g = _bad(files, "g_inf.npy", np.full((6, 4), np.inf))
    elif case == "g_negative":
        g = _bad(files, "g_neg.npy", np.full((6, 4), -1e-6))
    elif case == "g_dtype":
        g = _bad(files, "g_str.npy", np.full((6, 4), "a"))
    elif case == "g_object":
        g = files["dir"] / "g_obj.npy"
        np.save(g, np.array([[None] * 4] * 6, dtype=object), allow_pickle=True)
    elif case == "v_rows":
        v = _bad(files, "v_rows.npy", np.ones((3, 5)))
    elif case == "v_3d":
        v = _bad(files, "v_3d.npy", np.ones((2, 3, 6)))
    elif case == "v_nan":
        v = _bad(files, "v_nan.npy", np.full(6, np.nan))
    elif case == "npz_given":
        v = files["dir"] / "v.npz"
        np.savez(v, a=np.ones(6))
    elif case == "surrogate":
        engine = "surrogate"
        extra = ["--surrogate", str(files["dir"] / "s.npz")]
    out = files["dir"] / "out.npz"
    code = main(
        [
            "simulate",
            str(spec),
            "--conductances",
            str(g),
            "--inputs",
            str(v),
            "--engine",
            engine,
            *extra,
            "-o",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("cimspice: error: ") and err.count("\n") == 1
    assert fragment in err
    assert "Traceback" not in err
    assert not out.exists()
    assert not [p for p in files["dir"].iterdir() if p.name.startswith(".out.npz")]


def test_no_traceback_from_the_real_entry_point(files):
    proc = run_cli(
        "simulate",
        str(files["spec"]),
        "--conductances",
        str(files["dir"] / "missing.npy"),
        "--inputs",
        str(files["v"]),
        "--engine",
        "nodal",
        "-o",
        str(files["dir"] / "o.npz"),
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "conductances file not found" in proc.stderr


def test_surrogate_needs_a_file(files, capsys):
    code = main(simulate_args(files, "surrogate", files["dir"] / "o.npz"))
    assert code == 2 and "--surrogate FILE" in capsys.readouterr().err


def test_unwritable_output_leaves_nothing(files, capsys):
    out = files["dir"] / "no_such_dir" / "out.npz"
    code = main(simulate_args(files, "ideal", out))
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "no_such_dir" in err


def test_failed_write_keeps_existing_output(files, monkeypatch):
    out = files["dir"] / "out.npz"
    out.write_bytes(b"previous")
    import cimspice.arrays as arrays

    def boom(handle, **kwargs):
        handle.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(arrays.np, "savez", boom)
    code = main(simulate_args(files, "ideal", out))
    assert code == 1
    assert out.read_bytes() == b"previous"  # never half-written
    assert [p.name for p in files["dir"].iterdir() if p.name.startswith(".out")] == []


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e300", "abc"])
def test_bad_timeout_is_a_usage_error(files, value, capsys):
    with pytest.raises(SystemExit) as info:
        main(simulate_args(files, "ngspice", files["dir"] / "o.npz", "--timeout", value))
    assert info.value.code == 2
    assert "--timeout" in capsys.readouterr().err


def test_surrogate_with_plot_dir_is_refused_before_running(files, capsys):
    out = files["dir"] / "o.npz"
    code = main(
        [
            "simulate",
            str(files["spec"]),
            "--conductances",
            str(files["g"]),
            "--inputs",
            str(files["v"]),
            "--engine",
            "surrogate",
            "--surrogate",
            "s.json",
            "--plot-dir",
            str(files["dir"] / "p"),
            "-o",
            str(out),
        ]
    )
    assert code == 2 and "currents only" in capsys.readouterr().err
    assert not out.exists()


def test_tiny_conductance_is_rejected(files, capsys):
    g = files["dir"] / "tiny.npy"
    np.save(g, np.full((6, 4), 1e-310))
    code = main(
        ["netlist", str(files["spec"]), "--conductances", str(g), "-o", str(files["dir"] / "d.cir")]
    )
    err = capsys.readouterr().err
    assert code == 1 and "below 1e-30 S" in err and "index (0, 0)" in err


def test_outputs_get_the_usual_file_mode(files):
    out = files["dir"] / "o.npz"
    old = os.umask(0o022)
    try:
        assert main(simulate_args(files, "ideal", out)) == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644
