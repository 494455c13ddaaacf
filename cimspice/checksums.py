"""Checksums of the files cimspice writes and later reads back as trusted.

A surrogate file or a SPICE cache entry that someone edited after cimspice wrote it would
otherwise be used silently. Each carries the SHA-256 of a canonical form of its content, and
the reader recomputes it:

- JSON data (:func:`json_checksum`): the data serialised with sorted keys and no spaces, as
  :mod:`json` writes it (floats as their shortest round-trip text), so a file's checksum
  depends only on the values it holds, not on its layout;
- arrays (:func:`arrays_checksum`): every array's name, dtype, shape and C-order bytes, in
  name order.

This detects edits and damage, not forgery: anyone can recompute a checksum. It is what tells
a user that a file is no longer what cimspice wrote.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["arrays_checksum", "json_checksum"]


def json_checksum(data: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``data``'s canonical JSON text (see the module).

    ``data`` must be what :func:`json.loads` gives (a writer checksums the parse of the text
    it writes, so that tuples, numpy scalars and the like have become what a reader sees).
    """
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def arrays_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 (hex) of named arrays: names, dtypes, shapes and C-order bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        h.update(array.tobytes())
    return h.hexdigest()
