"""The tiles a converted model's layers share: one spec, one engine, one programming state.

:class:`AnalogTiles` holds what :func:`cimspice.torch.convert` was given (the tile spec, the
surrogate, the engine and its mode) and the :class:`~cimspice.mapping.matmul.HardwareMatMul`
that maps, programs and runs every layer: the numpy path's own mapping, device models,
converters and surrogates, nothing re-implemented. Each converted layer owns one or more
layer indices (a grouped convolution one per group, attention's projections one each), which
also key the layer's random streams, as in :meth:`~cimspice.nn.model.Model.forward`.

A layer is (re)programmed when its weights change (the tensor's version counter: an optimiser
step, ``load_state_dict``, ``.to(device)``) and when the devices change
(:meth:`AnalogTiles.reprogram`: a new seed or another time since programming). Pickling keeps
the configuration and drops the programmed tiles (they are programmed again, identically, on
first use).

With :attr:`AnalogTiles.recording` on (``cimspice evaluate`` sets it), every multiply also
updates its layer's MVM error statistics in :attr:`HardwareMatMul.stats`, as the numpy path's
multiply does, and the first inputs of each layer are kept for a spot-check.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from cimspice.arguments import integer, real
from cimspice.mapping.matmul import HardwareMatMul, check_network_spec
from cimspice.spec import CrossbarSpec
from cimspice.surrogate.model import TileSurrogate
from cimspice.torch.backend import backend

__all__ = ["AnalogTiles"]


class AnalogTiles:
    """The tiles of one converted model (see the module).

    Args:
        spec: the tile, its converters, mapping and devices.
        surrogate: a calibrated surrogate (``engine="surrogate"``), or ``None`` for the
            spec's nominal one (exact for passive linear tiles).
        engine: any engine :class:`~cimspice.mapping.matmul.HardwareMatMul` accepts.
        mode: the surrogate's mode for nonlinear tiles (``"accurate"`` or ``"fast"``).
    """

    def __init__(
        self,
        spec: CrossbarSpec,
        surrogate: TileSurrogate | None = None,
        *,
        engine: str = "surrogate",
        mode: str = "accurate",
    ):
        check_network_spec(spec)
        self.spec = spec
        self.surrogate = surrogate
        self.engine = engine
        self.mode = mode
        self.calibrating = False
        self.recording = False
        self.first_inputs: dict[int, tuple[np.ndarray, float]] = {}
        self.generation = 0
        self._hardware: HardwareMatMul | None = None
        self._programmed: dict[int, tuple[int, int, int, int]] = {}
        self.hardware()  # checks the engine, the mode and the surrogate now

    def hardware(self) -> HardwareMatMul:
        """The hardware matmul of the current devices (built on first use)."""
        if self._hardware is None:
            self._hardware = HardwareMatMul(
                self.spec, engine=self.engine, surrogate=self.surrogate, mode=self.mode
            )
            self._programmed = {}
        return self._hardware

    @property
    def seed(self) -> int:
        """The devices' seed (``nonideal.seed``)."""
        return self.spec.nonideal.seed

    @property
    def time_s(self) -> float:
        """Seconds since programming at which the devices are read (``nonideal.drift_time``;
        0: no drift)."""
        return self.spec.nonideal.drift_time

    def reprogram(self, seed: int | None = None, time_s: float | None = None) -> None:
        """Program every layer again on first use: with device seed ``seed`` and/or read
        ``time_s`` seconds after programming (the same devices, drifted longer, when only the
        time changes: the seed fixes every draw).

        Raises:
            InputError: a seed that is not a non-negative integer, a negative time.
        """
        nonideal = self.spec.nonideal
        if seed is not None:
            nonideal = dataclasses.replace(nonideal, seed=integer(seed, "seed", minimum=0))
        if time_s is not None:
            t = real(time_s, "time_s", minimum=0.0)
            nonideal = dataclasses.replace(nonideal, drift_time=t)
        self.spec = dataclasses.replace(self.spec, nonideal=nonideal)
        self._hardware = None
        self.generation += 1

    def matmul(
        self, index: int, x: torch.Tensor, weights: torch.Tensor, x_max: torch.Tensor | None
    ) -> torch.Tensor:
        """``x @ weights`` (``(n, fan_in) @ (fan_in, fan_out)``) on layer ``index``'s tiles.

        ``x_max``: the layer's input range (``None``: each batch's own ``max |x|``). The
        result's gradient reaches ``x`` (and ``x_max``) through the tiles' law, with
        straight-through quantisers, and ``weights`` as the ideal product's would.
        """
        hardware = self.hardware()
        key = (self.generation, weights._version, weights.data_ptr(), weights.device.index or 0)
        if self._programmed.get(index) != key or index not in hardware.layers:
            w = weights.detach().to("cpu", torch.float64).numpy()
            hardware.program(index, np.array(w))
            self._programmed[index] = key
        if x_max is None:
            x_max = x.detach().abs().amax()
        folded = hardware.layers[index].folded is not None
        numpy_dtype = x.dtype in (torch.float32, torch.float64)
        if x.device.type == "cpu" and numpy_dtype and not torch.is_grad_enabled() and not folded:
            # inference on the host: the same tile math on numpy views of the tensors (one
            # pipeline, numpy's arrays: the tile threads, in-place passes and the read-noise
            # streams `evaluate` draws), faster there than torch's per-op dispatch; a folded
            # layer (one matmul) stays in torch, whose in-place DAC is the faster there
            host = hardware.mvm(index, x.detach().numpy(), float(x_max))
            y = torch.from_numpy(host).to(x.dtype)
        else:
            y = hardware.mvm(index, x, x_max, backend())
        if self.recording:
            self._record(hardware, index, x, weights, y, x_max)
        if weights.requires_grad and torch.is_grad_enabled():
            y = y + x.detach() @ (weights - weights.detach())
        return y

    def _record(  # noqa: PLR0917 (private; the multiply's own values)
        self,
        hardware: HardwareMatMul,
        index: int,
        x: torch.Tensor,
        weights: torch.Tensor,
        y: torch.Tensor,
        x_max: torch.Tensor,
    ) -> None:
        """With :attr:`recording` on: the layer's MVM error against the exact product (in
        :attr:`HardwareMatMul.stats`, as the numpy path keeps it) and its first inputs (a few
        rows, with the input range: what a spot-check re-runs)."""
        from cimspice.mapping.stats import MVMErrorStats

        with torch.no_grad():
            exact = (x.detach() @ weights.detach()).cpu().double().numpy()
            hardware.stats.setdefault(index, MVMErrorStats()).update(
                y.detach().cpu().double().numpy(), exact
            )
            if index not in self.first_inputs:
                rows = x.detach()[:8].cpu().double().numpy()
                self.first_inputs[index] = (rows, float(x_max))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_hardware"] = None
        state["_programmed"] = {}
        state["first_inputs"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
