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


def nested(depth: int) -> Callable[[Path], None]:
    """The base surrogate with its parameters replaced by ``depth`` nested lists (written as
    text: too deep for the json module to write)."""

    def make(folder: Path) -> None:
        data = json.loads((folder / "s.json").read_text())
        data["params"] = "@"
        text = json.dumps(data).replace('"@"', "[" * depth + "0" + "]" * depth)
        (folder / "bad.json").write_text(text)

    return make


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


def bad_spec(id: str, old: str, new: str, fragment: str, **kw: Any) -> Case:
    """``simulate`` on the base spec with ``old`` replaced by ``new``."""
    return Case(id, simulate(spec="bad.toml"), fragment, (spec_text(old, new),), **kw)


def bad_array(id: str, flag: str, array: Any, fragment: str, **kw: Any) -> Case:
    """``simulate`` with ``array`` as the conductances (``g``) or inputs (``v``)."""
    return Case(id, simulate(**{flag: "bad.npy"}), fragment, (save("bad.npy", array),), **kw)


def bad_surrogate(id: str, edit: Callable[[dict], Any], fragment: str, **kw: Any) -> Case:
    """``simulate --engine surrogate`` with the base surrogate file edited."""
    return Case(id, surrogate("bad.json"), fragment, (surrogate_json(edit),), **kw)


def command(id: str, args: str, fragment: str, *make: Callable[[Path], None], **kw: Any) -> Case:
    """Any command line (split on spaces)."""
    return Case(id, args.split(), fragment, make, **kw)


def usage(id: str, args: Args | str, fragment: str, **kw: Any) -> Case:
    """A command line the argument parser rejects: exit code 2."""
    return Case(id, args.split() if isinstance(args, str) else args, fragment, code=2, **kw)


PREDISTORT = "compensate spec.toml --scheme ir-predistort --conductances g.npy"
PARTITIONING = "compensate spec.toml --scheme partitioning --engine nodal"
EVALUATE = "evaluate --model digits-mlp --spec spec.toml"
PARETO = "compensate spec.toml --pareto --out p"
PREDISTORT_CMD = "predistort spec.toml --conductances g.npy"

CASES = [
    # ----- specs -----
    Case("spec-missing", simulate(spec="nope.toml"), "spec file not found"),
    Case("spec-folder", simulate(spec="models"), "is a directory"),
    Case("spec-fifo", simulate(spec="f.toml"), "not a regular file", (fifo("f.toml"),)),
    Case("spec-dangling-link", simulate(spec="l.toml"), "not found", (symlink("l.toml", "x"),)),
    Case("spec-empty", simulate(spec="bad.toml"), "bad.toml", (write("bad.toml", ""),)),
    Case("spec-binary", simulate(spec="bad.toml"), "bad.toml", (write("bad.toml", b"\xff\xfe\0"),)),
    bad_spec("spec-bad-toml", "[array]", "[array", "invalid TOML"),
    bad_spec("spec-unknown-key", "cols = 4", "cols = 4\ncolour = 1", "array.colour"),
    bad_spec("spec-unknown-section", "[wire]", "[antenna]\nx = 1\n[wire]", "antenna"),
    bad_spec("spec-wrong-type", "rows = 6", 'rows = "six"', "array.rows"),
    bad_spec("spec-bool-size", "rows = 6", "rows = true", "array.rows"),
    bad_spec("spec-negative", "r_row = 2.0", "r_row = -2.0", "wire.r_row"),
    bad_spec("spec-nan", "r_row = 2.0", "r_row = nan", "wire.r_row"),
    bad_spec("spec-inf", "r_col = 2.0", "r_col = inf", "wire.r_col"),
    bad_spec("spec-zero-rows", "rows = 6", "rows = 0", "array.rows"),
    bad_spec("spec-bad-cell", '"0T1R"', '"2T2R"', "array.cell"),
    bad_spec("spec-negative-seed", "[wire]", "[nonideal]\nseed = -1\n[wire]", "seed"),
    command(
        "spec-huge-rows",
        "netlist bad.toml -o d.cir",
        "tile needs about",  # the memory estimate, before any allocation
        spec_text("rows = 6", "rows = 1000000000"),
    ),
    command(
        "spec-model-file-elsewhere",
        "netlist t.toml -o d.cir",
        "outside",
        write("t.toml", MODEL_SPEC.replace("card.lib", "/etc/hostname")),
    ),
    # ----- arrays -----
    Case("g-missing", simulate(g="nope.npy"), "conductances file not found"),
    Case("g-folder", simulate(g="models"), "not a regular file"),
    Case("g-fifo", simulate(g="f.npy"), "not a regular file", (fifo("f.npy"),)),
    bad_array("g-shape", "g", np.ones((4, 6)), "(rows, cols) = (6, 4)"),
    bad_array("g-0d", "g", np.float64(1e-5), "(rows, cols) = (6, 4)"),
    bad_array("g-nan", "g", np.full((6, 4), np.nan), "non-finite"),
    bad_array("g-negative", "g", np.full((6, 4), -1e-5), ">= 0 siemens"),
    bad_array("g-bool", "g", np.ones((6, 4), bool), "real numbers"),
    bad_array("g-complex", "g", np.ones((6, 4), complex), "real numbers"),
    bad_array("g-strings", "g", np.full((6, 4), "x"), "real numbers"),
    Case(
        "g-pickle",
        simulate(g="bad.npy"),
        "not a readable .npy",
        (save("bad.npy", np.full((6, 4), None, dtype=object), allow_pickle=True),),
    ),
    Case("g-npz-as-npy", simulate(g="bad.npy"), "several arrays", (savez("bad.npy"),)),
    Case("g-truncated", simulate(g="bad.npy"), "not a readable .npy", (truncated("bad.npy"),)),
    Case("g-text", simulate(g="bad.npy"), "not a readable .npy", (write("bad.npy", "1 2 3\n"),)),
    Case("g-empty-file", simulate(g="bad.npy"), "not a readable .npy", (write("bad.npy", b""),)),
    Case("g-huge-header", simulate(g="huge.npy"), "huge.npy", (huge_header,)),
    bad_array("v-rows", "v", np.ones((5, 7)), "rows = 6"),
    bad_array("v-3d", "v", np.ones((2, 5, 6)), "rows = 6"),
    bad_array("v-empty-batch", "v", np.ones((0, 6)), "empty batch"),
    bad_array("v-inf", "v", np.full((2, 6), -np.inf), "non-finite"),
    # ----- surrogate files -----
    Case("sur-missing", surrogate("nope.json"), "surrogate file not found"),
    Case("sur-folder", surrogate("models"), "not a regular file"),
    Case("sur-fifo", surrogate("f.json"), "not a regular file", (fifo("f.json"),)),
    Case("sur-bad-json", surrogate("bad.json"), "not readable JSON", (write("bad.json", "{'a"),)),
    Case("sur-binary", surrogate("bad.json"), "bad.json", (write("bad.json", b"\x89PNG\r\n\0"),)),
    Case(
        "sur-list", surrogate("bad.json"), "not a cimspice surrogate", (write("bad.json", "[1]"),)
    ),
    Case("sur-npz", surrogate("prev.npz"), "prev.npz"),
    bad_surrogate("sur-format", _set("format", "other"), "not a cimspice surrogate"),
    bad_surrogate("sur-no-params", _drop("params"), "bad.json"),
    bad_surrogate("sur-no-r_row", _drop("params.r_row"), "r_row"),
    bad_surrogate("sur-string-param", _set("params.r_row", "two"), "r_row"),
    bad_surrogate("sur-negative-param", _set("params.r_col", -1.0), "r_col"),
    bad_surrogate("sur-nan-range", _set("ranges.g_max", float("nan")), "g_max"),
    bad_surrogate("sur-params-list", _set("params", [1, 2]), "params"),
    bad_surrogate("sur-other-spec", _set("spec_hash", "0" * 64), "bad.json"),
    Case("sur-deep-json", surrogate("bad.json"), "nested too deeply", (nested(100_000),)),
    # ----- output paths -----
    Case("out-is-g", simulate(out="g.npy"), "-o g.npy is the input --conductances"),
    Case("out-is-v", simulate(out="v.npy"), "is the input --inputs"),
    Case("out-is-spec", simulate(out="spec.toml"), "is the input SPEC"),
    Case("out-is-surrogate", [*surrogate("s.json")[:-1], "s.json"], "is the input --surrogate"),
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
    command(
        "netlist-over-model-file",
        "netlist t.toml -o card.lib",
        "is the input access.model_file",
        write("t.toml", MODEL_SPEC),
        write("card.lib", MODEL_CARD),
    ),
    command("netlist-over-spec", "netlist spec.toml -o spec.toml", "is the input SPEC"),
    command(
        "netlist-over-g",
        "netlist spec.toml --conductances g.npy -o g.npy",
        "is the input --conductances",
    ),
    command("calibrate-over-spec", "calibrate spec.toml -o spec.toml", "is the input SPEC"),
    command("calibrate-into-folder", "calibrate spec.toml -o models", "-o models is a folder"),
    command(
        "calibrate-report-is-file",
        "calibrate spec.toml -o new.json --report-dir g.npy",
        "--report-dir g.npy is a file",
    ),
    command(
        "calibrate-report-over-output",
        "calibrate spec.toml -o report.md --report-dir .",
        "give each output its own path",
    ),
    command(
        "calibrate-cache-is-file",
        "calibrate spec.toml -o new.json --cache prev.npz",
        "--cache prev.npz is a file",
    ),
    command("compensate-over-g", f"{PREDISTORT} -o g.npy", "is the input --conductances"),
    command(
        "compensate-correction-over-output", f"{PREDISTORT} -o x.json --rescale", "correction file"
    ),
    command(
        "compensate-json-into-missing",
        f"{PARTITIONING} --json nowhere/r.json",
        "folder nowhere not found",
    ),
    command(
        "compensate-json-over-g",
        f"{PARTITIONING} --conductances g.npy --json g.npy",
        "is the input --conductances",
    ),
    command("compensate-json-trailing-slash", f"{PARTITIONING} --json new/", "names a folder"),
    command("compensate-o-trailing-slash", f"{PREDISTORT} -o new/", "names a folder"),
    command(
        "pareto-out-is-file", "compensate spec.toml --pareto --out prev.npz", "prev.npz is a file"
    ),
    # ----- predistort and pareto: their own commands (the compensate forms above alias them)
    command(
        "predistort-over-g", f"{PREDISTORT_CMD} -o g.npy", "-o g.npy is the input --conductances"
    ),
    command("predistort-over-spec", f"{PREDISTORT_CMD} -o spec.toml", "is the input SPEC"),
    command(
        "predistort-over-g-by-link",
        f"{PREDISTORT_CMD} -o h.npy",
        "is the input --conductances",
        hardlink("h.npy", "g.npy"),
    ),
    command("predistort-into-folder", f"{PREDISTORT_CMD} -o models", "-o models is a folder"),
    command("predistort-into-missing", f"{PREDISTORT_CMD} -o nowhere/x.npy", "folder nowhere"),
    command("predistort-trailing-slash", f"{PREDISTORT_CMD} -o new/", "names a folder"),
    command(
        "predistort-link",
        f"{PREDISTORT_CMD} -o l.npy",
        "symbolic link",
        symlink("l.npy", "prev.npz"),
    ),
    command("predistort-fifo", f"{PREDISTORT_CMD} -o f.npy", "is a FIFO", fifo("f.npy")),
    command(
        "predistort-correction-over-output",
        f"{PREDISTORT_CMD} -o x.json --floor-offset",
        "correction file",
    ),
    command(
        "predistort-correction-is-link",
        f"{PREDISTORT_CMD} -o x.npy --rescale",
        "correction file (-o with .json) x.json is a symbolic link",
        symlink("x.json", "prev.npz"),
    ),
    command(
        "predistort-correction-over-spec",
        "predistort spec.npy --conductances g.npy -o spec.json --rescale",
        "spec file not found",
    ),
    command(
        "predistort-g-missing", "predistort spec.toml --conductances no.npy -o x.npy", "no.npy"
    ),
    command(
        "predistort-g-fifo",
        "predistort spec.toml --conductances f.npy -o x.npy",
        "not a regular file",
        fifo("f.npy"),
    ),
    command(
        "predistort-g-shape",
        "predistort spec.toml --conductances bad.npy -o x.npy",
        "(rows, cols) = (6, 4)",
        save("bad.npy", np.ones((4, 6))),
    ),
    command(
        "predistort-g-outside-window",
        "predistort spec.toml --conductances bad.npy -o x.npy",
        "outside the spec's window",
        save("bad.npy", np.full((6, 4), 1e-3)),
    ),
    command(
        "predistort-nonlinear-tile",
        "predistort t.toml --conductances g.npy -o x.npy",
        "device.iv",
        write("t.toml", SPEC + '[device]\niv = "sinh"\n'),
    ),
    command("pareto-cmd-out-is-file", "pareto spec.toml --out prev.npz", "prev.npz is a file"),
    command(
        "pareto-cmd-holds-fifo",
        "pareto spec.toml --out models",
        "FIFO",
        fifo("models/pareto.md"),
    ),
    command(
        "pareto-cmd-holds-link",
        "pareto spec.toml --out models",
        "symbolic link",
        symlink("models/pareto.json", "../spec.toml"),
    ),
    command(
        "pareto-cmd-cache-is-file", "pareto spec.toml --out p --cache-dir g.npy", "g.npy is a file"
    ),
    command("pareto-cmd-spec-missing", "pareto nope.toml --out p", "spec file not found"),
    command(
        "pareto-cmd-unknown-model",
        "pareto spec.toml --out p --model resnet50",
        "digits-mlp, mnist-mlp",
    ),
    command(
        "pareto-cmd-unwritable",
        f"pareto spec.toml --out {unwritable_folder()}/p",
        "output folder",
        read_only,
    ),
    command(
        "evaluate-json-into-missing",
        f"{EVALUATE} --json nowhere/r.json",
        "folder nowhere not found",
    ),
    command("evaluate-json-over-spec", f"{EVALUATE} --json spec.toml", "is the input --spec"),
    command(
        "evaluate-unknown-model",
        "evaluate --model resnet50 --spec spec.toml",
        "digits-mlp, mnist-mlp, mnist-cnn",
    ),
    command(
        "evaluate-cache-is-file", f"{EVALUATE} --cache-dir g.npy", "--cache-dir g.npy is a file"
    ),
    command("demo-out-is-file", "demo --out prev.npz", "prev.npz is a file"),
    command(
        "demo-holds-link",
        "demo --out models",
        "symbolic link",
        symlink("models/deck.cir", "../spec.toml"),
    ),
    # ----- the argument parser: exit code 2 -----
    usage("usage-unknown-flag", [*simulate(), "--colour"], "unrecognized arguments: --colour"),
    usage("usage-missing", "simulate spec.toml", "the following arguments are required"),
    usage("usage-no-command", [], "COMMAND"),
    usage("usage-bad-engine", simulate(engine="hspice"), "invalid choice"),
    usage("usage-bad-timeout", simulate(extra=("--timeout", "nan")), "--timeout"),
    usage("usage-tran-ideal", simulate(extra=("--analysis", "tran")), "needs --engine ngspice"),
    usage(
        "usage-tran-no-stop",
        simulate(engine="ngspice", extra=("--analysis", "tran")),
        "needs --t-stop",
    ),
    usage(
        "usage-settle-tol",
        simulate(
            engine="ngspice", extra=("--analysis", "tran", "--t-stop", "1e-9", "--settle-tol", "2")
        ),
        "--settle-tol",
    ),
    usage("usage-budget", f"{PARETO} --budget -1", "--budget"),
    usage("usage-budget-nan", f"{PARETO} --budget nan", "--budget"),
    usage("usage-sram-weights", f"{PARETO} --sram-weights -5", "--sram-weights"),
    usage("usage-pareto-no-out", "pareto spec.toml", "--out"),
    usage("usage-pareto-budget", "pareto spec.toml --out p --budget 0", "--budget"),
    usage("usage-pareto-seeds", "pareto spec.toml --out p --seeds 0", "--seeds"),
    usage("usage-pareto-scheme", "pareto spec.toml --out p --scheme partitioning", "--scheme"),
    usage("usage-predistort-no-o", PREDISTORT_CMD, "-o/--output"),
    usage("usage-predistort-no-g", "predistort spec.toml -o x.npy", "--conductances"),
    usage("usage-predistort-engine", f"{PREDISTORT_CMD} -o x.npy --engine nodal", "--engine"),
    usage("usage-scale", "compensate spec.toml --scheme input-scaling --scale 0", "--scale"),
    usage(
        "usage-scheduler", "calibrate spec.toml -o x.json --scheduler tcp://h:1", "--executor dask"
    ),
    usage("usage-negative-seed", "demo --out d --seed -1", "--seed"),
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
