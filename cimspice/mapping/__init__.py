"""Weights onto tiles: differential pairs or a reference column, bit slices
(:mod:`~cimspice.mapping.slicing`), tiling with digital partial sums
(:mod:`~cimspice.mapping.tiling`), input encoding and the DAC
(:mod:`~cimspice.mapping.encoding`), and the hardware matmul that programs every tile through an
engine and runs each layer's MVMs on them (:mod:`~cimspice.mapping.matmul`).
"""

__all__: list[str] = []
