"""The ngspice worker process, seen from the caller (no numpy, cheap to import).

A worker is started before the deck exists: it imports PySpice and initialises ngspice while
the caller validates its arrays and renders the deck, so that this start-up costs the caller
little. :meth:`WorkerProcess.run` then hands it the deck and waits, with a time limit.

Each worker owns one run directory holding the deck, ``request.json``, ``ngspice.log``,
``worker.stderr``, ``worker.pid`` and, on success, ``result.npz``.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from cimspice.errors import (
    ConvergenceError,
    EngineUnavailableError,
    InputError,
    SimulationError,
    SimulationTimeoutError,
)
from cimspice.threads import worker_environment

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "WorkerProcess",
    "check_timeout",
    "find_libngspice",
    "kill_live_workers",
    "runs_root",
]

DEFAULT_TIMEOUT_S = 600.0
INSTALL_HINT = (
    "install ngspice >= 42 with KLU and libngspice0-dev (scripts/setup.sh does), or point "
    "NGSPICE_LIBRARY_PATH at libngspice.so"
)


def find_libngspice() -> str | None:
    """Path or soname of ngspice's shared library, or ``None`` if it is not installed.

    ``NGSPICE_LIBRARY_PATH`` (PySpice's own variable) takes precedence.
    """
    explicit = os.environ.get("NGSPICE_LIBRARY_PATH")
    if explicit:
        return explicit if Path(explicit).exists() else None
    if ctypes.util.find_library("ngspice") is None:
        return None
    # PySpice dlopens the bare "libngspice.so", which only libngspice0-dev provides.
    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    dirs += ["/usr/local/lib", "/usr/lib", "/lib", *map(str, Path("/usr/lib").glob("*-linux-gnu"))]
    for d in dirs:
        candidate = Path(d) / "libngspice.so"
        if candidate.exists():
            return str(candidate)
    return None


def check_timeout(timeout_s: float) -> float:
    """``timeout_s`` if it is a usable time limit (finite, > 0, at most a week).

    Raises:
        InputError: otherwise, naming the value.
    """
    from cimspice.errors import InputError

    if not (isinstance(timeout_s, int | float) and 0 < timeout_s <= 7 * 86400):
        raise InputError(f"timeout must be > 0 and at most 604800 s (a week), got {timeout_s!r}")
    return float(timeout_s)


def runs_root() -> Path:
    """Folder that holds run directories: ``$CIMSPICE_RUN_DIR`` or ``<tmp>/cimspice-runs``."""
    root = Path(os.environ.get("CIMSPICE_RUN_DIR", Path(tempfile.gettempdir()) / "cimspice-runs"))
    root.mkdir(parents=True, exist_ok=True)
    return root


_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
"""The folder that holds the ``cimspice`` package this process runs."""


def _installed_in_site_packages() -> bool:
    """Whether this cimspice lives in a site-packages folder (which the worker finds on its
    own; putting it on PYTHONPATH would set it before the standard library)."""
    import site

    folders = [*site.getsitepackages(), site.getusersitepackages()]
    return any(Path(f).resolve() == _PACKAGE_ROOT for f in folders)


_REFERENCE = re.compile(rb"Reference value\s*:\s*([-+0-9.eE]+)")
_LIVE: set[WorkerProcess] = set()
_LIVE_LOCK = threading.Lock()


def kill_live_workers() -> int:
    """Stop every worker this process has started and not yet reaped; return how many."""
    with _LIVE_LOCK:
        workers = list(_LIVE)
    for worker in workers:
        # Signal only: the thread that runs each worker sees its pipe close, reaps it and
        # closes its own pipes. Closing them from here could let that thread read from a
        # file descriptor already reused by another worker, and wait forever.
        worker.signal_kill()
    return len(workers)


class WorkerProcess:
    """One ngspice worker process and its run directory.

    Args:
        run_dir: the run directory (created); by default a new folder under :func:`runs_root`.

    A missing ngspice library is reported by :meth:`run` (the worker finds out first; looking
    for the library here would delay the start).
    """

    def __init__(self, run_dir: Path | None = None):
        if run_dir is None:
            run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=runs_root()))
        else:
            run_dir.mkdir(parents=True, exist_ok=True)
        run_dir = run_dir.resolve()  # the worker starts inside it
        self.run_dir = run_dir
        self.deck_path = run_dir / "deck.cir"
        self.log_path = run_dir / "ngspice.log"
        env = worker_environment()  # one BLAS thread: many workers may run side by side
        if not _installed_in_site_packages():
            # A checkout or an editable install: the worker imports this very cimspice,
            # which its starting folder (below) would not offer it.
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
            )
        with open(run_dir / "worker.stderr", "wb") as stderr:
            # It starts in the run directory, not in the caller's folder: ngspice runs the
            # commands of a `.spiceinit` in its starting folder, and a folder of shared specs
            # is no place to take commands from (nor Python modules, for `python -m`).
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "cimspice.engines.ngspice_worker", str(run_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                cwd=run_dir,
                start_new_session=True,
            )
        (run_dir / "worker.pid").write_text(f"{self._proc.pid}\n")
        self._used = False
        with _LIVE_LOCK:
            _LIVE.add(self)

    def run(
        self,
        deck: str,
        vectors: Mapping[str, Sequence[str]],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        progress: Callable[[float], None] | None = None,
        osdi: Sequence[str] = (),
    ) -> Path:
        """Hand the worker ``deck``, wait for it, and return the path of ``result.npz``.

        Args:
            deck: the netlist.
            vectors: group name -> ngspice vector names to read back.
            timeout_s: limit of the run.
            progress: called now and then with the sweep value ngspice last reported (the
                vector index of a batch deck), read from its log.
            osdi: compiled OSDI libraries (absolute paths, no whitespace) that ngspice loads
                (its ``osdi`` command) before the deck.

        Raises:
            ConvergenceError, SimulationTimeoutError, SimulationError: the run failed; the
                run directory is kept and the deck and log are named in the error.
        """
        if self._used:
            raise RuntimeError("a worker process runs one deck only")
        for library in osdi:
            if not Path(library).is_absolute() or any(c.isspace() for c in str(library)):
                raise InputError(
                    f"an OSDI library must be an absolute path without spaces: {library!r}"
                )
        self._used = True
        self.deck_path.write_text(deck)
        request = {
            "deck": self.deck_path.name,
            "vectors": {k: list(v) for k, v in vectors.items()},
            "timeout_s": timeout_s,
            "osdi": [str(library) for library in osdi],
        }
        (self.run_dir / "request.json").write_text(json.dumps(request))
        try:
            assert self._proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.write(b"go\n")
                self._proc.stdin.close()
            code = self._wait(timeout_s, progress)
        except subprocess.TimeoutExpired:
            self.kill()
            raise SimulationTimeoutError(
                f"ngspice did not finish within {timeout_s:g} s and was stopped",
                deck=self.deck_path,
                log=self.log_path,
            ) from None
        except BaseException:
            self.kill()
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(self)
        if code != 0:
            raise self._error(code)
        return self.run_dir / "result.npz"

    def _wait(self, timeout_s: float, progress: Callable[[float], None] | None = None) -> int:
        """Wait for the worker's ``done`` line (or its end); return its exit code.

        Reading the status line wakes the caller the moment the worker is done, rather than
        when the operating system has torn the process down.
        """
        stdout = self._proc.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout_s
        data = b""
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(stdout.fileno(), selectors.EVENT_READ)
                log_offset = 0
                while not data.endswith(b"\n"):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise subprocess.TimeoutExpired(self._proc.args, timeout_s)
                    if not selector.select(min(remaining, 0.5)):
                        if progress is not None:
                            log_offset = self._report_progress(log_offset, progress)
                        continue
                    chunk = os.read(stdout.fileno(), 256)
                    if not chunk:  # the worker ended without a word: crashed or killed
                        break
                    data += chunk
        finally:
            stdout.close()
        words = data.decode(errors="replace").split()
        if len(words) == 2 and words[0] == "done" and words[1].lstrip("-").isdigit():
            self._proc.wait()
            return int(words[1])
        return self._proc.wait(timeout=max(deadline - time.monotonic(), 1.0))

    def _report_progress(self, offset: int, progress: Callable[[float], None]) -> int:
        """Pass the last sweep value in ngspice's log (from ``offset`` on) to ``progress``."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                chunk = log.read()
        except OSError:
            return offset
        values = _REFERENCE.findall(chunk)
        if values:
            progress(float(values[-1]))
        # keep a partial last line for the next read
        cut = chunk.rfind(b"\n") + 1
        return offset + cut

    def signal_kill(self) -> None:
        """Send SIGKILL to the worker's process group (safe from any thread)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)

    def kill(self) -> None:
        """Stop the worker (and anything it started) at once, reap it and close its pipes
        (from the thread that runs it)."""
        self.signal_kill()
        self._proc.wait()
        with _LIVE_LOCK:
            _LIVE.discard(self)
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None and not pipe.closed:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()

    def discard(self) -> None:
        """Stop an unused worker and remove its run directory (a used one is left alone:
        its run directory belongs to the run's result or error)."""
        import shutil

        if self._used:
            return
        self.kill()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def _error(self, code: int) -> SimulationError | EngineUnavailableError:
        error_file = self.run_dir / "error.json"
        deck, log = self.deck_path, self.log_path
        if error_file.exists():
            info = json.loads(error_file.read_text())
            kind, message = info["kind"], info["message"].strip()
            if kind == "unavailable":
                return EngineUnavailableError(f"{message}; {INSTALL_HINT}")
            if kind == "convergence":
                return ConvergenceError(f"ngspice did not converge: {message}", deck=deck, log=log)
            if kind == "netlist":
                return SimulationError(message, deck=deck, log=log)
            last = message.splitlines()[-1] if message else "unknown error"
            return SimulationError(
                f"ngspice worker failed: {last} (traceback in {error_file})", deck=deck, log=log
            )
        if code < 0:
            what = f"the ngspice process died from signal {signal.Signals(-code).name}"
        else:
            what = f"the ngspice process exited with code {code} without a result"
        return SimulationError(f"{what}; see {self.run_dir / 'worker.stderr'}", deck=deck, log=log)
