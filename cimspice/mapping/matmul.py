"""The hardware forward pass: every weighted layer's MVMs on tiles, through an engine.

:class:`HardwareMatMul` is a :data:`~cimspice.nn.model.MatMul` for
:meth:`Model.forward <cimspice.nn.model.Model.forward>`. On a layer's first call it
maps the weight matrix onto tiles (:mod:`~cimspice.mapping.tiling`), programs every tile's
devices through the spec's device model (:mod:`~cimspice.devices.tile`) and prepares each
tile's operator once, the one-time programming cost. Then every batch costs, per tile and
input phase, one dense matmul plus the converters:

1. inputs scaled by the layer's input range and put through the DAC
   (:mod:`~cimspice.mapping.encoding`);
2. each tile's column currents from the engine, plus read noise;
3. each column's ADC (:func:`cimspice.converters.adc`, the spec's ``readout.adc_bits``);
4. slices, column pairs (or the reference column) and the tiles' partial sums combined
   digitally, the drift compensation's gain applied, and the result scaled back.

Engines (``engine=``, any of :data:`cimspice.simulation.ENGINES`): each tile is programmed
once through the engine (``engine.program(tile, G)``, a
:class:`~cimspice.engines.base.ProgrammedTile`) and run on every batch:

- ``"surrogate"``: a calibrated :class:`~cimspice.surrogate.model.TileSurrogate` of any tile
  kind (passive, 1T1R, sinh, 1S1R cells; ideal, behavioural-TIA or CMOS-TIA readouts), in its
  ``accurate`` or ``fast`` mode. Without a calibrated file the spec's nominal surrogate is used,
  which is exact for a passive linear tile (it *is* the nodal solve of the resistive network,
  wires included) and refused for every other tile;
- ``"ideal"``: ``V @ G`` with the programmed conductances (no wires);
- ``"nodal"``: the exact nodal solve (linear or nonlinear two-terminal cells);
- ``"ngspice"``: every batch of every tile in ngspice (slow: for small networks and checks).

What the digital side sees: a tile read by ideal virtual grounds gives its column currents; a
tile ending in TIAs gives their output voltages ``v_out`` (finite gain, offset, saturation:
the tile's real law), turned into current units by the nominal gain ``-1 / r_f``. Read noise
(:func:`~cimspice.devices.tile.add_read_noise`) is added in those units and the ADC reads
them as the spec says (a TIA's ADC quantises volts: its step is ``adc_full_scale / r_f`` in
current units). A linear tile read by ideal virtual grounds is one transfer matrix (its
``transfer``); every other tile runs its law on every batch and phase.

The per-tile path runs the batch in blocks of at most :data:`CHUNK_VALUES` input values,
every input phase in one call, on one BLAS thread per product (:mod:`cimspice.threads`), and
reads the tiles by row block (:meth:`~cimspice.mapping.tiling.LayerTiling.row_blocks`): the
tiles that hold the same input rows take the same word-line voltages, so their transfer
matrices, side by side and scaled into the ADC's steps at programming time, are one product,
their read-noise variances another, and the ADC one pass. A surrogate tile gives what the ADC
reads alone (:meth:`~cimspice.surrogate.model.SurrogateTile.read`, of its used columns alone;
the fast modes of a row block's tiles without TIAs read side by side as one tile,
:func:`~cimspice.surrogate.prepared.side_by_side`). Tiles whose batch is numpy alone run the
batch's blocks in :data:`TILE_THREADS` threads, each block on its own rows of the outputs, its
tiles' partial sums added in tile order and its read-noise integers drawn after the previous
block's: the threads change no number. Behind an ADC or read noise the transfer matrices
compute in single precision (``precision="auto"``), the fast modes always. Input vectors that
drive none of a row block's word lines (blank image margins, ReLU zeros) are skipped, exactly
(:class:`_IdleRows`).

Fast path: with linear tiles read by ideal virtual grounds, no ADC and no read noise,
everything after the tiles is linear, so each layer's tiles, slices, column pairs and partial
sums are folded at programming time into one ``(fan_in, fan_out)`` matrix: an MVM batch is
then one matmul per input phase, the same sums as the per-tile path in another order (equal
to rounding), the batch's blocks run in the tile threads as above.

Per-tile compensation hook: ``tile_transform(tile, targets)`` (see :data:`TileTransform`)
turns each tile's target conductances into the ones actually programmed plus a digital gain
applied to the tile's outputs (e.g. IR-drop pre-distortion,
:mod:`cimspice.studies.schemes`); without one, targets are programmed as they are.

Charge-domain (1C) tiles are a tile kind whose read is not a matrix
(:class:`~cimspice.mapping.charge_tiles.ChargeTiles`): they take the same mapping, encoding
and recombination; the kind programs each tile (its weight bits, capacitor draw and noise
stream), gives the factor from its outputs (V) to the recombination's current units, and
probes a tile without noise for a spot-check.

Inputs' ranges: ``input_ranges[layer]`` (the largest ``|x|`` expected; larger inputs clip at
the DAC's range), usually measured once with :func:`measure_input_ranges` on calibration data;
a layer without one uses each batch's own ``max |x|``.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import itertools
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from array_api_compat import array_namespace, device

from cimspice.arguments import flag, instance, integer, real
from cimspice.converters import Rounding, adc_current_lsb, adc_lsb, round_to_codes
from cimspice.devices.registry import device_model
from cimspice.devices.tile import (
    ProgrammedDevices,
    noisy_reads,
    normal_picks,
    normals_of_picks,
    program_tile,
    read_noise_squares,
    read_noise_std,
    rng_for,
    standard_normals,
    wire_factor,
)
from cimspice.engines.base import ProgrammedTile
from cimspice.errors import InputError, SpecError, SurrogateError
from cimspice.mapping.encoding import InPlaceDac, InputPhase, encode_inputs
from cimspice.mapping.stats import MVMErrorStats
from cimspice.mapping.tiling import LayerTiling, RowBlock, TileSlot, outputs_per_tile, tile_layer
from cimspice.result import Result
from cimspice.simulation import ENGINE_NAMES, get_engine
from cimspice.spec import CrossbarSpec, MappingSpec, NonidealSpec, ReadoutKind, as_spec
from cimspice.threads import one_blas_thread

if TYPE_CHECKING:
    from cimspice.charge.surrogate import ChargeSurrogate
    from cimspice.engines.base import Engine
    from cimspice.mapping.charge_tiles import ChargeTiles
    from cimspice.surrogate.model import TileSurrogate

__all__ = [
    "HARDWARE_ENGINES",
    "Backend",
    "HardwareMatMul",
    "LayerArrays",
    "MappedLayer",
    "TileRecord",
    "TileTransform",
    "check_network_spec",
    "check_tile_fits",
    "tile_engine",
    "tile_model",
    "tile_spec",
]

HARDWARE_ENGINES = ENGINE_NAMES
"""The engines a network's tiles can run on: every registered engine."""
_READ = 1  # the read-noise stream's key (programming uses 0, see nonideal)
TILE_THREADS = 2
"""Threads that run blocks of a batch side by side on tiles whose batch is numpy alone, and
on folded layers (each on one BLAS thread)."""
CHUNK_VALUES = 2**21
"""Input values of a layer run on its tiles at a time: the batch is cut into blocks of at most
about this many values (16 MiB of inputs; 2,675 vectors of a 784-input layer), and into at
least ``2 * TILE_THREADS`` blocks of at least :data:`MIN_CHUNK_ROWS` vectors where the batch
allows, so that both tile threads have work. Large enough that each numpy call outlasts the
hand-over of the GIL between the tile threads (blocks of 2^18 values ran no faster in two
threads than in one, measured with the earlier per-tile tasks), small enough that a block's
arrays stay in the cache."""

MIN_CHUNK_ROWS = 256
"""The fewest vectors a row block of the batch is cut to so that every tile thread has one."""

IDLE_SHARE = 0.125
"""The share of a tile's input vectors that must drive none of its word lines for the
per-tile path to skip them (:class:`_IdleRows`)."""

TileTransform = Callable[[CrossbarSpec, np.ndarray], tuple[np.ndarray, float]]
"""``(tile, targets) -> (to_program, gain)``: a per-tile compensation. ``tile`` is the analogue
tile (:func:`tile_spec`), ``targets`` its ``(rows, cols)`` target conductances (S); it returns
the conductances to program instead (S, inside the window) and the digital gain that turns the
tile's outputs back into those of the targets (1 for none)."""


def tile_spec(spec: CrossbarSpec) -> CrossbarSpec:
    """The analogue tile a network runs on: converters off (the network applies them),
    network sections at their defaults, wire resistances at the spec's temperature."""
    k = wire_factor(spec)
    return dataclasses.replace(
        spec,
        wire=dataclasses.replace(spec.wire, r_row=spec.wire.r_row * k, r_col=spec.wire.r_col * k),
        driver=dataclasses.replace(spec.driver, dac_bits=0, dac_signed=False),
        readout=dataclasses.replace(spec.readout, adc_bits=0, adc_full_scale=0.0),
        mapping=MappingSpec(),
        nonideal=NonidealSpec(),
    )


def _analogue_hash(spec: CrossbarSpec) -> str:
    flat = dataclasses.replace(spec, nonideal=NonidealSpec())  # no temperature scaling
    return tile_spec(flat).content_hash()


def check_network_spec(spec: CrossbarSpec) -> None:
    """Reject specs a network cannot be evaluated on, naming the key.

    Raises:
        SpecError: an ADC with 0 bits but a full scale (``readout.adc_bits``), an integrator
            readout (``readout.kind``: transient only; a network reads operating points), or
            tiles too narrow for one weight (``array.cols``), an unknown device model or
            parameter (``nonideal.model``, ``nonideal.model_params.NAME``).
    """
    outputs_per_tile(spec)
    try:
        device_model(spec)
    except SpecError as err:
        if err.file is not None or spec.source is None:
            raise
        bare = str(err).removeprefix(f"key '{err.key}': ") if err.key else str(err)
        raise SpecError(bare, file=spec.source, key=err.key) from None
    if spec.readout.adc_full_scale > 0 and spec.readout.adc_bits == 0:
        raise SpecError(
            "an ADC with 0 bits: readout.adc_full_scale is set, so give 2 to 24 bits (or "
            "remove adc_full_scale to read the outputs exactly)",
            file=spec.source,
            key="readout.adc_bits",
        )
    if spec.readout.kind == ReadoutKind.INTEGRATOR:
        raise SpecError(
            "network evaluation reads each tile's operating point; readout.kind = "
            "'integrator' integrates over time (transient analysis only): use 'ideal' or 'tia'",
            file=spec.source,
            key="readout.kind",
        )


TILE_ARRAYS = 8
"""``(rows, cols)`` float64 arrays a programmed tile keeps or passes through, about (targets,
programmed conductances, write-verify pulses, transfer matrix, operator, device draws)."""


def check_tile_fits(spec: CrossbarSpec, engine: str = "surrogate") -> None:
    """Refuse tiles too large for this machine's memory, before any is programmed: one tile's
    arrays (:data:`TILE_ARRAYS`) and, for the surrogate and nodal engines, the nodal
    factorisation that gives its transfer matrix.

    Raises:
        MemoryLimitError: they would not fit (the message gives the estimate).
    """
    from cimspice.engines.nodal import factor_bytes
    from cimspice.memory import check_fits

    need = TILE_ARRAYS * 8 * float(spec.rows) * float(spec.cols)
    if engine != "ideal":
        need += factor_bytes(spec.rows, spec.cols)
    check_fits(need, f"a {spec.rows}x{spec.cols} network tile ({engine} engine)")


def tile_model(spec: CrossbarSpec, surrogate: TileSurrogate | None = None) -> TileSurrogate:
    """The tile's surrogate at the spec's temperature: ``surrogate`` (checked against the
    spec, its fitted wire segments scaled by :func:`~cimspice.devices.tile.wire_factor`)
    or, without one, the spec's nominal surrogate (exact for a passive linear tile).

    Raises:
        SurrogateError: the surrogate was calibrated for another tile, or there is none and
            the tile is not passive and linear.
    """
    from cimspice.surrogate.model import TileParams, TileSurrogate

    if surrogate is None:
        if not spec.is_linear:
            raise SurrogateError(
                "this tile is not a passive linear resistive network (cell "
                f"{spec.array.cell.value!r}, iv {spec.device.iv.value!r}, readout "
                f"{spec.readout.kind.value!r}): give a surrogate calibrated for it (cimspice "
                "calibrate SPEC -o FILE, then --surrogate FILE), or use --engine nodal for "
                "two-terminal cells"
            )
        analogue = tile_spec(spec)
        return TileSurrogate(analogue, TileParams.from_spec(analogue))
    if _analogue_hash(surrogate.spec) != _analogue_hash(spec):
        raise SurrogateError(
            "the surrogate was calibrated for another tile (array, wires, driver, readout or "
            "device differ from the spec's); calibrate one for this spec"
        )
    k = wire_factor(spec)
    if k == 1.0:
        return surrogate
    p = surrogate.params
    scaled = dataclasses.replace(
        p,
        r_first=p.r_first + p.r_row * (k - 1),
        r_row=p.r_row * k,
        r_col=p.r_col * k,
        r_last=p.r_last + p.r_col * (k - 1),
    )
    return dataclasses.replace(surrogate, params=scaled)


def tile_engine(
    spec: CrossbarSpec,
    engine: str,
    surrogate: TileSurrogate | None = None,
    **options: Any,
) -> tuple[Engine, CrossbarSpec, TileSurrogate | None]:
    """The engine a network's tiles run on, the spec it programs them with, and the surrogate
    (``engine="surrogate"`` only; see :func:`tile_model`).

    Raises:
        InputError: unknown engine or option. SurrogateError: see :func:`tile_model`.
    """
    if engine not in ENGINE_NAMES:
        raise InputError(f"unknown tile engine {engine!r}; engines: {', '.join(ENGINE_NAMES)}")
    if engine == "surrogate":
        model = tile_model(spec, surrogate)
        return get_engine("surrogate", surrogate=model, **options), model.spec, model
    if surrogate is not None:
        raise InputError(f"a surrogate was given but the tile engine is {engine!r}")
    return get_engine(engine, **options), tile_spec(spec), None


@dataclass(frozen=True)
class TileRecord:
    """What one tile was given during an evaluation (for a SPICE spot-check).

    Attributes:
        layer: the model layer's index.
        tile: the tile's index in the layer.
        conductances: siemens, ``(rows, cols)``, as read (non-idealities applied).
        voltages: volt, ``(n, rows)``, word-line inputs of its first phase (spare rows 0 V).
        currents: ampere, ``(n, cols)``, what the engine returned (before noise and ADC;
            spare columns' currents included).
        v_out: volt, ``(n, cols)``, the TIAs' outputs the engine returned (``None`` for a
            tile read by ideal virtual grounds); a charge-domain tile's column swings.
        programmed: the tile as the engine programmed it (a charge-domain tile's weight
            bits and capacitors, for its spot-check).
    """

    layer: int
    tile: int
    conductances: np.ndarray
    voltages: np.ndarray
    currents: np.ndarray
    v_out: np.ndarray | None = None
    programmed: ProgrammedTile | None = None


def _numpy_normals(layer: MappedLayer, k: int, like: Any) -> Callable[[tuple[int, ...]], Any]:
    """Tile ``k``'s read-noise draws from its numpy stream, moved to ``like``'s device."""
    xp = array_namespace(like)

    def normals(shape: tuple[int, ...]) -> Any:
        return xp.asarray(standard_normals(layer.read_rngs[k], shape), device=device(like))

    return normals


def _identity(a: Any) -> Any:
    return a


def _host(a: Any) -> np.ndarray:
    return np.asarray(a)


@dataclass(frozen=True)
class Backend:
    """What :meth:`HardwareMatMul.mvm`'s array-API math needs beyond the standard, for arrays
    other than numpy's (:mod:`cimspice.torch` gives torch's).

    Attributes:
        rint: the rounding of the DAC, bit-serial codes and ADC (``None``: to nearest, halves
            to even); in training a straight-through rounding.
        normals: ``normals(layer, k, like)`` -> ``draw(shape)``: standard normal draws for
            tile ``k``'s read noise on ``like``'s device (default: the tile's numpy stream,
            moved there).
        detach: a gradient stop (``x.detach()`` in torch; the identity without gradients).
        to_numpy: an array to a numpy array on the host (for tiles whose law is numpy alone).
        gradients: whether gradients are recorded (a tile whose law is numpy alone then adds
            its ideal law's gradient, straight through).
        dac: the DAC's chain in place where no gradient is recorded (see
            :data:`~cimspice.mapping.encoding.InPlaceDac`; ``None``: the generic chain).
    """

    rint: Rounding | None = None
    normals: Callable[[MappedLayer, int, Any], Callable[[tuple[int, ...]], Any]] = _numpy_normals
    detach: Callable[[Any], Any] = _identity
    to_numpy: Callable[[Any], np.ndarray] = _host
    gradients: bool = False
    dac: InPlaceDac | None = None


_NUMPY = Backend()


@dataclass(frozen=True)
class LayerArrays:
    """A programmed layer's per-batch arrays in one namespace, on one device and precision.

    Attributes:
        operators: each row block's (:meth:`LayerTiling.row_blocks`) ``(used_rows,
            used_cols)`` operator, its tiles' transfer matrices side by side, into the
            readout's units (``None``: a tile of the block has no transfer matrix).
        folded: the fast path's ``(fan_in, fan_out)`` matrix, or ``None``.
        noise: each row block's ``(read_noise G)^2`` in those units squared, single
            precision, or ``None``.
        ideal: for each tile without an operator, its used conductances (the straight-through
            gradient's law); ``None`` elsewhere (and for numpy arrays: no gradients).
        column_gains: each row block's per-column drift compensation gains, or ``None``.
    """

    operators: list[Any]
    folded: Any
    noise: list[Any]
    ideal: list[Any]
    column_gains: list[Any]


@dataclass
class MappedLayer:
    """A layer's weights on programmed tiles.

    Attributes:
        tiling: the layout.
        programmed: each tile's devices.
        tiles: each tile as the engine programmed it.
        operators: each tile's ``(used_rows, used_cols)`` linear map from word-line volts to
            column amperes (``None`` for a tile without a transfer matrix: nonlinear, TIAs,
            or an engine that solves every batch).
        transfers: each tile's whole ``(rows, cols)`` transfer matrix (or ``None``).
        folded: the fast path's ``(fan_in, fan_out)`` matrix (``None`` when not folded).
        prepare_s: seconds spent programming and preparing the tiles (one-time cost).
        weights: the matrix mapped (to recognise it on later calls).
        read_rngs: each tile's read-noise stream.
        gains: each tile's digital output gain: the tile transform's times the drift
            compensation's.
        column_gains: each tile's per-column drift compensation gains over its used columns
            (``None`` without it).
        blocks: the tiles grouped by row block (:meth:`LayerTiling.row_blocks`).
        block_operators: each row block's tiles' operators side by side, into the readout's
            units (ADC steps with an ADC, amperes without), double precision; ``None`` where
            a tile of the block has no operator.
        block_noise: each row block's read-noise squares in those units squared, single
            precision (``None`` without read noise; see
            :func:`~cimspice.devices.tile.read_noise_squares`).
        block_gains: each row block's per-column drift compensation gains (``None`` without).
        block_readers: per row block, the fast surrogate tile reading all its tiles side by
            side (``None``: read tile by tile).
    """

    tiling: LayerTiling
    programmed: list[ProgrammedDevices]
    tiles: list[ProgrammedTile]
    operators: list[np.ndarray | None]
    transfers: list[np.ndarray | None]
    folded: np.ndarray | None
    prepare_s: float
    weights: np.ndarray
    read_rngs: list[np.random.Generator] = field(repr=False, default_factory=list)
    gains: list[float] = field(default_factory=list)
    column_gains: list[np.ndarray | None] = field(default_factory=list)
    blocks: list[RowBlock] = field(default_factory=list)
    block_operators: list[np.ndarray | None] = field(default_factory=list)
    block_noise: list[np.ndarray | None] = field(default_factory=list)
    block_gains: list[np.ndarray | None] = field(default_factory=list)
    block_readers: list[Any] = field(default_factory=list, repr=False)

    device_arrays: dict[tuple[str, str, str], LayerArrays] = field(default_factory=dict, repr=False)

    @property
    def arrays(self) -> LayerArrays:
        """The per-batch arrays as numpy arrays (double precision; noise single)."""
        return LayerArrays(
            self.block_operators,
            self.folded,
            self.block_noise,
            [None] * len(self.operators),
            self.block_gains,
        )

    def host_arrays(self, single: bool) -> LayerArrays:
        """:attr:`arrays` with the operators in single precision when ``single`` (made once
        and kept)."""
        if not single:
            return self.arrays
        key = ("numpy", "cpu", "float32 operators")
        cached = self.device_arrays.get(key)
        if cached is None:
            cached = dataclasses.replace(
                self.arrays,
                operators=[
                    None if op is None else op.astype(np.float32) for op in self.block_operators
                ],
            )
            self.device_arrays[key] = cached
        return cached

    def arrays_like(self, x: Any) -> LayerArrays:
        """The per-batch arrays in ``x``'s namespace, device and precision (the noise's in
        single precision), copied there once and kept."""
        key = (type(x).__module__, str(device(x)), str(x.dtype))
        cached = self.device_arrays.get(key)
        if cached is not None:
            return cached
        xp = array_namespace(x)

        def move(a: np.ndarray | None, dtype: Any = None) -> Any:
            if a is None:
                return None
            return xp.asarray(np.ascontiguousarray(a), dtype=dtype or x.dtype, device=device(x))

        ideal = [
            move(p.conductances[: s.used_rows, : s.used_cols]) if op is None else None
            for op, p, s in zip(self.operators, self.programmed, self.tiling.tiles, strict=True)
        ]
        arrays = LayerArrays(
            [move(op) for op in self.block_operators],
            move(self.folded),
            [move(q, xp.float32) for q in self.block_noise],
            ideal,
            [move(g) for g in self.block_gains],
        )
        self.device_arrays[key] = arrays
        return arrays

    def pulses(self) -> dict[str, float]:
        """Write-verify pulses per programmed cell: ``mean`` and ``max`` over used cells."""
        counts = np.concatenate(
            [
                p.pulses[: s.used_rows, : s.used_cols].ravel()
                for p, s in zip(self.programmed, self.tiling.tiles, strict=True)
            ]
        )
        return {"mean": float(counts.mean()), "max": int(counts.max())}


def _check_options(
    *,
    surrogate: object,
    input_ranges: Any,
    fold: object,
    probe: Any,
    probe_vectors: object,
    tile_transform: object,
) -> None:
    """:class:`HardwareMatMul`'s arguments besides the spec and the engine, named if wrong."""
    from cimspice.surrogate.model import TileSurrogate

    if surrogate is not None:
        instance(surrogate, TileSurrogate, "surrogate", "a TileSurrogate or None")
    if input_ranges is not None:
        if not isinstance(input_ranges, Mapping):
            raise InputError(
                "input_ranges must be a mapping layer -> range, or None, got "
                f"{type(input_ranges).__name__}"
            )
        for key, value in input_ranges.items():
            integer(key, "input_ranges key")
            real(value, f"input_ranges[{key}]", positive=True)
    flag(fold, "fold")
    if probe is not None:
        ok = isinstance(probe, tuple) and len(probe) == 2
        if not ok:
            raise InputError(f"probe must be a (layer, tile or None) pair or None, got {probe!r}")
        integer(probe[0], "probe layer", minimum=0)
        if probe[1] is not None:
            integer(probe[1], "probe tile", minimum=0)
    integer(probe_vectors, "probe_vectors", minimum=1)
    if tile_transform is not None and not callable(tile_transform):
        raise InputError(
            f"tile_transform must be callable or None, got {type(tile_transform).__name__}"
        )


class HardwareMatMul:
    """A :data:`MatMul` running weighted layers' MVMs on tiles of ``spec`` (see the module).

    Args:
        spec: the tile, its converters and its ``[mapping]`` and ``[nonideal]`` sections.
        engine: a registered engine's name (see the module); ``"surrogate"`` by default.
        surrogate: a calibrated surrogate for the ``"surrogate"`` engine (default: the
            spec's nominal one; see :func:`tile_model`); for charge-domain (1C) tiles a
            :class:`~cimspice.charge.surrogate.ChargeSurrogate`.
        mode: the surrogate's mode for nonlinear tiles (``"accurate"`` or ``"fast"``).
        engine_options: further options of the engine (e.g. ngspice's ``timeout_s``).
        input_ranges: per layer index, the largest input magnitude (see the module).
        fold: use the fast path when it is exact (linear tiles read by ideal virtual grounds,
            no ADC, no read noise); ``False`` always runs the tiles one by one.
        probe: ``(layer, tile)`` whose inputs and outputs on the first call are kept in
            :attr:`record` (at most ``probe_vectors`` vectors); ``tile=None``: the tile whose
            word lines are driven hardest.
        probe_vectors: how many input vectors the probe keeps.
        tile_transform: a per-tile compensation applied to every tile's targets before
            programming (see :data:`TileTransform`); ``None``: none.
        precision: of the tiles' transfer matrices in numpy batches: ``"double"``,
            ``"single"``, or ``"auto"`` (the default): single where the outputs are
            quantised by an ADC or carry read noise (single precision's 1e-7 of the column
            currents is then 4 orders below the ADC's step at 8 bits and below any read
            noise), double elsewhere. Other namespaces' arrays (torch) compute in their own
            precision.

    Raises:
        SpecError: see :func:`check_network_spec`; or ``spec`` names a missing or invalid
            spec file.
        SurrogateError: see :func:`tile_model`.
        InputError: unknown engine or option, or an argument of the wrong type or value
            (named).
        MemoryLimitError: see :func:`check_tile_fits`.
    """

    def __init__(
        self,
        spec: CrossbarSpec | str | os.PathLike[str],
        *,
        engine: str = "surrogate",
        surrogate: TileSurrogate | ChargeSurrogate | None = None,
        mode: str = "accurate",
        engine_options: Mapping[str, Any] | None = None,
        input_ranges: Mapping[int, float] | None = None,
        fold: bool = True,
        probe: tuple[int, int | None] | None = None,
        probe_vectors: int = 8,
        tile_transform: TileTransform | None = None,
        precision: str = "auto",
    ):
        spec = as_spec(spec)
        if precision not in ("auto", "single", "double"):
            raise InputError(f"precision must be 'auto', 'single' or 'double', got {precision!r}")
        self._kind: ChargeTiles | None = None  # a tile kind whose read is not a matrix
        if spec.is_charge:
            from cimspice.mapping.charge_tiles import charge_tiles

            self._kind = charge_tiles(spec, engine, surrogate, engine_options or {})
        _check_options(
            surrogate=None if self._kind else surrogate,
            input_ranges=input_ranges,
            fold=fold,
            probe=probe,
            probe_vectors=probe_vectors,
            tile_transform=tile_transform,
        )
        check_network_spec(spec)
        check_tile_fits(spec, engine)
        options = dict(engine_options or {})
        if engine == "surrogate":
            options.setdefault("mode", mode)
        self._engine: Engine
        if self._kind is not None:
            self._engine, self._program_spec, self.model = self._kind.registered, spec, None
        else:
            resistive = cast("TileSurrogate | None", surrogate)  # _check_options checked it
            self._engine, self._program_spec, self.model = tile_engine(
                spec, engine, resistive, **options
            )
        self.spec = spec
        self.engine = engine
        self.input_ranges = dict(input_ranges or {})
        self.fold = fold and not spec.readout.adc_bits and not noisy_reads(spec)
        self._noisy = noisy_reads(spec)
        self.single = precision == "single" or (
            precision == "auto" and (bool(spec.readout.adc_bits) or self._noisy)
        )
        self.probe = probe
        self.probe_vectors = probe_vectors
        self.layers: dict[int, MappedLayer] = {}
        self.stats: dict[int, MVMErrorStats] = {}
        self.record: TileRecord | None = None
        self.tile_transform = tile_transform
        self._tile_spec = self._kind.program_spec if self._kind else tile_spec(spec)
        self._to_current = -1.0 / spec.readout.r_f if spec.has_tia else 1.0
        if self._kind is not None:
            self._to_current = self._kind.to_current

    # ----- programming -----

    def program(self, index: int, weights: np.ndarray) -> MappedLayer:
        """Map, program and prepare layer ``index``'s ``(fan_in, fan_out)`` matrix."""
        start = time.perf_counter()
        tiling = tile_layer(weights, self.spec)
        programmed, tiles, operators, transfers, gains = [], [], [], [], []
        column_gains: list[np.ndarray | None] = []
        for slot in tiling.tiles:
            targets, gain = slot.conductances, 1.0
            if self.tile_transform is not None:
                targets, gain = self.tile_transform(self._tile_spec, targets)
            devices = program_tile(
                targets, self.spec, (slot.used_rows, slot.used_cols), index, slot.index
            )
            programmed.append(devices)
            gains.append(gain * devices.drift_gain)
            cg = devices.column_gain
            column_gains.append(None if cg is None else cg[: slot.used_cols].copy())
            tile: ProgrammedTile
            if self._kind is not None:
                tile = self._kind.program(devices.conductances, index, slot.index)
            else:
                tile = self._engine.program(self._program_spec, devices.conductances)
            tiles.append(tile)
            transfer = tile.transfer
            transfers.append(transfer)
            operators.append(
                None
                if transfer is None
                else np.ascontiguousarray(transfer[: slot.used_rows, : slot.used_cols])
            )
        self._check_ranges(index, programmed)
        folded = None
        if self.fold and all(op is not None for op in operators):
            folded = np.zeros(tiling.shape)
            for slot, gain, op, cg in zip(
                tiling.tiles, gains, operators, column_gains, strict=True
            ):
                assert op is not None
                scaled = op if cg is None else op * cg
                folded[slot.rows, slot.outputs] += gain * tiling.combine(scaled, slot)
        noise = [
            read_noise_squares(p.conductances[: s.used_rows, : s.used_cols], self.spec)
            if noisy_reads(self.spec)
            else None
            for p, s in zip(programmed, tiling.tiles, strict=True)
        ]
        blocks = tiling.row_blocks()
        unit = self._unit()
        layer = MappedLayer(
            tiling,
            programmed,
            tiles,
            operators,
            transfers,
            folded,
            time.perf_counter() - start,
            weights,
            [rng_for(self.spec.nonideal.seed, _READ, index, s.index) for s in tiling.tiles],
            gains,
            column_gains,
            blocks,
            [_side_by_side(operators, b, 1.0 / unit) for b in blocks],
            [_side_by_side(noise, b, np.float32(1.0 / unit**2)) for b in blocks],
            [
                None
                if all(column_gains[k] is None for k in b.tiles)
                else np.concatenate(
                    [
                        np.ones(tiling.tiles[k].used_cols)
                        if column_gains[k] is None
                        else column_gains[k]
                        for k in b.tiles
                    ]
                )
                for b in blocks
            ],
            [self._side_by_side_reader(tiles, tiling, b) for b in blocks],
        )
        self.layers[index] = layer
        return layer

    def _unit(self) -> float:
        """Amperes per unit of the readout's outputs the tiles' parts are computed in: the
        ADC's step in current units, or one ampere without an ADC."""
        return adc_current_lsb(self.spec) if self.spec.readout.adc_bits else 1.0

    def _check_ranges(self, index: int, programmed: list[ProgrammedDevices]) -> None:
        """Warn when a fitted cell model meets conductances it was not calibrated on.

        Only a surrogate with a fitted in-cell resistance (``r_cell``, ``r_cell_g``) or a
        measured access transistor extrapolates outside its calibrated range; a passive linear
        tile's model is an exact network at any conductance (its fitted in-cell resistance,
        if any, changes a cell's current by less than 1e-6).
        """
        model = self.model
        if model is None or not model.ranges:
            return
        p = model.params
        fitted_cell = (p.r_cell + p.r_cell_g) * model.spec.device.g_max >= 1e-6
        if not fitted_cell and model.transistor is None and model.is_linear:
            return  # no in-cell resistance worth the name (a fit leaves ~1e-10 ohm)
        lo = min(float(t.conductances.min()) for t in programmed)
        hi = max(float(t.conductances.max()) for t in programmed)
        g_lo, g_hi = model.ranges["g_min"], model.ranges["g_max"]
        if lo < g_lo * (1 - 1e-9) or hi > g_hi * (1 + 1e-9):
            from cimspice.errors import RangeWarning

            warnings.warn(
                f"layer {index}: conductances span [{lo:.4g}, {hi:.4g}] S, outside the "
                f"surrogate's calibrated [{g_lo:.4g}, {g_hi:.4g}] S (its fitted cell "
                "model is extrapolated)",
                RangeWarning,
                stacklevel=3,
            )

    @property
    def prepare_s(self) -> float:
        """Seconds spent programming and preparing every layer so far."""
        return sum(layer.prepare_s for layer in self.layers.values())

    # ----- the multiply -----

    def _run_tile(self, layer: MappedLayer, k: int, volts: np.ndarray) -> Result:
        """The engine's outputs of tile ``k`` for word-line ``volts``: its used word lines'
        (the spare ones at 0 V) or, already padded, all of them; every column."""
        if volts.shape[1] < self.spec.rows:
            padded = np.zeros((volts.shape[0], self.spec.rows))
            padded[:, : volts.shape[1]] = volts
            volts = padded
        return layer.tiles[k].run(volts)

    def _keep_record(self, index: int, layer: MappedLayer, k: int, volts: np.ndarray) -> None:
        slot = layer.tiling.tiles[k]
        n = min(self.probe_vectors, volts.shape[0])
        padded = np.zeros((n, self.spec.rows))
        padded[:, : slot.used_rows] = volts[:n]
        g = layer.programmed[k].conductances
        transfer = layer.transfers[k]
        v_out = None
        if transfer is not None:  # every column, spare ones too, for a like-for-like check
            currents = padded @ transfer
        elif self._kind is not None:  # without noise, its noise stream untouched
            currents, v_out = self._kind.probe(layer.tiles[k], padded)
        else:
            result = self._run_tile(layer, k, volts[:n])
            currents, v_out = result.currents, result.v_out
        self.record = TileRecord(index, k, g.copy(), padded, currents, v_out, layer.tiles[k])

    def __call__(self, index: int, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``x @ w`` for layer ``index`` on the tiles (``x`` ``(n, fan_in)``).

        Raises:
            InputError: ``x`` does not fit the layer, or holds NaN or inf (the row named:
                one such row would set the whole batch's input range, and so every row's
                DAC codes, to NaN).
        """
        x = np.asarray(x, dtype=float)
        # a finite sum (one pass, no temporary) clears the batch; a sum that is not finite
        # may only have overflowed, so the values are looked at one by one then
        if x.ndim == 2 and not np.isfinite(x.sum()) and not np.isfinite(x).all():
            bad = ~np.isfinite(x).all(axis=1)
            raise InputError(
                f"layer {index}: input row {int(np.argmax(bad))} holds non-finite values (NaN "
                f"or inf); {int(bad.sum())} of {x.shape[0]} rows do"
            )
        layer = self.layers.get(index)
        if layer is None or (layer.weights is not w and not np.array_equal(layer.weights, w)):
            layer = self.program(index, np.asarray(w, dtype=float))
        if x.ndim != 2 or x.shape[1] != layer.tiling.shape[0]:
            raise InputError(
                f"layer {index}: inputs of shape {x.shape} do not fit its "
                f"{layer.tiling.shape[0]}-row weight matrix"
            )
        x_max = self.input_ranges.get(index) or float(np.max(np.abs(x), initial=0.0))
        # The statistics, made block by block beside the tiles (in their threads, the exact
        # product on one BLAS thread each: a product on OpenBLAS's own threads leaves them
        # spinning for about 0.1 s after it, taking a core from the tile threads), added in
        # the order of the blocks. The exact product in single precision when the tiles
        # compute in it: the surrogate's fast modes, whose error (4e-5 of full scale at best)
        # is 400 times single precision's 1e-7, and transfer matrices behind an ADC or read
        # noise (see :attr:`single`).
        single = self._in_single(layer)
        w_exact = w.astype(np.float32) if single else w
        blocks: dict[int, MVMErrorStats] = {}

        def compare(rows: slice, outputs: np.ndarray) -> None:
            inputs = x[rows].astype(np.float32) if single else x[rows]
            blocks[rows.start] = MVMErrorStats()
            blocks[rows.start].update(outputs, inputs @ w_exact)

        y = self._mvm_host(layer, x, x_max, compare)
        stats = self.stats.setdefault(index, MVMErrorStats())
        for start in sorted(blocks):
            stats.merge(blocks[start])
        if self.probe is not None and self.probe[0] == index and self.record is None:
            self._probe(index, layer, x[: self.probe_vectors], x_max)
        return y

    def _in_single(self, layer: MappedLayer) -> bool:
        """Whether ``layer``'s numpy batches compute in single precision: the surrogate's fast
        modes always, transfer matrices as :attr:`single` says."""
        return _single_precision(layer) or (
            self.single and all(op is not None for op in layer.operators)
        )

    def mvm(self, index: int, x: Any, x_max: Any, backend: Backend | None = None) -> Any:
        """``x @ W`` of the programmed layer ``index`` on its tiles, the per-batch math alone
        (no checks, no statistics): the DAC, every tile, read noise, the ADC, the digital
        recombination and the scale.

        Written once against the array API: ``x`` (``(n, fan_in)``) may be a numpy array
        (float64) or an array of another namespace on its device, e.g. a torch tensor on the
        GPU (:mod:`cimspice.torch`): the MVMs then run there, on copies of the tiles' operators
        made once per device and precision; only tiles whose law is numpy alone (nonlinear
        tiles, engines without a transfer matrix) take their inputs to the host.

        Args:
            index: a layer :meth:`program` has mapped.
            x: the layer's inputs.
            x_max: the input range (> 0; a 0-d array of ``x``'s namespace may carry a
                gradient).
            backend: what the math needs beyond the array API for non-numpy arrays (rounding,
                read-noise draws, gradient stops; see :class:`Backend`); ``None``: numpy's.
        """
        layer = self.layers[index]
        if isinstance(x, np.ndarray):
            return self._mvm_host(layer, x, x_max)
        backend = backend or Backend()
        xp = array_namespace(x)
        arrays = layer.arrays_like(x)
        if not bool(x_max > 0):
            return xp.zeros((x.shape[0], layer.tiling.shape[1]), dtype=x.dtype, device=device(x))
        if str(device(x)) != "cpu" or x.shape[0] * x.shape[1] <= CHUNK_VALUES:
            return self._mvm_block(layer, x, x_max, backend, arrays)
        # on the CPU as the numpy path: row blocks whose every pass works in the cache, numpy's
        # products (tiles whose law is numpy alone) on one BLAS thread each
        step = max(1, CHUNK_VALUES // max(1, x.shape[1]))
        with one_blas_thread():
            blocks = [
                self._mvm_block(layer, x[start : start + step], x_max, backend, arrays)
                for start in range(0, x.shape[0], step)
            ]
        return xp.concat(blocks, axis=0)

    def _mvm_host(
        self,
        layer: MappedLayer,
        x: np.ndarray,
        x_max: float,
        beside: Callable[[slice, np.ndarray], None] | None = None,
    ) -> np.ndarray:
        """:meth:`mvm` of numpy inputs, with ``beside(rows, outputs)`` called once for each
        block of the batch's rows with its finished outputs, in the thread that made them
        (once, on the whole batch, for all-zero inputs)."""
        spec = self.spec
        y = np.zeros((x.shape[0], layer.tiling.shape[1]))
        # a few thousand vectors at a time, so that every pass over a tile's inputs and
        # outputs works in the cache; products of that size on one BLAS thread (see
        # cimspice.threads)
        with one_blas_thread():
            if not x_max > 0:  # all-zero inputs
                if beside is not None:
                    beside(slice(0, len(x)), y)
                return y
            scale = layer.tiling.sliced.w_scale * x_max / spec.driver.v_read
            threaded = layer.folded is not None or _threaded(layer)
            chunks = _batch_blocks(x.shape, threaded=threaded)
            writers = self._per_tile_host if layer.folded is None else self._folded_host
            write = writers(layer, x, x_max, chunks)

            def run(c: int) -> None:
                out = y[chunks[c]]
                write(c, out)
                out *= scale
                if beside is not None:
                    beside(chunks[c], out)

            _run_blocks(run, len(chunks), _tile_pool() if threaded else _serial)
        return y

    def _mvm_block(
        self, layer: MappedLayer, x: Any, x_max: Any, backend: Backend, arrays: LayerArrays
    ) -> Any:
        """:meth:`mvm` of one block of rows of a non-numpy array."""
        spec = self.spec
        xp = array_namespace(x)
        phases = encode_inputs(x, x_max, spec, backend.rint, dac=backend.dac)
        if not phases:
            return xp.zeros((x.shape[0], layer.tiling.shape[1]), dtype=x.dtype, device=device(x))
        if arrays.folded is not None:
            total: Any = None
            for phase in phases:
                part = phase.weight * (phase.voltages @ arrays.folded)
                total = part if total is None else total + part
            y = total
        else:
            y = self._per_tile(layer, phases, backend, arrays)
        return y * (layer.tiling.sliced.w_scale * x_max / spec.driver.v_read)

    def _probe(self, index: int, layer: MappedLayer, x: np.ndarray, x_max: float) -> None:
        tiles = layer.tiling.tiles
        volts = encode_inputs(x, x_max, self.spec)[0].voltages if x_max > 0 else x * 0.0
        assert self.probe is not None
        k = self.probe[1]
        if k is None:  # the tile driven hardest: a spot-check of idle word lines shows little
            k = int(np.argmax([np.abs(volts[:, slot.rows]).sum() for slot in tiles]))
        if not 0 <= k < len(tiles):
            raise InputError(f"layer {index} has {len(tiles)} tile(s); there is no tile {k}")
        self._keep_record(index, layer, k, volts[:, tiles[k].rows])

    def _per_tile(
        self, layer: MappedLayer, phases: list[InputPhase], backend: Backend, arrays: LayerArrays
    ) -> Any:
        """``(n, fan_out)``: the phases' outputs summed over every tile, before the layer's
        scale, for arrays of a namespace other than numpy's (e.g. torch on the inputs'
        device; numpy arrays go through :meth:`_per_tile_host`)."""
        # tiles that read their own used word lines (the surrogate's fast modes) take the
        # voltages unpadded; they are numpy alone (they let go of the GIL): two row blocks at
        # a time on the host (a device's own stream orders its work anyway)
        readers = _single_precision(layer)
        on_host = str(device(phases[0].voltages)) == "cpu"
        pool = _tile_pool() if readers and on_host else None
        results = (pool or _serial).map(
            lambda b: self._block_parts(layer, b, phases, backend, arrays, pad=not readers),
            range(len(layer.blocks)),
        )
        total: Any = None  # the blocks' and phases' parts in order
        for parts in results:
            for _, part in parts:  # every vector (no idle ones skipped)
                total = part if total is None else total + part
        return total

    def _per_tile_host(
        self, layer: MappedLayer, x: np.ndarray, x_max: float, chunks: list[slice]
    ) -> Callable[[int, np.ndarray], None]:
        """:meth:`_per_tile` of numpy inputs ``x``, block by block: ``write(c, out)`` adds
        the tiles' outputs of the rows ``chunks[c]`` into ``out`` (before the layer's scale).

        Tiles whose batch is numpy alone (a transfer matrix, or a fast surrogate tile that
        reads its own used word lines, :func:`_threaded`) run the blocks in
        :data:`TILE_THREADS` threads, each block on its own rows: its DAC, then every row
        block of tiles. Each tile's read-noise integers are drawn for one block after the
        other (the blocks wait their turn for that alone), and each block adds its tiles'
        parts in tile order, so the numbers are the same whatever the threads do. An
        engine's tiles (nodal, ngspice) get every word line, in this thread."""
        spec = self.spec
        tiles = layer.tiling.tiles
        readers = _single_precision(layer)
        own = _threaded(layer)
        single = self._in_single(layer)
        arrays = layer.host_arrays(single and not readers)
        noisy = self._noisy and any(q is not None for q in arrays.noise)
        # a noisy charge tile's idle vectors each carry their own noise: none skipped
        skip = self._kind is None or self._kind.quiet
        turns = [threading.Event() for _ in chunks]

        def write(c: int, out: np.ndarray) -> None:
            try:
                phases = encode_inputs(
                    x[chunks[c]], x_max, spec, dtype=np.float32 if single else None
                )
                idle = (
                    _IdleRows.of_blocks([p.voltages for p in phases], layer.blocks)
                    if skip and phases
                    else [None] * (len(layer.blocks) if phases else 0)
                )
                picks = None
                if noisy and c:  # this block's integers after the previous block's (a block
                    turns[c - 1].wait()  # without phases draws none, but waits its turn)
                if noisy and phases:
                    vectors = len(phases) * phases[0].voltages.shape[0]
                    picks = [
                        normal_picks(layer.read_rngs[k], (vectors, slot.used_cols))
                        for k, slot in enumerate(tiles)
                    ]
            finally:
                turns[c].set()
            for b, block_idle in enumerate(idle):
                for vectors, part in self._block_parts(
                    layer, b, phases, _NUMPY, arrays, pad=not own, idle=block_idle, picks=picks
                ):
                    if vectors is None:
                        np.add(out, part, out=out)  # (``+=`` casts single precision slower)
                    else:
                        rows = out[vectors]
                        np.add(rows, part, out=rows)
                        out[vectors] = rows

        return write

    def _folded_host(
        self, layer: MappedLayer, x: np.ndarray, x_max: float, chunks: list[slice]
    ) -> Callable[[int, np.ndarray], None]:
        """A folded layer's ``x @ W`` (the DAC's phases times its one matrix), block by
        block as :meth:`_per_tile_host` writes it (the DAC of each block in its thread)."""
        folded = layer.folded
        assert folded is not None

        def write(c: int, out: np.ndarray) -> None:
            for phase in encode_inputs(x[chunks[c]], x_max, self.spec):
                out += phase.weight * (phase.voltages @ folded)

        return write

    def _block_parts(
        self,
        layer: MappedLayer,
        b: int,
        phases: list[InputPhase],
        backend: Backend,
        arrays: LayerArrays,
        *,
        pad: bool,
        idle: _IdleRows | None = None,
        picks: list[np.ndarray] | None = None,
    ) -> list[tuple[np.ndarray | None, Any]]:
        """Row block ``b``'s contribution to the layer's outputs (every output: a row
        block holds them all) in each phase (digital units, before the layer's scale): the
        tiles read side by side (one product for tiles with transfer matrices), their read
        noise, the ADC, the drift gains and the digital recombination. Each contribution
        comes with the vectors (rows of the phase's outputs) it is for: ``None`` for all of
        them in order, or the active ones alone when skipped idle vectors put out nothing.

        ``pad``: the tiles' inputs padded to every word line; ``idle``: the input vectors (of
        every phase, one after the other) that drive none of the block's word lines, skipped
        (numpy arrays only); ``picks``: numpy arrays' read-noise integers of every tile for
        every vector (:func:`~cimspice.devices.tile.normal_picks`), drawn beforehand
        (``None``: drawn here from each tile's stream)."""
        spec = self.spec
        block = layer.blocks[b]
        numpy = isinstance(phases[0].voltages, np.ndarray)
        n = phases[0].voltages.shape[0]
        bits = spec.readout.adc_bits
        unit = self._unit()  # the ADC's step in current units (amperes without an ADC)
        tiles = layer.tiling.tiles
        volts = _phase_inputs(phases, tiles[block.tiles[0]], spec.rows, pad=pad)  # every phase
        if idle is not None:
            volts = idle.compact(volts)
        op = arrays.operators[b]
        if op is not None:  # into the readout's units, in one new array
            steps = volts[:, : op.shape[0]] @ op
        else:
            steps = self._block_reading(layer, b, volts, arrays, backend)
        squares = arrays.noise[b] if self._noisy else None
        if squares is not None:
            # the noise's spread carries no gradient (sqrt's is infinite at an all-zero input)
            std = read_noise_std(backend.detach(volts[:, : block.used_rows]), squares)
            if numpy:
                for k, cols in zip(block.tiles, block.columns, strict=True):
                    own = std[:, cols]
                    drawn = (
                        picks[k]
                        if picks is not None
                        else normal_picks(layer.read_rngs[k], (n * len(phases), own.shape[1]))
                    )
                    if idle is not None:
                        drawn = idle.rows_of(drawn)
                    np.multiply(own, normals_of_picks(drawn), out=own)
                # in place: the outputs are a new array of ours, single or double precision
                steps += std
            else:
                xp = array_namespace(steps)
                used = volts[:, : block.used_rows]
                draws = [
                    backend.normals(layer, k, used)((std.shape[0], cols.stop - cols.start))
                    for k, cols in zip(block.tiles, block.columns, strict=True)
                ]
                steps = std * (draws[0] if len(draws) == 1 else xp.concat(draws, axis=1)) + steps
        if bits:
            steps = round_to_codes(steps, adc_lsb(spec)[1], backend.rint)
        if arrays.column_gains[b] is not None:
            steps = steps * arrays.column_gains[b]  # per-column drift gains, digital
        # each phase's rows of steps, and the vectors they are (None: all, in order)
        spans: Sequence[tuple[slice, np.ndarray | None]] = [
            (slice(p * n, (p + 1) * n), None) for p in range(len(phases))
        ]
        if idle is not None:
            if steps[-1].any():  # the zero vector puts out something: every idle vector too
                steps = idle.expand(steps)
            else:  # idle vectors put out nothing: the active ones alone are added
                spans = idle.spans(n, len(phases))
        return [
            (
                vectors,
                layer.tiling.combine_block(
                    steps[span],
                    block,
                    [phase.weight * layer.gains[k] * unit for k in block.tiles],
                ),
            )
            for (span, vectors), phase in zip(spans, phases, strict=True)
        ]

    def _block_reading(
        self,
        layer: MappedLayer,
        b: int,
        volts: Any,
        arrays: LayerArrays,
        backend: Backend,
    ) -> Any:
        """``(n, used_cols)``: what the tiles of row block ``b`` without transfer matrices put
        out for word-line ``volts``, side by side, in the readout's units (see
        :meth:`_unit`)."""
        unit = self._unit()
        block = layer.blocks[b]
        reader = layer.block_readers[b]
        if isinstance(volts, np.ndarray) and reader is not None:
            from cimspice.surrogate.prepared import fast_read

            return fast_read(reader, volts)
        values = []
        for k in block.tiles:
            value, to_current = self._tile_reading(layer, k, volts, arrays, backend)
            values.append((value, to_current / unit))
        if not isinstance(values[0][0], np.ndarray):
            xp = array_namespace(values[0][0])
            scaled = [value * factor for value, factor in values]
            return scaled[0] if len(scaled) == 1 else xp.concat(scaled, axis=1)
        out = np.empty((volts.shape[0], block.used_cols), values[0][0].dtype)
        for (value, factor), cols in zip(values, block.columns, strict=True):
            np.multiply(value, factor, out=out[:, cols])
        return out

    def _side_by_side_reader(
        self, tiles: list[ProgrammedTile], tiling: LayerTiling, block: RowBlock
    ) -> Any:
        """One fast surrogate tile reading every tile of ``block`` (of ``tiles``, laid out by
        ``tiling``) into the readout's units
        (:func:`~cimspice.surrogate.prepared.side_by_side`), or ``None`` for a block of one
        tile or of tiles that are not all fast tiles of one kind and levels without TIAs."""
        from cimspice.surrogate.prepared import AttenuationTile, SecantTile, side_by_side

        if len(block.tiles) < 2:
            return None
        prepared: list[SecantTile | AttenuationTile] = []
        for k in block.tiles:
            fast = getattr(tiles[k], "prepared", None)
            if not isinstance(fast, SecantTile | AttenuationTile):
                return None
            prepared.append(fast)
        cols = [tiling.tiles[k].used_cols for k in block.tiles]
        return side_by_side(prepared, cols, self._to_current / self._unit())

    def _tile_reading(
        self, layer: MappedLayer, k: int, volts: Any, arrays: LayerArrays, backend: Backend
    ) -> tuple[Any, float]:
        """``(n, used_cols)``: what tile ``k`` (one without a transfer matrix) puts out for
        word-line ``volts`` (see :meth:`_run_tile`), and the factor that turns it into column
        currents (A).

        A tile gives what its readout puts out: its TIAs' ``v_out`` (V, factor
        ``-1 / r_f``), or its column currents. It runs its numpy law: non-numpy ``volts``
        go to the host and back, and the gradient passes through the tile's ideal law
        (``V @ G``, straight through: :attr:`Backend.detach`)."""
        used = layer.tiling.tiles[k].used_cols
        host = volts if isinstance(volts, np.ndarray) else backend.to_numpy(volts)
        read = getattr(layer.tiles[k], "read", None)
        if read is not None:  # a tile that offers it gives what the ADC reads alone
            value = read(host, used)
            to_current = self._to_current
        else:
            result = self._run_tile(layer, k, host)
            if result.v_out is None:
                value, to_current = result.currents[:, :used], 1.0
            else:
                value, to_current = result.v_out[:, :used], self._to_current
        if isinstance(volts, np.ndarray):
            return value, to_current
        xp = array_namespace(volts)
        value = xp.asarray(value, dtype=volts.dtype, device=device(volts))
        if not backend.gradients:
            return value, to_current
        ideal = arrays.ideal[k]
        assert ideal is not None  # kept for every tile without an operator
        linear = volts[:, : ideal.shape[0]] @ ideal * (1.0 / to_current)
        return linear + backend.detach(value - linear), to_current


def _single_precision(layer: MappedLayer) -> bool:
    """Whether every tile of ``layer`` reads in single precision its own used word lines
    (the surrogate's fast modes)."""
    return all(getattr(tile, "single_precision", False) for tile in layer.tiles)


def _side_by_side(arrays: list[Any], block: RowBlock, scale: Any) -> np.ndarray | None:
    """The ``arrays`` of ``block``'s tiles side by side, times ``scale`` (``None`` when one is
    missing)."""
    parts = [arrays[k] for k in block.tiles]
    if any(part is None for part in parts):
        return None
    return np.concatenate(parts, axis=1) * scale


def _phase_inputs(phases: list[InputPhase], slot: TileSlot, rows: int, *, pad: bool = True) -> Any:
    """``(phases * n, rows)`` (``pad``) or ``(phases * n, used_rows)``: the word-line
    voltages of ``slot`` in every phase, one phase after the other (spare word lines at
    0 V); a view of the layer's own array for one phase that needs no padding."""
    width = rows if pad else slot.used_rows
    first = phases[0].voltages
    if len(phases) == 1 and slot.used_rows == width:
        return first[:, slot.rows]
    n = first.shape[0]
    if isinstance(first, np.ndarray):
        volts = np.zeros((len(phases) * n, width), first.dtype)
        for p, phase in enumerate(phases):
            volts[p * n : (p + 1) * n, : slot.used_rows] = phase.voltages[:, slot.rows]
        return volts
    xp = array_namespace(first)
    volts = xp.concat([phase.voltages[:, slot.rows] for phase in phases], axis=0)
    if width > slot.used_rows:
        spare = xp.zeros((volts.shape[0], width - slot.used_rows), dtype=volts.dtype)
        volts = xp.concat([volts, xp.asarray(spare, device=device(volts))], axis=1)
    return volts


@dataclass(frozen=True)
class _IdleRows:
    """A tile's input vectors that drive none of its word lines, skipped: the tile reads
    the others and one all-zero vector, whose outputs every idle vector takes.

    Exact: a tile's outputs for an input depend on that input alone, and an all-zero input
    has no read noise (its variance is ``0 @ sigma^2``). The read-noise stream is drawn for
    every vector as without skipping (the same draws reach the same vectors), so the
    results are those of the full batch. Worth it on sparse inputs: images' blank margins
    and ReLU activations leave whole tiles idle for many vectors (64% of the vectors on
    the first of mnist-mlp's seven row blocks of 128 pixels).

    Attributes:
        active: the indices of the vectors that drive the tile.
        total: the number of vectors.
    """

    active: np.ndarray
    total: int

    @classmethod
    def of_blocks(cls, volts: list[np.ndarray], blocks: list[RowBlock]) -> list[_IdleRows | None]:
        """Each row block's idle rows (:meth:`of`) of a layer's input voltages in each
        phase (each ``(vectors, fan_in)``, the phases one after the other), found for every
        block in one pass (the blocks' rows follow one another from the first input)."""
        starts = [block.rows.start for block in blocks]
        driven = np.concatenate([np.logical_or.reduceat(v != 0, starts, axis=1) for v in volts])
        return [cls.of(driven[:, b]) for b in range(len(blocks))]

    @classmethod
    def of(cls, driven: np.ndarray) -> _IdleRows | None:
        """The idle rows of a tile whose input vectors (of every phase, one after the other)
        ``driven`` says drive some word line, or ``None`` when fewer than
        :data:`IDLE_SHARE` of them are idle (skipping costs a gather)."""
        active = np.flatnonzero(driven)
        if driven.size - active.size < IDLE_SHARE * driven.size:
            return None
        return cls(active, driven.size)

    def compact(self, volts: np.ndarray) -> np.ndarray:
        """The active vectors of ``volts``, then one all-zero vector."""
        out = np.zeros((self.active.size + 1, volts.shape[1]), volts.dtype)
        np.take(volts, self.active, axis=0, out=out[:-1])
        return out

    def rows_of(self, picks: np.ndarray) -> np.ndarray:
        """The compacted rows' read-noise integers (:func:`normal_picks`), of ``picks``
        drawn for every vector (the same stream as without skipping; the zero vector's
        noise is zero: any row)."""
        return picks.take(np.append(self.active, 0), axis=0)

    def spans(self, n: int, phases: int) -> list[tuple[slice, np.ndarray]]:
        """For each of ``phases`` phases of ``n`` vectors each (one after the other), its
        active vectors' rows of the compacted outputs and which of its vectors they are."""
        edges = np.searchsorted(self.active, np.arange(phases + 1) * n)
        return [
            (slice(lo, hi), self.active[lo:hi] - p * n)
            for p, (lo, hi) in enumerate(itertools.pairwise(edges.tolist()))
        ]

    def expand(self, outputs: np.ndarray) -> np.ndarray:
        """``(total, ...)``: the compacted rows' ``outputs`` back in place, the idle
        vectors given the zero vector's."""
        where = np.full(self.total, self.active.size)
        where[self.active] = np.arange(self.active.size)
        return outputs.take(where, axis=0)


def _threaded(layer: MappedLayer) -> bool:
    """Whether every tile of ``layer`` reads numpy alone (a transfer matrix, or a fast
    surrogate tile that reads its own used word lines), so its blocks can run in the tile
    threads."""
    return all(
        op is not None or getattr(tile, "single_precision", False)
        for op, tile in zip(layer.operators, layer.tiles, strict=True)
    )


def _batch_blocks(shape: tuple[int, ...], *, threaded: bool) -> list[slice]:
    """The blocks of rows of an ``(n, fan_in)`` batch that run one after the other: at most
    :data:`CHUNK_VALUES` values each and, when they run in the tile threads, enough of them
    for the threads (two per thread) where none gets under :data:`MIN_CHUNK_ROWS` rows."""
    n, fan_in = shape
    step = max(1, CHUNK_VALUES // max(1, fan_in))
    if threaded:
        step = min(step, max(MIN_CHUNK_ROWS, -(-n // (2 * TILE_THREADS))))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


def _run_blocks(run: Callable[[int], None], count: int, pool: ThreadPoolExecutor | _Serial) -> None:
    """``run(0) ... run(count - 1)`` on ``pool``, a few in flight at a time (their arrays
    stay bounded); the first error is raised once those in flight have ended (none writes
    after this returns). On :data:`_serial`, one after the other in this thread, an error
    raised at once."""
    if pool is _serial:
        for c in range(count):
            run(c)
        return
    pending: collections.deque[Future[None]] = collections.deque()
    try:
        for c in range(count):
            pending.append(pool.submit(run, c))
            if len(pending) > 2 * TILE_THREADS:
                pending.popleft().result()
        while pending:
            pending.popleft().result()
    finally:
        wait(pending)


class _Serial:
    """``map`` in the calling thread (the pool's stand-in)."""

    @staticmethod
    def map(function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return map(function, items)

    @staticmethod
    def submit(function: Callable[..., Any], *args: Any) -> Future[Any]:
        """``function(*args)`` run now, its result (or exception) in a done future."""
        future: Future[Any] = Future()
        try:
            future.set_result(function(*args))
        except BaseException as error:  # handed to whoever asks for the result
            future.set_exception(error)
        return future


_serial = _Serial()


@functools.cache
def _tile_pool() -> ThreadPoolExecutor:
    """The threads that run fast surrogate tiles side by side (one per process)."""
    return ThreadPoolExecutor(max_workers=TILE_THREADS, thread_name_prefix="cimspice-tile")
