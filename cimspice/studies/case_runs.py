"""Network cases (compensation schemes, mixed precision, anchors) run over device seeds on
worker processes or Dask, each finished run kept on disk.

A compensation study evaluates one network on many :class:`~cimspice.studies.schemes.
NetworkCase` s, each over a few device seeds: the seeds of a case (and every pre-distorted run
of the same tiles, whose solution a process computes once) make one task of
:func:`cimspice.executors.map_tasks` (a local process pool by default, or Dask), as the points
of ``cimspice evaluate --sweep`` are. What every task shares (the models, the samples, the cost
figures) goes to each worker once. The runs of each task are stored in a
:class:`~cimspice.sweep.SweepCache` as the task ends, each under a hash of everything it
depends on: a study stopped midway resumes with the tasks that had not ended (a stop loses
the runs of the tasks in flight alone), and a run already made by another study (the same
spec and the files it names, model, samples and code) is not made again.

The numbers do not depend on where a run ran: each is :func:`~cimspice.studies.schemes.run_case`
on its own spec (its seed set), and the seeds of a case are combined in seed order. The
pre-distortion solutions each process keeps (per tile and targets, independent of the seed)
only save time.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cimspice.checksums import arrays_checksum
from cimspice.compensation.cost import CostModel, EnergyBreakdown
from cimspice.executors import map_tasks
from cimspice.resources import code_fingerprint
from cimspice.studies.energy import Unit
from cimspice.studies.schemes import (
    NetworkCase,
    SchemeOutcome,
    TileTransform,
    over_seeds,
    predistort_transform,
    run_case,
    seed_cases,
)
from cimspice.studies.sweeps import spec_text
from cimspice.sweep import SweepCache, progress_counter

if TYPE_CHECKING:
    from cimspice.nn.model import Model

__all__ = ["CaseData", "case_outcome", "case_outcomes", "run_network_cases"]

_ENERGY = tuple(f.name for f in dataclasses.fields(EnergyBreakdown))


@dataclass(frozen=True)
class CaseData:
    """What every run of a study shares.

    Attributes:
        models: the network, per weight-noise level of its training (0: plainly trained; a
            case's ``hardware_aware`` picks one).
        x: the samples.
        y: their labels.
        calibration: samples whose exact activations set each layer's input range.
        cost: the energy figures.
    """

    models: dict[float, Model]
    x: np.ndarray
    y: np.ndarray
    calibration: np.ndarray
    cost: CostModel = field(default_factory=CostModel)

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of what every run shares (the samples, the calibration samples, the cost
        figures) and of the cimspice code (:func:`~cimspice.resources.code_fingerprint`)."""
        h = hashlib.sha256(f"{code_fingerprint()}\0".encode())
        h.update(arrays_checksum({"x": self.x, "y": self.y, "c": self.calibration}).encode())
        h.update(repr(self.cost).encode())
        return h.hexdigest()

    @functools.cached_property
    def _model_hashes(self) -> dict[float, str]:
        return {
            level: hashlib.sha256(pickle.dumps(model, protocol=5)).hexdigest()
            for level, model in self.models.items()
        }

    def key(self, case: NetworkCase) -> str:
        """SHA-256 of everything a run of ``case`` depends on: :attr:`fingerprint`, the model
        it runs (its pickled layers and weights), the full spec (its seed included) with the
        files it names (:func:`~cimspice.studies.sweeps.spec_text`) and the case's options
        (not its label, which changes no number).

        Raises:
            ModelFileError: a file the spec names is missing or outside the allowed folders.
        """
        text = json.dumps(
            {
                "spec": spec_text(case.spec),
                "model": self._model_hashes[case.hardware_aware],
                "predistort": case.predistort,
                "calibrate": case.calibrate,
                "units": {str(k): str(v) for k, v in sorted(case.units.items())},
            },
            sort_keys=True,
        )
        return hashlib.sha256(f"{self.fingerprint}\0{text}".encode()).hexdigest()


@functools.cache
def _predistorter() -> TileTransform:
    """The pre-distortion transform of the process (its solutions kept across cases, seeds)."""
    return predistort_transform()


def case_outcome(data: CaseData, case: NetworkCase) -> SchemeOutcome:
    """One run: ``case`` (its spec's device seed) on its model (a module-level function, so
    that worker processes can run it)."""
    return run_case(
        case,
        data.models[case.hardware_aware],
        data.x,
        data.y,
        calibration=data.calibration,
        cost=data.cost,
        predistorter=_predistorter(),
    )


def case_outcomes(data: CaseData, cases: list[NetworkCase]) -> list[SchemeOutcome]:
    """:func:`case_outcome` of each of ``cases``, one after the other (in one worker, so that
    they share its pre-distortion solutions)."""
    return [case_outcome(data, case) for case in cases]


def _groups(runs: list[NetworkCase], owner: list[int], missing: list[int]) -> list[list[int]]:
    """The ``missing`` runs in tasks: the seeds of a case together, and every pre-distorted
    run of the same tiles and weights (the same spec but for its devices, the same model)
    together, since its pre-distortion is solved once per process. Pre-distorted tasks, the
    longest, first."""
    groups: dict[Any, list[int]] = {}
    for k in missing:
        run = runs[k]
        if run.predistort:
            tiles = {key: value for key, value in run.spec.to_dict().items() if key != "nonideal"}
            text = json.dumps(tiles, sort_keys=True, default=str)
            key: Any = ("predistort", text, run.hardware_aware)
        else:
            key = ("case", owner[k])
        groups.setdefault(key, []).append(k)
    return sorted(groups.values(), key=lambda group: not runs[group[0]].predistort)


def run_network_cases(
    cases: Sequence[tuple[NetworkCase, int]],
    data: CaseData,
    *,
    executor: str = "local",
    jobs: int | None = 1,
    scheduler: str | None = None,
    cache: SweepCache | None = None,
    progress: bool = False,
    description: str = "cases",
) -> list[SchemeOutcome]:
    """Each of ``cases`` (a case and its number of device seeds, ``nonideal.seed + 0 ..
    seeds - 1``) as :func:`~cimspice.studies.schemes.run_seeds` gives it: the mean accuracy
    over the seeds and its standard deviation, the energy and pulses of the first seed's
    devices. The runs go to :func:`cimspice.executors.map_tasks` in tasks of a case's seeds,
    or of every pre-distorted run of the same tiles (:func:`_groups`), and are kept in
    ``cache`` as each task ends.

    Args:
        cases: the cases, each with its number of seeds (>= 1).
        data: what the runs share.
        executor: ``"local"`` or ``"dask"``.
        jobs: runs at a time: ``1`` (the default) in this process, ``None`` on every core.
        scheduler: a running Dask scheduler's address (``None``: a local Dask cluster).
        cache: where each run is kept and found (``None``: no cache).
        progress: a progress bar over the runs (stderr).
        description: the progress bar's label.

    Raises:
        InputError: a case with fewer than one seed, a bad executor, scheduler or ``jobs``
            (before any run).
        CimspiceError: a failed run (the tasks that ended before it are kept).
    """
    runs: list[NetworkCase] = []
    owner: list[int] = []
    for c, (case, seeds) in enumerate(cases):
        mine = seed_cases(case, seeds)
        runs += mine
        owner += [c] * len(mine)
    outcomes: list[SchemeOutcome | None] = [None] * len(runs)
    keys = [data.key(run) if cache is not None else "" for run in runs]
    missing = []
    for k, run in enumerate(runs):
        hit = cache.load_arrays(keys[k], _check_entry) if cache is not None else None
        outcomes[k] = None if hit is None else _outcome_of(hit, run, data)
        if outcomes[k] is None:
            missing.append(k)
    advance = progress_counter(
        len(runs), description, done=len(runs) - len(missing), enabled=progress
    )

    tasks = _groups(runs, owner, missing)

    def done(t: int, task_outcomes: list[SchemeOutcome]) -> None:
        for k, outcome in zip(tasks[t], task_outcomes, strict=True):
            outcomes[k] = outcome
            if cache is not None:  # at once: an interrupted study keeps every finished run
                cache.store_arrays(keys[k], _arrays_of(outcome))
            advance()

    map_tasks(
        case_outcomes,
        [([runs[k] for k in task],) for task in tasks],
        done,
        shared=(data,),
        executor=executor,
        jobs=jobs,
        scheduler=scheduler,
        name="cimspice-case",
    )
    done_runs = [o for o in outcomes if o is not None]
    assert len(done_runs) == len(runs)  # every run loaded or made
    return [
        over_seeds([o for o, w in zip(done_runs, owner, strict=True) if w == c])
        for c in range(len(cases))
    ]


def _arrays_of(outcome: SchemeOutcome) -> dict[str, np.ndarray]:
    """A run's figures as arrays (the case gives its label, schemes and units)."""
    layers = sorted(outcome.layer_energy)
    return {
        "figures": np.array([outcome.accuracy, outcome.accuracy_ideal, outcome.pulses]),
        "energy": np.array([float(getattr(outcome.energy, name)) for name in _ENERGY]),
        "layers": np.array(layers, dtype=np.int64),
        "layer_energy": np.array([outcome.layer_energy[i] for i in layers]),
        "layer_macs": np.array([outcome.layer_macs[i] for i in layers], dtype=np.int64),
    }


def _outcome_of(
    arrays: dict[str, np.ndarray], case: NetworkCase, data: CaseData
) -> SchemeOutcome | None:
    """The run of ``case`` that :func:`_arrays_of` stored, or ``None`` when its layers are
    not the model's weighted layers (a damaged entry: run again)."""
    accuracy, ideal, pulses = (float(v) for v in arrays["figures"])
    values = dict(zip(_ENERGY, arrays["energy"].tolist(), strict=True))
    values["macs"] = int(values["macs"])
    layers = [int(i) for i in arrays["layers"]]
    model = data.models[case.hardware_aware]
    if layers != sorted(model.weighted_layers()):
        return None
    return SchemeOutcome(
        case.label,
        case.schemes,
        accuracy,
        ideal,
        EnergyBreakdown(**values),
        pulses,
        {i: str(case.units.get(i, Unit.MEMRISTOR)) for i in model.weighted_layers()},
        dict(zip(layers, arrays["layer_energy"].tolist(), strict=True)),
        dict(zip(layers, (int(m) for m in arrays["layer_macs"]), strict=True)),
    )


def _check_entry(arrays: dict[str, np.ndarray]) -> None:
    """Refuse a cache entry that is not one run's figures."""
    shapes = {
        "figures": (3,),
        "energy": (len(_ENERGY),),
    }
    for name, shape in shapes.items():
        if arrays[name].shape != shape or not np.issubdtype(arrays[name].dtype, np.floating):
            raise ValueError(f"{name} has shape {arrays[name].shape}, dtype {arrays[name].dtype}")
    n = arrays["layers"].shape
    if len(n) != 1 or arrays["layer_energy"].shape != n or arrays["layer_macs"].shape != n:
        raise ValueError("layers, layer_energy and layer_macs differ in shape")
    for name in ("layers", "layer_macs"):
        if not np.issubdtype(arrays[name].dtype, np.integer):
            raise ValueError(f"{name} has dtype {arrays[name].dtype}")
    for name in ("figures", "energy", "layer_energy"):
        if not np.all(np.isfinite(arrays[name])):
            raise ValueError(f"{name} holds values that are not finite")
    accuracy, ideal, pulses = arrays["figures"]
    if not (0 <= accuracy <= 1 and 0 <= ideal <= 1 and pulses >= 0):
        raise ValueError(f"accuracies {accuracy}, {ideal} or pulses {pulses} out of range")
    if np.any(arrays["energy"] < 0) or np.any(arrays["layer_energy"] < 0):
        raise ValueError("a negative energy")
