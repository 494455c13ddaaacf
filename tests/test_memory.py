"""Sizes that cannot fit are refused before any allocation, with the estimate (issue 11).

Every test either asks for something no machine holds (a 10**9-row tile, a ``.npy`` header
claiming 74 GiB over 64 bytes of data) or lowers the memory cimspice may use with
``$CIMSPICE_MEMORY_LIMIT``, so nothing here allocates much.
"""

import numpy as np
import numpy.lib.format as npformat
import pytest

from cimspice import memory
from cimspice.arrays import load_array
from cimspice.cli import main
from cimspice.engines.nodal import NodalSolver
from cimspice.errors import ArrayFileError, InputError, MemoryLimitError
from cimspice.memory import MEMORY_LIMIT_ENV, available_bytes, check_fits, chunk_size
from cimspice.spec import spec_from_dict

SPEC = "[array]\nrows = {rows}\ncols = 8\n[wire]\nr_row = 2.0\nr_col = 2.0\n"


def one_error_line(capsys, code):
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith("cimspice: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.fixture
def files(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(rows=8))
    huge = tmp_path / "huge.toml"
    huge.write_text(SPEC.format(rows=10**9))
    rng = np.random.default_rng(0)
    np.save(tmp_path / "g.npy", rng.uniform(1e-6, 1e-4, (8, 8)))
    np.save(tmp_path / "v.npy", rng.uniform(0, 0.2, (5, 8)))
    return tmp_path


def test_the_limit_is_read_from_the_environment(monkeypatch):
    # (sizes below what any machine running the tests has available)
    for text, expected in (("3M", 3 << 20), ("512 KiB", 512 << 10), ("1e6", 10**6)):
        monkeypatch.setenv(MEMORY_LIMIT_ENV, text)
        assert available_bytes() == expected
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "plenty")
    with pytest.raises(InputError, match=MEMORY_LIMIT_ENV):
        available_bytes()


def test_check_fits_and_chunk_size(monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1M")
    check_fits(1000, "a small thing")
    with pytest.raises(MemoryLimitError, match=r"a big thing needs about 2 MiB .* 1 MiB"):
        check_fits(2 << 20, "a big thing")
    assert chunk_size(1024, 10**6, "vectors") == 256  # a quarter of 1 MiB
    with pytest.raises(MemoryLimitError, match="one at a time"):
        chunk_size(4 << 20, 10, "vectors")


def test_npy_header_claiming_a_huge_shape_is_refused_without_allocating(tmp_path):
    path = tmp_path / "liar.npy"
    with path.open("wb") as handle:
        header = {"descr": "<f8", "fortran_order": False, "shape": (100_000, 100_000)}
        npformat.write_array_header_1_0(handle, header)
        handle.write(b"\0" * 64)
    with pytest.raises(ArrayFileError, match="less data than its header claims"):
        load_array(path, "conductances")


def test_an_array_file_larger_than_the_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.npy"
    np.save(path, np.zeros((300, 300)))  # 720 kB, 1.4 MB as stored plus its float64 copy
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1M")
    with pytest.raises(MemoryLimitError, match=r"shape \(300, 300\) needs about 1.37 MiB"):
        load_array(path, "conductances")
    monkeypatch.delenv(MEMORY_LIMIT_ENV)
    assert load_array(path, "conductances").shape == (300, 300)


@pytest.mark.parametrize(
    "command",
    [
        ["netlist", "{huge}", "-o", "{out}"],
        ["calibrate", "{huge}", "-o", "{out}"],
        ["compensate", "{huge}", "--scheme", "ir-predistort", "--engine", "nodal"],
        ["evaluate", "--model", "digits-mlp", "--spec", "{huge}", "--no-progress"],
        ["compensate", "{spec}", "--scheme", "ir-predistort", "--batch", "1000000000"],
        ["demo", "--size", "1000000", "--out", "{dir}/demo"],
    ],
)
def test_absurd_sizes_end_in_one_line_before_any_work(files, capsys, command):
    values = {
        "huge": files / "huge.toml",
        "spec": files / "spec.toml",
        "out": files / "out.x",
        "dir": files,
    }
    before = sorted(p.name for p in files.iterdir())
    err = one_error_line(capsys, main([part.format(**values) for part in command]))
    assert "needs about" in err and "of memory, more than the" in err
    assert sorted(p.name for p in files.iterdir()) == before  # nothing written


def test_a_sweep_to_an_absurd_size_is_refused_before_evaluating(files, capsys):
    args = ["--model", "digits-mlp", "--spec", str(files / "spec.toml"), "--no-progress"]
    sweep = ["--sweep", "array.size=16,1000000000", "--plot-dir", str(files / "plots")]
    err = one_error_line(capsys, main(["evaluate", *args, *sweep]))
    assert "a 1000000000x1000000000 network tile" in err and "needs about" in err


def test_node_voltages_beyond_the_limit_are_refused(monkeypatch):
    spec = spec_from_dict({"array": {"rows": 32, "cols": 32}, "wire": {"r_row": 1.0}})
    solver = NodalSolver(spec, np.full((32, 32), 1e-5))
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "4M")
    v = np.full((1000, 32), 0.1)
    with pytest.raises(MemoryLimitError, match="node voltages of 1000 input vector"):
        solver.solve(v, node_voltages=True)
    assert solver.solve(v).currents.shape == (1000, 32)  # currents alone: in chunks


def test_ngspice_node_voltages_beyond_the_limit_are_refused_before_running(monkeypatch):
    from cimspice.engines.ngspice import NgspiceEngine

    spec = spec_from_dict({"array": {"rows": 32, "cols": 32}, "wire": {"r_row": 1.0}})
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "4M")
    with pytest.raises(MemoryLimitError, match="node voltages of 300 input vector"):
        NgspiceEngine().run(
            spec, np.full((32, 32), 1e-5), np.full((300, 32), 0.1), node_voltages=True
        )


def test_large_accurate_surrogate_batches_go_in_memory_sized_chunks(monkeypatch):
    from cimspice.surrogate.model import TileParams, TileSurrogate

    spec = spec_from_dict(
        {"array": {"rows": 8, "cols": 8}, "wire": {"r_row": 2.0}, "device": {"iv": "sinh"}}
    )
    surrogate = TileSurrogate(spec, TileParams.from_spec(spec))
    rng = np.random.default_rng(2)
    g, v = rng.uniform(1e-6, 1e-4, (8, 8)), rng.uniform(0.0, 0.2, (40, 8))
    tile = surrogate.prepare(g)
    whole = tile.currents(v)
    monkeypatch.setattr(memory, "WORK_BYTES", 8 * 8 * 128 * 5)  # five vectors at a time
    # each chunk's Newton stops on its own worst vector, all within the accurate mode's
    # tolerance (1e-6 V predicted left in the cell voltages): ~1e-6 of full scale, 1e-5 bounds
    np.testing.assert_allclose(tile.currents(v), whole, rtol=0, atol=1e-5 * np.abs(whole).max())
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1K")
    with pytest.raises(MemoryLimitError, match="8x8 tile"):
        tile.currents(v)


@pytest.mark.parametrize("iv", ["linear", "sinh"])
def test_chunked_solves_give_the_same_answer(monkeypatch, iv):
    spec = spec_from_dict(
        {
            "array": {"rows": 12, "cols": 9},
            "wire": {"r_row": 2.0, "r_col": 1.5},
            "device": {"iv": iv, "v0": 0.2},
        }
    )
    rng = np.random.default_rng(1)
    g = rng.uniform(1e-6, 1e-4, (12, 9))
    v = rng.uniform(0.0, 0.2, (50, 12))
    whole = NodalSolver(spec, g).solve(v, node_voltages=True)
    monkeypatch.setattr(memory, "WORK_BYTES", 20_000)  # a few vectors per chunk
    solver = NodalSolver(spec, g)
    assert solver._chunk(50) < 50
    parts = solver.solve(v, node_voltages=True)
    # linear: the same LU solves, column by column: identical. sinh: each chunk's Newton
    # stops on its own worst vector, so vectors may take one step more or fewer than in the
    # whole batch; every one is converged to 1e-12 V steps, so currents agree to ~1e-12 of
    # full scale.
    tol = 0.0 if iv == "linear" else 1e-10 * float(np.max(np.abs(whole.currents)))
    np.testing.assert_allclose(parts.currents, whole.currents, rtol=0, atol=tol)
    np.testing.assert_allclose(parts.v_word, whole.v_word, rtol=0, atol=tol and 1e-10)
    if iv == "linear":
        transfer = solver.transfer_matrix()  # in chunks of unit vectors
        np.testing.assert_array_equal(transfer, NodalSolver(spec, g).solve(np.eye(12)).currents)


def test_an_unforeseen_memory_error_is_one_line(files, capsys, monkeypatch):
    def fail(*args, **kwargs):
        raise MemoryError("Unable to allocate 1.00 TiB for an array")

    monkeypatch.setattr("cimspice.engines.ideal.IdealEngine.run", fail)
    args = ["--conductances", str(files / "g.npy"), "--inputs", str(files / "v.npy")]
    code = main(["simulate", str(files / "spec.toml"), *args, "--engine", "ideal", "-o", "o.npz"])
    err = one_error_line(capsys, code)
    assert "out of memory: Unable to allocate 1.00 TiB" in err


@pytest.mark.parametrize(
    ("scheme", "params", "vectors"),
    [
        ("column-calibration", {"vectors": 200_000}, "200000 input vectors"),  # its references
        ("input-scaling", {"mode": "bit-serial", "bits": 16}, "80000 input vectors"),  # planes
    ],
)
def test_a_scheme_reading_more_vectors_is_refused_before_any_simulation(
    monkeypatch, scheme, params, vectors
):
    from cimspice.compensation import default_targets, evaluate_scheme
    from cimspice.compensation.tile import Bench

    spec = spec_from_dict({"array": {"rows": 8, "cols": 8}, "wire": {"r_row": 2.0}})
    g = default_targets(spec)

    def no_simulation(*args, **kwargs):
        raise AssertionError("simulated before the memory estimate")

    monkeypatch.setattr(Bench, "program", no_simulation)
    # on an 8x8 tile the estimate is ~2 MiB per 1,000 vectors (2 KiB each: 128 bytes per
    # line) and ~0.1 MiB for the tile: 5,000 held-out vectors (~10 MiB) fit in 64 MiB, the
    # scheme's own reads (200,000 reference vectors, 16 planes of 5,000) do not
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "64M")
    with pytest.raises(MemoryLimitError, match=vectors):
        evaluate_scheme(scheme, spec, g, engine="nodal", batch=5_000, **params)
