"""The ``ngspice`` engine: the rendered deck run by ngspice 46 (KLU) in a worker process.

ngspice runs in its own process (:mod:`cimspice.engines.ngspice_worker`), so a crash or a hang
of the simulator becomes a :class:`~cimspice.errors.SimulationError` and never takes the caller
down. Each run has a run directory holding the deck, ngspice's log and the raw results; it is
removed after a successful run unless ``keep`` is set, and always kept on failure, its paths
named in the error.

A batch of input vectors is one ``.dc`` sweep whose sweep variable indexes the vectors (see
:mod:`cimspice.netlist`): the deck is parsed and its matrix ordered once for the whole batch.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cimspice.arrays import check_inputs
from cimspice.engines.base import EngineBase
from cimspice.engines.ngspice_process import (
    DEFAULT_TIMEOUT_S,
    WorkerProcess,
    check_timeout,
    find_libngspice,
)
from cimspice.errors import CircuitWarning, InputError
from cimspice.memory import check_fits
from cimspice.netlist import Deck, Sweep, build_deck
from cimspice.result import Result
from cimspice.spec import BUILTIN_TRANSISTOR_MODELS, CrossbarSpec

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "NgspiceEngine",
    "NgspiceOptions",
    "NgspiceTile",
    "find_libngspice",
    "run_deck",
]


def run_deck(
    deck: str,
    vectors: Mapping[str, Sequence[str]],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    keep: bool = False,
    run_dir: Path | None = None,
    worker: WorkerProcess | None = None,
    progress: Callable[[float], None] | None = None,
    osdi: Sequence[str] = (),
) -> tuple[dict[str, np.ndarray], dict[str, float], Path | None]:
    """Run ``deck`` in an ngspice worker process and read back ``vectors``.

    Args:
        deck: netlist text whose analysis (``.op``, ``.dc``...) runs on load.
        vectors: group name -> ngspice vector names; each group comes back as an array
            ``(len(names), n_points)``.
        timeout_s: seconds before the worker is killed and a timeout error raised.
        keep: keep the run directory after success.
        run_dir: where to run (created); by default a new folder under ``$CIMSPICE_RUN_DIR``
            or the system temp folder's ``cimspice-runs``.
        worker: an already started worker to use (its own run directory applies).
        progress: see :meth:`WorkerProcess.run`.
        osdi: compiled OSDI libraries (paths) ngspice loads before the deck.

    Returns:
        ``(arrays, times, kept_dir)``: the groups, ngspice's own timing figures, and the run
        directory if it was kept.

    Raises:
        EngineUnavailableError: ngspice's shared library is not installed.
        ConvergenceError, SimulationTimeoutError, SimulationError: the run failed; the deck and
            log are kept and named in the error.
    """
    worker = worker if worker is not None else WorkerProcess(run_dir)
    result_path = worker.run(deck, vectors, timeout_s=timeout_s, progress=progress, osdi=osdi)
    with np.load(result_path) as data:
        arrays = {k: data[k] for k in data.files}
    names = arrays.pop("_times_names").tolist()
    times = dict(zip(names, arrays.pop("_times").tolist(), strict=True))
    times["ngspice_version"] = float(arrays.pop("_version"))
    changes = [str(line) for line in arrays.pop("_changes", np.zeros(0, dtype=str)).tolist()]
    count = int(arrays.pop("_change_count", len(changes)))
    _warn_if_circuit_changed(changes, count, worker.log_path if keep else None)
    if keep:
        return arrays, times, worker.run_dir
    shutil.rmtree(worker.run_dir, ignore_errors=True)
    return arrays, times, None


_HINTS = (
    (
        re.compile(r"value of resistor .* too small", re.IGNORECASE),
        "ngspice floors every resistance at 1e-12 ohm: conductances above 1e12 S, and wire, "
        "source or readout resistances below 1e-12 ohm, were changed",
    ),
)
"""What some of ngspice's changes mean for a crossbar deck."""


def _warn_if_circuit_changed(changes: list[str], count: int, log: Path | None) -> None:
    """Warn when ngspice said (only in its log) that it changed the circuit it was given:
    the results are then those of another circuit."""
    if count == 0:
        return
    hints = [hint for pattern, hint in _HINTS if any(pattern.search(c) for c in changes)]
    lines = [re.sub(r"^warning:\s*", "", c, flags=re.IGNORECASE) for c in changes[:2]]
    shown = "; ".join(lines) + (f"; ... ({count} such lines)" if count > len(lines) else "")
    where = f"; log: {log}" if log is not None else " (keep the run's log with keep=True / --keep)"
    warnings.warn(
        f"ngspice changed the circuit while loading it, so the results are for the changed "
        f"circuit: {shown}" + (f" ({'; '.join(hints)})" if hints else "") + where,
        CircuitWarning,
        stacklevel=3,
    )


class _SweepProgress:
    """A progress bar (stderr, shown on terminals only) over the vectors of a batch run."""

    def __init__(self, total: int):
        from tqdm import tqdm

        self._bar = tqdm(
            total=total, desc="ngspice", unit="vector", file=sys.stderr, leave=False, disable=None
        )

    def update(self, reference: float) -> None:
        done = min(int(reference) + 1, int(self._bar.total))
        if done > self._bar.n:
            self._bar.update(done - self._bar.n)

    def close(self) -> None:
        self._bar.close()


CMOS_SINK_RATIO = 10
"""The CMOS op-amp's output stage sinks at most this many times ``readout.i_bias``."""


def _warn_if_readout_overloaded(spec: CrossbarSpec, g: np.ndarray, v: np.ndarray) -> None:
    """Warn, with the numbers, when CMOS op-amps must sink more than their output stage can:
    the virtual ground is then lost and the currents come out low (not a clipped output)."""
    if not spec.has_cmos_opamps:
        return
    column = float(np.max(np.abs(np.atleast_2d(v) @ g), initial=0.0))
    capacity = CMOS_SINK_RATIO * spec.readout.i_bias
    if column > 0.8 * capacity:
        warnings.warn(
            f"a bit line carries up to {column:.3g} A (ideal V @ G) but the CMOS op-amps' "
            f"output stage sinks at most {CMOS_SINK_RATIO} x readout.i_bias = {capacity:.3g} A: "
            "the virtual ground is lost and the currents come out low (raise readout.i_bias)",
            CircuitWarning,
            stacklevel=4,
        )


def _warn_if_cells_blocked(spec: CrossbarSpec) -> None:
    """Warn, with the numbers, when access transistors cannot turn on, or when selectors eat
    most of the read voltage."""
    if spec.array.cell.value == "1S1R":
        sel = spec.selector
        v_sel = sel.v_s * float(np.arcsinh(spec.device.g_max * spec.driver.v_read / sel.i_s))
        if v_sel > 0.5 * spec.driver.v_read:
            warnings.warn(
                f"the 1S1R selectors need ~{v_sel:.3g} V to pass a g_max cell's current at "
                f"v_read = {spec.driver.v_read} V: most of the read voltage is lost across "
                "them (raise v_read, or lower selector.v_s / raise selector.i_s)",
                CircuitWarning,
                stacklevel=3,
            )
        return
    if not spec.has_transistors or spec.access.model_file:
        return
    vth = BUILTIN_TRANSISTOR_MODELS[spec.access.model]["vth"]
    if spec.access.v_gate < vth:
        warnings.warn(
            f"access.v_gate = {spec.access.v_gate} V is below the threshold of "
            f"{spec.access.model} (~{vth} V): the cells will pass little current",
            CircuitWarning,
            stacklevel=3,
        )


@dataclass(frozen=True, eq=False)
class NgspiceOptions:
    """Options of the ``ngspice`` engine.

    Attributes:
        timeout_s: seconds before a run is stopped and reported as a timeout.
        keep: keep every run directory (deck, log, raw results), not only failed ones.
        worker: a worker started earlier (see :class:`WorkerProcess`), used by the first
            run, so that ngspice's start-up overlaps whatever the caller did since (the
            command line starts one before its heavy imports).
        sweep: how a batch deck steps through its vectors (see :class:`~cimspice.netlist.Sweep`).
    """

    timeout_s: float = DEFAULT_TIMEOUT_S
    keep: bool = False
    worker: WorkerProcess | None = None
    sweep: Sweep | str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeout_s", check_timeout(self.timeout_s))
        if not isinstance(self.keep, bool):
            raise InputError(f"ngspice option keep must be True or False, got {self.keep!r}")
        if self.worker is not None and not isinstance(self.worker, WorkerProcess):
            raise InputError(
                f"ngspice option worker must be a WorkerProcess, got {type(self.worker).__name__}"
            )
        if self.sweep is not None:
            try:
                object.__setattr__(self, "sweep", Sweep(self.sweep))
            except ValueError:
                choices = ", ".join(m.value for m in Sweep)
                raise InputError(
                    f"ngspice option sweep must be one of {choices}, got {self.sweep!r}"
                ) from None


@dataclass(frozen=True, eq=False)
class NgspiceTile:
    """A tile for ngspice: the checked spec and conductances; every :meth:`run` renders the
    deck for its batch and runs it (a SPICE deck holds its conductances: nothing to
    prepare)."""

    engine: NgspiceEngine
    spec: CrossbarSpec
    conductances: np.ndarray
    prepare_s: float = 0.0

    @property
    def transfer(self) -> None:
        """Ngspice computes outputs per batch: no transfer matrix."""
        return None

    def run(self, voltages: np.ndarray, *, node_voltages: bool = False) -> Result:
        """Render the deck for the batch ``voltages`` (V, the levels applied), run it in
        ngspice and read the results back."""
        return self.engine.run_levels(
            self.spec, self.conductances, voltages, node_voltages=node_voltages
        )


class NgspiceEngine(EngineBase):
    """Runs the rendered deck in ngspice (shared library, through PySpice) in its own process.

    Options: :class:`NgspiceOptions` (as an object or as keywords).
    """

    name = "ngspice"
    Options = NgspiceOptions

    def __init__(self, options: NgspiceOptions | None = None, **given: Any):
        super().__init__(options, **given)
        self.timeout_s = self.options.timeout_s
        self.keep = self.options.keep
        self.sweep = self.options.sweep
        self._worker = self.options.worker

    def _take_worker(self) -> WorkerProcess:
        worker, self._worker = self._worker, None
        return worker if worker is not None else WorkerProcess()

    def start_and_render(
        self, spec: CrossbarSpec, g: np.ndarray, v: np.ndarray, **deck_options: Any
    ) -> tuple[WorkerProcess, Deck]:
        """Start ngspice's worker, then render the deck while it initialises.

        The worker is stopped again if rendering fails (e.g. a model file that is missing).
        """
        _warn_if_readout_overloaded(spec, g, v)
        worker = self._take_worker()
        try:
            return worker, build_deck(spec, g, v, **deck_options)
        except BaseException:
            worker.discard()
            raise

    def close(self) -> None:
        """Stop a pre-started worker that was never used."""
        if self._worker is not None:
            self._worker.discard()
            self._worker = None

    def program(self, spec: CrossbarSpec, conductances: np.ndarray) -> NgspiceTile:
        """Check ``conductances`` (S) for ``spec`` and warn about cells that cannot conduct."""
        spec, g = self.checked(spec, conductances)
        _warn_if_cells_blocked(spec)
        return NgspiceTile(self, spec, g)

    def run_levels(
        self,
        spec: CrossbarSpec,
        g: np.ndarray,
        voltages: np.ndarray,
        *,
        node_voltages: bool = False,
    ) -> Result:
        """Render the deck for checked conductances ``g`` and the word-line levels
        ``voltages`` (no DAC), run it in ngspice and read the results back (no ADC)."""
        start = time.perf_counter()
        v = check_inputs(voltages, spec.rows)
        if node_voltages:  # ngspice's vectors, their copy here, and the result's arrays
            check_fits(
                4 * 8 * 2 * v.shape[0] * spec.rows * spec.cols,
                f"node voltages of {v.shape[0]} input vector(s) on a {spec.rows}x{spec.cols} tile",
            )
        worker, deck = self.start_and_render(
            spec, g, v, save_nodes=True if node_voltages else None, sweep=self.sweep
        )
        render_s = time.perf_counter() - start
        vectors: dict[str, list[str]] = {
            "currents": [f"{name}#branch" for name in deck.sense_sources],
            "drivers": [f"{name}#branch" for name in deck.driver_sources],
        }
        if deck.output_nodes:
            vectors["outputs"] = list(deck.output_nodes)
            vectors["readout"] = [f"{name}#branch" for name in deck.readout_sources]
        node_names: list[str] = []
        if node_voltages:
            node_names = sorted(
                {n for row in deck.word_nodes for n in row}
                | {n for row in deck.bit_nodes for n in row}
            )
            # sense nodes sit at 0 V behind an ideal readout; a TIA's move, so read them
            vectors["nodes"] = [n for n in node_names if deck.output_nodes or not n.startswith("s")]
        bar = _SweepProgress(deck.batch) if deck.batch > 1 else None
        try:
            arrays, times, kept = run_deck(
                deck.text,
                vectors,
                timeout_s=self.timeout_s,
                keep=self.keep,
                worker=worker,
                progress=bar.update if bar is not None else None,
            )
        finally:
            if bar is not None:
                bar.close()
        currents = arrays["currents"].T.copy()
        # ngspice's branch current flows into the source's + terminal; a driver delivers
        # power V * (-I).
        power_drivers = -np.einsum("bi,bi->b", v, arrays["drivers"].T)
        power_readout = np.zeros_like(power_drivers)
        v_out = None
        if deck.output_nodes:
            v_out = arrays["outputs"].T.copy()
            if deck.supply_voltages:
                # CMOS op-amps: everything their supply rails deliver, quiescent power included
                rails = np.asarray(deck.supply_voltages)
                power_readout = -np.einsum("k,kb->b", rails, arrays["readout"])
            else:
                # behavioural op-amps: each output delivers V_out * (-I)
                power_readout = -np.einsum("bj,bj->b", v_out, arrays["readout"].T)
        power = power_drivers + power_readout
        v_word = v_bit = None
        if node_voltages:
            potentials = {n: arrays["nodes"][k] for k, n in enumerate(vectors["nodes"])}
            zero = np.zeros(v.shape[0])
            table = lambda n: potentials.get(n, zero)  # noqa: E731  sense nodes are 0 V
            v_word = np.stack(
                [np.stack([table(n) for n in row], axis=-1) for row in deck.word_nodes], axis=1
            )
            v_bit = np.stack(
                [np.stack([table(n) for n in row], axis=-1) for row in deck.bit_nodes], axis=1
            )
        info: dict[str, object] = {
            "render_s": render_s,
            **{f"ngspice_{k}": t for k, t in times.items()},
        }
        if kept is not None:
            info["run_dir"] = str(kept)
        return Result(
            engine=self.name,
            currents=currents,
            power=power,
            v_word=v_word,
            v_bit=v_bit,
            v_out=v_out,
            power_drivers=power_drivers,
            power_readout=power_readout,
            elapsed_s=time.perf_counter() - start,
            info=info,
        )
