"""Every notebook runs top to bottom (executed in a scratch folder)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
# notebooks of the torch front end need the torch extra (required in CI, see conftest)
CASES = [pytest.param(p, marks=pytest.mark.torch) if "torch" in p.name else p for p in NOTEBOOKS]


@pytest.mark.ngspice
@pytest.mark.parametrize("path", CASES, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # every notebook writes its figures under ./out of the folder it runs in
    pngs = list((tmp_path / "out").rglob("*.png"))
    assert pngs and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
