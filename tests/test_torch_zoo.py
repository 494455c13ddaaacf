"""The torch built-ins (mnist-resnet, digits-transformer): trained on first use, cached, and
evaluated by ``cimspice evaluate --model NAME`` as the numpy built-ins are.

Every test needs the torch extra (marked ``torch``: it fails, never skips, where
``CIMSPICE_REQUIRE_TORCH=1``, as in CI).
"""

from __future__ import annotations

import importlib.util
import json
import time

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.errors import ModelError
from cimspice.nn.zoo import TORCH_MODELS

pytestmark = pytest.mark.torch

if importlib.util.find_spec("torch") is not None:
    import torch

    from cimspice.spec import load_spec
    from cimspice.torch import calibrate_input_ranges, convert
    from cimspice.torch import zoo as torch_zoo
    from cimspice.torch.monte_carlo import accuracy

# Held-out accuracy each built-in must reach (the recipes were tuned against these, see
# cimspice.torch.zoo).
TARGETS = {"mnist-resnet": 0.94, "digits-transformer": 0.95}


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("torch-model-cache")


@pytest.fixture(scope="module")
def builtins(model_cache):
    """Both built-ins, trained once into a temporary cache, with their training time."""
    out = {}
    for name in TORCH_MODELS:
        start = time.perf_counter()
        out[name] = (
            *torch_zoo.builtin_torch_model(name, cache_dir=model_cache),
            time.perf_counter() - start,
        )
    return out


def held_out(dataset, shape):
    x = torch.as_tensor(dataset.x_test, dtype=torch.float32).reshape((-1, *shape))
    return x, torch.as_tensor(dataset.y_test)


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_torch_builtin_reaches_its_accuracy_target(builtins, name):
    module, dataset, shape, seconds = builtins[name]
    acc = accuracy(module, *held_out(dataset, shape))
    print(f"{name}: held-out accuracy {acc:.4f}, trained in {seconds:.1f} s")
    assert acc >= TARGETS[name]
    assert not module.training


def test_the_cache_is_reused_not_retrained(builtins, model_cache, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("builtin_torch_model retrained although the model is cached")

    monkeypatch.setattr(torch_zoo, "fit", no_training)
    for name in TORCH_MODELS:
        cached, dataset, shape = torch_zoo.builtin_torch_model(name, cache_dir=model_cache)
        first = builtins[name][0]
        x, _ = held_out(dataset, shape)
        with torch.no_grad():
            assert torch.equal(cached(x[:50]), first(x[:50]))
        files = list((model_cache / "models").glob(f"{name}-*.npz"))
        assert len(files) == 1
        with np.load(files[0], allow_pickle=False) as data:  # plain arrays, with a checksum
            assert "sha256" in data.files


def test_an_edited_cache_file_is_trained_again(builtins, model_cache, tmp_path, monkeypatch):
    name = "digits-transformer"
    (source,) = (model_cache / "models").glob(f"{name}-*.npz")
    (tmp_path / "models").mkdir()
    edited = tmp_path / "models" / source.name
    with np.load(source, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["head.bias"] = arrays["head.bias"] + 1.0  # the checksum no longer matches
    np.savez(edited, **arrays)
    calls = []
    monkeypatch.setattr(torch_zoo, "fit", lambda *a, **k: calls.append(k["epochs"]))
    torch_zoo.builtin_torch_model(name, cache_dir=tmp_path)
    assert calls == [torch_zoo.TORCH_RECIPES[name].epochs]


def test_an_unknown_torch_builtin_is_named():
    with pytest.raises(ModelError, match=r"'resnet'.*mnist-resnet, digits-transformer"):
        torch_zoo.builtin_torch_model("resnet")


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("digits-transformer", {"dense", "attention"}),
        ("mnist-resnet", {"conv2d", "dense"}),
    ],
)
def test_evaluate_a_torch_builtin_by_name(builtins, model_cache, tmp_path, capsys, name, kinds):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        "[array]\nrows = 64\ncols = 64\n[wire]\nr_row = 2.0\nr_col = 2.0\n"
        "[driver]\nv_read = 0.2\ndac_bits = 8\n[readout]\nadc_bits = 8\nadc_full_scale = 50e-6\n"
        "[device]\ng_min = 1e-6\ng_max = 25e-6\n[nonideal]\nseed = 1\nlevels = 64\n"
        "prog_noise_rel = 0.02\nread_noise = 0.01\n"
    )
    out = tmp_path / "out.json"
    args = [
        "evaluate",
        "--model",
        name,
        "--spec",
        str(spec),
        "--samples",
        "40",
        "--cache-dir",
        str(model_cache),
        "--json",
        str(out),
        "--no-progress",
    ]
    assert main(args) == 0, capsys.readouterr().err
    result = json.loads(out.read_text())
    assert {row["kind"] for row in result["layers"].values()} == kinds
    module, dataset, shape, _ = builtins[name]
    x, y = held_out(dataset, shape)
    x, y = x[:40], y[:40]
    with torch.no_grad():
        converted = convert(module, load_spec(spec))
        calibrate_input_ranges(
            converted,
            torch.as_tensor(dataset.x_train[:1000], dtype=torch.float32).reshape((-1, *shape)),
        )
        # the command and the in-Python route: the same tiles, draws and batches
        assert result["accuracy_hardware"] == accuracy(converted, x, y)
        assert result["accuracy_ideal"] == accuracy(module, x, y)
