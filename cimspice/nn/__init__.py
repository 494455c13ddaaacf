"""Built-in networks in numpy (no torch needed): layers, models, training, the model zoo, the
datasets, and the import of PyTorch state dicts.

Importing this package loads no dataset and trains nothing; import the submodules you need,
e.g. ``from cimspice.nn.zoo import builtin_model``.
"""

__all__: list[str] = []
