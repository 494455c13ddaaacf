"""The command line under malformed specs, arrays, surrogate files and paths (a table of cases).

Every case runs the real entry point (``python -m cimspice.cli``) in a folder holding a spec,
arrays, a surrogate and an earlier output, and asserts the error contract (README, "Errors
and outputs"): a non-zero exit code (2 for what the argument parser rejects, 1 otherwise),
exactly one line on stderr naming the cause, no traceback, every file in the folder (inputs
and earlier outputs, symbolic links and FIFOs included) byte-identical afterwards, and nothing
new left behind. The engines are ``ideal`` and ``nodal``; no case needs ngspice (the commands
that would run it are refused before they start).

A final hypothesis test feeds random bytes as spec, array and surrogate files to the same
contract, in-process.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cimspice.cli import main
from cimspice.spec import spec_from_dict
from cimspice.surrogate.model import LinearTileSurrogate, TileParams

SPEC = """[array]
rows = 6
cols = 4
cell = "0T1R"
[wire]
r_row = 2.0
r_col = 2.0
"""
MODEL_SPEC = """[array]
rows = 2
cols = 2
cell = "1T1R"
[access]
model = "mynmos"
model_file = "card.lib"
"""
MODEL_CARD = "* a user's card\n.model mynmos nmos level=1 vto=0.4 kp=1e-4\n"
RANGES = {"g_min": 1e-6, "g_max": 1e-4, "v_min": 0.0, "v_max": 0.2}
PREVIOUS = b"an earlier output: must survive every failed command"

Args = list[str]


def base_files(folder: Path) -> None:
    """The good inputs (spec.toml, g.npy, v.npy, s.json) and an earlier output (prev.npz)."""
    rng = np.random.default_rng(0)
    (folder / "spec.toml").write_text(SPEC)
    np.save(folder / "g.npy", rng.uniform(1e-6, 1e-4, (6, 4)))
    np.save(folder / "v.npy", rng.uniform(0, 0.2, (5, 6)))
    spec = spec_from_dict({"array": {"rows": 6, "cols": 4}, "wire": {"r_row": 2.0, "r_col": 2.0}})
    LinearTileSurrogate(spec, TileParams.from_spec(spec), RANGES).save(folder / "s.json")
    (folder / "prev.npz").write_bytes(PREVIOUS)
    (folder / "models").mkdir()


def snapshot(folder: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``folder``: a regular file by its SHA-256, a link by its target,
    anything else by its type (a FIFO is never opened)."""
    out: dict[str, tuple[Any, ...]] = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(root) / name
            st_ = path.lstat()
            key = str(path.relative_to(folder))
            if stat.S_ISREG(st_.st_mode):
                out[key] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
            elif stat.S_ISLNK(st_.st_mode):
                out[key] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st_.st_mode):
                out[key] = ("dir",)
            else:
                out[key] = ("special", stat.S_IFMT(st_.st_mode), st_.st_rdev)
    return out


def simulate(
    *,
    spec: str = "spec.toml",
    g: str = "g.npy",
    v: str = "v.npy",
    out: str = "o.npz",
    engine: str = "ideal",
    extra: tuple[str, ...] = (),
) -> Args:
    """``cimspice simulate`` with the base files, some replaced."""
    return [
        "simulate",
        spec,
        "--conductances",
        g,
        "--inputs",
        v,
        "--engine",
        engine,
        *extra,
        "-o",
        out,
    ]


def surrogate(name: str) -> Args:
    return simulate(engine="surrogate", extra=("--surrogate", name))


def write(name: str, content: str | bytes) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return make


def save(name: str, array: Any, **kwargs: Any) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        with open(folder / name, "wb") as handle:  # np.save(path) would add ".npy"
            np.save(handle, array, **kwargs)

    return make


def savez(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        with open(folder / name, "wb") as handle:  # np.savez(path) would add ".npz"
            np.savez(handle, a=np.ones(3))

    return make


def spec_text(old: str, new: str) -> Callable[[Path], None]:
    return write("bad.toml", SPEC.replace(old, new))


def surrogate_json(edit: Callable[[dict], Any]) -> Callable[[Path], None]:
    """The base surrogate with ``edit`` applied to its JSON data (returning new data or None)."""

    def make(folder: Path) -> None:
        data = json.loads((folder / "s.json").read_text())
        changed = edit(data)
        (folder / "bad.json").write_text(json.dumps(data if changed is None else changed))

    return make


def fifo(name: str) -> Callable[[Path], None]:
    return lambda folder: os.mkfifo(folder / name)


def symlink(name: str, target: str) -> Callable[[Path], None]:
    return lambda folder: os.symlink(target, folder / name)


def hardlink(name: str, target: str) -> Callable[[Path], None]:
    return lambda folder: os.link(folder / target, folder / name)


def mkdir(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).mkdir()


def device(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        try:
            os.mknod(folder / name, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
        except PermissionError:
            pytest.skip("making a device node needs root")

    return make


def truncated(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        data = (folder / "g.npy").read_bytes()
        (folder / name).write_bytes(data[: len(data) - 40])

    return make


def huge_header(folder: Path) -> None:
    """A .npy header claiming 10**12 float64 (8 TB), followed by 8 bytes of data."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    header += " " * (117 - len(header)) + "\n"
    (folder / "huge.npy").write_bytes(
        b"\x93NUMPY\x01\x00" + bytes([118, 0]) + header.encode() + b"\0" * 8
    )


def unwritable_folder() -> str:
    """A folder nothing can be created in: ``/proc`` for root (root ignores modes)."""
    return "/proc" if os.geteuid() == 0 else "ro"


def read_only(folder: Path) -> None:
    if os.geteuid() != 0:
        (folder / "ro").mkdir()
        (folder / "ro").chmod(0o555)


def nested(depth: int) -> Callable[[dict], Any]:
    def edit(data: dict) -> Any:
        deep: Any = 0
        for _ in range(depth):
            deep = [deep]
        data["params"] = deep
        return None

    return edit


def _set(key: str, value: Any) -> Callable[[dict], Any]:
    def edit(data: dict) -> Any:
        section, _, name = key.partition(".")
        if name:
            data[section][name] = value
        else:
            data[section] = value
        return None

    return edit


def _drop(key: str) -> Callable[[dict], Any]:
    def edit(data: dict) -> Any:
        section, _, name = key.partition(".")
        if name:
            del data[section][name]
        else:
            del data[section]
        return None

    return edit


OTHER = "issue 11, another helper's item ({}): flip after merging"


@dataclass(frozen=True)
class Case:
    """One bad command line: files to make, then the arguments; the expected exit code and a
    fragment of the error line."""

    id: str
    args: Args
    fragment: str
    make: tuple[Callable[[Path], None], ...] = ()
    code: int = 1
    marks: tuple[Any, ...] = field(default=())


def xfail(item: int) -> Any:
    return pytest.mark.xfail(strict=True, reason=OTHER.format(f"item {item}"))


CASES = [
    # ----- specs -----
    Case("spec-missing", simulate(spec="nope.toml"), "spec file not found"),
    Case("spec-folder", simulate(spec="models"), "is a directory"),
    Case("spec-fifo", simulate(spec="f.toml"), "not a regular file", (fifo("f.toml"),)),
    Case("spec-dangling-link", simulate(spec="l.toml"), "not found", (symlink("l.toml", "x"),)),
    Case(
        "spec-bad-toml",
        simulate(spec="bad.toml"),
        "invalid TOML",
        (write("bad.toml", "[array\nrows = 4"),),
    ),
    Case(
        "spec-binary",
        simulate(spec="bad.toml"),
        "bad.toml",
        (write("bad.toml", b"\xff\xfe\x00rows"),),
    ),
    Case("spec-empty", simulate(spec="bad.toml"), "bad.toml", (write("bad.toml", ""),)),
    Case(
        "spec-unknown-key",
        simulate(spec="bad.toml"),
        "array.colour",
        (spec_text("cols = 4", "cols = 4\ncolour = 1"),),
    ),
    Case(
        "spec-unknown-section",
        simulate(spec="bad.toml"),
        "antenna",
        (write("bad.toml", SPEC + "[antenna]\nx = 1\n"),),
    ),
    Case(
        "spec-wrong-type",
        simulate(spec="bad.toml"),
        "array.rows",
        (spec_text("rows = 6", 'rows = "six"'),),
    ),
    Case(
        "spec-bool-size",
        simulate(spec="bad.toml"),
        "array.rows",
        (spec_text("rows = 6", "rows = true"),),
    ),
    Case(
        "spec-negative",
        simulate(spec="bad.toml"),
        "wire.r_row",
        (spec_text("r_row = 2.0", "r_row = -2.0"),),
    ),
    Case(
        "spec-nan",
        simulate(spec="bad.toml"),
        "wire.r_row",
        (spec_text("r_row = 2.0", "r_row = nan"),),
    ),
    Case(
        "spec-inf",
        simulate(spec="bad.toml"),
        "wire.r_col",
        (spec_text("r_col = 2.0", "r_col = inf"),),
    ),
    Case(
        "spec-zero-rows",
        simulate(spec="bad.toml"),
        "array.rows",
        (spec_text("rows = 6", "rows = 0"),),
    ),
    Case(
        "spec-bad-cell", simulate(spec="bad.toml"), "array.cell", (spec_text('"0T1R"', '"2T2R"'),)
    ),
    Case(
        "spec-huge-rows",
        ["netlist", "bad.toml", "-o", "d.cir"],
        "array.rows",
        (spec_text("rows = 6", "rows = 1000000000"),),
        marks=(xfail(3),),
    ),
    Case(
        "spec-negative-seed",
        simulate(spec="bad.toml", engine="nodal"),
        "seed",
        (write("bad.toml", SPEC + "[nonideal]\nseed = -1\n"),),
        marks=(xfail(3),),
    ),
    Case(
        "spec-model-file-elsewhere",
        ["netlist", "t.toml", "-o", "d.cir"],
        "outside",
        (write("t.toml", MODEL_SPEC.replace("card.lib", "/etc/hostname")),),
    ),
    # ----- arrays -----
    Case("g-missing", simulate(g="nope.npy"), "conductances file not found"),
    Case("g-folder", simulate(g="models"), "not a regular file"),
    Case("g-fifo", simulate(g="f.npy"), "not a regular file", (fifo("f.npy"),)),
    Case(
        "g-shape",
        simulate(g="bad.npy"),
        "(rows, cols) = (6, 4)",
        (save("bad.npy", np.ones((4, 6))),),
    ),
    Case(
        "g-0d", simulate(g="bad.npy"), "(rows, cols) = (6, 4)", (save("bad.npy", np.float64(1e-5)),)
    ),
    Case("g-nan", simulate(g="bad.npy"), "non-finite", (save("bad.npy", np.full((6, 4), np.nan)),)),
    Case(
        "g-negative",
        simulate(g="bad.npy"),
        ">= 0 siemens",
        (save("bad.npy", np.full((6, 4), -1e-5)),),
    ),
    Case(
        "g-bool", simulate(g="bad.npy"), "real numbers", (save("bad.npy", np.ones((6, 4), bool)),)
    ),
    Case(
        "g-complex",
        simulate(g="bad.npy"),
        "real numbers",
        (save("bad.npy", np.ones((6, 4), complex)),),
    ),
    Case(
        "g-strings", simulate(g="bad.npy"), "real numbers", (save("bad.npy", np.full((6, 4), "x")),)
    ),
    Case(
        "g-pickle",
        simulate(g="bad.npy"),
        "not a readable .npy",
        (
            save(
                "bad.npy", np.array([{"a": 1}] * 24, dtype=object).reshape(6, 4), allow_pickle=True
            ),
        ),
    ),
    Case("g-npz-as-npy", simulate(g="bad.npy"), "several arrays", (savez("bad.npy"),)),
    Case("g-truncated", simulate(g="bad.npy"), "not a readable .npy", (truncated("bad.npy"),)),
    Case("g-text", simulate(g="bad.npy"), "not a readable .npy", (write("bad.npy", "1 2 3\n"),)),
    Case("g-empty-file", simulate(g="bad.npy"), "not a readable .npy", (write("bad.npy", b""),)),
    Case("g-huge-header", simulate(g="huge.npy"), "huge.npy", (huge_header,), marks=(xfail(3),)),
    Case("v-rows", simulate(v="bad.npy"), "rows = 6", (save("bad.npy", np.ones((5, 7))),)),
    Case("v-3d", simulate(v="bad.npy"), "rows = 6", (save("bad.npy", np.ones((2, 5, 6))),)),
    Case(
        "v-empty-batch", simulate(v="bad.npy"), "empty batch", (save("bad.npy", np.ones((0, 6))),)
    ),
    Case(
        "v-inf",
        simulate(v="bad.npy", engine="nodal"),
        "non-finite",
        (save("bad.npy", np.full((2, 6), -np.inf)),),
    ),
    # ----- surrogate files -----
    Case("sur-missing", surrogate("nope.json"), "surrogate file not found"),
    Case("sur-folder", surrogate("models"), "not a regular file"),
    Case("sur-fifo", surrogate("f.json"), "not a regular file", (fifo("f.json"),)),
    Case(
        "sur-bad-json",
        surrogate("bad.json"),
        "not readable JSON",
        (write("bad.json", "{'params': 1"),),
    ),
    Case(
        "sur-binary",
        surrogate("bad.json"),
        "bad.json",
        (write("bad.json", b"\x89PNG\r\n\x1a\n\x00"),),
    ),
    Case(
        "sur-list",
        surrogate("bad.json"),
        "not a cimspice surrogate",
        (write("bad.json", "[1, 2]"),),
    ),
    Case("sur-npz", surrogate("prev.npz"), "prev.npz", ()),
    Case(
        "sur-format",
        surrogate("bad.json"),
        "not a cimspice surrogate",
        (surrogate_json(_set("format", "other")),),
    ),
    Case("sur-no-params", surrogate("bad.json"), "bad.json", (surrogate_json(_drop("params")),)),
    Case("sur-no-r_row", surrogate("bad.json"), "r_row", (surrogate_json(_drop("params.r_row")),)),
    Case(
        "sur-string-param",
        surrogate("bad.json"),
        "r_row",
        (surrogate_json(_set("params.r_row", "two")),),
    ),
    Case(
        "sur-negative-param",
        surrogate("bad.json"),
        "r_col",
        (surrogate_json(_set("params.r_col", -1.0)),),
    ),
    Case(
        "sur-nan-range",
        surrogate("bad.json"),
        "g_max",
        (surrogate_json(_set("ranges.g_max", float("nan"))),),
    ),
    Case(
        "sur-params-list",
        surrogate("bad.json"),
        "params",
        (surrogate_json(_set("params", [1, 2])),),
    ),
    Case(
        "sur-other-spec",
        surrogate("bad.json"),
        "bad.json",
        (surrogate_json(_set("spec_hash", "0" * 64)),),
    ),
    Case(
        "sur-deep-json",
        surrogate("bad.json"),
        "bad.json",
        (surrogate_json(nested(100_000)),),
        marks=(xfail(3),),
    ),
    # ----- output paths -----
    Case("out-is-g", simulate(out="g.npy"), "-o g.npy is the input --conductances"),
    Case("out-is-v", simulate(out="v.npy"), "is the input --inputs"),
    Case("out-is-spec", simulate(out="spec.toml"), "is the input SPEC"),
    Case(
        "out-is-surrogate",
        simulate(out="s.json", engine="surrogate", extra=("--surrogate", "s.json")),
        "is the input --surrogate",
    ),
    Case("out-link-to-g", simulate(out="l.npz"), "symbolic link", (symlink("l.npz", "g.npy"),)),
    Case(
        "out-link-to-prev", simulate(out="l.npz"), "symbolic link", (symlink("l.npz", "prev.npz"),)
    ),
    Case(
        "out-hardlink-to-g",
        simulate(out="h.npy"),
        "is the input --conductances",
        (hardlink("h.npy", "g.npy"),),
    ),
    Case("out-g-by-other-name", simulate(out="models/../g.npy"), "is the input --conductances"),
    Case("out-fifo", simulate(out="f.npz"), "is a FIFO", (fifo("f.npz"),)),
    Case("out-device", simulate(out="null"), "is a character device", (device("null"),)),
    Case("out-folder", simulate(out="models"), "is a folder"),
    Case("out-trailing-slash", simulate(out="new/"), "names a folder"),
    Case("out-missing-folder", simulate(out="nowhere/o.npz"), "folder nowhere not found"),
    Case("out-unwritable", simulate(out=f"{unwritable_folder()}/o.npz"), "o.npz", (read_only,)),
    Case(
        "plot-dir-is-file",
        simulate(out="prev.npz", engine="nodal", extra=("--plot-dir", "g.npy")),
        "--plot-dir g.npy is a file",
    ),
    Case(
        "plot-dir-holds-fifo",
        simulate(out="prev.npz", engine="nodal", extra=("--plot-dir", "models")),
        "FIFO",
        (fifo("models/error_map.png"),),
    ),
    Case(
        "netlist-over-model-file",
        ["netlist", "t.toml", "-o", "card.lib"],
        "is the input access.model_file",
        (write("t.toml", MODEL_SPEC), write("card.lib", MODEL_CARD)),
    ),
    Case("netlist-over-spec", ["netlist", "spec.toml", "-o", "spec.toml"], "is the input SPEC"),
    Case(
        "netlist-over-g",
        ["netlist", "spec.toml", "--conductances", "g.npy", "-o", "g.npy"],
        "is the input --conductances",
    ),
    Case("calibrate-over-spec", ["calibrate", "spec.toml", "-o", "spec.toml"], "is the input SPEC"),
    Case(
        "calibrate-into-folder", ["calibrate", "spec.toml", "-o", "models"], "-o models is a folder"
    ),
    Case(
        "calibrate-report-is-file",
        ["calibrate", "spec.toml", "-o", "new.json", "--report-dir", "g.npy"],
        "--report-dir g.npy is a file",
    ),
    Case(
        "calibrate-report-over-output",
        ["calibrate", "spec.toml", "-o", "report.md", "--report-dir", "."],
        "give each output its own path",
    ),
    Case(
        "calibrate-cache-is-file",
        ["calibrate", "spec.toml", "-o", "new.json", "--cache", "prev.npz"],
        "--cache prev.npz is a file",
    ),
    Case(
        "compensate-over-g",
        [
            "compensate",
            "spec.toml",
            "--scheme",
            "ir-predistort",
            "--conductances",
            "g.npy",
            "-o",
            "g.npy",
        ],
        "is the input --conductances",
    ),
    Case(
        "compensate-correction-over-output",
        [
            "compensate",
            "spec.toml",
            "--scheme",
            "ir-predistort",
            "--conductances",
            "g.npy",
            "-o",
            "x.json",
            "--rescale",
        ],
        "correction file",
    ),
    Case(
        "compensate-json-into-missing",
        [
            "compensate",
            "spec.toml",
            "--scheme",
            "partitioning",
            "--engine",
            "nodal",
            "--json",
            "nowhere/r.json",
        ],
        "folder nowhere not found",
    ),
    Case(
        "compensate-json-over-g",
        [
            "compensate",
            "spec.toml",
            "--scheme",
            "partitioning",
            "--engine",
            "nodal",
            "--conductances",
            "g.npy",
            "--json",
            "g.npy",
        ],
        "is the input --conductances",
    ),
    Case(
        "pareto-out-is-file",
        ["compensate", "spec.toml", "--pareto", "--out", "prev.npz"],
        "prev.npz is a file",
    ),
    Case(
        "evaluate-json-into-missing",
        ["evaluate", "--model", "digits-mlp", "--spec", "spec.toml", "--json", "nowhere/r.json"],
        "folder nowhere not found",
    ),
    Case(
        "evaluate-json-over-spec",
        ["evaluate", "--model", "digits-mlp", "--spec", "spec.toml", "--json", "spec.toml"],
        "is the input --spec",
    ),
    Case(
        "evaluate-unknown-model",
        ["evaluate", "--model", "resnet50", "--spec", "spec.toml"],
        "digits-mlp, mnist-mlp, mnist-cnn",
    ),
    Case(
        "evaluate-cache-is-file",
        ["evaluate", "--model", "digits-mlp", "--spec", "spec.toml", "--cache-dir", "g.npy"],
        "--cache-dir g.npy is a file",
    ),
    Case("demo-out-is-file", ["demo", "--out", "prev.npz"], "prev.npz is a file"),
    Case(
        "demo-holds-link",
        ["demo", "--out", "models"],
        "symbolic link",
        (symlink("models/deck.cir", "../spec.toml"),),
    ),
    # ----- the argument parser: exit code 2 -----
    Case(
        "usage-unknown-flag", [*simulate(), "--colour"], "unrecognized arguments: --colour", code=2
    ),
    Case(
        "usage-missing", ["simulate", "spec.toml"], "the following arguments are required", code=2
    ),
    Case("usage-no-command", [], "COMMAND", code=2),
    Case("usage-bad-engine", simulate(engine="hspice"), "invalid choice", code=2),
    Case("usage-bad-timeout", simulate(extra=("--timeout", "nan")), "--timeout", code=2),
    Case(
        "usage-tran-ideal", simulate(extra=("--analysis", "tran")), "needs --engine ngspice", code=2
    ),
    Case(
        "usage-tran-no-stop",
        simulate(engine="ngspice", extra=("--analysis", "tran")),
        "needs --t-stop",
        code=2,
    ),
    Case(
        "usage-settle-tol",
        simulate(
            engine="ngspice", extra=("--analysis", "tran", "--t-stop", "1e-9", "--settle-tol", "2")
        ),
        "--settle-tol",
        code=2,
    ),
    Case(
        "usage-budget",
        ["compensate", "spec.toml", "--pareto", "--out", "p", "--budget", "-1"],
        "--budget",
        code=2,
    ),
    Case(
        "usage-budget-nan",
        ["compensate", "spec.toml", "--pareto", "--out", "p", "--budget", "nan"],
        "--budget",
        code=2,
    ),
    Case(
        "usage-sram-weights",
        ["compensate", "spec.toml", "--pareto", "--out", "p", "--sram-weights", "-5"],
        "--sram-weights",
        code=2,
    ),
    Case(
        "usage-scale",
        ["compensate", "spec.toml", "--scheme", "input-scaling", "--scale", "0"],
        "--scale",
        code=2,
    ),
    Case(
        "usage-scheduler",
        ["calibrate", "spec.toml", "-o", "x.json", "--scheduler", "tcp://h:1"],
        "--executor dask",
        code=2,
    ),
    Case(
        "usage-negative-seed",
        ["demo", "--out", "d", "--seed", "-1"],
        "--seed",
        code=2,
        marks=(xfail(3),),
    ),
]


def _limit_memory() -> None:
    """At most 4 GiB of address space: a case that tries to allocate a huge array fails
    at once instead of loading the shared machine."""
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_command_lines(tmp_path: Path, case: Case) -> None:
    base_files(tmp_path)
    for make in case.make:
        make(tmp_path)
    before = snapshot(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "cimspice.cli", *case.args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "CIMSPICE_NGSPICE": "off"},
        preexec_fn=_limit_memory,
    )
    lines = proc.stderr.splitlines()
    assert proc.returncode == case.code, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("cimspice"), proc.stderr
    assert "Traceback" not in proc.stderr and ".part" not in proc.stderr
    assert case.fragment in lines[0], lines[0]
    assert snapshot(tmp_path) == before  # inputs, earlier outputs, links, FIFOs: untouched


# ----- random bytes as input files (in-process) -----


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    base_files(folder)
    return folder


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    which=st.sampled_from(["spec", "g", "v", "surrogate"]),
    content=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.binary(max_size=200).map(lambda b: b"\x93NUMPY\x01\x00" + b),
        st.binary(max_size=200).map(lambda b: b'{"format": ' + b),
        st.binary(max_size=200).map(lambda b: SPEC.encode()[: len(b) % len(SPEC)] + b),
    ),
)
def test_random_bytes_as_input_files(fuzz_folder: Path, capsys, which: str, content: bytes):
    suffix = {"spec": "toml", "surrogate": "json"}.get(which, "npy")
    bad = fuzz_folder / f"random.{suffix}"
    bad.write_bytes(content)
    before = snapshot(fuzz_folder)
    paths = {
        name: str(fuzz_folder / f"{name}.{ext}")
        for name, ext in (("spec", "toml"), ("g", "npy"), ("v", "npy"), ("s", "json"), ("o", "npz"))
    }
    kind = {"spec": "spec", "g": "g", "v": "v", "surrogate": "s"}[which]
    paths[kind] = str(bad)
    code = main(
        simulate(
            spec=paths["spec"],
            g=paths["g"],
            v=paths["v"],
            out=paths["o"],
            engine="surrogate",
            extra=("--surrogate", paths["s"]),
        )
    )
    err = capsys.readouterr().err
    if code == 0:  # random bytes can still make a valid file (e.g. a prefix of the good spec)
        Path(paths["o"]).unlink()
        return
    assert code == 1 and err.count("\n") == 1 and err.startswith("cimspice: error:"), err
    assert snapshot(fuzz_folder) == before
