"""Write decks with the VTEAM model as its Verilog-A twin (models/vteam.va compiled by OpenVAF,
loaded through ngspice's OSDI interface; ``[write] osdi = true``) against the behavioural
subcircuit (models/vteam.lib): the same write-verify, decision by decision."""

from __future__ import annotations

import numpy as np
import pytest
from test_write_rows import one_t

from cimspice.errors import EngineUnavailableError, SpecError
from cimspice.spec import spec_from_dict
from cimspice.write.deck import build_write_deck
from cimspice.write.models import dynamic_model
from cimspice.write.pulses import Program, read_row
from cimspice.write.verify import VerifyPolicy, write_verify


def vteam_1t1r(n: int, osdi: bool) -> object:
    """The row-deck tests' 1T1R VTEAM array, with the device as Verilog-A or behavioural."""
    return one_t(n, osdi=osdi)


@pytest.mark.ngspice
@pytest.mark.osdi
def test_write_verify_with_the_osdi_device_matches_the_behavioural_one():
    policy = VerifyPolicy(tol=0.04, v_set_start=0.8, v_reset_start=0.03, step=0.004, max_pulses=30)
    targets = np.random.default_rng(0).uniform(5e-6, 50e-6, (2, 2))
    osdi = write_verify(vteam_1t1r(2, True), targets, policy, progress=False)
    beh = write_verify(vteam_1t1r(2, False), targets, policy, progress=False)
    assert osdi.converged.all()
    # the same equations, compiled instead of ngspice's expression trees: the same pulses,
    # cell by cell, and the same Newton iterations up to rounding (measured: reads 1.8e-10 of
    # the window apart, states 4e-11, energy 7e-10 relative after ~19 pulses per cell)
    np.testing.assert_array_equal(osdi.pulses, beh.pulses)
    assert np.max(np.abs(osdi.history - beh.history)) / 45e-6 < 1e-6
    np.testing.assert_allclose(osdi.states, beh.states, rtol=0, atol=1e-6)
    assert osdi.energy_j == pytest.approx(beh.energy_j, rel=1e-6)
    assert osdi.time_s == beh.time_s


@pytest.mark.osdi
def test_an_osdi_deck_holds_one_model_card_per_rate_factor():
    spec = vteam_1t1r(2, True)
    model = dynamic_model(spec)
    assert model.osdi.endswith(".osdi") and model.osdi_module == "vteam_va"
    program = Program((read_row(spec, 0, 20e-9),), 1e-9)
    deck = build_write_deck(spec, model, program, np.full((2, 2), 0.5))
    assert deck.osdi == (model.osdi,)
    lines = deck.text.splitlines()
    cards = [ln for ln in lines if ln.startswith(".model dyn_osdi_")]
    devices = [ln for ln in lines if ln.startswith("nr")]
    assert len(cards) == len(devices) == 4  # four cells, four drawn factors
    assert not any(ln.startswith(".subckt vteam") for ln in lines)


def test_osdi_is_refused_without_a_verilog_a_twin_or_a_compiler(monkeypatch):
    with pytest.raises(SpecError, match=r"write\.osdi.*vteam"):
        spec_from_dict(
            {"array": {"rows": 1, "cols": 1}, "write": {"model": "stanford", "osdi": True}}
        )
    monkeypatch.setenv("CIMSPICE_OPENVAF", "/nonexistent/openvaf-r")
    with pytest.raises(EngineUnavailableError, match="cannot run the OpenVAF compiler"):
        dynamic_model(vteam_1t1r(1, True))
