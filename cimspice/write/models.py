"""Dynamic memristor models: behavioural SPICE subcircuits with a state node.

A dynamic model is a 3-port ``.subckt NAME p n x [params]``: the device between ``p`` and
``n``, and ``x``, the node whose voltage is the device's state (a gap in nm, a normalised
width...), held on a capacitor that a behavioural source charges at the state's rate. Decks set
the initial state with ``.ic v(x) = ...`` and read the state back as a node voltage.

Built in (``models/``, each with its published parameter set and source in the file):

- ``"stanford"``: the Stanford-PKU filament-gap RRAM model (``stanford_rram.lib``; gap in
  nm, positive ``v(p, n)`` SETs);
- ``"vteam"``: the threshold-type VTEAM model (``vteam.lib``; normalised state, positive
  ``v(p, n)`` above ``v_off`` RESETs).

A user's own model comes from ``[write] model_file`` under the same security policy and
content rules as ``access.model_file`` (:mod:`cimspice.model_cards`): B sources and
capacitors inside ``.subckt`` are model-card content; control blocks, includes, analyses and
the rest stay refused. ``[write] state_min``, ``state_max`` and ``set_polarity`` describe it.

Every model's read conductance as a function of its state is measured in ngspice
(:func:`read_table`): the state node held by a source swept over the state range, the device at
``v_read``. Mapping a conductance to a state (:meth:`ReadTable.state_for`) uses that table, so a
user's model and the built-ins go the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cimspice.errors import InputError, ModelFileError, SpecError
from cimspice.model_cards import ModelCards, builtin_model_cards, read_model_file
from cimspice.resources import data_dir
from cimspice.spec import CrossbarSpec, as_spec

__all__ = [
    "BUILTIN_DYNAMIC_MODELS",
    "DynamicModel",
    "ReadTable",
    "dynamic_model",
    "read_table",
    "verify_start",
]


@dataclass(frozen=True)
class BuiltinModel:
    """A dynamic model shipped in ``models/``.

    Attributes:
        file: its model file.
        subckt: its subcircuit.
        set_polarity: the sign of ``v(p, n)`` that SETs.
        bounds: the state range: numbers, or the names of the parameters holding them.
        unit: the state's unit.
        rates: the parameters that ``[write] variation`` scales per cell.
        verify_start: volts, ``(v_set_start, v_reset_start, step)``: where write-verify's
            amplitudes start and how they grow on this model with its default parameters,
            when neither the caller of :func:`~cimspice.write.verify.write_verify` (its
            ``policy``) nor the command line (``--v-set-start``, ...) says; each start below
            the amplitude at which one 50 ns pulse moves a cell across a few-percent band.
    """

    file: str
    subckt: str
    set_polarity: int
    bounds: tuple[str | float, str | float]
    unit: str
    rates: tuple[str, ...]
    verify_start: tuple[float, float, float]


BUILTIN_DYNAMIC_MODELS: dict[str, BuiltinModel] = {
    # Stanford: from 33 uS a RESET moves a cell ~3 uS at 1.4 V and ~28 uS at 1.6 V
    # (tests/test_write_verify_policy.py, where these starts bring 16/16 cells of a 4x4 1T1R
    # array into a +-3% band)
    "stanford": BuiltinModel(
        "stanford_rram.lib",
        "stanford_rram",
        1,
        ("gap_min", "gap_max"),
        "nm",
        ("vel0",),
        (2.2, 1.3, 0.1),
    ),
    # VTEAM: its SET is abrupt (it ends near r_on from 0.8 V), its RESET gradual from tens of
    # mV (tests/test_write_rows.py, benchmarks/bench_write_verify.py: 64x64 1T1R arrays)
    "vteam": BuiltinModel(
        "vteam.lib",
        "vteam",
        -1,
        (0.0, 1.0),
        "normalised",
        ("k_on", "k_off"),
        (0.8, 0.03, 0.004),
    ),
}
"""The dynamic models shipped in ``models/``."""


@dataclass(frozen=True)
class DynamicModel:
    """A dynamic memristor model, checked and ready for a deck.

    Attributes:
        name: the spec's ``write.model``.
        subckt: the subcircuit's name.
        cards: the checked model text (the subcircuit and what it needs).
        params: the subcircuit's parameters as every instance gets them (defaults with the
            spec's overrides; for a user's model, the overrides only).
        state_min, state_max: the state's range (its node's volts).
        set_polarity: ``1`` when a positive ``v(p, n)`` SETs, ``-1`` when it RESETs; cells
            are wired so that SET is always the word line above the bit line.
        unit: the state's unit, for reports.
        rates: the parameters that ``[write] variation`` scales per cell.
    """

    name: str
    subckt: str
    cards: ModelCards
    params: tuple[tuple[str, float], ...]
    state_min: float
    state_max: float
    set_polarity: int
    unit: str
    rates: tuple[str, ...] = ()
    osdi: str = ""
    osdi_module: str = ""

    def param(self, name: str) -> float:
        """The value of a parameter the instances get."""
        return dict(self.params)[name]

    def _values(self, factor: float) -> dict[str, float]:
        return {k: (v * factor if k in self.rates else v) for k, v in self.params}

    def instance(self, name: str, p: str, n: str, x: str, factor: float = 1.0) -> str:
        """The instance line of one device: ``p`` and ``n`` its terminals as the model sees
        them, ``x`` its state node, ``factor`` the per-cell factor on its rate parameters
        (an ``X`` subcircuit line, or with :attr:`osdi` an ``N`` line of the card
        :meth:`osdi_cards` defines for that factor)."""
        if self.osdi:
            return f"n{name} {p} {n} {x} {_card_name(factor)}"
        args = " ".join(f"{k}={v!r}" for k, v in self._values(factor).items())
        return f"x{name} {p} {n} {x} {self.subckt}" + (f" {args}" if args else "")

    def deck_text(self, factors: Iterable[float]) -> str:
        """The model's text in a deck whose devices have the rate ``factors``: the checked
        subcircuit, or with :attr:`osdi` one ``.model`` card of the compiled module per
        factor (OSDI parameters are the model's, not the instance's)."""
        if not self.osdi:
            return self.cards.text.rstrip("\n")
        lines = [f"* OSDI library {Path(self.osdi).name} (module {self.osdi_module})"]
        for f in sorted(set(factors)):
            args = " ".join(f"{k}={v!r}" for k, v in self._values(f).items())
            lines.append(f".model {_card_name(f)} {self.osdi_module} {args}")
        return "\n".join(lines)

    @property
    def behavioural(self) -> DynamicModel:
        """The same model as its behavioural subcircuit (itself without :attr:`osdi`)."""
        return dataclasses.replace(self, osdi="", osdi_module="") if self.osdi else self


def _card_name(factor: float) -> str:
    """The ``.model`` card of an OSDI device with rate factor ``factor`` (its float's bits:
    one card per distinct factor, the same name in every deck)."""
    return "dyn_osdi_" + struct.pack(">d", float(factor)).hex()


def _defaults(cards: ModelCards, subckt: str) -> dict[str, float]:
    """The parameter defaults on the ``.subckt`` line of ``subckt`` (continuations joined)."""
    text = cards.text.replace("\n+", " ")
    for line in text.splitlines():
        tokens = re.sub(r"\s*=\s*", "=", line).split()
        if len(tokens) >= 2 and tokens[0].lower() == ".subckt" and tokens[1].lower() == subckt:
            out = {}
            for token in tokens[2:]:
                if "=" in token:
                    key, _, value = token.partition("=")
                    try:
                        out[key.lower()] = float(value)
                    except ValueError:
                        continue
            return out
    return {}


def verify_start(spec: CrossbarSpec) -> tuple[float, float, float] | None:
    """The built-in dynamic model's ``(v_set_start, v_reset_start, step)`` (volts, see
    :attr:`BuiltinModel.verify_start`) of ``spec``'s ``[write]`` section, or ``None`` for a
    user's model (``write.model_file``), whose amplitudes the user knows."""
    w = as_spec(spec).write
    if w.model_file or w.model not in BUILTIN_DYNAMIC_MODELS:
        return None
    return BUILTIN_DYNAMIC_MODELS[w.model].verify_start


def dynamic_model(spec: CrossbarSpec) -> DynamicModel:
    """The dynamic model that ``spec``'s ``[write]`` section names, checked.

    Raises:
        SpecError: an unknown built-in parameter or a state range the model cannot have
            (key named).
        ModelFileError: the model file is refused, or defines no 3-port ``.subckt`` of that
            name.
        EngineUnavailableError: ``write.osdi`` without an OpenVAF compiler.
    """
    spec = as_spec(spec)
    w = spec.write
    overrides = {str(k).lower(): float(v) for k, v in dict(w.model_params).items()}
    if not w.model_file:
        if w.model not in BUILTIN_DYNAMIC_MODELS:
            known = ", ".join(repr(m) for m in BUILTIN_DYNAMIC_MODELS)
            raise SpecError(
                f"unknown dynamic model {w.model!r}; built-in: {known} (or give write.model_file)",
                key="write.model",
                file=spec.source,
            )
        info = BUILTIN_DYNAMIC_MODELS[w.model]
        cards = _builtin_cards(info.file)
        subckt = info.subckt
        params = _defaults(cards, subckt)
        for key in overrides:
            if key not in params:
                raise SpecError(
                    f"model {w.model!r} has no parameter {key!r}; its parameters: "
                    + ", ".join(params),
                    key=f"write.model_params.{key}",
                    file=spec.source,
                )
        params.update(overrides)
        lo, hi = info.bounds
        state_min = params[lo] if isinstance(lo, str) else float(lo)
        state_max = params[hi] if isinstance(hi, str) else float(hi)
        if not state_max > state_min:
            raise SpecError(
                f"the model's state range [{state_min}, {state_max}] is empty",
                key="write.model_params",
                file=spec.source,
            )
        osdi, module = "", ""
        if w.osdi:
            from cimspice.write.osdi import OSDI_MODELS, compile_model

            osdi, module = str(compile_model(w.model)), OSDI_MODELS[w.model][1]
        return DynamicModel(
            name=w.model,
            subckt=subckt,
            cards=cards,
            params=tuple(params.items()),
            state_min=state_min,
            state_max=state_max,
            set_polarity=info.set_polarity,
            unit=info.unit,
            rates=info.rates,
            osdi=osdi,
            osdi_module=module,
        )
    try:
        cards = read_model_file(w.model_file, spec_file=spec.source)
    except ModelFileError as err:  # the same checks, under this section's key
        where = f"model file {err.model_file}" + (f", line {err.line}" if err.line else "")
        reason = str(err).split(f"{where}: ", 1)[-1]
        raise ModelFileError(
            reason, model_file=w.model_file, line=err.line, file=spec.source, key="write.model_file"
        ) from None
    ports = cards.subckts.get(w.model.lower())
    if ports != 3:
        problem = (
            f"it defines no .subckt named '{w.model}' at its top level"
            if ports is None
            else f"its .subckt '{w.model}' has {ports} ports; a dynamic model needs 3 (p, n, state)"
        )
        raise ModelFileError(problem, model_file=w.model_file, file=spec.source, key="write.model")
    return DynamicModel(
        name=w.model,
        subckt=w.model.lower(),
        cards=cards,
        params=tuple(overrides.items()),
        state_min=w.state_min,
        state_max=w.state_max,
        set_polarity=w.set_polarity,
        unit="state",
    )


@functools.cache
def _builtin_cards(file: str) -> ModelCards:
    return builtin_model_cards(data_dir("models") / file)


@dataclass(frozen=True)
class ReadTable:
    """A model's read conductance against its state, measured in ngspice.

    Attributes:
        v_read: volt, the read voltage across the device.
        states: the state grid, increasing.
        conductances: siemens, ``I(v_read) / v_read`` at each state.
    """

    v_read: float
    states: np.ndarray
    conductances: np.ndarray

    @property
    def g_low(self) -> float:
        """The lowest conductance over the state range (siemens)."""
        return float(self.conductances.min())

    @property
    def g_high(self) -> float:
        """The highest conductance over the state range (siemens)."""
        return float(self.conductances.max())

    @property
    def state_on(self) -> float:
        """The state of the low-resistance end."""
        return float(self.states[int(np.argmax(self.conductances))])

    @property
    def state_off(self) -> float:
        """The state of the high-resistance end."""
        return float(self.states[int(np.argmin(self.conductances))])

    def conductance(self, states: np.ndarray) -> np.ndarray:
        """Siemens at ``states`` (interpolated in log conductance; clipped to the range)."""
        x = np.clip(np.asarray(states, dtype=float), self.states[0], self.states[-1])
        return np.exp(np.interp(x, self.states, np.log(self.conductances)))

    def state_for(self, conductances: np.ndarray) -> np.ndarray:
        """The states that read ``conductances`` (siemens).

        Raises:
            InputError: a conductance outside the model's window at this read voltage.
        """
        g = np.asarray(conductances, dtype=float)
        lo, hi = self.g_low, self.g_high
        bad = (g < lo * (1 - 1e-9)) | (g > hi * (1 + 1e-9)) | ~np.isfinite(g)
        if bad.any():
            k = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputError(
                f"conductance {float(g[k]):.4g} S at {k} is outside the dynamic model's window "
                f"[{lo:.4g}, {hi:.4g}] S at v_read = {self.v_read} V"
            )
        log_g = np.log(self.conductances)
        order = np.argsort(log_g)
        return np.interp(np.log(np.clip(g, lo, hi)), log_g[order], self.states[order])


READ_TABLE_POINTS = 801
"""States in a measured read table (the interpolation between them is ~1e-5 relative for the
built-in models, whose log conductance is close to linear in the state)."""


def read_table(model: DynamicModel, v_read: float, *, timeout_s: float = 120.0) -> ReadTable:
    """Measure ``model``'s read conductance over its state range in ngspice.

    Raises:
        ModelFileError: the conductance is not strictly monotonic in the state (a model
            whose state cannot be told from a read), or not positive.
        SimulationError: ngspice refused the model.
    """
    v_read = float(v_read)
    if not (np.isfinite(v_read) and v_read > 0):
        raise InputError(f"v_read must be > 0 V, got {v_read!r}")
    model = model.behavioural  # an OSDI twin reads as its subcircuit: the same equations
    key = (
        model.cards.text,
        model.subckt,
        model.params,
        model.state_min,
        model.state_max,
        model.set_polarity,
        v_read,
    )
    if key not in _TABLES:
        _TABLES[key] = _measure(model, v_read, float(timeout_s))
    return _TABLES[key]


_TABLES: dict[tuple[object, ...], ReadTable] = {}
"""Read tables measured in this process, by model and read voltage."""


def _measure(model: DynamicModel, v_read: float, timeout_s: float) -> ReadTable:
    from cimspice.engines.ngspice import run_deck

    step = (model.state_max - model.state_min) / (READ_TABLE_POINTS - 1)
    p, n = ("a", "0") if model.set_polarity > 0 else ("0", "a")
    deck = "\n".join(
        [
            f"* cimspice: read table of the dynamic model {model.name}",
            ".options klu reltol=1e-9 abstol=1e-18",
            model.cards.text.rstrip("\n"),
            f"va a 0 dc {v_read!r}",
            f"vx x 0 dc {model.state_min!r}",
            model.instance("m", p, n, "x"),
            f".dc vx {model.state_min!r} {model.state_max!r} {step!r}",
            ".end",
            "",
        ]
    )
    arrays, _, _ = run_deck(deck, {"x": ["x"], "i": ["va#branch"]}, timeout_s=timeout_s)
    states = np.linspace(model.state_min, model.state_max, READ_TABLE_POINTS)
    if arrays["x"].shape[1] != READ_TABLE_POINTS or not np.allclose(arrays["x"][0], states):
        raise ModelFileError(
            f"ngspice swept the state of dynamic model '{model.name}' over other points than "
            "asked (its state node is not a plain port?)",
            model_file=model.cards.name,
            key="write.model",
        )
    g = -arrays["i"][0] / v_read
    diff = np.diff(g)
    if not (np.all(g > 0) and (np.all(diff > 0) or np.all(diff < 0))):
        raise ModelFileError(
            f"the read conductance of dynamic model '{model.name}' at {v_read} V is not "
            "positive and strictly monotonic over its state range (write.state_min .. "
            "write.state_max): a read cannot tell its state",
            model_file=model.cards.name,
            key="write.model",
        )
    return ReadTable(v_read, states, g)
