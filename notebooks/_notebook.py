"""Helpers of the notebook generators (``notebooks/make_*.py``, run from the repository root)."""

import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

__all__ = ["code", "write"]


def code(text: str) -> nbformat.NotebookNode:
    """A code cell from an indented block of text."""
    return new_code_cell(textwrap.dedent(text).strip())


def write(cells: list[nbformat.NotebookNode], path: str) -> None:
    """Write ``cells`` as a Python 3 notebook at ``path``, outputs empty."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nbformat.write(nb, path)
