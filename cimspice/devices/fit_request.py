"""``cimspice fit-device``: fit a device model to data files (the generic one; with
``--model``, a preset's: :mod:`cimspice.devices.pcm_fitting`,
:mod:`cimspice.devices.reram_fitting`, :mod:`cimspice.devices.multilevel_fitting`) and write
the device file and, optionally, a report (:mod:`cimspice.devices.fit_report`: JSON of
every estimate with its standard error, and plots of the data against the fit).

The device file holds a ``[nonideal]`` table: copy it into a spec, or apply it in Python with
:func:`apply_device_file` (``spec.replace`` of each key, validated as a spec file is).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cimspice.devices.fit_report import REPORT_FILES, write_report
from cimspice.devices.fitting import DeviceData, DeviceFit, fit_device, read_tables
from cimspice.devices.multilevel_fitting import MULTILEVEL_MODEL, fit_multilevel
from cimspice.devices.pcm_fitting import PCM_MODEL, fit_pcm
from cimspice.devices.reram_fitting import RERAM_MODEL, fit_reram
from cimspice.errors import InputError, SpecError
from cimspice.outputs import OutputPlan
from cimspice.spec import CrossbarSpec, NonidealSpec

__all__ = [
    "FIT_MODELS",
    "REPORT_FILES",
    "FitDeviceRequest",
    "apply_device_file",
    "load_device_file",
    "run_fit_device",
    "write_report",
]


@dataclass(frozen=True)
class FitDeviceRequest:
    """One ``fit-device`` run.

    Attributes:
        data: the data files (CSV or NPZ), one per table.
        output: the device file to write (TOML).
        report: a folder for ``fit.json`` and the plots (``None``: no report).
        model: the device model to fit (one of :data:`FIT_MODELS`).
        g_max: siemens, the window's top the data were taken on (the PCM and ReRAM models
            need it).
        levels: the multi-level model's level count (``None``: the highest level in the
            data plus one).
    """

    data: Sequence[Path]
    output: Path
    report: Path | None = None
    model: str = "generic"
    g_max: float | None = None
    levels: int | None = None


FIT_MODELS: dict[str, Callable[[DeviceData, FitDeviceRequest], DeviceFit]] = {
    "generic": lambda data, request: fit_device(data),
    PCM_MODEL: lambda data, request: fit_pcm(data, request.g_max),
    RERAM_MODEL: lambda data, request: fit_reram(data, request.g_max),
    MULTILEVEL_MODEL: lambda data, request: fit_multilevel(data, request.levels),
}
"""The device models ``fit-device`` fits (``--model``), each with its fit."""


def run_fit_device(request: FitDeviceRequest) -> DeviceFit:
    """Check every path, fit, write the device file (and report) all or nothing.

    Raises:
        InputError: bad data (file and column named), or ``--g-max`` / ``--levels`` given to
            a model that does not use them.
        OutputError: an output path that may not be written.
    """
    if request.model not in FIT_MODELS:
        raise InputError(
            f"fit-device --model {request.model!r}: fits {', '.join(FIT_MODELS)} (a model "
            "added with register() has no fit: set its parameters with nonideal.model_params)"
        )
    if request.g_max is not None and request.model not in (PCM_MODEL, RERAM_MODEL):
        raise InputError(
            f"fit-device --g-max applies to --model {PCM_MODEL} or {RERAM_MODEL}, whose curves "
            f"are functions of G / g_max; --model {request.model} does not use it"
            + (
                " (it fits the window from the levels table)"
                if request.model == MULTILEVEL_MODEL
                else ""
            )
        )
    if request.levels is not None and request.model != MULTILEVEL_MODEL:
        raise InputError(
            f"fit-device --levels applies to --model {MULTILEVEL_MODEL}; --model "
            f"{request.model} has no level count to set"
        )
    plan = OutputPlan()
    for path in request.data:
        plan.read(path, "DATA")
    plan.write(request.output, "-o")
    if request.report is not None:
        plan.folder(request.report, "--report", REPORT_FILES)
    with plan:
        data = read_tables(request.data)
        fit = FIT_MODELS[request.model](data, request)
        names = ", ".join(str(p) for p in request.data)
        text = fit.to_toml(f"written by cimspice fit-device from {names}\n{fit.model} model")
        plan.stage(request.output).write_text(text, encoding="utf-8")
        if request.report is not None:
            write_report(fit, plan.stage(request.report))
    return fit


def load_device_file(path: str | Path) -> dict[str, Any]:
    """The ``[nonideal]`` keys of a device file, checked as a spec's table is.

    Raises:
        SpecError: not TOML, a table other than ``[nonideal]``, or a bad key or value.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SpecError(f"not a readable device file: {err}", file=path) from None
    extra = sorted(set(data) - {"nonideal"})
    if extra or "nonideal" not in data:
        raise SpecError(
            "a device file holds one [nonideal] table"
            + (f"; it has [{'], ['.join(extra)}]" if extra else ""),
            file=path,
        )
    table = data["nonideal"]
    if not isinstance(table, dict):
        raise SpecError("must be a table", file=path, key="nonideal")
    for key in table:
        if key not in NonidealSpec.params():
            raise SpecError("unknown key", file=path, key=f"nonideal.{key}")
    try:
        NonidealSpec(**table)
    except SpecError as err:
        raise SpecError(str(err), file=path) from None
    return dict(table)


def apply_device_file(spec: CrossbarSpec, path: str | Path) -> CrossbarSpec:
    """``spec`` with the device file's ``[nonideal]`` keys set (the rest kept)."""
    keys = load_device_file(path)
    return spec.replace({f"nonideal.{k}": v for k, v in keys.items()})
