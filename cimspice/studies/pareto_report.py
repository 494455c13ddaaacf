"""The network-level compensation report: every scheme, some combinations, mixed precision and
hardware-aware training on one model and spec, as a Pareto plot, a markdown table and JSON
(the work of ``cimspice pareto SPEC``, and of its alias ``cimspice compensate SPEC --pareto``).

Cases (:func:`report_cases`): the base spec; one case per scheme of
:func:`~cimspice.studies.schemes.scheme_cases`; combinations (pre-distortion +
column calibration, the other mapping scheme + pre-distortion, partitioning + hardware-aware
training, column calibration + hardware-aware training); mixed precision on the base and on
the pre-distorted tiles (:mod:`~cimspice.studies.mixed_precision`, under the request's
budget and SRAM capacity); and two anchors, every layer on SRAM CIM and every layer digital.
Each case is evaluated over ``seeds`` device seeds (mean accuracy); mixed precision's
sensitivities are measured on the first seed. The (case, seed) runs go to a local process
pool (or Dask) and are kept in the study cache as each task ends
(:mod:`cimspice.studies.case_runs`): an interrupted report resumes with the tasks that had not
ended, with the same numbers whatever ran it.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from cimspice.caption import spec_caption
from cimspice.compensation.cost import CostModel
from cimspice.compensation.scheme import Scheme
from cimspice.executors import check_executor, worker_count
from cimspice.nn.model import Model
from cimspice.outputs import OutputPlan, atomic_output
from cimspice.spec import CrossbarSpec
from cimspice.studies.case_runs import CaseData, run_network_cases
from cimspice.studies.energy import Unit
from cimspice.studies.mixed_precision import (
    Assignment,
    MixedPrecisionParams,
    assign,
    mixed_case,
    sensitivities,
)
from cimspice.studies.pareto import best_tradeoff, markdown_table, pareto_front, tradeoff_score
from cimspice.studies.schemes import (
    NetworkCase,
    SchemeOutcome,
    combine,
    predistort_transform,
    scheme_case,
    scheme_cases,
)

if TYPE_CHECKING:
    from matplotlib.figure import FigureBase

__all__ = [
    "PARETO_FILES",
    "ParetoRequest",
    "pareto_figure",
    "report_cases",
    "run_pareto",
    "scheme_network",
]

PARETO_FILES = ("pareto.png", "pareto.md", "pareto.json")
"""The files :func:`run_pareto` writes into its folder."""


@dataclass(frozen=True)
class ParetoRequest:
    """What a network-level compensation report is asked to cover.

    Attributes:
        spec: the spec file (the base tiles, converters, mapping and devices).
        out: folder for ``pareto.png``, ``pareto.md`` and ``pareto.json``.
        model: a built-in model name or a model file.
        samples: evaluate the first ``samples`` of the held-out split (``None``: all).
        seeds: device seeds per case.
        hardware_aware: weight-noise level of the hardware-aware model (built-in models;
            0 leaves hardware-aware cases out).
        budget: mixed precision's energy budget, J/MAC (``None``: twice the base case's).
        sram_weights: weights the SRAM CIM macros hold for mixed precision (``None``:
            unlimited).
        tile_sizes: partitioned tile sizes.
        cache_dir: cache of built-in models (``models/``) and of every (case, seed) run
            (``studies/``: an interrupted report resumes there); ``None``: ``$CIMSPICE_CACHE``
            or ``~/.cache/cimspice``.
        progress: progress bars (stderr).
        executor: where the runs go (``local`` or ``dask``; see
            :mod:`cimspice.studies.case_runs`).
        jobs: runs at a time (``None``: every core this process may use; 1: in this process).
        scheduler: a running Dask scheduler's address (``None``: a local Dask cluster).
    """

    spec: Path
    out: Path
    model: str = "mnist-mlp"
    samples: int | None = None
    seeds: int = 2
    hardware_aware: float = 0.05
    budget: float | None = None
    sram_weights: int | None = 65_536
    tile_sizes: tuple[int, ...] = (64, 32)
    cache_dir: Path | None = None
    progress: bool = True
    executor: str = "local"
    jobs: int | None = None
    scheduler: str | None = None

    def runner(self, data: CaseData) -> Callable[..., list[SchemeOutcome]]:
        """:func:`~cimspice.studies.case_runs.run_network_cases` on ``data`` where this request
        says, its runs kept in the study cache."""
        from cimspice.resources import default_cache_dir
        from cimspice.sweep import SweepCache

        cache = SweepCache(Path(self.cache_dir or default_cache_dir()) / "studies")
        return functools.partial(
            run_network_cases,
            data=data,
            executor=self.executor,
            jobs=self.jobs,
            scheduler=self.scheduler,
            cache=cache,
            progress=self.progress,
        )


def report_cases(
    spec: CrossbarSpec, hardware_aware: float, tile_sizes: tuple[int, ...]
) -> list[NetworkCase]:
    """The base case, every scheme's case and the combinations (mixed precision apart)."""
    cases = scheme_cases(spec, hardware_aware=hardware_aware, tile_sizes=tile_sizes)
    pre, cal = cases["ir-predistort"], cases["column-calibration"]
    out = list(cases.values())
    out.append(combine("ir-predistort + column-calibration", spec, pre, cal))
    mapping = next((c for label, c in cases.items() if label.startswith("mapping ")), None)
    if mapping is not None:
        out.append(combine(f"{mapping.label} + ir-predistort", spec, mapping, pre))
    if "hardware-aware" in cases:
        hwa = cases["hardware-aware"]
        if tile_sizes:
            part = cases[f"partitioning {tile_sizes[0]}x{tile_sizes[0]}"]
            out.append(combine(f"{part.label} + hardware-aware", spec, part, hwa))
        out.append(combine("column-calibration + hardware-aware", spec, cal, hwa))
    return out


def run_pareto(request: ParetoRequest, out: TextIO | None = None) -> dict[str, Any]:
    """Evaluate every case of the report, write its plot, table and JSON; return the JSON data.

    Prints the table and the best trade-off to ``out`` (default: stdout). Every argument and
    path is checked before any work; the three files appear together or not at all.

    Raises:
        CimspiceError: a bad spec, model, parameter or output path (named).
    """
    from cimspice.spec import load_spec
    from cimspice.studies.evaluate import check_model_name

    out = sys.stdout if out is None else out
    check_executor(request.executor, request.scheduler)
    worker_count(request.jobs)
    spec = load_spec(request.spec)
    budget = math.inf if request.budget is None else request.budget
    MixedPrecisionParams(budget, request.sram_weights)  # checked before any work
    plan = OutputPlan()
    plan.read(request.spec, "spec")
    plan.read(check_model_name(request.model), "model")
    plan.folder(request.out, "output folder", PARETO_FILES)
    plan.cache(request.cache_dir, "model cache")
    with plan:
        return _run_pareto(request, spec, out, plan.stage(request.out))


def _run_pareto(
    request: ParetoRequest, spec: CrossbarSpec, out: TextIO, folder: Path
) -> dict[str, Any]:
    """:func:`run_pareto` once its paths are checked; writes into ``folder`` (staged)."""
    from cimspice.studies.evaluate import resolve_model, samples_of

    model, data = resolve_model(request.model, cache_dir=request.cache_dir)
    models: dict[float, Model] = {0.0: model}
    if request.hardware_aware:
        models[request.hardware_aware] = resolve_model(
            request.model, cache_dir=request.cache_dir, hardware_aware=request.hardware_aware
        )[0]
    x, y = samples_of(data, "test")
    if request.samples is not None:
        x, y = x[: request.samples], y[: request.samples]
    calibration = data.x_train[:1000]
    cost = CostModel()
    run = request.runner(CaseData(models, x, y, calibration, cost))
    cases = report_cases(spec, request.hardware_aware, request.tile_sizes)
    results = run([(case, request.seeds) for case in cases], description="pareto: cases")
    base = results[0]
    budget = 2.0 * base.energy_per_mac if request.budget is None else request.budget
    params = MixedPrecisionParams(budget=budget, sram_weights=request.sram_weights)
    assignments: dict[str, Assignment] = {}
    by_label = {c.label: c for c in cases}
    options: dict[str, Any] = {
        "calibration": calibration,
        "cost": cost,
        "predistorter": predistort_transform(),  # each tile's solution computed once
    }
    more: list[tuple[NetworkCase, int]] = []
    bar = _progress(2, request.progress)
    for base_case in (by_label["baseline"], by_label["ir-predistort"]):
        bar.set_postfix_str(f"sensitivities on {base_case.label}")
        sens = sensitivities(base_case, model, x, y, **options)
        chosen = assign(sens, params)
        mixed = mixed_case(
            base_case,
            chosen,
            "mixed precision" if base_case.label == "baseline" else None,
        )
        assignments[mixed.label] = chosen
        more.append((mixed, request.seeds))
        bar.update()
    bar.close()
    layers = model.weighted_layers()
    for unit in (Unit.SRAM, Unit.DIGITAL):
        more.append((NetworkCase(f"all {unit}", spec, (), units=dict.fromkeys(layers, unit)), 1))
    results += run(more, description="pareto: mixed precision and anchors")
    return _write(
        request, spec, results, assignments, budget=budget, cost=cost, out=out, folder=folder
    )


def scheme_network(request: ParetoRequest, scheme: Scheme) -> tuple[SchemeOutcome, SchemeOutcome]:
    """One scheme at network level: ``(baseline, with the scheme)`` on ``request.spec``'s tiles
    (the scheme's network form: :func:`~cimspice.studies.schemes.scheme_case`).

    Args:
        request: the spec, model, samples, seeds and cache (``out`` unused).
        scheme: a tile-level scheme with its parameters
            (:func:`cimspice.compensation.make_scheme`).

    Raises:
        InputError: a scheme with no network-level form on this spec (named).
    """
    from cimspice.spec import load_spec
    from cimspice.studies.evaluate import resolve_model, samples_of

    spec = load_spec(request.spec)
    case = scheme_case(scheme, spec)
    model, data = resolve_model(request.model, cache_dir=request.cache_dir)
    x, y = samples_of(data, "test")
    if request.samples is not None:
        x, y = x[: request.samples], y[: request.samples]
    run = request.runner(CaseData({0.0: model}, x, y, data.x_train[:1000]))
    seeds = request.seeds
    base, after = run(
        [(NetworkCase("baseline", spec), seeds), (case, seeds)], description="network level"
    )
    return base, after


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="compensation cases", unit="case", disable=not enabled)


def _write(
    request: ParetoRequest,
    spec: CrossbarSpec,
    results: list[SchemeOutcome],
    assignments: dict[str, Assignment],
    *,
    budget: float,
    cost: CostModel,
    out: TextIO,
    folder: Path,
) -> dict[str, Any]:
    """Write the plot, table and JSON into ``folder`` (the staged ``request.out``)."""
    from cimspice.plots import save_figure  # matplotlib: only when drawing

    base = results[0]
    best = best_tradeoff(results, base)
    front = pareto_front(results)
    marks = {"SRAM CIM MAC": cost.sram_cim_mac, "digital MAC": cost.digital_mac}
    caption = spec_caption(spec, engine="surrogate (the tiles' nominal model)")
    figure = pareto_figure(
        results,
        front,
        marks=marks,
        caption=f"base tiles {caption}; {request.model}, {base.seeds} device seed(s)",
    )
    save_figure(figure, folder / "pareto.png")
    final = Path(request.out)
    png = final / "pareto.png"
    table = markdown_table(results, front=front)
    lines = [
        f"# Network accuracy vs energy per MAC: {request.model} on {request.spec}",
        "",
        f"{spec.rows}x{spec.cols} tiles; {results[0].seeds} device seed(s) per case; "
        f"exact network accuracy {base.accuracy_ideal:.4f}. Reference energies (cost model): "
        + ", ".join(f"{name} {energy:.3e} J" for name, energy in marks.items())
        + ".",
        "",
        table,
        "",
    ]
    if best is not None:
        lines.append(
            f"Best accuracy per energy: **{best.label}**, accuracy {best.accuracy:.4f} "
            f"({best.accuracy - base.accuracy:+.4f}) at {best.energy_per_mac:.3e} J/MAC "
            f"({best.energy_per_mac / base.energy_per_mac:.2f}x the baseline's); score "
            f"{tradeoff_score(best, base):.4f}."
        )
    else:
        lines.append("No case is more accurate than the baseline.")
    for label, a in assignments.items():
        units = ", ".join(f"layer {k}: {u}" for k, u in a.units.items())
        drops = ", ".join(f"layer {k}: {s.accuracy_drop:+.4f}" for k, s in a.sensitivities.items())
        lines.append(
            f"\n{label}: {units} (budget {budget:.3e} J/MAC, predicted "
            f"{a.energy_per_mac:.3e}); accuracy drop with only that layer on memristor "
            f"tiles: {drops}."
        )
    text = "\n".join(lines) + "\n"
    with atomic_output(folder / "pareto.md", "w") as handle:
        handle.write(text)
    data = {
        "model": request.model,
        "spec": str(request.spec),
        "seeds": request.seeds,
        "budget": budget,
        "cases": [r.as_dict() for r in results],
        "best": None if best is None else best.label,
        "mixed_precision": {k: a.as_dict() for k, a in assignments.items()},
        "plot": str(png),
    }
    with atomic_output(folder / "pareto.json", "w") as handle:
        json.dump(_finite(data), handle, indent=2)
        handle.write("\n")
    print(text, file=out)
    print(f"wrote {png}, {final / 'pareto.md'}, {final / 'pareto.json'}", file=out)
    return data


def pareto_figure(
    results: Sequence[SchemeOutcome],
    front: Sequence[SchemeOutcome],
    *,
    marks: Mapping[str, float],
    caption: str = "",
) -> FigureBase:
    """The report's Pareto figure, from the numbers its table prints: each case's accuracy
    and energy, the front as computed for the table, the exact network's accuracy of the
    baseline (``results[0]``: the plainly trained model, as ``pareto.md`` states it; a
    hardware-aware model's own exact accuracy is not the reference) and ``marks``, the cost
    model's reference energies (name -> J per MAC).

    Returns:
        the matplotlib figure (:func:`cimspice.plots.save_figure` writes it).
    """
    from cimspice.plots import plot_pareto

    on_front = {id(r) for r in front}
    return plot_pareto(
        [r.label for r in results],
        np.array([r.energy_per_mac for r in results]),
        np.array([r.accuracy for r in results]),
        np.array([r.accuracy_std for r in results]),
        np.array([id(r) in on_front for r in results]),
        exact_accuracy=results[0].accuracy_ideal,
        energy_marks=marks,
        caption=caption,
    )


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` (strict JSON)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    return value
