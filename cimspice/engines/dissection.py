"""A nested-dissection elimination order for the crossbar's node network, from its geometry.

The unknown nodes of a passive crossbar (:mod:`cimspice.topology`) sit on the cell sites of a
``rows x cols`` grid, two per site: the word-line node, linked to its left and right
neighbours along the row, and the bit-line node, linked to its upper and lower neighbours
along the column; the cell links the two. So one column of word-line nodes separates the
sites to its left from those to its right (a bit-line node of that column keeps only its own
column, which joins the left part), and one row of bit-line nodes separates the rows above
from those below (the word-line nodes of that row join the upper part). Cutting the longer
side in half again and again, ordering each half before its separator (George 1973), keeps
the fill of a sparse Cholesky factor near ``O(n log n)`` for ``n`` nodes, against the
``n^1.25`` to ``n^1.5`` of a minimum-degree or column order on these grids. The cuts are read
off the known site coordinates: no graph partitioner runs, and the order of a 1024x1024 tile
(two million nodes) takes a fraction of a second.

Any permutation gives the same (exact) factorisation; the order only decides its fill. Where
links of zero resistance merge nodes (:meth:`~cimspice.topology.PassiveTopology.node_indices`)
the cuts are no longer separators and the fill grows, but the order stays valid.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LEAF_SITES", "dissection_order"]

LEAF_SITES = 64
"""Regions of at most this many cell sites are not cut further (their nodes are ordered
row by row): smaller leaves only lengthen the recursion."""

_Rect = tuple[int, int, int, int]  # rows r0:r1, columns c0:c1


def dissection_order(
    word: np.ndarray, bit: np.ndarray, n_known: int, last: np.ndarray
) -> np.ndarray:
    """The unknown nodes in nested-dissection order, ``last`` at the end.

    Args:
        word: ``(rows, cols)`` node ids of the word-line nodes
            (:meth:`~cimspice.topology.PassiveTopology.node_indices`).
        bit: ``(rows, cols)`` node ids of the bit-line nodes.
        n_known: ids below this are known potentials (drivers, the sense ground) and are
            left out; the order is of the unknowns, numbered from 0 (``id - n_known``).
        last: unknown ids (numbered from 0) to order last, in this order.

    Returns:
        A permutation of ``0 .. n_unknown - 1`` (``n_unknown`` = the largest id in ``word``
        and ``bit`` + 1 - ``n_known``) as int64.
    """
    rows, cols = word.shape
    pieces: list[np.ndarray] = []
    _dissect(word, bit, (0, rows, 0, cols), (0, rows, 0, cols), pieces)
    order = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
    n_unknown = int(max(word.max(initial=-1), bit.max(initial=-1))) + 1 - n_known
    order = order[order >= n_known] - n_known
    # a node shared by several sites (merged by a zero-resistance link) goes where it is seen
    # last; the nodes of ``last`` go at the very end
    reversed_first = np.unique(order[::-1], return_index=True)[1]
    keep = np.zeros(order.size, dtype=bool)
    keep[order.size - 1 - reversed_first] = True
    order = order[keep]
    tail = np.asarray(last, dtype=np.int64)
    in_tail = np.zeros(max(n_unknown, 0), dtype=bool)
    in_tail[tail] = True
    order = np.concatenate([order[~in_tail[order]], tail])
    if order.size != n_unknown:  # pragma: no cover - every unknown is a word or bit node
        raise AssertionError("the dissection order missed unknown nodes")
    return order


def _dissect(
    word: np.ndarray, bit: np.ndarray, w: _Rect, b: _Rect, pieces: list[np.ndarray]
) -> None:
    """Append to ``pieces`` the nodes of word-line rectangle ``w`` and bit-line rectangle
    ``b``: both halves, then the separator between them (see the module)."""
    top = min(w[0], b[0])
    height = max(w[1], b[1]) - top
    left = min(w[2], b[2])
    width = max(w[3], b[3]) - left
    sites = (w[1] - w[0]) * (w[3] - w[2]) + (b[1] - b[0]) * (b[3] - b[2])
    if sites <= 2 * LEAF_SITES or (w[3] - w[2] < 3 and b[1] - b[0] < 3):
        pieces.append(word[w[0] : w[1], w[2] : w[3]].ravel())
        pieces.append(bit[b[0] : b[1], b[2] : b[3]].ravel())
        return
    if (width >= height and w[3] - w[2] >= 3) or b[1] - b[0] < 3:
        m = (w[2] + w[3]) // 2  # word-line column m separates left from right
        _dissect(word, bit, (w[0], w[1], w[2], m), (b[0], b[1], b[2], min(b[3], m + 1)), pieces)
        _dissect(word, bit, (w[0], w[1], m + 1, w[3]), (b[0], b[1], max(b[2], m + 1), b[3]), pieces)
        pieces.append(word[w[0] : w[1], m])
        return
    m = (b[0] + b[1]) // 2  # bit-line row m separates the rows above from those below
    _dissect(word, bit, (w[0], min(w[1], m + 1), w[2], w[3]), (b[0], m, b[2], b[3]), pieces)
    _dissect(word, bit, (max(w[0], m + 1), w[1], w[2], w[3]), (m + 1, b[1], b[2], b[3]), pieces)
    pieces.append(bit[m, b[2] : b[3]])
