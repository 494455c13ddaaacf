"""Many SPICE runs: cases, an on-disk cache keyed by content, parallel execution and progress.

A :class:`Case` is one conductance matrix with a batch of inputs. :func:`run_cases` runs every
case through the ``ngspice`` engine, ``jobs`` at a time (each run is its own ngspice worker
process, so the caller's threads only wait), shows progress, and caches each result on disk
under a SHA-256 of the rendered deck, the ngspice version and the cimspice version. Cache
entries are written atomically and carry their own key and a checksum of their arrays, so an
interrupted sweep resumes with every finished run intact, and an entry that fails its check
(damaged, edited after it was written, written before entries carried checksums, or holding
arrays of the wrong shape) is set aside and run again.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from cimspice.arguments import instance, path_argument
from cimspice.arrays import check_conductances, check_inputs, save_npz_atomic
from cimspice.checksums import arrays_checksum
from cimspice.engines.ngspice_process import check_timeout, kill_live_workers
from cimspice.errors import InputError
from cimspice.executors import check_executor, map_tasks, worker_count
from cimspice.model_cards import ModelCards
from cimspice.netlist import build_deck
from cimspice.spec import CrossbarSpec, as_spec

__all__ = [
    "Case",
    "CaseResult",
    "SweepCache",
    "ngspice_version",
    "progress_counter",
    "run_cases",
    "simulate_case",
]


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
        v_out: volt, ``(batch, cols)``: the readout's outputs (TIA), or ``None``.
        cached: whether it came from the cache.
    """

    case: Case
    currents: np.ndarray
    power: np.ndarray
    v_out: np.ndarray | None = None
    cached: bool = field(default=False, compare=False)


Outputs = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""What a run gives: ``(currents, power, v_out)`` (see :class:`CaseResult`)."""


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
        self.root = path_argument(root, "root")
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

    def load(self, key: str, shape: tuple[int, int] | None = None) -> Outputs | None:
        """``(currents, power, v_out)`` for ``key``, or ``None`` if absent or failing its
        check: its stored key, its checksum (``sha256`` of its other arrays, see
        :func:`~cimspice.checksums.arrays_checksum`) and, given the run's ``(batch, cols)``
        ``shape``, the shapes of its arrays."""

        def check(arrays: dict[str, np.ndarray]) -> None:
            _check_shapes((arrays["currents"], arrays["power"], arrays.get("v_out")), shape)

        arrays = self.load_arrays(key, check)
        if arrays is None:
            return None
        return arrays["currents"], arrays["power"], arrays.get("v_out")

    def load_arrays(
        self, key: str, check: Callable[[dict[str, np.ndarray]], None] | None = None
    ) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key`` (see :meth:`store_arrays`), or ``None`` if absent or
        failing its check: its stored key, its checksum and ``check`` (which raises
        ``ValueError`` or ``KeyError`` on arrays of the wrong names or shapes). A failing entry
        is set aside as ``.bad`` with a warning."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files if name != "sha256"}
                if "sha256" not in data.files:
                    raise ValueError("no checksum (written by an older cimspice)")
                if str(data["sha256"]) != arrays_checksum(arrays):
                    raise ValueError("edited or damaged after it was written: checksum differs")
            if str(arrays["key"]) != key:
                raise ValueError("stored key differs from the file name")
            if check is not None:
                check(arrays)
            return arrays
        except (OSError, ValueError, KeyError, EOFError, MemoryError, zipfile.BadZipFile) as err:
            warnings.warn(
                f"cache entry {path} failed its check ({err}); running it again",
                RuntimeWarning,
                stacklevel=3,
            )
            # Set it aside rather than delete it: another thread may be storing a good one.
            with contextlib.suppress(OSError):
                os.replace(path, path.with_suffix(".bad"))
            return None

    def store(
        self, key: str, currents: np.ndarray, power: np.ndarray, v_out: np.ndarray | None = None
    ) -> None:
        """Write an entry atomically."""
        arrays = {"currents": currents, "power": power}
        if v_out is not None:
            arrays["v_out"] = v_out
        self.store_arrays(key, arrays)

    def store_arrays(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Write an entry of any named arrays atomically, with its key and a checksum."""
        arrays = {"key": np.array(key), **arrays}
        arrays["sha256"] = np.array(arrays_checksum(arrays))
        save_npz_atomic(self.path(key), arrays)


def _check_shapes(outputs: Outputs, shape: tuple[int, int] | None) -> None:
    """Raise ``ValueError`` unless a cache entry's arrays are real and, given the run's
    ``(batch, cols)``, of its shapes."""
    currents, power, v_out = outputs
    for name, array in (("currents", currents), ("power", power), ("v_out", v_out)):
        if array is not None and not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"{name} has dtype {array.dtype}, not float")
    if shape is None:
        return
    if currents.shape != shape or power.shape != shape[:1]:
        raise ValueError(
            f"currents {currents.shape} and power {power.shape} do not fit the run's "
            f"{shape[0]} vectors and {shape[1]} columns"
        )
    if v_out is not None and v_out.shape != shape:
        raise ValueError(f"v_out {v_out.shape} does not fit the run's {shape}")


def progress_counter(
    total: int, description: str, done: int = 0, *, enabled: bool = True
) -> Callable[[], None]:
    """A progress bar on stderr (tqdm) over ``total`` runs, ``done`` of them already; returns
    the function that advances it by one (thread-safe; the bar closes at ``total``). Shown
    only on a terminal, and never unless ``enabled``."""
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        initial=done,
        desc=description,
        unit="run",
        file=sys.stderr,
        leave=False,
        disable=None if enabled else True,
    )
    lock = threading.Lock()
    if done >= total:
        bar.close()

    def advance() -> None:
        with lock:
            bar.update(1)
            if bar.n >= total:
                bar.close()

    return advance


def simulate_case(
    spec_data: dict,
    conductances: np.ndarray,
    inputs: np.ndarray,
    timeout_s: float,
    cards: ModelCards | None = None,
) -> Outputs:
    """Run one case in ngspice on whichever machine calls it (a Dask worker, say).

    Takes the spec as plain data and its model cards as checked text (see
    :meth:`~cimspice.spec.CrossbarSpec.with_model_cards`), so that both travel to remote
    workers as they are, and a user's model file is neither looked for relative to the
    worker's folder nor read again.
    """
    from cimspice.engines.ngspice import NgspiceEngine
    from cimspice.spec import spec_from_dict

    spec = spec_from_dict(spec_data)
    if cards is not None:
        spec = dataclasses.replace(spec, cards=cards)
    out = NgspiceEngine(timeout_s=timeout_s).run(spec, conductances, inputs)
    power = out.power if out.power is not None else np.full(out.batch, np.nan)
    return out.currents, power, out.v_out


def run_cases(
    spec: CrossbarSpec | str | os.PathLike[str],
    cases: Sequence[Case],
    *,
    cache: SweepCache | None = None,
    jobs: int | None = None,
    timeout_s: float = 600.0,
    description: str = "ngspice",
    executor: str = "local",
    scheduler: str | None = None,
) -> list[CaseResult]:
    """Run every case in ngspice (cached, in parallel); results in the cases' order.

    Args:
        spec: the array spec.
        cases: the runs.
        cache: where to keep and find results; ``None`` runs everything.
        jobs: runs at a time (default: the cores this process may use, see
            :func:`~cimspice.threads.available_cpus`); with a local Dask cluster, its number
            of worker processes (each runs its tasks with one BLAS thread).
        timeout_s: limit per run.
        description: label of the progress bar.
        executor: ``"local"`` (ngspice worker processes on this machine) or ``"dask"``
            (Dask distributed: every worker needs cimspice and ngspice installed).
        scheduler: address of a running Dask scheduler; ``None`` starts a local cluster.

    Raises:
        InputError: a case's arrays are invalid or an argument has the wrong type or value
            (named; all checked before anything runs).
        SpecError: ``spec`` names a missing or invalid spec file.
        ModelFileError: the spec's model file is refused (checked before anything runs).
        SimulationError: a run failed; finished runs are already in the cache.
        CimspiceError: the Dask scheduler cannot be reached.
    """
    check_executor(executor, scheduler)
    spec = as_spec(spec).with_model_cards()
    if isinstance(cases, str | bytes) or not isinstance(cases, Sequence):
        raise InputError(f"cases must be a sequence of Case, got {type(cases).__name__}")
    for k, case in enumerate(cases):
        instance(case, Case, f"cases[{k}]")
        check_conductances(case.conductances, spec.rows, spec.cols)
        check_inputs(case.inputs, spec.rows)
    if cache is not None:
        instance(cache, SweepCache, "cache", "a SweepCache or None")
    timeout_s = check_timeout(timeout_s)
    workers = worker_count(jobs)
    results: list[CaseResult | None] = [None] * len(cases)
    keys: list[str | None] = [None] * len(cases)
    if cache is not None:
        version = ngspice_version()
        for k, case in enumerate(cases):
            keys[k] = SweepCache.key(build_deck(spec, case.conductances, case.inputs).text, version)
            shape = (np.atleast_2d(case.inputs).shape[0], spec.cols)
            hit = cache.load(keys[k], shape)  # type: ignore[arg-type]
            if hit is not None and spec.has_tia and hit[2] is None:
                hit = None  # an entry from before TIA outputs were kept: run it again
            if hit is not None:
                results[k] = CaseResult(case, *hit, cached=True)
    missing = [k for k, r in enumerate(results) if r is None]
    advance = progress_counter(len(cases), description, done=len(cases) - len(missing))

    def finish(k: int, currents: np.ndarray, power: np.ndarray, v_out: np.ndarray | None) -> None:
        key = keys[k]
        if cache is not None and key is not None:
            cache.store(key, currents, power, v_out)  # at once: an interruption loses nothing
        results[k] = CaseResult(cases[k], currents, power, v_out)
        advance()

    if missing:
        spec_data = spec.to_dict()
        if executor == "dask":
            tasks = [
                (spec_data, cases[k].conductances, cases[k].inputs, timeout_s, spec.cards)
                for k in missing
            ]
            map_tasks(
                simulate_case,
                tasks,
                lambda t, outputs: finish(missing[t], *outputs),
                executor="dask",
                jobs=workers,
                scheduler=scheduler,
                name="cimspice-case",
            )
        else:
            _run_local(
                spec_data, spec.cards, cases, missing, finish, timeout_s=timeout_s, workers=workers
            )
    return [r for r in results if r is not None]


def _run_local(
    spec_data: dict,
    cards: ModelCards | None,
    cases: Sequence[Case],
    missing: list[int],
    finish: Callable[[int, np.ndarray, np.ndarray, np.ndarray | None], None],
    *,
    timeout_s: float,
    workers: int,
) -> None:
    """Threads that each drive one ngspice worker process at a time."""

    def one(k: int) -> None:
        case = cases[k]
        finish(k, *simulate_case(spec_data, case.conductances, case.inputs, timeout_s, cards))

    pool = ThreadPoolExecutor(max_workers=workers)
    futures = [pool.submit(one, k) for k in missing]
    try:
        # Wake up now and then: Ctrl-C may land on a pool thread, and the main thread only
        # raises KeyboardInterrupt once it runs again (a plain wait() could sleep through the
        # whole sweep).
        pending = futures
        while pending:
            done, pending_set = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in done if not f.cancelled()):
                break
            pending = list(pending_set)
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
