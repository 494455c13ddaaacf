"""Checks of the arguments of public functions and of typed dataclass fields.

Every public entry point checks what it is given before any work and raises the project's
own error naming the argument (:class:`~cimspice.errors.InputError` for function
arguments, :class:`~cimspice.errors.SpecError` with the dotted key for spec fields), never a
raw ``TypeError`` or a numpy error from deep inside. The scalar checks accept numpy scalars
(``np.float64``, ``np.int64``) but never a ``bool`` where a number is meant.

:func:`check_fields` checks every field of a dataclass instance against its annotation
(``float``, ``int``, ``bool``, ``str``, another class, or ``X | None`` of these), with the
same rules as a spec file's values: an integer is accepted for a float (and stored as one).

Importing this module loads no numpy (spec files are read without it); :func:`real_array`
imports it when called.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import numbers
import os
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cimspice.errors import InputError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "FieldError",
    "a_or_an",
    "as_ndarray",
    "check_fields",
    "choice",
    "flag",
    "instance",
    "integer",
    "label_array",
    "path_argument",
    "real",
    "real_array",
]

FieldError = Callable[[str, str], Exception]
"""``error(message, key)``: the exception a failed field check raises."""

_T = TypeVar("_T")


def _describe(value: object) -> str:
    """``type value`` for a message, the value shortened if long."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _is_bool(value: object) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"


def _input_error(message: str, key: str) -> Exception:
    return InputError(f"{key} {message}")


def real(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    positive: bool = False,
    finite: bool = True,
    maximum: float | None = None,
) -> float:
    """``value`` as a float if it is a real number within the bounds.

    Args:
        value: the argument.
        name: its name, for the message.
        minimum: the smallest value allowed (inclusive), if any.
        positive: whether it must be > 0.
        finite: whether inf and NaN are refused (NaN always is).
        maximum: the largest value allowed (inclusive), if any.

    Raises:
        InputError: naming ``name``.
    """
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number, got {_describe(value)}")
    out = float(value)
    if math.isnan(out) or (finite and not math.isfinite(out)):
        raise InputError(f"{name} must be a finite number, got {out!r}")
    if positive and not out > 0:
        raise InputError(f"{name} must be > 0, got {out!r}")
    if minimum is not None and out < minimum:
        raise InputError(f"{name} must be >= {minimum:g}, got {out!r}")
    if maximum is not None and out > maximum:
        raise InputError(f"{name} must be <= {maximum:g}, got {out!r}")
    return out


def integer(
    value: object, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` as an int if it is an integer (not a bool, not a float) within the bounds.

    Raises:
        InputError: naming ``name``.
    """
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer, got {_describe(value)}")
    out = int(value)
    if minimum is not None and out < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {out}")
    if maximum is not None and out > maximum:
        raise InputError(f"{name} must be <= {maximum}, got {out}")
    return out


def flag(value: object, name: str) -> bool:
    """``value`` if it is a bool (numpy's included).

    Raises:
        InputError: naming ``name``.
    """
    if not _is_bool(value):
        raise InputError(f"{name} must be True or False, got {_describe(value)}")
    return bool(value)


def choice(value: object, choices: typing.Iterable[str], name: str) -> str:
    """``value`` if it is one of the strings ``choices``.

    Raises:
        InputError: naming ``name`` and listing the choices.
    """
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        raise InputError(f"{name} must be one of {', '.join(options)}; got {_describe(value)}")
    return value


def a_or_an(noun: str) -> str:
    """``noun`` with its indefinite article (by its first letter: ``"an ArraySpec"``)."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def instance(value: object, kind: type[_T], name: str, what: str | None = None) -> _T:
    """``value`` if it is an instance of ``kind``.

    Args:
        value: the argument.
        kind: the class it must be.
        name: its name, for the message.
        what: how to describe ``kind`` (default its name).

    Raises:
        InputError: naming ``name``.
    """
    if not isinstance(value, kind):
        raise InputError(f"{name} must be {what or a_or_an(kind.__name__)}, got {_describe(value)}")
    return value


def path_argument(value: object, name: str) -> Path:
    """``value`` as a :class:`~pathlib.Path` if it is a ``str`` or an ``os.PathLike``.

    Raises:
        InputError: naming ``name`` (an empty string is refused too).
    """
    if isinstance(value, str | os.PathLike):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return Path(path)
    raise InputError(f"{name} must be a path (str or os.PathLike), got {_describe(value)}")


def as_ndarray(value: object, name: str) -> np.ndarray:
    """``np.asarray(value)``, with ragged nesting refused by name rather than by numpy.

    Raises:
        InputError: numpy cannot make an array of ``value`` (e.g. rows of unequal length).
    """
    import numpy as np

    try:
        return np.asarray(value)
    except (ValueError, TypeError) as err:
        raise InputError(
            f"{name} must be a rectangular array of numbers (rows of equal length); "
            f"numpy says: {err}"
        ) from None


def real_array(
    value: object, name: str, *, ndim: int | None = None, finite: bool = True
) -> np.ndarray:
    """``value`` as a float64 array of finite real numbers.

    Args:
        value: an array or anything numpy makes a rectangular numeric array of.
        name: its name, for the message.
        ndim: the number of dimensions it must have, if fixed.
        finite: refuse NaN and inf (``False``: left to the caller).

    Raises:
        InputError: ragged nesting, a non-numeric dtype (strings, objects, booleans,
            complex numbers), NaN or inf, or the wrong number of dimensions; the message
            names ``name``.
    """
    import numpy as np

    array = as_ndarray(value, name)
    if (
        array.dtype == object
        or not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer))
        or array.dtype == np.bool_
    ):
        raise InputError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise InputError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    out = np.asarray(array, dtype=np.float64)
    if not finite or np.isfinite(np.sum(out)):  # one pass: NaN and inf spread through a sum
        return out
    bad = ~np.isfinite(out)  # (or a sum of huge finite values overflowed: look closer)
    if bad.any():
        first = tuple(int(k) for k in np.argwhere(bad)[0])
        raise InputError(
            f"{name} holds {int(bad.sum())} non-finite value(s) (NaN or inf), "
            f"first at index {first}"
        )
    return out


def label_array(value: object, name: str) -> np.ndarray:
    """``value`` as a 1-D int64 array of class labels (integers >= 0).

    Raises:
        InputError: ragged, not 1-D, not integers, or a negative label; names ``name``.
    """
    import numpy as np

    array = as_ndarray(value, name)
    if array.ndim != 1:
        raise InputError(f"{name} must be a 1-D array of labels, got shape {array.shape}")
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"{name} must hold integer class labels, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise InputError(f"{name} holds a negative label ({int(array.min())})")
    return array.astype(np.int64, copy=False)


# ----- dataclass fields -----


_FieldTypes = tuple[tuple[str, tuple[type, ...], bool], ...]
_FIELD_TYPES: dict[type, _FieldTypes] = {}


def _field_types(cls: type) -> _FieldTypes:
    """Per init field of ``cls``: its name, the classes it may hold, whether None is allowed
    (worked out once per class)."""
    known = _FIELD_TYPES.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        hint = hints[f.name]
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        allowed = tuple(o for o in options if isinstance(o, type) and o is not type(None))
        out.append((f.name, allowed, type(None) in options))
    _FIELD_TYPES[cls] = tuple(out)
    return _FIELD_TYPES[cls]


_SCALARS: dict[type, tuple[Callable[[Any], bool], Callable[[Any], Any], str]] = {
    float: (
        lambda v: isinstance(v, numbers.Real) and not _is_bool(v),
        float,
        "a number",
    ),
    int: (
        lambda v: isinstance(v, numbers.Integral) and not _is_bool(v),
        int,
        "an integer",
    ),
    bool: (_is_bool, bool, "true or false"),
    str: (lambda v: isinstance(v, str), str, "a string"),
    Path: (lambda v: isinstance(v, str | os.PathLike), Path, "a path"),
}
"""Field type -> (test, conversion, what the message calls it)."""


def _field_value(value: object, allowed: tuple[type, ...], key: str, error: FieldError) -> Any:
    """``value`` checked (and converted: int to float) against the field's one class."""
    if len(allowed) != 1:
        return value  # a union of several classes: left to the class's own checks
    kind = allowed[0]
    if issubclass(kind, enum.Enum):
        if issubclass(kind, str) and not isinstance(value, str):
            known = ", ".join(repr(m.value) for m in kind)
            raise error(f"must be a string (one of {known}), got {_describe(value)}", key)
        return value  # converted (with the known values listed) by the class itself
    test, convert, what = _SCALARS.get(
        kind, (lambda v: isinstance(v, kind), lambda v: v, a_or_an(kind.__name__))
    )
    if not test(value):
        raise error(f"must be {what}, got {_describe(value)}", key)
    return value if kind is str else convert(value)


def check_fields(obj: Any, prefix: str, error: FieldError = _input_error) -> None:
    """Check every init field of the (frozen or not) dataclass ``obj`` against its type.

    Values are converted in place where the type allows it (an int or a numpy scalar given
    for a float becomes a float; a str for a :class:`~pathlib.Path` becomes a path).

    Args:
        obj: a dataclass instance, from its ``__post_init__``.
        prefix: what the keys are named after, e.g. ``"wire"`` (keys ``wire.r_row``).
        error: builds the exception from a message and the dotted key (default: an
            :class:`~cimspice.errors.InputError` that starts with the key).

    Raises:
        whatever ``error`` builds, for the first field that does not fit.
    """
    for name, allowed, optional in _field_types(type(obj)):
        value = getattr(obj, name)
        if value is None and optional:
            continue
        key = f"{prefix}.{name}" if prefix else name
        checked = _field_value(value, allowed, key, error)
        if checked is not value:
            object.__setattr__(obj, name, checked)
