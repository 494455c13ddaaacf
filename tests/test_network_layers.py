"""Network layers and the forward pass: im2col against direct loops, the pluggable matmul,
shape chaining, and backpropagation against finite differences."""

import numpy as np
import pytest

from cimspice.errors import InputError, ModelError
from cimspice.nn.backprop import loss_and_gradients
from cimspice.nn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from cimspice.nn.model import Model, softmax
from cimspice.nn.training import copy_model, shift_images


def small_cnn(seed: int = 0) -> Model:
    rng = np.random.default_rng(seed)
    return Model(
        "tiny-cnn",
        [
            Conv2D(rng.normal(size=(3, 3, 2, 3)), rng.normal(size=3), stride=2, padding=1),
            ReLU(),
            Conv2D(rng.normal(size=(2, 2, 3, 4)), rng.normal(size=4)),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(rng.normal(size=(4, 5)), rng.normal(size=5)),
            ReLU(),
            Dense(rng.normal(size=(5, 3)), rng.normal(size=3)),
        ],
        (7, 7, 2),
    )


def direct_conv(x, weight, bias, stride, padding):
    """Cross-correlation by explicit loops over every output pixel and channel (NHWC)."""
    n, h, w, c_in = x.shape
    kh, kw, _, c_out = weight.shape
    xp = np.zeros((n, h + 2 * padding, w + 2 * padding, c_in))
    xp[:, padding : padding + h, padding : padding + w] = x
    oh = (h + 2 * padding - kh) // stride + 1
    ow = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, oh, ow, c_out))
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for o in range(c_out):
                    total = bias[o]
                    for di in range(kh):
                        for dj in range(kw):
                            for c in range(c_in):
                                total += (
                                    xp[b, i * stride + di, j * stride + dj, c]
                                    * weight[di, dj, c, o]
                                )
                    out[b, i, j, o] = total
    return out


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), (3, 2)])
def test_conv_im2col_equals_direct_convolution(stride, padding):
    rng = np.random.default_rng(stride * 10 + padding)
    x = rng.normal(size=(2, 7, 6, 3))
    layer = Conv2D(rng.normal(size=(3, 2, 3, 4)), rng.normal(size=4), stride, padding)
    expected = direct_conv(x, layer.weight, layer.bias, stride, padding)
    assert layer.output_shape((7, 6, 3)) == expected.shape[1:]
    # Same sums in a different order (BLAS vs loops): float64 rounding only, values are O(1).
    np.testing.assert_allclose(layer.forward(x), expected, rtol=0, atol=1e-12)


def test_conv_matrix_is_the_reshaped_kernel():
    layer = Conv2D(np.arange(3 * 3 * 2 * 4, dtype=float).reshape(3, 3, 2, 4), np.zeros(4))
    assert layer.matrix().shape == (18, 4)
    assert np.shares_memory(layer.matrix(), layer.weight)


def test_maxpool_equals_loops_and_drops_a_ragged_edge():
    x = np.random.default_rng(1).normal(size=(2, 5, 7, 3))
    out = MaxPool2D(2).forward(x)
    assert out.shape == (2, 2, 3, 3)
    for i in range(2):
        for j in range(3):
            expected = x[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max(axis=(1, 2))
            assert np.array_equal(out[:, i, j], expected)


def test_explicit_exact_matmul_equals_the_default_forward_bit_for_bit():
    model = small_cnn()
    x = np.random.default_rng(2).normal(size=(5, 7, 7, 2))
    calls = []

    def exact(index, x_in, w):
        calls.append((index, x_in.shape, w.shape))
        return x_in @ w

    assert np.array_equal(model.forward(x, exact), model.forward(x))
    # called once per weighted layer, in order, with the matrices Model.matrix gives
    assert [c[0] for c in calls] == model.weighted_layers() == [0, 2, 6, 8]
    assert [c[2] for c in calls] == [model.matrix(i).shape for i in model.weighted_layers()]
    assert calls[0][1] == (5 * 4 * 4, 18)  # im2col rows: n * oh * ow patches of 3*3*2


def test_flat_inputs_are_reshaped_and_bad_shapes_rejected():
    model = small_cnn()
    x = np.random.default_rng(3).normal(size=(4, 7, 7, 2))
    assert np.array_equal(model.forward(x.reshape(4, -1)), model.forward(x))
    assert model.predict(x).shape == (4,)
    with pytest.raises(InputError, match=r"\(n, 7, 7, 2\)"):
        model.forward(np.zeros((4, 7, 7, 3)))
    with pytest.raises(InputError, match="layer 0 returned shape"):
        model.forward(x, lambda i, x_in, w: x_in @ w[:, :1])


def test_weights_that_do_not_chain_name_the_layer():
    rng = np.random.default_rng(0)
    with pytest.raises(ModelError, match=r"layer 2 \(dense\).*\(16,\).*got \(32,\)"):
        Model(
            "bad",
            [
                Dense(rng.normal(size=(8, 32)), np.zeros(32)),
                ReLU(),
                Dense(np.ones((16, 2)), [0, 0]),
            ],
            (8,),
        )
    with pytest.raises(ModelError, match="bias has 3 entries"):
        Dense(np.ones((4, 2)), np.zeros(3))
    with pytest.raises(ModelError, match=r"layer 0 \(conv2d\)"):
        Model("bad", [Conv2D(np.ones((3, 3, 2, 1)), [0.0]), Flatten()], (5, 5, 1))
    with pytest.raises(ModelError, match="must give"):
        Model("no-logits", [Conv2D(np.ones((3, 3, 1, 1)), [0.0])], (5, 5, 1))


def test_softmax_is_stable_and_normalised():
    p = softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), 0.0]]))
    assert np.all(np.isfinite(p))
    # one exp and one division per entry: a few ulps
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(p[1], [0.2, 0.6, 0.2], rtol=1e-14)


def test_gradients_match_finite_differences():
    model = small_cnn(seed=4)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 7, 7, 2))
    y = rng.integers(0, 3, size=4)
    _, grads = loss_and_gradients(model, x, y)
    step = 1e-6  # central differences: truncation O(step^2) ~ 1e-12, rounding ~ 1e-16/step
    for index, (d_weight, d_bias) in grads.items():
        layer = model.layers[index]
        for param, analytic in ((layer.weight, d_weight), (layer.bias, d_bias)):
            numeric = np.zeros_like(param)
            for k in np.ndindex(param.shape):
                old = param[k]
                param[k] = old + step
                up, _ = loss_and_gradients(model, x, y)
                param[k] = old - step
                down, _ = loss_and_gradients(model, x, y)
                param[k] = old
                numeric[k] = (up - down) / (2 * step)
            relative = np.abs(analytic - numeric).max() / np.abs(numeric).max()
            # measured ~1e-9 (finite-difference error); 1e-5 leaves room, still catches any
            # wrong index or transpose (those give O(1) errors)
            assert relative < 1e-5, (index, relative)


def test_copy_model_is_deep():
    model = small_cnn()
    clone = copy_model(model)
    clone.layers[0].weight[...] = 0.0
    assert np.any(model.layers[0].weight != 0.0)


def test_shift_images_moves_whole_pixels_with_zero_fill():
    rng = np.random.default_rng(6)
    images = rng.uniform(0.1, 1.0, size=(30, 6, 5, 1))  # no zeros, so the fill is visible
    assert shift_images(images, 0, rng) is images
    shifted = shift_images(images, 1, rng)
    for original, moved in zip(images, shifted, strict=True):
        candidates = []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                padded = np.pad(original, ((1, 1), (1, 1), (0, 0)))
                candidates.append(padded[1 - dy : 7 - dy, 1 - dx : 6 - dx])
        assert any(np.array_equal(moved, c) for c in candidates)
