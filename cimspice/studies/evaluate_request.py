"""The work of ``cimspice evaluate``: load, evaluate, spot-check, sweep, print, write.

The command line only parses arguments into an :class:`EvaluateRequest` and calls
:func:`run_evaluate`; everything it prints goes to ``out`` (stdout) and progress to stderr.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cimspice.outputs import OutputPlan, atomic_output

if TYPE_CHECKING:
    from cimspice.spec import CrossbarSpec

__all__ = ["EvaluateRequest", "run_evaluate"]


@dataclass(frozen=True)
class EvaluateRequest:
    """What ``cimspice evaluate`` was asked to do.

    Attributes:
        model: a built-in model name or a model file (``.npz``; or ``.pt2``, saved with
            ``torch.export``, with the torch extra).
        spec: the spec file.
        surrogate: a calibrated surrogate file (``None``: the spec's nominal surrogate).
        engine: the hardware engine.
        mode: the surrogate's mode on nonlinear tiles (``accurate`` or ``fast``).
        dataset: the dataset of a model file (``None``: inferred from its input size).
        data: a data file of samples and labels for a PyTorch model (``.npz``, keys
            ``inputs`` and ``labels``; see :mod:`cimspice.nn.data_file`), evaluated whole.
        split: which samples to evaluate (``test``, ``train``, ``all``).
        samples: evaluate at most this many (``None``: all of the split).
        json_out: write the results here (JSON, atomically; a path as typed, so that one
            ending in ``/`` is refused as a folder).
        spot_check: re-run one tile in ngspice.
        sweep: ``KEY=v1,v2,...`` texts, one sweep each.
        seeds: device seeds per sweep point; for a PyTorch model (which takes no sweep), the
            hardware accuracy is also measured over this many device seeds.
        plot_dir: folder for sweep plots.
        cache_dir: folder of cached built-in models.
        hardware_aware: evaluate the built-in model trained with this weight-noise level
            (0: plain training); with a level, the plainly trained model is evaluated on the
            same tiles too and the gain reported.
        recalibrate_bn: for a PyTorch model with batch norm, re-estimate its statistics on
            the tiles (every device seed's) from this many calibration samples (0: as
            trained; see :func:`cimspice.torch.recalibrate_batch_norm`).
        progress: show progress bars.
        executor: where sweep points run (``local`` or ``dask``).
        jobs: sweep points at a time (``None``: every core this process may use).
        scheduler: a running Dask scheduler's address (``None``: a local Dask cluster).
        device: a torch device (``cpu``, ``cuda``, ``cuda:1``) to evaluate on: the model (a
            numpy one in its torch form, :func:`cimspice.torch.models.from_numpy`), its
            samples and every tile's MVMs there (the torch extra; ``None``: a numpy model on
            the numpy path, a PyTorch one on the CPU).
    """

    model: str
    spec: Path
    surrogate: Path | None = None
    engine: str = "surrogate"
    mode: str = "accurate"
    dataset: str | None = None
    data: Path | None = None
    split: str = "test"
    samples: int | None = None
    json_out: str | Path | None = None
    spot_check: bool = False
    sweep: list[str] = field(default_factory=list)
    seeds: int = 1
    plot_dir: Path | None = None
    cache_dir: Path | None = None
    hardware_aware: float = 0.0
    recalibrate_bn: int = 0
    progress: bool = True
    executor: str = "local"
    jobs: int | None = None
    scheduler: str | None = None
    device: str | None = None


def run_evaluate(request: EvaluateRequest, out: TextIO | None = None) -> dict[str, Any]:
    """Do what ``request`` asks; return the JSON-ready results (also written to ``json_out``).

    Prints to ``out`` (default: the current ``sys.stdout``).

    Raises:
        CimspiceError: any bad input (spec, model file, surrogate, sweep), named.
    """
    from cimspice.errors import InputError
    from cimspice.executors import check_executor, worker_count
    from cimspice.mapping.matmul import check_tile_fits
    from cimspice.spec import load_spec
    from cimspice.studies.evaluate import check_model_name
    from cimspice.studies.sweeps import parse_sweep, with_value

    out = sys.stdout if out is None else out
    check_executor(request.executor, request.scheduler)
    worker_count(request.jobs)
    spec = load_spec(request.spec)
    check_tile_fits(spec, request.engine)
    sweeps = [parse_sweep(text) for text in request.sweep]
    for key, values in sweeps:  # a bad key or value (or a tile too large) fails before any work
        for value in values:
            check_tile_fits(with_value(spec, key, value), request.engine)
    if sweeps and request.plot_dir is None:
        raise InputError("--sweep needs --plot-dir (where the accuracy plot goes)")
    _check_torch_options(request)
    plan = OutputPlan()  # every path is checked before any work, outputs written together
    plan.read(request.spec, "--spec")
    plan.read(request.surrogate, "--surrogate")
    plan.read(check_model_name(request.model), "--model")
    plan.read(request.data, "--data")
    if request.json_out is not None:
        plan.write(request.json_out, "--json")
    if sweeps and request.plot_dir is not None:
        plan.folder(request.plot_dir, "--plot-dir", [_plot_name(key) for key, _ in sweeps])
    plan.cache(request.cache_dir, "--cache-dir")
    with plan:
        return _run(request, spec, sweeps, plan, out)


def _check_torch_options(request: EvaluateRequest) -> None:
    """Refuse the options that do not apply to the kind of model asked for, with the reason.

    Raises:
        InputError: ``--data`` or ``--recalibrate-bn`` with a numpy model; ``--sweep`` or
            ``--hardware-aware`` with a PyTorch model or a ``--device``; ``--recalibrate-bn``
            with a ``.pt2`` file; a ``--device`` torch does not know.
        EngineUnavailableError: ``--device`` without PyTorch, or a CUDA device this machine
            does not have.
    """
    from cimspice.errors import InputError
    from cimspice.nn.zoo import TORCH_MODELS
    from cimspice.studies.evaluate import is_torch_model

    if request.device is not None:
        from cimspice.studies.torch_evaluate import torch_device

        torch_device(request.device)
        host_only = {"--sweep": request.sweep, "--hardware-aware": request.hardware_aware}
        for flag, given in host_only.items():
            if given:
                raise InputError(
                    f"{flag} runs on the numpy path, on the host; --device {request.device} "
                    "evaluates one model through cimspice.torch (leave one of them out)"
                )
    if not is_torch_model(request.model):
        if request.data is not None:
            raise InputError(
                "--data gives the samples of a PyTorch model (.pt2 or a torch built-in); a "
                "numpy model is evaluated on a built-in dataset (--dataset)"
            )
        if request.recalibrate_bn:
            raise InputError(
                "--recalibrate-bn re-estimates a PyTorch model's batch norm (.pt2 or a torch "
                "built-in); the numpy models have none"
            )
        return
    if request.sweep:
        raise InputError(
            "--sweep runs on the numpy models (digits-mlp, mnist-mlp, mnist-cnn, .npz files); "
            "for a PyTorch model use --seeds N here, or sweep in Python (cimspice.torch.convert "
            "per spec, cimspice.torch.monte_carlo over seeds and time since programming)"
        )
    if request.hardware_aware:
        raise InputError(
            "--hardware-aware picks a numpy built-in trained with weight noise; a PyTorch "
            "model is trained through its tiles in Python (cimspice.torch.training.fit)"
        )
    if request.recalibrate_bn and request.model not in TORCH_MODELS:
        raise InputError(
            "--recalibrate-bn applies to the torch built-ins: a .pt2 program holds batch norm "
            "as graph operations, not modules; recalibrate the nn.Module in Python "
            "(cimspice.torch.recalibrate_batch_norm)"
        )


def _evaluate_torch(
    request: EvaluateRequest, spec: CrossbarSpec, surrogate: Any, out: TextIO
) -> tuple[Any, Any, dict[str, Any]]:
    """A PyTorch model's evaluation (see :mod:`cimspice.studies.torch_evaluate`): the result,
    the hardware multiply (for the spot-check) and what the JSON adds for such models
    (``products_digital``; with ``--seeds`` above 1, ``seeds``)."""
    from cimspice.studies.evaluate import is_torch_model
    from cimspice.studies.torch_evaluate import (
        evaluate_module,
        resolve_torch_model,
        seed_accuracies,
        torch_form,
    )

    if is_torch_model(request.model):
        model = resolve_torch_model(
            request.model,
            data=request.data,
            dataset=request.dataset,
            split=request.split,
            cache_dir=request.cache_dir,
            progress=request.progress,
        )
    else:  # a numpy model, on --device
        model = torch_form(
            request.model, cache_dir=request.cache_dir, dataset=request.dataset, split=request.split
        )
        print(f"{request.model} in its torch form (float32) on {request.device}", file=out)
    if request.samples is not None:
        model.x, model.y = model.x[: request.samples], model.y[: request.samples]
    device = request.device or "cpu"
    if model.lifted:
        print(f"{len(model.lifted)} product(s) of {request.model} lifted onto tiles", file=out)
    for line in model.digital:
        print(f"left digital: {line}", file=out)
    result, hardware, converted = evaluate_module(
        model,
        spec,
        engine=request.engine,
        surrogate=surrogate,
        mode=request.mode,
        spot_check=request.spot_check,
        recalibrate_bn=request.recalibrate_bn,
        progress=request.progress,
        device=device,
    )
    extra: dict[str, Any] = {"products_digital": model.digital, "device": device}
    if request.recalibrate_bn:
        extra["recalibrate_bn"] = request.recalibrate_bn
        count = len(model.calibration[: request.recalibrate_bn])
        print(
            f"batch norm re-estimated on the tiles from {count} calibration samples (per "
            "device seed)",
            file=out,
        )
    if request.seeds > 1:
        base = spec.nonideal.seed
        seeds = seed_accuracies(
            model,
            converted,
            range(base, base + request.seeds),
            recalibrate_bn=request.recalibrate_bn,
            progress=request.progress,
            device=device,
        )
        print(
            f"over {request.seeds} device seeds ({base}..{base + request.seeds - 1}): hardware "
            f"accuracy {seeds['mean']:.4f} +- {seeds['std']:.4f}",
            file=out,
        )
        extra["seeds"] = seeds
    return result, hardware, extra


def _plot_name(key: str) -> str:
    """The file of a sweep's accuracy plot."""
    return f"accuracy_vs_{key.replace('.', '_')}.png"


def _run(
    request: EvaluateRequest,
    spec: CrossbarSpec,
    sweeps: list[tuple[str, list[Any]]],
    plan: OutputPlan,
    out: TextIO,
) -> dict[str, Any]:
    """:func:`run_evaluate` once its arguments and paths are checked."""
    from cimspice.errors import InputError
    from cimspice.resources import default_cache_dir
    from cimspice.studies.evaluate import evaluate, resolve_model, samples_of
    from cimspice.studies.sweeps import run_sweep
    from cimspice.sweep import SweepCache

    surrogate: Any = None
    if request.surrogate is not None and spec.is_charge:
        from cimspice.charge.surrogate import load_charge_surrogate

        surrogate = load_charge_surrogate(request.surrogate)
    elif request.surrogate is not None:
        from cimspice.surrogate.model import load_surrogate

        surrogate = load_surrogate(request.surrogate)
    if request.spot_check and request.engine != "surrogate":
        raise InputError(
            "--spot-check checks the surrogate engine's tiles (use --engine surrogate)"
        )
    from cimspice.studies.evaluate import is_torch_model

    extra: dict[str, Any] = {}
    if is_torch_model(request.model) or request.device is not None:
        result, hardware, extra = _evaluate_torch(request, spec, surrogate, out)
    else:
        model, data = resolve_model(
            request.model,
            cache_dir=request.cache_dir,
            dataset=request.dataset,
            hardware_aware=request.hardware_aware,
        )
        x, y = samples_of(data, request.split)
        if request.samples is not None:
            x, y = x[: request.samples], y[: request.samples]
        calibration = data.x_train[:1000]
        probe = (model.weighted_layers()[0], None) if request.spot_check else None
        result, hardware = evaluate(
            model,
            x,
            y,
            spec,
            engine=request.engine,
            surrogate=surrogate,
            mode=request.mode,
            calibration=calibration,
            probe=probe,
            progress=request.progress,
        )
    tiles = f"spec {request.spec} ({spec.rows}x{spec.cols} tiles)"
    if request.engine == "surrogate" and spec.is_charge:
        source = request.surrogate or "nominal (ideal charge sharing, the drawn capacitors)"
        print(f"{tiles}; charge surrogate: {source}", file=out)
    elif request.engine == "surrogate":
        source = request.surrogate or "nominal (exact for a passive tile)"
        print(f"{tiles}; surrogate ({request.mode} mode): {source}", file=out)
    else:
        print(f"{tiles}; tile engine: {request.engine}", file=out)
    print(result.summary(), file=out)
    if request.spot_check:
        from cimspice.studies.spotcheck import held_out_error, spot_check

        assert hardware.record is not None
        held_out = None
        if spec.is_charge:  # a calibrated charge surrogate's held-out error, if any
            held_out = None if surrogate is None else surrogate.held_out
        elif surrogate is not None:
            held_out = held_out_error(surrogate.metadata, mode=request.mode, v_out=spec.has_tia)
        check = spot_check(spec, hardware.record, held_out=held_out)
        result.spot_check = check.as_dict()
        print(check.summary(), file=out)
    data_out = result.to_json()
    data_out.update(extra)
    if request.hardware_aware:
        plain, _ = resolve_model(request.model, cache_dir=request.cache_dir)
        baseline, _ = evaluate(
            plain,
            x,
            y,
            spec,
            engine=request.engine,
            surrogate=surrogate,
            mode=request.mode,
            calibration=calibration,
            progress=request.progress,
        )
        gain = result.accuracy_hardware - baseline.accuracy_hardware
        print(
            f"hardware-aware training (level {request.hardware_aware:g}): hardware accuracy "
            f"{result.accuracy_hardware:.4f} vs {baseline.accuracy_hardware:.4f} plainly trained "
            f"({gain:+.4f}); ideal {result.accuracy_ideal:.4f} vs {baseline.accuracy_ideal:.4f}",
            file=out,
        )
        data_out["hardware_aware"] = {
            "level": request.hardware_aware,
            "plain_accuracy_ideal": baseline.accuracy_ideal,
            "plain_accuracy_hardware": baseline.accuracy_hardware,
            "gain_hardware": gain,
        }
    data_out["spec"] = str(request.spec)
    data_out["surrogate"] = None if request.surrogate is None else str(request.surrogate)
    data_out["split"] = request.split
    data_out["sweeps"] = []
    for key, values in sweeps:
        sweep = run_sweep(
            model,
            x,
            y,
            spec,
            key=key,
            values=values,
            seeds=request.seeds,
            engine=request.engine,
            surrogate=surrogate,
            mode=request.mode,
            calibration=calibration,
            progress=request.progress,
            executor=request.executor,
            jobs=request.jobs,
            scheduler=request.scheduler,
            cache=SweepCache(Path(request.cache_dir or default_cache_dir()) / "studies"),
        )
        assert request.plot_dir is not None
        sweep.plot(plan.stage(request.plot_dir) / _plot_name(key))
        png = Path(request.plot_dir) / _plot_name(key)
        print(sweep.summary(), file=out)
        print(f"wrote {png}", file=out)
        data_out["sweeps"].append({**sweep.to_json(), "plot": str(png)})
    if request.json_out is not None:
        with atomic_output(plan.stage(request.json_out), "w") as handle:
            json.dump(data_out, handle, indent=2)
            handle.write("\n")
    return data_out
