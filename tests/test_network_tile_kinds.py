"""Every tile kind the surrogate models, at network level.

A layer is mapped onto tiles of each kind (passive linear, sinh and 1S1R cells, 1T1R with
BSIM4 access transistors, behavioural and CMOS TIA readouts) and run through the network's
hardware multiply. Each test compares a tile's outputs inside the network with the same tile
simulated on its own by a slower, independent path: the exact nodal solve, or ngspice.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from cimspice.converters import adc
from cimspice.engines.base import run_tile
from cimspice.mapping.matmul import HardwareMatMul, tile_spec
from cimspice.metrics import max_error
from cimspice.simulation import get_engine
from cimspice.spec import spec_from_dict
from cimspice.studies.spotcheck import held_out_error, spot_check
from cimspice.surrogate.model import SurrogateEngine, TileParams, TileSurrogate
from cimspice.surrogate.prepared import FastModeWarning

ROWS = COLS = 12
WIRES = {"r_row": 2.0, "r_col": 2.0}

KINDS = {
    "passive": {},
    "sinh": {"device": {"iv": "sinh", "v0": 0.15}},
    # selectors: threshold ~0.3 V at g_max, so a read voltage well above it
    "1S1R": {"array": {"cell": "1S1R"}, "driver": {"v_read": 1.0}},
    "1T1R": {"array": {"cell": "1T1R"}},
    "tia": {"readout": {"kind": "tia", "r_f": 2e3, "gain": 300.0, "v_offset": 2e-3}},
    "1T1R-cmos-tia": {
        "array": {"cell": "1T1R"},
        # the output stage sinks 10 i_bias: above the 0.24 mA of 12 cells at g_max, v_read
        "readout": {"kind": "tia", "opamp": "cmos", "r_f": 1e3, "i_bias": 40e-6},
    },
}


def kind_spec(kind: str, **extra: dict) -> object:
    table: dict = {"array": {"rows": ROWS, "cols": COLS}, "wire": dict(WIRES)}
    for sections in (KINDS[kind], extra):
        for section, values in sections.items():
            table.setdefault(section, {}).update(values)
    return spec_from_dict(table)


def from_columns(hw: HardwareMatMul, x: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The layer's outputs that one tile's column outputs (current units, every column)
    give: the pairs recombined digitally and scaled back (one tile, one input phase, the
    batch's own input range)."""
    mapped = hw.layers[0]
    (slot,) = mapped.tiling.tiles
    out = mapped.tiling.combine(columns[:, : slot.used_cols], slot)
    return out * mapped.tiling.sliced.w_scale * np.abs(x).max() / hw.spec.driver.v_read


def read_columns(hw: HardwareMatMul, currents: np.ndarray, v_out: np.ndarray | None):
    """What the digital side reads of the columns, in current units."""
    return currents if v_out is None else -v_out / hw.spec.readout.r_f


@pytest.fixture(scope="module")
def layer():
    """A (10, 4) layer (8 of a 12-column tile's columns: differential pairs) and inputs that
    are non-negative (one input phase) and reach the input range."""
    rng = np.random.default_rng(5)
    w = rng.normal(0.0, 1.0, (10, 4))
    x = rng.uniform(0.0, 1.0, (6, 10))
    return w, x


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """Surrogates calibrated in ngspice, one per tile kind, on demand (small: 12x12 tiles)."""
    from cimspice.surrogate.calibrate import calibrate

    cache: Path = tmp_path_factory.mktemp("spice-cache")
    done: dict[str, TileSurrogate] = {}

    def get(kind: str) -> TileSurrogate:
        if kind not in done:
            spec = kind_spec(kind)
            with warnings.catch_warnings():
                # a 1S1R cell's law is too steep for the fast mode's polynomials over 0-1 V:
                # calibrate says so; these tests use the accurate mode
                warnings.simplefilter("ignore", FastModeWarning)
                cal = calibrate(spec, samples=2, batch=4, seed=1, cache_dir=cache)
            done[kind] = cal.surrogate
        return done[kind]

    return get


@pytest.mark.parametrize("kind", ["sinh", "1S1R"])
def test_nonlinear_two_terminal_tiles_in_a_network_match_the_exact_solve(kind, layer):
    """Without ngspice: the surrogate's accurate mode (Newton on the network, the cells' own
    law) inside the network against the nodal engine (the exact solve) inside the network."""
    w, x = layer
    spec = kind_spec(kind)
    nominal = TileSurrogate(spec, TileParams.from_spec(spec))  # exact resistances: no fit
    hw_sur = HardwareMatMul(spec, surrogate=nominal, probe=(0, 0))
    hw_exact = HardwareMatMul(spec, engine="nodal", probe=(0, 0))
    y_sur, y_exact = hw_sur(0, x, w), hw_exact(0, x, w)
    rec_sur, rec_exact = hw_sur.record, hw_exact.record
    assert rec_sur is not None and rec_exact is not None
    # the same devices and drive: programming is seeded, not engine-dependent
    np.testing.assert_array_equal(rec_sur.conductances, rec_exact.conductances)
    np.testing.assert_array_equal(rec_sur.voltages, rec_exact.voltages)
    # The accurate mode stops once it predicts < 1e-6 V left in any cell voltage (README):
    # measured within 1e-6 of full scale of the exact solve.
    assert max_error(rec_sur.currents, rec_exact.currents) < 2e-6
    # The layer's outputs are exactly those columns recombined (one tile, one phase, the 6
    # vectors all probed), for each engine: the network adds nothing but the mapping.
    np.testing.assert_allclose(y_sur, from_columns(hw_sur, x, rec_sur.currents), rtol=1e-10)
    np.testing.assert_allclose(y_exact, from_columns(hw_exact, x, rec_exact.currents), rtol=1e-10)
    # and the nonlinear law is really in the loop: a linear tile gives other outputs
    linear = HardwareMatMul(kind_spec("passive"), engine="nodal")(0, x, w)
    assert np.abs(linear - y_exact).max() > 100 * np.abs(y_sur - y_exact).max()


@pytest.mark.ngspice
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_tile_kind_in_a_network_matches_ngspice(kind, layer, calibrated):
    """A layer on the calibrated surrogate against the same layer with every tile run in
    ngspice; the surrogate's probe tile against ngspice on its own (the spot-check)."""
    w, x = layer
    spec = kind_spec(kind)
    surrogate = None if kind == "passive" else calibrated(kind)
    hw = HardwareMatMul(spec, surrogate=surrogate, probe=(0, 0))
    spice = HardwareMatMul(spec, engine="ngspice", probe=(0, 0))
    y, y_spice = hw(0, x, w), spice(0, x, w)
    rec, rec_spice = hw.record, spice.record
    assert rec is not None and rec_spice is not None
    np.testing.assert_array_equal(rec.conductances, rec_spice.conductances)
    tia = spec.has_tia
    assert (rec.v_out is not None) == tia and (rec_spice.v_out is not None) == tia
    mine = rec.v_out if tia else rec.currents
    truth = rec_spice.v_out if tia else rec_spice.currents
    held = (1e-12, 1e-12) if surrogate is None else held_out_error(surrogate.metadata, v_out=tia)
    assert held is not None
    # The tile inside the network is within the calibration report's held-out error of
    # ngspice (or round-off for the exact passive model), with a factor 3 because these 6
    # vectors are not the held-out ones and a 2-sample calibration's held-out set is small
    # (measured: 0.01x (1S1R) to 1.3x (1T1R + CMOS TIA) of the held-out max error).
    err = max_error(mine, truth)
    assert err <= 3 * max(held[1], 1e-11), (kind, err, held)
    # The spot-check reruns the record in ngspice by itself and reaches the same verdict
    # (ngspice reproduces its own run to its tolerances: 1e-6 relative of the error).
    check = spot_check(spec, rec, held_out=held)
    assert check.quantity == ("v_out" if tia else "currents")
    assert check.max_error == pytest.approx(err, rel=1e-3, abs=1e-9)
    # Each layer's outputs are its tile's readings recombined: what the digital side reads
    # of the TIAs (v_out / -r_f) or the currents, from the surrogate and from ngspice.
    np.testing.assert_allclose(
        y, from_columns(hw, x, read_columns(hw, rec.currents, rec.v_out)), rtol=1e-10
    )
    np.testing.assert_allclose(
        y_spice,
        from_columns(spice, x, read_columns(spice, rec_spice.currents, rec_spice.v_out)),
        rtol=1e-10,
    )


@pytest.mark.ngspice
def test_a_tia_tiles_adc_reads_volts_as_the_standalone_tile_does(layer, calibrated):
    """With a TIA and an ADC, the network's digital side sees the ADC's reading of v_out,
    the same numbers as the standalone pipeline (DAC -> tile -> ADC in volts)."""
    w, x = layer
    surrogate = calibrated("tia")
    spec = kind_spec("tia", readout={"adc_bits": 6, "adc_full_scale": 0.5})
    hw = HardwareMatMul(spec, surrogate=surrogate, probe=(0, 0), input_ranges={0: 1.0})
    y = hw(0, x, w)
    mapped = hw.layers[0]
    slot = mapped.tiling.tiles[0]
    assert len(mapped.tiling.tiles) == 1
    # the standalone tile: the surrogate's own spec (no converters), then the spec's ADC
    tile = SurrogateEngine(surrogate).program(surrogate.spec, mapped.programmed[0].conductances)
    volts = np.zeros((x.shape[0], ROWS))
    volts[:, :10] = x * spec.driver.v_read  # input range 1.0: u = x, one phase
    analogue = run_tile(surrogate.spec, tile, volts)
    assert analogue.v_out is not None
    _, digital = adc(spec, analogue.v_out)  # volts, 6 bits over +-0.5 V
    columns = -digital[:, : slot.used_cols] / spec.readout.r_f
    expected = mapped.tiling.combine(columns, slot) * mapped.tiling.sliced.w_scale
    expected *= 1.0 / spec.driver.v_read
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-15)
    # the quantisation is really there: 6 bits over 0.5 V are 16 mV steps
    assert np.abs(digital - analogue.v_out).max() > 1e-3


def test_engines_come_from_the_registry(layer):
    w, x = layer
    spec = kind_spec("passive")
    from cimspice.errors import InputError

    with pytest.raises(InputError, match="unknown tile engine 'spice'"):
        HardwareMatMul(spec, engine="spice")
    with pytest.raises(InputError, match="has no option 'timeout'"):
        HardwareMatMul(spec, engine="nodal", engine_options={"timeout": 1})
    # the ideal engine's tile is V @ G of the programmed conductances
    hw = HardwareMatMul(spec, engine="ideal", probe=(0, 0))
    hw(0, x, w)
    rec = hw.record
    assert rec is not None
    g = get_engine("ideal").program(tile_spec(spec), rec.conductances)
    np.testing.assert_allclose(rec.currents, rec.voltages @ g.transfer, rtol=1e-12)


def test_ideal_tiles_behind_tias_read_the_same_as_the_currents(layer):
    """A tile with a transfer matrix gives currents whatever the readout (the ideal engine's:
    nodal refuses TIAs, the surrogate's linear tiles read theirs): behind ideal TIAs
    (infinite gain, no offset) and an ADC over +-0.5 V, the network's outputs are those of
    the same tiles whose ADC reads the currents over +-0.5 V / r_f. (The ideal engine's tiles
    once went through the TIA's -1 / r_f a second time: every output at the ADC's clip.)"""
    w, x = layer
    r_f = 2e3
    tia = kind_spec(
        "passive", readout={"kind": "tia", "r_f": r_f, "adc_bits": 6, "adc_full_scale": 0.5}
    )
    currents = kind_spec("passive", readout={"adc_bits": 6, "adc_full_scale": 0.5 / r_f})
    y_tia = HardwareMatMul(tia, engine="ideal", input_ranges={0: 1.0})(0, x, w)
    y_currents = HardwareMatMul(currents, engine="ideal", input_ranges={0: 1.0})(0, x, w)
    # the same codes; the values differ by the rounding of one product and one quotient
    np.testing.assert_allclose(y_tia, y_currents, rtol=1e-12, atol=1e-15)
    assert np.abs(y_tia).max() > 0.1 * np.abs(x @ w).max()  # not all clipped or zero
