"""The reference topology of a passive (0T1R) crossbar, shared by the netlist and ``nodal``.

Word line ``i`` is driven at its column-0 end; bit line ``j`` is sensed at its row-(rows-1)
end into a virtual ground (0 V). Between the driver and the first cell there is one word-line
segment (plus the driver's ``r_source``), between neighbouring cells one segment, and between
the last cell of a bit line and the sense node one bit-line segment (plus the readout's
``r_in``). Cell ``(i, j)`` joins word-line node ``(i, j)`` to bit-line node ``(i, j)``.

A zero-resistance link is not a resistor: the two nodes it joins are one node. This module
decides, once, which nodes exist and what they are called, so that the ngspice deck and the
nodal solve describe the same network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cimspice.spec import CrossbarSpec

__all__ = ["PassiveTopology"]


@dataclass(frozen=True)
class PassiveTopology:
    """Node names and link resistances of a passive crossbar.

    Attributes:
        rows, cols: array size.
        r_first: ohm, driver to word-line node ``(i, 0)`` (``r_source + r_row``).
        r_row: ohm, between word-line nodes ``(i, j-1)`` and ``(i, j)``.
        r_col: ohm, between bit-line nodes ``(i-1, j)`` and ``(i, j)``.
        r_last: ohm, bit-line node ``(rows-1, j)`` to sense node (``r_col + r_in``).

    """

    rows: int
    cols: int
    r_first: float
    r_row: float
    r_col: float
    r_last: float

    @classmethod
    def from_spec(cls, spec: CrossbarSpec) -> PassiveTopology:
        """The topology of ``spec``'s array."""
        return cls(
            rows=spec.rows,
            cols=spec.cols,
            r_first=spec.driver.r_source + spec.wire.r_row,
            r_row=spec.wire.r_row,
            r_col=spec.wire.r_col,
            r_last=spec.wire.r_col + spec.readout.r_in,
        )

    # ----- names (for the netlist) -----

    @staticmethod
    def driver_node(i: int) -> str:
        """The node a word line's driver sets."""
        return f"d{i}"

    @staticmethod
    def sense_node(j: int) -> str:
        """The virtual-ground node a bit line is sensed at."""
        return f"s{j}"

    def __post_init__(self) -> None:
        for name in ("r_first", "r_row", "r_col", "r_last"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and >= 0 ohm, got {value!r}")

    def word_node(self, i: int, j: int) -> str:
        """The word-line node that cell ``(i, j)`` hangs from."""
        if self.r_row == 0:
            return self.driver_node(i) if self.r_first == 0 else f"w{i}"
        if j == 0 and self.r_first == 0:
            return self.driver_node(i)
        return f"w{i}_{j}"

    def bit_node(self, i: int, j: int) -> str:
        """The bit-line node that cell ``(i, j)`` feeds."""
        if self.r_col == 0:
            return self.sense_node(j) if self.r_last == 0 else f"b{j}"
        if i == self.rows - 1 and self.r_last == 0:
            return self.sense_node(j)
        return f"b{i}_{j}"

    def word_nodes(self) -> list[list[str]]:
        """``word_node(i, j)`` for every cell, as nested lists ``[i][j]``."""
        return [[self.word_node(i, j) for j in range(self.cols)] for i in range(self.rows)]

    def bit_nodes(self) -> list[list[str]]:
        """``bit_node(i, j)`` for every cell, as nested lists ``[i][j]``."""
        return [[self.bit_node(i, j) for j in range(self.cols)] for i in range(self.rows)]

    # ----- integer indices (for the nodal solve) -----

    def node_indices(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Integer ids of the word- and bit-line node of every cell.

        Ids ``0 .. rows-1`` are the drivers (known voltages), id ``rows`` is the sense
        potential (0 V, shared by all sense nodes), ids above are unknowns.

        Returns:
            ``(word, bit, n_nodes)``: two ``(rows, cols)`` int arrays and the total id count.

        """
        rows, cols = self.rows, self.cols
        ground = rows
        nxt = rows + 1
        i_idx = np.arange(rows)[:, None] * np.ones(cols, dtype=np.int64)[None, :]
        if self.r_row == 0 and self.r_first == 0:
            word = i_idx.copy()
        elif self.r_row == 0:
            word = nxt + i_idx
            nxt += rows
        elif self.r_first == 0:  # the first cell sits on the driver node itself
            word = np.empty((rows, cols), dtype=np.int64)
            word[:, 0] = np.arange(rows)
            word[:, 1:] = nxt + np.arange(rows * (cols - 1)).reshape(rows, cols - 1)
            nxt += rows * (cols - 1)
        else:
            word = nxt + np.arange(rows * cols).reshape(rows, cols)
            nxt += rows * cols
        j_idx = np.ones(rows, dtype=np.int64)[:, None] * np.arange(cols)[None, :]
        if self.r_col == 0 and self.r_last == 0:
            bit = np.full((rows, cols), ground, dtype=np.int64)
        elif self.r_col == 0:
            bit = nxt + j_idx
            nxt += cols
        elif self.r_last == 0:  # the last cell sits on the sense node itself
            bit = np.empty((rows, cols), dtype=np.int64)
            bit[-1, :] = ground
            bit[:-1, :] = nxt + np.arange((rows - 1) * cols).reshape(rows - 1, cols)
            nxt += (rows - 1) * cols
        else:
            bit = nxt + np.arange(rows * cols).reshape(rows, cols)
            nxt += rows * cols
        return word.astype(np.int64), bit.astype(np.int64), nxt

    def wire_links(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every wire resistor as ``(node_a, node_b, conductance)`` id arrays (see node_indices)."""
        word, bit, _ = self.node_indices()
        a: list[np.ndarray] = []
        b: list[np.ndarray] = []
        g: list[np.ndarray] = []
        rows, cols = self.rows, self.cols
        if self.r_first > 0:
            a.append(np.arange(rows))
            b.append(word[:, 0])
            g.append(np.full(rows, 1.0 / self.r_first))
        if self.r_row > 0 and cols > 1:
            a.append(word[:, :-1].ravel())
            b.append(word[:, 1:].ravel())
            g.append(np.full(rows * (cols - 1), 1.0 / self.r_row))
        if self.r_col > 0 and rows > 1:
            a.append(bit[:-1, :].ravel())
            b.append(bit[1:, :].ravel())
            g.append(np.full((rows - 1) * cols, 1.0 / self.r_col))
        if self.r_last > 0:
            a.append(bit[-1, :])
            b.append(np.full(cols, rows))
            g.append(np.full(cols, 1.0 / self.r_last))
        if not a:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        return np.concatenate(a), np.concatenate(b), np.concatenate(g)
