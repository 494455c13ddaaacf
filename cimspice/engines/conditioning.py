"""How far a linear crossbar solve can be trusted, and the refusal of one that cannot.

The argument is in :mod:`cimspice.engines.nodal`'s docstring: a column's current is off by
about ``eps max|v| sum_i G_ij`` while its full scale is ``max|v| sum_i T_ij``; their ratio is
the solve's rounding error as a fraction of full scale. Every exact linear solver (the sparse
LU, the admittance cascade, the port reduction) checks it here, against one limit.
"""

from __future__ import annotations

import numpy as np

from cimspice.errors import IllConditionedError
from cimspice.topology import PassiveTopology

__all__ = ["TRUST_TOL", "check_conditioning", "wires_text"]

TRUST_TOL = 1e-6
"""The largest rounding error (fraction of full scale, see the module) the linear solve
returns; above it the solve is refused. Real tiles sit near 1e-15."""


def wires_text(topology: PassiveTopology) -> str:
    """The wires of ``topology`` in words, for messages."""
    return (
        f"wire segments of {topology.r_row:.3g} ohm (rows) and {topology.r_col:.3g} ohm (columns)"
    )


def check_conditioning(
    conductances: np.ndarray, full_scale: np.ndarray, wires: str, solve: str = "the nodal solve"
) -> float:
    """The rounding error of a linear crossbar solve as a fraction of full scale (see the
    module), for cells ``conductances`` (S, ``(rows, cols)``) whose columns pass
    ``full_scale`` (S, ``(cols,)``: the currents with every input at 1 V) beside ``wires``
    (:func:`wires_text`); ``solve`` names the solve in the message.

    Raises:
        IllConditionedError: it exceeds :data:`TRUST_TOL`.
    """
    cells = conductances.sum(axis=0)  # S per column
    used = cells > 0
    if not used.any():
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(full_scale[used] > 0, cells[used] / full_scale[used], np.inf)
    worst = int(np.argmax(kappa))
    error = float(np.finfo(float).eps * kappa[worst])
    if error > TRUST_TOL:
        column = int(np.flatnonzero(used)[worst])
        if np.isfinite(error):
            figure = (
                f"rounding alone moves column {column}'s current by up to ~{error:.2g} of "
                f"its full scale (limit {TRUST_TOL:g}): its cells offer {cells[column]:.3g} "
                f"S, {kappa[worst]:.3g} times the {full_scale[column]:.3g} S the wires let "
                "through"
            )
        else:
            figure = (
                f"rounding leaves no correct digit in column {column}'s current (its cells "
                f"offer {cells[column]:.3g} S; the computed full scale is "
                f"{full_scale[column]:.3g} S, not positive)"
            )
        raise IllConditionedError(
            f"{solve} cannot be trusted: {figure}; cells up to "
            f"{float(conductances.max()):.3g} S beside {wires} are beyond double precision"
        )
    return error
