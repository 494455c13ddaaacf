"""Helpers shared by the benchmark scripts (run them from the repository root)."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable

__all__ = ["exact_then_hardware", "interleaved", "spec_text", "wall"]


def spec_text(n: int, cell: str = "0T1R") -> str:
    """An ``n x n`` spec with 2 ohm wire segments, as TOML."""
    return f'[array]\nrows = {n}\ncols = {n}\ncell = "{cell}"\n[wire]\nr_row = 2.0\nr_col = 2.0\n'


def wall(cmd: list[str]) -> float:
    """Seconds one run of ``cmd`` takes, as a whole process (its output discarded)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def interleaved(
    first: Callable[[], object], second: Callable[[], object], pairs: int
) -> tuple[float, float, float]:
    """Time ``first`` and ``second`` alternately ``pairs`` times.

    Returns:
        median seconds of ``first``, of ``second``, and the median of the per-pair ratios
        ``second / first`` (how many times faster ``first`` is).
    """
    times = []
    for _ in range(pairs):
        t0 = time.perf_counter()
        first()
        t1 = time.perf_counter()
        second()
        t2 = time.perf_counter()
        times.append((t1 - t0, t2 - t1))
    return (
        statistics.median(a for a, _ in times),
        statistics.median(b for _, b in times),
        statistics.median(b / a for a, b in times),
    )


def exact_then_hardware(
    exact: Callable[[], object], hardware: Callable[[], object], pairs: int
) -> tuple[list[tuple[float, float]], object, object]:
    """Time ``exact`` and ``hardware``, ``pairs`` times each, every timed pass straight after
    an untimed one of its own kind: each is measured in its steady state, as ``cimspice
    evaluate`` runs them (its hardware batches one after the other, then the exact pass).
    Back to back, a hardware pass would start while OpenBLAS's threads still spin after the
    exact pass's multi-threaded products (about 0.1 s, 2^28 cycles) and share a core with
    them; after a rest instead, it would start cold (slower here by about 10%).

    Returns:
        the ``(exact, hardware)`` seconds of every pair, and the last pair's results.
    """
    times = []
    first = second = None
    for _ in range(pairs):
        exact()
        t0 = time.perf_counter()
        first = exact()
        t1 = time.perf_counter()
        hardware()
        t2 = time.perf_counter()
        second = hardware()
        t3 = time.perf_counter()
        times.append((t1 - t0, t3 - t2))
    return times, first, second
