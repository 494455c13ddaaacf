"""A programming model calibrated from SPICE write-verify, as a network's device model.

:class:`ProgrammingModel` holds, per target level (the target's place in the window, ``u =
(G_t - g_min) / (g_max - g_min)``), the programmed errors (a fraction of the window) and pulses
of the cells of SPICE write-verify runs (:func:`cimspice.write.calibrate.calibrate_programming`
fits it; ``cimspice write verify --calibration`` writes it as JSON ``cimspice-programming/1``
with a SHA-256 of its content). It lives here, below :mod:`cimspice.write`, so that a device
model can read it without the SPICE machinery.

:class:`SpiceVerifyModel` (``nonideal.model = "spice-verify"``, the file in
``nonideal.programming_file``) programs a network's tiles with it: each cell draws the
programmed error of a SPICE cell from its target's bin, scaled from the calibration window to
the network spec's window (errors are carried as fractions of the window: the assumption when
the two differ). The file is foreign input: it is read under the model files' path policy
(the spec's folder or ``CIMSPICE_MODEL_PATH``, :func:`cimspice.model_cards.resolve_model_file`),
at most :data:`MAX_PROGRAMMING_BYTES`, its checksum verified and every field checked.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from cimspice.checksums import json_checksum
from cimspice.devices.generic import GenericModel
from cimspice.devices.model import ParamModel, Window
from cimspice.errors import InputError, SpecError
from cimspice.spec import NonidealSpec

if TYPE_CHECKING:
    from cimspice.spec import CrossbarSpec

__all__ = [
    "FORMAT",
    "MAX_PROGRAMMING_BYTES",
    "ProgrammingModel",
    "SpiceVerifyModel",
    "load_programming_model",
    "resolve_programming_file",
]

MAX_PROGRAMMING_BYTES = 64 * 2**20
"""The largest programming model file read (a 64x64 run's is ~0.2 MB)."""


FORMAT = "cimspice-programming/1"
"""The format name of a saved programming model."""


@dataclass(frozen=True)
class ProgrammingModel:
    """Programming outcomes per target level, measured in SPICE.

    Attributes:
        edges: ``(n_bins + 1,)`` bin edges of the target level ``u`` in [0, 1].
        errors: per bin, the programmed errors (fraction of the window), sorted.
        pulses: per bin, the pulses per cell.
        window: siemens, ``(g_min, g_max)`` of the spec the runs were made for.
        tol: the write-verify tolerance (fraction of the window).
        prog_noise_abs: siemens, the fitted ``sigma`` at ``G = 0`` (generic device model).
        prog_noise_rel: the fitted ``sigma`` per siemens of target.
        energy_per_cell_j: joule, the mean programming energy per cell.
        time_per_cell_s: second, the mean programming time per cell (rows in turn).
        source: what the runs were (spec, model, policy), for the report.
    """

    edges: np.ndarray
    errors: tuple[np.ndarray, ...]
    pulses: tuple[np.ndarray, ...]
    window: tuple[float, float]
    tol: float
    prog_noise_abs: float
    prog_noise_rel: float
    energy_per_cell_j: float
    time_per_cell_s: float
    source: str = ""

    def _bins(self, targets: np.ndarray) -> np.ndarray:
        g_min, g_max = self.window
        u = (np.asarray(targets, dtype=float) - g_min) / (g_max - g_min)
        b = np.clip(np.searchsorted(self.edges, u, side="right") - 1, 0, len(self.errors) - 1)
        # an empty bin borrows from the nearest bin with data
        filled = np.array([len(e) > 0 for e in self.errors])
        if not filled.all():
            near = np.array(
                [
                    np.flatnonzero(filled)[np.argmin(np.abs(np.flatnonzero(filled) - k))]
                    for k in range(len(filled))
                ]
            )
            b = near[b]
        return b

    def program(
        self, targets: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Programmed conductances (siemens, clipped to the window) and pulses per cell for
        ``targets``: each cell draws the outcome of a SPICE cell from its target's bin."""
        t = np.asarray(targets, dtype=float)
        g_min, g_max = self.window
        bins = self._bins(t)
        err = np.empty(t.shape)
        pulses = np.empty(t.shape, dtype=int)
        for k in np.unique(bins).tolist():
            mask = bins == k
            pick = rng.integers(0, len(self.errors[k]), int(mask.sum()))
            err[mask] = self.errors[k][pick]
            pulses[mask] = self.pulses[k][pick]
        return np.clip(t + err * (g_max - g_min), g_min, g_max), pulses

    def generic(self) -> GenericModel:
        """The generic device model (:mod:`cimspice.devices.generic`) with the fitted
        programming noise, ``sigma = prog_noise_abs + prog_noise_rel * target``, and nothing
        else: its :meth:`~cimspice.devices.generic.GenericModel.pulse` is the Gaussian
        stand-in for a write-verified cell."""
        nonideal = NonidealSpec(
            prog_noise_abs=self.prog_noise_abs, prog_noise_rel=self.prog_noise_rel
        )
        return GenericModel(Window(*self.window), nonideal=nonideal)

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-ready data, with its checksum."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "edges": self.edges.tolist(),
            "errors": [e.tolist() for e in self.errors],
            "pulses": [p.tolist() for p in self.pulses],
            "window": list(self.window),
            "tol": self.tol,
            "prog_noise_abs": self.prog_noise_abs,
            "prog_noise_rel": self.prog_noise_rel,
            "energy_per_cell_j": self.energy_per_cell_j,
            "time_per_cell_s": self.time_per_cell_s,
            "source": self.source,
        }
        data["sha256"] = json_checksum(data)
        return data

    def save(self, path: str | Path) -> None:
        """Write the model as JSON, atomically."""
        from cimspice.outputs import atomic_output

        with atomic_output(path, "w", what="programming model") as handle:
            json.dump(self.to_dict(), handle, indent=1)


def load_programming_model(path: str | Path) -> ProgrammingModel:
    """Read a model written by :meth:`ProgrammingModel.save` (foreign input: size-limited,
    checksum verified, every field checked).

    Raises:
        InputError: not such a file, too large, edited after it was written (checksum), or
            holding values a programming model cannot have.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_PROGRAMMING_BYTES + 1)
        if len(raw) > MAX_PROGRAMMING_BYTES:
            raise InputError(
                f"programming model {path} is larger than {MAX_PROGRAMMING_BYTES // 2**20} MiB"
            )
        data = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"cannot read programming model {path}: {err}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path} is not a programming model ({FORMAT})")
    stored = data.pop("sha256", None)
    if stored != json_checksum(data):
        raise InputError(f"programming model {path} was edited after cimspice wrote it")
    try:
        model = ProgrammingModel(
            edges=np.asarray(data["edges"], dtype=float),
            errors=tuple(np.asarray(e, dtype=float) for e in data["errors"]),
            pulses=tuple(np.asarray(p, dtype=int) for p in data["pulses"]),
            window=(float(data["window"][0]), float(data["window"][1])),
            tol=float(data["tol"]),
            prog_noise_abs=float(data["prog_noise_abs"]),
            prog_noise_rel=float(data["prog_noise_rel"]),
            energy_per_cell_j=float(data["energy_per_cell_j"]),
            time_per_cell_s=float(data["time_per_cell_s"]),
            source=str(data.get("source", "")),
        )
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise InputError(f"programming model {path} is malformed: {err}") from None
    problem = _problem(model)
    if problem:
        raise InputError(f"programming model {path} is malformed: {problem}")
    return model


def _problem(m: ProgrammingModel) -> str:
    """What is wrong with a loaded model's values ('' if nothing)."""
    e = m.edges
    g_min, g_max = m.window
    checks = [
        (e.ndim == 1 and e.size >= 2 and bool(np.all(np.diff(e) > 0)) and e[0] == 0 and e[-1] == 1,
         "edges must rise from 0 to 1"),
        (len(m.errors) == e.size - 1 == len(m.pulses), "one list of errors and pulses per bin"),
        (any(len(err) for err in m.errors), "no cells"),
        (math.isfinite(g_min) and math.isfinite(g_max) and 0 <= g_min < g_max,
         "window must be 0 <= g_min < g_max"),
    ]  # fmt: skip
    checks += [
        (err.ndim == 1 and err.shape == p.shape and bool(np.all(np.isfinite(err)))
         and bool(np.all(np.abs(err) <= 1)) and bool(np.all(p >= 0)),
         f"bin {k}: errors must be finite fractions of the window, one per pulse count >= 0")
        for k, (err, p) in enumerate(zip(m.errors, m.pulses, strict=False))
    ]  # fmt: skip
    return next((message for ok, message in checks if not ok), "")


def resolve_programming_file(spec: CrossbarSpec) -> Path:
    """The real path of ``spec``'s ``nonideal.programming_file`` under the model files' path
    policy (the spec's folder, or a folder of ``CIMSPICE_MODEL_PATH``).

    Raises:
        ModelFileError: outside the allowed folders, missing, or not a regular file (key
            ``nonideal.programming_file``).
    """
    from cimspice.errors import ModelFileError
    from cimspice.model_cards import resolve_model_file

    name = spec.nonideal.programming_file
    try:
        return resolve_model_file(name, spec_file=spec.source)
    except ModelFileError as err:
        reason = str(err).split(f"model file {name}: ", 1)[-1]
        raise ModelFileError(
            reason, model_file=name, file=spec.source, key="nonideal.programming_file"
        ) from None


@dataclass(frozen=True)
class SpiceVerifyModel(ParamModel):
    """Programming by SPICE write-verify: each cell's programmed error is drawn from the
    outcomes of SPICE cells with targets like its own (:class:`ProgrammingModel`, the file of
    ``nonideal.programming_file``), scaled to this window. No drift, no read noise, no
    temperature law (the calibration holds none); stuck cells as every :class:`ParamModel`.

    Attributes:
        programming: the calibrated model (read by :func:`load_programming_model`).
    """

    name: ClassVar[str] = "spice-verify"
    programming: ProgrammingModel | None = None

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """The model's parameters: the variation keys only (the rest is the file)."""
        return tuple(n for n in super().param_names() if n != "programming")

    @classmethod
    def from_spec(cls, nonideal: NonidealSpec, g_min: float, g_max: float) -> SpiceVerifyModel:
        """The model of ``nonideal.programming_file`` (an absolute path: the registry's
        :func:`~cimspice.devices.registry.device_model` resolves it against the spec's file).

        Raises:
            SpecError: no file, a write-verify tolerance on top of SPICE write-verify's,
                drift, or a key of the generic model.
        """
        if not nonideal.programming_file:
            raise SpecError(
                "device model 'spice-verify' needs nonideal.programming_file (a model written "
                "by cimspice write verify --calibration)",
                key="nonideal.programming_file",
            )
        if nonideal.verify_tol:
            raise SpecError(
                "must be 0 with nonideal.model = 'spice-verify': its outcomes are those of "
                "SPICE write-verify already",
                key="nonideal.verify_tol",
            )
        if nonideal.drift_time:
            raise SpecError(
                "device model 'spice-verify' has no drift law; set it to 0",
                key="nonideal.drift_time",
            )
        base = super().from_spec(nonideal, g_min, g_max)
        try:
            programming = load_programming_model(nonideal.programming_file)
        except InputError as err:
            raise SpecError(str(err), key="nonideal.programming_file") from None
        return dataclasses.replace(
            base, programming=dataclasses.replace(programming, window=(g_min, g_max))
        )

    @property
    def noisy(self) -> bool:
        """Programming draws its errors."""
        return True

    @property
    def noisy_reads(self) -> bool:
        """Reads are noiseless."""
        return False

    def pulse(self, goal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Siemens: the programmed conductances of write-verify towards ``goal`` (one draw
        per cell from its target's bin)."""
        assert self.programming is not None  # from_spec sets it
        g, _ = self.programming.program(goal, rng)
        return g

    def drift(
        self,
        programmed: np.ndarray,
        goal: np.ndarray,
        stuck: np.ndarray,
        t: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """No drift: ``programmed`` itself."""
        return programmed

    def read_std(self, conductances: np.ndarray, t: float) -> np.ndarray | None:
        """Noiseless reads."""
        return None
