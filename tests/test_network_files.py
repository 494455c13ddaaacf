"""Model files: round trip, users' plain weight files, the bad-input errors, and import of
PyTorch state_dicts (torch is optional: the test that needs torch itself is marked `torch`)."""

import json
import sys

import numpy as np
import pytest
from test_network_layers import small_cnn

from cimspice.errors import CimspiceError, ModelError
from cimspice.nn.layers import Dense, ReLU
from cimspice.nn.model import Model, load_model, save_model
from cimspice.nn.state_dict import load_torch_state_dict


def test_round_trip_gives_identical_predictions(tmp_path):
    model = small_cnn()
    path = tmp_path / "cnn.npz"
    save_model(model, path)
    loaded = load_model(path)
    x = np.random.default_rng(0).normal(size=(6, 7, 7, 2))
    assert loaded.name == model.name
    assert loaded.input_shape == model.input_shape
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert np.array_equal(loaded.forward(x), model.forward(x))
    assert [p.name for p in tmp_path.iterdir()] == ["cnn.npz"]  # no temporary file left


def test_a_plain_user_file_is_a_relu_mlp(tmp_path):
    rng = np.random.default_rng(1)
    w0, b0, w1, b1 = rng.normal(size=(6, 4)), rng.normal(size=4), rng.normal(size=(4, 3)), [1, 2, 3]
    np.savez(tmp_path / "mine.npz", W0=w0, b0=b0, W1=w1, b1=b1)
    model = load_model(tmp_path / "mine.npz")
    x = rng.normal(size=(5, 6))
    assert model.name == "mine"
    assert model.input_shape == (6,)
    assert np.array_equal(model.forward(x), np.maximum(x @ w0 + b0, 0) @ w1 + np.array(b1))


def test_missing_file(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(ModelError, match=r"nope\.npz: model file not found"):
        load_model(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "cut.npz"
    save_model(small_cnn(), path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelError, match=r"cut\.npz: not a readable model file"):
        load_model(path)


def test_not_an_archive(tmp_path):
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ModelError, match=r"text\.npz"):
        load_model(text)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(
        ModelError, match=r"^\S*single\.npy: a single \.npy array, not a model file"
    ):
        load_model(single)


def described(arrays, architecture, input_shape):
    return {
        "cimspice_model": np.array(1),
        "name": np.array("m"),
        "input_shape": np.array(input_shape),
        "architecture": np.array(json.dumps(architecture)),
        **arrays,
    }


@pytest.mark.parametrize(
    ("arrays", "architecture", "message"),
    [
        ({}, [{"kind": "dense"}], r"layer 0 \(dense\): array 'layer0_weight' is missing"),
        ({}, [{"kind": "softmax"}], r"layer 0: unknown layer kind 'softmax'"),
        ({}, {"kind": "relu"}, "architecture must be a JSON list"),
        (
            {"layer0_weight": np.ones((4, 3)), "layer0_bias": np.zeros(2)},
            [{"kind": "dense"}],
            r"layer 0 \(dense\): dense bias has 2 entries",
        ),
    ],
)
def test_malformed_described_file(tmp_path, arrays, architecture, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **described(arrays, architecture, [4]))
    with pytest.raises(ModelError, match=r"bad\.npz: " + message):
        load_model(path)


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        ({"cimspice_model": np.array("one")}, "malformed header"),
        ({"cimspice_model": np.array(99)}, "version 99 is newer"),
        ({"architecture": np.array("[not json")}, "malformed header"),
        ({"input_shape": np.array([0])}, "invalid input shape"),
    ],
)
def test_malformed_header(tmp_path, replace, message):
    path = tmp_path / "head.npz"
    arrays = {"layer0_weight": np.ones((4, 3)), "layer0_bias": np.zeros(3)}
    np.savez(path, **{**described(arrays, [{"kind": "dense"}], [4]), **replace})
    with pytest.raises(ModelError, match=r"head\.npz: .*" + message):
        load_model(path)


def test_shapes_that_do_not_chain_name_file_and_layer(tmp_path):
    rng = np.random.default_rng(2)
    plain = tmp_path / "plain.npz"
    np.savez(plain, W0=rng.normal(size=(8, 5)), b0=np.zeros(5), W1=np.ones((6, 2)), b1=[0, 0])
    # layer 2 because a ReLU sits between the two dense layers
    with pytest.raises(ModelError, match=r"plain\.npz: layer 2 \(dense\).*\(6,\).*got \(5,\)"):
        load_model(plain)
    arch = tmp_path / "arch.npz"
    arrays = {
        "layer0_weight": np.ones((4, 3)),
        "layer0_bias": np.zeros(3),
        "layer2_weight": np.ones((2, 2)),
        "layer2_bias": np.zeros(2),
    }
    layers = [{"kind": "dense"}, {"kind": "relu"}, {"kind": "dense"}]
    np.savez(arch, **described(arrays, layers, [4]))
    with pytest.raises(ModelError, match=r"arch\.npz: layer 2 \(dense\)"):
        load_model(arch)


def test_model_error_is_a_cimspice_value_error():
    assert issubclass(ModelError, CimspiceError)
    assert issubclass(ModelError, ValueError)


def torch_style_forward(x_nchw, state):
    """The network conv(pad 1) -> ReLU -> maxpool 2 -> flatten -> linear, in PyTorch's own
    conventions (NCHW images, (out, in, kh, kw) kernels, (out, in) linear weights), by loops."""
    w, b = state["conv.weight"], state["conv.bias"]
    n, _, h, wd = x_nchw.shape
    c_out = w.shape[0]
    xp = np.pad(x_nchw, ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((n, c_out, h, wd))
    for o in range(c_out):
        for i in range(h):
            for j in range(wd):
                conv[:, o, i, j] = (xp[:, :, i : i + 3, j : j + 3] * w[o]).sum(axis=(1, 2, 3))
        conv[:, o] += b[o]
    conv = np.maximum(conv, 0)
    pooled = conv.reshape(n, c_out, h // 2, 2, wd // 2, 2).max(axis=(3, 5))
    flat = pooled.reshape(n, -1)  # PyTorch flattens (c, h, w)
    return flat @ state["fc.weight"].T + state["fc.bias"]


def test_state_dict_layouts_are_converted(tmp_path):
    rng = np.random.default_rng(3)
    state = {
        "conv.weight": rng.normal(size=(4, 2, 3, 3)),
        "conv.bias": rng.normal(size=4),
        "fc.weight": rng.normal(size=(5, 4 * 3 * 3)),
        "fc.bias": rng.normal(size=5),
    }
    model = load_torch_state_dict(
        state,
        input_shape=(6, 6, 2),
        architecture=[{"kind": "conv2d", "padding": 1}, "relu", "maxpool2d", "flatten", "dense"],
    )
    x_nhwc = rng.normal(size=(3, 6, 6, 2))
    expected = torch_style_forward(x_nhwc.transpose(0, 3, 1, 2), state)
    # same products summed in another order: float64 rounding on O(10) values
    np.testing.assert_allclose(model.forward(x_nhwc), expected, rtol=0, atol=1e-12)


def test_a_linear_state_dict_defaults_to_a_relu_mlp():
    rng = np.random.default_rng(4)
    state = {
        "0.weight": rng.normal(size=(7, 3)),
        "0.bias": rng.normal(size=7),
        "2.weight": rng.normal(size=(2, 7)),
    }
    model = load_torch_state_dict(state)
    x = rng.normal(size=(4, 3))
    expected = np.maximum(x @ state["0.weight"].T + state["0.bias"], 0) @ state["2.weight"].T
    assert isinstance(model.layers[1], ReLU)
    assert isinstance(model.layers[2], Dense)
    np.testing.assert_allclose(model.forward(x), expected, rtol=0, atol=1e-12)  # rounding


@pytest.mark.parametrize(
    ("state", "kwargs", "message"),
    [
        ({"head.alpha": np.zeros(3)}, {}, "not a weight or bias"),
        ({"c.weight": np.ones((2, 1, 3, 3))}, {}, "pass architecture"),
        ({"a.weight": np.ones((2, 3))}, {"architecture": ["dense", "dense"]}, "2 weighted"),
        ({"a.weight": np.ones((2, 3))}, {"architecture": ["conv2d"]}, "needs a 4-D weight"),
        ({}, {}, "holds no parameters"),
    ],
)
def test_state_dict_errors(state, kwargs, message):
    with pytest.raises(ModelError, match=message):
        load_torch_state_dict(state, **kwargs)


def test_a_state_dict_file_without_torch_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail, as when absent
    with pytest.raises(ModelError, match=r"w\.pt: .*needs torch, which is not installed"):
        load_torch_state_dict(tmp_path / "w.pt")


@pytest.mark.torch
def test_a_real_torch_file(tmp_path):
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    path = tmp_path / "net.pt"
    torch.save(net.state_dict(), path)
    model = load_torch_state_dict(path)
    x = np.random.default_rng(5).normal(size=(4, 6))
    with torch.no_grad():
        expected = net(torch.from_numpy(x).float()).numpy()
    # torch computes in float32: agreement to float32 rounding
    np.testing.assert_allclose(model.forward(x), expected, rtol=1e-5, atol=1e-5)


def test_round_trip_of_a_hand_built_mlp(tmp_path):
    model = Model("m", [Dense(np.eye(3), np.ones(3)), ReLU(), Dense(np.ones((3, 2)), [0, 1])], (3,))
    save_model(model, tmp_path / "m.npz")
    assert np.array_equal(load_model(tmp_path / "m.npz").matrix(2), np.ones((3, 2)))


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (
            {
                "conv.weight": np.ones((4, 1, 3, 3)),
                "bn.weight": np.ones(4),
                "bn.bias": np.zeros(4),
                "bn.running_mean": np.zeros(4),
                "bn.running_var": np.ones(4),
            },
            r"'bn\.running_mean' belongs to a batch norm layer \('bn'\)",
        ),
        (
            {
                "fc1.weight": np.ones((8, 8)),
                "block.shortcut.weight": np.ones((8, 8)),
                "fc2.weight": np.ones((2, 8)),
            },
            r"'block\.shortcut\.weight' belongs to a residual connection's branch",
        ),
        (
            {"layer1.0.downsample.0.weight": np.ones((4, 2, 1, 1))},
            r"residual connection's branch \('layer1\.0\.downsample\.0'\)",
        ),
        (
            {"fc.weight": np.ones((4, 4)), "norm.weight": np.ones(4), "norm.bias": np.ones(4)},
            r"'norm\.weight' is a 1-D weight: a normalisation layer",
        ),
        ({"attn.in_proj_weight": np.ones((12, 4))}, r"belongs to an attention layer \('attn'\)"),
        ({"rnn.weight_ih_l0": np.ones((16, 4))}, r"belongs to a recurrent layer \('rnn'\)"),
        ({"c.weight": np.ones((4, 2, 3))}, r"'c\.weight' is a 3-D weight: a Conv1d layer"),
    ],
)
def test_a_state_dict_of_what_a_chain_cannot_represent_is_refused_by_name(state, message):
    # issue 13: these used to import as a plain chain (or fail on an unrelated key)
    with pytest.raises(ModelError, match=message):
        load_torch_state_dict(state)
