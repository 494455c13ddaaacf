"""The one place that talks to ngspice's shared library through PySpice.

It runs only inside the worker process (:mod:`cimspice.engines.ngspice_worker`): ngspice's
shared library holds global state, so one process holds one instance.

PySpice 1.5 treats every stderr line of ngspice that does not start with ``Warning:`` as an
error, but ngspice 42+ prints notes there (e.g. "Using KLU as Direct Linear Solver"). Here
every line is logged and only lines that match ngspice's error wording count as errors.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import IO, Any

import numpy as np

__all__ = ["CHANGED_CIRCUIT", "MAX_KEPT_CHANGES", "NgspiceRunError", "NgspiceSession"]

# Lines of ngspice output that mean the run failed.
_ERROR_PATTERNS = re.compile(
    r"(^|\s)(error|fatal)\b|simulation\(s\) aborted|doAnalyses:|singular matrix|"
    r"timestep too small|gmin stepping failed|source stepping failed|no convergence|"
    r"unknown (device|subckt|model|parameter)|could not find|can't find model|"
    r"cannot open|too few nodes|not found",
    re.IGNORECASE,
)
_CONVERGENCE_PATTERNS = re.compile(
    r"singular matrix|timestep too small|gmin stepping failed|source stepping failed|"
    r"no convergence|iteration limit",
    re.IGNORECASE,
)
# Lines that look like errors to a naive reader but are not.
_BENIGN = re.compile(r"^(warning:|note:|using (klu|sparse))", re.IGNORECASE)
# Lines in which ngspice says it changed the circuit it was given, on stdout or stderr, with
# or without "Warning:" ("Value of resistor r1 is too small, set to 1e-12", "Rdsw = -1 is
# negative. Set to zero.", "Pb is clamped to 0.01", "parameter fc limited to 0.9999",
# "redefinition of .subckt x, ignored", "delta is negative -- reversed").
CHANGED_CIRCUIT = re.compile(
    r"\bset to\b|\bclamped\b|\blimited to\b|\bignored\b|\breversed\b|\bremoved\b",
    re.IGNORECASE,
)
MAX_KEPT_CHANGES = 20
"""Lines about a changed circuit kept for the caller (all of them are in the log)."""


class NgspiceRunError(Exception):
    """ngspice reported an error; ``kind`` is ``"convergence"`` or ``"netlist"``."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


class NgspiceSession:
    """ngspice's shared library, loaded through PySpice, with every line of output logged.

    Args:
        log: an open text file receiving every line ngspice prints (flushed per line, so a
            hang still leaves a complete log).

    """

    def __init__(self, log: IO[str]):
        self._log = log
        self._errors: list[str] = []
        self._warnings: list[str] = []
        self._seen_warnings: set[str] = set()
        self.changes: list[str] = []
        """The first :data:`MAX_KEPT_CHANGES` distinct lines in which ngspice said it changed
        the circuit (see ``CHANGED_CIRCUIT``)."""
        self.change_count = 0
        """How many such lines there were in all."""
        self._shared = _make_shared(self._on_line)

    # ----- output handling -----

    def _on_line(self, stream: str, line: str) -> None:
        self._log.write(f"{stream}: {line}\n")
        self._log.flush()
        text = line.strip()
        if CHANGED_CIRCUIT.search(text):
            self.change_count += 1
            if len(self.changes) < MAX_KEPT_CHANGES and text not in self.changes:
                self.changes.append(text)
        if text.lower().startswith("warning:"):
            if text not in self._seen_warnings and len(self._warnings) < MAX_KEPT_CHANGES:
                self._seen_warnings.add(text)
                self._warnings.append(text)
        elif text and not _BENIGN.match(text) and _ERROR_PATTERNS.search(text):
            self._errors.append(text)

    def _raise_if_errors(self, what: str) -> None:
        if self._errors:
            errors, self._errors = self._errors, []
            warnings, self._warnings = self._warnings, []
            self._seen_warnings.clear()
            kind = (
                "convergence" if any(_CONVERGENCE_PATTERNS.search(e) for e in errors) else "netlist"
            )
            # ngspice's warnings often name the culprit (e.g. "singular matrix: check node x").
            raise NgspiceRunError(f"{what}: " + " | ".join(errors[:4] + warnings[:3]), kind)

    # ----- commands -----

    @property
    def version(self) -> int:
        """Ngspice's major version number."""
        return int(self._shared.ngspice_version)

    def command(self, text: str) -> str:
        """Run one ngspice front-end command; return its stdout."""
        self._shared.clear_output()
        self._shared._ngspice_shared.ngSpice_Command(text.encode("ascii"))
        self._raise_if_errors(f"ngspice command '{text}' failed")
        return self._shared.stdout

    def load(self, deck: str) -> None:
        """Load a deck (the netlist text)."""
        from PySpice.Spice.NgSpice.Shared import FFI, ffi

        lines = [ln for ln in deck.splitlines() if ln.strip()] + [""]
        keep = [ffi.new("char[]", ln.encode("utf-8")) for ln in lines]
        array = ffi.new("char *[]", [*keep, FFI.NULL])
        rc = self._shared._ngspice_shared.ngSpice_Circ(array)
        self._raise_if_errors("ngspice rejected the deck")
        if rc != 0:
            raise NgspiceRunError(
                f"ngspice rejected the deck (ngSpice_Circ returned {rc})", "netlist"
            )

    def load_file(self, name: str) -> None:
        """Load the deck file ``name`` (in the current folder; no spaces) with ngspice's own
        reader, which is faster than handing the lines over one by one."""
        if any(c.isspace() for c in name):
            raise ValueError(f"deck file name must not contain spaces: {name!r}")
        self._shared.clear_output()
        self._shared._ngspice_shared.ngSpice_Command(f"source {name}".encode("ascii"))
        self._raise_if_errors("ngspice rejected the deck")

    def run(self) -> None:
        """Run the analysis the deck asks for."""
        self.command("run")

    def current_plot(self) -> str:
        """Name of the plot the last analysis wrote (e.g. ``op1``, ``dc1``)."""
        from PySpice.Spice.NgSpice.Shared import ffi

        return ffi.string(self._shared._ngspice_shared.ngSpice_CurPlot()).decode()

    def vector(self, plot: str, name: str) -> np.ndarray:
        """The real vector ``name`` of ``plot`` as a new float64 array."""
        from PySpice.Spice.NgSpice.Shared import FFI, ffi

        info = self._shared._ngspice_shared.ngGet_Vec_Info(f"{plot}.{name}".encode())
        if info == FFI.NULL or info.v_realdata == FFI.NULL:  # noqa: PLR1714  (cdata, not hashable)
            raise NgspiceRunError(
                f"ngspice produced no real vector '{name}' in plot '{plot}'", "netlist"
            )
        return np.frombuffer(
            ffi.buffer(info.v_realdata, info.v_length * 8), dtype=np.float64
        ).copy()

    def analysis_times(self) -> dict[str, float]:
        """Ngspice's own accounting of the session so far, from ``rusage all``.

        Keys: ``elapsed_s``, ``analysis_s``, ``load_s`` (netlist loading + expansion +
        parsing), ``reorder_s``, ``factor_s``, ``solve_s``, ``iterations``, ``program_mb``.
        """
        wanted = {
            "Total elapsed time (seconds)": "elapsed_s",
            "Total analysis time (seconds)": "analysis_s",
            "Netlist loading time": "load_s",
            "Subckt and Param expansion time": "load_s",
            "Netlist parsing time": "load_s",
            "Matrix reorder time": "reorder_s",
            "Matrix factor time": "factor_s",
            "Matrix solve time": "solve_s",
            "Total iterations": "iterations",
            "Maximum ngspice program size": "program_mb",
        }
        out: dict[str, float] = {}
        for line in self.command("rusage all").splitlines():
            key, sep, value = line.partition("=")
            name = wanted.get(key.strip())
            if sep and name is not None:
                try:
                    number = float(value.split()[0])
                except (ValueError, IndexError):
                    continue
                out[name] = out.get(name, 0.0) + number
        return out


def _make_shared(on_line: Callable[[str, str], None]) -> Any:
    """Create PySpice's NgSpiceShared with output routed to ``on_line`` (see module doc)."""
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi, ffi_string_utf8

    # PySpice logs "Unsupported Ngspice version" and every stderr line at import/instantiation;
    # the session keeps its own log, so PySpice's logger is silenced in this worker process.
    logging.getLogger("PySpice").setLevel(logging.CRITICAL + 1)

    class _Shared(NgSpiceShared):
        @staticmethod
        def _send_char(message_c: Any, ngspice_id: int, user_data: Any) -> int:
            self = ffi.from_handle(user_data)
            message = ffi_string_utf8(message_c)
            stream, _, content = message.partition(" ")
            if stream == "stderr":
                self._stderr.append(content)
            else:
                self._stdout.append(content)
            on_line(stream, content)
            return 0

    return _Shared(ngspice_id=0, send_data=False)
