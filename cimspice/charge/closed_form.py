"""What a charge-domain column gives analytically: the shared voltage, the mismatch spread,
kT/C noise and the switching energy of a MAC cycle.

Notation: cell ``(i, j)`` holds weight bit ``w_ij`` and capacitor ``C_ij``; input line ``i``
sits at ``x_i`` (V) in the drive phase; column ``j`` has ``C_Tj = sum_i C_ij + c_par``. After
the reset the column is at ``v_reset`` with every bottom plate at 0 V; pulling the bottom
plates of the cells holding a 1 up to their lines moves it by
``dV_j = sum_i w_ij C_ij x_i / C_Tj`` (charge on the floating column is conserved).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BOLTZMANN",
    "column_capacitance",
    "cycle_energy",
    "ktc_noise_std",
    "mismatch_std",
    "settling_constant",
    "share_noise_std",
    "shared_voltage",
]

BOLTZMANN = 1.380649e-23
"""J/K (exact, SI 2019)."""


def column_capacitance(caps: np.ndarray, c_par: float) -> np.ndarray:
    """Farad, ``(cols,)``: each column's total capacitance ``sum_i C_ij + c_par``."""
    return np.asarray(caps, dtype=float).sum(axis=0) + c_par


def shared_voltage(
    caps: np.ndarray, bits: np.ndarray, levels: np.ndarray, c_par: float, v_reset: float = 0.0
) -> np.ndarray:
    """Volt, ``(cycles, cols)``: each column after charge sharing,
    ``v_reset + sum_i w_ij C_ij x_i / C_Tj``, for line levels ``levels`` ``(cycles, rows)``."""
    coupled = np.asarray(bits, dtype=float) * caps
    return v_reset + (np.atleast_2d(levels) @ coupled) / column_capacitance(caps, c_par)


def mismatch_std(
    c_cell: float, sigma: float, bits: np.ndarray, levels: np.ndarray, c_par: float
) -> np.ndarray:
    """Volt, ``(cycles, cols)``: the standard deviation of each column's shared voltage over
    capacitor draws ``C_ij = c_cell (1 + sigma z_ij)``, to first order in ``sigma``.

    ``d dV_j / d C_ij = (w_ij x_i - dV_j) / C_Tj``, so
    ``var dV_j = sigma^2 c_cell^2 sum_i (w_ij x_i - dV_j)^2 / C_Tj^2`` at the nominal values
    (the neglected terms are of relative order ``sigma``).
    """
    bits = np.asarray(bits, dtype=float)
    x = np.atleast_2d(levels)
    nominal = np.full(bits.shape, c_cell)
    dv = shared_voltage(nominal, bits, x, c_par)  # (cycles, cols)
    c_t = column_capacitance(nominal, c_par)
    wx = x[:, :, None] * bits[None, :, :]  # (cycles, rows, cols)
    spread = ((wx - dv[:, None, :]) ** 2).sum(axis=1)
    return sigma * c_cell * np.sqrt(spread) / c_t


def ktc_noise_std(c_total: float | np.ndarray, temperature_k: float = 300.0) -> np.ndarray:
    """Volt: ``sqrt(k T / C)``, the noise a switch samples onto ``c_total`` when it opens
    (whatever its resistance: equipartition)."""
    return np.sqrt(BOLTZMANN * temperature_k / np.asarray(c_total, dtype=float))


def share_noise_std(caps: np.ndarray, c_ground: float, temperature_k: float = 300.0) -> np.ndarray:
    """Volt, ``(cols,)``: the thermal noise the share phase adds to each floating column,
    ``sqrt(k T C_s / (C_T c_ground))`` with ``C_s = sum_i C_ij`` and ``C_T = C_s + c_ground``.

    In the share phase every bottom plate is joined to a source or to ground through
    resistors (the weight-bit switch, the line's pull-up, the driver), whose thermal noise
    moves it; the column, whose charge is conserved, follows by ``sum_i C_i dp_i / C_T``.
    In equilibrium the plates' voltages are Gaussian with the energy
    ``(sum_i C_i dp_i^2 - C_T dV^2) / 2`` as their exponent (equipartition; the resistors do
    not enter), whose inverse (Sherman-Morrison) is ``diag(1 / C_i) + 1 1^T / c_ground``: so
    ``var dV = k T (C_s / C_T^2 + C_s^2 / (C_T^2 c_ground)) = k T C_s / (C_T c_ground)``.
    Added to the reset's ``k T / C_T`` (independent of it), the column holds
    ``k T / c_ground``.
    """
    c_s = np.asarray(caps, dtype=float).sum(axis=0)
    c_t = c_s + c_ground
    return np.sqrt(BOLTZMANN * temperature_k * c_s / (c_t * c_ground))


def cycle_energy(
    caps: np.ndarray, bits: np.ndarray, levels: np.ndarray, c_par: float
) -> np.ndarray:
    """Joule, ``(cycles,)``: what the input-level sources deliver in a MAC cycle that starts
    from the reset state.

    Line ``i``'s source sits at ``x_i`` while it delivers the charge
    ``sum_j w_ij C_ij (x_i - dV_j)``, so the cycle costs
    ``sum_j (sum_i w_ij C_ij x_i^2 - C_Tj dV_j^2)``: ``C x^2`` per toggled cell, less what the
    column's rise gives back. The reset (lines to ground, column to ``v_reset``) draws no
    net charge from the precharge source, so it adds nothing.
    """
    coupled = np.asarray(bits, dtype=float) * caps
    x = np.atleast_2d(levels)
    dv = shared_voltage(caps, bits, x, c_par)
    c_t = column_capacitance(caps, c_par)
    return (x**2 @ coupled).sum(axis=1) - (dv**2 * c_t).sum(axis=1)


def settling_constant(caps: np.ndarray, r_line: float, r_cell: float) -> float:
    """Second: the slowest time constant of the drive, about: a line's pull-up and driver
    (``r_line``) charging every capacitor on it (``sum_j C_ij``, the columns being larger),
    then a cell's own switch (``r_cell``) its capacitor."""
    c = np.asarray(caps, dtype=float)
    return float(r_line * c.sum(axis=1).max() + r_cell * c.max())
