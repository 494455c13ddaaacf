"""Import hygiene, a non-editable wheel that carries its templates, and lint."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_import_has_no_side_effects():
    # Importing the package and its engines must not load ngspice, PySpice or matplotlib.
    code = (
        "import sys, cimspice, cimspice.engines, cimspice.engines.ngspice, cimspice.engines.nodal, "
        "cimspice.netlist, cimspice.cli, cimspice.demo\n"
        "heavy = [m for m in ('PySpice', 'matplotlib', 'matplotlib.pyplot') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_import_is_light():
    # The top-level names are lazy: importing cimspice loads no numpy-heavy unit, no plotting,
    # no torch, no engine.
    code = (
        "import sys, cimspice\n"
        "heavy = ('numpy', 'scipy', 'matplotlib', 'torch', 'PySpice', 'cimspice.engines',"
        " 'cimspice.spec', 'cimspice.simulation', 'cimspice.studies', 'cimspice.surrogate')\n"
        "print(','.join(m for m in sys.modules if m.startswith(heavy)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_public_names():
    import cimspice

    for name in cimspice.__all__:
        assert getattr(cimspice, name) is not None
    for name in (  # the entry points a Python user needs without deep imports
        "CrossbarSpec TileSpec NetworkSpec ArraySpec WireSpec DriverSpec ReadoutSpec DeviceSpec "
        "AccessSpec SelectorSpec MappingSpec NonidealSpec load_spec load_preset simulate "
        "get_engine calibrate evaluate evaluate_scheme run_transient load_surrogate"
    ).split():
        assert name in cimspice.__all__
    assert cimspice.calibrate.__module__ == "cimspice.surrogate.calibrate"
    assert cimspice.evaluate.__module__ == "cimspice.studies.evaluate"
    assert set(dir(cimspice)) >= set(cimspice.__all__)
    with pytest.raises(AttributeError):
        cimspice.no_such_name  # noqa: B018


def test_wheel_carries_templates_and_works_from_anywhere(tmp_path):
    # Build a wheel (no network: the build backend comes from this environment), install it
    # into a private folder and render a deck from an unrelated working directory.
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheel_dir.glob("cimspice-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in (REPO / "cimspice").rglob("*.py"):  # every module, subpackages included
        assert module.relative_to(REPO).as_posix() in names
    templates = sorted(p.name for p in (REPO / "netlists").glob("*.j2"))
    for name in templates:
        assert f"cimspice/netlists/{name}" in names
    for path in (REPO / "models").iterdir():
        if path.is_file() and not path.name.startswith("."):
            assert f"cimspice/models/{path.name}" in names
    presets = sorted((REPO / "cimspice" / "spec" / "presets").glob("*.toml"))
    assert presets
    for path in presets:
        assert f"cimspice/spec/presets/{path.name}" in names
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "spec.toml").write_text("[array]\nrows = 3\ncols = 2\n[wire]\nr_row = 1.0\n")
    code = (
        "import cimspice, sys; from cimspice.cli import main;"
        "assert cimspice.__file__.startswith(sys.argv[1]), cimspice.__file__;"
        "assert main(['netlist', 'preset:demo', '-o', 'demo.cir']) == 0;"
        "sys.exit(main(['netlist', 'spec.toml', '-o', 'deck.cir']))"
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code, str(target)], cwd=elsewhere, check=True, env=env)
    assert "rc2_1" in (elsewhere / "deck.cir").read_text()
    assert "64x64 0T1R" in (elsewhere / "demo.cir").read_text()  # a preset from the wheel


def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    proc = subprocess.run([ruff, "check", str(REPO)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_clean():
    mypy = shutil.which("mypy") or str(Path(sys.executable).parent / "mypy")
    proc = subprocess.run(
        [mypy, "--config-file", str(REPO / "pyproject.toml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
