"""Network accuracy under programming that rests on circuit simulation: a programming model
calibrated from SPICE write-verify (:mod:`cimspice.write.calibrate`) selected by a network
spec (``nonideal.model = "spice-verify"``, ``nonideal.programming_file``) and used by
``cimspice evaluate``; checked against held-out SPICE write-verify through the network's own
tile programming."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_write_rows import one_t  # VTEAM 1T1R cells, 20% device-to-device spread

from cimspice.cli import main
from cimspice.devices.registry import device_model
from cimspice.devices.tile import program_tile
from cimspice.errors import ModelFileError, SpecError
from cimspice.spec import load_spec
from cimspice.write.calibrate import calibrate_programming, ks_distance
from cimspice.write.verify import VerifyPolicy, write_verify

WINDOW = (5e-6, 50e-6)
NETWORK = f"[array]\nrows = 32\ncols = 32\n[device]\ng_min = {WINDOW[0]}\ng_max = {WINDOW[1]}\n"
"""The network's tiles: the window of the write-verify runs (no scaling between windows)."""


def verify(tol: float, seed: int) -> object:
    policy = VerifyPolicy(tol=tol, v_set_start=0.8, v_reset_start=0.03, step=0.004, max_pulses=30)
    targets = np.random.default_rng(seed).uniform(*WINDOW, (4, 4))
    return write_verify(
        one_t(4), targets, policy, progress=False, row_decks=True, static_cells="open", jobs=2
    )


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> dict[str, object]:
    """SPICE write-verify at a fine (0.1 of the window) and a coarse (0.4) tolerance, each
    calibrated into a programming model file; a held-out fine run."""
    folder = tmp_path_factory.mktemp("programming")
    out: dict[str, object] = {"folder": folder, "held": verify(0.1, seed=2)}
    for name, tol in (("fine", 0.1), ("coarse", 0.4)):
        model = calibrate_programming([verify(tol, seed=0)], bins=2, source=f"test, tol {tol}")
        model.save(folder / f"{name}.json")
        out[name] = model
        spec = NETWORK + f'[nonideal]\nmodel = "spice-verify"\nprogramming_file = "{name}.json"\n'
        (folder / f"{name}.toml").write_text(spec)
    fine = out["fine"]
    (folder / "generic.toml").write_text(
        NETWORK + f"[nonideal]\nprog_noise_abs = {fine.prog_noise_abs!r}\n"  # type: ignore[attr-defined]
        f"prog_noise_rel = {fine.prog_noise_rel!r}\n"  # type: ignore[attr-defined]
    )
    (folder / "ideal.toml").write_text(NETWORK)
    return out


@pytest.mark.ngspice
def test_network_tiles_programmed_by_the_spice_model_match_held_out_spice(calibrated):
    folder = calibrated["folder"]
    held = calibrated["held"]
    spec = load_spec(folder / "fine.toml")
    assert device_model(spec).name == "spice-verify"
    # the network's own tile programming (program_tile, as evaluate calls it) of the held-out
    # targets, 50 device seeds: its errors against the held-out SPICE cells' errors
    errors = []
    for seed in range(50):
        s = spec.replace({"nonideal.seed": seed})
        g = program_tile(held.targets, s, (4, 4), 0, 0).programmed
        errors.append((g - held.targets) / (WINDOW[1] - WINDOW[0]))
    drawn = np.concatenate([e.ravel() for e in errors])
    spice = held.errors.ravel()
    # the 1% critical KS value for 16 cells against 800 draws is 1.63 sqrt(1/16 + 1/800) = 0.41
    assert ks_distance(drawn, spice) < 0.41
    # write-verify coming down in RESET steps leaves a positive bias (cells stop on entering
    # the band from above), which the zero-mean Gaussian fit of the same spread misses
    assert spice.mean() > 0.03 and drawn.mean() > 0.03
    generic = load_spec(folder / "generic.toml")
    gaussian = np.concatenate(
        [
            program_tile(held.targets, generic.replace({"nonideal.seed": k}), (4, 4), 0).programmed
            for k in range(50)
        ]
    )
    assert ks_distance((gaussian.ravel() - np.tile(held.targets.ravel(), 50)) / 45e-6, spice) > 0.41


@pytest.mark.ngspice
def test_evaluate_with_the_spice_calibrated_model_file(calibrated, tmp_path):
    folder = calibrated["folder"]
    accuracy = {}
    for name in ("ideal", "fine", "coarse", "generic"):
        out = tmp_path / f"{name}.json"
        code = main(
            ["evaluate", "--model", "digits-mlp", "--spec", str(folder / f"{name}.toml"),
             "--engine", "ideal", "--json", str(out), "--no-progress"]
        )  # fmt: skip
        assert code == 0
        accuracy[name] = json.loads(out.read_text())["accuracy_hardware"]
    # 450 test digits: a binomial standard error of ~0.01 at 0.97, ~0.017 at 0.86. Measured:
    # ideal 0.973, fine 0.967, its Gaussian fit 0.964, coarse 0.860 (calibrated on two coarse
    # runs instead of one, 0.28-0.42 over device seeds 0-2)
    assert accuracy["fine"] >= accuracy["ideal"] - 0.03
    assert abs(accuracy["fine"] - accuracy["generic"]) <= 0.03
    # a write-verify four times coarser in SPICE leaves the network less accurate (by more
    # than three standard errors)
    assert accuracy["coarse"] < accuracy["fine"] - 0.05


def test_programming_file_errors(tmp_path, monkeypatch):
    from cimspice.devices.programmed import ProgrammingModel

    model = ProgrammingModel(
        edges=np.array([0.0, 0.5, 1.0]),
        errors=(np.array([0.01, 0.02]), np.array([-0.01])),
        pulses=(np.array([3, 4]), np.array([5])),
        window=WINDOW,
        tol=0.03,
        prog_noise_abs=1e-7,
        prog_noise_rel=0.0,
        energy_per_cell_j=1e-12,
        time_per_cell_s=1e-6,
    )
    model.save(tmp_path / "p.json")
    good = NETWORK + '[nonideal]\nmodel = "spice-verify"\nprogramming_file = "p.json"\n'

    def spec_of(text: str) -> object:
        (tmp_path / "s.toml").write_text(text)
        return load_spec(tmp_path / "s.toml")

    m = device_model(spec_of(good))
    g = m.pulse(np.full(1000, 40e-6), np.random.default_rng(0))  # the upper bin: -0.01
    np.testing.assert_allclose(g, 40e-6 - 0.01 * 45e-6, rtol=1e-12)
    with pytest.raises(SpecError, match="programming_file"):
        spec_of(NETWORK + '[nonideal]\nprogramming_file = "p.json"\n')
    with pytest.raises(SpecError, match="programming_file"):
        spec_of(NETWORK + '[nonideal]\nmodel = "spice-verify"\n')
    with pytest.raises(SpecError, match=r"nonideal\.verify_tol"):
        device_model(spec_of(good + "verify_tol = 1e-6\n"))
    with pytest.raises(SpecError, match=r"nonideal\.read_noise"):
        device_model(spec_of(good + "read_noise = 0.01\n"))
    with pytest.raises(SpecError, match=r"nonideal\.drift_time.*no drift law"):
        device_model(spec_of(good + "drift_time = 10.0\n"))
    outside = tmp_path.parent / f"{tmp_path.name}-other.json"
    model.save(outside)
    monkeypatch.delenv("CIMSPICE_MODEL_PATH", raising=False)
    with pytest.raises(ModelFileError, match=r"nonideal\.programming_file.*outside"):
        device_model(spec_of(good.replace('"p.json"', f'"{outside}"')))
    with pytest.raises(ModelFileError, match="not found"):
        device_model(spec_of(good.replace('"p.json"', '"missing.json"')))
    data = json.loads((tmp_path / "p.json").read_text())
    data["errors"][1] = [-0.5]
    (tmp_path / "edited.json").write_text(json.dumps(data))
    with pytest.raises(SpecError, match="edited after cimspice wrote it"):
        device_model(spec_of(good.replace("p.json", "edited.json")))
