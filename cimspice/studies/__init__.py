"""Network-level studies on the tiles: evaluation (:mod:`~cimspice.studies.evaluate`), sweeps of
a spec key over device seeds (:mod:`~cimspice.studies.sweeps`), SPICE spot-checks
(:mod:`~cimspice.studies.spotcheck`), compensation schemes at network level
(:mod:`~cimspice.studies.schemes`), energy per MAC (:mod:`~cimspice.studies.energy`),
mixed precision, and the accuracy-energy Pareto front (:mod:`~cimspice.studies.pareto`,
:mod:`~cimspice.studies.pareto_report`).
"""

__all__: list[str] = []
