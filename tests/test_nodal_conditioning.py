"""The nodal solve says when its answer cannot be trusted (issue 11, silent wrong answers).

Very large cell conductances make the output currents differences of nearly equal node
potentials times a huge conductance: rounding alone then moves them by a large fraction of full
scale (on an 8x8 tile with 2 ohm segments, negative currents at 1e15 S). The solver estimates
that rounding error when it factors the network and refuses above ``TRUST_TOL``. The estimate
is checked here against exact rational arithmetic.
"""

from fractions import Fraction

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.engines.nodal import TRUST_TOL, NodalSolver
from cimspice.errors import IllConditionedError, SimulationError
from cimspice.spec import spec_from_dict
from cimspice.surrogate.model import TileParams, TileSurrogate
from cimspice.topology import PassiveTopology


def tile(n=8, r=2.0):
    return spec_from_dict({"array": {"rows": n, "cols": n}, "wire": {"r_row": r, "r_col": r}})


def exact_currents(spec, g, v):
    """Output currents of the passive network in exact rational arithmetic (small tiles)."""
    topo = PassiveTopology.from_spec(spec)
    word, bit, n = topo.node_indices()
    wa, wb, wg = topo.wire_links()
    links = [
        (int(a), int(b), Fraction(float(c))) for a, b, c in zip(wa, wb, wg, strict=True) if c > 0
    ]
    rows, cols = g.shape
    links += [
        (int(word[i, j]), int(bit[i, j]), Fraction(float(g[i, j])))
        for i in range(rows)
        for j in range(cols)
    ]
    known = rows + 1
    size = n - known
    a = [[Fraction(0)] * size for _ in range(size)]
    b = [Fraction(0)] * size
    potential = [Fraction(float(x)) for x in v] + [Fraction(0)]
    for p, q, c in links:
        for x, y in ((p, q), (q, p)):
            if x >= known:
                a[x - known][x - known] += c
                if y >= known:
                    a[x - known][y - known] -= c
                else:
                    b[x - known] += c * potential[y]
    for k in range(size):  # Gaussian elimination: the matrix is symmetric positive definite
        for r in range(k + 1, size):
            if a[r][k]:
                f = a[r][k] / a[k][k]
                for c in range(k, size):
                    a[r][c] -= f * a[k][c]
                b[r] -= f * b[k]
    x = [Fraction(0)] * size
    for k in range(size - 1, -1, -1):
        x[k] = (b[k] - sum(a[k][c] * x[c] for c in range(k + 1, size))) / a[k][k]
    nodes = potential + x
    return np.array(
        [
            float(
                sum(
                    Fraction(float(g[i, j])) * (nodes[word[i, j]] - nodes[bit[i, j]])
                    for i in range(rows)
                )
            )
            for j in range(cols)
        ]
    )


@pytest.mark.parametrize("g", [1e12, 1e15])
def test_huge_conductances_on_the_issue_tile_are_refused(g):
    # the issue's case: an 8x8 tile, 2 ohm segments; wrong from ~1e12 S, negative at 1e15 S
    with pytest.raises(IllConditionedError, match="cannot be trusted") as info:
        NodalSolver(tile(), np.full((8, 8), g))
    assert f"{g:.3g} S" in str(info.value)  # names the conductance
    assert isinstance(info.value, SimulationError)


def test_the_refusal_gives_the_figure():
    with pytest.raises(IllConditionedError, match=r"~0\.0\d+ of its full scale \(limit 1e-06\)"):
        NodalSolver(tile(), np.full((8, 8), 1e12))


@pytest.mark.parametrize("g", [1e-4, 1.0, 1e3, 1e6, 1e7])
def test_accepted_answers_are_within_the_estimate_of_the_exact_ones(g):
    spec = tile(8)
    rng = np.random.default_rng(3)
    conductances = g * rng.uniform(0.5, 1.0, (8, 8))
    v = rng.uniform(0.0, 0.2, 8)
    solver = NodalSolver(spec, conductances)
    assert solver.rounding_error <= TRUST_TOL
    got = solver.solve(v).currents[0]
    exact = exact_currents(spec, conductances, v)
    scale = float(np.max(np.abs(solver.solve(np.full(8, 0.2)).currents)))
    # The estimate is the solve's rounding error as a fraction of full scale (every input at
    # its largest, 0.2 V). Measured: 0.02 to 0.2 times it from 1 S up; at ordinary values both
    # sit at float64's floor, where the sums' own rounding (measured up to 1.8e-15 of full
    # scale on this tile) dominates: 64 ulps of full scale cover it.
    bound = solver.rounding_error + 64 * np.finfo(float).eps
    assert np.max(np.abs(got - exact)) <= bound * scale


def test_tiny_wire_resistances_are_not_refused():
    # huge wire conductances make the potentials sensitive, not the cell currents
    rng = np.random.default_rng(0)
    g = rng.uniform(1e-6, 1e-4, (6, 6))
    v = rng.uniform(0.0, 0.2, 6)
    for r in (1e-12, 1e-6):
        solver = NodalSolver(tile(6, r), g)
        assert solver.rounding_error < 1e-14
        exact = exact_currents(tile(6, r), g, v)
        # exact to 1e-14 of the currents' scale (rounding of float64 sums)
        np.testing.assert_allclose(
            solver.solve(v).currents[0], exact, rtol=0, atol=1e-14 * np.max(exact)
        )


def test_wires_beyond_double_precision_are_refused():
    # a 1e300 ohm word line lets no current through in float64; 1e308 ohm links are singular
    with pytest.raises(IllConditionedError, match=r"no correct digit .* 1e\+300 ohm"):
        NodalSolver(tile(4, 1e300), np.full((4, 4), 1e-4))
    huge = TileSurrogate(tile(), TileParams(1e308, 1e308, 1e308, 1e308))
    # the surrogate's admittance cascade (no sparse LU to find the links singular) computes
    # currents of 0 S at full scale there: refused by the same rounding estimate
    with pytest.raises(IllConditionedError, match=r"no correct digit .*1e\+308 ohm"):
        huge.prepare(np.full((8, 8), 1e-4))


def test_the_surrogate_transfer_matrix_is_refused_alike():
    spec = tile()
    surrogate = TileSurrogate(spec, TileParams.from_spec(spec))
    with pytest.raises(IllConditionedError, match="cannot be trusted"):
        surrogate.prepare(np.full((8, 8), 1e15))


def test_the_cli_refuses_in_one_line(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text("[array]\nrows = 8\ncols = 8\n[wire]\nr_row = 2.0\nr_col = 2.0\n")
    np.save(tmp_path / "g.npy", np.full((8, 8), 1e12))
    np.save(tmp_path / "v.npy", np.full((3, 8), 0.1))
    out = tmp_path / "out.npz"
    args = ["--conductances", str(tmp_path / "g.npy"), "--inputs", str(tmp_path / "v.npy")]
    code = main(["simulate", str(spec), *args, "--engine", "nodal", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "cannot be trusted" in err
    assert not out.exists()
