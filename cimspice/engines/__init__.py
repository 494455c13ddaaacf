"""Engines: ways to compute a crossbar's outputs, all behind one interface and one result type.

=========== ===========================================================================
``ngspice``  the rendered deck run by ngspice (shared library via PySpice), in its own
             process: the truth for everything SPICE models
``nodal``    exact nodal analysis of the resistive network (scipy.sparse LU; large linear
             tiles reduced to their ports by a nested-dissection sparse Cholesky)
``ideal``    ``V @ G``: the reference every error is measured against
=========== ===========================================================================

The calibrated ``surrogate`` engine lives in :mod:`cimspice.surrogate`; the registry that
lists all of them and :func:`~cimspice.simulation.simulate` live in :mod:`cimspice.simulation`
(above both). The interface: :mod:`cimspice.engines.base`.
"""

__all__: list[str] = []
