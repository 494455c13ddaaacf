"""Named specs shipped with cimspice, each citing where its numbers come from.

A preset is a spec file in this folder (``NAME.toml``, inside the wheel) with one extra
table, ``[preset]``: ``summary`` (one line) and ``sources`` (where the numbers come from:
papers, the model cards' and templates' headers, measurements in BENCHMARKS.md). Comments
beside the keys give the reasoning of each number. Load one with
:func:`cimspice.spec.load_preset` or anywhere a spec path is taken, as ``preset:NAME``
(``cimspice simulate preset:network-128 ...``); list them with ``cimspice presets``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from cimspice.errors import SpecError

__all__ = ["PRESET_PREFIX", "PRESET_TABLE", "Preset", "preset", "preset_names"]

PRESET_PREFIX = "preset:"
"""A spec path that starts with this names a preset (``preset:network-128``)."""

PRESET_TABLE = "preset"
"""The table of a preset file that describes it (not part of the spec)."""

_FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Preset:
    """A named spec.

    Attributes:
        name: its name (``network-128``).
        path: its spec file (inside the installed package).
        summary: what it is, in one line.
        sources: where its numbers come from.
    """

    name: str
    path: Path
    summary: str
    sources: tuple[str, ...]


def preset_names() -> list[str]:
    """The names of the shipped presets, sorted."""
    return sorted(p.stem for p in _FOLDER.glob("*.toml"))


def preset(name: str) -> Preset:
    """The preset ``name`` (its file and description).

    Raises:
        SpecError: no preset has that name (the message lists the names), or its file has no
            valid ``[preset]`` table (a broken installation).
    """
    names = preset_names()
    if not isinstance(name, str) or name not in names:
        raise SpecError(f"unknown preset {name!r}; presets: {', '.join(names)}")
    path = _FOLDER / f"{name}.toml"
    meta = tomllib.loads(path.read_text(encoding="utf-8")).get(PRESET_TABLE)
    if not (
        isinstance(meta, dict)
        and set(meta) == {"summary", "sources"}
        and isinstance(meta["summary"], str)
        and isinstance(meta["sources"], list)
        and meta["sources"]
        and all(isinstance(s, str) for s in meta["sources"])
    ):
        raise SpecError(
            "a preset's [preset] table must hold summary (a string) and sources (a non-empty "
            "list of strings)",
            file=path,
            key=PRESET_TABLE,
        )
    return Preset(name, path, meta["summary"], tuple(meta["sources"]))
