"""A calibrated surrogate of a charge-domain (1C) tile: linear charge sharing with a fitted
gain error, offset and drive-dependent injection, the tile's own capacitor draw, and kT/C
noise.

Each column's swing above ``v_reset`` is modelled as::

    gain * dV + offset + k_ones * n_ones / rows (+ sqrt(kT / C_T) * z with noise)

with ``dV = sum_i w_ij C_ij x_i / C_Tj`` computed with the tile's drawn capacitors (so the
mismatch is the spec's own, exactly), ``n_ones`` the column's cells holding a 1 (the cells
whose switches join the bottom plate to a line rather than ground: with transistor switches
their junctions change what the column sees), and the three coefficients fitted by least
squares to ngspice MAC cycles of random weight bits and inputs (:func:`calibrate`). The noise
term is the analytical kT/C of the reset switch, checked against ngspice's transient noise in
``tests/test_charge_circuit.py``. :func:`calibrate` reports the error on held-out cycles.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cimspice.arguments import path_argument
from cimspice.charge.capacitors import cell_capacitances
from cimspice.charge.closed_form import (
    column_capacitance,
    ktc_noise_std,
    share_noise_std,
    shared_voltage,
)
from cimspice.checksums import json_checksum
from cimspice.errors import SurrogateError
from cimspice.outputs import atomic_output
from cimspice.spec import ChargeNoise, CrossbarSpec

__all__ = [
    "FORMAT",
    "ChargeReport",
    "ChargeSurrogate",
    "calibrate",
    "column_noise_std",
    "load_charge_surrogate",
    "nominal",
]

FORMAT = "cimspice-charge-surrogate/1"
"""The ``format`` of a charge surrogate file."""


def column_noise_std(
    spec: CrossbarSpec, caps: np.ndarray, kind: ChargeNoise, temperature_k: float = 300.0
) -> np.ndarray:
    """Volt, ``(cols,)``: each column's sampled thermal noise of ``kind``: 0 (``"off"``),
    the reset's ``sqrt(k T / C_T)`` (``"ktc"``) or, with the share phase's added
    (``"thermal"``, :func:`~cimspice.charge.closed_form.share_noise_std`),
    ``sqrt(k T / c_column)``. ``tests/test_charge_noise.py`` checks both against ngspice's
    transient noise."""
    c_ground = spec.charge.c_column
    c_t = column_capacitance(caps, c_ground)
    if kind == ChargeNoise.OFF:
        return np.zeros(c_t.shape)
    ktc = ktc_noise_std(c_t, temperature_k)
    if kind == ChargeNoise.KTC:
        return ktc
    return np.sqrt(ktc**2 + share_noise_std(caps, c_ground, temperature_k) ** 2)


@dataclass(frozen=True)
class ChargeSurrogate:
    """The fitted model of one 1C tile spec (see the module).

    Attributes:
        spec_hash: the content hash of the tile it was fitted to.
        gain: the swing's gain on the ideal shared value (1: none).
        offset: volt, added to every swing (charge injection and clock feedthrough of the
            reset switch).
        k_ones: volt per fraction of the column's cells holding a 1.
        temperature_k: kelvin, of the kT/C noise term.
        held_out: the calibration's held-out ``(nrmse, max_error)`` (fractions of full
            scale; ``None``: not calibrated), what a spot-check is set beside.
    """

    spec_hash: str
    gain: float = 1.0
    offset: float = 0.0
    k_ones: float = 0.0
    temperature_k: float = 300.0
    held_out: tuple[float, float] | None = None

    def check(self, spec: CrossbarSpec) -> None:
        """Refuse a spec other than the one it was fitted to.

        Raises:
            SurrogateError: the spec's content hash differs.
        """
        if spec.content_hash() != self.spec_hash:
            raise SurrogateError(
                "the charge surrogate was calibrated for another tile (spec hash "
                f"{self.spec_hash[:12]}..., this spec {spec.content_hash()[:12]}...)"
            )

    def swing(
        self,
        spec: CrossbarSpec,
        bits: np.ndarray,
        levels: np.ndarray,
        *,
        caps: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
        noise: ChargeNoise = ChargeNoise.KTC,
    ) -> np.ndarray:
        """Volt, ``(cycles, cols)``: each column's swing above ``v_reset`` after sharing, for
        weight ``bits`` ``(rows, cols)`` and line ``levels`` ``(cycles, rows)``; with ``rng``
        the thermal noise of kind ``noise`` is added (:func:`column_noise_std`)."""
        c = cell_capacitances(spec) if caps is None else caps
        b = np.asarray(bits, dtype=float)
        dv = shared_voltage(c, b, levels, spec.charge.c_column)
        out = self.gain * dv + self.offset + self.k_ones * (b.sum(axis=0) / spec.rows)
        if rng is not None:
            sigma = column_noise_std(spec, c, noise, self.temperature_k)
            out = out + sigma * rng.standard_normal(out.shape)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        return asdict(self)

    def save(self, path: str | Path) -> None:
        """Write the surrogate file (JSON with its checksum), atomically."""
        data = json.loads(json.dumps({"format": FORMAT, **self.to_dict()}))
        data["sha256"] = json_checksum(data)
        with atomic_output(path_argument(path, "path"), "w") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")


def load_charge_surrogate(path: str | Path) -> ChargeSurrogate:
    """Read a charge surrogate file (:meth:`ChargeSurrogate.save`).

    Raises:
        SurrogateError: missing, not JSON, not a charge surrogate, a bad value, or edited
            after cimspice wrote it (its checksum does not match).
    """
    path = path_argument(path, "path")
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SurrogateError(f"surrogate file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise SurrogateError(f"surrogate file {path} is not readable JSON: {err}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SurrogateError(f"{path} is not a charge surrogate file (format {FORMAT})")
    claimed = data.pop("sha256", None)
    if claimed != json_checksum(data):
        raise SurrogateError(
            f"surrogate file {path} was edited after cimspice wrote it (its checksum does not "
            "match): calibrate again"
        )
    try:
        held = data.get("held_out")
        numbers = {k: data[k] for k in ("gain", "offset", "k_ones", "temperature_k")}
        for key, value in numbers.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"'{key}' must be a number, got {value!r}")
        if not isinstance(data["spec_hash"], str):
            raise ValueError("'spec_hash' must be a string")
        return ChargeSurrogate(
            spec_hash=data["spec_hash"],
            **{k: float(v) for k, v in numbers.items()},
            held_out=None if held is None else (float(held[0]), float(held[1])),
        )
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise SurrogateError(f"surrogate file {path} is corrupt: {err}") from None


def nominal(spec: CrossbarSpec) -> ChargeSurrogate:
    """The uncalibrated model: ideal charge sharing (exact for ideal switches, as
    ``tests/test_charge_circuit.py`` checks against ngspice)."""
    return ChargeSurrogate(spec_hash=spec.content_hash())


@dataclass(frozen=True)
class ChargeReport:
    """How well a calibrated charge surrogate predicts held-out ngspice cycles.

    Attributes:
        full_scale: volt, the largest swing in the held-out set (errors are fractions of it).
        nrmse: root-mean-square error over full scale.
        max_error: largest absolute error over full scale.
        nrmse_nominal: the same of the uncalibrated (ideal sharing) model.
        cycles_fit, cycles_test: MAC cycles simulated for fitting and for the report.
        columns: columns per cycle.
    """

    full_scale: float
    nrmse: float
    max_error: float
    nrmse_nominal: float
    cycles_fit: int
    cycles_test: int
    columns: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        return asdict(self)


def _features(spec: CrossbarSpec, caps: np.ndarray, bits: np.ndarray, x: np.ndarray) -> Any:
    dv = shared_voltage(caps, bits, x, spec.charge.c_column)
    ones = np.broadcast_to(bits.sum(axis=0) / spec.rows, dv.shape)
    return np.stack([dv.ravel(), np.ones(dv.size), ones.ravel()], axis=1)


def calibrate(
    spec: CrossbarSpec,
    *,
    cycles: int = 48,
    test_cycles: int = 24,
    seed: int = 0,
    timeout_s: float = 600.0,
) -> tuple[ChargeSurrogate, ChargeReport]:
    """Fit a :class:`ChargeSurrogate` to ngspice MAC cycles of ``spec``'s tile.

    Weight bits are drawn per column with a random density (so that columns from nearly
    empty to nearly full are seen), inputs uniformly over ``[0, driver.v_read]``; every
    ``cycles / 4`` cycles a new bit pattern is drawn (one deck each). The held-out set uses
    other bits and inputs from another seed.

    Raises:
        InputError: a spec that is not 1C. SimulationError: an ngspice run failed.
    """
    from cimspice.charge.run import run_cycles

    if cycles < 8 or test_cycles < 4:
        raise SurrogateError("calibration needs >= 8 fit cycles and >= 4 held-out cycles")
    caps = cell_capacitances(spec)

    def simulate(n: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(np.random.SeedSequence([seed, stream]))
        feats, swings = [], []
        for part in np.array_split(np.arange(n), 4):
            density = rng.uniform(0.05, 0.95, spec.cols)
            bits = (rng.random((spec.rows, spec.cols)) < density).astype(float)
            x = rng.uniform(0, spec.driver.v_read, (len(part), spec.rows))
            run = run_cycles(spec, bits, x, caps=caps, timeout_s=timeout_s)
            feats.append(_features(spec, caps, bits, x))
            swings.append((run.v_col - spec.charge.v_reset).ravel())
        return np.concatenate(feats), np.concatenate(swings)

    a_fit, y_fit = simulate(cycles, 1)
    coef, *_ = np.linalg.lstsq(a_fit, y_fit, rcond=None)
    a_test, y_test = simulate(test_cycles, 2)
    full = float(np.abs(y_test).max())
    err = a_test @ coef - y_test
    nominal_err = a_test[:, 0] - y_test
    model = ChargeSurrogate(
        spec_hash=spec.content_hash(),
        gain=float(coef[0]),
        offset=float(coef[1]),
        k_ones=float(coef[2]),
        held_out=(
            float(np.sqrt(np.mean(err**2)) / full),
            float(np.abs(err).max() / full),
        ),
    )
    report = ChargeReport(
        full_scale=full,
        nrmse=float(np.sqrt(np.mean(err**2)) / full),
        max_error=float(np.abs(err).max() / full),
        nrmse_nominal=float(np.sqrt(np.mean(nominal_err**2)) / full),
        cycles_fit=cycles,
        cycles_test=test_cycles,
        columns=spec.cols,
    )
    return model, report
