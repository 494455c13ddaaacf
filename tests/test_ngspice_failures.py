"""Failures of the SPICE path end in clear errors, with the deck and the log kept."""

import os
import signal
import threading
import time

import numpy as np
import pytest
from conftest import make_spec

from cimspice.engines.ngspice import run_deck
from cimspice.errors import (
    ConvergenceError,
    EngineUnavailableError,
    SimulationError,
    SimulationTimeoutError,
)
from cimspice.simulation import get_engine

pytestmark = pytest.mark.ngspice

SLOW_DECK = """slow transient
v1 a 0 sin(0 1 1e9)
r1 a b 1k
c1 b 0 1p
.tran 1e-14 1
.end
"""


def assert_kept(err: SimulationError) -> None:
    assert err.deck is not None and err.deck.is_file()
    assert err.log is not None
    assert str(err.deck) in str(err)
    assert not (err.deck.parent / "result.npz").exists()


def test_deck_rejected_by_ngspice(tmp_path):
    with pytest.raises(SimulationError) as info:
        run_deck("bad deck\nr1 a\nfoo bar baz\n.op\n.end\n", {"x": ["a"]}, run_dir=tmp_path / "run")
    assert not isinstance(info.value, ConvergenceError)
    assert_kept(info.value)
    assert info.value.log.is_file() and info.value.log.read_text()


def test_singular_circuit_is_a_convergence_error(tmp_path):
    deck = "two sources in parallel\nv1 a 0 dc 1\nv2 a 0 dc 2\nr1 a 0 1k\n.op\n.end\n"
    with pytest.raises(ConvergenceError) as info:
        run_deck(deck, {"x": ["a"]}, run_dir=tmp_path / "run")
    assert_kept(info.value)
    assert "singular matrix:  check node v1#branch" in str(info.value)


def test_missing_vector_is_reported(tmp_path):
    deck = "ok\nv1 a 0 dc 1\nr1 a 0 1k\n.op\n.end\n"
    with pytest.raises(SimulationError, match="no real vector 'nope'"):
        run_deck(deck, {"x": ["nope"]}, run_dir=tmp_path / "run")


def test_hang_is_stopped_by_the_timeout(tmp_path):
    start = time.monotonic()
    with pytest.raises(SimulationTimeoutError, match="did not finish within 1 s") as info:
        run_deck(SLOW_DECK, {"x": ["b"]}, timeout_s=1.0, run_dir=tmp_path / "run")
    assert time.monotonic() - start < 30  # killed, not waited for
    assert_kept(info.value)
    pid = int((tmp_path / "run" / "worker.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the worker is gone


def test_worker_crash_does_not_take_the_caller_down(tmp_path):
    run = tmp_path / "run"

    def crash() -> None:
        pid_file = run / "worker.pid"
        for _ in range(600):
            if pid_file.exists() and pid_file.read_text().strip():
                time.sleep(0.3)
                os.kill(int(pid_file.read_text()), signal.SIGSEGV)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=crash)
    killer.start()
    with pytest.raises(SimulationError, match="SIGSEGV") as info:
        run_deck(SLOW_DECK, {"x": ["b"]}, timeout_s=60, run_dir=run)
    killer.join()
    assert_kept(info.value)


def test_missing_library_is_engine_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("NGSPICE_LIBRARY_PATH", str(tmp_path / "libngspice-missing.so"))
    with pytest.raises(EngineUnavailableError, match="libngspice"):
        get_engine("ngspice").run(make_spec(1, 1), np.ones((1, 1)), np.ones(1))


def test_successful_run_leaves_nothing_behind(monkeypatch, tmp_path):
    monkeypatch.setenv("CIMSPICE_RUN_DIR", str(tmp_path))
    get_engine("ngspice").run(make_spec(2, 2), np.ones((2, 2)) * 1e-5, np.ones(2) * 0.1)
    assert list(tmp_path.iterdir()) == []
    kept = get_engine("ngspice", keep=True).run(make_spec(2, 2), np.ones((2, 2)) * 1e-5, np.ones(2))
    run_dir = kept.info["run_dir"]
    assert os.path.isfile(os.path.join(run_dir, "deck.cir"))
    assert os.path.isfile(os.path.join(run_dir, "ngspice.log"))


def test_long_batches_report_progress_from_the_log():
    from cimspice.netlist import build_deck

    spec = make_spec(48, 48, r_row=2.0, r_col=2.0)
    rng = np.random.default_rng(0)
    # the index-source sweep: slow enough (~4 s here) for several half-second polls
    v = rng.uniform(0, 0.2, (300, 48))
    deck = build_deck(spec, rng.uniform(1e-6, 1e-4, (48, 48)), v, sweep="index")
    seen: list[float] = []
    run_deck(deck.text, {"c": ["vs0#branch"]}, progress=seen.append)
    # ngspice reports its sweep value every few points; each report is a vector index within
    # the batch, and they rise.
    assert seen, "no progress was reported"
    assert all(0 <= k < 300 for k in seen)
    assert seen == sorted(seen)
