"""cimspice.torch: user models on tiles through the numpy path's own tile math.

Every test here needs the torch extra (marked ``torch``: it fails, never skips, where
``CIMSPICE_REQUIRE_TORCH=1``, as in CI).
"""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pytest

from cimspice.errors import CimspiceError, InputError, ModelError
from cimspice.mapping.matmul import HardwareMatMul
from cimspice.nn.layers import Conv2D, Dense, Flatten
from cimspice.nn.model import Model
from cimspice.nn.zoo import BUILTIN_MODELS, architecture
from cimspice.spec import spec_from_dict

pytestmark = pytest.mark.torch

if importlib.util.find_spec("torch") is not None:
    import torch
    from torch import nn

    from cimspice.torch import analog_tiles, convert
    from cimspice.torch.models import BasicBlock, from_numpy, small_resnet
    from cimspice.torch.monte_carlo import accuracy, evaluate_seeds, reprogram
    from cimspice.torch.training import fit


def ideal_spec(rows: int = 64, cols: int = 64):
    """Zero wire resistance, no converters, no device non-idealities: tiles compute V @ G."""
    return spec_from_dict(
        {"array": {"rows": rows, "cols": cols}, "wire": {"r_row": 0.0, "r_col": 0.0}}
    )


def nonideal_spec(**nonideal):
    """A small passive tile with IR drop, an 8-bit DAC and ADC, devices; read noise off
    unless given."""
    table = {
        "seed": 3,
        "levels": 64,
        "prog_noise_rel": 0.02,
        "prog_noise_abs": 0.1e-6,
        "drift_time": 3600.0,
        "drift_nu": 0.05,
        "drift_nu_std": 0.01,
        "drift_compensation": True,
    }
    table.update(nonideal)
    return spec_from_dict(
        {
            "array": {"rows": 32, "cols": 32},
            "wire": {"r_row": 2.0, "r_col": 2.0},
            "driver": {"v_read": 0.2, "dac_bits": 8},
            "readout": {"adc_bits": 8, "adc_full_scale": 20e-6},
            "device": {"g_min": 1e-6, "g_max": 25e-6},
            "nonideal": table,
        }
    )


def relative_error(a, b) -> float:
    return float((a - b).abs().max() / b.abs().max())


class Mixed(nn.Module):
    """Residual blocks, batch norm, a depthwise and a grouped convolution, a Conv1d, average
    pooling, attention and a GELU: every convertible kind and digital glue between."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.block = BasicBlock(8)
        self.depthwise = nn.Conv2d(8, 8, 3, groups=8, padding="same", padding_mode="reflect")
        self.grouped = nn.Conv2d(8, 16, 1, groups=4)
        self.conv1d = nn.Conv1d(16, 16, 3, padding=1, dilation=1)
        self.attention = nn.MultiheadAttention(16, 4, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = self.block(x)
        x = self.grouped(self.depthwise(x))
        x = nn.functional.avg_pool2d(x, 2)  # (n, 16, 2, 2)
        tokens = self.conv1d(x.flatten(2)).transpose(1, 2)  # (n, 4, 16)
        attended, _ = self.attention(tokens, tokens, tokens)
        return self.head(nn.functional.gelu(attended + tokens).mean(dim=1))


def trained_statistics(model: nn.Module) -> nn.Module:
    """Batch norm with non-trivial running statistics (a few training-mode passes)."""
    model.train()
    with torch.no_grad():
        for seed in range(3):
            model(torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(seed)))
    return model.eval()


# ----- the ideal limit -----


@pytest.mark.parametrize("name", BUILTIN_MODELS)
def test_builtins_in_the_ideal_limit_equal_the_original(name):
    numpy_model = architecture(name, seed=1)
    original = from_numpy(numpy_model).eval()
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (16, *numpy_model.input_shape))
    with torch.no_grad():
        expected = original(torch.from_numpy(x).float())
        # the torch form computes the numpy model's function (float32 against float64)
        np.testing.assert_allclose(expected.numpy(), numpy_model.forward(x), rtol=1e-4, atol=1e-5)
        got = convert(original, ideal_spec())(torch.from_numpy(x).float())
    # ideal tiles compute V @ G exactly; float32 rounding of the differential pairs' G+ - G-
    # (differences of conductances in float32) keeps the error near 1e-7 of the largest output
    assert relative_error(got, expected) < 1e-5


def test_a_residual_model_with_batch_norm_attention_and_groups_in_the_ideal_limit():
    torch.manual_seed(0)
    x = torch.randn(8, 1, 8, 8)
    for model in (Mixed(), small_resnet()):
        original = trained_statistics(model)
        converted = convert(original, ideal_spec(32, 32))
        with torch.no_grad():
            # float32 sums in another order: ~1e-7 of the largest output
            assert relative_error(converted(x), original(x)) < 1e-5


def test_attention_with_masks_and_separate_projections_in_the_ideal_limit():
    torch.manual_seed(1)
    attention = nn.MultiheadAttention(12, 3, kdim=8, vdim=6).eval()
    converted = convert(attention, ideal_spec(16, 16))
    q, k, v = torch.randn(5, 2, 12), torch.randn(7, 2, 8), torch.randn(7, 2, 6)
    padding = torch.zeros(2, 7, dtype=torch.bool)
    padding[1, 5:] = True
    mask = torch.zeros(5, 7, dtype=torch.bool)
    mask[0, 3] = True
    with torch.no_grad():
        for kwargs in ({}, {"key_padding_mask": padding, "attn_mask": mask}):
            expected, w_expected = attention(q, k, v, **kwargs)
            got, w_got = converted(q, k, v, **kwargs)
            assert relative_error(got, expected) < 1e-5
            assert relative_error(w_got, w_expected) < 1e-5


def test_gradients_in_the_ideal_limit_equal_the_original():
    torch.manual_seed(2)
    original = trained_statistics(Mixed())
    converted = convert(original, ideal_spec(32, 32))
    x = torch.randn(4, 1, 8, 8)
    for model in (original, converted):
        model.zero_grad()
        model(x).square().sum().backward()
    for (name, a), (_, b) in zip(
        original.named_parameters(), converted.named_parameters(), strict=True
    ):
        # float32 gradients through ~10 layers: agreement to float32 rounding
        assert relative_error(b.grad, a.grad) < 1e-4, name


# ----- one tile pipeline: the torch layers against the numpy HardwareMatMul -----


def test_a_linear_layer_on_nonideal_tiles_equals_the_numpy_hardware_matmul():
    spec = nonideal_spec()
    torch.manual_seed(3)
    layer = nn.Linear(70, 20, dtype=torch.float64)  # 3 row blocks x 2 column blocks of tiles
    x = torch.randn(50, 70, dtype=torch.float64)
    converted = convert(layer, spec)
    w = layer.weight.detach().numpy().T
    ideal = x.numpy() @ w
    # inference on the CPU runs numpy's path on views of the tensors: numpy's numbers
    with torch.no_grad():
        got = converted(x) - layer.bias
    expected = HardwareMatMul(spec)(0, x.numpy(), w)
    # the tiles are far from ideal (IR drop, 8-bit DAC and ADC, drifted devices) ...
    assert np.abs(expected - ideal).max() > 1e-2 * np.abs(ideal).max()
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-11, atol=1e-12 * np.abs(ideal).max())
    # ... and with gradients recorded (training; every device but the host's CPU) the layer
    # runs the same math in torch on the same programmed tiles, in its tensors' double
    # precision: equal to numpy's in double precision to rounding (BLAS orders sums
    # differently; an ADC code flips only if a column sits within ~1e-16 of a rounding edge)
    traced = (converted(x) - layer.bias).detach()
    double = HardwareMatMul(spec, precision="double")(0, x.numpy(), w)
    np.testing.assert_allclose(traced.numpy(), double, rtol=1e-11, atol=1e-12 * np.abs(ideal).max())


def test_a_convolution_on_nonideal_tiles_equals_the_numpy_hardware_matmul():
    spec = nonideal_spec()
    torch.manual_seed(4)
    conv = nn.Conv2d(3, 6, 3, bias=False, dtype=torch.float64)
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    converted = convert(conv, spec)
    patches = nn.functional.unfold(x, 3).transpose(1, 2).reshape(-1, 27).numpy()
    w = conv.weight.detach().reshape(6, 27).numpy().T
    for precision, record in (("auto", False), ("double", True)):  # as the linear layer
        with torch.set_grad_enabled(record):
            got = converted(x).detach()
        expected = HardwareMatMul(spec, precision=precision)(0, patches, w)
        expected = expected.reshape(2, 16, 6).transpose(0, 2, 1)
        np.testing.assert_allclose(got.reshape(2, 6, 16).numpy(), expected, rtol=1e-11, atol=1e-15)


def test_a_numpy_models_convolution_and_its_torch_form_run_on_the_same_tiles():
    # the numpy path's convolution (cimspice.nn.layers.Conv2D, im2col rows in (kh, kw, c_in)
    # order) and the same layer through from_numpy and convert (torch's unfold order,
    # (c_in, kh, kw)): with one input channel, as in a stem, the two orders coincide, so the
    # word lines, tiles (49 rows: two row blocks of the 32-row tile), devices and drift
    # compensation must be the same ones; a stride and padding as the ResNet's stem has
    spec = nonideal_spec(stuck_on=0.01, stuck_off=0.01)
    rng = np.random.default_rng(13)
    layer = Conv2D(rng.normal(size=(7, 7, 1, 6)), rng.normal(size=6), stride=2, padding=3)
    x = rng.uniform(0.0, 1.0, (3, 10, 10, 1))
    hardware = HardwareMatMul(spec)  # inference on the CPU: the torch layer runs this path
    expected = layer.forward(x, lambda a, w: hardware(0, a, w))  # (n, oh, ow, c_out)
    head = Dense(rng.normal(size=(150, 2)), np.zeros(2))
    numpy_model = Model("conv", [layer, Flatten(), head], (10, 10, 1))
    torch_conv = from_numpy(numpy_model, dtype=torch.float64)[1]  # after the NHWC permute
    assert isinstance(torch_conv, nn.Conv2d)
    converted = convert(torch_conv, spec)
    with torch.no_grad():
        got = converted(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    ideal = layer.forward(x)
    assert np.abs(expected - ideal).max() > 1e-2 * np.abs(ideal).max()  # far from ideal
    assert len(hardware.layers[0].tiling.tiles) == 2
    # equal to double-precision rounding (BLAS orders sums differently)
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12 * np.abs(ideal).max())
    # with gradients recorded the layer runs the tile math in torch, in its tensors' double
    # precision: the numpy path in double precision, to rounding
    double = HardwareMatMul(spec, precision="double")
    expected = layer.forward(x, lambda a, w: double(0, a, w))
    traced = converted(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    np.testing.assert_allclose(
        traced.detach().numpy(), expected, rtol=1e-11, atol=1e-12 * np.abs(ideal).max()
    )


def test_a_nonlinear_tile_without_a_transfer_matrix_runs_its_numpy_law():
    spec = dataclasses.replace(
        nonideal_spec(), device=dataclasses.replace(nonideal_spec().device, iv="sinh", v0=0.1)
    )
    torch.manual_seed(5)
    layer = nn.Linear(20, 6, bias=False, dtype=torch.float64)
    x = torch.rand(4, 20, dtype=torch.float64, requires_grad=True)
    converted = convert(layer, spec, engine="nodal")
    got = converted(x)
    expected = HardwareMatMul(spec, engine="nodal")(
        0, x.detach().numpy(), layer.weight.detach().numpy().T
    )
    # the same nodal solve (Newton, converged to its tolerance) on the host: equal to rounding
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-9, atol=1e-12)
    got.sum().backward()  # straight through the tile's ideal law
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_read_noise_on_torch_has_the_numpy_paths_spread():
    spec = nonideal_spec(read_noise=0.05, drift_time=0.0)
    quiet = nonideal_spec(read_noise=0.0, drift_time=0.0)
    torch.manual_seed(6)
    layer = nn.Linear(32, 8, bias=False, dtype=torch.float64)
    x = torch.rand(4000, 32, dtype=torch.float64)
    w = layer.weight.detach().numpy().T
    with torch.no_grad():
        torch_noise = (convert(layer, spec)(x) - convert(layer, quiet)(x)).numpy()
    numpy_noise = HardwareMatMul(spec)(0, x.numpy(), w) - HardwareMatMul(quiet)(0, x.numpy(), w)
    # different random streams, one distribution: 4000 draws per output give the std to ~2%
    # (plus the ADC's step); 10% allows for both
    ratio = torch_noise.std(axis=0) / numpy_noise.std(axis=0)
    assert np.all(np.abs(ratio - 1) < 0.1), ratio
    assert abs(torch_noise.mean()) < 0.1 * torch_noise.std()


# ----- what convert refuses, keeps and saves -----


@pytest.mark.parametrize(
    "module", [lambda: nn.LSTM(4, 4), lambda: nn.GRU(4, 4), lambda: nn.Sequential(nn.RNNCell(3, 3))]
)
def test_recurrent_layers_are_refused_listing_what_is_supported(module):
    with pytest.raises(
        ModelError, match=r"recurrent layers are not mapped.*Linear, Conv1d, Conv2d"
    ):
        convert(module(), ideal_spec())


def test_subclasses_and_attention_extras_are_refused_by_name():
    class MyLinear(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 2

    with pytest.raises(ModelError, match=r"^1 is a MyLinear, a subclass of Linear"):
        convert(nn.Sequential(nn.ReLU(), MyLinear(2, 2)), ideal_spec())
    with pytest.raises(ModelError, match="add_bias_kv"):
        convert(nn.MultiheadAttention(4, 2, add_bias_kv=True), ideal_spec())
    with pytest.raises(InputError, match=r"torch\.nn\.Module"):
        convert("model.pt", ideal_spec())


def test_a_surrogate_file_that_is_missing_is_named(tmp_path):
    with pytest.raises(CimspiceError, match=r"missing\.json"):
        convert(nn.Linear(2, 2), ideal_spec(), surrogate=tmp_path / "missing.json")


def test_layers_keep_their_attributes_and_the_state_dict_round_trips(tmp_path):
    torch.manual_seed(7)
    original = trained_statistics(Mixed())
    spec = nonideal_spec(drift_time=0.0)
    x = torch.randn(4, 1, 8, 8)
    converted = convert(original, spec, calibration=torch.randn(32, 1, 8, 8))
    assert isinstance(converted.head, nn.Linear) and converted.head.in_features == 16
    assert converted.depthwise.groups == 8 and converted.attention.num_heads == 4
    assert isinstance(original.head, nn.Linear) and type(original.head) is nn.Linear  # untouched
    state = converted.state_dict()
    assert set(original.state_dict()) <= set(state)
    assert (set(state) - set(original.state_dict())) == {
        f"{m}.input_range"
        for m in (
            *("stem", "block.conv1", "block.conv2", "depthwise", "grouped", "conv1d"),
            *("attention", "attention.out_proj", "head"),
        )
    }
    assert float(converted.head.input_range[0]) > 0  # calibrated
    with torch.no_grad():
        before = converted(x)
        # into a fresh conversion of the same architecture
        fresh = convert(trained_statistics(Mixed()), spec)
        fresh.load_state_dict(state)
        # the same tiles programmed from the same weights and seed: the same outputs
        assert torch.equal(fresh(x), before)
        # the whole model pickled (programmed tiles dropped, programmed again on load)
        torch.save(converted, tmp_path / "model.pt")
        loaded = torch.load(tmp_path / "model.pt", weights_only=False)
        assert torch.equal(loaded(x), before)


# ----- Monte Carlo and time -----


def test_reprogramming_and_time_since_programming():
    spec = nonideal_spec(drift_time=1.0, drift_nu_std=0.05)
    spec = dataclasses.replace(
        spec, readout=dataclasses.replace(spec.readout, adc_bits=0, adc_full_scale=0.0)
    )
    torch.manual_seed(8)
    layer = nn.Linear(32, 10)
    converted = convert(layer, spec)
    x = torch.rand(64, 32)
    with torch.no_grad():
        first = converted(x)
        assert torch.equal(converted(x), first)  # programmed once, no read noise
        reprogram(converted, seed=11)
        other = converted(x)
        assert not torch.allclose(other, first)  # new devices
        reprogram(converted, seed=3)
        assert torch.equal(converted(x), first)  # the seed fixes every draw
        reprogram(converted, time_s=1e6)
        drifted = converted(x)
    ideal = layer(x).detach()
    # the same devices read later: drift's spread grows the error (compensation removes the
    # mean decay only)
    assert relative_error(drifted, ideal) > relative_error(first, ideal)
    tiles = analog_tiles(converted)
    assert (tiles.seed, tiles.time_s) == (3, 1e6)
    with pytest.raises(InputError, match="seed"):
        reprogram(converted, seed=-1)


def test_evaluate_over_seeds_restores_the_devices():
    spec = nonideal_spec(prog_noise_rel=0.3)
    torch.manual_seed(9)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    x = torch.randn(200, 16)
    y = model(x).argmax(dim=1)
    converted = convert(model, spec, calibration=x)
    before = accuracy(converted, x, y)
    results = evaluate_seeds(converted, x, y, [0, 1, 2, 3, 4])
    assert len(results.accuracies) == 5 and len(set(results.accuracies)) > 1
    assert 0 < results.mean <= 1 and results.std > 0
    assert accuracy(converted, x, y) == before  # seed 3, as converted
    with pytest.raises(InputError, match="labels"):
        accuracy(converted, x, y[:10])


# ----- hardware-aware training -----


def harsh_spec():
    """Strong IR drop (1-100 uS on 4 ohm segments), a 4-bit ADC, programming and read noise."""
    return spec_from_dict(
        {
            "array": {"rows": 32, "cols": 32},
            "wire": {"r_row": 4.0, "r_col": 4.0},
            "driver": {"v_read": 0.2, "dac_bits": 6},
            "readout": {"adc_bits": 4, "adc_full_scale": 150e-6},
            "device": {"g_min": 1e-6, "g_max": 100e-6},
            "nonideal": {"seed": 0, "prog_noise_rel": 0.05, "read_noise": 0.02},
        }
    )


def test_quantisers_pass_gradients_straight_through_to_inputs_weights_and_ranges():
    torch.manual_seed(11)
    layer = nn.Linear(32, 8)
    x = torch.rand(64, 32, requires_grad=True)
    converted = convert(layer, harsh_spec(), calibration=x.detach(), learn_ranges=True)
    assert isinstance(converted.input_range, nn.Parameter)
    converted(x).square().sum().backward()
    for name, grad in (
        ("input", x.grad),
        ("weight", converted.weight.grad),
        ("input range", converted.input_range.grad),
    ):
        # round() alone has a zero gradient almost everywhere: these are straight through
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_gradients_stay_finite_when_an_input_vector_is_all_zero_under_read_noise():
    # post-ReLU patches are often all zero: the read noise's spread sqrt(V^2 @ s^2) is 0
    # there, and its gradient would be inf * 0 = NaN; the spread is a stopped gradient
    torch.manual_seed(13)
    layer = nn.Linear(32, 8)
    x = torch.rand(16, 32)
    x[3] = 0.0
    converted = convert(layer, harsh_spec(), calibration=x)
    x.requires_grad_(True)
    converted(x).square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert torch.isfinite(converted.weight.grad).all() and x.grad[0].abs().sum() > 0


def test_hardware_aware_training_recovers_accuracy_on_a_harsh_tile():
    torch.manual_seed(12)
    x = torch.randn(1400, 32)
    teacher = nn.Linear(32, 4)
    y = teacher(x).argmax(dim=1)
    model = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))
    losses = fit(model, x[:400], y[:400], epochs=30, lr=1e-2, seed=0)
    assert losses[-1] < losses[0]
    ideal = accuracy(model, x[400:], y[400:])
    plain = convert(model, harsh_spec(), calibration=x[:200])
    before = evaluate_seeds(plain, x[400:], y[400:], [100, 101, 102]).mean
    aware = convert(model, harsh_spec(), calibration=x[:200], learn_ranges=True)
    fit(aware, x[:400], y[:400], epochs=6, lr=5e-3, seed=1)  # the benchmark's fine-tuning
    after = evaluate_seeds(aware, x[400:], y[400:], [100, 101, 102]).mean
    assert analog_tiles(aware).seed == 0  # fit restores the devices' seed
    # the tile costs the plain model accuracy; training through it (device seeds it never
    # saw in evaluation) wins some back. 1,000 held-out samples x 3 device seeds give each
    # mean a standard error of ~0.008, their difference ~0.012; measured +0.020 and +0.026
    # with fine-tuning seeds 2 and 1 (+0.027 +- 0.021 over 5 training seeds in the
    # benchmark, BENCHMARKS.md); a gain of at least 0.01 is asked. (With 200 held-out
    # samples this test once asked a third of the loss back, which held for one training
    # seed of three: the standard error, ~0.025, was the size of the gain.)
    assert ideal - before > 0.03
    assert after - before > 0.01, (ideal, before, after)


# ----- GPU -----


@pytest.mark.cuda
def test_on_cuda_the_mvms_stay_on_the_gpu_and_equal_the_cpus():
    spec = nonideal_spec(drift_time=0.0)
    torch.manual_seed(10)
    layer = nn.Linear(40, 12, dtype=torch.float64)
    x = torch.randn(30, 40, dtype=torch.float64)
    with torch.no_grad():
        on_cpu = convert(layer, spec)(x)
        on_gpu = convert(layer, spec).cuda()(x.cuda())
    assert on_gpu.device.type == "cuda"
    # the same math in double precision on another device: equal to rounding
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=1e-11, atol=1e-12)
