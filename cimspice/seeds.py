"""Random seeds: every seed a user gives is an integer >= 0, checked where it enters.

numpy's generators refuse negative seeds with a bare ``ValueError`` deep in the first draw
(``expected non-negative integer``); :func:`check_seed` says so up front, naming the argument.
"""

from __future__ import annotations

import operator

from cimspice.errors import InputError

__all__ = ["check_seed"]


def check_seed(seed: object, name: str = "seed") -> int:
    """``seed`` as a Python int, if it is an integer >= 0 (numpy integers included).

    Raises:
        InputError: not an integer (bools and floats included), or negative; names ``name``.
    """
    try:
        if isinstance(seed, bool):
            raise TypeError
        value = operator.index(seed)  # type: ignore[arg-type]
    except TypeError:
        raise InputError(f"{name} must be an integer >= 0, got {seed!r}") from None
    if value < 0:
        raise InputError(f"{name} must be an integer >= 0, got {value}")
    return value
