"""Fitting the ReRAM model (``reram-wan2022``, :mod:`cimspice.devices.reram`) to a user's
measurements, with uncertainties: ``cimspice fit-device --model reram-wan2022 --g-max S``.

The model's laws are the spread of the conductances about their targets, ``sigma_t(x)`` (a
quartic in ``x = G_T / g_max``), at the three times Wan et al. measured (1 s, 1 day and 2
days after write-verify; in between, interpolated in ``log t``), and an optional white read
noise. The tidy tables (read by :func:`cimspice.devices.fitting.read_tables`):

=============  =======================================  =====================================
table          columns                                  fits (``nonideal.model_params``)
=============  =======================================  =====================================
programming    ``target``, ``measured`` (S), read 1 s   ``s1s_0`` .. ``s1s_4``
               after write-verify
drift          ``device``, ``time`` (s after            ``s1s_*`` (rows at 1 s, with the
               programming: 1, 86400 or 172800),        programming table's), ``s1d_*`` (at
               ``conductance`` (S), ``target`` (S)      86400 s), ``s2d_*`` (at 172800 s)
reads          ``device``, ``conductance`` (S)          ``read_noise`` (relative std per read,
                                                        :func:`~cimspice.devices.fitting.
                                                        fit_reads`)
=============  =======================================  =====================================

Each time's quartic is fitted by maximum likelihood (``measured - target ~ N(0,
sigma_t(x)^2)``: relaxation in this model is a fresh draw about the target at each time),
with standard errors from the Fisher information
(:func:`~cimspice.devices.fitting.fit_spread_polynomial`, shared with the PCM fit). The
coefficients are written in uS on the data's window (``g_ref = g_max``); a time without data
keeps the preset's curve (Wan et al.'s, rescaled to that window) and is marked "set, not
fitted" in the file. Times other than the model's three are refused (the model has no
curve to hold them; the error names the column 'time'). The model's clip at 0 S is not
modelled: keep targets a few sigma above 0 S (for Wan et al.'s spread, above ~30 % of a 40
uS window: 3.9 uS at 1 day there).
"""

from __future__ import annotations

import numpy as np

from cimspice.devices.fitting import (
    DeviceData,
    DeviceFit,
    Estimate,
    fit_reads,
    fit_spread_polynomial,
    need_g_max,
)
from cimspice.devices.reram import FIT_TIMES, ReRAMWan2022Model
from cimspice.errors import InputError

__all__ = ["RERAM_MODEL", "TIME_TAGS", "fit_reram", "fit_reram_spread"]

RERAM_MODEL = ReRAMWan2022Model.name
"""The registry name of the model these functions fit."""

TIME_TAGS = dict(zip(FIT_TIMES, ("1s", "1d", "2d"), strict=True))
"""Seconds after programming -> the tag of the model's coefficients at that time."""

_UNIT = 1e-6
"""The model's coefficients are in uS."""


def fit_reram_spread(
    target: np.ndarray,
    measured: np.ndarray,
    g_max: float,
    tag: str,
    *,
    where: str = "programming",
) -> tuple[dict[str, Estimate], Estimate]:
    """The quartic ``sigma_t(x)`` at one of the model's times (``tag``: ``1s``, ``1d``,
    ``2d``): coefficients ``s{tag}_0`` .. ``s{tag}_4`` in uS (on a window of ``g_max``),
    and the mean error (``bias``, S).

    Raises:
        InputError: what :func:`~cimspice.devices.fitting.fit_spread_polynomial` raises
            (fewer than 5 distinct targets, targets above ``g_max``, too few rows).
    """
    names = [f"s{tag}_{k}" for k in range(5)]
    fitted, bias = fit_spread_polynomial(
        target, measured, g_max, names, where=where, what=f"ReRAM spread at {tag}"
    )
    return {k: Estimate(e.value / _UNIT, e.stderr / _UNIT) for k, e in fitted.items()}, bias


def fit_reram(data: DeviceData, g_max: float | None) -> DeviceFit:
    """Fit the ReRAM model to every table ``data`` holds (programming, drift, reads).

    Raises:
        InputError: no ``g_max``, a table the model has no parameters for (temperature,
            levels), a drift table without ``target`` or with a time the model has no curve
            for, no table, or what each fit raises (file and column named).
    """
    g_max = need_g_max(g_max, RERAM_MODEL)
    data.refuse(
        RERAM_MODEL,
        ("programming", "drift", "reads"),
        "programming: target, measured read 1 s after write-verify; drift: device, time, "
        "conductance, target at 1, 86400 or 172800 s; reads: device, conductance",
    )
    samples: dict[str, list[tuple[np.ndarray, np.ndarray, str]]] = {
        t: [] for t in TIME_TAGS.values()
    }
    if data.programming is not None:
        table = data.programming
        samples["1s"].append((table["target"], table["measured"], data.where("programming")))
    if data.drift is not None:
        table, where = data.drift, data.where("drift")
        if "target" not in table:
            raise InputError(
                f"{where}: no column 'target'; the {RERAM_MODEL} model's spread is about each "
                "device's target, so its drift table needs one"
            )
        known = np.array(FIT_TIMES)
        off = ~np.isin(table["time"], known)
        if off.any():
            raise InputError(
                f"{where}: column 'time' holds {float(table['time'][off][0]):g} s; the "
                f"{RERAM_MODEL} model has curves at {', '.join(f'{t:g}' for t in FIT_TIMES)} s "
                "only (Wan et al.'s times: 1 s, 1 day, 2 days)"
            )
        for t, tag in TIME_TAGS.items():
            pick = table["time"] == t
            if pick.any():
                samples[tag].append((table["target"][pick], table["conductance"][pick], where))
    params: dict[str, Estimate] = {}
    extra: dict[str, Estimate] = {}
    counts: dict[str, int] = {}
    for tag, parts in samples.items():
        if not parts:
            continue
        target = np.concatenate([p[0] for p in parts])
        measured = np.concatenate([p[1] for p in parts])
        where = " and ".join(dict.fromkeys(p[2] for p in parts))
        fitted, bias = fit_reram_spread(target, measured, g_max, tag, where=where)
        params.update(fitted)
        extra[f"bias_{tag}"] = bias
        counts[f"spread at {tag}"] = int(target.size)
    if data.reads is not None:
        reads = data.reads
        params.update(fit_reads(reads["device"], reads["conductance"], where=data.where("reads")))
        counts["reads devices"] = int(np.unique(reads["device"]).size)
    if not params:
        raise InputError(
            f"no table to fit for {RERAM_MODEL}: give a programming, drift or reads table"
        )
    fixed = {"g_ref": g_max}
    nominal = ReRAMWan2022Model.__dataclass_fields__
    for tag in TIME_TAGS.values():
        if f"s{tag}_0" not in params:  # the preset's curve, on the data's window
            for k in range(5):
                name = f"s{tag}_{k}"
                default = float(nominal[name].default)  # type: ignore[arg-type]
                ref = float(nominal["g_ref"].default)  # type: ignore[arg-type]
                fixed[name] = default * g_max / ref
    return DeviceFit(params, extra, counts, data, model=RERAM_MODEL, fixed=fixed, g_max=g_max)
