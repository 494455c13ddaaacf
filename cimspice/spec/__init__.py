"""Specs: TOML files turned into frozen, validated dataclasses.

A spec describes one crossbar tile and, optionally, how a network uses it. Units are SI
everywhere: ohm, siemens, volt. The minimal spec is::

    [array]
    rows = 64
    cols = 64
    cell = "0T1R"
    [wire]
    r_row = 2.0
    r_col = 2.0

The package, in the order its modules build on each other:

- :mod:`~cimspice.spec.fields`: :func:`~cimspice.spec.fields.param` and
  :func:`~cimspice.spec.fields.section`, the one declaration of each key and table (default,
  unit, doc, value check, hash rule);
- :mod:`~cimspice.spec.base`: building a spec from TOML data, ``to_dict``, dotted-key
  ``replace``;
- :mod:`~cimspice.spec.charge`: ``[charge]``, the charge-domain (1C) tile's table;
- :mod:`~cimspice.spec.tile`: the tile's circuit tables and :class:`TileSpec` (with the
  content hash a surrogate is tied to);
- :mod:`~cimspice.spec.write`: ``[write]``, the dynamic memristor model and write pulses;
- :mod:`~cimspice.spec.network`: ``[mapping]``, ``[nonideal]`` and :class:`NetworkSpec`, the
  registry of network tables (with ``[write]``; never in the hash);
- :mod:`~cimspice.spec.crossbar`: :class:`CrossbarSpec`, both in one (what a spec file holds);
- :mod:`~cimspice.spec.load`: :func:`spec_from_dict`, :func:`load_spec`, :func:`load_preset`,
  :func:`as_spec`;
- :mod:`~cimspice.spec.presets`: named specs shipped with cimspice, with their sources.

Every invalid spec raises :class:`~cimspice.errors.SpecError` naming the file and the key.
"""

from cimspice.spec.charge import ChargeAdc, ChargeNoise, ChargeSpec, InputMode, SwitchKind
from cimspice.spec.crossbar import CrossbarSpec
from cimspice.spec.fields import describe
from cimspice.spec.load import as_spec, load_preset, load_spec, spec_from_dict
from cimspice.spec.network import (
    MAX_LEVELS,
    MAX_SLICE_BITS,
    DriftCompensation,
    MappingScheme,
    MappingSpec,
    NetworkSpec,
    NonidealSpec,
)
from cimspice.spec.presets import Preset, preset, preset_names
from cimspice.spec.tile import (
    BUILTIN_TRANSISTOR_MODELS,
    AccessSpec,
    ArraySpec,
    CellKind,
    DeviceIV,
    DeviceSpec,
    DriverSpec,
    OpAmpKind,
    ReadoutKind,
    ReadoutSpec,
    SelectorSpec,
    TileSpec,
    WireSpec,
)
from cimspice.spec.write import WriteSpec

__all__ = [
    "BUILTIN_TRANSISTOR_MODELS",
    "MAX_LEVELS",
    "MAX_SLICE_BITS",
    "AccessSpec",
    "ArraySpec",
    "CellKind",
    "ChargeAdc",
    "ChargeNoise",
    "ChargeSpec",
    "CrossbarSpec",
    "DeviceIV",
    "DeviceSpec",
    "DriftCompensation",
    "DriverSpec",
    "InputMode",
    "MappingScheme",
    "MappingSpec",
    "NetworkSpec",
    "NonidealSpec",
    "OpAmpKind",
    "Preset",
    "ReadoutKind",
    "ReadoutSpec",
    "SelectorSpec",
    "SwitchKind",
    "TileSpec",
    "WireSpec",
    "WriteSpec",
    "as_spec",
    "describe",
    "load_preset",
    "load_spec",
    "preset",
    "preset_names",
    "spec_from_dict",
]
