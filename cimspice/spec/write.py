"""The write spec: the memristor's dynamic model and the write pulses (``[write]``).

Used by :mod:`cimspice.write` only (reads use ``[device]``). Like the network tables it does
not change the tile's read circuit, so it never enters the content hash (a read surrogate
stays valid whatever it holds); it is registered beside them in
:class:`~cimspice.spec.network.NetworkSpec`. The model's name and parameters are checked
against the model library when a write is set up
(:func:`cimspice.write.models.dynamic_model`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from cimspice.model_cards import check_spice_name
from cimspice.spec.fields import (
    Check,
    Section,
    at_least,
    finite,
    nonneg,
    number_table,
    param,
    positive,
    printable_path,
)

__all__ = ["WRITE_BIASES", "WriteSpec"]

WRITE_BIASES = ("v/2", "v/3")
"""How a passive array may bias its unselected lines during a write."""


@dataclass(frozen=True)
class WriteSpec(Section):
    """Writing the array: the memristor's dynamic model and the write pulses."""

    table: ClassVar[str] = "write"

    model: str = param(
        "stanford",
        doc='The dynamic memristor model. "stanford" (Stanford-PKU filament-gap RRAM), '
        '"vteam" (threshold VTEAM), or the name of a 3-port .subckt (p, n, state) in '
        "model_file.",
    )
    model_file: str = param(
        "",
        check=printable_path,
        doc="Path of your own behavioural model file (relative to the spec file; the "
        "security policy of access.model_file applies). Empty: the built-in models.",
    )
    model_params: tuple[tuple[str, float], ...] | Mapping[str, float] = param(
        (),
        doc="Overrides of the model's subcircuit parameters, a table {name = value} "
        "(stored as sorted (name, value) pairs).",
    )
    osdi: bool = param(
        False,
        doc="Run the built-in model as its Verilog-A twin compiled by OpenVAF and loaded "
        'through ngspice\'s OSDI interface ("vteam" only: models/vteam.va; needs the osdi '
        "extra): the same equations as the behavioural subcircuit, ~1-2 us per device and "
        "Newton iteration instead of 9-140 us.",
    )
    state_min: float = param(
        0.0,
        unit="V",
        check=finite,
        doc="The low end of a model_file model's state range (its state node's volts).",
    )
    state_max: float = param(
        1.0,
        unit="V",
        check=finite,
        doc="The high end of a model_file model's state range (> state_min).",
    )
    set_polarity: int = param(
        1,
        check=Check(lambda v: None if v in (1, -1) else f"must be 1 or -1, got {v}", "1 or -1"),
        doc="Which way a model_file model switches. 1: a positive v(p, n) moves it towards "
        "its low-resistance end; -1: away from it.",
    )
    v_set: float = param(
        2.0, unit="V", check=positive, doc="The SET amplitude across the selected lines."
    )
    v_reset: float = param(
        2.0, unit="V", check=positive, doc="The RESET amplitude across the selected lines."
    )
    t_pulse: float = param(
        100e-9, unit="s", check=positive, doc="The width of a write pulse (its flat top)."
    )
    t_edge: float = param(
        1e-9, unit="s", check=positive, doc="Each edge's rise or fall time of a write pulse."
    )
    v_gate_set: float = param(
        1.0,
        unit="V",
        check=finite,
        doc="A 1T1R cell's gate during SET (it sets the compliance current).",
    )
    v_gate_reset: float = param(2.5, unit="V", check=finite, doc="A 1T1R cell's gate during RESET.")
    bias: str = param(
        "v/2",
        check=Check(
            lambda v: (
                None
                if v in WRITE_BIASES
                else f"must be {' or '.join(repr(b) for b in WRITE_BIASES)}, got {v!r}"
            ),
            " or ".join(WRITE_BIASES),
        ),
        doc='How a passive (0T1R, 1S1R) array biases its unselected lines: "v/2" or "v/3".',
    )
    variation: float = param(
        0.0,
        check=nonneg,
        doc="Device-to-device variation: the standard deviation of the log of a per-cell "
        "factor on the model's switching-rate parameters (0: identical cells).",
    )
    seed: int = param(
        0, check=at_least(0, "an integer"), doc="The seed of the device-to-device variation."
    )

    def _check(self) -> None:
        if not check_spice_name(self.model):
            raise self.error("model", f"must be a model name, got {self.model!r}")
        object.__setattr__(
            self, "model_params", number_table(self.model_params, "write.model_params")
        )
        if self.osdi and (self.model_file or self.model != "vteam"):
            raise self.error(
                "osdi",
                'has a Verilog-A twin for the built-in model "vteam" only (models/vteam.va), '
                f"not for model {self.model!r}" + (" of model_file" if self.model_file else ""),
            )
        if not self.state_max > self.state_min or not math.isfinite(
            self.state_max - self.state_min
        ):
            raise self.error("state_max", f"must be > write.state_min, got {self.state_max!r}")

    def to_dict(self) -> dict[str, Any]:
        """The table as plain TOML-shaped data (``model_params`` as a table)."""
        data = super().to_dict()
        data["model_params"] = dict(self.model_params)
        return data
