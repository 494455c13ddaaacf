from pathlib import Path

import pytest

from cimspice.errors import SpecError
from cimspice.spec import CellKind, load_spec, spec_from_dict

VALID = """
[array]
rows = 64
cols = 32
cell = "0T1R"
[wire]
r_row = 2.0
r_col = 2.5
[driver]
r_source = 10
[readout]
r_in = 5.0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def test_valid_spec_round_trip(tmp_path):
    spec = load_spec(write(tmp_path, VALID))
    assert (spec.rows, spec.cols, spec.array.cell) == (64, 32, CellKind.PASSIVE)
    assert spec.wire.r_row == 2.0 and spec.wire.r_col == 2.5
    assert spec.driver.r_source == 10.0 and isinstance(spec.driver.r_source, float)
    assert spec.readout.r_in == 5.0
    assert spec_from_dict(spec.to_dict()) == spec


def test_defaults_and_hash_ignores_source(tmp_path):
    spec = load_spec(write(tmp_path, "[array]\nrows = 2\ncols = 3\n"))
    assert spec.wire.r_row == 0.0 and spec.driver.r_source == 0.0 and spec.readout.r_in == 0.0
    same = spec_from_dict({"array": {"rows": 2, "cols": 3}})
    assert spec == same and spec.content_hash() == same.content_hash()
    other = spec_from_dict({"array": {"rows": 2, "cols": 3}, "wire": {"r_row": 1e-9}})
    assert other.content_hash() != spec.content_hash()


def test_spec_is_frozen(tmp_path):
    spec = load_spec(write(tmp_path, VALID))
    with pytest.raises(AttributeError):
        spec.array.rows = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("[array]\nrows = 0\ncols = 3\n", "array.rows", ">= 1"),
        ("[array]\nrows = -4\ncols = 3\n", "array.rows", ">= 1"),
        ("[array]\nrows = 4\ncols = 0\n", "array.cols", ">= 1"),
        ("[array]\nrows = 4.0\ncols = 3\n", "array.rows", "integer"),
        ("[array]\nrows = true\ncols = 3\n", "array.rows", "integer"),
        ("[array]\nrows = 4\n", "array.cols", "missing"),
        ('[array]\nrows = 4\ncols = 3\ncell = "2T2R"\n', "array.cell", "unknown cell"),
        ("[array]\nrows = 4\ncols = 3\ncell = 5\n", "array.cell", "string"),
        ('[array]\nrows = 4\ncols = 3\ncell = "2T2R"\n', "array.cell", "unknown cell"),
        ("[array]\nrows = 4\ncols = 3\n[selector]\ni_s = -1\n", "selector.i_s", "> 0"),
        ("[array]\nrows = 4\ncols = 3\n[access]\nw = 1\n", "access.w", "over a millimetre"),
        ("[array]\nrows = 4\ncols = 3\n[access]\nl = 0\n", "access.l", "> 0 metre"),
        ('[array]\nrows = 4\ncols = 3\n[access]\nmodel = "x9"\n', "access.model", "unknown model"),
        ("[array]\nrows = 4\ncols = 3\n[access]\nv_gate = nan\n", "access.v_gate", "finite"),
        ("[array]\nrows = 4\ncols = 3\n[access]\nr_select = -1\n", "access.r_select", ">= 0"),
        ("[array]\nrows = 4\ncols = 3\nbogus = 1\n", "array.bogus", "unknown key"),
        ("[array]\nrows = 4\ncols = 3\n[wire]\nr_row = -2.0\n", "wire.r_row", ">= 0"),
        ('[array]\nrows = 4\ncols = 3\n[wire]\nr_col = "2"\n', "wire.r_col", "number"),
        ("[array]\nrows = 4\ncols = 3\n[wire]\nr_col = nan\n", "wire.r_col", "finite"),
        ("[array]\nrows = 4\ncols = 3\n[wire]\nr_col = inf\n", "wire.r_col", "finite"),
        ("[array]\nrows = 4\ncols = 3\n[driver]\nr_source = -1\n", "driver.r_source", ">= 0"),
        ("[array]\nrows = 4\ncols = 3\n[driver]\nv_read = 0\n", "driver.v_read", "> 0"),
        ("[array]\nrows = 4\ncols = 3\n[readout]\nr_in = -0.5\n", "readout.r_in", ">= 0"),
        (
            '[array]\nrows = 4\ncols = 3\n[readout]\nkind = "adc"\n',
            "readout.kind",
            "unknown readout",
        ),
        ("[array]\nrows = 4\ncols = 3\n[readout]\nr_f = 0\n", "readout.r_f", "> 0"),
        ("[array]\nrows = 4\ncols = 3\n[readout]\nbogus = 1\n", "readout.bogus", "unknown key"),
        (
            "[array]\nrows = 4\ncols = 3\n[device]\ng_min = 2e-6\ng_max = 1e-6\n",
            "device.g_max",
            "> device.g_min",
        ),
        ("[array]\nrows = 4\ncols = 3\n[wires]\nr_row = 1\n", "wires", "unknown section"),
        ('[array]\nrows = 4\ncols = 3\n[device]\niv = "cubic"\n', "device.iv", "unknown I-V"),
        ("[array]\nrows = 4\ncols = 3\n[device]\nv0 = 0\n", "device.v0", "> 0"),
        ("[array]\nrows = 4\ncols = 3\nwire = 3\n", "array.wire", "unknown key"),
        ("wire = 3\n[array]\nrows = 4\ncols = 3\n", "wire", "must be a table"),
        ("[wire]\nr_row = 1\n", "array", "missing required section"),
    ],
)
def test_invalid_spec_names_file_and_key(tmp_path, text, key, fragment):
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    err = info.value
    assert err.key == key
    assert err.file == str(path)
    message = str(err)
    assert str(path) in message and f"'{key}'" in message and fragment in message


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[array\nrows = 4", "invalid TOML"),
        (b"\xff\xfe[array]", "cannot read"),
    ],
)
def test_unreadable_spec(tmp_path, content, fragment):
    path = tmp_path / "bad.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(SpecError, match=fragment) as info:
        load_spec(path)
    assert info.value.file == str(path)


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="not found") as info:
        load_spec(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)


def test_spec_error_is_value_error():
    with pytest.raises(ValueError):
        spec_from_dict({"array": {"rows": 0, "cols": 1}})
