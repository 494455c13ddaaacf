"""The work of ``cimspice compensate`` and ``cimspice predistort`` at tile level.

The command line only parses arguments into a :class:`CompensateRequest` or a
:class:`PredistortRequest` and calls :func:`run_compensate` or :func:`run_predistort`. Each
checks every argument (on construction of the request) and declares every input and output
path in one :class:`~cimspice.outputs.OutputPlan` before any work; the outputs then appear
together or not at all. What they print goes to ``out`` (default: stdout); the lines naming
the plots written go to stderr.

:func:`prepare_compensate` is the checked, planned first half of :func:`run_compensate`, for
a caller that adds to the plan before the work: the network level of ``compensate --network``
(:func:`cimspice.studies.compensate_request.run_compensate_network`, which needs the networks
above this package).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cimspice.arguments import check_fields, choice, integer, real
from cimspice.errors import OutputError
from cimspice.outputs import OutputPlan, atomic_output
from cimspice.seeds import check_seed

if TYPE_CHECKING:
    from cimspice.compensation.cost import CostModel
    from cimspice.compensation.ir_predistort import Predistortion
    from cimspice.compensation.report import CompensationReport
    from cimspice.compensation.scheme import Scheme
    from cimspice.spec import CrossbarSpec

__all__ = [
    "CompensateRequest",
    "CompensateRun",
    "PredistortRequest",
    "correction_path",
    "prepare_compensate",
    "run_compensate",
    "run_predistort",
]


@dataclass(frozen=True)
class CompensateRequest:
    """What ``cimspice compensate SPEC --scheme NAME`` was asked to do (tile level).

    Attributes:
        spec: the spec file (the tile).
        scheme: a scheme's name (:data:`cimspice.compensation.SCHEME_NAMES`).
        params: the scheme's parameters (fields of its parameter dataclass, e.g.
            ``{"tile_rows": 16, "tile_cols": 16}``).
        engine: what measures the errors (:data:`cimspice.compensation.MEASURING_ENGINES`).
        conductances: the target conductances (``.npy``, siemens, ``(rows, cols)``);
            ``None``: random over the lower 60% of the spec's window
            (:func:`cimspice.compensation.default_targets`).
        batch: held-out input vectors (>= 1).
        seed: their seed, and the random targets' (>= 0).
        t_read: second, read time per array cycle (the cost model's; > 0).
        json_out: also write the report (JSON) here.
        plot_dir: draw the error maps before and after into ``plot_dir/SCHEME.png``.

    Raises:
        InputError: a field of the wrong type or value (named), on construction.
    """

    spec: Path
    scheme: str
    params: Mapping[str, Any] = field(default_factory=dict)
    engine: str = "ngspice"
    conductances: Path | None = None
    batch: int = 32
    seed: int = 0
    t_read: float = 10e-9
    json_out: Path | None = None
    plot_dir: Path | None = None

    def __post_init__(self) -> None:
        from cimspice.compensation import MEASURING_ENGINES
        from cimspice.errors import InputError

        _file_name(self.json_out, "--json")
        check_fields(self, "")
        choice(self.engine, MEASURING_ENGINES, "engine")
        integer(self.batch, "batch", minimum=1)
        check_seed(self.seed)
        real(self.t_read, "t_read", positive=True)
        if not isinstance(self.params, Mapping):
            raise InputError(f"params must be a mapping, got {type(self.params).__name__}")


@dataclass(frozen=True)
class PredistortRequest:
    """What ``cimspice predistort`` was asked to do: pre-distort target conductances against
    the wires' IR drop (:mod:`~cimspice.compensation.ir_predistort`) and write ``G'``.

    By default the written matrix stands on its own: programmed as it is, the array outputs
    ``V @ G`` with no digital correction. A floor offset or a rescaling needs one, written
    beside the matrix (:func:`correction_path`).

    Attributes:
        spec: the spec file (a linear tile).
        conductances: the targets (``.npy``, siemens, ``(rows, cols)``, inside the window).
        output: where ``G'`` goes (``.npy``, siemens).
        rescale: scale the targets by ``alpha < 1`` when the window leaves no headroom.
        floor_offset: raise every target by an offset so that no cell needs less than
            ``g_min``.

    Raises:
        InputError: a field of the wrong type (named), on construction.
    """

    spec: Path
    conductances: Path
    output: Path
    rescale: bool = False
    floor_offset: bool = False

    def __post_init__(self) -> None:
        _file_name(self.output, "-o")
        check_fields(self, "")


def _file_name(value: object, what: str) -> None:
    """Refuse an output file given as a folder (``new/``), before it becomes a
    :class:`~pathlib.Path` (which drops the trailing separator)."""
    if isinstance(value, str) and value.endswith(("/", os.sep)):
        raise OutputError(f"{what} {value!r} names a folder, not a file")


def correction_path(output: str | Path) -> Path:
    """Where :func:`run_predistort` writes the digital correction of ``output``: ``output``
    as ``.json``."""
    return Path(output).with_suffix(".json")


def _input_plan(spec_path: Path, spec: CrossbarSpec, conductances: Path | None) -> OutputPlan:
    """An output plan holding the inputs: SPEC, ``--conductances`` and the spec's model file."""
    from cimspice.errors import SpecError

    plan = OutputPlan()
    plan.read(spec_path, "SPEC")
    plan.read(conductances, "--conductances")
    if spec.access.model_file:
        try:
            plan.read(spec.model_path(), "access.model_file")
        except SpecError:
            pass  # a missing model file is reported where it is needed
    return plan


def run_predistort(request: PredistortRequest, out: TextIO | None = None) -> Predistortion:
    """Pre-distort ``request.conductances`` and write ``G'`` (and, when it needs one, its
    digital correction as JSON: ``alpha``, ``offset_s``); print what was written.

    Every argument and path is checked before any work (a nonlinear tile is refused naming
    the spec key); the outputs appear together or not at all.

    Returns:
        the solution written.

    Raises:
        CimspiceError: a bad spec, array, tile or output path (named).
    """
    from cimspice.compensation.ir_predistort import PredistortParams
    from cimspice.spec import load_spec

    out = sys.stdout if out is None else out
    spec = load_spec(request.spec)
    PredistortParams().check_tile(spec)  # a nonlinear tile: refused before any work
    plan = _input_plan(request.spec, spec, request.conductances)
    plan.write(request.output, "-o")
    if request.rescale or request.floor_offset:
        plan.write(correction_path(request.output), "correction file (-o with .json)")
    with plan:
        return _predistort(request, spec, plan, out)


def _predistort(
    request: PredistortRequest, spec: CrossbarSpec, plan: OutputPlan, out: TextIO
) -> Predistortion:
    """:func:`run_predistort` once its arguments and paths are checked."""
    import numpy as np

    from cimspice.arrays import load_array
    from cimspice.compensation.ir_predistort import PredistortParams, predistort, rescaled

    g = load_array(request.conductances, "conductances")
    params = PredistortParams(shift_floor=request.floor_offset)
    sol = rescaled(spec, g, params) if request.rescale else predistort(spec, g, params)
    correction = correction_path(request.output)
    needs_correction = sol.alpha != 1.0 or sol.offset != 0.0
    with atomic_output(plan.stage(request.output)) as handle:
        np.save(handle, sol.conductances)
    if needs_correction:
        with atomic_output(plan.stage(correction), "w") as handle:
            json.dump(
                {
                    "conductances": str(request.output),
                    "alpha": sol.alpha,
                    "offset_s": sol.offset,
                    "outputs": "(I - offset_s * sum(V)) / alpha",
                },
                handle,
                indent=2,
            )
    print(
        f"wrote {request.output}: {sol.iterations} iterations, nodal residual "
        f"{sol.residual:.3e} of full scale, alpha {sol.alpha:.6g}, offset "
        f"{sol.offset:.6g} S, cells at g_max {int(sol.clipped_high.sum())}, held at g_min "
        f"{int(sol.clipped_low.sum())}",
        file=out,
    )
    if needs_correction:
        print(
            f"outputs need (I - offset * sum(V)) / alpha digitally: written to {correction}",
            file=out,
        )
    if sol.clipped_high.any() and not request.rescale:
        print("the window leaves no headroom: --rescale scales the targets to fit it", file=out)
    return sol


@dataclass
class CompensateRun:
    """A checked, planned :class:`CompensateRequest` (:func:`prepare_compensate`).

    Attributes:
        request: the request.
        spec: its spec, loaded.
        scheme: its scheme with its parameters, the tile checked against it.
        cost: the cost model.
        plan: its inputs and outputs; a caller may add more before entering it.
    """

    request: CompensateRequest
    spec: CrossbarSpec
    scheme: Scheme
    cost: CostModel
    plan: OutputPlan

    @property
    def plot(self) -> Path | None:
        """The plot the run draws (the user's path), if any."""
        folder = self.request.plot_dir
        return None if folder is None else folder / f"{self.request.scheme}.png"

    def measure(self, out: TextIO | None = None) -> CompensationReport:
        """Measure the scheme, print its report to ``out`` (default: stdout) and write its
        JSON and plot to their staged paths; call it inside ``with self.plan``."""
        from cimspice.arrays import load_array
        from cimspice.compensation import default_targets, evaluate_scheme

        out = sys.stdout if out is None else out
        request, spec = self.request, self.spec
        if request.conductances is not None:
            g = load_array(request.conductances, "conductances")
        else:
            g = default_targets(spec, request.seed)
        report = evaluate_scheme(
            self.scheme,
            spec,
            g,
            engine=request.engine,
            batch=request.batch,
            seed=request.seed,
            cost=self.cost,
        )
        print("\n".join(report.lines(self.cost)), file=out)
        if request.json_out is not None:
            with atomic_output(self.plan.stage(request.json_out), "w") as handle:
                json.dump(report.as_dict(), handle, indent=2)
        if request.plot_dir is not None:
            from cimspice.caption import spec_caption
            from cimspice.plots import plot_before_after, save_figure

            figure = plot_before_after(
                report.outputs_before,
                report.outputs_after,
                report.reference,
                title=f"{request.scheme}: error against V @ G, before and after",
                caption=spec_caption(spec, engine=report.engine),
            )
            save_figure(figure, self.plan.stage(request.plot_dir) / f"{request.scheme}.png")
        return report

    def announce(self) -> None:
        """Name the plot written (stderr), once the plan is committed."""
        if self.plot is not None:
            print(f"wrote {self.plot}", file=sys.stderr)


def prepare_compensate(request: CompensateRequest) -> CompensateRun:
    """Check ``request`` (the scheme and its parameters, the spec, the tile against the
    scheme, the cost model) and plan its paths, before any work.

    Raises:
        CimspiceError: an unknown scheme or parameter, a tile the scheme refuses (naming the
            key), a bad spec (named).
    """
    from cimspice.compensation import make_scheme
    from cimspice.compensation.cost import CostModel
    from cimspice.spec import load_spec

    spec = load_spec(request.spec)
    plan = _input_plan(request.spec, spec, request.conductances)
    scheme = make_scheme(request.scheme, **request.params)
    scheme.check_tile(spec)  # refused before any work, naming the spec key
    cost = CostModel(t_read=request.t_read)
    if request.json_out is not None:
        plan.write(request.json_out, "--json")
    if request.plot_dir is not None:
        plan.folder(request.plot_dir, "--plot-dir", [f"{request.scheme}.png"])
    return CompensateRun(request, spec, scheme, cost, plan)


def run_compensate(request: CompensateRequest, out: TextIO | None = None) -> CompensationReport:
    """Measure a scheme on a tile: print its report to ``out`` (default: stdout), write its
    JSON and plot (together or not at all).

    Returns:
        the report.

    Raises:
        CimspiceError: any bad input (see :func:`prepare_compensate`), or a failed run.
    """
    run = prepare_compensate(request)
    with run.plan:
        report = run.measure(out)
    run.announce()
    return report
