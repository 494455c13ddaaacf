"""The built-in dynamic models' equations in numpy, for an ODE solver (the reference that the
SPICE subcircuits are tested against).

Each function is written from the model's source (see ``models/stanford_rram.lib`` and
``models/vteam.lib``), not from the subcircuit's text, with the same smooth bounds; the SPICE
state trajectory of a device under a pulse must agree with :func:`integrate`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from cimspice.errors import InputError

__all__ = ["Q_OVER_K", "current", "currents", "integrate", "rates"]

Values = float | np.ndarray
"""A number, or an array of them (one per device, per time...)."""

Q_OVER_K = 1.602176634e-19 / 1.380649e-23
"""Kelvin per volt: the elementary charge over Boltzmann's constant (SI 2019 exact values)."""


def _bound(distance: Values, delta: Values) -> np.ndarray:
    return np.tanh(np.maximum(distance, 0.0) / delta)


def currents(name: str, p: Mapping[str, Values], v: Values, state: Values) -> np.ndarray:
    """Ampere through the devices, element-wise over broadcast arrays (``v = v(p, n)``,
    ``state`` the state node's value; any parameter may be an array too, one per device)."""
    if name == "stanford":
        g = np.clip(state, p["gap_min"], p["gap_max"])
        return np.asarray(p["i0"] * np.exp(-g / p["g0"]) * np.sinh(np.divide(v, p["v0"])))
    if name == "vteam":
        x = np.clip(state, 0.0, 1.0)
        return np.asarray(
            np.divide(v, p["r_on"] * np.exp(np.log(np.divide(p["r_off"], p["r_on"])) * x))
        )
    raise InputError(f"no reference equations for dynamic model {name!r}")


def current(name: str, p: Mapping[str, float], v: float, state: float) -> float:
    """Ampere through the device (``v = v(p, n)``, ``state`` its state node's value)."""
    return float(currents(name, p, v, state))


def rates(name: str, p: Mapping[str, Values], v: Values, y: np.ndarray) -> np.ndarray:
    """d/dt of the model's states ``y`` at ``v = v(p, n)``: ``[gap (nm), T - t0 (K)]`` for
    ``"stanford"``, ``[x]`` for ``"vteam"`` (per second). Element-wise: ``y`` is
    ``(n_states, ...)`` and ``v`` and the parameters broadcast against ``y[0]``; the result
    has ``y``'s shape."""
    if name == "stanford":
        gap, dt = y[0], y[1]
        temp = p["t0"] + dt
        gamma = p["gamma0"] - p["beta"] * (gap / p["g1"]) ** 3
        field = gamma * p["a0"] / p["tox"] * v * Q_OVER_K / temp
        generation = np.exp(-p["eag"] * Q_OVER_K / temp + field) * _bound(
            gap - p["gap_min"], p["delta"]
        )
        recombination = np.exp(-p["ear"] * Q_OVER_K / temp - field) * _bound(
            p["gap_max"] - gap, p["delta"]
        )
        dgap = -p["vel0"] * 1e9 * (generation - recombination)  # m/s -> nm/s
        power = np.abs(np.multiply(v, currents(name, p, v, gap)))
        ddt = power / p["cth"] - dt / p["tau_th"]
        return np.stack(np.broadcast_arrays(dgap, ddt)).astype(float)
    if name == "vteam":
        x = y[0]
        off = p["k_off"] / p["d"] * np.maximum(np.divide(v, p["v_off"]) - 1, 0.0) ** p["alpha_off"]
        on = p["k_on"] / p["d"] * np.maximum(np.divide(v, p["v_on"]) - 1, 0.0) ** p["alpha_on"]
        rate = off * _bound(1 - x, p["delta"]) + on * _bound(x, p["delta"])
        return np.asarray(rate, dtype=float)[None]
    raise InputError(f"no reference equations for dynamic model {name!r}")


def integrate(
    name: str,
    p: Mapping[str, float],
    pwl: tuple[np.ndarray, np.ndarray],
    state0: float,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-14,
) -> Callable[[np.ndarray], np.ndarray]:
    """Integrate the model under the piecewise-linear voltage ``pwl = (times, volts)`` (held
    after its last point) from ``state0`` (thermal state at rest) with scipy's Radau, one
    piece between neighbouring corners at a time (no step across a corner).

    Returns:
        the state as a function of time (an array of times in, states out).
    """
    from scipy.integrate import solve_ivp

    times, volts = (np.asarray(a, dtype=float) for a in pwl)
    y = np.array([state0, 0.0]) if name == "stanford" else np.array([state0])
    pieces = []
    for k in range(len(times) - 1):
        t0, t1, v0, v1 = times[k], times[k + 1], volts[k], volts[k + 1]
        if t1 <= t0:
            continue

        slope = (v1 - v0) / (t1 - t0)

        def f(t: float, y: np.ndarray, t0: float = t0, v0: float = v0, slope: float = slope):
            return rates(name, p, v0 + slope * (t - t0), y)

        sol = solve_ivp(f, (t0, t1), y, method="Radau", rtol=rtol, atol=atol, dense_output=True)
        if not sol.success:
            raise InputError(f"the ODE solver failed between {t0} and {t1} s: {sol.message}")
        pieces.append((t0, t1, sol.sol))
        y = sol.y[:, -1]

    def state(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        out = np.empty_like(t)
        for k, tk in enumerate(t.ravel()):
            for t0, t1, sol in pieces:
                if tk <= t1 or (t0, t1, sol) == pieces[-1]:
                    out.flat[k] = sol(min(max(tk, t0), t1))[0]
                    break
        return out

    return state
