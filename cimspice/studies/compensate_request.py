"""The work of ``cimspice compensate SPEC --scheme NAME --network``: a scheme's tile-level
report followed by the network level (a model on SPEC's tiles, surrogate, without and with the
scheme).

The tile level is :mod:`cimspice.compensation.request`'s; this module adds the network's
checks and paths to the same plan, so that a failure at the network level leaves no report
files behind.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cimspice.arguments import check_fields, integer

if TYPE_CHECKING:
    from cimspice.compensation.report import CompensationReport
    from cimspice.compensation.request import CompensateRequest
    from cimspice.studies.schemes import SchemeOutcome

__all__ = ["NetworkLevel", "run_compensate_network"]


@dataclass(frozen=True)
class NetworkLevel:
    """The network a scheme is also evaluated on (``compensate --network``).

    Attributes:
        model: a built-in model name or a model file.
        samples: evaluate the first ``samples`` of the held-out split (``None``: all).
        seeds: device seeds per case (>= 1).
        cache_dir: cache of built-in models and of the runs (see
            :class:`~cimspice.studies.pareto_report.ParetoRequest`).
        progress: progress bars (stderr).
        executor: where the runs go (``local`` or ``dask``).
        jobs: runs at a time (``None``: every core this process may use).
        scheduler: a running Dask scheduler's address (``None``: a local Dask cluster).

    Raises:
        InputError: a field of the wrong type or value (named), on construction.
    """

    model: str = "mnist-mlp"
    samples: int | None = None
    seeds: int = 2
    cache_dir: Path | None = None
    progress: bool = True
    executor: str = "local"
    jobs: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        from cimspice.executors import check_executor, worker_count

        check_fields(self, "")
        integer(self.seeds, "seeds", minimum=1)
        if self.samples is not None:
            integer(self.samples, "samples", minimum=1)
        check_executor(self.executor, self.scheduler)
        worker_count(self.jobs)


def run_compensate_network(
    request: CompensateRequest, network: NetworkLevel, out: TextIO | None = None
) -> tuple[CompensationReport, SchemeOutcome, SchemeOutcome]:
    """:func:`~cimspice.compensation.request.run_compensate`, then ``network.model`` on
    ``request.spec``'s tiles without and with the scheme (its network form); prints both
    to ``out`` (default: stdout).

    Everything is checked before any work: the tile level's arguments and paths, the
    scheme's network form on the spec, the model's name or file and the model cache.

    Returns:
        the tile-level report, and the network's result without and with the scheme.

    Raises:
        CimspiceError: any bad input (named), or a failed run.
    """
    from cimspice.compensation.request import prepare_compensate
    from cimspice.studies.evaluate import check_model_name
    from cimspice.studies.pareto_report import ParetoRequest, scheme_network

    out = sys.stdout if out is None else out
    run = prepare_compensate(request)
    run.scheme.network_form(run.spec)  # a scheme with no network form: refused before any work
    run.plan.read(check_model_name(network.model), "--model")
    run.plan.cache(network.cache_dir, "--cache-dir")
    with run.plan:  # the network level too: a failure there leaves no report files behind
        report = run.measure(out)
        base, after = scheme_network(
            ParetoRequest(
                spec=request.spec,
                out=Path("."),  # unused: scheme_network writes nothing
                model=network.model,
                samples=network.samples,
                seeds=network.seeds,
                cache_dir=network.cache_dir,
                progress=network.progress,
                executor=network.executor,
                jobs=network.jobs,
                scheduler=network.scheduler,
            ),
            run.scheme,
        )
        print(
            f"network level ({network.model} on SPEC's tiles, surrogate, {base.seeds} device "
            f"seed(s)): accuracy {base.accuracy:.4f} -> {after.accuracy:.4f} (exact network "
            f"{base.accuracy_ideal:.4f}); energy per MAC {base.energy_per_mac:.4g} -> "
            f"{after.energy_per_mac:.4g} J",
            file=out,
        )
    run.announce()
    return report, base, after
