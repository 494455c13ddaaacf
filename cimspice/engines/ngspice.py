"""The ``ngspice`` engine: the rendered deck run by ngspice 46 (KLU) in a worker process.

ngspice runs in its own process (:mod:`cimspice.engines.ngspice_worker`), so a crash or a hang
of the simulator becomes a :class:`~cimspice.errors.SimulationError` and never takes the caller
down. Each run has a run directory holding the deck, ngspice's log and the raw results; it is
removed after a successful run unless ``keep`` is set, and always kept on failure, its paths
named in the error.

A batch of input vectors is one ``.dc`` sweep over a vector index (see :mod:`cimspice.netlist`),
which loads and orders the matrix once for the whole batch.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cimspice.arrays import check_conductances, check_inputs
from cimspice.errors import (
    ConvergenceError,
    EngineUnavailableError,
    SimulationError,
    SimulationTimeoutError,
)
from cimspice.netlist import build_deck
from cimspice.result import Result
from cimspice.spec import CrossbarSpec

__all__ = ["DEFAULT_TIMEOUT_S", "NgspiceEngine", "find_libngspice", "run_deck"]

DEFAULT_TIMEOUT_S = 600.0


def find_libngspice() -> str | None:
    """Path or soname of ngspice's shared library, or ``None`` if it is not installed.

    ``NGSPICE_LIBRARY_PATH`` (PySpice's own variable) takes precedence.
    """
    explicit = os.environ.get("NGSPICE_LIBRARY_PATH")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return ctypes.util.find_library("ngspice")


def _runs_root() -> Path:
    root = Path(os.environ.get("CIMSPICE_RUN_DIR", Path(tempfile.gettempdir()) / "cimspice-runs"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def run_deck(
    deck: str,
    vectors: Mapping[str, Sequence[str]],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    keep: bool = False,
    run_dir: Path | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, float], Path | None]:
    """Run ``deck`` in an ngspice worker process and read back ``vectors``.

    Args:
        deck: netlist text whose analysis (``.op``, ``.dc``...) runs on load.
        vectors: group name -> ngspice vector names; each group comes back as an array
            ``(len(names), n_points)``.
        timeout_s: seconds before the worker is killed and a timeout error raised.
        keep: keep the run directory after success.
        run_dir: where to run (created); by default a new folder under ``$CIMSPICE_RUN_DIR``
            or the system temp folder's ``cimspice-runs``.

    Returns:
        ``(arrays, times, kept_dir)``: the groups, ngspice's own timing figures, and the run
        directory if it was kept.

    Raises:
        EngineUnavailableError: ngspice's shared library is not installed.
        ConvergenceError, SimulationTimeoutError, SimulationError: the run failed; the deck and
            log are kept and named in the error.

    """
    if find_libngspice() is None:
        raise EngineUnavailableError(
            "ngspice's shared library (libngspice.so) is not installed; run scripts/setup.sh "
            "or install ngspice >= 42 and libngspice0-dev"
        )
    if run_dir is None:
        run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=_runs_root()))
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
    deck_path = run_dir / "deck.cir"
    log_path = run_dir / "ngspice.log"
    deck_path.write_text(deck)
    (run_dir / "request.json").write_text(
        json.dumps({"deck": deck_path.name, "vectors": {k: list(v) for k, v in vectors.items()}})
    )
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    with open(run_dir / "worker.stderr", "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cimspice.engines.ngspice_worker", str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            env=env,
            start_new_session=True,
        )
        (run_dir / "worker.pid").write_text(f"{proc.pid}\n")
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise SimulationTimeoutError(
                f"ngspice did not finish within {timeout_s:g} s and was stopped",
                deck=deck_path,
                log=log_path,
            ) from None
        except BaseException:
            _kill(proc)
            raise
    if code != 0:
        raise _worker_error(run_dir, code, deck_path, log_path)
    with np.load(run_dir / "result.npz") as data:
        arrays = {k: data[k] for k in data.files}
    times = dict(
        zip(arrays.pop("_times_names").tolist(), arrays.pop("_times").tolist(), strict=True)
    )
    times["ngspice_version"] = float(arrays.pop("_version"))
    if keep:
        return arrays, times, run_dir
    shutil.rmtree(run_dir, ignore_errors=True)
    return arrays, times, None


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _worker_error(run_dir: Path, code: int, deck: Path, log: Path) -> SimulationError:
    error_file = run_dir / "error.json"
    if error_file.exists():
        info = json.loads(error_file.read_text())
        kind, message = info["kind"], info["message"].strip()
        if kind == "unavailable":
            return EngineUnavailableError(message)
        if kind == "convergence":
            return ConvergenceError(f"ngspice did not converge: {message}", deck=deck, log=log)
        if kind == "netlist":
            return SimulationError(message, deck=deck, log=log)
        last = message.splitlines()[-1] if message else "unknown error"
        return SimulationError(
            f"ngspice worker failed: {last} (traceback in {error_file})", deck=deck, log=log
        )
    if code < 0:
        name = signal.Signals(-code).name
        what = f"the ngspice process died from signal {name}"
    else:
        what = f"the ngspice process exited with code {code} without a result"
    return SimulationError(f"{what}; see {run_dir / 'worker.stderr'}", deck=deck, log=log)


class NgspiceEngine:
    """Runs the rendered deck in ngspice (shared library, through PySpice) in its own process.

    Args:
        timeout_s: seconds before a run is stopped and reported as a timeout.
        keep: keep every run directory (deck, log, raw results), not only failed ones.

    """

    name = "ngspice"

    def __init__(self, *, timeout_s: float = DEFAULT_TIMEOUT_S, keep: bool = False):
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        self.timeout_s = timeout_s
        self.keep = keep

    def run(
        self,
        spec: CrossbarSpec,
        conductances: np.ndarray,
        inputs: np.ndarray,
        *,
        node_voltages: bool = False,
    ) -> Result:
        """Render the deck for the batch, run it in ngspice and read the results back."""
        start = time.perf_counter()
        g = check_conductances(conductances, spec.rows, spec.cols)
        v = check_inputs(inputs, spec.rows)
        deck = build_deck(spec, g, v, save_nodes=node_voltages)
        render_s = time.perf_counter() - start
        vectors: dict[str, list[str]] = {
            "currents": [f"{name}#branch" for name in deck.sense_sources],
            "drivers": [f"{name}#branch" for name in deck.driver_sources],
        }
        node_names: list[str] = []
        if node_voltages:
            node_names = sorted(
                {n for row in deck.word_nodes for n in row}
                | {n for row in deck.bit_nodes for n in row}
            )
            vectors["nodes"] = [n for n in node_names if not n.startswith("s")]
        arrays, times, kept = run_deck(deck.text, vectors, timeout_s=self.timeout_s, keep=self.keep)
        currents = arrays["currents"].T.copy()
        # ngspice's branch current flows into the source's + terminal; a driver delivers
        # power V * (-I).
        power = -np.einsum("bi,bi->b", v, arrays["drivers"].T)
        v_word = v_bit = None
        if node_voltages:
            potentials = {n: arrays["nodes"][k] for k, n in enumerate(vectors["nodes"])}
            zero = np.zeros(v.shape[0])
            table = lambda n: potentials.get(n, zero)  # noqa: E731  sense nodes are 0 V
            v_word = np.stack(
                [np.stack([table(n) for n in row], axis=-1) for row in deck.word_nodes], axis=1
            )
            v_bit = np.stack(
                [np.stack([table(n) for n in row], axis=-1) for row in deck.bit_nodes], axis=1
            )
        info: dict[str, object] = {
            "render_s": render_s,
            **{f"ngspice_{k}": t for k, t in times.items()},
        }
        if kept is not None:
            info["run_dir"] = str(kept)
        return Result(
            engine=self.name,
            currents=currents,
            power=power,
            v_word=v_word,
            v_bit=v_bit,
            elapsed_s=time.perf_counter() - start,
            info=info,
        )
