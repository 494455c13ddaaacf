"""Many SPICE runs: cases, an on-disk cache keyed by content, parallel execution and progress.

A :class:`Case` is one conductance matrix with a batch of inputs. :func:`run_cases` runs every
case through the ``ngspice`` engine, ``jobs`` at a time (each run is its own ngspice worker
process, so the caller's threads only wait), shows progress, and caches each result on disk
under a SHA-256 of the rendered deck, the ngspice version and the cimspice version. Cache
entries are written atomically and carry their own key, so an interrupted sweep resumes with
every finished run intact, and an entry that fails its check is run again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
import warnings
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cimspice import __version__
from cimspice.arrays import check_conductances, check_inputs, save_npz_atomic
from cimspice.engines.ngspice_process import kill_live_workers
from cimspice.errors import InputError
from cimspice.netlist import build_deck
from cimspice.spec import CrossbarSpec

__all__ = ["MAX_JOBS", "Case", "CaseResult", "SweepCache", "ngspice_version", "run_cases"]

MAX_JOBS = 64
"""At most this many ngspice runs at a time (each is a process of ~100 MB or more)."""


@dataclass(frozen=True)
class Case:
    """One SPICE run: a conductance matrix (S) and a batch of inputs (V).

    Attributes:
        name: a label saying how the case was made (e.g. ``"random-3"``, ``"all-gmax"``).
        conductances: siemens, ``(rows, cols)``.
        inputs: volts, ``(batch, rows)``.
    """

    name: str
    conductances: np.ndarray
    inputs: np.ndarray


@dataclass(frozen=True)
class CaseResult:
    """A case with its SPICE outputs.

    Attributes:
        case: the case.
        currents: ampere, ``(batch, cols)``.
        power: watt, ``(batch,)``.
        cached: whether it came from the cache.
    """

    case: Case
    currents: np.ndarray
    power: np.ndarray
    cached: bool = field(default=False, compare=False)


_version_lock = threading.Lock()
_version_cache: dict[str, int] = {}


def ngspice_version() -> int:
    """The major version of the ngspice library in use (one tiny run, remembered)."""
    from cimspice.engines.ngspice import run_deck

    with _version_lock:
        if "v" not in _version_cache:
            deck = "version probe\nv1 a 0 dc 1\nr1 a 0 1\n.op\n.end\n"
            _, times, _ = run_deck(deck, {"x": ["a"]})
            _version_cache["v"] = int(times["ngspice_version"])
        return _version_cache["v"]


class SweepCache:
    """SPICE results on disk, one ``.npz`` per run, named by the run's content hash.

    Args:
        root: the cache folder (created).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(deck: str, version: int) -> str:
        """SHA-256 of the deck text, the ngspice version and the cimspice version."""
        h = hashlib.sha256()
        h.update(deck.encode())
        h.update(f"\0ngspice-{version}\0cimspice-{__version__}".encode())
        return h.hexdigest()

    def path(self, key: str) -> Path:
        """Where the entry for ``key`` lives."""
        return self.root / f"{key}.npz"

    def load(self, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``(currents, power)`` for ``key``, or ``None`` if absent or failing its check."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
                if str(data["key"]) != key:
                    raise ValueError("stored key differs from the file name")
                return data["currents"], data["power"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            warnings.warn(
                f"cache entry {path} failed its check ({err}); running it again",
                RuntimeWarning,
                stacklevel=2,
            )
            # Set it aside rather than delete it: another thread may be storing a good one.
            with contextlib.suppress(OSError):
                os.replace(path, path.with_suffix(".bad"))
            return None

    def store(self, key: str, currents: np.ndarray, power: np.ndarray) -> None:
        """Write an entry atomically."""
        save_npz_atomic(
            self.path(key), {"key": np.array(key), "currents": currents, "power": power}
        )


def _progress(total: int, description: str) -> Callable[[], None]:
    """A progress bar on stderr (tqdm); returns the function that advances it."""
    from tqdm import tqdm

    bar = tqdm(
        total=total, desc=description, unit="run", file=sys.stderr, leave=False, disable=None
    )
    lock = threading.Lock()

    def advance() -> None:
        with lock:
            bar.update(1)
            if bar.n >= total:
                bar.close()

    return advance


def run_cases(
    spec: CrossbarSpec,
    cases: Sequence[Case],
    *,
    cache: SweepCache | None = None,
    jobs: int | None = None,
    timeout_s: float = 600.0,
    description: str = "ngspice",
) -> list[CaseResult]:
    """Run every case in ngspice (cached, ``jobs`` in parallel); results in the cases' order.

    Args:
        spec: the array spec.
        cases: the runs.
        cache: where to keep and find results; ``None`` runs everything.
        jobs: runs at a time (default: the number of CPUs).
        timeout_s: limit per run.
        description: label of the progress bar.

    Raises:
        InputError: a case's arrays are invalid (checked before anything runs).
        SimulationError: a run failed; finished runs are already in the cache.
    """
    from cimspice.engines.ngspice import NgspiceEngine

    for case in cases:
        check_conductances(case.conductances, spec.rows, spec.cols)
        check_inputs(case.inputs, spec.rows)
    version = ngspice_version()
    engine = NgspiceEngine(timeout_s=timeout_s)
    results: list[CaseResult | None] = [None] * len(cases)
    advance = _progress(len(cases), description)

    def one(index: int) -> None:
        case = cases[index]
        key = None
        if cache is not None:
            key = SweepCache.key(build_deck(spec, case.conductances, case.inputs).text, version)
            hit = cache.load(key)
            if hit is not None:
                results[index] = CaseResult(case, hit[0], hit[1], cached=True)
                advance()
                return
        out = engine.run(spec, case.conductances, case.inputs)
        power = out.power if out.power is not None else np.full(out.batch, np.nan)
        if cache is not None and key is not None:
            cache.store(key, out.currents, power)
        results[index] = CaseResult(case, out.currents, power)
        advance()

    workers = jobs if jobs is not None else min(os.cpu_count() or 1, MAX_JOBS)
    if not 1 <= workers <= MAX_JOBS:
        raise InputError(f"jobs must be between 1 and {MAX_JOBS}, got {workers}")
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = [pool.submit(one, k) for k in range(len(cases))]
    try:
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
    except BaseException:
        # A failed run or Ctrl-C: queue nothing more and stop the runs in flight (their
        # folders are kept); every finished run is already in the cache.
        pool.shutdown(wait=False, cancel_futures=True)
        kill_live_workers()
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)
    return [r for r in results if r is not None]
