"""The device-model registry: every model by name (``nonideal.model``), built from a spec.

Like the engine registry (:mod:`cimspice.simulation`), entries name the module and class of
each model and import it on first use; :func:`register` adds your own. A model class has a
classmethod ``from_spec(spec) -> DeviceModel`` (the generic model reads the ``[nonideal]``
keys; the presets, derived from :class:`~cimspice.devices.model.ParamModel`, read
``nonideal.model_params``).

- ``generic``: Gaussian programming noise, white read noise, power-law drift (the
  ``[nonideal]`` keys);
- ``pcm-nandakumar2019``: PCM with G-dependent programming noise, G-dependent drift
  exponents and 1/f noise growing with time (Nandakumar et al. 2019 / Joshi et al. 2020, as
  fitted in aihwkit's ``PCMLikeNoiseModel``; :mod:`cimspice.devices.pcm`);
- ``reram-wan2022``: the NeuRRAM chip's G-dependent relaxation at 1 s, 1 day, 2 days (Wan et
  al., Nature 2022, Extended Data Fig. 3; :mod:`cimspice.devices.reram`);
- ``spice-verify``: the outcomes of SPICE write-verify, calibrated by
  :mod:`cimspice.write.calibrate` and read from ``nonideal.programming_file``
  (:mod:`cimspice.devices.programmed`);
- ``memristor-rao2023``: 2,048 levels on CMOS (Rao ... Yang, Nature 2023); the level count
  is sourced, its spacing and noise figures are not (:mod:`cimspice.devices.multilevel`).

Every preset also takes die-to-die and tile-to-tile spread and conductance-dependent stuck
probabilities (:class:`~cimspice.devices.model.ParamModel`; off: no source gives figures);
:mod:`cimspice.devices.published` holds the independent published curves they are checked
against.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cimspice.devices.model import DeviceModel
from cimspice.errors import ModelError, SpecError

if TYPE_CHECKING:
    from cimspice.spec import CrossbarSpec, NonidealSpec

__all__ = ["MODELS", "ModelEntry", "device_model", "model_for", "register"]


@dataclass(frozen=True)
class ModelEntry:
    """One device model of the registry.

    Attributes:
        name: what ``nonideal.model`` holds.
        summary: one line for listings.
        module: the module that holds the model class (imported on first use).
        cls: the class's name in it; it has ``from_spec(spec)``.
    """

    name: str
    summary: str
    module: str
    cls: str

    def load(self) -> Any:
        """The model class (it has ``from_spec(nonideal, g_min, g_max)``)."""
        return getattr(importlib.import_module(self.module), self.cls)


MODELS: dict[str, ModelEntry] = {
    entry.name: entry
    for entry in (
        ModelEntry(
            "generic",
            "Gaussian programming noise, white read noise, power-law drift ([nonideal] keys)",
            "cimspice.devices.generic",
            "GenericModel",
        ),
        ModelEntry(
            "pcm-nandakumar2019",
            "PCM fitted to 1M devices (Nandakumar 2019 / Joshi 2020; aihwkit PCMLikeNoiseModel)",
            "cimspice.devices.pcm",
            "PCMModel",
        ),
        ModelEntry(
            "reram-wan2022",
            "NeuRRAM ReRAM relaxation (Wan et al. 2022, Extended Data Fig. 3)",
            "cimspice.devices.reram",
            "ReRAMWan2022Model",
        ),
        ModelEntry(
            "spice-verify",
            "write-verify outcomes calibrated from SPICE (nonideal.programming_file)",
            "cimspice.devices.programmed",
            "SpiceVerifyModel",
        ),
        ModelEntry(
            "memristor-rao2023",
            "2,048-level memristor on CMOS (Rao ... Yang, Nature 2023)",
            "cimspice.devices.multilevel",
            "MultiLevelModel",
        ),
    )
}
"""Every device model by name."""


def register(entry: ModelEntry) -> None:
    """Add (or replace) a device model; ``nonideal.model = entry.name`` selects it.

    The registry is per process: sweeps on worker processes or a Dask cluster
    (``evaluate --jobs``, ``--executor dask``) see a registered model only if their workers
    import the module that registers it.
    """
    MODELS[entry.name] = entry
    model_for.cache_clear()


def device_model(spec: CrossbarSpec) -> DeviceModel:
    """The device model ``spec.nonideal`` selects, with its parameters and ``spec``'s window.

    Raises:
        SpecError: an unknown model (``nonideal.model``) or parameter
            (``nonideal.model_params.NAME``), a bad value, or keys of the generic model set
            for another model.
        ModelError: a registered class that does not build a
            :class:`~cimspice.devices.model.DeviceModel`.
    """
    nonideal = spec.nonideal
    if nonideal.programming_file:  # a file relative to the spec's: resolved under its policy
        from cimspice.devices.programmed import resolve_programming_file

        path = str(resolve_programming_file(spec))
        nonideal = dataclasses.replace(nonideal, programming_file=path)
    return model_for(nonideal, spec.device.g_min, spec.device.g_max)


@functools.lru_cache(maxsize=64)
def model_for(nonideal: NonidealSpec, g_min: float, g_max: float) -> DeviceModel:
    """:func:`device_model` from its parts (cached: a model is built once per spec)."""
    entry = MODELS.get(nonideal.model)
    if entry is None:
        raise SpecError(
            f"unknown device model {nonideal.model!r}; known: {', '.join(MODELS)}",
            key="nonideal.model",
        )
    model = entry.load().from_spec(nonideal, g_min, g_max)
    if not isinstance(model, DeviceModel):
        raise ModelError(
            f"device model {entry.name!r} ({entry.module}.{entry.cls}) built a "
            f"{type(model).__name__}, which lacks the DeviceModel methods"
        )
    return model
