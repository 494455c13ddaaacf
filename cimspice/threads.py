"""BLAS thread pools: one thread for work made of many small matrix products.

numpy's BLAS starts a thread per core for every product. For products of a few hundred rows,
as in a crossbar's row-by-row algebra or a network's tiles, the threads gain little, and on a
machine whose cores other processes share they oversubscribe them: each product then waits
for a busy core (on the project's 2-core machines under load, a 128x128 admittance cascade
took 6.7 s with two BLAS threads and 0.26 s with one; the tiles of a network's layer 2-3x
longer). :func:`one_blas_thread` runs a block with one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from threadpoolctl import ThreadpoolController

__all__ = ["one_blas_thread", "single_threaded"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


@functools.cache
def _pools() -> ThreadpoolController:
    """The process's thread pools (found once: a search costs milliseconds)."""
    return ThreadpoolController()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with a single BLAS thread (the pools' sizes restored after)."""
    with _pools().limit(limits=1, user_api="blas"):
        yield


def single_threaded(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` run under :func:`one_blas_thread`."""

    @functools.wraps(function)
    def limited(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with one_blas_thread():
            return function(*args, **kwargs)

    return limited
