"""The accuracy-energy Pareto front of network-level cases, its best trade-off and its table.

A case *dominates* another when it is at least as accurate at no more energy per MAC and
strictly better in one of the two. The front is the cases no other case dominates, ordered by
energy. The *best trade-off* (:func:`best_tradeoff`) is the front's case with the largest
accuracy gain over the baseline per unit of relative energy,
``(accuracy - accuracy_base) / (energy / energy_base)``: a case that gains as much for half the
energy scores twice as high; only cases more accurate than the baseline qualify.
"""

from __future__ import annotations

from collections.abc import Sequence

from cimspice.errors import InputError
from cimspice.studies.schemes import SchemeOutcome

__all__ = ["best_tradeoff", "dominates", "markdown_table", "pareto_front", "tradeoff_score"]


def dominates(a: SchemeOutcome, b: SchemeOutcome) -> bool:
    """``a`` is as accurate as ``b`` for no more energy, and better in one of the two."""
    no_worse = a.accuracy >= b.accuracy and a.energy_per_mac <= b.energy_per_mac
    better = a.accuracy > b.accuracy or a.energy_per_mac < b.energy_per_mac
    return no_worse and better


def pareto_front(results: Sequence[SchemeOutcome]) -> list[SchemeOutcome]:
    """The cases no other case dominates, by increasing energy per MAC."""
    front = [r for r in results if not any(dominates(o, r) for o in results)]
    return sorted(front, key=lambda r: (r.energy_per_mac, -r.accuracy))


def tradeoff_score(result: SchemeOutcome, baseline: SchemeOutcome) -> float:
    """``(accuracy - accuracy_base) / (energy / energy_base)`` (see the module)."""
    return (result.accuracy - baseline.accuracy) / (result.energy_per_mac / baseline.energy_per_mac)


def best_tradeoff(
    results: Sequence[SchemeOutcome], baseline: SchemeOutcome
) -> SchemeOutcome | None:
    """The front's case with the highest :func:`tradeoff_score` among those more accurate
    than ``baseline`` (``None``: no case is)."""
    better = [r for r in pareto_front(results) if r.accuracy > baseline.accuracy]
    return max(better, key=lambda r: tradeoff_score(r, baseline), default=None)


def markdown_table(
    results: Sequence[SchemeOutcome],
    baseline_label: str = "baseline",
    *,
    front: Sequence[SchemeOutcome] | None = None,
) -> str:
    """A markdown table of every case: accuracy (mean +- std over seeds), its change against
    the baseline, energy per MAC and its ratio to the baseline's, and whether it is on the
    front (``front``: as the caller computed it; default :func:`pareto_front`).

    Raises:
        InputError: no case is labelled ``baseline_label``.
    """
    base = next((r for r in results if r.label == baseline_label), None)
    if base is None:
        raise InputError(f"no case labelled {baseline_label!r} to compare against")
    on_front = {id(r) for r in (pareto_front(results) if front is None else front)}
    lines = [
        "| case | schemes | accuracy | vs baseline | energy/MAC (J) | x baseline | on front |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        acc = f"{r.accuracy:.4f}"
        if r.accuracy_std:
            acc += f" ± {r.accuracy_std:.4f}"
        lines.append(
            f"| {r.label} | {', '.join(r.schemes) or '-'} | {acc} | "
            f"{r.accuracy - base.accuracy:+.4f} | {r.energy_per_mac:.3e} | "
            f"{r.energy_per_mac / base.energy_per_mac:.2f} | "
            f"{'**yes**' if id(r) in on_front else ''} |"
        )
    return "\n".join(lines)
