"""Writing the array at circuit level: dynamic memristor models in SPICE, write pulses and
their schemes, half-select and read disturb, write-verify, and the network-level programming
model calibrated from those SPICE runs.

Modules: :mod:`~cimspice.write.models` (dynamic models, read tables),
:mod:`~cimspice.write.equations` (the built-in models' equations for an ODE solver),
:mod:`~cimspice.write.pulses` (pulse programs and biasing schemes),
:mod:`~cimspice.write.deck` (write decks), :mod:`~cimspice.write.run` (cached transient runs),
:mod:`~cimspice.write.disturb` (half-select and read disturb),
:mod:`~cimspice.write.verify` (write-verify), :mod:`~cimspice.write.calibrate` (the
programming model and its report).
"""

__all__: list[str] = []
