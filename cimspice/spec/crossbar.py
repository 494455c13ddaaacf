"""The spec of a spec file: one tile and how networks use it.

A :class:`CrossbarSpec` is a :class:`~cimspice.spec.tile.TileSpec` (the circuit) and a
:class:`~cimspice.spec.network.NetworkSpec` (``[mapping]``, ``[nonideal]``, ``[write]``) in
one: one TOML file holds both, every function that takes a spec takes it, and its
:attr:`~TileSpec.tile` and :attr:`~NetworkSpec.network` give the two parts apart. Its content
hash is the tile's.
"""

from __future__ import annotations

from dataclasses import dataclass

from cimspice.arguments import instance
from cimspice.spec.network import NetworkSpec
from cimspice.spec.tile import TileSpec

__all__ = ["CrossbarSpec"]


@dataclass(frozen=True)
class CrossbarSpec(NetworkSpec, TileSpec):
    """A whole spec: the tile's circuit tables, then the network tables.

    Tables (fields, in a spec file's order): ``array``, ``wire``, ``driver``, ``readout``,
    ``device``, ``access``, ``selector``, ``charge`` (the tile: :class:`TileSpec`), ``mapping``,
    ``nonideal``, ``write`` (the network tables: :class:`NetworkSpec`); then ``source`` and
    ``cards`` (see :class:`TileSpec`; keyword only, not part of the spec's identity).
    """

    @classmethod
    def of(cls, tile: TileSpec, network: NetworkSpec | None = None) -> CrossbarSpec:
        """A spec of ``tile`` used as ``network`` says (default: every network table at its
        defaults: differential pairs, no non-idealities)."""
        instance(tile, TileSpec, "tile")
        if network is None:
            network = NetworkSpec()
        instance(network, NetworkSpec, "network")
        tables = {name: getattr(tile, name) for name in TileSpec.sections()}
        tables.update({name: getattr(network, name) for name in NetworkSpec.sections()})
        return cls(**tables, source=tile.source, cards=tile.cards)
