"""The aihwkit half of ``bench_irdrop_tools.py``: one passive array through one of aihwkit's
IR-drop models, in aihwkit's own environment (numpy, torch and aihwkit only; no cimspice).

    <aihwkit venv>/bin/python benchmarks/aihwkit_irdrop_side.py MODEL IN.npz OUT.npy

IN.npz: ``g`` (rows, cols) conductances in S, ``v`` (vectors, rows) read voltages in V,
``r`` ohm per wire segment, ``v_read`` the drivers' full scale in V (every ``v`` on the
8-bit PWM grid ``v_read * k / 127``). OUT.npy: the (vectors, cols) output currents in A; one
JSON line on stdout: ``seconds`` (building the tile and every MVM), ``peak_mib`` (this
process's peak resident set), ``aihwkit`` and ``torch`` versions.

MODEL:

- ``irdrop-t``: ``TorchInferenceRPUConfigIRDropT`` (aihwkit's pure-torch time-dependent
  IR-drop model) with ``ir_drop_segments = rows``: one Thevenin segment per cell, the finest
  it allows; ``irdrop-t8``: the same with its default 8 segments (``rows / 8`` cells lumped
  into each).
- ``cpp``: ``InferenceRPUConfig`` with ``forward.ir_drop = 1`` (the C++ ``RPUCuda`` tile's
  steady-state IR-drop estimate), ``ir_drop_g_ratio = 1 / (r g_max)``.

The mapping of the time-dependent model (its circuit against cimspice's: BENCHMARKS.md, "IR
drop: cimspice, badcrossbar and aihwkit's IR-drop tiles on the same arrays"): weights are the
conductances in uS, converted back to the same conductances by
``SinglePairConductanceConverter(g_max = max G, g_min = 0)`` (the ``G+`` device holds ``G``,
the ``G-`` device 0 S and carries no current); inputs are ``v / v_read`` on the 8-bit grid
(``inp_res = 1/254``: 128 PWM time slices of a full-scale pulse, every input a whole number of
them), so that no input is quantised; no noise or bound management, no output noise, ADC or
clipping; ``ir_drop_v_read = 0.4`` V, the rows' idle level, so that an idle row passes no
current (aihwkit's default 0.4005 V adds a 0.5 mV offset on every cell, 0.43 % of full scale on
a 64x64 array); ``ir_drop_integration_sum`` on (the default trapezoid rule counts half a slice
more per active row: 0.67 %); no CCO ADC quantisation (``adc_quantization`` off);
``mapping.max_input_size = rows`` and ``max_output_size = cols`` (one physical tile, no padding
to 512 rows). aihwkit's outputs are ``sum_i x_i W_ij`` in the weights' units (uS); the
currents are ``v_read * 1e-6`` times that.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np
import torch
from aihwkit.inference import PCMLikeNoiseModel
from aihwkit.inference.converter.conductance import SinglePairConductanceConverter
from aihwkit.nn import AnalogLinear
from aihwkit.simulator.configs import InferenceRPUConfig, TorchInferenceRPUConfigIRDropT
from aihwkit.simulator.parameters.enums import BoundManagementType, NoiseManagementType

PWM_LEVELS = 127
"""Slices of a full-scale PWM pulse at ``inp_res = 1 / 254`` (8 bits with the sign)."""

CHUNK_BYTES = 256 * 2**20
"""The time-dependent model holds several ``(vectors, rows, cols / 2, 128)`` float32 arrays
at once: the vectors go through it in chunks of about this many bytes per array."""


def config(model: str, rows: int, cols: int, g_max_us: float, r: float):
    """aihwkit's tile configuration for ``model`` (one of ``irdrop-t``, ``irdrop-t8``,
    ``cpp``) mapping a ``rows x cols`` array with ``r`` ohm segments, G up to ``g_max_us``."""
    if model == "cpp":
        c = InferenceRPUConfig()
        c.forward.ir_drop = 1.0
        c.forward.ir_drop_g_ratio = 1.0 / (r * g_max_us * 1e-6)
        c.mapping.weight_scaling_omega = 1.0  # weights scaled to |W| <= 1: 1 is g_max
    else:
        c = TorchInferenceRPUConfigIRDropT()
        f = c.forward
        f.ir_drop = 1.0
        f.ir_drop_rs = r
        f.ir_drop_segments = rows if model == "irdrop-t" else 8
        f.ir_drop_v_read = 0.4
        f.ir_drop_integration_sum = True
        f.adc_quantization = False
        c.mapping.weight_scaling_omega = 0.0  # the converter scales G back itself
        c.noise_model = PCMLikeNoiseModel(
            g_converter=SinglePairConductanceConverter(g_max=g_max_us, g_min=0.0)
        )
    f = c.forward
    f.inp_res = 1.0 / (2 * PWM_LEVELS)
    f.inp_bound = 1.0
    f.out_noise = 0.0
    f.out_res = -1.0
    f.out_bound = -1.0
    f.noise_management = NoiseManagementType.NONE
    f.bound_management = BoundManagementType.NONE
    c.drift_compensation = None
    c.mapping.max_input_size = rows
    c.mapping.max_output_size = cols
    c.mapping.digital_bias = True
    return c


def currents(model: str, g: np.ndarray, v: np.ndarray, r: float, v_read: float) -> np.ndarray:
    """The output currents (A) aihwkit's ``model`` gives for conductances ``g`` (S), inputs
    ``v`` (V) and ``r`` ohm segments."""
    rows, cols = g.shape
    g_us = g * 1e6
    layer = AnalogLinear(
        rows, cols, bias=False, rpu_config=config(model, rows, cols, float(g_us.max()), r)
    )
    layer.set_weights(torch.tensor(g_us.T, dtype=torch.float32))
    layer.eval()
    x = torch.tensor(v / v_read, dtype=torch.float32)
    per_vector = rows * (cols // 2) * (PWM_LEVELS + 1) * 4
    chunk = len(x) if model == "cpp" else max(1, CHUNK_BYTES // per_vector)
    with torch.no_grad():
        y = torch.cat([layer(x[k : k + chunk]) for k in range(0, len(x), chunk)])
    return y.double().numpy() * v_read * 1e-6


def main() -> None:
    model, src, dst = sys.argv[1:4]
    torch.set_num_threads(1)  # one core, as the cimspice side's solvers
    with np.load(src) as f:
        g, v, r, v_read = f["g"], f["v"], float(f["r"]), float(f["v_read"])
    levels = v / v_read * PWM_LEVELS
    if np.abs(levels - np.round(levels)).max() > 1e-9:
        raise SystemExit("inputs must lie on the 8-bit PWM grid v_read * k / 127")
    start = time.perf_counter()
    out = currents(model, g, v, r, v_read)
    seconds = time.perf_counter() - start
    np.save(dst, out)
    import aihwkit

    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "aihwkit": aihwkit.__version__,
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
