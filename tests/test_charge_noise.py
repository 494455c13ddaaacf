"""The switches' and drivers' thermal noise of a charge-domain tile: ngspice's transient
noise (trnoise on every switch and driver resistance) against the analytical term the
surrogate adds (:func:`cimspice.charge.surrogate.column_noise_std`)."""

from pathlib import Path

import numpy as np
import pytest

from cimspice.charge.capacitors import cell_capacitances
from cimspice.charge.closed_form import ktc_noise_std, share_noise_std, shared_voltage
from cimspice.charge.deck import NoiseOptions, build_charge_deck
from cimspice.charge.engine import ChargeEngine
from cimspice.charge.run import run_cycles
from cimspice.charge.surrogate import column_noise_std
from cimspice.errors import InputError, SpecError
from cimspice.spec import ChargeNoise, load_spec

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "charge-noise.toml"


def noisy_spec(cols=24, **charge):
    """examples/charge-noise.toml (4x24, 100 kohm switches, 4 fF) with ``charge`` keys set."""
    spec = load_spec(EXAMPLE).replace({"array.cols": cols})
    return spec.replace({f"charge.{k}": v for k, v in charge.items()}) if charge else spec


def test_the_share_phase_noise_is_equipartition():
    # kT/C_T of the reset plus kT C_s / (C_T c_par) of the share phase is kT / c_par, for
    # any capacitors (mismatch included).
    rng = np.random.default_rng(0)
    caps = 1e-15 * rng.uniform(0.5, 2.0, (6, 5))
    c_par = 3e-15
    c_t = caps.sum(axis=0) + c_par
    total = ktc_noise_std(c_t) ** 2 + share_noise_std(caps, c_par) ** 2
    assert total == pytest.approx(ktc_noise_std(c_par) ** 2, rel=1e-12)
    spec = noisy_spec(cols=5)
    caps = cell_capacitances(spec)
    assert column_noise_std(spec, caps, ChargeNoise.OFF) == pytest.approx(0.0)
    assert column_noise_std(spec, caps, ChargeNoise.THERMAL) == pytest.approx(
        ktc_noise_std(4e-15), rel=1e-12
    )


@pytest.mark.ngspice
def test_switch_and_driver_noise_in_ngspice_matches_the_analytical_term():
    # 4 rows x 24 columns, random bits, 13 MAC cycles: 312 sampled columns. Every switch
    # (cells, line pull-ups and pull-downs, resets) and every driver resistance carries its
    # thermal noise. Expected: sqrt(kT / c_par) = 1.02 mV per column, 2.2x the reset's
    # kT/C_T alone (0.45 mV), which would fail this test. Tolerance 15 %: the std of 312
    # draws has a standard error of 4 % (columns sharing a line are correlated a little:
    # ~5 % effective), trnoise's linear interpolation takes ~1 % off, so 15 % is ~3 sigma.
    spec = noisy_spec(noise="thermal")
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 2, (4, 24)).astype(float)
    x = rng.uniform(0, 0.2, (13, 4))
    caps = cell_capacitances(spec)
    run = run_cycles(spec, bits, x, caps=caps, noise=NoiseOptions(seed=7, switches=True))
    deviation = run.v_col - shared_voltage(caps, bits, x, 4e-15)
    expected = float(column_noise_std(spec, caps, ChargeNoise.THERMAL)[0])
    assert np.std(deviation) == pytest.approx(expected, rel=0.15)
    # no offset from the noise: a cycle's columns share their lines' noise, so the mean is
    # bounded as of 13 independent draws (4 sigma)
    assert abs(np.mean(deviation)) < 4 * expected / np.sqrt(13)
    # the engine's ngspice backend runs the spec's noise kind (charge.noise = "thermal")
    tile = ChargeEngine(surrogate=None).program(spec, bits)
    assert (
        "vnw0_0"
        in build_charge_deck(spec, bits, x[:1], caps, noise=NoiseOptions(switches=True)).text
    )
    out = tile.run(x[:2]).v_out
    assert not np.allclose(out, shared_voltage(caps, bits, x[:2], 4e-15), atol=1e-5)


def test_switch_noise_needs_what_equilibrium_needs():
    with pytest.raises(SpecError, match=r"charge.noise"):
        noisy_spec(noise="thermal", c_par=0.0)
    bits = np.ones((4, 24))
    short = noisy_spec(t_share=20e-9)
    with pytest.raises(InputError, match="t_share"):
        build_charge_deck(
            short,
            bits,
            np.full((1, 4), 0.1),
            cell_capacitances(short),
            noise=NoiseOptions(switches=True),
        )
