"""A physical reservoir computer of dynamic memristors: the device state is the memory.

Each of ``devices`` memristors (the spec's ``[write]`` model, its switching rates spread from
device to device by ``write.variation`` and ``write.seed``, as in the write decks) is driven
by a train of voltage pulses that encodes the input series, and its conductance read at
``driver.v_read`` afterwards is one feature; a linear readout
(:mod:`cimspice.dynamics.readout`) is trained on the features.

Encoding (after Du et al., "Reservoir computing using dynamic memristors for temporal
information processing", Nat. Commun. 8, 2204 (2017): inputs as pulse streams whose effect
the device state integrates, the state read after the stream as the feature; and the random
input masks of time-multiplexed reservoirs, Appeltant et al., Nat. Commun. 2, 468 (2011), as
used with memristors by Zhong et al., "Dynamic memristor-based reservoir computing for
high-efficiency temporal signal processing", Nat. Commun. 12, 408 (2021)): the feature of
step ``t`` is read after the ``window`` most recent inputs ``u(t - window + 1) .. u(t)``,
pulse ``k`` of device ``n`` having the amplitude

    a[n, k] = v_center + v_span * (bias[n] + mask[n, k] * s(u)),   s(u) in [-1, 1],

clipped at 0 V (pulses of one polarity, the model's gradual direction ``drive``), with
``mask`` uniform on ``[-1, 1]`` and ``bias`` uniform on ``[-1/2, 1/2]``, both drawn from the
reservoir's seed; and only in ``density * window`` of the window's slots (the newest input's
among them with ``anchor``; 0 V in the others): each device mixes a few inputs, so that its
nonlinearity forms their products (on NARMA-10's validation splits, seeds 0-2, 4 of 12 slots
anchored gave a mean NMSE of 0.140, 4 random slots 0.160, 5 random 0.168). The devices of
those papers are volatile (their state decays, which gives the fading memory); the shipped
models are not, so each window starts from the device reset to the end of its window
opposite ``drive`` (a full pulse the other way, not simulated): the memory is exactly
``window`` steps and the nonlinearity is the model's own (its thresholds,
its state-dependent rates, its exponential read law, its bounded state).

The pulses are integrated with the model's equations (:func:`cimspice.write.equations.rates`,
the same right-hand side that tests/test_write_models.py checks against ngspice) by a
fixed-step classical Runge-Kutta scheme, all windows and devices at once; the same train as
a :class:`~cimspice.write.pulses.Program` (:func:`pulse_program`) runs in ngspice for the
check (tests/test_reservoir.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimspice.arguments import choice, flag, integer, real, real_array
from cimspice.devices.generic import standard_normals
from cimspice.errors import InputError
from cimspice.seeds import check_seed
from cimspice.spec import CrossbarSpec, as_spec, spec_from_dict
from cimspice.write.deck import cell_factors
from cimspice.write.equations import currents, rates
from cimspice.write.models import DynamicModel, dynamic_model
from cimspice.write.pulses import Phase, Program, rest

__all__ = [
    "DEFAULT_MODEL_PARAMS",
    "DeviceReservoir",
    "PulseEncoding",
    "integrate_pulses",
    "pulse_program",
    "reservoir_spec",
]

DEFAULT_MODEL_PARAMS = {"r_on": 1e4, "r_off": 1e6}
"""VTEAM's resistances for the default reservoir: its published switching parameters with a
window of 1 to 100 uS (the read window of cimspice's default specs) instead of 50 ohm to 1
kohm."""


RK4_STABLE = 2.0
"""The largest Runge-Kutta step, in units of a model's fastest time constant (the Stanford
model's ``tau_th``), that :func:`integrate_pulses` accepts: classical Runge-Kutta is stable on
a decay up to 2.78 of them."""


@dataclass(frozen=True)
class PulseEncoding:
    """How inputs become pulses (see the module).

    Attributes:
        window: inputs per feature (the memory, in steps).
        v_center, v_span: volt, the amplitudes' centre and span.
        width: second, each pulse's flat top.
        t_edge: second, its rising and falling edges.
        gap: second, 0 V between pulses.
        drive: ``"reset"`` or ``"set"``: the direction the pulses switch the device.
        density: the fraction of the window's steps each device receives a pulse in (at
            least one; the others leave it at 0 V).
        anchor: every device's pulses include the newest input's (the window's last slot),
            the others at random slots; ``False``: all at random slots.
        steps: Runge-Kutta steps per edge, per flat top and per gap.
    """

    window: int = 12
    v_center: float = 0.12
    v_span: float = 0.1
    width: float = 50e-9
    t_edge: float = 5e-9
    gap: float = 10e-9
    drive: str = "reset"
    density: float = 1 / 3
    anchor: bool = True
    steps: tuple[int, int, int] = (8, 4, 1)

    def __post_init__(self) -> None:
        integer(self.window, "encoding.window", minimum=1)
        real(self.v_center, "encoding.v_center")
        real(self.v_span, "encoding.v_span", minimum=0.0)
        for name in ("width", "t_edge", "gap"):
            real(getattr(self, name), f"encoding.{name}", positive=True)
        choice(self.drive, ("reset", "set"), "encoding.drive")
        real(self.density, "encoding.density", positive=True, maximum=1.0)
        flag(self.anchor, "encoding.anchor")
        if len(self.steps) != 3:
            raise InputError(f"encoding.steps must be 3 integers, got {self.steps!r}")
        for k in self.steps:
            integer(k, "encoding.steps", minimum=1)


def reservoir_spec(
    devices: int,
    *,
    model: str = "vteam",
    model_params: dict[str, float] | None = None,
    variation: float = 0.1,
    seed: int = 0,
    read_noise: float = 0.0,
    v_read: float = 0.2,
) -> CrossbarSpec:
    """The spec of a reservoir of ``devices`` memristors (one row; one device per column).

    ``model_params`` defaults to :data:`DEFAULT_MODEL_PARAMS` for VTEAM and to the published
    set for the Stanford-PKU model.
    """
    if model_params is None:
        model_params = dict(DEFAULT_MODEL_PARAMS) if model == "vteam" else {}
    return spec_from_dict(
        {
            "array": {"rows": 1, "cols": integer(devices, "devices", minimum=1)},
            "driver": {"v_read": v_read},
            "nonideal": {"read_noise": read_noise},
            "write": {
                "model": model,
                "model_params": model_params,
                "variation": variation,
                "seed": seed,
            },
        }
    )


def _params(model: DynamicModel, factors: np.ndarray) -> dict[str, np.ndarray | float]:
    """The model's parameters, its rate parameters times ``factors`` (one per device)."""
    return {k: (v * factors if k in model.rates else v) for k, v in model.params}


def _initial(model: DynamicModel, shape: tuple[int, ...], state0: np.ndarray) -> np.ndarray:
    y = [np.broadcast_to(state0, shape).astype(float)]
    if model.name == "stanford":
        y.append(np.zeros(shape))  # the temperature rise, at rest
    return np.stack(y)


def integrate_pulses(
    model: DynamicModel,
    amplitudes: np.ndarray,
    state0: np.ndarray | float,
    encoding: PulseEncoding,
    *,
    factors: np.ndarray | float = 1.0,
    keep: bool = False,
    progress: bool = False,
) -> np.ndarray:
    """States after a train of pulses, integrated from the model's equations.

    Args:
        model: a built-in dynamic model (``"stanford"`` or ``"vteam"``).
        amplitudes: volt, ``(..., pulses)``: each pulse's ``v(p, n)`` (signed, in the
            model's own polarity), one train per leading index.
        state0: the states before the first pulse (broadcast to ``amplitudes[..., 0]``).
        encoding: the pulses' timing and the Runge-Kutta steps.
        factors: per-device factors on the rate parameters (broadcast like ``state0``).
        keep: return the states after every pulse, ``(pulses + 1, ...)`` (the first the
            initial states), instead of the final ``(...)``.
        progress: show a progress bar over the pulses (stderr; terminals only).

    Each pulse is an edge from 0 V to its amplitude (``t_edge``), a flat top (``width``), an
    edge back (``t_edge``) and a gap at 0 V (``gap``), each integrated with ``steps`` classical
    Runge-Kutta steps (fourth order; the voltage is linear within each piece).
    """
    a = real_array(amplitudes, "amplitudes")
    if a.ndim < 1 or a.shape[-1] < 1:
        raise InputError(f"amplitudes must be (..., pulses), got shape {a.shape}")
    p = _params(model, np.asarray(factors, dtype=float))
    y = _initial(model, a.shape[:-1], np.asarray(state0, dtype=float))
    n_edge, n_flat, n_gap = encoding.steps
    h_max = max(encoding.t_edge / n_edge, encoding.width / n_flat, encoding.gap / n_gap)
    tau = dict(model.params).get("tau_th")
    if tau is not None and h_max > RK4_STABLE * tau:
        raise InputError(
            f"encoding.steps {encoding.steps} give Runge-Kutta steps of up to {h_max:.3g} s, "
            f"unstable for the model's thermal time constant tau_th = {tau:.3g} s (at most "
            f"{RK4_STABLE} tau_th): give more steps"
        )
    out = [y[0].copy()] if keep else []
    zero = np.zeros(a.shape[:-1])
    from tqdm import tqdm

    pulses = tqdm(
        range(a.shape[-1]), desc="reservoir pulses", leave=False, disable=None if progress else True
    )
    for k in pulses:
        top = a[..., k]
        pieces = (
            (encoding.t_edge, zero, top, n_edge),
            (encoding.width, top, top, n_flat),
            (encoding.t_edge, top, zero, n_edge),
            (encoding.gap, zero, zero, n_gap),
        )
        for duration, v0, v1, n in pieces:
            h = duration / n
            slope = (v1 - v0) / duration
            for s in range(n):
                va = v0 + slope * (s * h)
                vm = va + slope * (0.5 * h)
                vb = va + slope * h
                k1 = rates(model.name, p, va, y)
                k2 = rates(model.name, p, vm, y + 0.5 * h * k1)
                k3 = rates(model.name, p, vm, y + 0.5 * h * k2)
                k4 = rates(model.name, p, vb, y + h * k3)
                y = y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if keep:
            out.append(y[0].copy())
    return np.stack(out) if keep else y[0]


def pulse_program(
    spec: CrossbarSpec, model: DynamicModel, amplitudes: np.ndarray, encoding: PulseEncoding
) -> Program:
    """The pulse train of one device (``amplitudes``, volt, ``(pulses,)``, ``v(p, n)`` in the
    model's polarity) as a program for ``spec``'s 1x1 array
    (:func:`~cimspice.write.run.run_program`): per pulse a phase at the amplitude and a rest of
    ``gap``, edges of ``t_edge``. Decks wire the device so that the word line above the bit
    line SETs, so ``v(p, n) = set_polarity * (word - bit)``."""
    spec = as_spec(spec)
    if (spec.rows, spec.cols) != (1, 1):
        raise InputError(
            f"a single device's program needs a 1x1 array, got {spec.rows}x{spec.cols}"
        )
    phases = []
    for v in real_array(amplitudes, "amplitudes", ndim=1):
        line = float(v) * model.set_polarity  # word - bit
        kind = "set" if line > 0 else "reset"
        word, bit = (
            (np.array([line]), np.zeros(1)) if line > 0 else (np.zeros(1), np.array([-line]))
        )
        phases.append(Phase(kind, encoding.width, word, bit, np.zeros(1), 0, np.abs([line])))
        phases.append(rest(spec, encoding.gap))
    return Program(tuple(phases), encoding.t_edge)


@dataclass(frozen=True)
class DeviceReservoir:
    """A reservoir of dynamic memristors (see the module).

    Attributes:
        spec: the devices (``array.cols`` of them, :func:`reservoir_spec`): ``[write]`` the
            model and its device-to-device spread, ``driver.v_read`` the read voltage,
            ``nonideal.read_noise`` the read noise added to the features (if any).
        encoding: how inputs become pulses.
        seed: the masks' and biases' seed (and the read noise's).
    """

    spec: CrossbarSpec
    encoding: PulseEncoding = PulseEncoding()
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "spec", as_spec(self.spec))
        check_seed(self.seed)

    @property
    def devices(self) -> int:
        """How many devices (features)."""
        return self.spec.cols

    @property
    def model(self) -> DynamicModel:
        """The dynamic model."""
        return dynamic_model(self.spec)

    @property
    def factors(self) -> np.ndarray:
        """``(devices,)``: each device's factor on the model's rates."""
        return cell_factors(self.spec)[0]

    def masks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(devices, window)`` masks, ``(devices,)`` biases and ``(devices, window)``
        selections (which steps of the window each device receives a pulse in)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 5]))
        w = self.encoding.window
        masks = rng.uniform(-1.0, 1.0, (self.devices, w))
        bias = rng.uniform(-0.5, 0.5, self.devices)
        chosen = max(1, round(self.encoding.density * w))
        selected = np.zeros((self.devices, w), dtype=bool)
        if self.encoding.anchor:  # the newest input, then chosen - 1 of the older ones
            selected[:, -1] = True
            picks = np.argsort(rng.random((self.devices, w - 1)), axis=1)[:, : chosen - 1]
        else:
            picks = np.argsort(rng.random((self.devices, w)), axis=1)[:, :chosen]
        np.put_along_axis(selected, picks, True, axis=1)
        return masks, bias, selected

    def direction(self) -> int:
        """The sign of ``v(p, n)`` of the pulses."""
        m = self.model
        return m.set_polarity if self.encoding.drive == "set" else -m.set_polarity

    def reset_state(self) -> float:
        """The state each window starts from: the end of the range the pulses move away
        from (the highest conductance for RESET pulses, the lowest for SET)."""
        m = self.model
        p = dict(m.params)
        ends = np.array([m.state_min, m.state_max])
        g = currents(m.name, p, self.spec.driver.v_read, ends)
        high = ends[int(np.argmax(np.abs(g)))]
        low = ends[int(np.argmin(np.abs(g)))]
        return float(high if self.encoding.drive == "reset" else low)

    def amplitudes(self, u: np.ndarray, u_range: tuple[float, float]) -> np.ndarray:
        """Volt, ``(steps, devices, window)``: the pulses read before each step's features
        (``v(p, n)``, signed in the model's polarity); inputs before the first one are
        taken at the middle of ``u_range``."""
        x = real_array(u, "u", ndim=1)
        lo, hi = u_range
        if not hi > lo:
            raise InputError(f"u_range must be (low, high) with high > low, got {u_range!r}")
        s = np.clip(2.0 * (x - lo) / (hi - lo) - 1.0, -1.0, 1.0)
        w = self.encoding.window
        padded = np.concatenate([np.zeros(w - 1), s])
        windows = np.lib.stride_tricks.sliding_window_view(padded, w)  # (steps, window)
        masks, bias, selected = self.masks()
        e = self.encoding
        a = e.v_center + e.v_span * (bias[None, :, None] + masks[None] * windows[:, None, :])
        return self.direction() * np.maximum(a, 0.0) * selected[None]

    def states(
        self, u: np.ndarray, u_range: tuple[float, float], *, progress: bool = False
    ) -> np.ndarray:
        """``(steps, devices)``: each device's state after each step's window."""
        a = self.amplitudes(u, u_range)
        return integrate_pulses(
            self.model,
            a,
            self.reset_state(),
            self.encoding,
            factors=self.factors[None, :],
            progress=progress,
        )

    def features(
        self,
        u: np.ndarray,
        u_range: tuple[float, float],
        *,
        noisy: bool = True,
        progress: bool = False,
    ) -> np.ndarray:
        """Siemens, ``(steps, devices)``: the conductances read at ``driver.v_read`` after
        each step's window, with the spec's read noise (``noisy``; each read fluctuates by
        ``N(0, (read_noise G)^2)``, the network model's read noise,
        :mod:`cimspice.devices.generic`)."""
        m = self.model
        v = self.spec.driver.v_read * self.direction()
        g = currents(m.name, dict(m.params), v, self.states(u, u_range, progress=progress)) / v
        sigma = self.spec.nonideal.read_noise
        if noisy and sigma:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, 6]))
            g = g * (1.0 + sigma * standard_normals(rng, g.shape))
        return g
