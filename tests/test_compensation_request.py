"""The request handlers behind ``compensate``, ``predistort`` and ``compensate --network``
(:mod:`cimspice.compensation.request`, :mod:`cimspice.studies.compensate_request`): every
argument checked on construction, every path before any work, and what they print and write."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

import cimspice.arrays
import cimspice.compensation
from cimspice.compensation.request import (
    CompensateRequest,
    PredistortRequest,
    correction_path,
    run_compensate,
    run_predistort,
)
from cimspice.errors import InputError, ModelError, OutputError
from cimspice.studies.compensate_request import NetworkLevel, run_compensate_network

SPEC = "[array]\nrows = 6\ncols = 4\n[wire]\nr_row = 2.0\nr_col = 2.0\n"


class WorkStartedError(AssertionError):
    """Raised by a stand-in for the work: the handler got past its checks."""


def no_work(*args, **kwargs):
    raise WorkStartedError("the work started before the arguments were checked")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "spec.toml").write_text(SPEC)
    np.save(tmp_path / "g.npy", np.random.default_rng(0).uniform(1e-6, 60e-6, (6, 4)))
    return tmp_path


def entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"batch": 0}, InputError, "batch must be >= 1"),
        ({"batch": 2.5}, InputError, "batch must be an integer"),
        ({"seed": -1}, InputError, "seed must be an integer >= 0"),
        ({"engine": "ideal"}, InputError, "engine must be one of ngspice, nodal"),
        ({"t_read": 0.0}, InputError, "t_read must be > 0"),
        ({"spec": 5}, InputError, "spec must be a path"),
        ({"params": [("tile_rows", 4)]}, InputError, "params must be a mapping"),
        ({"json_out": "new/"}, OutputError, "--json 'new/' names a folder"),
    ],
)
def test_compensate_request_checks_its_fields(fields, error, message):
    with pytest.raises(error, match=message):
        CompensateRequest(**{"spec": "spec.toml", "scheme": "partitioning", **fields})


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"output": "new/"}, OutputError, "-o 'new/' names a folder"),
        ({"conductances": None}, InputError, "conductances must be a path"),
        ({"rescale": "yes"}, InputError, "rescale must be true or false"),
    ],
)
def test_predistort_request_checks_its_fields(fields, error, message):
    base = {"spec": "spec.toml", "conductances": "g.npy", "output": "gp.npy"}
    with pytest.raises(error, match=message):
        PredistortRequest(**{**base, **fields})


def test_request_paths_become_paths():
    request = PredistortRequest("spec.toml", "g.npy", "gp.npy")
    assert request.output == Path("gp.npy") and correction_path(request.output) == Path("gp.json")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"json_out": "nowhere/r.json"}, "folder nowhere not found"),
        ({"json_out": "g.npy", "conductances": "g.npy"}, "is the input --conductances"),
        ({"json_out": "spec.toml"}, "is the input SPEC"),
        ({"plot_dir": "g.npy"}, "--plot-dir g.npy is a file"),
    ],
)
def test_compensate_paths_are_checked_before_the_scheme_runs(folder, monkeypatch, fields, message):
    monkeypatch.chdir(folder)
    monkeypatch.setattr(cimspice.compensation, "evaluate_scheme", no_work)
    before = entries(folder)
    request = CompensateRequest(
        spec="spec.toml", scheme="partitioning", params={"tile_rows": 2}, **fields
    )
    with pytest.raises(OutputError, match=message):
        run_compensate(request)
    assert entries(folder) == before


def test_compensate_scheme_and_tile_are_checked_before_the_scheme_runs(folder, monkeypatch):
    monkeypatch.setattr(cimspice.compensation, "evaluate_scheme", no_work)
    spec = folder / "spec.toml"
    with pytest.raises(InputError, match="takes no parameter bits"):
        run_compensate(CompensateRequest(spec=spec, scheme="partitioning", params={"bits": 3}))
    (folder / "sinh.toml").write_text(SPEC + '[device]\niv = "sinh"\n')
    with pytest.raises(InputError, match=r"device\.iv"):
        run_compensate(CompensateRequest(spec=folder / "sinh.toml", scheme="ir-predistort"))


def test_run_compensate_prints_the_report_and_writes_its_json(folder, capsys):
    out = io.StringIO()
    request = CompensateRequest(
        spec=folder / "spec.toml",
        scheme="partitioning",
        params={"tile_rows": 2, "tile_cols": 2},
        engine="nodal",
        conductances=folder / "g.npy",
        batch=4,
        json_out=folder / "r.json",
    )
    report = run_compensate(request, out=out)
    assert out.getvalue() == "\n".join(report.lines()) + "\n"
    assert capsys.readouterr().out == ""  # everything went to ``out``
    data = json.loads((folder / "r.json").read_text())
    assert data == json.loads(json.dumps(report.as_dict()))
    assert data["scheme"] == "partitioning" and data["error_after"] < data["error_before"]


def test_predistort_refuses_a_nonlinear_tile_before_reading_the_targets(folder, monkeypatch):
    monkeypatch.setattr(cimspice.arrays, "load_array", no_work)
    (folder / "sinh.toml").write_text(SPEC + '[device]\niv = "sinh"\n')
    before = entries(folder)
    request = PredistortRequest(folder / "sinh.toml", folder / "g.npy", folder / "gp.npy")
    with pytest.raises(InputError, match=r"device\.iv"):
        run_predistort(request)
    assert entries(folder) == before


def test_predistort_output_over_its_correction_is_refused_before_any_work(folder, monkeypatch):
    monkeypatch.setattr(cimspice.arrays, "load_array", no_work)
    request = PredistortRequest(
        folder / "spec.toml", folder / "g.npy", folder / "gp.json", rescale=True
    )
    with pytest.raises(OutputError, match="correction file"):
        run_predistort(request)


def test_run_predistort_returns_what_it_writes(folder):
    out = io.StringIO()
    request = PredistortRequest(folder / "spec.toml", folder / "g.npy", folder / "gp.npy")
    sol = run_predistort(request, out=out)
    np.testing.assert_array_equal(np.load(folder / "gp.npy"), sol.conductances)
    assert out.getvalue().startswith(f"wrote {folder / 'gp.npy'}: ")


def test_network_level_is_checked_before_the_tile_level_runs(folder, monkeypatch):
    monkeypatch.setattr(cimspice.compensation, "evaluate_scheme", no_work)
    before = entries(folder)
    json_out = folder / "r.json"
    request = CompensateRequest(folder / "spec.toml", "partitioning", json_out=json_out)
    with pytest.raises(ModelError, match="digits-mlp, mnist-mlp, mnist-cnn"):
        run_compensate_network(request, NetworkLevel(model="resnet50"))
    # write-verify has no network form without programming noise in the spec
    request = CompensateRequest(folder / "spec.toml", "write-verify", json_out=json_out)
    with pytest.raises(InputError, match="write-verify needs programming noise"):
        run_compensate_network(request, NetworkLevel(model="digits-mlp"))
    with pytest.raises(OutputError, match="--cache-dir"):
        run_compensate_network(
            CompensateRequest(folder / "spec.toml", "partitioning"),
            NetworkLevel(model="digits-mlp", cache_dir=folder / "g.npy"),
        )
    assert entries(folder) == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"seeds": 0}, "seeds must be >= 1"), ({"samples": 0}, "samples must be >= 1")],
)
def test_network_level_checks_its_fields(fields, message):
    with pytest.raises(InputError, match=message):
        NetworkLevel(**fields)
