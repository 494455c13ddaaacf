"""The one exception hierarchy of cimspice.

Every error a user can cause or meet derives from :class:`CimspiceError`, so callers (and the
command line) can catch one type. Each subclass also derives from the built-in exception that
best describes it (``ValueError`` for bad values, ``FileNotFoundError`` for missing files,
``RuntimeError`` for failed simulations), so generic handlers keep working.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ArrayFileError",
    "CimspiceError",
    "CircuitWarning",
    "ConvergenceError",
    "EngineUnavailableError",
    "IllConditionedError",
    "InputError",
    "IntegrityWarning",
    "MemoryLimitError",
    "ModelError",
    "ModelFileError",
    "NetlistError",
    "OutputError",
    "RangeWarning",
    "SimulationError",
    "SimulationTimeoutError",
    "SpecError",
    "SurrogateError",
]


class CimspiceError(Exception):
    """Base class of every error raised by cimspice."""


class SpecError(CimspiceError, ValueError):
    """An array spec (TOML) is malformed or holds an invalid value.

    Attributes:
        file: the spec file the error is in (``None`` for a spec built in memory).
        key: the dotted key at fault, e.g. ``"wire.r_row"`` (``None`` for file-level errors).

    """

    def __init__(self, message: str, *, file: str | Path | None = None, key: str | None = None):
        self.file = None if file is None else str(file)
        self.key = key
        where = []
        if self.file is not None:
            where.append(self.file)
        if key is not None:
            where.append(f"key '{key}'")
        prefix = ": ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ModelFileError(SpecError):
    """A spec's model file (``[access] model_file``) is refused: it lies outside the folders
    model files may come from, is too large or unreadable, or holds something other than
    model cards. The message names the spec, the model file and the line, never the line's
    text (a model file is foreign input).

    Attributes:
        model_file: the model file as the spec gives it.
        line: the line at fault (1-based), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        model_file: str | Path,
        line: int | None = None,
        file: str | Path | None = None,
        key: str | None = "access.model_file",
    ):
        self.model_file = str(model_file)
        self.line = line
        where = f"model file {self.model_file}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {message}", file=file, key=key)


class InputError(CimspiceError, ValueError):
    """An array passed to an engine or to the netlist stage is invalid (shape, dtype, value)."""


class ArrayFileError(InputError):
    """An array file (``.npy``) is missing, unreadable or holds an invalid array."""


class NetlistError(CimspiceError, ValueError):
    """A netlist template could not be rendered (missing template or variable)."""


class EngineUnavailableError(CimspiceError, RuntimeError):
    """A requested engine cannot run here (e.g. ngspice is not installed)."""


class SurrogateError(CimspiceError, ValueError):
    """A surrogate file is missing, corrupt, edited after cimspice wrote it, or was calibrated
    for another spec; or a surrogate was asked for values far outside its calibrated ranges."""


class ModelError(CimspiceError, ValueError):
    """A network model is invalid: a model file is missing or malformed, or its layers' weight
    shapes do not chain. The message names the file and the layer at fault."""


class OutputError(CimspiceError, OSError):
    """An output path is refused or could not be written.

    Refused: something other than a regular file is there (a symbolic link, FIFO, device
    node, folder), it is one of the command's inputs or another of its outputs, or its folder
    is missing or not writable. The message names the path the user gave (never a temporary).
    """


class SimulationError(CimspiceError, RuntimeError):
    """A simulation failed. The deck and the engine's log are kept for inspection.

    Attributes:
        deck: path of the netlist that was run (kept on disk), if any.
        log: path of the engine's log (kept on disk), if any.

    """

    def __init__(self, message: str, *, deck: Path | None = None, log: Path | None = None):
        self.deck = deck
        self.log = log
        kept = []
        if deck is not None:
            kept.append(f"deck: {deck}")
        if log is not None:
            kept.append(f"log: {log}")
        super().__init__(f"{message} ({'; '.join(kept)})" if kept else message)


class ConvergenceError(SimulationError):
    """The simulator did not converge (operating point or sweep point)."""


class IllConditionedError(SimulationError):
    """A solver's answer cannot be trusted: the system is so ill-conditioned that rounding
    alone moves the result by more than the solver's stated accuracy. The message gives the
    figure (the estimated error as a fraction of full scale) and its cause."""


class MemoryLimitError(CimspiceError, MemoryError):
    """A computation would need more memory than this machine has available; refused before
    allocating. The message gives the estimate and what is available."""


class SimulationTimeoutError(SimulationError):
    """The simulator did not finish within its time limit and was stopped."""


class CircuitWarning(UserWarning):
    """The circuit will run but probably not as intended (e.g. access transistors that cannot
    turn on)."""


class RangeWarning(UserWarning):
    """Inputs, conductances or currents outside the ranges a surrogate was calibrated on."""


class IntegrityWarning(UserWarning):
    """A file cimspice reads as trusted carries no checksum (written by an older cimspice), so
    edits made to it after it was written cannot be detected."""
