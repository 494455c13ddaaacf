"""Helpers shared by the benchmark scripts (run them from the repository root)."""

from __future__ import annotations

import subprocess
import time

__all__ = ["spec_text", "wall"]


def spec_text(n: int, cell: str = "0T1R") -> str:
    """An ``n x n`` spec with 2 ohm wire segments, as TOML."""
    return f'[array]\nrows = {n}\ncols = {n}\ncell = "{cell}"\n[wire]\nr_row = 2.0\nr_col = 2.0\n'


def wall(cmd: list[str]) -> float:
    """Seconds one run of ``cmd`` takes, as a whole process (its output discarded)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start
