"""Fitting the generic device model to a user's measurements, with uncertainties (the PCM
preset's laws: :mod:`cimspice.devices.pcm_fitting`, on the same tables).

Three tidy tables (each a CSV file with a header row, or an NPZ file of equal-length 1-D
arrays named like the columns), recognised by their columns:

=================  ==============================  ============================================
table              columns                         fits (``[nonideal]`` keys)
=================  ==============================  ============================================
programming        ``target``, ``measured`` (S)    ``prog_noise_abs``, ``prog_noise_rel``
repeated reads     ``device``, ``conductance``     ``read_noise``
drift              ``device``, ``time`` (s),       ``drift_nu``, ``drift_nu_std``,
                   ``conductance`` (S)             ``drift_t0``
temperature        ``device``, ``temperature``     ``tc_device`` (at ``temperature_ref``, the
                   (K), ``conductance`` (S)        lowest temperature measured)
=================  ==============================  ============================================

- **programming**: ``measured - target ~ N(0, (a + b target)^2)`` fitted by maximum likelihood
  (``a = prog_noise_abs >= 0``, ``b = prog_noise_rel >= 0``); standard errors from the Fisher
  information, ``I = sum_i 2 / sigma_i^2 [1, g_i] [1, g_i]^T`` (exact for this model). The
  mean error is reported as ``bias`` (the generic model has none).
- **repeated reads**: each device read several times at one moment; ``sigma_read = r G``:
  ``r^2 = sum (x - mean_d)^2 / mean_d^2 / sum (n_d - 1)``, standard error ``r / sqrt(2 dof)``.
- **drift**: per device a least-squares line of ``ln G`` on ``ln t``, slope ``-nu_d``;
  ``drift_nu`` is their mean, ``drift_nu_std`` their spread with each slope's own fitting
  variance (read noise) subtracted; ``drift_t0`` is the earliest time (when the programmed
  values are taken to hold). Standard errors: ``std / sqrt(n)`` and ``std / sqrt(2 (n - 1))``.
- **temperature**: per device a least-squares line ``G = a + b T``; ``tc_device`` is the mean
  of ``b / (a + b T_ref)`` over devices (standard error ``std / sqrt(n)``), with ``T_ref`` the
  lowest temperature measured, written as ``temperature_ref`` (and ``temperature``: the
  device file changes nothing until a spec sets another operating temperature).

Every problem with the data is an :class:`~cimspice.errors.InputError` naming the file and
the column (missing, not a number, non-finite, negative, too few rows or devices).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from cimspice.errors import InputError

__all__ = [
    "MAX_DATA_BYTES",
    "OPTIONAL_COLUMNS",
    "TABLES",
    "DeviceData",
    "DeviceFit",
    "Estimate",
    "fit_device",
    "fit_drift",
    "fit_programming",
    "fit_reads",
    "fit_spread_polynomial",
    "fit_temperature",
    "need_g_max",
    "read_tables",
]

MAX_DATA_BYTES = 256 * 2**20
"""Largest data file read (256 MiB): a file is untrusted and read whole."""

TABLES: dict[str, tuple[str, ...]] = {
    "drift": ("device", "time", "conductance"),
    "temperature": ("device", "temperature", "conductance"),
    "levels": ("level", "conductance"),
    "reads": ("device", "conductance"),
    "programming": ("target", "measured"),
}
"""Each table's columns, in the order a file is matched against them (drift and temperature
before reads: they also have ``device`` and ``conductance``). A ``levels`` table (each row
one device programmed to the level numbered ``level``, 0 the lowest, and its conductance)
is what the multi-level model is fitted to (:mod:`cimspice.devices.multilevel_fitting`)."""

OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {"drift": ("target",)}
"""Columns a table may also have, read (and checked) when present: a drift table's ``target``
(S, each device's programming target; the PCM fit uses it)."""


@dataclass(frozen=True)
class Estimate:
    """A fitted value and its standard error (same unit)."""

    value: float
    stderr: float


@dataclass(frozen=True)
class DeviceData:
    """The tables read from the data files (``None``: not given).

    Attributes:
        programming: ``target``, ``measured`` (S).
        reads: ``device`` (integer codes), ``conductance`` (S).
        drift: ``device`` (integer codes), ``time`` (s), ``conductance`` (S).
        temperature: ``device`` (integer codes), ``temperature`` (K), ``conductance`` (S).
        levels: ``level`` (integer level numbers, 0 the lowest), ``conductance`` (S).
        sources: table name -> the file it came from.
    """

    programming: dict[str, np.ndarray] | None = None
    reads: dict[str, np.ndarray] | None = None
    drift: dict[str, np.ndarray] | None = None
    temperature: dict[str, np.ndarray] | None = None
    levels: dict[str, np.ndarray] | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def where(self, table: str) -> str:
        """``data file NAME``: how an error names the file ``table`` came from."""
        return f"data file {self.sources.get(table, table)}"

    def refuse(self, model: str, fits: Sequence[str], hint: str) -> None:
        """Raise for a table a model has no parameters for (``fits``: the tables it takes;
        ``hint``: what each gives it).

        Raises:
            InputError: a table not in ``fits``, its file named.
        """
        for name in TABLES:
            if name not in fits and getattr(self, name) is not None:
                raise InputError(
                    f"{self.where(name)}: a {name} table; the {model} model fits "
                    f"{', '.join(fits)} tables ({hint})"
                )


@dataclass(frozen=True)
class DeviceFit:
    """A device model fitted to data.

    Attributes:
        params: parameter -> its estimate (``[nonideal]`` keys for the generic model,
            ``nonideal.model_params`` names for another).
        extra: further fitted quantities not in the model (``bias``), for the report.
        counts: table name -> rows (or devices) used.
        data: the tables fitted (for the report's plots).
        model: the registry name of the model fitted (``nonideal.model``).
        fixed: parameters the fit sets without fitting them (written too).
        g_max: siemens, the window's top the data were fitted on (``None``: not used).
        g_min: siemens, the window's bottom, when the fit found it (``None``: not used).
    """

    params: dict[str, Estimate]
    extra: dict[str, Estimate]
    counts: dict[str, int]
    data: DeviceData
    model: str = "generic"
    fixed: dict[str, float] = field(default_factory=dict)
    g_max: float | None = None
    g_min: float | None = None

    def nonideal(self) -> dict[str, Any]:
        """The ``[nonideal]`` keys to set: ``model`` and each fitted (and fixed) value, in
        ``model_params`` for a model other than the generic one."""
        values = {**self.fixed, **{k: e.value for k, e in self.params.items()}}
        if self.model == "generic":
            return {"model": "generic", **values}
        return {"model": self.model, "model_params": values}

    def to_toml(self, header: str = "") -> str:
        """The device file: a ``[nonideal]`` table (comments give each standard error)."""
        lines = [f"# {line}" for line in header.splitlines()] if header else []
        if self.g_min is not None and self.g_max is not None:
            lines.append(
                f"# fitted window: g_min = {self.g_min!r} S, g_max = {self.g_max!r} S: set "
                "device.g_min and device.g_max"
            )
        elif self.g_max is not None:
            lines.append(f"# fitted on a window with g_max = {self.g_max!r} S: set device.g_max")
        lines.append("[nonideal]")
        lines.append(f'model = "{self.model}"')
        if self.model != "generic":
            lines.append("")
            lines.append("[nonideal.model_params]")
        for key, value in self.fixed.items():
            lines.append(f"{key} = {value!r}  # set, not fitted")
        for key, est in self.params.items():
            lines.append(f"{key} = {est.value!r}  # +- {est.stderr:.3g} (1 sigma)")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """The fit as JSON-ready data (value and standard error of every estimate)."""

        def table(estimates: Mapping[str, Estimate]) -> dict[str, dict[str, float]]:
            return {k: {"value": e.value, "stderr": e.stderr} for k, e in estimates.items()}

        return {
            "model": self.model,
            "params": table(self.params),
            "fixed": dict(self.fixed),
            "g_max": self.g_max,
            "g_min": self.g_min,
            "extra": table(self.extra),
            "counts": dict(self.counts),
            "sources": dict(self.data.sources),
        }


# ----- reading -----


def read_tables(paths: Sequence[str | Path]) -> DeviceData:
    """Read data files (CSV or NPZ), each recognised by its columns as one table.

    Raises:
        InputError: a missing, unreadable or oversized file, a file that matches no table
            (the columns each table needs named), two files of one table, or a bad value
            (the file and column named).
    """
    if not paths:
        raise InputError("fit-device needs at least one data file")
    found: dict[str, dict[str, np.ndarray]] = {}
    sources: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        columns = _read_columns(path)
        name = next((t for t, cols in TABLES.items() if set(cols) <= set(columns)), None)
        if name is None:
            needs = "; ".join(f"{t}: {', '.join(c)}" for t, c in TABLES.items())
            raise InputError(
                f"data file {path}: its columns ({', '.join(columns) or 'none'}) match no "
                f"table; each table needs these columns: {needs}"
            )
        if name in found:
            raise InputError(f"data file {path}: a second {name} table (first: {sources[name]})")
        found[name] = _table(path, name, columns)
        sources[name] = str(path)
    return DeviceData(
        programming=found.get("programming"),
        reads=found.get("reads"),
        drift=found.get("drift"),
        temperature=found.get("temperature"),
        levels=found.get("levels"),
        sources=sources,
    )


def _read_columns(path: Path) -> dict[str, np.ndarray]:
    """Column name -> raw values (strings from a CSV, arrays from an NPZ)."""
    if not path.exists():
        raise InputError(f"data file not found: {path}")
    if not path.is_file():
        raise InputError(f"data file {path} is not a regular file")
    if path.stat().st_size > MAX_DATA_BYTES:
        raise InputError(f"data file {path} is larger than {MAX_DATA_BYTES // 2**20} MiB")
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: np.asarray(data[name]) for name in data.files}
        except (ValueError, OSError, EOFError) as err:
            raise InputError(f"data file {path} is not a readable .npz: {err}") from None
    if path.suffix.lower() != ".csv":
        raise InputError(f"data file {path}: give a .csv or .npz file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"data file {path} is not readable UTF-8 text: {err}") from None
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if r and not r[0].lstrip().startswith("#")]
    if not rows:
        raise InputError(f"data file {path} is empty (a header row of column names first)")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    for k, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise InputError(
                f"data file {path}: row {k} has {len(row)} fields, the header {len(header)}"
            )
    return {
        name: np.array([row[i].strip() for row in body], dtype=object)
        for i, name in enumerate(header)
    }


def _table(path: Path, name: str, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One table's columns as numbers, checked (device ids as integer codes)."""
    out: dict[str, np.ndarray] = {}
    wanted = TABLES[name] + tuple(c for c in OPTIONAL_COLUMNS.get(name, ()) if c in columns)
    lengths = {len(columns[c]) for c in wanted}
    if len(lengths) != 1:
        raise InputError(f"data file {path}: the columns {', '.join(wanted)} differ in length")
    for col in wanted:
        values = np.asarray(columns[col])
        if values.ndim != 1:
            raise InputError(f"data file {path}: column {col!r} must be 1-D, got {values.shape}")
        if col == "device":
            _, codes = np.unique(values.astype(str), return_inverse=True)
            out[col] = codes.astype(np.int64)
            continue
        try:
            numbers = values.astype(float)
        except (TypeError, ValueError):
            bad = next((v for v in values if not _is_number(v)), "?")
            raise InputError(
                f"data file {path}: column {col!r} holds {bad!r}, not a number"
            ) from None
        if not np.all(np.isfinite(numbers)):
            raise InputError(f"data file {path}: column {col!r} holds NaN or inf")
        if np.any(numbers < 0):
            raise InputError(
                f"data file {path}: column {col!r} holds a negative value "
                f"({numbers.min():g}); conductances (S) and times (s) are >= 0"
            )
        if col == "level":
            if np.any(numbers != np.round(numbers)):
                bad = numbers[numbers != np.round(numbers)][0]
                raise InputError(
                    f"data file {path}: column 'level' holds {bad:g}, not a level number "
                    "(an integer, 0 for the lowest level)"
                )
            out[col] = numbers.astype(np.int64)
            continue
        out[col] = numbers
    return out


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


# ----- fitting -----


def fit_programming(
    target: np.ndarray, measured: np.ndarray, *, where: str = "programming"
) -> tuple[dict[str, Estimate], Estimate]:
    """``prog_noise_abs`` and ``prog_noise_rel`` by maximum likelihood, and the mean error.

    Raises:
        InputError: fewer than 10 rows, or targets at one conductance only (the two
            parameters cannot be told apart).
    """
    g = np.asarray(target, dtype=float)
    r = np.asarray(measured, dtype=float) - g
    if g.size < 10:
        raise InputError(f"{where}: column 'target' has {g.size} rows; the fit needs >= 10")
    if np.ptp(g) <= 1e-9 * max(float(np.max(g)), 1e-300):
        raise InputError(
            f"{where}: column 'target' holds one conductance only; programming noise needs "
            "targets at two or more conductances (to separate prog_noise_abs from _rel)"
        )
    s = float(np.std(r)) or 1e-300
    gs = float(np.max(g))

    def nll(p: np.ndarray) -> float:
        sigma = p[0] + p[1] * g / gs
        return float(np.sum(np.log(sigma) + 0.5 * (r / s / sigma) ** 2))

    start = np.array([0.5, 0.5])
    res = minimize(nll, start, method="L-BFGS-B", bounds=[(1e-9, None), (0.0, None)])
    a, b = float(res.x[0]) * s, float(res.x[1]) * s / gs
    sigma = a + b * g
    x = np.stack([np.ones_like(g), g])
    info = (x * (2.0 / sigma**2)) @ x.T
    cov = np.linalg.pinv(info)
    bias = Estimate(float(np.mean(r)), float(np.std(r, ddof=1) / math.sqrt(r.size)))
    return {
        "prog_noise_abs": Estimate(a, float(math.sqrt(max(cov[0, 0], 0.0)))),
        "prog_noise_rel": Estimate(b, float(math.sqrt(max(cov[1, 1], 0.0)))),
    }, bias


def need_g_max(g_max: float | None, model: str) -> float:
    """``g_max``, refused when missing or not positive (a model whose curves are functions of
    ``G / g_max``).

    Raises:
        InputError: no ``g_max`` or one <= 0.
    """
    if g_max is None or not g_max > 0:
        raise InputError(
            f"fit-device --model {model} needs --g-max: the window's top (S) the data were "
            "taken on (the model's curves are functions of G / g_max)"
        )
    return g_max


def fit_spread_polynomial(
    target: np.ndarray,
    measured: np.ndarray,
    g_max: float,
    names: Sequence[str],
    *,
    where: str = "programming",
    what: str = "programming noise",
) -> tuple[dict[str, Estimate], Estimate]:
    """``measured - target ~ N(0, sigma(x)^2)`` with ``sigma(x) = sum_k c_k x^k`` (siemens,
    ``x = target / g_max``, one coefficient per name in ``names``) by maximum likelihood, and
    the mean error (``bias``). Standard errors from the Fisher information ``I = sum_i 2 /
    sigma_i^2 X_i X_i^T``, ``X_i = [1, x_i, .., x_i^n]`` (exact for this model). The clip
    at 0 S some models apply is not modelled: keep targets a few sigma above 0 S.

    Raises:
        InputError: fewer than 10 rows, targets above ``g_max`` or at fewer distinct
            conductances than coefficients, or a spread that is not positive somewhere.
    """
    g = np.asarray(target, dtype=float)
    r = np.asarray(measured, dtype=float) - g
    terms = len(names)
    if g.size < 10:
        raise InputError(f"{where}: column 'target' has {g.size} rows; the fit needs >= 10")
    if float(g.max()) > g_max * (1 + 1e-9):
        raise InputError(
            f"{where}: column 'target' holds {float(g.max()):g} S, above --g-max ({g_max:g} S)"
        )
    x = g / g_max
    if np.unique(np.round(x, 9)).size < terms:
        raise InputError(
            f"{where}: column 'target' holds fewer than {terms} distinct conductances; the "
            f"{what} is a polynomial of degree {terms - 1} in the target and needs {terms} "
            "or more"
        )
    design = np.stack([x**k for k in range(terms)], axis=1)
    scale = float(np.std(r)) or 1e-300
    z = r / scale
    start = np.linalg.lstsq(design, np.abs(z) * math.sqrt(math.pi / 2), rcond=None)[0]
    if np.any(design @ start <= 0):
        start = np.eye(terms)[0]

    def nll(c: np.ndarray) -> tuple[float, np.ndarray]:
        sigma = design @ c
        if np.any(sigma <= 0):
            return 1e300, np.zeros(terms)
        w = 1.0 / sigma - z * z / sigma**3
        return float(np.sum(np.log(sigma) + 0.5 * (z / sigma) ** 2)), design.T @ w

    res = minimize(nll, start, jac=True, method="BFGS")
    coeffs = res.x * scale
    sigma = design @ coeffs
    if not np.all(np.isfinite(coeffs)) or np.any(sigma <= 0):
        raise InputError(
            f"{where}: columns 'target' and 'measured' give no spread positive at every target "
            f"(the {what} fit failed)"
        )
    cov = np.linalg.pinv((design * (2.0 / sigma**2)[:, None]).T @ design)
    fitted = {
        name: Estimate(float(coeffs[k]), float(math.sqrt(max(cov[k, k], 0.0))))
        for k, name in enumerate(names)
    }
    bias = Estimate(float(np.mean(r)), float(np.std(r, ddof=1) / math.sqrt(r.size)))
    return fitted, bias


def fit_reads(
    device: np.ndarray, conductance: np.ndarray, *, where: str = "reads", relative: bool = True
) -> dict[str, Estimate]:
    """``read_noise``, the std per read from repeated reads of each device: relative to each
    device's mean (``relative``), or in siemens (``relative=False``: a noise that does not
    scale with the conductance). Pooled over devices, standard error ``r / sqrt(2 dof)``.

    Raises:
        InputError: no device read at least twice, or (relative) a device with a zero mean
            conductance.
    """
    codes = np.asarray(device)
    x = np.asarray(conductance, dtype=float)
    counts = np.bincount(codes)
    means = np.bincount(codes, weights=x) / np.maximum(counts, 1)
    if relative and np.any((counts > 0) & (means <= 0)):
        raise InputError(f"{where}: column 'conductance' averages 0 S for a device")
    dof = int(np.sum(np.maximum(counts - 1, 0)))
    if dof < 1:
        raise InputError(f"{where}: column 'device' names no device read twice or more")
    dev = x - means[codes]
    if relative:
        dev = dev / means[codes]
    r = math.sqrt(float(np.sum(dev**2)) / dof)
    return {"read_noise": Estimate(r, r / math.sqrt(2 * dof))}


def fit_drift(
    device: np.ndarray, time: np.ndarray, conductance: np.ndarray, *, where: str = "drift"
) -> dict[str, Estimate]:
    """``drift_nu``, ``drift_nu_std`` (and ``drift_t0``) from conductance against time.

    Raises:
        InputError: a time of 0 (``ln t``), a zero conductance, fewer than 2 devices with
            reads at two or more times.
    """
    codes = np.asarray(device)
    t = np.asarray(time, dtype=float)
    g = np.asarray(conductance, dtype=float)
    if np.any(t <= 0):
        raise InputError(f"{where}: column 'time' holds 0 s; times count from programming, > 0")
    if np.any(g <= 0):
        raise InputError(f"{where}: column 'conductance' holds 0 S (its log is needed)")
    slopes, variances = [], []
    for d in np.unique(codes):
        pick = codes == d
        lt, lg = np.log(t[pick]), np.log(g[pick])
        if np.ptp(lt) <= 0:
            continue
        dt = lt - lt.mean()
        slope = float(np.sum(dt * (lg - lg.mean())) / np.sum(dt**2))
        slopes.append(-slope)
        n = int(pick.sum())
        if n > 2:
            resid = lg - lg.mean() - slope * dt
            variances.append(float(np.sum(resid**2) / (n - 2) / np.sum(dt**2)))
    if len(slopes) < 2:
        raise InputError(
            f"{where}: column 'time' gives fewer than 2 devices with reads at two or more "
            "times; the drift fit needs >= 2 such devices"
        )
    nu = np.array(slopes)
    n = nu.size
    spread = float(np.var(nu, ddof=1)) - (float(np.mean(variances)) if variances else 0.0)
    std = math.sqrt(max(spread, 0.0))
    return {
        "drift_nu": Estimate(float(nu.mean()), float(nu.std(ddof=1) / math.sqrt(n))),
        "drift_nu_std": Estimate(std, std / math.sqrt(2 * (n - 1)) if n > 1 else math.inf),
        "drift_t0": Estimate(float(t.min()), 0.0),
    }


def fit_temperature(
    device: np.ndarray,
    temperature: np.ndarray,
    conductance: np.ndarray,
    *,
    where: str = "temperature",
) -> dict[str, Estimate]:
    """``tc_device`` (1/K) at the lowest temperature measured (also returned, as
    ``temperature_ref`` and ``temperature``).

    Raises:
        InputError: fewer than 2 devices read at two or more temperatures.
    """
    codes = np.asarray(device)
    temp = np.asarray(temperature, dtype=float)
    g = np.asarray(conductance, dtype=float)
    t_ref = float(temp.min())
    tcs = []
    for d in np.unique(codes):
        pick = codes == d
        if np.ptp(temp[pick]) <= 0:
            continue
        b, a = np.polyfit(temp[pick], g[pick], 1)
        if a + b * t_ref > 0:
            tcs.append(b / (a + b * t_ref))
    if len(tcs) < 2:
        raise InputError(
            f"{where}: column 'temperature' gives fewer than 2 devices read at two or more "
            "temperatures; the fit needs >= 2 such devices"
        )
    tc = np.array(tcs)
    return {
        "tc_device": Estimate(float(tc.mean()), float(tc.std(ddof=1) / math.sqrt(tc.size))),
        "temperature_ref": Estimate(t_ref, 0.0),
        "temperature": Estimate(t_ref, 0.0),
    }


def fit_device(data: DeviceData) -> DeviceFit:
    """Fit every table ``data`` holds.

    Raises:
        InputError: no table, or what each table's fit raises (file and column named).
    """
    data.refuse(
        "generic",
        ("programming", "reads", "drift", "temperature"),
        "a levels table is fitted with --model memristor-rao2023",
    )
    params: dict[str, Estimate] = {}
    extra: dict[str, Estimate] = {}
    counts: dict[str, int] = {}
    src = data.sources
    if data.programming is not None:
        fitted, bias = fit_programming(
            data.programming["target"],
            data.programming["measured"],
            where=f"data file {src.get('programming', 'programming')}",
        )
        params.update(fitted)
        extra["bias"] = bias
        counts["programming"] = int(data.programming["target"].size)
    per_device: dict[str, Callable[..., dict[str, Estimate]]] = {
        "reads": fit_reads,
        "drift": fit_drift,
        "temperature": fit_temperature,
    }
    for name, fitter in per_device.items():
        table = getattr(data, name)
        if table is None:
            continue
        columns = [table[c] for c in TABLES[name]]
        params.update(fitter(*columns, where=f"data file {src.get(name, name)}"))
        counts[f"{name} devices"] = int(np.unique(table["device"]).size)
    if not params:
        raise InputError("no table to fit: give a programming, reads, drift or temperature table")
    return DeviceFit(params, extra, counts, data)
