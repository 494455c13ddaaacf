"""A malformed Dask scheduler address is one clear line, before any SPICE run (issue 11)."""

import pytest

from cimspice.cli import main
from cimspice.errors import InputError
from cimspice.executors import check_executor
from cimspice.spec import spec_from_dict
from cimspice.sweep import run_cases

pytest.importorskip("distributed")

MALFORMED = ["tcp://::::1", "foo://bar", ":99999", "tcp://host:port", "", "host:0", "h:70000"]


@pytest.mark.parametrize("address", MALFORMED)
def test_malformed_addresses_are_refused(address):
    with pytest.raises(InputError, match="malformed Dask scheduler address"):
        check_executor("dask", address)


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1:8786", "127.0.0.1:8786", "localhost", "tcp://[::1]:8786"]
)
def test_well_formed_addresses_pass_without_connecting(address):
    check_executor("dask", address)


def test_executor_checks():
    with pytest.raises(InputError, match="'local' or 'dask'"):
        check_executor("threads")
    with pytest.raises(InputError, match="needs the Dask executor"):
        check_executor("local", "tcp://127.0.0.1:8786")


def test_run_cases_checks_before_running():
    spec = spec_from_dict({"array": {"rows": 2, "cols": 2}})
    with pytest.raises(InputError, match="malformed"):
        run_cases(spec, [], executor="dask", scheduler="tcp://::::1")


@pytest.mark.parametrize("address", ["tcp://::::1", "foo://bar", ":99999"])
def test_calibrate_command_refuses_in_one_line(tmp_path, capsys, address):
    spec = tmp_path / "spec.toml"
    spec.write_text("[array]\nrows = 4\ncols = 4\n")
    out = tmp_path / "s.json"
    code = main(
        ["calibrate", str(spec), "-o", str(out), "--executor", "dask", "--scheduler", address]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "malformed Dask scheduler address" in err
    assert "Traceback" not in err and "[calibrate]" not in err  # nothing ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.toml"]
