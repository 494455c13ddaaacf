"""Negative seeds are refused where they enter, naming them (issue 11: no tracebacks).

numpy's generators refuse them with a bare ``ValueError`` at the first draw; every way a seed
reaches cimspice (command-line flags, the spec's ``[nonideal] seed``, a ``--sweep`` of it, the
library's seeded functions) says so up front.
"""

from pathlib import Path

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.compensation import default_targets, evaluate_scheme
from cimspice.errors import InputError, SpecError
from cimspice.seeds import check_seed
from cimspice.spec import load_spec, spec_from_dict
from cimspice.surrogate.calibrate import calibrate

SPEC = "[array]\nrows = 4\ncols = 4\n[wire]\nr_row = 2.0\nr_col = 2.0\n"


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(SPEC)
    return path


def test_check_seed():
    assert check_seed(0) == 0 and check_seed(np.int64(7)) == 7 and check_seed(2**70) == 2**70
    for bad in (-1, 1.5, True, "3", None):
        with pytest.raises(InputError, match="seed must be an integer >= 0"):
            check_seed(bad)


@pytest.mark.parametrize(
    "command",
    [
        ["demo", "--seed", "-1", "--out", "{dir}/demo"],
        ["calibrate", "{spec}", "-o", "{dir}/s.json", "--seed", "-1"],
        ["compensate", "{spec}", "--scheme", "ir-predistort", "--engine", "nodal", "--seed", "-2"],
    ],
)
def test_negative_seed_flags_are_usage_errors(spec_file, capsys, command):
    args = [part.format(spec=spec_file, dir=spec_file.parent) for part in command]
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "argument --seed: must be an integer >= 0" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in spec_file.parent.iterdir()) == ["spec.toml"]


def test_negative_spec_seed_is_a_spec_error(spec_file):
    spec_file.write_text(SPEC + "[nonideal]\nseed = -1\n")
    with pytest.raises(SpecError, match=r"key 'nonideal.seed': must be an integer >= 0, got -1"):
        load_spec(spec_file)


def test_negative_seed_in_a_spec_or_a_sweep_is_one_line(spec_file, capsys):
    base = ["evaluate", "--model", "digits-mlp", "--no-progress", "--samples", "5"]
    plots = ["--plot-dir", str(spec_file.parent / "plots")]
    code = main([*base, "--spec", str(spec_file), "--sweep", "nonideal.seed=0,-1", *plots])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "nonideal.seed" in err and ">= 0" in err
    spec_file.write_text(SPEC + "[nonideal]\nseed = -3\n")
    code = main([*base, "--spec", str(spec_file)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "got -3" in err


def test_library_functions_refuse_negative_seeds_before_any_work():
    spec = spec_from_dict({"array": {"rows": 4, "cols": 4}})
    with pytest.raises(InputError, match="seed must be an integer >= 0, got -1"):
        calibrate(spec, seed=-1)  # before any SPICE run
    with pytest.raises(InputError, match="seed"):
        default_targets(spec, seed=-1)
    g = np.full((4, 4), 1e-5)
    with pytest.raises(InputError, match="seed"):
        evaluate_scheme("ir-predistort", spec, g, engine="nodal", seed=-5)
