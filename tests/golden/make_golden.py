"""Regenerate the golden decks: ``python tests/golden/make_golden.py``.

Only rerun this after checking by eye (and in ngspice, see tests/test_ngspice_closed_form.py)
that a change of the rendered deck is intended; the golden files pin the exact text.
"""

from pathlib import Path

import numpy as np

from cimspice.netlist import render
from cimspice.spec import spec_from_dict

HERE = Path(__file__).resolve().parent

GOLDEN_SPEC = {
    "array": {"rows": 2, "cols": 2, "cell": "0T1R"},
    "wire": {"r_row": 2.0, "r_col": 3.0},
    "driver": {"r_source": 1.0},
    "readout": {"r_in": 5.0},
}
GOLDEN_G = np.array([[10e-6, 20e-6], [0.0, 40e-6]])  # one open cell (G = 0)
GOLDEN_V = np.array([0.1, 0.2])
GOLDEN_V_BATCH = np.array([[0.1, 0.2], [0.3, -0.05]])


def golden_decks() -> dict[str, str]:
    spec = spec_from_dict(GOLDEN_SPEC)
    return {
        "crossbar_2x2_op.cir": render(spec, GOLDEN_G, GOLDEN_V, save_nodes=False),
        "crossbar_2x2_dc.cir": render(spec, GOLDEN_G, GOLDEN_V_BATCH, save_nodes=False),
    }


if __name__ == "__main__":
    for name, text in golden_decks().items():
        (HERE / name).write_text(text)
        print(f"wrote {HERE / name}")
