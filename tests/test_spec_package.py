"""The spec package: tile and network apart, keys declared once (doc, unit, hash rule),
dotted-key replace, presets."""

import dataclasses
import enum
import inspect
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

import cimspice.spec as spec_pkg
from cimspice.cli import main
from cimspice.demo import demo_spec
from cimspice.errors import InputError, SpecError
from cimspice.simulation import simulate
from cimspice.spec import (
    CellKind,
    CrossbarSpec,
    MappingScheme,
    NetworkSpec,
    OpAmpKind,
    ReadoutKind,
    TileSpec,
    WireSpec,
    as_spec,
    describe,
    load_preset,
    load_spec,
    preset,
    preset_names,
    spec_from_dict,
)
from cimspice.spec.fields import never
from cimspice.studies.sweeps import with_value

REPO = Path(__file__).resolve().parent.parent

BASES = {  # one spec per hash-rule branch: cells, readouts, op-amps, converters, curves
    "passive": {"array": {"rows": 4, "cols": 3}},
    "dac-adc": {
        "array": {"rows": 4, "cols": 3},
        "driver": {"dac_bits": 6, "dac_signed": True},
        "readout": {"adc_bits": 6, "adc_full_scale": 1e-4},
    },
    "sinh": {"array": {"rows": 4, "cols": 3}, "device": {"iv": "sinh"}},
    "tia": {"array": {"rows": 4, "cols": 3}, "readout": {"kind": "tia"}},
    "tia-cmos": {"array": {"rows": 4, "cols": 3}, "readout": {"kind": "tia", "opamp": "cmos"}},
    "integrator": {"array": {"rows": 4, "cols": 3}, "readout": {"kind": "integrator"}},
    "1t1r": {"array": {"rows": 4, "cols": 3, "cell": "1T1R"}},
    "1t1r-file": {
        "array": {"rows": 4, "cols": 3, "cell": "1T1R"},
        "access": {"model": "nch", "model_file": "m.lib", "model_section": "tt"},
    },
    "1s1r": {"array": {"rows": 4, "cols": 3, "cell": "1S1R"}},
    "1c": {"array": {"rows": 4, "cols": 3, "cell": "1C"}, "driver": {"dac_bits": 4}},
}

# Keys a charge-domain (1C) tile refuses away from their defaults (it does not model them;
# tests/test_charge_spec.py checks each refusal names its key): the 1c base changes the rest.
_REFUSED_BY_1C = {"wire", "readout.kind", "readout.r_in", "readout.adc_bits", "driver.dac_signed"}


def _other(value, key):
    """A different valid value of the same type for ``key``."""
    special = {
        "levels": 64,
        "drift_time": 2.0,
        "model": "pch" if value == "nch" else "nch",
        "model_params": {"r_on": 1e4},
        "set_polarity": -1,
        "bias": "v/3",
    }
    if key in special and special[key] != value:
        return special[key]
    if isinstance(value, enum.Enum):
        return next(m for m in type(value) if m != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1 if key != "adc_bits" or value else 2
    if isinstance(value, float):
        return value * 1.5 if value else 1e-15
    return {
        "model_file": "m.lib" if value != "m.lib" else "n.lib",
        "model_section": "ff",
        "programming_file": "p.json",
    }[key]


# Keys a change needs beside it to stay a valid spec (ADC bits need a full scale, ...).
_COMPANIONS = {
    "readout.adc_bits": {"readout.adc_full_scale": 1e-4},
    "access.model_section": {"access.model_file": "m.lib"},
    "access.model": {"access.model_file": "m.lib"},
    "mapping.slice_bits": {"mapping.weight_bits": 4},
    "charge.adc_bits": {"charge.adc_full_scale": 0.1},
    "charge.adc": {"charge.adc_bits": 6, "charge.adc_full_scale": 0.1},  # a SAR has bits
    "nonideal.programming_file": {"nonideal.model": "spice-verify"},
    "write.osdi": {"write.model": "vteam"},  # the model with a Verilog-A twin
}


def _changes():
    for base_name, base in BASES.items():
        spec = spec_from_dict(base)
        for table, info in CrossbarSpec.sections().items():
            for key in info.cls.params():
                dotted = f"{table}.{key}"
                if spec.is_charge and {table, dotted} & _REFUSED_BY_1C:
                    continue
                changes = {dotted: _other(getattr(getattr(spec, table), key), key)}
                for companion, value in _COMPANIONS.get(dotted, {}).items():
                    other_table, other_key = companion.split(".")
                    if getattr(getattr(spec, other_table), other_key) != value:
                        changes[companion] = value  # only when the base lacks it
                yield pytest.param(spec, table, key, changes, id=f"{base_name}-{dotted}")


@pytest.mark.parametrize(("spec", "table", "key", "changes"), list(_changes()))
def test_hash_follows_the_declared_rules(spec, table, key, changes):
    # A key the rules keep is hashed by value; a key they leave out, changed alone, leaves the
    # hash as it was (unless the change itself brings it into the hash, as kind = "tia" does).
    changed = spec.replace(changes)
    before = spec.hash_data().get(table, {})
    after = changed.hash_data().get(table, {})
    if key in before or key in after:
        assert changed.content_hash() != spec.content_hash()
    elif len(changes) == 1:
        assert changed.content_hash() == spec.content_hash()
    if CrossbarSpec.sections()[table].hash is never:  # [mapping], [nonideal]
        assert table not in spec.hash_data() and table not in changed.hash_data()


def test_hash_rules_in_words():
    docs = {d.key: d for d in describe(CrossbarSpec.sections())}
    assert docs["wire.c_row"].hash == "when not at its default"
    assert docs["device.iv"].hash == "when the I-V curve is not linear"
    assert docs["readout.gain"].hash == "when the readout's op-amp is behavioural"
    assert docs["readout.r_in"].hash == "always"
    assert docs["mapping.scheme"].hash == "never" and docs["nonideal.seed"].hash == "never"
    assert TileSpec.sections()["access"].hash.text == "when the cell is 1T1R"
    assert set(docs) == {
        f"{t}.{k}" for t, info in CrossbarSpec.sections().items() for k in info.cls.params()
    }


def test_every_key_is_documented_with_its_unit():
    for doc in describe(CrossbarSpec.sections()):
        assert doc.doc.endswith((".", ")")) and len(doc.doc) > 15, doc.key
        if doc.key.split(".")[1].startswith(("r_", "g_", "c_", "v_")):
            assert doc.unit, doc.key  # resistances, conductances, capacitances, voltages
    # The declarations are the sections' documentation too.
    assert "r_row (ohm): Resistance of one cell-pitch segment" in inspect.getdoc(WireSpec)


def test_messages_carry_the_keys_unit_and_meaning():
    with pytest.raises(SpecError, match=r"key 'wire\.r_row': must be >= 0, got -1\.0 \(ohm: "):
        spec_from_dict({"array": {"rows": 2, "cols": 2}, "wire": {"r_row": -1}})
    with pytest.raises(SpecError, match=r"readout\.opamp.*unknown op-amp 'x'.*'cmos'"):
        spec_from_dict({"array": {"rows": 2, "cols": 2}, "readout": {"opamp": "x"}})
    with pytest.raises(SpecError, match=r"array\.cols.*missing required key \(number of bit"):
        spec_from_dict({"array": {"rows": 2}})


def test_tile_and_network_apart():
    spec = load_spec(REPO / "examples" / "network-128.toml")
    tile, network = spec.tile, spec.network
    assert type(tile) is TileSpec and type(network) is NetworkSpec
    assert not hasattr(tile, "nonideal") and not hasattr(network, "array")
    assert tile.content_hash() == spec.content_hash()
    assert tile.source == spec.source and tile.tile is tile and network.network is network
    assert network.nonideal.levels == 64 and tile.rows == 128
    assert CrossbarSpec.of(tile, network) == spec
    bare = as_spec(tile)  # a tile is taken wherever a spec is, network tables at defaults
    assert bare.network == NetworkSpec() and bare.tile == tile
    assert list(spec.to_dict()) == [*TileSpec.sections(), *NetworkSpec.sections()]
    with pytest.raises(InputError, match="tile"):
        CrossbarSpec.of(network)  # type: ignore[arg-type]


def test_an_engine_takes_the_tile_alone():
    spec = spec_from_dict({"array": {"rows": 6, "cols": 5}, "wire": {"r_row": 1.0, "r_col": 1.0}})
    g = np.random.default_rng(0).uniform(1e-6, 1e-4, (6, 5))
    v = np.random.default_rng(1).uniform(0, 0.2, (3, 6))
    whole = simulate(spec, g, v, engine="nodal").currents
    np.testing.assert_array_equal(simulate(spec.tile, g, v, engine="nodal").currents, whole)


def test_replace_sets_dotted_keys_and_validates_them():
    spec = spec_from_dict({"array": {"rows": 64, "cols": 64}})
    changed = spec.replace({"wire.r_row": 3, "array.size": 32, "mapping.scheme": "reference"})
    assert (changed.rows, changed.cols, changed.wire.r_row) == (32, 32, 3.0)
    assert (
        isinstance(changed.wire.r_row, float) and changed.mapping.scheme == MappingScheme.REFERENCE
    )
    assert spec.rows == 64 and spec.wire.r_row == 0.0  # a copy
    assert changed.replace({"readout.kind": "tia"}).readout.kind == ReadoutKind.TIA
    assert with_value(spec, "array.size", 16) == spec.replace({"array.size": 16})
    with pytest.raises(SpecError, match=r"key 'wire\.r_diag': unknown spec key"):
        spec.replace({"wire.r_diag": 1.0})
    with pytest.raises(SpecError, match=r"key 'nonideal\.levels': must be 0 \(continuous\)"):
        spec.replace({"nonideal.levels": 1})
    with pytest.raises(SpecError, match=r"readout\.opamp"):
        spec.replace({"readout.opamp": "bjt"})
    with pytest.raises(SpecError, match=r"key 'mapping\.scheme': unknown spec key"):
        spec.tile.replace({"mapping.scheme": "reference"})  # a tile has no network tables
    with pytest.raises(InputError, match="changes must be a mapping"):
        spec.replace("wire.r_row=3")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="key must be"):
        spec.replace({5: 1.0})  # type: ignore[dict-item]


def test_replace_keeps_the_file_and_the_cards(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('[array]\nrows = 4\ncols = 4\ncell = "1T1R"\n')
    spec = load_spec(path)
    sentinel = spec.model_cards()
    carried = dataclasses.replace(spec, cards=sentinel)
    assert carried.replace({"wire.r_row": 1.0}).cards is sentinel
    assert carried.replace({"access.w": 1e-6}).cards is None  # another transistor: read again
    with pytest.raises(SpecError) as info:
        spec.replace({"wire.r_col": -1.0})
    assert info.value.file == str(path) and info.value.key == "wire.r_col"


# ----- presets -----


def test_presets_cite_their_sources_and_load():
    assert {"demo", "network-128", "1t1r-cmos-tia-adc"} <= set(preset_names())
    for name in preset_names():
        found = preset(name)
        assert found.summary and found.sources and all(len(s) > 20 for s in found.sources)
        spec = load_preset(name)
        assert spec == load_spec(f"preset:{name}") and spec.source == found.path


def test_preset_tiles():
    assert load_preset("network-128") == load_spec(REPO / "examples" / "network-128.toml")
    assert load_preset("demo") == demo_spec() and demo_spec(16).rows == 16
    tile = load_preset("1t1r-cmos-tia-adc")
    assert (tile.rows, tile.cols, tile.array.cell) == (128, 128, CellKind.ONE_T_ONE_R)
    assert tile.readout.kind == ReadoutKind.TIA and tile.readout.opamp == OpAmpKind.CMOS
    assert tile.readout.adc_bits == 8 and tile.driver.dac_bits == 8


def test_unknown_preset_lists_the_names():
    names = ", ".join(preset_names())
    with pytest.raises(SpecError, match=re.escape(f"unknown preset 'nope'; presets: {names}")):
        load_preset("nope")
    with pytest.raises(SpecError, match="unknown preset"):
        as_spec("preset:nope")


def test_presets_on_the_command_line(tmp_path, capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == preset_names()
    assert all(len(line.split(maxsplit=1)[1]) > 10 for line in lines)
    assert main(["presets", "demo"]) == 0
    assert tomllib.loads(capsys.readouterr().out)["array"]["rows"] == 64
    deck = tmp_path / "deck.cir"
    assert main(["netlist", "preset:demo", "-o", str(deck)]) == 0
    assert "64x64 0T1R crossbar" in deck.read_text()
    assert main(["netlist", "preset:nope", "-o", str(deck)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"cimspice: error: unknown preset 'nope'; presets: {', '.join(preset_names())}"]


# ----- README -----


def _readme_keys():
    text = (REPO / "README.md").read_text()
    keys = set()
    for block in re.findall(r"```toml\n(.*?)```", text, flags=re.S):
        for table, values in tomllib.loads(block).items():
            keys |= {f"{table}.{key}" for key in values}
    return keys


def test_readme_lists_every_key():
    declared = {d.key for d in describe(CrossbarSpec.sections())}
    assert declared <= _readme_keys(), sorted(declared - _readme_keys())


def test_spec_package_exports_what_spec_py_did():
    for name in (
        "AccessSpec ArraySpec CellKind CrossbarSpec DeviceIV DeviceSpec DriverSpec MappingScheme "
        "MappingSpec NonidealSpec OpAmpKind ReadoutKind ReadoutSpec SelectorSpec WireSpec "
        "as_spec load_spec spec_from_dict"
    ).split():
        assert name in spec_pkg.__all__ and getattr(spec_pkg, name) is not None
    assert spec_pkg.BUILTIN_TRANSISTOR_MODELS["nmos65"]["polarity"] == "n"
    assert not hasattr(spec_pkg, "BUILTIN_MODELS")  # networks' BUILTIN_MODELS is nn.zoo's
