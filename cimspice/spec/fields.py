"""Spec fields declared once: default, unit, documentation, value rule and hash rule together.

Every key of a spec table is one dataclass field declared with :func:`param`, in the manner of
Hdl21's ``Param(dtype=, desc=, default=)``::

    @dataclass(frozen=True)
    class WireSpec(Section):
        table: ClassVar[str] = "wire"

        c_row: float = param(
            0.0, unit="F", check=nonneg, hash=omit_if_default,
            doc="capacitance to ground per word-line node (transients only)",
        )

The declaration drives the value checks (types, :class:`Check` rules, enum values; the
message names the dotted key, the unit and the first sentence of the doc), the documentation
(:func:`describe`) and the spec's content hash (:class:`HashRule`: which keys enter it, and
when). A whole table is declared the same way in a spec class with :func:`section`, with its
own hash rule (``[access]`` only for 1T1R cells, ``[mapping]`` never).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from cimspice.arguments import check_fields
from cimspice.errors import SpecError
from cimspice.model_cards import check_spice_name

__all__ = [
    "PARAM",
    "SECTION",
    "Check",
    "FieldDoc",
    "HashRule",
    "Param",
    "Section",
    "SectionInfo",
    "always",
    "at_least",
    "declared",
    "describe",
    "finite",
    "never",
    "nonneg",
    "number_table",
    "off_or_range",
    "omit_if_default",
    "param",
    "positive",
    "printable_path",
    "section",
    "when",
]

PARAM = "cimspice.spec.param"
"""The metadata key under which a field's :class:`Param` is stored."""
SECTION = "cimspice.spec.section"
"""The metadata key under which a spec class's table field holds its :class:`SectionInfo`."""


# ----- hash rules -----


@dataclass(frozen=True)
class HashRule:
    """When a key (or a whole table) enters the spec's content hash.

    Attributes:
        keep: ``keep(spec, value, default)``: whether it enters, given the whole spec (a
            :class:`~cimspice.spec.tile.TileSpec`), the key's value and its default.
        text: the rule in words (for the documentation).
    """

    keep: Callable[[Any, Any, Any], bool]
    text: str


always = HashRule(lambda spec, value, default: True, "always")
"""The key always enters the hash (the default)."""

never = HashRule(lambda spec, value, default: False, "never")
"""The key (or table) never enters the hash: it does not change the tile's circuit."""

omit_if_default = HashRule(lambda spec, value, default: value != default, "when not at its default")
"""The key enters the hash only when set away from its default: a key added after surrogate
files were written, whose absence meant the default (so their hashes stay valid)."""


def when(predicate: Callable[[Any], bool], text: str) -> HashRule:
    """The key enters the hash only when ``predicate(spec)`` holds (``text`` says when)."""
    return HashRule(lambda spec, value, default: bool(predicate(spec)), f"when {text}")


# ----- value checks -----


@dataclass(frozen=True)
class Check:
    """A rule a key's value must follow.

    Attributes:
        problem: ``problem(value)``: what is wrong with it (``"must be >= 0, got -1.0"``), or
            ``None`` when it is fine.
        text: the rule in words (for the documentation).
    """

    problem: Callable[[Any], str | None]
    text: str


def _nonneg(value: float) -> str | None:
    if not math.isfinite(value):
        return f"must be finite, got {value!r}"
    return f"must be >= 0, got {value!r}" if value < 0 else None


nonneg = Check(_nonneg, "finite, >= 0")
"""A finite number >= 0."""

positive = Check(
    lambda v: None if math.isfinite(v) and v > 0 else f"must be finite and > 0, got {v!r}",
    "finite, > 0",
)
"""A finite number > 0."""

finite = Check(lambda v: None if math.isfinite(v) else f"must be finite, got {v!r}", "finite")
"""A finite number of either sign."""


printable_path = Check(
    lambda v: (
        None
        if all(c.isprintable() for c in v) and len(v) <= 4096
        else "must be a path of printable characters (no newlines or control characters), "
        "at most 4096 long"
    ),
    "printable, at most 4096 characters",
)
"""A path of printable characters (no newlines or control characters), at most 4096 long."""


def at_least(low: int, what: str = "") -> Check:
    """An integer >= ``low`` (``what``: how the message names it, e.g. ``"an integer"``)."""
    rule = f"{what} >= {low}".strip()
    return Check(lambda v: None if v >= low else f"must be {rule}, got {v}", f">= {low}")


def off_or_range(low: int, high: int, *, off: str = "off", unit: str = " bits") -> Check:
    """0 (``off``) or an integer in ``low..high``."""
    rule = f"0 ({off}) to {high}{unit}" if low == 1 else f"0 ({off}) or {low} to {high}{unit}"
    return Check(lambda v: None if v == 0 or low <= v <= high else f"must be {rule}, got {v}", rule)


def number_table(raw: Any, key: str) -> tuple[tuple[str, float], ...]:
    """A table of named numbers (``{name = value}`` or (name, value) pairs) as sorted pairs of
    floats; ``key`` (``"write.model_params"``) is the dotted key errors name.

    Raises:
        SpecError: not a table, a name that is not a plain name, or a value that is not a
            finite number (the dotted key of the entry named).
    """
    try:
        items = raw.items() if isinstance(raw, Mapping) else raw
        pairs = sorted((str(k), v) for k, v in items)
    except (TypeError, ValueError):
        raise SpecError("must be a table of numbers", key=key) from None
    for name, value in pairs:
        if not check_spice_name(name) or isinstance(value, bool):
            raise SpecError(f"{name!r} must name a number", key=key)
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise SpecError(f"must be a finite number, got {value!r}", key=f"{key}.{name}")
    return tuple((k, float(v)) for k, v in pairs)


# ----- declarations -----


@dataclass(frozen=True)
class Param:
    """What a spec key is, beside its field (see :func:`param`).

    Attributes:
        doc: what the key means; its first sentence is the key's summary in messages.
        unit: its SI unit (``""``: dimensionless or not a number).
        hash: when it enters the content hash.
        check: the rule its value follows beyond its type (``None``: any value of the type,
            or rules that involve other keys, checked by the section's ``_check``).
        noun: what an enum key's values are called in "unknown ..." messages.
    """

    doc: str
    unit: str = ""
    hash: HashRule = always
    check: Check | None = None
    noun: str = ""

    @property
    def summary(self) -> str:
        """The doc's first sentence, without its full stop."""
        return self.doc.split(". ", 1)[0].rstrip(".")

    def hint(self) -> str:
        """The unit and summary, as messages append them (``ohm: resistance of ...``)."""
        text = self.summary
        if text[:2].istitle():  # "Resistance ..." reads "resistance ...", "TIA ..." stays
            text = text[0].lower() + text[1:]
        return f"{self.unit}: {text}" if self.unit else text


def param(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    unit: str = "",
    hash: HashRule = always,
    check: Check | None = None,
    noun: str = "",
) -> Any:
    """A spec key: a dataclass field with its :class:`Param` (no ``default``: required)."""
    meta = {PARAM: Param(doc=doc, unit=unit, hash=hash, check=check, noun=noun)}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


_HINTS: dict[type, dict[str, type]] = {}


def _types(cls: type) -> dict[str, type]:
    """Field name -> its annotated class (worked out once per class)."""
    known = _HINTS.get(cls)
    if known is None:
        known = _HINTS[cls] = {
            name: hint
            for name, hint in typing.get_type_hints(cls).items()
            if isinstance(hint, type)
        }
    return known


_DECLARED: dict[tuple[type, str], Mapping[str, Any]] = {}


def declared(cls: type, key: str) -> Mapping[str, Any]:
    """The fields of the dataclass ``cls`` whose metadata holds ``key`` (:data:`PARAM` or
    :data:`SECTION`): name -> that declaration, in field order (worked out once per class)."""
    found = _DECLARED.get((cls, key))
    if found is None:
        found = _DECLARED[cls, key] = MappingProxyType(
            {f.name: f.metadata[key] for f in dataclasses.fields(cls) if key in f.metadata}
        )
    return found


_DEFAULTS: dict[type, Mapping[str, Any]] = {}


def _defaults(cls: type) -> Mapping[str, Any]:
    if cls not in _DEFAULTS:
        _DEFAULTS[cls] = MappingProxyType(
            {
                f.name: f.default
                for f in dataclasses.fields(cls)
                if f.default is not dataclasses.MISSING
            }
        )
    return _DEFAULTS[cls]


@dataclass(frozen=True)
class Section:
    """The base of a spec table (``[wire]``, ``[readout]``...): every field a :func:`param`.

    Building one checks it as a spec file's table is checked: types (an ``int`` given for a
    float is stored as a float), enum values (a string becomes the member), each key's
    :class:`Check`, then the rules between keys (:meth:`_check`). Every failure is a
    :class:`~cimspice.errors.SpecError` naming the dotted key, with its unit and summary.
    """

    table: ClassVar[str] = ""
    """The TOML table the section is (``"wire"``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Append the keys' declarations to the class docstring (as its Attributes)."""
        super().__init_subclass__(**kwargs)
        lines = []
        for name, value in vars(cls).items():
            if isinstance(value, dataclasses.Field) and PARAM in value.metadata:
                p = value.metadata[PARAM]
                unit = f" ({p.unit})" if p.unit else ""
                lines.append(f"    {name}{unit}: {p.doc}")
        if lines and cls.__doc__ and "Attributes:" not in cls.__doc__:
            cls.__doc__ = f"{cls.__doc__.rstrip()}\n\nAttributes:\n" + "\n".join(lines) + "\n"

    def __post_init__(self) -> None:
        cls = type(self)
        check_fields(self, cls.table, lambda message, key: cls.error(key, message))
        types = _types(cls)
        for name, p in cls.params().items():
            value = getattr(self, name)
            kind = types.get(name)
            if kind is not None and issubclass(kind, enum.Enum):
                try:
                    value = kind(value)
                except ValueError:
                    known = ", ".join(repr(m.value) for m in kind)
                    raise cls.error(
                        name, f"unknown {p.noun or name} {value!r}; known: {known}"
                    ) from None
                object.__setattr__(self, name, value)
            if p.check is not None:
                problem = p.check.problem(value)
                if problem is not None:
                    raise cls.error(name, problem)
        self._check()

    def _check(self) -> None:
        """The rules between keys (none by default); raise :meth:`error` on a failure."""

    @classmethod
    def params(cls) -> Mapping[str, Param]:
        """Every key of the table and its declaration, in declaration order."""
        return declared(cls, PARAM)

    @classmethod
    def error(cls, key: str, message: str) -> SpecError:
        """A SpecError about ``key`` (its name, or its dotted key), with its unit and summary."""
        name = key.rpartition(".")[2]
        p = cls.params().get(name)
        hint = f" ({p.hint()})" if p is not None else ""
        return SpecError(f"{message}{hint}", key=f"{cls.table}.{name}")

    @classmethod
    def defaults(cls) -> Mapping[str, Any]:
        """Every key with a default, and its default."""
        return _defaults(cls)

    def to_dict(self) -> dict[str, Any]:
        """The table as plain TOML-shaped data (enums as their values)."""
        return {
            name: (v.value if isinstance(v, enum.Enum) else v)
            for name in type(self).params()
            for v in [getattr(self, name)]
        }


@dataclass(frozen=True)
class SectionInfo:
    """What a table of a spec class is (see :func:`section`).

    Attributes:
        cls: the table's :class:`Section` class.
        doc: what the table holds.
        hash: when the table enters the content hash at all (its keys' own rules apply
            inside it).
        required: whether a spec file must give the table.
    """

    cls: type[Section]
    doc: str
    hash: HashRule = always
    required: bool = False


def section(
    cls: type[Section],
    *,
    doc: str,
    hash: HashRule = always,
    required: bool = False,
) -> Any:
    """A table of a spec class: a dataclass field holding a ``cls`` (its default: ``cls()``,
    unless ``required``)."""
    meta = {SECTION: SectionInfo(cls=cls, doc=doc, hash=hash, required=required)}
    if required:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default_factory=cls, metadata=meta)


@dataclass(frozen=True)
class FieldDoc:
    """One key's documentation, as :func:`describe` lists it."""

    key: str
    type: str
    default: Any
    unit: str
    check: str
    hash: str
    doc: str


def describe(tables: Mapping[str, SectionInfo]) -> Iterator[FieldDoc]:
    """Every key of ``tables`` (table name -> info) documented, table by table."""
    types = {name: _types(info.cls) for name, info in tables.items()}
    for name, info in tables.items():
        defaults = info.cls.defaults()
        for key, p in info.cls.params().items():
            kind = types[name].get(key)
            yield FieldDoc(
                key=f"{name}.{key}",
                type=kind.__name__ if kind is not None else "",
                default=defaults.get(key, dataclasses.MISSING),
                unit=p.unit,
                check=p.check.text if p.check else "",
                hash=info.hash.text if info.hash is never else p.hash.text,
                doc=p.doc,
            )
