"""The port reduction of large linear tiles (nested-dissection sparse Cholesky) against the
sparse LU of every node, its nested-dissection order, and its place in the nodal engine and the
surrogate's preparation. These tests need the ``large`` extra (scikit-sparse):
``CIMSPICE_REQUIRE_LARGE=1`` (CI) makes them fail without it."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
from conftest import make_spec, random_arrays

from cimspice.engines import cascade, nodal, transfer
from cimspice.engines.dissection import dissection_order
from cimspice.engines.nodal import NodalSolver
from cimspice.engines.port_reduction import AUTO_CELLS, load_cholmod, port_reduction, suits
from cimspice.errors import EngineUnavailableError, IllConditionedError, InputError
from cimspice.simulation import get_engine
from cimspice.topology import PassiveTopology

pytestmark = pytest.mark.large

WIRES = {  # (r_first, r_row, r_col, r_last), ohm: resistive wires, the reduction's domain
    "plain": (2.0, 2.0, 2.0, 2.0),
    "ends": (20.5, 0.5, 3.0, 10.0),
    "thin": (1e-3, 1e-3, 1e-3, 1e-3),
}
SHAPES = [(24, 17), (17, 24), (1, 6), (6, 1), (2, 2), (64, 64)]


def conductances(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    g = np.random.default_rng(seed).uniform(1e-6, 1e-4, (rows, cols))
    g[0, 0] = 0.0  # a cell at 0 S needs no special case
    return g


def full_scale_error(got: np.ndarray, reference: np.ndarray) -> float:
    return float(np.max(np.abs(got - reference)) / np.max(np.abs(reference)))


@pytest.mark.parametrize("wires", WIRES)
@pytest.mark.parametrize("shape", SHAPES)
def test_reduction_is_the_sparse_lu(wires, shape):
    topology = PassiveTopology(*shape, *WIRES[wires])
    g = conductances(*shape)
    v = np.random.default_rng(1).uniform(0.0, 0.2, (7, shape[0]))
    lu = NodalSolver(make_spec(*shape), g, topology=topology, solver="lu").solve(v)
    reduced = port_reduction(topology, g)
    # two exact solves of one linear network (an LU of every node, a Cholesky reduced to the
    # ports): round-off, measured <= 3e-13 of full scale here
    assert full_scale_error(v @ reduced.transfer, lu.currents) <= 1e-11
    # driver currents are g_f (v - word port potential): the difference loses digits as the
    # driver link's conductance g_f outgrows the row's cells (see port_reduction's module);
    # 1e-11 of full scale, or 100 eps g_f / (a row's cells on average) where larger (1 mohm
    # links beside 17 cells of 1-100 uS: measured 4.2e-10, 1.6 eps g_f / cells)
    eps = np.finfo(float).eps
    bound = max(1e-11, 100 * eps / topology.r_first / g.sum(axis=1).mean())
    power = np.einsum("bi,bi->b", v, v @ reduced.driver)
    assert full_scale_error(power, lu.power) <= bound


@pytest.mark.parametrize("wires", WIRES)
def test_transfer_and_coupling_are_the_cascades(wires):
    topology = PassiveTopology(40, 33, *WIRES[wires])
    g = conductances(40, 33, seed=2)
    reduced = port_reduction(topology, g)
    t, k = cascade.transfer_and_coupling(topology, g)
    # the cascade is exact too (tests/test_cascade.py checks its coupling against the sense
    # nodes' response): round-off, measured <= 1e-12 of the largest entry
    assert full_scale_error(reduced.transfer, t) <= 1e-11
    # K = g_l^2 Z - g_l 1 loses digits as the sense link's g_l outgrows a column's cells, as
    # the driver currents do (see test_reduction_is_the_sparse_lu): 1e-11 or 100 eps g_l /
    # (a column's cells on average) (1 mohm beside 40 cells: measured 1.7e-9, 15 eps g_l / cells)
    eps = np.finfo(float).eps
    bound = max(1e-11, 100 * eps / topology.r_last / g.sum(axis=0).mean())
    assert full_scale_error(reduced.coupling, k) <= bound
    assert np.allclose(reduced.coupling, reduced.coupling.T, rtol=0, atol=1e-13 * np.abs(k).max())


def test_256_tile_with_100_vectors_to_the_target():
    """The issue's accuracy target, 1e-9 of full scale against the sparse LU, at 256x256
    (2 ohm segments, G in 1-100 uS, 100 vectors); 512x512 is in the benchmark."""
    spec = make_spec(256, 256, r_row=2.0, r_col=2.0)
    g, v = random_arrays(256, 256, 100, seed=3)
    lu = get_engine("nodal", solver="lu").program(spec, g).run(v)
    ports = get_engine("nodal", solver="ports").program(spec, g).run(v)
    assert ports.info["solver"] == "ports" and lu.info["solver"] == "lu"
    # measured 6e-13 (the ports' round-off; the issue asks for 1e-9)
    assert full_scale_error(ports.currents, lu.currents) <= 1e-11
    assert full_scale_error(ports.power, lu.power) <= 1e-11


def test_auto_takes_the_reduction_on_large_tiles_only():
    small, large = (64, 64), (128, 128)
    assert 64 * 64 < AUTO_CELLS <= 128 * 128
    for shape, expected in ((small, "lu"), (large, "ports")):
        spec = make_spec(*shape, r_row=1.0, r_col=1.0)
        g, v = random_arrays(*shape, 3, seed=4)
        result = get_engine("nodal").program(spec, g).run(v)
        assert result.info["solver"] == expected
    # node voltages, which the reduction does not keep, come from the LU auto builds for them
    tile = get_engine("nodal").program(spec, g)
    with_nodes = tile.run(v, node_voltages=True)
    assert with_nodes.info["solver"] == "lu" and with_nodes.v_word is not None
    reference = get_engine("nodal", solver="lu").program(spec, g).run(v, node_voltages=True)
    np.testing.assert_array_equal(with_nodes.v_bit, reference.v_bit)  # the same solve
    # round-off between the two solves (see test_reduction_is_the_sparse_lu)
    assert full_scale_error(tile.run(v).currents, with_nodes.currents) <= 1e-11
    # zero-resistance wires have no ports: the LU, whatever the size
    spec = make_spec(128, 128)
    g, v = random_arrays(128, 128, 3, seed=4)
    assert get_engine("nodal").program(spec, g).run(v).info["solver"] == "lu"


def test_surrogate_transfer_takes_the_reduction_on_large_tiles():
    topology = PassiveTopology(128, 128, 2.0, 2.0, 2.0, 2.0)
    g = conductances(128, 128, seed=5)
    t, k = transfer.transfer_and_coupling(topology, g)
    ct, ck = cascade.transfer_and_coupling(topology, g)
    # the reduction's round-off against the cascade's (measured 2.5e-13)
    assert full_scale_error(t, ct) <= 1e-11
    assert full_scale_error(k, ck) <= 1e-11
    assert full_scale_error(transfer.transfer_matrix(topology, g), ct) <= 1e-11


def test_nodal_tile_transfer_matches_its_runs():
    spec = make_spec(130, 129, r_row=2.0, r_col=2.0)
    g, v = random_arrays(130, 129, 4, seed=6)
    tile = get_engine("nodal", solver="ports").program(spec, g)
    # currents are v @ T by construction: equal to the last bits of a matmul
    np.testing.assert_allclose(v @ tile.transfer, tile.run(v).currents, rtol=1e-14, atol=0)


def test_bad_requests_are_refused():
    spec = make_spec(8, 8, r_row=1.0, r_col=1.0)
    g, v = random_arrays(8, 8, 2)
    with pytest.raises(InputError, match="unknown nodal solver 'cholesky'"):
        get_engine("nodal", solver="cholesky")
    tile = get_engine("nodal", solver="ports").program(spec, g)
    with pytest.raises(InputError, match="solver='lu'"):
        tile.run(v, node_voltages=True)
    with pytest.raises(EngineUnavailableError, match="resistive word and bit lines"):
        get_engine("nodal", solver="ports").program(make_spec(8, 8), g)
    from cimspice.spec import spec_from_dict

    sinh = spec_from_dict(
        {"array": {"rows": 8, "cols": 8}, "wire": {"r_row": 1.0}, "device": {"iv": "sinh"}}
    )
    with pytest.raises(InputError, match="nonlinear cells"):
        get_engine("nodal", solver="ports").program(sinh, g)


def test_beyond_double_precision_is_refused():
    # the nodal solve's own refusal (tests/test_nodal_conditioning.py): 1e12 S cells beside
    # 1 ohm wires leave ~1e-2 of full scale to rounding
    topology = PassiveTopology(8, 8, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(IllConditionedError, match="cannot be trusted"):
        port_reduction(topology, np.full((8, 8), 1e12))


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sksparse", None)
    with pytest.raises(EngineUnavailableError, match=r"cimspice\[large\]"):
        load_cholmod()
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sksparse" else real(name, *a)
    )
    # auto falls back to the LU and the cascade without the extra
    spec = make_spec(128, 128, r_row=1.0, r_col=1.0)
    g, v = random_arrays(128, 128, 2)
    assert get_engine("nodal").program(spec, g).run(v).info["solver"] == "lu"


ORDER_WIRES = [(2.0, 2.0, 2.0, 2.0), (0.0, 0.0, 2.0, 2.0), (2.0, 2.0, 0.0, 0.0), (0, 1.0, 1.0, 0)]


@pytest.mark.parametrize("wires", ORDER_WIRES)
def test_dissection_order_is_a_permutation_with_the_ports_last(wires):
    topology = PassiveTopology(37, 53, *wires)
    word, bit, n_nodes = topology.node_indices()
    n_known = topology.rows + 1
    unknown = np.unique(np.concatenate([word.ravel(), bit.ravel()]))
    unknown = unknown[unknown >= n_known] - n_known
    last = unknown[:5][::-1]
    order = dissection_order(word, bit, n_known, last)
    assert np.array_equal(np.sort(order), np.arange(n_nodes - n_known))
    np.testing.assert_array_equal(order[-5:], last)


def test_dissection_keeps_the_factor_near_n_log_n():
    """The point of the order: the factor of a 256x256 tile holds ~2 n log2 n non-zeros
    (measured 4.27e6 for n = 131072 unknowns; CHOLMOD's own METIS order gave 4.26e6, its AMD
    5.2e6)."""
    topology = PassiveTopology(256, 256, 2.0, 2.0, 2.0, 2.0)
    reduced = port_reduction(topology, conductances(256, 256))
    n = 2 * 256 * 256
    assert reduced.factor_nonzeros <= 2.2 * n * np.log2(n)


def test_cholmod_is_importable_when_required():
    # CI installs the extra (scripts/setup.sh): the import itself must work there
    assert load_cholmod().__name__ == "sksparse.cholmod"


def test_surrogate_prepares_large_tiles_by_the_reduction(monkeypatch):
    """A linear surrogate of a tile above the threshold (nominal parameters: the spec's own
    network, fitted series resistances included) gets the reduction's transfer matrix, which
    is the sparse LU's on the same network."""
    from cimspice.surrogate.model import LinearTileSurrogate, TileParams

    spec = make_spec(160, 144, r_row=0.5, r_col=3.0, r_source=20.0, r_in=7.0)
    g, v = random_arrays(160, 144, 200, seed=7)  # more vectors than rows: the transfer matrix
    surrogate = LinearTileSurrogate(spec, TileParams.from_spec(spec))
    assert suits(surrogate.topology())
    calls = []

    def spy(topology, conductances):
        calls.append(topology.rows)
        return port_reduction(topology, conductances)

    monkeypatch.setattr(transfer, "port_reduction", spy)
    monkeypatch.setattr(nodal, "port_reduction", spy)
    lu = NodalSolver(spec, g, solver="lu").solve(v).currents
    # round-off of two exact solves (measured ~3e-13 of full scale)
    assert full_scale_error(surrogate.currents(g, v), lu) <= 1e-11
    assert calls == [160]
    # fewer vectors than rows are solved directly, by the nodal solver's automatic choice
    assert full_scale_error(surrogate.currents(g, v[:20]), lu[:20]) <= 1e-11
    assert calls == [160, 160]
