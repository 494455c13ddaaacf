"""Shared fixtures and the ngspice switch.

Tests marked ``ngspice`` run the real simulator. ``CIMSPICE_REQUIRE_NGSPICE=1`` (set by
``scripts/run.sh test`` and therefore CI) makes them fail when ngspice is missing;
``CIMSPICE_NGSPICE=off`` turns them off; otherwise they are skipped, with the reason, where
ngspice is not installed.

Each requirement is enforced by one autouse fixture, ``_required``.

Tests marked ``torch`` need the ``torch`` extra: ``CIMSPICE_REQUIRE_TORCH=1`` (set by
``scripts/run.sh test``, and so in CI, which installs the extra) makes them fail when torch is
missing; otherwise they are skipped there. Tests marked ``osdi`` need an OpenVAF compiler (the
``osdi`` extra, ~300 MB with its LLVM, which ``scripts/setup.sh`` installs):
``CIMSPICE_REQUIRE_OSDI=1`` (set by ``scripts/run.sh test``) makes them fail without one;
otherwise they are skipped where there is none. Tests marked ``cuda`` run where CUDA exists
and are skipped elsewhere.
Tests marked ``large`` need the ``large`` extra (scikit-sparse):
``CIMSPICE_REQUIRE_LARGE=1`` (set by ``scripts/run.sh test``) makes them fail without it.
Tests marked ``aihwkit`` run IBM aihwkit in its own environment (``scripts/setup.sh`` makes
``.venv-aihwkit``; ``CIMSPICE_AIHWKIT_PYTHON`` names another python) through the
``aihwkit_python`` fixture: ``CIMSPICE_REQUIRE_AIHWKIT=1`` (set by ``scripts/run.sh test``
where that environment was made) makes them fail where it does not run.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cimspice.engines.ngspice import find_libngspice
from cimspice.spec import CrossbarSpec, spec_from_dict

REPO = Path(__file__).resolve().parent.parent
AIHWKIT_PYTHON = os.environ.get("CIMSPICE_AIHWKIT_PYTHON") or str(REPO / ".venv-aihwkit/bin/python")
"""The python of aihwkit's own environment."""


@functools.cache
def _present(marker: str) -> bool:
    """Whether what tests marked ``marker`` need is installed."""
    if marker == "ngspice":
        return find_libngspice() is not None
    if marker == "aihwkit":
        if not Path(AIHWKIT_PYTHON).is_file():
            return False
        probe = [AIHWKIT_PYTHON, "-c", "import aihwkit.nn"]
        return subprocess.run(probe, capture_output=True, check=False).returncode == 0
    if marker == "osdi":
        from cimspice.write.osdi import compiler

        return compiler() is not None
    return importlib.util.find_spec(_REQUIRED[marker][1]) is not None


_REQUIRED = {
    "ngspice": (
        "CIMSPICE_REQUIRE_NGSPICE",
        "libngspice",
        "ngspice is required (CIMSPICE_REQUIRE_NGSPICE=1) but libngspice.so is not installed",
        "ngspice (libngspice.so) is not installed",
    ),
    "torch": (
        "CIMSPICE_REQUIRE_TORCH",
        "torch",
        "torch is required (CIMSPICE_REQUIRE_TORCH=1) but not installed: pip install "
        "'cimspice[torch]'",
        "torch (the torch extra) is not installed",
    ),
    "large": (
        "CIMSPICE_REQUIRE_LARGE",
        "sksparse",
        "scikit-sparse is required (CIMSPICE_REQUIRE_LARGE=1) but not installed: pip install "
        "'cimspice[large]' (after apt-get install libsuitesparse-dev)",
        "scikit-sparse (the large extra) is not installed",
    ),
    "aihwkit": (
        "CIMSPICE_REQUIRE_AIHWKIT",
        "aihwkit",
        f"aihwkit is required (CIMSPICE_REQUIRE_AIHWKIT=1) but {AIHWKIT_PYTHON} lacks it "
        "(bash scripts/setup.sh makes .venv-aihwkit)",
        "aihwkit's environment is not installed (bash scripts/setup.sh makes it)",
    ),
    "osdi": (
        "CIMSPICE_REQUIRE_OSDI",
        "openvaf",
        "an OpenVAF compiler is required (CIMSPICE_REQUIRE_OSDI=1) but none was found: pip "
        "install 'cimspice[osdi]', or name one in CIMSPICE_OPENVAF",
        "no OpenVAF compiler (the osdi extra is not installed)",
    ),
}
"""Per marker: the switch (``=1``: fail without it, as CI does), the module (or library) it
needs, the failure and the skip's reason."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    off = os.environ.get("CIMSPICE_NGSPICE", "").lower() == "off"
    if off and os.environ.get("CIMSPICE_REQUIRE_NGSPICE") == "1":
        raise pytest.UsageError("CIMSPICE_REQUIRE_NGSPICE=1 contradicts CIMSPICE_NGSPICE=off")
    cuda = False
    if _present("torch") and any("cuda" in item.keywords for item in items):
        import torch

        cuda = torch.cuda.is_available()
    for item in items:
        if off and "ngspice" in item.keywords:
            item.add_marker(
                pytest.mark.skip(reason="ngspice tests turned off (CIMSPICE_NGSPICE=off)")
            )
            continue
        for marker, (switch, _, _, reason) in _REQUIRED.items():
            # required and missing: _required fails the test instead
            if marker in item.keywords and not _present(marker):
                if os.environ.get(switch) != "1":
                    item.add_marker(pytest.mark.skip(reason=reason))
                break
        else:
            if "cuda" in item.keywords and not cuda:
                item.add_marker(pytest.mark.skip(reason="no CUDA device on this machine"))


@pytest.fixture(autouse=True)
def _required(request: pytest.FixtureRequest) -> None:
    """Fail a test whose marker's switch is set (``CIMSPICE_REQUIRE_...=1``) when what it
    needs is missing (an autouse fixture: a fixture added by a marker after collection
    never runs, so this is where the requirement is enforced)."""
    for marker, (switch, _, failure, _) in _REQUIRED.items():
        if (
            request.node.get_closest_marker(marker) is not None
            and os.environ.get(switch) == "1"
            and not _present(marker)
        ):
            pytest.fail(failure, pytrace=False)


@pytest.fixture(scope="session")
def aihwkit_python() -> str:
    """The python of aihwkit's environment (for tests marked ``aihwkit``)."""
    return AIHWKIT_PYTHON


def make_spec(
    rows: int,
    cols: int,
    *,
    r_row: float = 0.0,
    r_col: float = 0.0,
    r_source: float = 0.0,
    r_in: float = 0.0,
) -> CrossbarSpec:
    """A passive spec built in memory."""
    return spec_from_dict(
        {
            "array": {"rows": rows, "cols": cols},
            "wire": {"r_row": r_row, "r_col": r_col},
            "driver": {"r_source": r_source},
            "readout": {"r_in": r_in},
        }
    )


def random_arrays(rows: int, cols: int, batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Conductances ~ U(1, 100) uS and inputs ~ U(0, 0.2) V."""
    rng = np.random.default_rng(seed)
    return rng.uniform(1e-6, 100e-6, (rows, cols)), rng.uniform(0.0, 0.2, (batch, rows))


def simulate_with_surrogate(folder: Path, spec_text: str, surrogate: Path) -> tuple[int, str]:
    """Run ``cimspice simulate --engine surrogate`` in-process on a spec written from
    ``spec_text`` with small arrays of its size; returns the exit code and stderr."""
    import contextlib
    import io
    import tomllib

    from cimspice.cli import main

    spec = folder / "spec.toml"
    spec.write_text(spec_text)
    tile = spec_from_dict(tomllib.loads(spec_text))
    np.save(folder / "g.npy", np.full((tile.rows, tile.cols), 1e-5))
    np.save(folder / "v.npy", np.full((2, tile.rows), 0.1))
    arrays = ["--conductances", str(folder / "g.npy"), "--inputs", str(folder / "v.npy")]
    engine = ["--engine", "surrogate", "--surrogate", str(surrogate)]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["simulate", str(spec), *arrays, *engine, "-o", str(folder / "o.npz")])
    return code, err.getvalue()
