"""Labelled samples from a file (``evaluate --data FILE.npz``).

The file is an ``.npz`` archive (``np.savez``) of two arrays:

- ``inputs``: the samples, ``(n, *sample_shape)`` (or ``(n, size)``, reshaped to the model's
  sample shape when the sizes agree), real numbers;
- ``labels``: ``(n,)`` integer class labels ``0 .. classes - 1``.

Pickled arrays are refused; every other key is ignored.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from cimspice.arguments import label_array, path_argument, real_array
from cimspice.errors import InputError

__all__ = ["DATA_KEYS", "load_data_file"]

DATA_KEYS = ("inputs", "labels")
"""The keys of a data file: samples and their class labels."""


def load_data_file(
    path: str | os.PathLike[str], sample_shape: tuple[int, ...], classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, labels)`` of a data file, the inputs shaped ``(n, *sample_shape)`` (float64).

    Args:
        path: the ``.npz`` file.
        sample_shape: the shape of one sample the model takes.
        classes: the model's number of outputs (every label must be below it).

    Raises:
        InputError: the file is missing, not an ``.npz`` archive, holds pickles, lacks a key
            (the keys it has are named), its inputs do not have the model's sample shape or
            hold NaN or inf, its labels are not integers below ``classes``, or the two differ
            in length or are empty; every message names the file and the key.
    """
    path = path_argument(path, "data file")
    if not path.is_file():
        what = "not found" if not path.exists() else "not a regular file"
        raise InputError(f"data file {path}: {what}")
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise InputError(
                    f"data file {path}: one .npy array; give an .npz with "
                    f"keys {' and '.join(DATA_KEYS)}"
                )
            missing = [key for key in DATA_KEYS if key not in data.files]
            if missing:
                raise InputError(
                    f"data file {path}: no key {' or '.join(map(repr, missing))} (it has "
                    f"{', '.join(map(repr, data.files)) or 'none'}); give 'inputs' (samples) "
                    "and 'labels' (integer classes)"
                )
            raw_x, raw_y = data["inputs"], data["labels"]
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        reason = "it holds Python objects (pickles are refused)" if "pickle" in str(err) else err
        raise InputError(f"data file {path}: not a readable .npz archive: {reason}") from None
    x = real_array(raw_x, f"data file {path}: 'inputs'")
    y = label_array(raw_y, f"data file {path}: 'labels'")
    return _shaped(path, x, y, sample_shape, classes)


def _shaped(
    path: Path, x: np.ndarray, y: np.ndarray, sample_shape: tuple[int, ...], classes: int
) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim < 1 or len(x) != len(y) or len(x) == 0:
        raise InputError(
            f"data file {path}: 'inputs' has shape {x.shape} and 'labels' {y.shape}: give as "
            "many samples as labels, at least one"
        )
    size = int(np.prod(sample_shape))
    if tuple(x.shape[1:]) != tuple(sample_shape):
        if int(np.prod(x.shape[1:])) != size:
            raise InputError(
                f"data file {path}: 'inputs' has shape {x.shape}, but the model takes samples "
                f"of shape {tuple(sample_shape)}"
            )
        x = x.reshape((len(x), *sample_shape))
    if y.max() >= classes:
        raise InputError(
            f"data file {path}: 'labels' holds class {int(y.max())}, but the model has "
            f"{classes} outputs (classes 0..{classes - 1})"
        )
    return x, y
