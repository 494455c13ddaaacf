"""The surrogate: a fast MVM model of a tile, fitted to ngspice runs, with its error measured.

- :mod:`~cimspice.surrogate.model`: the model, its file format and the ``surrogate`` engine;
- :mod:`~cimspice.surrogate.dataset`: the calibration and validation cases;
- :mod:`~cimspice.surrogate.baselines`: what a user would otherwise use (``V @ G``, an
  analytical IR-drop model);
- :mod:`~cimspice.surrogate.calibrate`: the workflow (SPICE sweep, fit, validation, report).
"""
