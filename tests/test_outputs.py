"""Output paths (cimspice.outputs): checked before any work, only regular files replaced,
never an input, all or nothing; and the commands and library functions that rely on it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cimspice import simulate
from cimspice.cli import main
from cimspice.errors import InputError, OutputError
from cimspice.outputs import OutputPlan, atomic_output
from cimspice.spec import spec_from_dict
from cimspice.surrogate.model import LinearTileSurrogate, TileParams

SPEC = spec_from_dict({"array": {"rows": 6, "cols": 4}, "wire": {"r_row": 2.0, "r_col": 2.0}})
RANGES = {"g_min": 1e-6, "g_max": 1e-4, "v_min": 0.0, "v_max": 0.2}


class WorkStartedError(AssertionError):
    """Raised by a stand-in for the expensive work: the command got past its checks."""


def no_work(*args, **kwargs):
    raise WorkStartedError("the work started before the arguments were checked")


def entries(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# ----- one file: atomic_output -----


@pytest.mark.parametrize("kind", ["symlink", "fifo", "folder"])
def test_atomic_output_replaces_only_regular_files(tmp_path, kind):
    target = tmp_path / "out.npz"
    victim = tmp_path / "victim.npy"
    victim.write_bytes(b"keep me")
    if kind == "symlink":
        target.symlink_to(victim)
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    result = simulate(SPEC, np.full((6, 4), 1e-5), np.full((2, 6), 0.1), engine="ideal")
    with pytest.raises(OutputError, match=r"only ever replace regular files"):
        result.save(target)  # a library writer: Result.save goes through atomic_output
    assert victim.read_bytes() == b"keep me"
    assert target.is_symlink() if kind == "symlink" else True
    assert stat.S_ISFIFO(target.lstat().st_mode) if kind == "fifo" else True
    assert entries(tmp_path) == {"out.npz", "victim.npy"}


def test_surrogate_save_refuses_a_link(tmp_path):
    (tmp_path / "spec.toml").write_text("keep")
    (tmp_path / "s.json").symlink_to(tmp_path / "spec.toml")
    surrogate = LinearTileSurrogate(SPEC, TileParams.from_spec(SPEC), RANGES)
    with pytest.raises(OutputError, match="symbolic link"):
        surrogate.save(tmp_path / "s.json")
    assert (tmp_path / "spec.toml").read_text() == "keep"


def test_a_failed_move_names_the_users_path(tmp_path, monkeypatch):
    target = tmp_path / "deck.cir"

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputError) as info, atomic_output(target, "w") as handle:
        handle.write("text")
    assert str(target) in str(info.value) and ".part" not in str(info.value)
    assert entries(tmp_path) == set()


# ----- a command's outputs: OutputPlan -----


def test_plan_refuses_an_output_that_is_an_input(tmp_path):
    data = tmp_path / "g.npy"
    data.write_bytes(b"input")
    os.link(data, tmp_path / "hard.npy")
    (tmp_path / "sub").mkdir()
    for alias in (data, tmp_path / "hard.npy", tmp_path / "sub" / ".." / "g.npy"):
        plan = OutputPlan()
        plan.read(data, "--conductances")
        plan.write(alias, "-o")
        with pytest.raises(OutputError, match=r"is the input --conductances"):
            plan.check()
    plan = OutputPlan()
    plan.read(data, "--conductances")
    plan.folder(tmp_path, "--plot-dir", ["g.npy"])  # a file the folder would get
    with pytest.raises(OutputError, match=r"--plot-dir .*g.npy is the input"):
        plan.check()


def test_plan_refuses_outputs_that_are_each_other(tmp_path):
    plan = OutputPlan()
    plan.write(tmp_path / "x.json", "-o")
    plan.folder(tmp_path, "--report-dir", ["x.json"])
    with pytest.raises(OutputError, match="give each output its own path"):
        plan.check()


def test_plan_is_all_or_nothing(tmp_path):
    old = tmp_path / "old.npz"
    old.write_bytes(b"earlier output")
    plan = OutputPlan()
    plan.write(old, "-o")
    plan.folder(tmp_path / "new" / "plots", "--plot-dir", ["a.png"])
    with pytest.raises(RuntimeError, match="half-way"), plan:
        plan.stage(old).write_bytes(b"new")
        (plan.stage(tmp_path / "new" / "plots") / "a.png").write_bytes(b"png")
        raise RuntimeError("failed half-way")
    assert old.read_bytes() == b"earlier output"
    assert entries(tmp_path) == {"old.npz"}  # no folder, no temporary


def test_plan_commits_everything_with_the_usual_modes(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "a.png").write_bytes(b"old picture")
    old = os.umask(0o022)
    try:
        plan = OutputPlan()
        plan.write(tmp_path / "o.npz", "-o")
        plan.folder(tmp_path / "plots", "--plot-dir", ["a.png"])
        plan.folder(tmp_path / "deep" / "report", "--report-dir", ["sub/r.md"])
        with plan:
            plan.stage(tmp_path / "o.npz").write_bytes(b"data")
            (plan.stage(tmp_path / "plots") / "a.png").write_bytes(b"picture")
            report = plan.stage(tmp_path / "deep" / "report")
            (report / "sub").mkdir()
            (report / "sub" / "r.md").write_text("report")
    finally:
        os.umask(old)
    assert (tmp_path / "o.npz").read_bytes() == b"data"
    assert (tmp_path / "plots" / "a.png").read_bytes() == b"picture"
    assert (tmp_path / "deep" / "report" / "sub" / "r.md").read_text() == "report"
    assert (tmp_path / "deep" / "report").stat().st_mode & 0o777 == 0o755
    assert entries(tmp_path) == {
        "o.npz",
        "plots",
        "plots/a.png",
        "deep",
        "deep/report",
        "deep/report/sub",
        "deep/report/sub/r.md",
    }


def test_plan_checks_again_before_moving_anything(tmp_path):
    (tmp_path / "plots").mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep")
    plan = OutputPlan()
    plan.write(tmp_path / "o.npz", "-o")
    plan.folder(tmp_path / "plots", "--plot-dir", ["a.png"])
    with pytest.raises(OutputError, match="symbolic link"), plan:
        plan.stage(tmp_path / "o.npz").write_bytes(b"data")
        (plan.stage(tmp_path / "plots") / "a.png").write_bytes(b"picture")
        (tmp_path / "plots" / "a.png").symlink_to(victim)  # appears while the work runs
    assert victim.read_text() == "keep"
    assert not (tmp_path / "o.npz").exists()  # the other output was not moved either
    assert entries(tmp_path) == {"plots", "plots/a.png", "victim"}


def test_an_error_inside_the_plan_names_the_users_path(tmp_path):
    plan = OutputPlan()
    plan.write(tmp_path / "o.npz", "-o")
    with pytest.raises(OutputError) as info, plan:
        raise OSError(28, "No space left on device", str(plan.stage(tmp_path / "o.npz")))
    assert ".part" not in str(info.value) and str(tmp_path / "o.npz") in str(info.value)


# ----- library functions that write several files -----


def test_calibration_report_is_all_or_nothing(tmp_path, monkeypatch):
    import cimspice.surrogate.calibrate as calibrate_module
    from cimspice.surrogate.calibrate import Calibration, write_report

    def half(calibration, out_dir):
        (Path(out_dir) / "parity.png").write_bytes(b"one figure")
        raise OSError("disk full")

    monkeypatch.setattr(calibrate_module, "_write_figures", half)
    surrogate = LinearTileSurrogate(SPEC, TileParams.from_spec(SPEC), RANGES)
    calibration = Calibration(surrogate, {}, {}, {})
    with pytest.raises(OSError, match="disk full"):
        write_report(calibration, tmp_path / "report")
    assert entries(tmp_path) == set()


# ----- commands: every path checked before any work (issue 11, item 5) -----


def test_calibrate_into_a_folder_is_refused_before_any_spice_run(tmp_path, monkeypatch, capsys):
    import cimspice.surrogate.calibrate as calibrate

    monkeypatch.setattr(calibrate, "calibrate", no_work)
    (tmp_path / "spec.toml").write_text('[array]\nrows = 4\ncols = 4\ncell = "0T1R"\n')
    (tmp_path / "out").mkdir()
    code = main(["calibrate", str(tmp_path / "spec.toml"), "-o", str(tmp_path / "out")])
    assert code == 1 and "is a folder" in capsys.readouterr().err
    assert entries(tmp_path) == {"spec.toml", "out"}  # no report folder left behind


def test_pareto_budget_is_checked_before_any_work(tmp_path, monkeypatch, capsys):
    import cimspice.studies.evaluate as evaluate
    import cimspice.studies.pareto_report as report

    monkeypatch.setattr(report, "run_pareto", no_work)
    for command in (["pareto"], ["compensate", "--pareto"]):  # the command and its alias
        with pytest.raises(SystemExit) as info:
            main([*command, "spec.toml", "--out", "p", "--budget", "-1"])
        err = capsys.readouterr().err
        assert info.value.code == 2 and err.count("\n") == 1 and "--budget" in err
    monkeypatch.undo()
    # the library too: a bad budget is refused before the model is even resolved
    monkeypatch.setattr(evaluate, "resolve_model", no_work)
    (tmp_path / "spec.toml").write_text("[array]\nrows = 8\ncols = 8\n")
    request = report.ParetoRequest(
        spec=tmp_path / "spec.toml", out=tmp_path / "p", model="digits-mlp", budget=-1.0
    )
    with pytest.raises(InputError, match="budget"):
        report.run_pareto(request)
    assert entries(tmp_path) == {"spec.toml"}


def test_evaluate_json_in_a_missing_folder_is_refused_before_the_evaluation(tmp_path, monkeypatch):
    import cimspice.studies.evaluate as evaluate
    from cimspice.studies.evaluate_request import EvaluateRequest, run_evaluate

    monkeypatch.setattr(evaluate, "resolve_model", no_work)
    monkeypatch.setattr(evaluate, "evaluate", no_work)
    (tmp_path / "spec.toml").write_text("[array]\nrows = 8\ncols = 8\n")
    request = EvaluateRequest(
        model="digits-mlp", spec=tmp_path / "spec.toml", json_out=tmp_path / "no" / "r.json"
    )
    with pytest.raises(OutputError, match=r"folder .*no not found"):
        run_evaluate(request)


def test_compensate_network_model_is_checked_before_the_scheme_runs(tmp_path, monkeypatch, capsys):
    import cimspice.compensation as compensation

    monkeypatch.setattr(compensation, "evaluate_scheme", no_work)
    (tmp_path / "spec.toml").write_text("[array]\nrows = 8\ncols = 8\n")
    code = main(
        [
            "compensate",
            str(tmp_path / "spec.toml"),
            "--scheme",
            "partitioning",
            "--network",
            "--model",
            "resnet50",
            "--engine",
            "nodal",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "resnet50" in err and "digits-mlp, mnist-mlp, mnist-cnn" in err


# ----- messages (issue 11, item 6) -----


def simulate_in(folder: Path, spec: str, engine: str, *extra: str) -> list[str]:
    """``cimspice simulate`` (the real entry point) on ``folder``'s g.npy and v.npy; asserts
    no traceback and returns the exit code (as text) and the lines of stderr."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cimspice.cli",
            "simulate",
            spec,
            "--conductances",
            "g.npy",
            "--inputs",
            "v.npy",
            "--engine",
            engine,
            *extra,
            "-o",
            "o.npz",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in proc.stderr and "RuntimeWarning" not in proc.stderr, proc.stderr
    return [str(proc.returncode), *proc.stderr.splitlines()]


def test_numpy_warnings_do_not_come_before_an_error(tmp_path):
    (tmp_path / "sinh.toml").write_text(
        "[array]\nrows = 4\ncols = 4\n[wire]\nr_row = 2.0\nr_col = 2.0\n"
        '[device]\niv = "sinh"\nv0 = 0.2\n'
    )
    np.save(tmp_path / "g.npy", np.full((4, 4), 1e-5))
    np.save(tmp_path / "v.npy", np.full((2, 4), 1e3))  # sinh(5000): exp overflows on the way
    code, *lines = simulate_in(tmp_path, "sinh.toml", "nodal")
    assert code == "1" and len(lines) == 1 and lines[0].startswith("cimspice: error:"), lines


def test_warnings_after_a_success_are_one_line_each(tmp_path):
    (tmp_path / "spec.toml").write_text(
        "[array]\nrows = 6\ncols = 4\n[wire]\nr_row = 2.0\nr_col = 2.0\n"
    )
    LinearTileSurrogate(SPEC, TileParams.from_spec(SPEC), RANGES).save(tmp_path / "s.json")
    np.save(tmp_path / "g.npy", np.full((6, 4), 1e-5))
    np.save(tmp_path / "v.npy", np.full((2, 6), 0.5))  # above the calibrated 0.2 V
    code, *lines = simulate_in(tmp_path, "spec.toml", "surrogate", "--surrogate", "s.json")
    assert code == "0" and lines, lines
    assert all(line.startswith("cimspice: warning: ") for line in lines), lines
    assert any("0.5" in line and "outside" in line for line in lines), lines
