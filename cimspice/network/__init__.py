"""Networks on crossbars: datasets, layers and models, training, weight import, and (in their
own modules) mapping onto tiles and hardware evaluation.

Importing this package loads no dataset and trains nothing; import the submodules you need,
e.g. ``from cimspice.network.zoo import builtin_model``.
"""

from __future__ import annotations

__all__: list[str] = []
