"""Charge-domain compute-in-memory tiles (``array.cell = "1C"``) at circuit level.

The modules, in the order they build on each other:

- :mod:`~cimspice.charge.capacitors`: each cell's capacitor (the Pelgrom mismatch draw);
- :mod:`~cimspice.charge.closed_form`: what charge sharing, mismatch, kT/C noise and the
  switching energy give analytically (what the SPICE runs are checked against);
- :mod:`~cimspice.charge.deck`: the MAC-cycle transient deck (``netlists/charge_array.cir.j2``);
- :mod:`~cimspice.charge.run`: running it in ngspice: sampled column voltages and energies.

The table that describes the tile is ``[charge]`` (:class:`~cimspice.spec.ChargeSpec`).
"""

__all__: list[str] = []
