"""Deeply nested JSON and TOML: a clear error naming the file, not a RecursionError (issue 11)."""

import json

import numpy as np
import pytest
from conftest import simulate_with_surrogate

from cimspice.errors import ModelError, SpecError, SurrogateError
from cimspice.nn.model import load_model
from cimspice.spec import load_spec
from cimspice.studies.sweeps import parse_sweep
from cimspice.surrogate.model import load_surrogate

DEPTH = 100_000  # far beyond Python's recursion limit


def nested_array(depth=DEPTH):
    return "[" * depth + "]" * depth


def test_nested_surrogate_json(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"format": "cimspice-surrogate/2", "spec": ' + nested_array() + "}")
    with pytest.raises(SurrogateError, match="nested too deeply"):
        load_surrogate(path)
    code, err = simulate_with_surrogate(tmp_path, "[array]\nrows = 2\ncols = 2\n", path)
    assert code == 1 and err.count("\n") == 1 and "nested too deeply" in err


@pytest.mark.parametrize(
    "text",
    [
        "[array]\nrows = 2\ncols = 2\n[wire]\nr_row = " + nested_array() + "\n",
        "a = " + "{b = " * 5000 + "1" + "}" * 5000 + "\n",
    ],
)
def test_nested_spec_toml(tmp_path, text):
    path = tmp_path / "spec.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match="nested too deeply") as info:
        load_spec(path)
    assert str(path) in str(info.value)


def test_nested_sweep_value_is_a_bad_string():
    key, values = parse_sweep("wire.r_row=" + nested_array(5000))
    assert key == "wire.r_row" and isinstance(values[0], str)  # refused by the spec's check


def test_nested_model_architecture(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(
        path,
        cimspice_model=np.array(1),
        name=np.array("m"),
        input_shape=np.array([4]),
        architecture=np.array(json.dumps([]).replace("[]", nested_array())),
    )
    with pytest.raises(ModelError, match="nested too deeply"):
        load_model(path)
