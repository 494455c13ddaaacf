"""Output paths: checked before any work, only ever replacing regular files, all or nothing.

The rules every command, and every library function that writes files, follows:

- every output path is checked before any work starts: what is there now is a regular file
  or nothing, and its folder exists and is writable (an output *folder* may be created, with
  its parents);
- nothing but a regular file is ever replaced: a symbolic link, FIFO, device node, socket or
  folder at an output path is refused, never followed or replaced;
- an output is never one of the command's inputs (the same resolved path, or the same file
  through a hard link) nor another of its outputs;
- the outputs of one command appear together or not at all: each is written to a temporary
  beside its destination and all are moved into place once every one is written; on failure
  the temporaries are removed and nothing new is left. Error messages name the user's paths,
  never a temporary.

:class:`OutputPlan` holds one command's inputs and outputs; :func:`atomic_output` writes one
file (a complete file or none).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from cimspice.errors import OutputError

__all__ = ["OutputPlan", "atomic_output", "check_replaceable"]

_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _reason(err: OSError, *renames: tuple[str, str]) -> str:
    """The cause of ``err`` without the file name it carries, temporaries renamed."""
    text = err.strerror if err.strerror else str(err)
    for old, new in renames:
        text = text.replace(old, new)
    return text


def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (``os.umask`` sets
    it to 0 for an instant, when another thread may be creating a file)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _refuse_non_regular(path: Path, label: str) -> None:
    """Raise unless ``path`` is a regular file or nothing (symbolic links are not followed)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise OutputError(f"{label}: {_reason(err)}") from err
    if not stat.S_ISREG(mode):
        raise OutputError(f"{label} is {_kind(mode)}; outputs only ever replace regular files")


def _check_writable(folder: Path, label: str) -> None:
    """Raise unless ``folder`` exists, is a folder and can be written into."""
    if not folder.exists():
        raise OutputError(f"{label}: folder {folder} not found")
    if not folder.is_dir():
        raise OutputError(f"{label}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{label}: folder {folder} is not writable")


def _existing_ancestor(path: Path) -> Path:
    """The nearest ancestor of ``path`` that exists (``path`` itself excluded)."""
    for parent in Path(os.path.abspath(path)).parents:
        if os.path.lexists(parent):
            return parent
    return Path(os.path.abspath(os.sep))  # pragma: no cover - the root always exists


def _check_folder(path: Path, label: str) -> None:
    """Raise unless ``path`` is a writable folder, or nothing and creatable."""
    if os.path.lexists(path):
        if not path.is_dir():  # follows a link: a link to a folder is a folder to write into
            mode = path.lstat().st_mode
            kind = "a symbolic link to nothing" if stat.S_ISLNK(mode) else _kind(mode)
            if stat.S_ISREG(mode):
                kind = "a file"
            raise OutputError(f"{label} is {kind}, not a folder")
        _check_writable(path, label)
        return
    anchor = _existing_ancestor(path)
    if not anchor.is_dir():
        raise OutputError(f"{label}: cannot create it, {anchor} is not a folder")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise OutputError(f"{label}: cannot create it, folder {anchor} is not writable")


def check_replaceable(path: str | Path, what: str = "output") -> None:
    """Check that a file may be written at ``path``: nothing or a regular file is there, and
    its folder exists and is writable.

    Raises:
        OutputError: naming ``what`` (e.g. ``"-o"``) and ``path``.
    """
    path = Path(path)
    label = f"{what} {path}"
    _refuse_non_regular(path, label)
    _check_writable(path.parent, label)


@contextlib.contextmanager
def atomic_output(path: str | Path, mode: str = "wb", *, what: str = "output") -> Iterator[IO]:
    """Open a temporary file beside ``path``; move it into place only if the block succeeds.

    ``path`` must be a regular file or nothing (checked before and again just before the
    move). Nothing is left at ``path`` (nor beside it) when the block raises; an ``OSError``
    becomes an :class:`~cimspice.errors.OutputError` naming ``path``, not the temporary.

    Raises:
        OutputError: ``path`` is refused (see :func:`check_replaceable`) or cannot be written.
    """
    path = Path(path)
    check_replaceable(path, what)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {_reason(err)}") from err
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        with os.fdopen(fd, mode) as handle:
            yield handle
        _refuse_non_regular(path, f"{what} {path}")  # nothing else may have appeared there
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and not isinstance(err, OutputError):
            raise OutputError(f"cannot write {path}: {_reason(err, (tmp, str(path)))}") from err
        raise


@dataclass
class _Output:
    """One output of a plan: a file (``names is None``) or a folder and the files it gets."""

    path: Path
    what: str
    names: tuple[str, ...] | None
    stage: Path | None = None  # where its content is being written
    temp: Path | None = None  # the temporary folder to remove afterwards
    new: bool = False  # a folder that did not exist: its stage becomes it

    @property
    def label(self) -> str:
        return f"{self.what} {self.path}"


def _temp_folder(name: str, where: Path) -> Path:
    """A new hidden temporary folder in ``where`` (on its destination's file system)."""
    return Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".part", dir=where))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _files(folder: Path) -> list[Path]:
    """Every file under ``folder`` (folders themselves left out), in a stable order."""
    return sorted(p for p in folder.rglob("*") if not p.is_dir() or p.is_symlink())


class OutputPlan:
    """Every input and output path of one command: checked up front, committed together.

    Declare the paths, enter the plan (which checks them all, before any work), write each
    output to :meth:`stage` of its path, and leave the block: on success every written output
    is moved into place; on an exception none is, and the temporaries are removed::

        plan = OutputPlan()
        plan.read(spec_path, "SPEC")
        plan.write(out_path, "-o")
        plan.folder(plot_dir, "--plot-dir", ["heatmap.png"])
        with plan:
            ...  # the work
            result.save(plan.stage(out_path))
            plot(result, plan.stage(plot_dir) / "heatmap.png")

    Entering the plan also makes every temporary (so an unwritable folder fails before any
    work). An output the block never writes is left as it was. Files written into a staged
    folder beyond its declared names are checked again when committed.
    """

    def __init__(self) -> None:
        self._inputs: list[tuple[Path, str]] = []
        self._outputs: list[_Output] = []
        self._caches: list[tuple[Path, str]] = []
        self._checked = False

    def read(self, path: str | Path | None, what: str) -> None:
        """Declare an input file (``None`` or ``""``: none); no output may be it."""
        if path is not None and os.fspath(path) != "":
            self._inputs.append((Path(path), what))

    def write(self, path: str | Path, what: str) -> Path:
        """Declare an output file (``what``: how the user named it, e.g. ``"-o"``)."""
        text = os.fspath(path)
        if not text or text.endswith(("/", os.sep)) or Path(text).name in ("", ".", ".."):
            raise OutputError(f"{what} {text!r} names a folder, not a file")
        self._outputs.append(_Output(Path(path), what, None))
        self._checked = False
        return Path(path)

    def folder(self, path: str | Path, what: str, names: Iterable[str] = ()) -> Path:
        """Declare an output folder (created if missing) and the files, relative paths, it
        will get; each of those is checked like an output file."""
        self._outputs.append(_Output(Path(path), what, tuple(names)))
        self._checked = False
        return Path(path)

    def cache(self, path: str | Path | None, what: str) -> None:
        """Declare a folder written in place as work goes on (a cache, not an output): it
        must be a writable folder, or creatable. ``None``: none."""
        if path is not None:
            self._caches.append((Path(path), what))
            self._checked = False

    def _destinations(self, out: _Output) -> list[tuple[Path, str]]:
        """Check one output; return the paths it will occupy, with their labels."""
        if out.names is None:
            check_replaceable(out.path, out.what)
            return [(out.path, out.label)]
        _check_folder(out.path, out.label)
        found = [(out.path, out.label)]
        for name in out.names:
            dest = out.path / name
            label = f"{out.what} {dest}"
            for part in reversed(list(Path(name).parents)[:-1]):
                sub = out.path / part
                if os.path.lexists(sub) and not sub.is_dir():
                    raise OutputError(f"{label}: {sub} is not a folder")
            _refuse_non_regular(dest, label)
            found.append((dest, label))
        return found

    def check(self) -> None:
        """Check every declared path (see the module's rules).

        Raises:
            OutputError: the first path refused, named as the user gave it.
        """
        inputs = [(path, what, os.path.realpath(path)) for path, what in self._inputs]
        taken: dict[str, str] = {}
        for out in self._outputs:
            for dest, label in self._destinations(out):
                real = os.path.realpath(dest)
                for path, what, resolved in inputs:
                    if real == resolved or _same_file(dest, path):
                        raise OutputError(
                            f"{label} is the input {what} ({path}); an output never replaces "
                            "an input: choose another path"
                        )
                if real in taken:
                    raise OutputError(
                        f"{label} is also {taken[real]}; give each output its own path"
                    )
                taken[real] = label
        for path, what in self._caches:
            _check_folder(path, f"{what} {path}")
        self._checked = True

    def _find(self, path: str | Path) -> _Output:
        key = os.path.abspath(path)
        for out in self._outputs:
            if os.path.abspath(out.path) == key:
                return out
        raise KeyError(f"{path} is not an output of this plan")

    def stage(self, path: str | Path) -> Path:
        """Where to write the output declared at ``path``: a file path for a file, a folder
        for a folder (created, empty). The same path on every call."""
        out = self._find(path)
        if out.stage is not None:
            return out.stage
        if not self._checked:
            self.check()
        try:
            if out.names is None:
                temp = _temp_folder(out.path.name, out.path.parent)
                out.stage, out.temp = temp / out.path.name, temp
            elif out.path.is_dir():
                out.stage = out.temp = _temp_folder("cimspice", out.path)
            else:
                temp = _temp_folder(out.path.name, _existing_ancestor(out.path))
                os.chmod(temp, 0o777 & ~_umask())  # mkdtemp makes 0700; it becomes the folder
                out.stage, out.temp, out.new = temp, temp, True
        except OSError as err:
            raise OutputError(f"cannot write {out.label}: {_reason(err)}") from err
        return out.stage

    def _moves(self) -> tuple[list[_Output], list[tuple[Path, Path, str]]]:
        """The folders to rename into place and the files to move, each checked again."""
        inputs = [(path, what, os.path.realpath(path)) for path, what in self._inputs]
        renames: list[_Output] = []
        moves: list[tuple[Path, Path, str]] = []
        for out in self._outputs:
            if out.stage is None:
                continue
            if out.names is None:
                if os.path.lexists(out.stage):
                    moves.append((out.stage, out.path, out.label))
            elif out.new and not os.path.lexists(out.path):
                renames.append(out)
            else:
                for staged in _files(out.stage):
                    dest = out.path / staged.relative_to(out.stage)
                    moves.append((staged, dest, f"{out.what} {dest}"))
        for _, dest, label in moves:
            _refuse_non_regular(dest, label)
            for path, what, resolved in inputs:
                if os.path.realpath(dest) == resolved or _same_file(dest, path):
                    raise OutputError(f"{label} is the input {what} ({path})")
        return renames, moves

    def commit(self) -> None:
        """Move every written output into place, then remove the temporaries.

        Raises:
            OutputError: an output refused at the last moment (something else appeared
                there) or a failed move; nothing is moved after it.
        """
        label = "an output"
        try:
            renames, moves = self._moves()
            for out in renames:
                assert out.stage is not None
                label = out.label
                out.path.parent.mkdir(parents=True, exist_ok=True)
                os.rename(out.stage, out.path)
                out.temp = None
            for staged, dest, what in moves:
                label = what
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, dest)
        except OSError as err:
            if isinstance(err, OutputError):
                raise
            raise OutputError(f"cannot write {label}: {_reason(err)}") from err
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove every temporary (whatever was written and not committed)."""
        for out in self._outputs:
            if out.temp is not None:
                shutil.rmtree(out.temp, ignore_errors=True)
            out.stage, out.temp, out.new = None, None, False

    def user_text(self, text: str) -> str:
        """``text`` with every staged path replaced by the path the user gave."""
        pairs = []
        for out in self._outputs:
            if out.stage is not None:
                pairs.append((str(out.stage), str(out.path)))
            if out.temp is not None and out.temp != out.stage:
                pairs.append((str(out.temp), str(out.path.parent)))
        for old, new in sorted(pairs, key=lambda pair: -len(pair[0])):
            text = text.replace(old, new)
        return text

    def __enter__(self) -> OutputPlan:
        """Check every path, then stage every output: the temporaries are made now, so that a
        folder nothing can be written into (a read-only file system, even for root) fails
        here, before any work."""
        self.check()
        try:
            for out in self._outputs:
                self.stage(out.path)
        except BaseException:
            self.discard()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if err is None:
            self.commit()
            return
        message = self.user_text(str(err))
        self.discard()
        if message == str(err):
            return
        if isinstance(err, OSError):
            raise OutputError(message) from err
        err.args = (message,)  # name the user's paths in any other error too
