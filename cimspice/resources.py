"""Locate the data folders that ship with cimspice (netlist templates, device models).

In a wheel they live inside the package (``cimspice/netlists``, ``cimspice/models``); in a
source checkout (editable install or running from the repository) they are the top-level
``netlists/`` and ``models/`` folders beside ``cimspice/``.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from cimspice.errors import CimspiceError

__all__ = ["code_fingerprint", "data_dir", "default_cache_dir"]

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder ``name`` (``"netlists"`` or ``"models"``) of this installation.

    Raises:
        CimspiceError: the folder is in neither place (a broken installation).

    """
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise CimspiceError(
        f"cimspice data folder '{name}' not found beside {_PACKAGE}; the installation is broken"
    )


def default_cache_dir() -> Path:
    """The user's cimspice cache: ``$CIMSPICE_CACHE``, or ``~/.cache/cimspice``. Trained
    built-in models go in ``models/``, SPICE results of ``calibrate`` in ``spice/``, sweep
    points of ``evaluate --sweep`` in ``studies/``; nothing
    is cached in the current folder unless asked for."""
    root = os.environ.get("CIMSPICE_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "cimspice"


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 of this installation's Python sources (every ``.py`` file of the package, by
    relative path and content): part of the key of cached results that depend on what the
    code computes, not only on a circuit (sweep points), so that editing the code never
    serves a result the edited code would not give. Computed once per process."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        h.update(f"{path.relative_to(_PACKAGE).as_posix()}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()
