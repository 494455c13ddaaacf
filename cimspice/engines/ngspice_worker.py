"""Worker process that runs one deck in ngspice: ``python -m cimspice.engines.ngspice_worker DIR``.

The worker loads ngspice first, then waits for one line on stdin: ``go`` once the caller has
written the deck (end of input instead means the caller gave up, and the worker leaves
quietly). ``DIR/request.json`` names the deck file and the vectors to read back::

    {"deck": "deck.cir", "vectors": {"currents": ["vs0#branch", ...], ...}, "osdi": [...]}

(``osdi``: compiled OSDI libraries the worker loads with ngspice's ``osdi`` command first.)

The worker's stdout carries one line, ``done <exit code>``, when it has finished. On success
the worker writes ``DIR/result.npz`` (one ``(n_vectors, n_points)`` array per
group, plus ``_times`` from ngspice's own accounting and ``_changes``, the lines in which
ngspice said it changed the circuit) atomically and exits 0. On an ngspice
error it writes ``DIR/error.json`` (``kind``: ``netlist``, ``convergence``, ``unavailable`` or
``internal``; ``message``) and exits 2. Every line ngspice prints is in ``DIR/ngspice.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import traceback
from pathlib import Path

__all__ = ["main"]

EXIT_ERROR = 2
MIN_NGSPICE_VERSION = 42  # the first release whose shared library runs KLU as cimspice needs


class NgspiceTooOldError(Exception):
    """The loaded libngspice is older than MIN_NGSPICE_VERSION."""

    def __init__(self, version: int):
        super().__init__(
            f"libngspice is version {version}; cimspice needs ngspice >= {MIN_NGSPICE_VERSION} "
            "with KLU (Debian 12's own ngspice 39 lacks KLU and is 30x slower on large arrays)"
        )


_STATUS_FD = 1  # stdout: the caller reads "done <exit code>" from it


def _write_error(run_dir: Path, kind: str, message: str) -> None:
    tmp = run_dir / "error.json.part"
    tmp.write_text(json.dumps({"kind": kind, "message": message}))
    tmp.replace(run_dir / "error.json")


def _run(run_dir: Path) -> bool:
    import numpy as np

    from cimspice.arrays import save_npz_atomic
    from cimspice.engines.ngspice_session import NgspiceSession

    with open(run_dir / "ngspice.log", "w", encoding="utf-8") as log:
        session = NgspiceSession(log)
        if session.version < MIN_NGSPICE_VERSION:
            raise NgspiceTooOldError(session.version)
        if sys.stdin.readline().strip() != "go":
            return False
        request = json.loads((run_dir / "request.json").read_text())
        # Backstop for a caller that died without killing us: leave a minute after its limit.
        signal.alarm(int(request.get("timeout_s", 600)) + 60)
        os.chdir(run_dir)  # ngspice's `source` takes a bare file name
        for library in request.get("osdi", []):  # compiled Verilog-A devices the deck uses
            session.command(f"osdi {library}")
        session.load_file(request["deck"])
        session.run()
        plot = session.current_plot()
        arrays: dict[str, np.ndarray] = {}
        for group, names in request["vectors"].items():
            vectors = [session.vector(plot, name) for name in names]
            arrays[group] = np.stack(vectors) if vectors else np.zeros((0, 0))
        times = session.analysis_times()
        arrays["_times_names"] = np.array(list(times), dtype=str)
        arrays["_times"] = np.array(list(times.values()), dtype=float)
        arrays["_version"] = np.array(session.version)
        # what ngspice changed in the circuit, said only in its log: the caller warns
        arrays["_changes"] = np.array(session.changes, dtype=str)
        arrays["_change_count"] = np.array(session.change_count)
    save_npz_atomic(run_dir / "result.npz", arrays)
    return True


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the process that started it dies."""
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() == 1:  # the caller is already gone
        os._exit(EXIT_ERROR)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process; returns its exit code."""
    _die_with_parent()
    args = sys.argv[1:] if argv is None else argv
    run_dir = Path(args[0]).resolve()  # absolute: the run changes into it
    try:
        _run(run_dir)
    except Exception as err:
        from cimspice.engines.ngspice_session import NgspiceRunError

        if isinstance(err, NgspiceTooOldError):
            _write_error(run_dir, "unavailable", str(err))
        elif isinstance(err, NgspiceRunError):
            _write_error(run_dir, err.kind, str(err))
        elif isinstance(err, OSError) and "ngspice" in str(err):
            _write_error(run_dir, "unavailable", f"cannot load ngspice's shared library ({err})")
        else:
            _write_error(run_dir, "internal", "".join(traceback.format_exception(err)))
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    code = main()
    # Tell the caller at once (it waits on this line, not on the process), then leave without
    # tearing down ngspice's global state, which for a large circuit takes a noticeable time.
    sys.stderr.flush()
    os.write(_STATUS_FD, f"done {code}\n".encode())
    os._exit(code)
