"""The PyTorch front end (the ``torch`` extra): any ``nn.Module`` on crossbar tiles.

:func:`convert` returns a copy of a model whose ``Linear``, ``Conv1d``, ``Conv2d`` and
attention projections run on tiles through the numpy path's own mapping, devices, converters
and surrogates (:class:`~cimspice.mapping.matmul.HardwareMatMul`, its per-batch math written
once against the array API, so that it runs on torch tensors on their device).
:mod:`cimspice.torch.monte_carlo` reprograms with new device seeds and reads at another time
since programming; :mod:`cimspice.torch.training` trains through the tiles;
:func:`recalibrate_batch_norm` re-estimates batch norm's statistics on a programmed chip.
"""

from cimspice.torch.batch_norm import recalibrate_batch_norm
from cimspice.torch.convert import (
    SUPPORTED,
    analog_layers,
    analog_tiles,
    calibrate_input_ranges,
    convert,
)

__all__ = [
    "SUPPORTED",
    "analog_layers",
    "analog_tiles",
    "calibrate_input_ranges",
    "convert",
    "recalibrate_batch_norm",
]
