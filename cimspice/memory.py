"""Memory: what a computation will need, checked against what the machine has, before it starts.

Large tiles, batches and node-voltage requests can ask for more memory than a machine has; a
numpy allocation then fails half-way through the work (``MemoryError``), or worse, succeeds on
paper (Linux overcommits) and the process is killed when the pages are touched. Code that is
about to allocate something that grows with ``rows * cols`` (times a batch) estimates it first
and calls :func:`check_fits`, which refuses, with the estimate, what does not fit in the memory
available now; code that can work in pieces sizes its pieces with :func:`chunk_size`.

What counts as available (:func:`available_bytes`): ``MemAvailable`` of ``/proc/meminfo``
(physical memory the kernel can give without swapping), lowered to the cgroup's limit when the
process runs in a container with one, and to ``$CIMSPICE_MEMORY_LIMIT`` when that is set (bytes,
or a number with a ``K``, ``M``, ``G`` or ``T`` suffix: powers of 1024), e.g. to keep one run
from taking a shared machine's memory. Where none of these can be read, nothing is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cimspice.errors import InputError, MemoryLimitError

__all__ = [
    "MEMORY_LIMIT_ENV",
    "WORK_BYTES",
    "available_bytes",
    "check_fits",
    "chunk_size",
    "format_bytes",
]

MEMORY_LIMIT_ENV = "CIMSPICE_MEMORY_LIMIT"
"""Environment variable: the most memory (bytes, or with a K/M/G/T suffix) cimspice assumes
it may use."""
WORK_BYTES = 1 << 30
"""Bytes of working memory a computation done in pieces aims at per piece (at most a quarter
of what is available): large enough that the pieces cost nothing in speed."""

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_LIMIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGT]?)i?B?\s*$", re.I)


def format_bytes(n: float) -> str:
    """``n`` bytes for people: ``"59.6 GiB"``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _env_limit() -> int | None:
    text = os.environ.get(MEMORY_LIMIT_ENV)
    if text is None or not text.strip():
        return None
    match = _LIMIT.match(text)
    if match is None:
        raise InputError(
            f"${MEMORY_LIMIT_ENV} must be a number of bytes, optionally with a K, M, G or T "
            f"suffix (e.g. 8G), got {text!r}"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _cgroup_available() -> int | None:
    """The room left under a cgroup (v2) memory limit, if the process has one."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(int(limit) - used, 0)
    except (OSError, ValueError):
        return None


def available_bytes() -> int | None:
    """Bytes of memory this process can count on now (see the module), ``None`` if unknown.

    Raises:
        InputError: ``$CIMSPICE_MEMORY_LIMIT`` is set but is not a size.
    """
    found = [x for x in (_env_limit(), _meminfo_available(), _cgroup_available()) if x is not None]
    return min(found) if found else None


def check_fits(nbytes: float, what: str) -> None:
    """Refuse ``what`` if its estimated ``nbytes`` exceed the memory available.

    Args:
        nbytes: the estimate, bytes (a float or a Python int: astronomically large sizes are
            fine).
        what: the thing about to be computed, for the message (e.g. ``"node voltages of
            1000 input vectors on a 512x512 tile"``).

    Raises:
        MemoryLimitError: it does not fit; the message gives both figures.
    """
    available = available_bytes()
    if available is None or nbytes <= available:
        return
    raise MemoryLimitError(
        f"{what} needs about {format_bytes(nbytes)} of memory, more than the "
        f"{format_bytes(available)} available (${MEMORY_LIMIT_ENV} and MemAvailable)"
    )


def chunk_size(per_item: float, total: int, what: str) -> int:
    """How many of ``total`` items (input vectors, say) to process at once when each needs
    ``per_item`` bytes of working memory: as many as fit in :data:`WORK_BYTES` and a quarter
    of the available memory, at least one.

    Raises:
        MemoryLimitError: not even one item fits (``what`` names it in the message).
    """
    check_fits(per_item, f"{what} (one at a time)")
    budget = float(WORK_BYTES)
    available = available_bytes()
    if available is not None:
        budget = min(budget, available / 4)
    return int(max(1, min(total, budget // max(per_item, 1.0))))
