"""Every benchmark script imports: the names it takes from cimspice still exist.

The benchmarks run by hand, not in the suite; a rename in the library once left
``benchmarks/bench_network_tia.py`` importing a function from a module it had left, and only
running it showed that. Importing each script (its ``main`` is not run) catches that here.
``aihwkit_side.py`` and ``aihwkit_irdrop_side.py`` run inside aihwkit's own environment (see
``tests/test_aihwkit.py`` and ``tests/test_aihwkit_irdrop.py``).
"""

import importlib.util
from pathlib import Path

import pytest

AIHWKIT_SIDE = ("aihwkit_side.py", "aihwkit_irdrop_side.py")
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if p.name not in AIHWKIT_SIDE)


def test_there_are_scripts():
    assert len(SCRIPTS) > 10


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_a_benchmark_script_imports(path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # their shared _common.py
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if path.name != "_common.py":
        assert callable(getattr(module, "main", None)), f"{path.name} has no main()"
