"""Running pulse programs in ngspice: cached transient decks, chained, with progress.

:func:`run_program` renders the program as write decks (:mod:`cimspice.write.deck`) and runs
them in ngspice. A long program is cut into several decks whose output fits a memory budget;
each goes on from the previous one's final states and line levels, so the cut is invisible but
for the devices' fast internal states (the Stanford model's temperature), which restart from
their steady state at the cut (a cut always falls at the end of a phase). Each deck's results
at its phase ends are cached (:class:`~cimspice.sweep.SweepCache`, keyed by the deck text and
the ngspice and cimspice versions), so a rerun or an interrupted study resumes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cimspice.spec import CrossbarSpec, as_spec
from cimspice.sweep import SweepCache, ngspice_version
from cimspice.write.deck import DEFAULT_RELTOL, WriteDeck, build_write_deck, print_step
from cimspice.write.models import DynamicModel, dynamic_model
from cimspice.write.pulses import Program

__all__ = ["OUTPUT_BUDGET_BYTES", "WriteResult", "run_program"]

OUTPUT_BUDGET_BYTES = 64 * 2**20
"""Most bytes of saved waveforms per deck; a longer program is cut into several decks."""
DEFAULT_TIMEOUT_S = 3600.0
"""Time limit of one write deck (second)."""


@dataclass(frozen=True)
class WriteResult:
    """What a pulse program did to the array, at the end of every phase.

    Attributes:
        program: the program.
        model: the dynamic model.
        states: ``(n_phases + 1, rows, cols)``: the initial states, then each phase's final
            states (the model's state units).
        bit_currents: ampere, ``(n_phases, cols)``: each bit-line driver's current at the end
            of each phase, positive from the array into the driver (a read's cell current).
        word_currents: ampere, ``(n_phases, rows)``: each word-line driver's current, positive
            into the driver (a driving source's current is negative).
        energy: joule, ``(n_phases, 3)``: the energy delivered since the start by the word-line
            drivers, the bit-line drivers and the select lines, at each phase end.
        decks: the number of ngspice decks, and of those found in the cache.
        elapsed_s: wall time.
    """

    program: Program
    model: DynamicModel
    states: np.ndarray
    bit_currents: np.ndarray
    word_currents: np.ndarray
    energy: np.ndarray
    decks: tuple[int, int] = (0, 0)
    elapsed_s: float = field(default=0.0, compare=False)

    @property
    def final_states(self) -> np.ndarray:
        """The states after the last phase, ``(rows, cols)``."""
        return self.states[-1]

    @property
    def total_energy(self) -> float:
        """Joule, everything the sources delivered."""
        return float(self.energy[-1].sum())

    def phase_energy(self) -> np.ndarray:
        """Joule per phase, ``(n_phases,)`` (all sources)."""
        total = self.energy.sum(axis=1)
        return np.diff(np.concatenate([[0.0], total]))


def _chunks(program: Program, saved: int, budget: int) -> list[tuple[int, int]]:
    """Cut the phases into runs whose output grid fits ``budget`` bytes of ``saved`` vectors."""
    out: list[tuple[int, int]] = []
    start = 0
    spans = [program.t_edge + p.duration for p in program.phases]
    while start < len(spans):
        stop = start + 1
        while stop < len(spans):
            ends = np.cumsum(spans[start : stop + 1])
            points = ends[-1] / print_step(ends) + 1
            if points * saved * 8 > budget:
                break
            stop += 1
        out.append((start, stop))
        start = stop
    return out


class _Progress:
    """A progress bar over the program's simulated time (stderr; terminals only)."""

    def __init__(self, total_s: float, enabled: bool):
        from tqdm import tqdm

        self.scale = 1e9  # shown in ns
        self.bar = tqdm(
            total=round(total_s * self.scale),
            desc="ngspice write",
            unit="ns",
            file=sys.stderr,
            leave=False,
            disable=None if enabled else True,
        )
        self.offset = 0.0

    def at(self, t: float) -> None:
        done = min(round((self.offset + t) * self.scale), self.bar.total)
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def run_program(
    spec: CrossbarSpec | str,
    program: Program,
    states: np.ndarray,
    *,
    model: DynamicModel | None = None,
    cache: SweepCache | None = None,
    reltol: float = DEFAULT_RELTOL,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: bool = True,
    budget_bytes: int = OUTPUT_BUDGET_BYTES,
    dynamic_rows: Sequence[int] | None = None,
    static_cells: str = "resistor",
) -> WriteResult:
    """Run ``program`` on ``spec``'s array from ``states`` in ngspice.

    Args:
        spec: the array spec (its ``[write]`` section names the dynamic model).
        program: the pulse program.
        states: ``(rows, cols)``, each cell's initial state.
        model: the dynamic model (default: :func:`~cimspice.write.models.dynamic_model`).
        cache: where to keep and find each deck's results (``None``: run everything).
        reltol: ngspice's relative tolerance.
        timeout_s: limit per deck.
        progress: show a progress bar on a terminal.
        budget_bytes: most bytes of saved waveforms per deck.
        dynamic_rows: 1T1R only: the rows whose cells are dynamic; the others are fixed
            resistors at their states, which stay as they were (the approximation of
            :mod:`cimspice.write.deck`). Default: every row.
        static_cells: ``"resistor"`` or ``"open"``: what the static rows' cells become.

    Raises:
        InputError: bad states or program.
        SimulationError: a deck failed (its deck and log are kept and named).
    """
    start_time = time.perf_counter()
    spec = as_spec(spec).with_model_cards()
    model = model if model is not None else dynamic_model(spec)
    x = np.asarray(states, dtype=float)
    dynamic = build_write_deck(  # checks, up front
        spec, model, program, x, reltol=reltol, dynamic_rows=dynamic_rows, static_cells=static_cells
    ).dynamic_rows
    saved = len(dynamic) * spec.cols + spec.rows + spec.cols + 3
    pieces = _chunks(program, saved, budget_bytes)
    version = ngspice_version() if cache is not None else 0
    all_states = [x]
    bit, word, energy = [], [], []
    offset = np.zeros(3)
    cached = 0
    bar = _Progress(program.t_stop, progress)
    try:
        for first, stop in pieces:
            part = program.split(first, stop)
            deck = build_write_deck(
                spec,
                model,
                part,
                all_states[-1],
                reltol=reltol,
                dynamic_rows=dynamic,
                static_cells=static_cells,
            )
            key = SweepCache.key(deck.text, version) if cache is not None else None
            arrays = cache.load_arrays(key, _checker(deck)) if cache and key else None
            if arrays is None:
                arrays = _run(deck, all_states[-1], timeout_s, bar)
                if cache is not None and key is not None:
                    cache.store_arrays(key, arrays)
            else:
                cached += 1
            bar.offset += float(deck.ends[-1])
            bar.at(0.0)
            all_states.extend(list(arrays["states"]))
            bit.append(arrays["bit"])
            word.append(arrays["word"])
            energy.append(arrays["energy"] + offset)
            offset = energy[-1][-1]
    finally:
        bar.close()
    return WriteResult(
        program=program,
        model=model,
        states=np.stack(all_states),
        bit_currents=np.concatenate(bit),
        word_currents=np.concatenate(word),
        energy=np.concatenate(energy),
        decks=(len(pieces), cached),
        elapsed_s=time.perf_counter() - start_time,
    )


def _checker(deck: WriteDeck) -> Callable[[dict[str, np.ndarray]], None]:
    n = len(deck.ends)
    rows, cols = len(deck.state_nodes), len(deck.state_nodes[0])

    def check(arrays: dict[str, np.ndarray]) -> None:
        shapes = {
            "states": (n, rows, cols),
            "bit": (n, cols),
            "word": (n, rows),
            "energy": (n, 3),
        }
        for name, shape in shapes.items():
            if arrays[name].shape != shape:
                raise ValueError(f"{name} has shape {arrays[name].shape}, not {shape}")

    return check


def _run(
    deck: WriteDeck, states: np.ndarray, timeout_s: float, bar: _Progress
) -> dict[str, np.ndarray]:
    """Run one deck from ``states``; its values at the phase ends (a static row's cells keep
    their states)."""
    from cimspice.engines.ngspice import run_deck

    rows, cols = len(deck.state_nodes), len(deck.state_nodes[0])
    dynamic = list(deck.dynamic_rows)
    vectors = {
        "time": ["time"],
        "states": [n for i in dynamic for n in deck.state_nodes[i]],
        "energy": ["ew", "eb", "eg"],
        "bit": [f"{s}#branch" for s in deck.bit_sources],
        "word": [f"{s}#branch" for s in deck.word_sources],
    }
    arrays, _, _ = run_deck(
        deck.text, vectors, timeout_s=timeout_s, progress=bar.at, osdi=deck.osdi
    )
    time_s = arrays["time"][0]
    idx = np.searchsorted(time_s, deck.ends - 0.5 * deck.t_step)
    idx = np.minimum(idx, len(time_s) - 1)
    if np.any(np.abs(time_s[idx] - deck.ends) > 1e-3 * deck.t_step):
        from cimspice.errors import SimulationError

        raise SimulationError(
            "ngspice's output grid misses a phase end (the deck's interpolation failed)"
        )
    n = len(deck.ends)
    out_states = np.broadcast_to(states, (n, rows, cols)).copy()
    out_states[:, dynamic] = arrays["states"][:, idx].T.reshape(n, len(dynamic), cols)
    return {
        "states": out_states,
        "bit": arrays["bit"][:, idx].T.copy(),
        "word": arrays["word"][:, idx].T.copy(),
        "energy": arrays["energy"][:, idx].T * 1e-12,  # pJ -> J
    }
