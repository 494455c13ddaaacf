"""The charge-domain (1C) tile in the spec: its table, its rules, its hash, and the engines
and netlists that refuse it by name."""

import numpy as np
import pytest

from cimspice.charge.capacitors import cell_capacitances
from cimspice.errors import EngineUnavailableError, NetlistError, SpecError
from cimspice.netlist import build_deck
from cimspice.simulation import simulate
from cimspice.spec import CellKind, InputMode, SwitchKind, spec_from_dict

BASE = {"array": {"rows": 4, "cols": 3, "cell": "1C"}, "driver": {"dac_bits": 4}}


def with_(**tables):
    data = {k: dict(v) for k, v in BASE.items()}
    for name, keys in tables.items():
        data.setdefault(name, {}).update(keys)
    return spec_from_dict(data, source="tile.toml")


def test_defaults_and_derived_values():
    spec = with_()
    assert spec.array.cell == CellKind.ONE_C and spec.is_charge
    assert spec.charge.input_mode == InputMode.BIT_SERIAL
    assert spec.charge.switch == SwitchKind.IDEAL
    assert spec.charge.sigma == 0
    assert spec.charge.period == pytest.approx(2e-9 + 2e-9 + 3 * 20e-12)
    # Pelgrom: sigma scales with 1/sqrt(C): 2 % at 1 fF is 1 % at 4 fF
    assert with_(charge={"mismatch": 0.02, "c_cell": 4e-15}).charge.sigma == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("tables", "key", "words"),
    [
        ({"charge": {"c_cell": 0.0}}, "charge.c_cell", "> 0"),
        ({"charge": {"c_par": -1e-15}}, "charge.c_par", ">= 0"),
        ({"charge": {"mismatch": 0.3}}, "charge.mismatch", "at most 0.2"),
        ({"charge": {"switch": "pmos"}}, "charge.switch", "unknown switch model"),
        ({"charge": {"input_mode": "pwm"}}, "charge.input_mode", "unknown input mode"),
        ({"charge": {"adc_bits": 6}}, "charge.adc_full_scale", "> 0 when"),
        ({"charge": {"t_edge": 2e-9}}, "charge.t_edge", "half of t_reset"),
        ({"charge": {"w_switch": 1.0}}, "charge.w_switch", "metre"),
        ({"charge": {"seed": -1}}, "charge.seed", ">= 0"),
        ({"charge": {"r_reset": float("inf")}}, "charge.r_reset", "finite"),
        ({"charge": {"c_unit": 1e-15}}, "charge.c_unit", "unknown key"),
        ({"wire": {"r_col": 2.0}}, "wire.r_col", "not used by a charge-domain"),
        ({"wire": {"c_col": 1e-15}}, "wire.c_col", "charge.c_par"),
        ({"readout": {"kind": "tia"}}, "readout.kind", "column ADC"),
        ({"readout": {"adc_bits": 6, "adc_full_scale": 1.0}}, "readout.adc_bits", "charge"),
        ({"driver": {"dac_signed": True}}, "driver.dac_signed", "unipolar"),
        ({"driver": {"dac_bits": 0}}, "driver.dac_bits", "bit-serial"),
    ],
)
def test_bad_values_name_their_key(tables, key, words):
    with pytest.raises(SpecError, match=words) as err:
        with_(**tables)
    assert err.value.key == key
    assert "tile.toml" in str(err.value)


def test_multi_level_inputs_may_be_exact():
    spec = with_(driver={"dac_bits": 0}, charge={"input_mode": "multi-level"})
    assert spec.driver.dac_bits == 0


def test_the_charge_table_enters_the_hash_of_1c_tiles_only():
    passive = spec_from_dict({"array": {"rows": 4, "cols": 3}})
    assert passive.replace({"charge.c_cell": 2e-15}).content_hash() == passive.content_hash()
    assert "charge" not in passive.hash_data()
    spec = with_()
    assert "charge" in spec.hash_data()
    assert spec.replace({"charge.c_cell": 2e-15}).content_hash() != spec.content_hash()
    assert spec.replace({"charge.seed": 1}).content_hash() != spec.content_hash()


def test_mismatch_draw_is_reproducible_and_scaled():
    spec = with_(charge={"mismatch": 0.05, "seed": 3})
    a, b = cell_capacitances(spec), cell_capacitances(spec)
    assert np.array_equal(a, b) and a.shape == (4, 3)
    other = cell_capacitances(spec.replace({"charge.seed": 4}))
    assert not np.array_equal(a, other)
    big = spec.replace({"array.size": 200})
    rel = cell_capacitances(big) / 1e-15 - 1
    # 40,000 draws: the sample std's standard error is 0.35 % of it; 3 % is ~9 of them
    assert rel.std() == pytest.approx(0.05, rel=0.03)
    assert np.all(cell_capacitances(with_()) == 1e-15)


def test_resistive_engines_and_decks_refuse_charge_tiles():
    spec = with_()
    g = np.full((4, 3), 1e-5)
    for engine in ("nodal", "ideal"):
        with pytest.raises(EngineUnavailableError, match='engine "charge"'):
            simulate(spec, g, np.zeros(4), engine=engine)
    with pytest.raises(NetlistError, match="build_charge_deck"):
        build_deck(spec, g, np.zeros(4))
