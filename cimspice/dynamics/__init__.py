"""Device dynamics and noise as a computing resource.

Modules: :mod:`~cimspice.dynamics.tasks` (NARMA-10, NMSE, the data splits),
:mod:`~cimspice.dynamics.readout` (ridge readouts with the regulariser chosen on a validation
split), :mod:`~cimspice.dynamics.reservoir` (a physical reservoir of dynamic memristors driven
by input-scaled pulses, integrated with :mod:`cimspice.write.equations`),
:mod:`~cimspice.dynamics.baselines` (a software echo-state network and a delay-line linear
model), :mod:`~cimspice.dynamics.comparison` (the NARMA-10 table),
:mod:`~cimspice.dynamics.stochastic` (read noise as the random source of stochastic inference).

This package sits above :mod:`cimspice.write`, :mod:`cimspice.mapping` and :mod:`cimspice.nn`:
it imports them, they never import it.
"""

__all__: list[str] = []
