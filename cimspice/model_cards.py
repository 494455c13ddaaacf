"""Model files: the one piece of foreign SPICE text that goes into a cimspice deck.

An ``[access] model_file`` (a foundry card, say) travels with specs between people, and
ngspice is a command interpreter as much as a simulator: a ``.control`` block, a ``*#``
comment or an ``.include`` in a deck runs commands or reads other files. So a model file is
read under a path policy (:func:`resolve_model_file`) and a size limit, and checked statement
by statement (:func:`parse_model_cards`); a deck gets the checked statements only, comments
removed, never the file verbatim. Errors name the file and the line and say what kind of
statement is refused, never the line's text.

A model file may hold (everything else is refused):

- ``.model NAME TYPE ...`` of a circuit device: MOSFET (``nmos``, ``pmos``, ``vdmos``), BJT
  (``npn``, ``pnp``), diode (``d``), JFET (``njf``, ``pjf``), MESFET (``nmf``, ``pmf``),
  resistor (``r``, ``res``), capacitor (``c``) and inductor (``l``). XSPICE code models are
  refused: some read files (``filesource``, ``d_source``, table models).
- ``.subckt NAME PORTS [params]`` ... ``.ends``: a subcircuit, as foundries wrap a MOSFET
  with its parasitics. Inside it, element lines of the devices above and what such wrappers
  are made of: ``M R C L K D Q J Z`` devices, ``X`` subcircuit calls, ``E F G H``
  controlled sources, ``B`` behavioural sources, and ``V``/``I`` sources of a constant value
  (``Vsense d di 0``). Outside a subcircuit an element line would add to the circuit, and is
  refused.
- ``.param`` and ``.func`` (numbers and expressions).
- ``.lib SECTION`` ... ``.endl`` sections (a foundry file holds one per corner): the spec
  picks one with ``access.model_section``, and only that section goes into the deck. A
  ``.lib FILE SECTION`` line inside may call another section of the same file; one naming
  any other file is refused (cimspice inlines one file; merge the cards into it).
- comments (``*``, ``#`` or ``$`` at the start of a line; ``;``, `` $`` or `` //`` to its end),
  blank lines and continuation lines (``+``).

Statements hold printable ASCII only, without ``"``, ``\\``, backquotes or ``@``: none has a
use in model cards, and each has a meaning to ngspice's reader or its interpreter.

Refused, with what kind of statement it is: ``.control``/``.endc`` blocks, ngspice commands
(``shell``, ``source``...), ``.include``, ``.lib`` calls of other files, ``.options``,
analyses (``.op``, ``.dc``, ``.tran``...), output statements (``.save``, ``.meas``...),
``.end``, ``.temp``, ``.global``, ``.ic``/``.nodeset``, ``.if`` blocks and anything
unrecognised.

Path policy (the README's "security policy for model files"): a relative ``model_file`` is
taken from the spec file's folder (the current folder for a spec built in memory); the
file, after symbolic links are resolved, must lie inside that folder's tree or inside a
folder listed in ``CIMSPICE_MODEL_PATH`` (``os.pathsep``-separated, like ``PATH``). It must
be a regular file of at most :data:`MAX_MODEL_FILE_BYTES`.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cimspice.errors import ModelFileError

__all__ = [
    "MAX_MODEL_FILE_BYTES",
    "MODEL_PATH_ENV",
    "ModelCards",
    "allowed_model_folders",
    "builtin_model_cards",
    "check_spice_name",
    "parse_model_cards",
    "read_model_file",
    "resolve_model_file",
]

MAX_MODEL_FILE_BYTES = 16 * 2**20
"""Largest model file accepted (bytes): a whole foundry model library is a few MB."""
MODEL_PATH_ENV = "CIMSPICE_MODEL_PATH"
"""Environment variable listing further folders that model files may come from."""

SPICE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.]{0,63}\Z")
"""A model, subcircuit or section name as a spec may give it (and as it lands in a deck)."""
_BINNED = re.compile(r"\.\d+\Z")
"""The suffix of a binned model's bins (``nch.1``, ``nch.2``... make up the model ``nch``)."""
_RESERVED_PREFIX = "cimspice"
"""Names of the deck's own models and subcircuits start with this; model files' may not."""

MODEL_TYPES = frozenset(
    {"nmos", "pmos", "vdmos", "npn", "pnp", "d", "njf", "pjf", "nmf", "pmf", "r", "res", "c", "l"}
)
"""Device types a ``.model`` may have."""
TRANSISTOR_TYPES = frozenset({"nmos"})
"""``.model`` types an access transistor (an NMOS) may be."""
TRANSISTOR_PORTS = 4
"""Ports of a subcircuit used as an access transistor: drain, gate, source, body."""

_ELEMENTS = frozenset("mrclkdqjzxefghbvi")
"""First letters of the element lines accepted inside a subcircuit."""
_CONSTANT_SOURCE = re.compile(
    r"[vi]\S*\s+\S+\s+\S+\s+(dc\s+)?([-+0-9.][-+0-9.a-z]*|\{[^{}]*\}|'[^']*')\Z", re.IGNORECASE
)
"""A V or I element of a constant value (a sense or bias source inside a wrapper)."""
_FORBIDDEN = re.compile(r'[^\x20-\x7e\t]|["\\`@]')
_INLINE_COMMENT = re.compile(r";|(?:^|[ \t])(?:\$|//)")
_COMMANDS = frozenset(
    {
        "shell", "source", "load", "write", "wrdata", "wrs2p", "codemodel", "pre_osdi",
        "osdi", "echo", "set", "setcs", "unset", "alias", "define", "run", "quit", "exit",
        "listing", "save", "print", "plot", "alter", "altermod", "remcirc", "destroy",
        "edit", "hardcopy", "rusage", "bg_run", "foreach", "while",
    }
)  # fmt: skip
"""ngspice front-end commands, recognised to name what a line is (the names that an element
of a model card could plausibly have, like a capacitor ``cd``, are left out)."""

_DOT_KINDS: tuple[tuple[tuple[str, ...], str], ...] = (
    ((".control", ".endc"), "a .control block (ngspice commands)"),
    ((".exec",), "an .exec block (ngspice commands)"),
    ((".inc",), "an .include of another file"),
    ((".opt",), "an .options line (it would change how the whole deck runs)"),
    (
        (".op", ".dc", ".tran", ".ac", ".noise", ".tf", ".disto", ".pz", ".sens", ".sp", ".pss"),
        "an analysis statement (.op, .dc, .tran, ...)",
    ),
    (
        (".meas", ".save", ".print", ".plot", ".probe", ".four", ".width", ".csparam"),
        "an output statement (.save, .print, .meas, ...)",
    ),
    ((".title",), "a .title line"),
    ((".temp",), "a .temp line (it would change the circuit's temperature)"),
    ((".global",), "a .global line (it would join nodes across the whole deck)"),
    ((".ic", ".nodeset"), "an initial-condition statement (.ic, .nodeset)"),
    ((".if", ".elseif", ".else", ".endif"), "a conditional block (.if ... .endif)"),
    ((".end",), "an .end line (it would end the deck early)"),
)
"""Dot statements refused, by the (prefix of the) keyword, with what to call them (the
prefixes follow ngspice's own reader, which takes ``.controlx`` for ``.control`` and
``.incx`` for ``.include``)."""

_ALLOWED_HINT = (
    "a model file may hold only .model, .subckt/.ends, .param, .func and .lib/.endl section "
    "statements, element lines inside .subckt, comments and continuation lines"
)


@dataclass(frozen=True)
class ModelCards:
    """Checked model cards, ready to go into a deck.

    Attributes:
        text: the statements for the deck (comments removed, one ``.lib`` section
            flattened), or a built-in model file's own text.
        name: what the deck's comment calls the cards (the file's name).
        models: ``.model`` names defined at the top level (lower case) and their types.
        subckts: ``.subckt`` names defined at the top level (lower case) and their port counts.
    """

    text: str
    name: str
    models: Mapping[str, str] = field(default_factory=dict)
    subckts: Mapping[str, int] = field(default_factory=dict)

    def instance_prefix(self, model: str) -> str:
        """``""`` when ``model`` is a ``.model`` (an M element), ``"x"`` when a subcircuit."""
        return "x" if model.lower() in self.subckts else ""

    def transistor_problem(self, model: str) -> str | None:
        """Why ``model`` cannot be an access transistor of these cards, or ``None``."""
        key = model.lower()
        bins = [k for k in self.models if k.startswith(key) and _BINNED.fullmatch(k[len(key) :])]
        if key in self.models or bins:
            kind = self.models[key] if key in self.models else self.models[bins[0]]
            if kind not in TRANSISTOR_TYPES:
                return f"its .model '{model}' is of type {kind}; the access transistor is an nmos"
            return None
        if key in self.subckts:
            ports = self.subckts[key]
            if ports != TRANSISTOR_PORTS:
                return (
                    f"its .subckt '{model}' has {ports} ports; an access transistor needs "
                    f"{TRANSISTOR_PORTS} (drain, gate, source, body)"
                )
            return None
        return f"it defines no .model or .subckt named '{model}' (access.model) at its top level"


def check_spice_name(value: str) -> bool:
    """Whether ``value`` is a safe SPICE name: letters, digits, ``_`` and ``.`` (not first),
    at most 64 characters."""
    return bool(SPICE_NAME.match(value))


# ----- parsing -----


@dataclass
class _Statement:
    line: int  # the first physical line (1-based)
    lines: list[str]  # its physical lines, comments removed
    depth: int = 0  # .subckt nesting around it
    defines: tuple[str, str, object] | None = None  # ("model"|"subckt", name, type|ports)
    calls: str | None = None  # a .lib section of the same file it calls

    @property
    def text(self) -> str:
        return " ".join([self.lines[0], *(ln[1:] for ln in self.lines[1:])])


class _RefusedError(Exception):
    """A line is refused: ``what`` says what kind of statement, at ``line``."""

    def __init__(self, line: int, what: str):
        super().__init__(what)
        self.line = line
        self.what = what


def _dot_kind(keyword: str) -> str:
    for prefixes, what in _DOT_KINDS:
        if any(keyword.startswith(p) for p in prefixes):
            return what
    return "an unrecognised dot statement"


def _physical_lines(data: bytes) -> list[tuple[int, str]]:
    """The statement lines of ``data`` (1-based numbers), inline comments removed; comment
    and blank lines dropped. Raises _RefusedError on a character that has no place in cards."""
    out = []
    for number, physical in enumerate(data.split(b"\n"), start=1):
        raw = physical.removesuffix(b"\r").lstrip(b" \t")
        if not raw or raw[:1] in (b"*", b"#", b"$") or raw.startswith(b"//"):
            continue  # a comment or blank line: dropped whatever it holds
        text = raw.decode("latin-1")  # one character per byte; non-ASCII is refused below
        cut = _INLINE_COMMENT.search(text)
        if cut is not None:
            text = text[: cut.start()]
        text = text.rstrip(" \t")
        bad = _FORBIDDEN.search(text)
        if bad is not None:
            code = ord(bad.group())
            what = (
                f"a control character (0x{code:02x})"
                if code < 0x20 or code == 0x7F
                else "a non-ASCII character"
                if code > 0x7E
                else f"a {bad.group()!r} character"
            )
            raise _RefusedError(number, f"{what} in a statement, at column {bad.start() + 1}")
        if text:
            out.append((number, text))
    return out


def _statements(lines: list[tuple[int, str]]) -> list[_Statement]:
    out: list[_Statement] = []
    for number, text in lines:
        if text.startswith("+"):
            if not out:
                raise _RefusedError(number, "a continuation line (+) with no statement before it")
            out[-1].lines.append(text)
        else:
            out.append(_Statement(number, [text]))
    return out


def _params_start(tokens: list[str]) -> int:
    for k, token in enumerate(tokens):
        if "=" in token or token.lower() == "params:":
            return k
    return len(tokens)


def _name(token: str, line: int, what: str) -> str:
    if not check_spice_name(token):
        raise _RefusedError(line, f"a {what} name that is not a plain SPICE name")
    if token.lower().startswith(_RESERVED_PREFIX):
        raise _RefusedError(line, f"a {what} name starting with '{_RESERVED_PREFIX}' (reserved)")
    return token.lower()


def _element(st: _Statement, text: str, depth: int) -> None:
    letter = text[0].lower()
    if depth == 0:
        raise _RefusedError(
            st.line, "an element line outside .subckt (it would add to the circuit itself)"
        )
    if letter not in _ELEMENTS:
        raise _RefusedError(
            st.line, "an element of a kind model cards do not need (A, N, O, P, S, T, U, W or Y)"
        )
    if letter in "vi" and not _CONSTANT_SOURCE.match(text):
        raise _RefusedError(st.line, "a V or I source that is not a constant (dc) value")


def _classify(
    statements: list[_Statement], same_file: Callable[[str], bool]
) -> tuple[list[_Statement], dict[str, list[_Statement]]]:
    """Check every statement; split them into the top level and the ``.lib`` sections."""
    top: list[_Statement] = []
    sections: dict[str, list[_Statement]] = {}
    section: str | None = None
    opened: list[_Statement] = []  # open .subckt (and .lib) statements, for EOF errors
    depth = 0
    for st in statements:
        text = " ".join(st.text.split())
        tokens = re.sub(r"\s*=\s*", "=", text).split()
        keyword = tokens[0].lower()
        st.depth = depth
        where = top if section is None else sections[section]
        if keyword == ".model":
            if len(tokens) < 3 and "(" not in text:
                raise _RefusedError(st.line, "a .model without a name and a type")
            name = _name(tokens[1].split("(")[0], st.line, ".model")
            kind = (tokens[1].partition("(")[2] or tokens[2]).split("(")[0].lower()
            if kind not in MODEL_TYPES:
                raise _RefusedError(
                    st.line,
                    "a .model of a type model cards do not need here (MOSFET, BJT, diode, "
                    "JFET, MESFET, R, C and L models only; no XSPICE code models)",
                )
            st.defines = ("model", name, kind)
        elif keyword == ".subckt":
            if len(tokens) < 2:
                raise _RefusedError(st.line, "a .subckt without a name")
            name = _name(tokens[1], st.line, ".subckt")
            st.defines = ("subckt", name, _params_start(tokens[2:]))
            depth += 1
            opened.append(st)
        elif keyword == ".ends":
            if depth == 0:
                raise _RefusedError(st.line, "an .ends without a .subckt")
            depth -= 1
            opened.pop()
        elif keyword in (".param", ".func"):
            if len(tokens) < 2:
                raise _RefusedError(st.line, f"an empty {keyword}")
        elif keyword == ".lib":
            args = [t.strip("'") for t in tokens[1:]]
            if depth:
                raise _RefusedError(st.line, "a .lib line inside a .subckt")
            if len(args) == 1:
                if section is not None:
                    raise _RefusedError(st.line, "a .lib section inside another .lib section")
                section = _name(args[0], st.line, ".lib section")
                if section in sections:
                    raise _RefusedError(st.line, "a .lib section defined twice")
                sections[section] = []
                opened.append(st)
                continue
            if len(args) != 2:
                raise _RefusedError(st.line, "a malformed .lib line")
            if not same_file(args[0]):
                raise _RefusedError(
                    st.line,
                    "a .lib reference to another file (cimspice inlines one model file: merge "
                    "the cards into it)",
                )
            st.calls = _name(args[1], st.line, ".lib section")
        elif keyword == ".endl":
            if section is None:
                raise _RefusedError(st.line, "an .endl without a .lib section")
            if depth:
                raise _RefusedError(st.line, "an .endl inside a .subckt")
            section = None
            opened.pop()
            continue
        elif keyword.startswith("."):
            raise _RefusedError(st.line, _dot_kind(keyword))
        elif keyword in _COMMANDS or not keyword[0].isalpha():
            raise _RefusedError(
                st.line,
                "an ngspice command (shell, source, ...)"
                if keyword in _COMMANDS
                else "an unrecognised line",
            )
        else:
            _element(st, text, depth)
        where.append(st)
    if opened:
        last = opened[-1]
        unclosed = "a .subckt without .ends" if last.defines else "a .lib section without .endl"
        raise _RefusedError(last.line, unclosed)
    return top, sections


def _flatten(
    body: list[_Statement],
    sections: dict[str, list[_Statement]],
    stack: tuple[str, ...] = (),
) -> list[_Statement]:
    out: list[_Statement] = []
    for st in body:
        if st.calls is None:
            out.append(st)
            continue
        if st.calls not in sections:
            raise _RefusedError(st.line, "a .lib call of a section this file does not define")
        if st.calls in stack:
            raise _RefusedError(st.line, "a .lib call that loops back to a section calling it")
        out += _flatten(sections[st.calls], sections, (*stack, st.calls))
    return out


def parse_model_cards(
    data: bytes | str,
    *,
    name: str,
    section: str = "",
    same_file: Callable[[str], bool] | None = None,
    source: str | Path = "<model cards>",
    spec_file: str | Path | None = None,
) -> ModelCards:
    """Check model-card text (see the module) and return what goes into a deck.

    Args:
        data: the file's bytes (or text).
        name: what the deck's comment calls the cards.
        section: the ``.lib`` section to use; required when the text has sections.
        same_file: whether a ``.lib FILE SECTION`` line's FILE is this file (by default none
            is).
        source: the model file as the spec names it, for errors.
        spec_file: the spec file, for errors.

    Raises:
        ModelFileError: a refused line (its number and kind, never its text), or a section
            missing or not chosen.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    name = re.sub(r"[^\x20-\x7e]", "?", name)  # it lands in a deck comment
    try:
        top, sections = _classify(_statements(_physical_lines(raw)), same_file or (lambda _: False))
        if sections and not section:
            raise ModelFileError(
                f"it holds {len(sections)} .lib sections (corners): choose one with "
                "access.model_section",
                model_file=source,
                file=spec_file,
            )
        if section and section.lower() not in sections:
            what = "no .lib sections" if not sections else f"no .lib section '{section}'"
            raise ModelFileError(
                f"it has {what} (access.model_section)",
                model_file=source,
                file=spec_file,
                key="access.model_section",
            )
        key = section.lower()
        chosen = _flatten(sections[key] if key else top, sections, (key,) if key else ())
    except _RefusedError as refused:
        raise ModelFileError(
            f"{refused.what} is not model-card content; {_ALLOWED_HINT}",
            model_file=source,
            line=refused.line,
            file=spec_file,
        ) from None
    models: dict[str, str] = {}
    subckts: dict[str, int] = {}
    for st in chosen:
        if st.defines is not None and st.depth == 0:
            kind, key, value = st.defines
            if kind == "model":
                models[key] = str(value)
            else:
                subckts[key] = int(value)  # type: ignore[call-overload]
    text = "\n".join(ln for st in chosen for ln in st.lines)
    return ModelCards(text=text + "\n" if text else "", name=name, models=models, subckts=subckts)


# ----- files -----


def allowed_model_folders(spec_folder: Path) -> list[Path]:
    """The folders model files may come from: ``spec_folder`` and those listed in
    ``CIMSPICE_MODEL_PATH``, symbolic links resolved."""
    listed = [p for p in os.environ.get(MODEL_PATH_ENV, "").split(os.pathsep) if p.strip()]
    return [Path(p).expanduser().resolve() for p in [str(spec_folder), *listed]]


def resolve_model_file(model_file: str, *, spec_file: str | Path | None) -> Path:
    """The model file ``model_file`` of a spec read from ``spec_file``, under the path policy
    (see the module): the real path of a regular file in an allowed folder.

    Raises:
        ModelFileError: the file lies outside the allowed folders, is missing or is not a
            regular file.
    """
    folder = Path(spec_file).parent if spec_file is not None else Path.cwd()
    path = Path(model_file).expanduser()
    real = (path if path.is_absolute() else folder / path).resolve()
    roots = allowed_model_folders(folder)
    if not any(real.is_relative_to(root) for root in roots):
        whose = "the spec's folder" if spec_file is not None else "the current folder"
        raise ModelFileError(
            f"lies outside {whose} {roots[0]}, and model files are read only from there "
            f"(security policy for model files: list further folders in {MODEL_PATH_ENV})",
            model_file=model_file,
            file=spec_file,
        )
    if not real.exists():
        raise ModelFileError("model file not found", model_file=model_file, file=spec_file)
    if not real.is_file():
        raise ModelFileError("is not a regular file", model_file=model_file, file=spec_file)
    return real


def _read_limited(path: Path, model_file: str, spec_file: str | Path | None) -> bytes:
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise ModelFileError(
            f"cannot read it: {err.strerror}", model_file=model_file, file=spec_file
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError("is not a regular file", model_file=model_file, file=spec_file)
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_MODEL_FILE_BYTES + 1)
    except OSError as err:
        raise ModelFileError(
            f"cannot read it: {err.strerror}", model_file=model_file, file=spec_file
        ) from None
    finally:
        os.close(fd)
    if len(data) > MAX_MODEL_FILE_BYTES:
        raise ModelFileError(
            f"is larger than {MAX_MODEL_FILE_BYTES // 2**20} MiB, the limit for model files",
            model_file=model_file,
            file=spec_file,
        )
    return data


def read_model_file(
    model_file: str, *, spec_file: str | Path | None, section: str = "", model: str = ""
) -> ModelCards:
    """Read, check and return the cards of a spec's model file (path policy, size limit and
    content rules: see the module). With ``model``, check that the cards define it as an
    access transistor (an ``nmos`` ``.model`` or a 4-port ``.subckt``).

    Raises:
        ModelFileError: the file is refused, with the reason (never its content).
    """
    path = resolve_model_file(model_file, spec_file=spec_file)
    data = _read_limited(path, model_file, spec_file)

    def same_file(token: str) -> bool:
        other = Path(token).expanduser()
        return (other if other.is_absolute() else path.parent / other).resolve() == path

    cards = parse_model_cards(
        data,
        name=Path(model_file).name,
        section=section,
        same_file=same_file,
        source=model_file,
        spec_file=spec_file,
    )
    problem = cards.transistor_problem(model) if model else None
    if problem is not None:
        raise ModelFileError(problem, model_file=model_file, file=spec_file, key="access.model")
    return cards


def builtin_model_cards(path: Path) -> ModelCards:
    """The cards of a model file shipped with cimspice: checked like any other (so that the
    rules are known to admit real cards), but put into decks with their comments, which
    document every parameter.

    Raises:
        ModelFileError: the file is unreadable or breaks the rules (a broken installation).
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ModelFileError(f"cannot read it: {err.strerror}", model_file=path) from None
    cards = parse_model_cards(data, name=path.name, source=path)
    return ModelCards(
        text=data.decode("utf-8"), name=path.name, models=cards.models, subckts=cards.subckts
    )
