"""Figures drawn from plain arrays: each function draws, returns the figure and saves nothing.

A leaf package: it imports numpy, matplotlib and, of cimspice, only :mod:`cimspice.arrays` (to
write files atomically) and :mod:`cimspice.errors`. Callers take the arrays out of their own
results, build the one-line ``caption`` that names the spec and the engine behind the numbers
(:func:`cimspice.caption.spec_caption`), and write the figure with :func:`save_figure`.

Conventions (after scikit-rf's ``skrf/plotting.py``):

- a one-panel figure takes ``ax=None`` (a matplotlib Axes to draw on; ``None`` makes a new
  figure); a several-panel one takes ``fig=None`` (a Figure or SubFigure to fill). Both return
  the figure they drew on.
- figures are made without pyplot (``matplotlib.figure.Figure`` on the Agg canvas): no window
  ever opens and no global list of figures grows.
- every axis states its unit (SI prefixes on the ticks: ``10 uA``, ``2 ns``); axes that span
  decades are logarithmic; magnitudes use perceptually uniform maps that read in grey
  (viridis, magma), signed errors a diverging map centred on 0 (coolwarm).
- points that need names are numbered (placed so that no two numbers overlap) and listed,
  number by number, in a table beside the axes.

Modules: :mod:`~cimspice.plots.maps` (cell voltages, error maps, before/after),
:mod:`~cimspice.plots.tradeoffs` (Pareto plot, tile-level trade-off),
:mod:`~cimspice.plots.sweeps` (accuracy sweeps), :mod:`~cimspice.plots.calibration` (parity,
error histogram, error per bit line), :mod:`~cimspice.plots.transients` (settling,
integration); :mod:`~cimspice.plots.figure` and :mod:`~cimspice.plots.numbered` hold what
they share.
"""

from cimspice.plots.calibration import plot_column_error, plot_error_histogram, plot_parity
from cimspice.plots.figure import save_figure
from cimspice.plots.maps import plot_before_after, plot_cell_voltages, plot_error_map
from cimspice.plots.sweeps import plot_accuracy_sweep
from cimspice.plots.tradeoffs import plot_pareto, plot_tradeoff
from cimspice.plots.transients import plot_integration, plot_settling

__all__ = [
    "plot_accuracy_sweep",
    "plot_before_after",
    "plot_cell_voltages",
    "plot_column_error",
    "plot_error_histogram",
    "plot_error_map",
    "plot_integration",
    "plot_pareto",
    "plot_parity",
    "plot_settling",
    "plot_tradeoff",
    "save_figure",
]
