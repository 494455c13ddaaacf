"""Conductance and input arrays: validation, loading from ``.npy`` and atomic saving.

Conventions (see DESIGN.md): conductances are ``(rows, cols)`` in siemens, non-negative;
inputs are ``(batch, rows)`` or ``(rows,)`` in volts on the word lines; output currents are
``(batch, cols)`` in amperes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from cimspice.arguments import as_ndarray, real_array
from cimspice.errors import ArrayFileError, InputError
from cimspice.outputs import atomic_output

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


def check_conductances(conductances: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Validate a conductance matrix for a ``rows x cols`` array; return it as float64.

    Raises:
        InputError: wrong shape, non-numeric dtype, NaN/inf, or a negative conductance.

    """
    g = as_ndarray(conductances, "conductances")
    if g.shape != (rows, cols):
        raise InputError(
            f"conductances must have shape (rows, cols) = ({rows}, {cols}), got {g.shape}"
        )
    g = real_array(g, "conductances")
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


def check_inputs(inputs: np.ndarray, rows: int) -> np.ndarray:
    """Validate word-line input voltages; return them as float64 of shape ``(batch, rows)``.

    A 1-D input of shape ``(rows,)`` is a batch of one.

    Raises:
        InputError: wrong shape, empty batch, non-numeric dtype, or NaN/inf.

    """
    given = as_ndarray(inputs, "inputs")
    v = given[None, :] if given.ndim == 1 else given
    if v.ndim != 2 or v.shape[1] != rows:
        raise InputError(
            f"inputs must have shape (batch, rows) or (rows,) with rows = {rows}, got {given.shape}"
        )
    if v.shape[0] == 0:
        raise InputError("inputs hold an empty batch (shape (0, rows))")
    return real_array(v, "inputs")


def load_array(path: str | Path, what: str) -> np.ndarray:
    """Load one array from a ``.npy`` file (no pickles).

    Raises:
        ArrayFileError: the file is missing, unreadable or not a plain ``.npy`` array.

    """
    path = Path(path)
    if not path.exists():
        raise ArrayFileError(f"{what} file not found: {path}")
    if not path.is_file():  # a folder, FIFO or device: never opened (a FIFO would block)
        raise ArrayFileError(f"{what} file {path} is not a regular file")
    try:
        # Mapped first, not read: a header that claims a huge shape costs nothing until the
        # size is checked, and a file shorter than its header claims fails here.
        data = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError) as err:
        reason = str(err)
        if "mmap length" in reason:
            reason = "it holds less data than its header claims (truncated, or a false shape)"
        elif "Python objects" in reason:
            reason = "it holds Python objects (pickles are refused)"
        raise ArrayFileError(f"{what} file {path} is not a readable .npy array: {reason}") from None
    if not isinstance(data, np.ndarray):
        data.close()
        raise ArrayFileError(f"{what} file {path} holds several arrays (.npz); give one .npy")
    from cimspice.memory import check_fits

    try:
        # the array as stored, and as the float64 copy every consumer makes of it
        check_fits(data.nbytes + 8 * data.size, f"{what} {path} of shape {data.shape}")
        return np.array(data)
    finally:
        mapping = getattr(data, "_mmap", None)
        del data
        if mapping is not None:
            mapping.close()


def save_npz_atomic(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to an ``.npz`` file atomically (all or nothing at ``path``)."""
    with atomic_output(path) as handle:
        # numpy's stubs type **kwds as its allow_pickle flag; the names here are array names
        np.savez(handle, **arrays)  # type: ignore[arg-type]
