"""Specs from plain data, from files and from presets.

Every invalid spec raises :class:`~cimspice.errors.SpecError` naming the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cimspice.arguments import path_argument
from cimspice.errors import InputError, SpecError
from cimspice.spec.crossbar import CrossbarSpec
from cimspice.spec.presets import PRESET_PREFIX, PRESET_TABLE, preset
from cimspice.spec.tile import TileSpec

__all__ = ["as_spec", "load_preset", "load_spec", "spec_from_dict"]


def spec_from_dict(data: Mapping[str, Any], *, source: str | Path | None = None) -> CrossbarSpec:
    """Build a validated :class:`CrossbarSpec` from TOML-shaped data.

    Raises:
        SpecError: on an unknown section or key, a missing required key, a wrong type or an
            invalid value; the message names ``source`` and the dotted key.

    """
    return CrossbarSpec.from_dict(data, source=source)


def _read_toml(path: Path) -> dict[str, Any]:
    """The TOML data of the spec file ``path``."""
    if path.is_dir():
        raise SpecError("is a directory, not a spec file", file=path)
    if path.exists() and not path.is_file():  # a FIFO or a device would block or never end
        raise SpecError("is not a regular file, not a spec file", file=path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError("spec file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"cannot read spec file: {err}", file=path) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"invalid TOML: {err}", file=path) from None
    except RecursionError:
        raise SpecError(
            "invalid spec: its arrays or tables are nested too deeply", file=path
        ) from None


def load_spec(path: str | os.PathLike[str]) -> CrossbarSpec:
    """Read and validate a spec file (TOML), or a preset named ``preset:NAME``.

    Raises:
        SpecError: the file is missing, unreadable, not valid TOML, or holds an invalid spec;
            an unknown preset (the message lists the presets).
        InputError: ``path`` is not a path.

    """
    path = path_argument(path, "path")
    text = os.fspath(path)
    if text.startswith(PRESET_PREFIX):
        return load_preset(text[len(PRESET_PREFIX) :])
    # A model file is checked now, before any work, and its cards travel with the spec.
    return spec_from_dict(_read_toml(path), source=path).with_model_cards()


def load_preset(name: str) -> CrossbarSpec:
    """The preset ``name`` (see ``cimspice presets``) as a spec; its ``source`` is the preset's
    file inside the package.

    Raises:
        SpecError: no preset has that name; the message lists the presets.
    """
    found = preset(name)
    data = _read_toml(found.path)
    data.pop(PRESET_TABLE)
    return spec_from_dict(data, source=found.path)


def as_spec(
    spec: CrossbarSpec | TileSpec | str | os.PathLike[str], name: str = "spec"
) -> CrossbarSpec:
    """``spec`` itself, the spec of a tile (its network tables at their defaults), or the spec
    file or preset it names loaded (see :func:`load_spec`).

    The public functions that take a spec take any of these, as :func:`cimspice.simulate`
    does.

    Raises:
        InputError: ``spec`` is neither a spec nor a path (names ``name``).
        SpecError: the file is missing or holds an invalid spec.
    """
    if isinstance(spec, CrossbarSpec):
        return spec
    if isinstance(spec, TileSpec):
        return CrossbarSpec.of(spec)
    if isinstance(spec, str | os.PathLike):
        return load_spec(spec)
    raise InputError(
        f"{name} must be a CrossbarSpec (see load_spec), a TileSpec or the path of a spec "
        f"file, got {type(spec).__name__}"
    )
