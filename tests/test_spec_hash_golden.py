"""The spec hash, pinned: every surrogate file and cached SPICE run stores the hash of its
tile's spec and is refused when it changes, so the hash of every spec must stay what it was.

The hashes below were computed by ``CrossbarSpec.content_hash`` as it stood on main at commit
74801c2 (before the spec became a package with per-field hash rules), one per spec in
``GOLDEN_SPECS``: every cell kind, readout kind and op-amp, DAC/ADC on and off, linear and sinh
cells, zero and non-zero parasitics, user model files with and without a section, and the
network sections (which never enter the hash). Keys that do not change the circuit (an
unused readout's keys, ``v0`` of a linear cell, ``[access]`` of a passive cell...) give the
same hash as leaving them out: several entries share a hash on purpose.

Never regenerate these numbers: a change here invalidates every surrogate file users hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cimspice.spec import load_spec, spec_from_dict

GOLDEN_SPECS: dict[str, dict] = {
    "passive-minimal": {"array": {"rows": 64, "cols": 64}},
    "passive-1x1": {"array": {"rows": 1, "cols": 1, "cell": "0T1R"}},
    "passive-ints-for-floats": {
        "array": {"rows": 16, "cols": 48},
        "wire": {"r_row": 2, "r_col": 3},
        "device": {"g_min": 0, "g_max": 1},
    },
    "passive-wires-ends": {
        "array": {"rows": 64, "cols": 64},
        "wire": {"r_row": 2.0, "r_col": 2.5},
        "driver": {"r_source": 50.0, "v_read": 0.3},
        "readout": {"r_in": 100.0},
        "device": {"g_min": 1e-6, "g_max": 100e-6},
    },
    "passive-dac-unsigned": {
        "array": {"rows": 32, "cols": 32},
        "driver": {"dac_bits": 8},
    },
    "passive-dac-signed": {
        "array": {"rows": 32, "cols": 32},
        "driver": {"dac_bits": 4, "dac_signed": True, "v_read": 0.25},
    },
    "dac-off-signed-set": {
        "array": {"rows": 32, "cols": 32},
        "driver": {"dac_bits": 0, "dac_signed": True},
    },
    "ideal-adc": {
        "array": {"rows": 128, "cols": 128},
        "readout": {"adc_bits": 8, "adc_full_scale": 50e-6},
    },
    "ideal-adc-off-fs-set": {
        "array": {"rows": 16, "cols": 16},
        "readout": {"adc_bits": 0, "adc_full_scale": 1e-3},
    },
    "ideal-with-tia-keys-set": {
        "array": {"rows": 16, "cols": 16},
        "readout": {
            "kind": "ideal",
            "r_f": 5e3,
            "gain": 100.0,
            "opamp": "cmos",
            "i_bias": 40e-6,
            "c_f": 2e-12,
            "t_reset": 1e-9,
        },
    },
    "tia-behavioural-default": {
        "array": {"rows": 16, "cols": 16},
        "readout": {"kind": "tia"},
    },
    "tia-behav-custom-adc": {
        "array": {"rows": 16, "cols": 16},
        "readout": {
            "kind": "tia",
            "r_f": 2e3,
            "gain": 1e3,
            "v_offset": 1e-3,
            "v_swing": 0.8,
            "gbw": 1e8,
            "adc_bits": 6,
            "adc_full_scale": 0.5,
            "v_supply": 1.8,
        },
    },
    "tia-cmos-default": {
        "array": {"rows": 16, "cols": 16},
        "readout": {"kind": "tia", "opamp": "cmos"},
    },
    "tia-cmos-custom-adc": {
        "array": {"rows": 16, "cols": 16},
        "readout": {
            "kind": "tia",
            "opamp": "cmos",
            "v_supply": 1.0,
            "i_bias": 80e-6,
            "gain": 55.0,
            "adc_bits": 8,
            "adc_full_scale": 0.0375,
        },
    },
    "integrator-behavioural": {
        "array": {"rows": 8, "cols": 8},
        "readout": {"kind": "integrator", "c_f": 5e-12, "t_reset": 2e-9},
        "wire": {"c_row": 1e-15, "c_col": 2e-15},
    },
    "integrator-cmos-adc": {
        "array": {"rows": 8, "cols": 8},
        "readout": {
            "kind": "integrator",
            "opamp": "cmos",
            "c_f": 1e-12,
            "adc_bits": 4,
            "adc_full_scale": 0.4,
        },
    },
    "sinh-default-v0": {
        "array": {"rows": 32, "cols": 32},
        "device": {"iv": "sinh"},
    },
    "sinh-v0": {
        "array": {"rows": 32, "cols": 32},
        "wire": {"r_row": 1.0, "r_col": 1.0},
        "device": {"iv": "sinh", "v0": 0.3, "g_max": 50e-6},
    },
    "linear-v0-set": {
        "array": {"rows": 32, "cols": 32},
        "device": {"iv": "linear", "v0": 0.3},
    },
    "parasitics-row": {
        "array": {"rows": 16, "cols": 16},
        "wire": {"r_row": 2.0, "r_col": 2.0, "c_row": 1e-15},
    },
    "parasitics-col-cell": {
        "array": {"rows": 16, "cols": 16},
        "wire": {"c_col": 3e-15},
        "device": {"c_cell": 1e-16},
    },
    "1t1r-default": {
        "array": {"rows": 32, "cols": 32, "cell": "1T1R"},
    },
    "1t1r-custom-access": {
        "array": {"rows": 32, "cols": 32, "cell": "1T1R"},
        "wire": {"r_row": 2.5, "r_col": 2.5},
        "access": {"v_gate": 1.0, "w": 300e-9, "l": 100e-9, "r_select": 5.0},
    },
    "1t1r-model-file": {
        "array": {"rows": 16, "cols": 16, "cell": "1T1R"},
        "access": {"model": "nch", "model_file": "cards/foundry.lib"},
    },
    "1t1r-model-section": {
        "array": {"rows": 16, "cols": 16, "cell": "1T1R"},
        "access": {"model": "nch", "model_file": "cards/foundry.lib", "model_section": "tt"},
    },
    "1t1r-sinh-parasitics": {
        "array": {"rows": 16, "cols": 16, "cell": "1T1R"},
        "device": {"iv": "sinh", "v0": 0.25, "c_cell": 2e-16},
        "wire": {"c_row": 1e-15},
        "access": {"r_select": 10.0},
    },
    "1t1r-cmos-tia-adc-128": {
        "array": {"rows": 128, "cols": 128, "cell": "1T1R"},
        "wire": {"r_row": 2.0, "r_col": 2.0},
        "driver": {"v_read": 0.2, "dac_bits": 8},
        "readout": {
            "kind": "tia",
            "opamp": "cmos",
            "r_f": 750.0,
            "i_bias": 80e-6,
            "adc_bits": 8,
            "adc_full_scale": 0.0375,
        },
        "device": {"g_min": 1e-6, "g_max": 25e-6},
        "mapping": {"scheme": "differential"},
        "nonideal": {"seed": 0, "levels": 64, "read_noise": 0.01},
    },
    "1s1r-default": {
        "array": {"rows": 16, "cols": 16, "cell": "1S1R"},
    },
    "1s1r-custom-sinh": {
        "array": {"rows": 16, "cols": 16, "cell": "1S1R"},
        "selector": {"i_s": 1e-8, "v_s": 0.05},
        "device": {"iv": "sinh", "v0": 0.15},
        "access": {"v_gate": 0.9, "model_section": ""},
    },
    "1s1r-tia": {
        "array": {"rows": 16, "cols": 16, "cell": "1S1R"},
        "readout": {"kind": "tia", "r_f": 1e3},
    },
    "passive-unused-sections": {
        "array": {"rows": 16, "cols": 16},
        "selector": {"i_s": 1e-8},
        "access": {"v_gate": 0.9, "w": 1e-6},
    },
    "network-mapping-nonideal": {
        "array": {"rows": 128, "cols": 128},
        "wire": {"r_row": 2.0, "r_col": 2.0},
        "driver": {"v_read": 0.2, "dac_bits": 8},
        "readout": {"adc_bits": 8, "adc_full_scale": 50e-6},
        "device": {"g_min": 1e-6, "g_max": 25e-6},
        "mapping": {"scheme": "reference", "weight_bits": 8, "slice_bits": 2, "input_bits": 4},
        "nonideal": {
            "seed": 3,
            "levels": 64,
            "prog_noise_rel": 0.02,
            "prog_noise_abs": 0.1e-6,
            "verify_tol": 0.25e-6,
            "verify_max_pulses": 10,
            "read_noise": 0.01,
            "drift_time": 86400.0,
            "drift_nu": 0.05,
            "drift_nu_std": 0.01,
            "drift_compensation": True,
            "stuck_on": 0.001,
            "stuck_off": 0.001,
            "temperature": 320.0,
            "tc_device": 1e-3,
            "tc_wire": 3.9e-3,
        },
    },
}

GOLDEN_HASHES = {
    "passive-minimal": "30a5aa417d40a8716949d239b5960b491f02659e0b65ddf0366adf4d57c35c64",
    "passive-1x1": "27fb7681cbac36d2cf412bba3fe052a5d0d3c0c7c1508b0f9dd37eeb69632945",
    "passive-ints-for-floats": "8f0fc7a64e9a14f6afd0f21dab7570cc831790e0500e00e92dabe774dbbf5f22",
    "passive-wires-ends": "71fed46cfb5f758b487b90312fc368b1ae14d8d7a198b06d1d9f8ea5725dc0e0",
    "passive-dac-unsigned": "4a6ebcd89a19de0792000d894012aa45538a1685b0a7b71719bf8809140610d3",
    "passive-dac-signed": "2bc9f3399fc7bbd9b6d734f5e47d1f4fb2eb24cd74aed21c346459f7c473e04a",
    "dac-off-signed-set": "fd42a757ed996a78379ce19200cce9449d12aaa0352af8e1a130795e54afde6d",
    "ideal-adc": "07bad3cab89f1a370ca5e4b3b6927c4efb1e78fb5484bf2b37f6db26638e2feb",
    "ideal-adc-off-fs-set": "5b9f3f7f4b611f463e2e2fca7ae6f5bc15a0a99510aee4f394cd0bf47239d8e0",
    "ideal-with-tia-keys-set": "5b9f3f7f4b611f463e2e2fca7ae6f5bc15a0a99510aee4f394cd0bf47239d8e0",
    "tia-behavioural-default": "d30aef616c655e0f2b51058d85d8a3ba67865e4bde93983cec5e55d22eb873ba",
    "tia-behav-custom-adc": "a79b38122dc01cd5ef4cd85737ed7e0e72690730f7d5b3753675d8609f57f7b2",
    "tia-cmos-default": "4507e1f366480d70d00c3c47af706214c8869dac5b5af97cc2a16d6153ff45ae",
    "tia-cmos-custom-adc": "59d5461700be4a0cdd23fb8adc05aae3513e47212aa22f99378a34c37079b9d1",
    "integrator-behavioural": "139e762786db7e0a41dd21e8ae321800970a440ae54e19646958c368d0f66929",
    "integrator-cmos-adc": "ee9ff27e39e5943c7c2d8d49280fd73640edfb1e810d382fbd595d54d3c049be",
    "sinh-default-v0": "703e7d86879765cab39d2e56c30e61b43697471cbc4014887cb89c32b4b7976d",
    "sinh-v0": "60ebed16a02604202e773c9c469f6c98df784261edfaaa046bf4c08cce97948b",
    "linear-v0-set": "fd42a757ed996a78379ce19200cce9449d12aaa0352af8e1a130795e54afde6d",
    "parasitics-row": "8a892a55b18892f529c4ce74e0d67637c1603f4cda0177939a6afb758b5a90a8",
    "parasitics-col-cell": "9254284c20fbd2b65b977bd4572ea5d938b2b2621593afadb291cf1a2d5e290d",
    "1t1r-default": "6539d6336144bc4421aad5b963f103699343d74fede0f5f02671a4dc7922c8e3",
    "1t1r-custom-access": "3b40a365d431962ee6b4a941f6c5c2cf386699382e4d62546fb48270cec29ef8",
    "1t1r-model-file": "a763e85eb0205fb0f5bff764d2cc5ac6f78434160bd00b6a467722b32f4206c3",
    "1t1r-model-section": "054f007eddde7d951bc835e98e43b1004052a84f5db0d3705560e97bea8cd06b",
    "1t1r-sinh-parasitics": "aed79c46c41c8ddc524c7e592e4833cddf6d5574721166063104db9b5c58d7bc",
    "1t1r-cmos-tia-adc-128": "ac88f5711704cde502578008b358cb5f98c7907c9835a29234c2c216ccfc5400",
    "1s1r-default": "4acf551858ed074b87b93aca6ae91ac8b111aab7205e26d37d124710ed1636bd",
    "1s1r-custom-sinh": "434f99d52f5faf9b1d353a3947d481fb752ecc26661b9db8ca4af8bea068eb34",
    "1s1r-tia": "8ddceba4e36b06a83ea4a1799677f38d42c0fb34bb0e9462f0c2a95291839d8e",
    "passive-unused-sections": "5b9f3f7f4b611f463e2e2fca7ae6f5bc15a0a99510aee4f394cd0bf47239d8e0",
    "network-mapping-nonideal": "a32013f586a03fcc4b1a173ba411c8fe8fce0cb27d1a1c94c727bb4cab17ff28",
}

EXAMPLE_HASHES = {
    "network-128.toml": "a32013f586a03fcc4b1a173ba411c8fe8fce0cb27d1a1c94c727bb4cab17ff28",
}


def test_every_spec_has_a_golden_hash():
    assert set(GOLDEN_SPECS) == set(GOLDEN_HASHES)


@pytest.mark.parametrize("name", sorted(GOLDEN_SPECS))
def test_hash_is_unchanged(name):
    assert spec_from_dict(GOLDEN_SPECS[name]).content_hash() == GOLDEN_HASHES[name]


@pytest.mark.parametrize("name", sorted(EXAMPLE_HASHES))
def test_example_file_hash_is_unchanged(name):
    path = Path(__file__).resolve().parent.parent / "examples" / name
    assert load_spec(path).content_hash() == EXAMPLE_HASHES[name]
