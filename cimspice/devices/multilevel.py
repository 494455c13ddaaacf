"""The multi-level preset ``memristor-rao2023``: 2,048 conductance levels on CMOS.

Source: M. Rao, H. Tang, J. Wu, ..., J. J. Yang, "Thousands of conductance levels in memristors
integrated on CMOS", Nature 615, 823-829 (2023), doi:10.1038/s41586-023-05759-5 (abstract):
2,048 conductance levels (11 bits) per memristor in 256 x 256 arrays monolithically
integrated on CMOS, reached by write-verify after a denoising step (sub-threshold voltage
pulses that quiet the fluctuations of the conductive filament).

What is sourced and what is not: the level count (2,048) is the paper's. Its conductance
window, the levels' exact placement (their spacing), the programming tolerance and the read
noise after denoising are in its figures and Supplementary Information. They were searched
for again (the paper's pages, code repositories that use the device, the aihwkit and
CrossSim sources): only the abstract is available offline, and no repository was found that
tabulates them (``cimspice/devices/published.toml`` records this). The preset therefore
takes the window from the spec's ``[device]`` table, places the levels evenly
(``level_exponent = 1``) and leaves programming and read noise at 0. Give
your own figures with ``nonideal.model_params`` (or fit them to measured levels: ``cimspice
fit-device --model memristor-rao2023``, :mod:`cimspice.devices.multilevel_fitting`):
``level_exponent`` (non-uniform levels: ``G_k = g_min + (g_max - g_min) (k / (n - 1))^e``),
``prog_std_steps`` (programming error after verify, in level steps) and ``read_std_steps``
(per-read noise, in level steps). The tests check the level set (count, placement, spacing)
and the noise statistics these parameters set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cimspice.devices.model import ParamModel

__all__ = ["MultiLevelModel", "level_set"]


@dataclass(frozen=True)
class MultiLevelModel(ParamModel):
    """A memristor programmed onto a fixed level set (see the module).

    Attributes:
        levels: the number of levels (2,048: Rao et al. 2023).
        level_exponent: placement ``G_k = g_min + (g_max - g_min) (k / (n - 1))^e``; 1: even.
        prog_std_steps: std of the programming error after write-verify, in units of the
            mean level step (not sourced: 0).
        read_std_steps: std of each read, in units of the mean level step (not sourced: 0).
    """

    name: ClassVar[str] = "memristor-rao2023"
    VARIED: ClassVar[tuple[str, ...]] = ("prog_std_steps",)
    levels: float = 2048.0
    level_exponent: float = 1.0
    prog_std_steps: float = 0.0
    read_std_steps: float = 0.0

    def _check(self) -> None:
        self.nonnegative("prog_std_steps", "read_std_steps")
        if self.levels != int(self.levels) or not 2 <= self.levels <= 65536:
            raise self.error("levels", f"must be an integer from 2 to 65536, got {self.levels!r}")
        if self.level_exponent <= 0:
            raise self.error("level_exponent", f"must be > 0, got {self.level_exponent!r}")

    @property
    def step(self) -> float:
        """Siemens: the mean spacing of the levels."""
        return (self.window.g_max - self.window.g_min) / (self.levels - 1)

    @property
    def noisy(self) -> bool:
        """Whether programming draws noise."""
        return self.prog_std_steps > 0

    @property
    def noisy_reads(self) -> bool:
        """Whether reads draw noise."""
        return self.read_std_steps > 0

    def snap(self, targets: np.ndarray) -> np.ndarray:
        """Each target on the nearest level of :func:`level_set`."""
        grid = level_set(self)
        index = np.clip(np.searchsorted(grid, targets), 1, len(grid) - 1)
        lower, upper = grid[index - 1], grid[index]
        return np.where(targets - lower <= upper - targets, lower, upper)

    def pulse(self, goal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``goal + N(0, (prog_std_steps step)^2)`` within the window."""
        g = goal + self.prog_std_steps * self.step * rng.standard_normal(goal.shape)
        return np.clip(g, self.window.g_min, self.window.g_max)

    def drift(
        self,
        programmed: np.ndarray,
        goal: np.ndarray,
        stuck: np.ndarray,
        t: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """No drift (the source reports none for the denoised levels)."""
        return programmed

    def read_std(self, conductances: np.ndarray, t: float) -> np.ndarray | None:
        """``read_std_steps * step`` for every cell (``None`` when 0)."""
        if not self.read_std_steps:
            return None
        return np.full(np.shape(conductances), self.read_std_steps * self.step)


def level_set(model: MultiLevelModel) -> np.ndarray:
    """Siemens, ascending: the model's ``levels`` conductances over its window."""
    k = np.arange(int(model.levels)) / (model.levels - 1)
    lo, hi = model.window.g_min, model.window.g_max
    return lo + (hi - lo) * k**model.level_exponent
