"""Conductance and input arrays: validation, loading from ``.npy`` and atomic saving.

Conventions (see DESIGN.md): conductances are ``(rows, cols)`` in siemens, non-negative;
inputs are ``(batch, rows)`` or ``(rows,)`` in volts on the word lines; output currents are
``(batch, cols)`` in amperes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import numpy as np

from cimspice.errors import ArrayFileError, InputError

MIN_CONDUCTANCE = 1e-30
"""Siemens: the smallest non-zero conductance accepted (1/G must be a finite resistance)."""

__all__ = [
    "MIN_CONDUCTANCE",
    "atomic_output",
    "check_conductances",
    "check_inputs",
    "load_array",
    "save_npz_atomic",
]


def _check_numeric(array: np.ndarray, what: str, *, finite: bool = True) -> np.ndarray:
    if (
        array.dtype == object
        or not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer))
        or array.dtype == np.bool_
    ):
        raise InputError(f"{what} must hold real numbers, got dtype {array.dtype}")
    out = np.asarray(array, dtype=np.float64)
    if not finite or np.isfinite(np.sum(out)):  # one pass: NaN and inf spread through a sum
        return out
    bad = ~np.isfinite(out)  # (or a sum of huge finite values overflowed: look closer)
    if bad.any():
        first = tuple(int(k) for k in np.argwhere(bad)[0])
        raise InputError(
            f"{what} holds {int(bad.sum())} non-finite value(s) (NaN or inf), "
            f"first at index {first}"
        )
    return out


def check_conductances(conductances: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Validate a conductance matrix for a ``rows x cols`` array; return it as float64.

    Raises:
        InputError: wrong shape, non-numeric dtype, NaN/inf, or a negative conductance.

    """
    g = np.asarray(conductances)
    if g.shape != (rows, cols):
        raise InputError(
            f"conductances must have shape (rows, cols) = ({rows}, {cols}), got {g.shape}"
        )
    g = _check_numeric(g, "conductances")
    tiny = (g > 0) & (g < MIN_CONDUCTANCE)
    if tiny.any():
        first = tuple(int(k) for k in np.argwhere(tiny)[0])
        raise InputError(
            f"conductance {float(g[first])!r} S at index {first} is below {MIN_CONDUCTANCE:g} S "
            "(no device is that resistive; use 0 for an open cell)"
        )
    if (g < 0).any():
        first = tuple(int(k) for k in np.argwhere(g < 0)[0])
        raise InputError(
            f"conductances must be >= 0 siemens; {int((g < 0).sum())} negative, first at "
            f"index {first}: {g[first]!r}"
        )
    return g


def check_inputs(inputs: np.ndarray, rows: int, *, finite: bool = True) -> np.ndarray:
    """Validate word-line input voltages; return them as float64 of shape ``(batch, rows)``.

    A 1-D input of shape ``(rows,)`` is a batch of one. ``finite=False`` leaves out the
    NaN/inf test, for a caller whose first pass over the values makes it (e.g. a sum of
    squares) and calls again with it when that finds one.

    Raises:
        InputError: wrong shape, empty batch, non-numeric dtype, or NaN/inf.

    """
    v = np.asarray(inputs)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.shape[1] != rows:
        raise InputError(
            f"inputs must have shape (batch, rows) or (rows,) with rows = {rows}, "
            f"got {np.asarray(inputs).shape}"
        )
    if v.shape[0] == 0:
        raise InputError("inputs hold an empty batch (shape (0, rows))")
    return _check_numeric(v, "inputs", finite=finite)


def load_array(path: str | Path, what: str) -> np.ndarray:
    """Load one array from a ``.npy`` file (no pickles).

    Raises:
        ArrayFileError: the file is missing, unreadable or not a plain ``.npy`` array.

    """
    path = Path(path)
    if not path.is_file():
        raise ArrayFileError(f"{what} file not found: {path}")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ArrayFileError(f"{what} file {path} is not a readable .npy array: {err}") from None
    if not isinstance(data, np.ndarray):
        data.close()
        raise ArrayFileError(f"{what} file {path} holds several arrays (.npz); give one .npy")
    return data


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; move it into place only if the block succeeds.

    Nothing is left at ``path`` (nor beside it) when the block raises.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        with os.fdopen(fd, mode) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_npz_atomic(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to an ``.npz`` file atomically (all or nothing at ``path``)."""
    with atomic_output(path) as handle:
        # numpy's stubs type **kwds as its allow_pickle flag; the names here are array names
        np.savez(handle, **arrays)  # type: ignore[arg-type]
