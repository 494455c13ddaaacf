"""Files cimspice writes and reads back as trusted detect edits (issue 11: silent wrong answers).

Surrogate files carry a SHA-256 of their canonical JSON; SPICE cache entries and model files
one of their arrays. A hand-edited parameter used to be used silently.
"""

import json
import warnings

import numpy as np
import pytest
from conftest import simulate_with_surrogate

from cimspice.checksums import arrays_checksum, json_checksum
from cimspice.errors import IntegrityWarning, ModelError, SurrogateError
from cimspice.nn.layers import Dense, ReLU
from cimspice.nn.model import Model, load_model, save_model
from cimspice.spec import spec_from_dict
from cimspice.surrogate.model import FORMAT, TileParams, TileSurrogate, load_surrogate
from cimspice.sweep import SweepCache

RANGES = {"g_min": 1e-6, "g_max": 1e-4, "v_min": 0.0, "v_max": 0.2}


@pytest.fixture
def surrogate_file(tmp_path):
    spec = spec_from_dict({"array": {"rows": 4, "cols": 3}, "wire": {"r_row": 1.0, "r_col": 1.5}})
    path = tmp_path / "s.json"
    TileSurrogate(spec, TileParams.from_spec(spec), RANGES, {"fit": {"cost": 1e-9}}).save(path)
    return path


def edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=1))


def test_a_surrogate_file_round_trips_with_its_checksum(surrogate_file):
    data = json.loads(surrogate_file.read_text())
    assert data["format"] == FORMAT == "cimspice-surrogate/2"
    assert data["sha256"] == json_checksum({k: v for k, v in data.items() if k != "sha256"})
    loaded = load_surrogate(surrogate_file)  # no warning (warnings are errors here)
    assert loaded.params.r_col == 1.5 and "sha256" not in loaded.metadata
    # layout does not matter: the checksum is of the values
    surrogate_file.write_text(json.dumps(data, indent=None, sort_keys=True))
    load_surrogate(surrogate_file)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["params"].update(r_row=0.5),  # a hand-tuned wire resistance
        lambda d: d["ranges"].update(v_max=0.4),  # a widened range
        lambda d: d["fit"].update(cost=0.0),  # metadata too
        lambda d: d.update(note="hello"),
    ],
)
def test_an_edited_surrogate_file_is_refused(surrogate_file, change):
    edit(surrogate_file, change)
    with pytest.raises(SurrogateError, match="edited after cimspice wrote it"):
        load_surrogate(surrogate_file)


def test_a_checksum_removed_from_a_current_file_is_refused(surrogate_file):
    edit(surrogate_file, lambda d: d.pop("sha256"))
    with pytest.raises(SurrogateError, match="has no checksum"):
        load_surrogate(surrogate_file)


def test_an_old_format_file_loads_with_a_warning(surrogate_file):
    def to_v1(data):
        data.pop("sha256")
        data["format"] = "cimspice-surrogate/1"

    edit(surrogate_file, to_v1)
    with pytest.warns(IntegrityWarning, match="no checksum .*calibrate again"):
        loaded = load_surrogate(surrogate_file)
    assert loaded.params.r_row == 1.0


def test_the_cli_refuses_an_edited_surrogate_in_one_line(surrogate_file, tmp_path):
    edit(surrogate_file, lambda d: d["params"].update(r_last=0.0))
    spec = "[array]\nrows = 4\ncols = 3\n[wire]\nr_row = 1.0\nr_col = 1.5\n"
    code, err = simulate_with_surrogate(tmp_path, spec, surrogate_file)
    assert code == 1 and err.count("\n") == 1 and "edited after cimspice wrote it" in err


# ----- SPICE cache entries -----


def stored(tmp_path):
    cache = SweepCache(tmp_path / "cache")
    key = "ab" * 32
    currents = np.arange(6.0).reshape(2, 3) * 1e-6
    cache.store(key, currents, np.array([1e-6, 2e-6]))
    return cache, key, currents


def rewrite(cache, key, **changes):
    """Rewrite an entry as an outside editor would: same key, other arrays, checksum kept."""
    with np.load(cache.path(key)) as data:
        arrays = {name: data[name] for name in data.files}
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(cache.path(key), **arrays)


def test_a_cache_entry_round_trips(tmp_path):
    cache, key, currents = stored(tmp_path)
    hit = cache.load(key, (2, 3))
    assert hit is not None and np.array_equal(hit[0], currents) and hit[2] is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"currents": np.zeros((2, 3))}, "checksum differs"),
        ({"sha256": None}, "no checksum"),
    ],
)
def test_an_edited_or_old_cache_entry_is_run_again(tmp_path, changes, reason):
    cache, key, _ = stored(tmp_path)
    rewrite(cache, key, **changes)
    with pytest.warns(RuntimeWarning, match=reason):
        assert cache.load(key, (2, 3)) is None
    assert not cache.path(key).exists() and cache.path(key).with_suffix(".bad").exists()


def test_a_cache_entry_of_the_wrong_shape_is_run_again(tmp_path):
    cache, key, _ = stored(tmp_path)
    with pytest.warns(RuntimeWarning, match="do not fit the run's 5 vectors and 3 columns"):
        assert cache.load(key, (5, 3)) is None


def test_the_array_checksum_sees_names_dtypes_and_shapes():
    a = {"x": np.arange(4.0)}
    assert arrays_checksum(a) != arrays_checksum({"y": np.arange(4.0)})
    assert arrays_checksum(a) != arrays_checksum({"x": np.arange(4.0).reshape(2, 2)})
    assert arrays_checksum(a) != arrays_checksum({"x": np.arange(4.0).astype(np.float32)})


# ----- model files -----


def test_an_edited_model_file_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    model = Model("m", [Dense(rng.normal(size=(4, 3)), np.zeros(3)), ReLU()], (4,))
    path = tmp_path / "m.npz"
    save_model(model, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(load_model(path).matrix(0), model.matrix(0))
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["layer0_weight"] = arrays["layer0_weight"] * 2
    np.savez(path, **arrays)
    with pytest.raises(ModelError, match="edited after cimspice wrote it"):
        load_model(path)
