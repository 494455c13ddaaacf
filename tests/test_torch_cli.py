"""``cimspice evaluate`` on PyTorch models: ``.pt2`` files (torch.export) and the torch
built-ins.

A ``.pt2`` file's products are lifted back into layers (cimspice.torch.exported) and evaluated
through the same request and tile pipeline as the numpy models; these tests compare the
command's figures with the in-Python converted model's, check every refusal names its cause,
and that the built-ins are cached. Every test needs the torch extra (marked ``torch``: it
fails, never skips, where ``CIMSPICE_REQUIRE_TORCH=1``, as in CI).
"""

from __future__ import annotations

import importlib.util
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.errors import EngineUnavailableError, InputError, ModelError
from cimspice.nn.data_file import load_data_file
from cimspice.nn.datasets import load_dataset
from cimspice.studies.spotcheck import ROUNDOFF

pytestmark = pytest.mark.torch

if importlib.util.find_spec("torch") is not None:
    import torch
    from torch import nn

    from cimspice.spec import load_spec
    from cimspice.torch import calibrate_input_ranges, convert, recalibrate_batch_norm
    from cimspice.torch.exported import load_exported
    from cimspice.torch.models import BasicBlock
    from cimspice.torch.monte_carlo import accuracy, evaluate_seeds

SPEC = """
[array]
rows = 32
cols = 32
[wire]
r_row = 2.0
r_col = 2.0
[driver]
v_read = 0.2
dac_bits = 8
[readout]
adc_bits = 8
adc_full_scale = 20e-6
[device]
g_min = 1e-6
g_max = 25e-6
[nonideal]
seed = 3
levels = 64
prog_noise_rel = 0.03
prog_noise_abs = 0.1e-6
read_noise = 0.01
drift_time = 3600.0
drift_nu = 0.05
drift_nu_std = 0.01
drift_compensation = true
"""


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module")
def trained_mlp(digits) -> nn.Module:
    """A small digits MLP, trained for a moment (full batch), so accuracy means something."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 10))
    x = torch.as_tensor(digits.x_train, dtype=torch.float32)
    y = torch.as_tensor(digits.y_train)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()
    return model.eval()


class Residual(nn.Module):
    """Convolutions with batch norm and a residual block, pooling, a linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.block = BasicBlock(8)
        self.head = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        h = torch.relu(self.bn(self.stem(x.reshape(-1, 1, 8, 8))))
        h = nn.functional.max_pool2d(self.block(h), 2)
        return self.head(h.flatten(1))


def export(model: nn.Module, example, path: Path, dynamic: bool = True) -> Path:
    shapes = ({0: torch.export.Dim("batch")},) if dynamic else None
    torch.export.save(torch.export.export(model, (example,), dynamic_shapes=shapes), path)
    return path


def in_python(model, spec_file, x, calibration, seeds=None):
    """The in-Python route: convert the original module, set the ranges, measure."""
    converted = convert(model, load_spec(spec_file))
    calibrate_input_ranges(converted, calibration)
    y_ideal = model(x).argmax(-1)
    return converted, y_ideal


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ----- the .pt2 round trip -----


def test_a_pt2_file_through_evaluate_matches_the_converted_model_in_python(
    tmp_path, spec_file, digits, trained_mlp, mlp_pt2, capsys
):
    model, pt2 = trained_mlp, mlp_pt2
    data = tmp_path / "data.npz"
    np.savez(data, inputs=digits.x_test, labels=digits.y_test)
    out = tmp_path / "out.json"
    code, text, err = run_cli(
        [
            "evaluate",
            "--model",
            str(pt2),
            "--spec",
            str(spec_file),
            "--data",
            str(data),
            "--json",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    # the contract's keys, as for the numpy models
    for key in ("accuracy_ideal", "accuracy_hardware", "layers", "samples", "spot_check"):
        assert key in result
    assert result["samples"] == len(digits.y_test)
    assert result["products_digital"] == []
    x = torch.as_tensor(digits.x_test, dtype=torch.float32)
    y = torch.as_tensor(digits.y_test)
    with torch.no_grad():
        converted, y_ideal = in_python(model, spec_file, x, x[:1000])
        # Identical, not close: the same tile pipeline, the same layer indices (so the same
        # device and read-noise streams), the same batches (500 samples) and input ranges.
        assert result["accuracy_hardware"] == accuracy(converted, x, y)
        assert result["accuracy_ideal"] == float((y_ideal == y).double().mean())
    assert result["accuracy_hardware"] > 0.8  # the tiles are noisy, not broken
    assert [row["shape"] for row in result["layers"].values()] == [[64, 48], [48, 10]]
    assert all(0 < row["nrmse"] < 0.2 for row in result["layers"].values())
    assert "2 product(s)" in text


def test_lifting_a_residual_model_keeps_its_function_and_maps_every_product(tmp_path):
    torch.manual_seed(1)
    model = Residual().eval()
    with torch.no_grad():  # batch-norm statistics that are not the identity
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
    x = torch.rand(6, 64)
    for dynamic in (True, False):
        exported = load_exported(export(model, torch.zeros(4, 64), tmp_path / "r.pt2", dynamic))
        assert exported.batch == (None if dynamic else 4)
        assert exported.sample_shape == (64,)
        assert len(exported.lifted) == 4 and exported.digital == []
        kinds = sorted(type(m).__name__ for m in exported.module.modules())
        assert kinds.count("Conv2d") == 3 and kinds.count("Linear") == 1
        # the graph rewritten: the same function (float32 rounding of the same operations,
        # and a 6-sample input through a 4-sample fixed batch)
        torch.testing.assert_close(exported.module(x), model(x), rtol=1e-5, atol=1e-6)


def test_a_fixed_batch_residual_pt2_through_evaluate_matches_python(
    tmp_path, spec_file, digits, capsys
):
    torch.manual_seed(2)
    model = Residual().eval()
    pt2 = export(model, torch.zeros(50, 64), tmp_path / "res.pt2", dynamic=False)
    out = tmp_path / "out.json"
    code, _, err = run_cli(
        [
            "evaluate",
            "--model",
            str(pt2),
            "--spec",
            str(spec_file),
            "--samples",
            "60",
            "--json",
            str(out),
            "--no-progress",
        ],
        capsys,
    )  # no --data: the digits test split, chosen by the sample size (64)
    assert code == 0, err
    result = json.loads(out.read_text())
    x = torch.as_tensor(digits.x_test[:60], dtype=torch.float32)
    y = torch.as_tensor(digits.y_test[:60])
    calibration = torch.as_tensor(digits.x_train[:1000], dtype=torch.float32)
    exported = load_exported(pt2)  # the same fixed-batch module the command ran
    with torch.no_grad():
        converted, _ = in_python(exported.module, spec_file, x, calibration)
        assert result["accuracy_hardware"] == accuracy(converted, x, y)
    assert [row["kind"] for row in result["layers"].values()] == ["conv2d"] * 3 + ["dense"]


def test_seeds_on_a_pt2_are_the_converted_models_seeds(
    tmp_path, spec_file, digits, trained_mlp, mlp_pt2, capsys
):
    model, pt2 = trained_mlp, mlp_pt2
    out = tmp_path / "out.json"
    code, text, err = run_cli(
        [
            "evaluate",
            "--model",
            str(pt2),
            "--spec",
            str(spec_file),
            "--seeds",
            "3",
            "--samples",
            "200",
            "--json",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, err
    seeds = json.loads(out.read_text())["seeds"]
    assert seeds["seeds"] == [3, 4, 5]  # the spec's seed and the next two
    x = torch.as_tensor(digits.x_test[:200], dtype=torch.float32)
    y = torch.as_tensor(digits.y_test[:200])
    with torch.no_grad():
        converted, _ = in_python(
            model, spec_file, x, torch.as_tensor(digits.x_train[:1000], dtype=torch.float32)
        )
        expected = evaluate_seeds(converted, x, y, [3, 4, 5])
    assert seeds["accuracy_hardware"] == list(expected.accuracies)
    assert len(set(seeds["accuracy_hardware"])) > 1  # devices differ per seed
    assert "over 3 device seeds" in text


def test_recalibrating_batch_norm_through_evaluate_matches_python(
    spec_file, tmp_path, digits, monkeypatch, capsys
):
    # the request's plumbing on a stand-in for the torch built-in (training and evaluating
    # the real mnist-resnet takes minutes; tests/test_torch_zoo.py trains it): a small
    # residual model with batch norm, served under the built-in's name, on digits
    from cimspice.studies import torch_evaluate

    torch.manual_seed(3)
    model = Residual().eval()
    with torch.no_grad():  # statistics that do not fit: the recalibration has work to do
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
    stand_in = torch_evaluate.TorchModel(
        "mnist-resnet", model, digits.x_test[:60], digits.y_test[:60], digits.x_train[:1000]
    )
    monkeypatch.setattr(torch_evaluate, "resolve_torch_model", lambda *a, **k: stand_in)
    out = tmp_path / "out.json"
    code, text, err = run_cli(
        [
            *("evaluate", "--model", "mnist-resnet", "--spec", str(spec_file)),
            *("--seeds", "2", "--recalibrate-bn", "64", "--json", str(out), "--no-progress"),
        ],
        capsys,
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["recalibrate_bn"] == 64
    assert "batch norm re-estimated on the tiles from 64 calibration samples" in text
    x = torch.as_tensor(digits.x_test[:60], dtype=torch.float32)
    y = torch.as_tensor(digits.y_test[:60])
    calibration = torch.as_tensor(digits.x_train[:1000], dtype=torch.float32)
    with torch.no_grad():
        converted, _ = in_python(model, spec_file, x, calibration)
        expected = evaluate_seeds(converted, x, y, [3, 4], recalibrate=calibration[:64])
        recalibrate_batch_norm(converted, calibration[:64])
        # identical, not close: the same tiles, streams, batches and calibration samples
        assert result["accuracy_hardware"] == accuracy(converted, x, y)
        assert result["seeds"]["accuracy_hardware"] == list(expected.accuracies)
        plain, _ = in_python(model, spec_file, x, calibration)
        # the recalibration changed what the tiles' model computes
        assert not torch.equal(plain(x), converted(x))


@pytest.mark.ngspice
def test_the_spot_check_of_a_pt2_runs_its_first_tile_in_ngspice(tmp_path, mlp_pt2, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        "[array]\nrows = 16\ncols = 16\n[wire]\nr_row = 2.0\nr_col = 2.0\n"
        "[driver]\nv_read = 0.2\n[device]\ng_min = 1e-6\ng_max = 25e-6\n"
    )
    pt2 = mlp_pt2
    out = tmp_path / "out.json"
    code, _, err = run_cli(
        [
            "evaluate",
            "--model",
            str(pt2),
            "--spec",
            str(spec),
            "--samples",
            "20",
            "--spot-check",
            "--json",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, err
    check = json.loads(out.read_text())["spot_check"]
    assert check["layer"] == 0 and check["vectors"] == 8
    # a passive tile's nominal surrogate is exact: the spot-check sees solver round-off only
    # (the bound the numpy models' spot-check test uses); no calibration report: no verdict
    assert check["max_error"] < ROUNDOFF
    assert check["within"] is None


# ----- refusals -----


def test_torchscript_and_pickles_are_refused_with_what_to_do(tmp_path, spec_file, capsys):
    model = nn.Sequential(nn.Linear(64, 10))
    scripted = tmp_path / "m.pt"
    with warnings.catch_warnings():  # torch.jit is deprecated: such files still exist
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(model), scripted)
    pickled = tmp_path / "s.pth"
    torch.save(model.state_dict(), pickled)
    renamed = tmp_path / "script.pt2"
    renamed.write_bytes(scripted.read_bytes())
    for path, words in (
        (scripted, ["TorchScript or a pickle", "torch.export"]),
        (pickled, ["TorchScript or a pickle", "torch.export"]),
        (renamed, ["TorchScript", "torch.export.save"]),
    ):
        code, _, err = run_cli(
            ["evaluate", "--model", str(path), "--spec", str(spec_file), "--no-progress"], capsys
        )
        assert code != 0
        assert str(path) in err and all(w in err for w in words), err
        assert "Traceback" not in err


def _rewrite(source: Path, target: Path, edit) -> Path:
    """A copy of a .pt2 archive with ``edit(inner_name, bytes) -> bytes`` applied."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            inner = info.filename.partition("/")[2]
            new.writestr(info, edit(inner, old.read(info)))
    return target


def _json_edit(name, change):
    def edit(inner, data):
        if inner != name:
            return data
        document = json.loads(data)
        change(document)
        return json.dumps(document).encode()

    return edit


@pytest.fixture(scope="module")
def mlp_pt2(trained_mlp, tmp_path_factory):
    """The MLP, exported (dynamic batch) and saved."""
    return export(trained_mlp, torch.zeros(4, 64), tmp_path_factory.mktemp("pt2") / "mlp.pt2")


@pytest.fixture
def good_pt2(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10)).eval()
    return export(model, torch.zeros(4, 64), tmp_path / "good.pt2")


def _nodes(document):
    return document["graph_module"]["graph"]["nodes"]


@pytest.mark.parametrize(
    ("name", "edit", "words"),
    [
        (
            "pickled weight",
            _json_edit(
                "data/weights/model_weights_config.json",
                lambda d: d["config"]["0.weight"].update(use_pickle=True),
            ),
            ["'0.weight' is pickled"],
        ),
        (
            "python function",
            _json_edit(
                "models/model.json", lambda d: _nodes(d)[0].update(target="torch.os.system")
            ),
            ["'torch.os.system'", "aten operators"],
        ),
        (
            "file-reading operator",
            _json_edit(
                "models/model.json",
                lambda d: _nodes(d)[0].update(target="torch.ops.aten.from_file.default"),
            ),
            ["from_file", "reads or writes files"],
        ),
        (
            "code in a symbolic expression",
            _json_edit(
                "models/model.json",
                lambda d: d["graph_module"]["graph"]["tensor_values"]["input"]["sizes"][0][
                    "as_expr"
                ].update(expr_str="__import__('os').system('touch PWNED')"),
            ),
            ["not arithmetic"],
        ),
        (
            "a string evaluated by sympy",
            _json_edit(
                "models/model.json",
                lambda d: d["graph_module"]["graph"]["tensor_values"]["input"]["sizes"][0][
                    "as_expr"
                ].update(expr_str="S('__import__')('os')"),
            ),
            ["'S'", "not arithmetic"],
        ),
    ],
)
def test_a_pt2_with_a_part_that_runs_code_is_refused_before_loading(
    tmp_path, good_pt2, name, edit, words
):
    bad = _rewrite(good_pt2, tmp_path / "bad.pt2", edit)
    with pytest.raises(ModelError) as info:
        load_exported(bad)
    message = str(info.value)
    assert str(bad) in message and all(w in message for w in words), message
    assert "sources you would run code from" in message  # what is trusted, said each time


def test_compiled_code_in_a_pt2_is_refused(tmp_path, good_pt2):
    bad = tmp_path / "aoti.pt2"
    with zipfile.ZipFile(good_pt2) as old, zipfile.ZipFile(bad, "w") as new:
        root = old.namelist()[0].partition("/")[0]
        for info in old.infolist():
            new.writestr(info, old.read(info))
        new.writestr(f"{root}/data/aotinductor/model/model.so", b"\x7fELF")
    with pytest.raises(ModelError, match="compiled code"):
        load_exported(bad)


def test_guard_code_in_a_pt2_is_never_executed(tmp_path, good_pt2, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "GUARD_RAN"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch() is None"
    bad = _rewrite(
        good_pt2,
        tmp_path / "guards.pt2",
        _json_edit("models/model.json", lambda d: d.update(guards_code=[code])),
    )
    exported = load_exported(bad)
    exported.module(torch.zeros(2, 64))
    assert not marker.exists()


def test_a_model_exported_in_training_mode_is_refused(tmp_path):
    model = Residual().train()  # batch norm on batch statistics: not what evaluation wants
    pt2 = export(model, torch.zeros(4, 64), tmp_path / "train.pt2")
    with pytest.raises(ModelError, match=r"exported in training mode .*batch_norm.*model\.eval"):
        load_exported(pt2)


def test_a_model_with_nothing_to_map_is_refused(tmp_path, spec_file, capsys):
    class Scale(nn.Module):
        def forward(self, x):
            return torch.relu(x[:, :10]) * 2.0

    pt2 = export(Scale(), torch.zeros(4, 64), tmp_path / "none.pt2")
    code, _, err = run_cli(
        ["evaluate", "--model", str(pt2), "--spec", str(spec_file), "--no-progress"], capsys
    )
    assert code != 0 and "no product maps onto tiles" in err


def test_options_that_do_not_apply_are_refused_with_the_reason(
    tmp_path, spec_file, good_pt2, capsys
):
    data = tmp_path / "d.npz"
    np.savez(data, inputs=np.zeros((3, 64)), labels=np.zeros(3, dtype=int))
    cases = [
        (
            ["--model", str(good_pt2), "--sweep", "wire.r_row=0,1", "--plot-dir", str(tmp_path)],
            "--sweep runs on the numpy models",
        ),
        (["--model", str(good_pt2), "--hardware-aware", "0.05"], "cimspice.torch.training.fit"),
        (["--model", "digits-mlp", "--data", str(data)], "--data gives the samples of a PyTorch"),
        (
            ["--model", str(good_pt2), "--data", str(data), "--split", "train"],
            "--dataset and --split do not apply",
        ),
        (["--model", "digits-mlp", "--recalibrate-bn", "10"], "the numpy models have none"),
        (["--model", str(good_pt2), "--recalibrate-bn", "10"], "graph operations, not modules"),
    ]
    for args, words in cases:
        code, _, err = run_cli(
            ["evaluate", *args, "--spec", str(spec_file), "--no-progress"], capsys
        )
        assert code != 0 and words in err, err


def test_data_file_errors_name_the_file_key_and_shape(tmp_path):
    names = iter(range(100))

    def write(**arrays):
        path = tmp_path / f"d{next(names)}.npz"
        np.savez(path, **arrays)
        return path

    x, y = np.zeros((5, 64)), np.arange(5)
    cases = [
        (write(x=x, labels=y), ["no key 'inputs'", "'x'"]),
        (write(inputs=np.zeros((5, 63)), labels=y), ["(5, 63)", "(64,)"]),
        (write(inputs=x, labels=np.arange(4)), ["as many samples as labels"]),
        (write(inputs=x, labels=y + 8), ["class 12", "10 outputs"]),
        (write(inputs=x, labels=y * 0.5), ["'labels'", "integer"]),
        (write(inputs=np.full((5, 64), np.nan), labels=y), ["'inputs'", "non-finite"]),
        (write(inputs=np.array([object()] * 5), labels=y), ["pickles are refused"]),
        (tmp_path / "missing.npz", ["not found"]),
    ]
    for path, words in cases:
        with pytest.raises(InputError) as info:
            load_data_file(path, (64,), 10)
        message = str(info.value)
        assert str(path) in message and all(w in message for w in words), message
    images, labels = load_data_file(write(inputs=x, labels=y), (1, 8, 8), 10)
    assert images.shape == (5, 1, 8, 8) and labels.tolist() == list(range(5))


# ----- --device: any model through cimspice.torch on a torch device -----


def numpy_model_in_python(spec_file, digits, samples):
    """digits-mlp's torch form converted in Python, its ranges set from the first 1,000
    training samples, and its hardware accuracy on the first test ``samples`` in batches of
    500, as ``evaluate --device`` runs it."""
    from cimspice.nn.zoo import builtin_model
    from cimspice.torch.models import from_numpy

    model = from_numpy(builtin_model("digits-mlp")[0]).eval()
    converted = convert(model, load_spec(spec_file))
    calibrate_input_ranges(converted, torch.as_tensor(digits.x_train[:1000], dtype=torch.float32))
    x = torch.as_tensor(digits.x_test[:samples], dtype=torch.float32)
    y = torch.as_tensor(digits.y_test[:samples])
    return converted, x, y


def evaluate_on(device, spec_file, tmp_path, capsys, *more):
    out = tmp_path / f"{device}.json"
    code, text, err = run_cli(
        [
            "evaluate",
            "--model",
            "digits-mlp",
            "--spec",
            str(spec_file),
            "--device",
            device,
            "--samples",
            "300",
            "--json",
            str(out),
            "--no-progress",
            *more,
        ],
        capsys,
    )
    assert code == 0, err
    return json.loads(out.read_text()), text


def test_a_numpy_model_on_a_device_is_its_torch_form_on_the_tiles(
    tmp_path, spec_file, digits, capsys
):
    result, text = evaluate_on("cpu", spec_file, tmp_path, capsys, "--seeds", "2")
    assert result["device"] == "cpu" and result["samples"] == 300
    assert "digits-mlp in its torch form (float32) on cpu" in text
    with torch.no_grad():
        converted, x, y = numpy_model_in_python(spec_file, digits, 300)
        # identical, not close: the same conversion, ranges, batches and device streams
        assert result["accuracy_hardware"] == accuracy(converted, x, y)
        expected = evaluate_seeds(converted, x, y, [3, 4])
    assert result["seeds"]["accuracy_hardware"] == list(expected.accuracies)
    # the same model as the numpy path's, in single precision: the same exact labels
    numpy_out = tmp_path / "numpy.json"
    args = ["--model", "digits-mlp", "--spec", str(spec_file), "--samples", "300"]
    code, _, err = run_cli(["evaluate", *args, "--json", str(numpy_out), "--no-progress"], capsys)
    assert code == 0, err
    assert result["accuracy_ideal"] == json.loads(numpy_out.read_text())["accuracy_ideal"]


def test_a_device_that_is_not_there_or_not_a_device_is_named(tmp_path, spec_file, capsys):
    cases = [
        (["--device", "tpu"], "--device 'tpu': not a torch device"),
        (["--device", "cuda:7"], "--device cuda:7: torch finds"),
        (["--device", "meta"], "cimspice runs on cpu or cuda devices"),
        (
            ["--device", "cpu", "--sweep", "wire.r_row=0,1", "--plot-dir", str(tmp_path)],
            "--sweep runs on the numpy path",
        ),
        (["--device", "cpu", "--hardware-aware", "0.05"], "--hardware-aware runs on the numpy"),
    ]
    for args, words in cases:
        code, _, err = run_cli(
            ["evaluate", "--model", "digits-mlp", *args, "--spec", str(spec_file)], capsys
        )
        assert code != 0 and words in err, err


@pytest.mark.cuda
def test_on_cuda_evaluate_gives_the_cpus_figures(tmp_path, capsys):
    # without read noise: the CPU's no-grad passes draw it on the host (numpy's table of
    # quantiles), a GPU with torch's generator (other draws of the same distribution)
    quiet = tmp_path / "quiet.toml"
    quiet.write_text(SPEC.replace("read_noise = 0.01\n", ""))
    on_cpu, _ = evaluate_on("cpu", quiet, tmp_path, capsys)
    on_gpu, text = evaluate_on("cuda", quiet, tmp_path, capsys)
    assert on_gpu["device"] == "cuda" and "on cuda" in text
    # the same devices and math in single precision on another device: a label may flip
    # only where two logits tie to rounding (300 samples: at most 2 asked); the MVM errors
    # agree to rounding (2e-6 of the logits measured between the CPU's two paths)
    for key in ("accuracy_ideal", "accuracy_hardware"):
        assert abs(on_gpu[key] - on_cpu[key]) <= 2 / 300, key
    for index, row in on_cpu["layers"].items():
        assert on_gpu["layers"][index]["nrmse"] == pytest.approx(row["nrmse"], rel=1e-3)


def test_without_torch_the_torch_models_name_the_extra(monkeypatch):
    from cimspice.studies import torch_evaluate

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    for name in ("mnist-resnet", "model.pt2"):
        with pytest.raises(EngineUnavailableError, match=r"pip install 'cimspice\[torch\]'"):
            torch_evaluate.resolve_torch_model(name)
