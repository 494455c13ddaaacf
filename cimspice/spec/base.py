"""The base of spec classes made of tables: building from TOML-shaped data, ``to_dict`` and a
dotted-key :meth:`~Sections.replace`.

A spec class (:class:`~cimspice.spec.tile.TileSpec`,
:class:`~cimspice.spec.network.NetworkSpec`, :class:`~cimspice.spec.crossbar.CrossbarSpec`)
is a frozen dataclass whose tables are fields declared with
:func:`~cimspice.spec.fields.section`; everything here works from those declarations, so a
new table is one field line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from cimspice.arguments import a_or_an, instance
from cimspice.errors import InputError, SpecError
from cimspice.spec.fields import SECTION, SectionInfo, declared

__all__ = ["SIZE_KEY", "Sections"]

SIZE_KEY = "array.size"
"""The dotted key that sets ``array.rows`` and ``array.cols`` together (sweeps, replace)."""


@dataclass(frozen=True)
class Sections:
    """The base of a spec made of tables (each a field declared with ``section``)."""

    def __post_init__(self) -> None:
        for name, info in self.sections().items():
            value = getattr(self, name)
            if not isinstance(value, info.cls):
                raise SpecError(
                    f"must be {a_or_an(info.cls.__name__)} (the [{name}] table; build a spec "
                    f"from plain data with spec_from_dict), got {type(value).__name__}",
                    key=name,
                )

    @classmethod
    def sections(cls) -> Mapping[str, SectionInfo]:
        """Every table of the spec class and its declaration, in declaration order."""
        return declared(cls, SECTION)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The spec as plain TOML-shaped data (tables of key/value pairs)."""
        return {name: getattr(self, name).to_dict() for name in self.sections()}

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, source: str | Path | None = None, **extra: Any
    ) -> Self:
        """Build a validated spec of this class from TOML-shaped data.

        Args:
            data: tables of key/value pairs.
            source: the file the data came from (named in errors; kept as ``source`` by
                classes that have it).
            extra: further init arguments (``cards``).

        Raises:
            SpecError: on an unknown table or key, a missing required table or key, a wrong
                type or an invalid value; the message names ``source`` and the dotted key.
        """
        if not isinstance(data, Mapping):
            raise SpecError(
                f"a spec must be a table of sections (a mapping), got {type(data).__name__}",
                file=source,
            )
        tables = cls.sections()
        try:
            for name in data:
                if name not in tables:
                    known = ", ".join(f"[{s}]" for s in tables)
                    raise SpecError(f"unknown section; known sections: {known}", key=name)
            built: dict[str, Any] = {}
            for name, info in tables.items():
                if info.required and name not in data:
                    raise SpecError("missing required section", key=name)
                built[name] = _table(info, name, data.get(name, {}))
            if source is not None and "source" in {f.name for f in dataclasses.fields(cls)}:
                extra["source"] = Path(source)
            return cls(**built, **extra)
        except SpecError as err:
            if err.file is None and source is not None:
                raise SpecError(_bare_message(err), file=source, key=err.key) from None
            raise

    def replace(self, changes: Mapping[str, Any]) -> Self:
        """A copy of the spec with some keys set, validated as a spec file is.

        Args:
            changes: dotted key -> value, e.g. ``{"wire.r_row": 3.0, "array.size": 32}``
                (``array.size`` sets ``rows`` and ``cols``). Keys are applied in order.

        Raises:
            InputError: ``changes`` is not a mapping of strings.
            SpecError: an unknown key (named) or an invalid value (the dotted key named,
                and the spec's file when it has one).
        """
        if not isinstance(changes, Mapping):
            raise InputError(
                f"changes must be a mapping of dotted spec keys to values, got "
                f"{type(changes).__name__}"
            )
        data = self.to_dict()
        tables = self.sections()
        for key, value in changes.items():
            instance(key, str, "key", "a dotted spec key (str)")
            name, _, field_name = key.partition(".")
            if key == SIZE_KEY and "array" in data:
                data["array"]["rows"] = data["array"]["cols"] = value
            elif name not in tables or field_name not in tables[name].cls.params():
                raise SpecError(
                    f"unknown spec key (give a dotted key of {self._table_list()} or {SIZE_KEY})",
                    key=key,
                )
            else:
                data[name][field_name] = value
        fields = {f.name for f in dataclasses.fields(self)}
        extra: dict[str, Any] = {}
        source = getattr(self, "source", None) if "source" in fields else None
        if "cards" in fields and all(not k.startswith("access.") for k in changes):
            extra["cards"] = getattr(self, "cards", None)  # the same transistor: same cards
        return type(self).from_dict(data, source=source, **extra)

    def _table_list(self) -> str:
        return ", ".join(f"[{name}]" for name in self.sections())


def _table(info: SectionInfo, name: str, raw: object) -> Any:
    """One table built from its raw data (unknown and missing keys named)."""
    if not isinstance(raw, Mapping):
        raise SpecError(f"must be a table, got {type(raw).__name__}", key=name)
    params = info.cls.params()
    for key in raw:
        if key not in params:
            raise SpecError(f"unknown key; known keys: {', '.join(params)}", key=f"{name}.{key}")
    defaults = info.cls.defaults()
    for key in params:
        if key not in raw and key not in defaults:
            raise info.cls.error(key, "missing required key")
    return info.cls(**raw)  # types and values are checked by the table itself


def _bare_message(err: SpecError) -> str:
    text = str(err)
    if err.key is not None:
        marker = f"key '{err.key}': "
        if text.startswith(marker):
            return text[len(marker) :]
    return text
