"""Shared fixtures and the ngspice switch.

Tests marked ``ngspice`` run the real simulator. ``CIMSPICE_REQUIRE_NGSPICE=1`` (set by
``scripts/run.sh test`` and therefore CI) makes them fail when ngspice is missing;
``CIMSPICE_NGSPICE=off`` turns them off; otherwise they are skipped, with the reason, where
ngspice is not installed.

Tests marked ``torch`` need the ``torch`` extra: ``CIMSPICE_REQUIRE_TORCH=1`` (set by
``scripts/run.sh test``, and so in CI, which installs the extra) makes them fail when torch is
missing; otherwise they are skipped there. Tests marked ``cuda`` run where CUDA exists and are
skipped elsewhere. Tests marked ``large`` need the ``large`` extra (scikit-sparse):
``CIMSPICE_REQUIRE_LARGE=1`` (set by ``scripts/run.sh test``) makes them fail without it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from cimspice.engines.ngspice import find_libngspice
from cimspice.spec import CrossbarSpec, spec_from_dict

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    required = os.environ.get("CIMSPICE_REQUIRE_NGSPICE") == "1"
    off = os.environ.get("CIMSPICE_NGSPICE", "").lower() == "off"
    if required and off:
        raise pytest.UsageError("CIMSPICE_REQUIRE_NGSPICE=1 contradicts CIMSPICE_NGSPICE=off")
    available = find_libngspice() is not None
    _torch_switch(items)
    _large_switch(items)
    for item in items:
        if "ngspice" not in item.keywords:
            continue
        if off:
            item.add_marker(
                pytest.mark.skip(reason="ngspice tests turned off (CIMSPICE_NGSPICE=off)")
            )
        elif not available and required:
            item.add_marker(pytest.mark.usefixtures("_ngspice_required_but_missing"), append=False)
        elif not available:
            item.add_marker(pytest.mark.skip(reason="ngspice (libngspice.so) is not installed"))


@pytest.fixture
def _ngspice_required_but_missing() -> None:
    pytest.fail(
        "ngspice is required (CIMSPICE_REQUIRE_NGSPICE=1) but libngspice.so is not installed",
        pytrace=False,
    )


def _torch_switch(items: list[pytest.Item]) -> None:
    """Fail (CIMSPICE_REQUIRE_TORCH=1) or skip torch tests without torch; skip CUDA tests
    without CUDA."""
    required = os.environ.get("CIMSPICE_REQUIRE_TORCH") == "1"
    have_torch = importlib.util.find_spec("torch") is not None
    cuda = False
    if have_torch and any("cuda" in item.keywords for item in items):
        import torch

        cuda = torch.cuda.is_available()
    for item in items:
        if "torch" in item.keywords and not have_torch:
            if not required:  # required: _torch_required fails them
                item.add_marker(pytest.mark.skip(reason="torch (the torch extra) is not installed"))
        elif "cuda" in item.keywords and not cuda:
            item.add_marker(pytest.mark.skip(reason="no CUDA device on this machine"))


@pytest.fixture(autouse=True)
def _torch_required(request: pytest.FixtureRequest) -> None:
    """Fail a ``torch`` test when CIMSPICE_REQUIRE_TORCH=1 and torch is missing (an autouse
    fixture: a fixture added by a marker after collection would not run)."""
    if request.node.get_closest_marker("torch") is None:
        return
    if os.environ.get("CIMSPICE_REQUIRE_TORCH") != "1":
        return
    if importlib.util.find_spec("torch") is None:
        pytest.fail(
            "torch is required (CIMSPICE_REQUIRE_TORCH=1) but not installed: pip install "
            "'cimspice[torch]'",
            pytrace=False,
        )


def _large_switch(items: list[pytest.Item]) -> None:
    """Skip ``large`` tests without scikit-sparse unless CIMSPICE_REQUIRE_LARGE=1, where
    :func:`_large_required` fails them instead."""
    if importlib.util.find_spec("sksparse") is not None:
        return
    if os.environ.get("CIMSPICE_REQUIRE_LARGE") == "1":
        return
    for item in items:
        if "large" in item.keywords:
            item.add_marker(
                pytest.mark.skip(reason="scikit-sparse (the large extra) is not installed")
            )


@pytest.fixture(autouse=True)
def _large_required(request: pytest.FixtureRequest) -> None:
    """Fail a ``large`` test when CIMSPICE_REQUIRE_LARGE=1 and scikit-sparse is missing (an
    autouse fixture: a fixture added by a marker after collection would not run)."""
    if request.node.get_closest_marker("large") is None:
        return
    if os.environ.get("CIMSPICE_REQUIRE_LARGE") != "1":
        return
    if importlib.util.find_spec("sksparse") is None:
        pytest.fail(
            "scikit-sparse is required (CIMSPICE_REQUIRE_LARGE=1) but not installed: pip "
            "install 'cimspice[large]' (after apt-get install libsuitesparse-dev)",
            pytrace=False,
        )


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
