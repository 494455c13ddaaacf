"""Wrong calls to the public Python API end in the project's own error, naming the argument.

Every case in the table below ended, before these checks existed, in a raw ``TypeError``,
``AttributeError`` or numpy error from deep inside, or in no error at all (a negative energy,
a calibration with no random matrices, a bool taken from a string). Each now raises a
:class:`~cimspice.errors.CimspiceError` subclass whose message names the argument (or the
spec key) at fault, before any work. Specs given as paths are accepted where DESIGN says "a
loaded spec or a path".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cimspice import build_deck, load_spec, render, simulate, spec_from_dict
from cimspice.compensation import column_calibration as cc
from cimspice.compensation import default_targets, evaluate_scheme, make_scheme
from cimspice.compensation import input_scaling as ins
from cimspice.compensation import ir_predistort as ip
from cimspice.compensation import partitioning as pt
from cimspice.compensation import reference_column as rc
from cimspice.compensation import write_verify as wv
from cimspice.compensation.cost import CostModel
from cimspice.compensation.tile import Bench
from cimspice.converters import adc, dac
from cimspice.engines.ngspice import NgspiceEngine
from cimspice.engines.nodal import NodalSolver
from cimspice.engines.transient import run_transient
from cimspice.errors import CimspiceError, InputError, ModelError, SpecError
from cimspice.mapping.matmul import HardwareMatMul
from cimspice.nn.layers import Dense
from cimspice.nn.model import Model, load_model, save_model
from cimspice.nn.state_dict import model_from_state_dict
from cimspice.nn.training import accuracy
from cimspice.nn.zoo import builtin_model, cache_path
from cimspice.spec import (
    AccessSpec,
    ArraySpec,
    CrossbarSpec,
    DeviceSpec,
    DriverSpec,
    MappingSpec,
    NonidealSpec,
    ReadoutSpec,
    SelectorSpec,
    WireSpec,
)
from cimspice.studies.evaluate import evaluate, resolve_model, samples_of
from cimspice.studies.mixed_precision import MixedPrecisionParams
from cimspice.studies.sweeps import parse_sweep, run_sweep, with_value
from cimspice.surrogate.calibrate import calibrate
from cimspice.surrogate.model import SurrogateEngine, TileParams, TileSurrogate, load_surrogate
from cimspice.sweep import Case, SweepCache, run_cases

SPEC = spec_from_dict({"array": {"rows": 4, "cols": 3}, "wire": {"r_row": 2.0, "r_col": 2.0}})
G = np.full((4, 3), 1e-5)
V = np.full((2, 4), 0.1)
RAGGED = [[1e-5, 1e-5, 1e-5], [1e-5]]
RAGGED_V = [[0.1] * 4, [0.1]]
RESULT = simulate(SPEC, G, V, engine="nodal")


def model() -> Model:
    return Model("tiny", [Dense(np.ones((4, 3)), np.zeros(3))], (4,))


X = np.zeros((2, 4))
Y = np.array([0, 1])

# (id, call, expected error type, words the message must hold: the argument or key)
CASES: list[tuple[str, Callable[[], object], type[CimspiceError], str]] = [
    # ----- top level: simulate, render, build_deck, load_spec, spec_from_dict -----
    ("simulate-spec-int", lambda: simulate(5, G, V), InputError, "spec"),
    ("simulate-spec-dict", lambda: simulate({"array": {}}, G, V), InputError, "spec"),
    ("simulate-ragged-G", lambda: simulate(SPEC, RAGGED, V), InputError, "conductances"),
    ("simulate-ragged-V", lambda: simulate(SPEC, G, RAGGED_V), InputError, "inputs"),
    (
        "simulate-node_voltages-str",
        lambda: simulate(SPEC, G, V, node_voltages="yes"),
        InputError,
        "node_voltages",
    ),
    ("render-spec-int", lambda: render(5), InputError, "spec"),
    ("build_deck-sweep", lambda: build_deck(SPEC, G, V, sweep="bogus"), InputError, "sweep"),
    (
        "build_deck-save_nodes-str",
        lambda: build_deck(SPEC, G, V, save_nodes="no"),
        InputError,
        "save_nodes",
    ),
    ("build_deck-transient", lambda: build_deck(SPEC, transient=5), InputError, "transient"),
    ("load_spec-int", lambda: load_spec(5), InputError, "path"),
    ("load_spec-None", lambda: load_spec(None), InputError, "path"),
    ("spec_from_dict-int", lambda: spec_from_dict(5), SpecError, "table of sections"),
    # ----- spec dataclasses built directly: the same rules as load_spec -----
    ("WireSpec-str", lambda: WireSpec(r_row="2"), SpecError, "wire.r_row"),
    ("WireSpec-None", lambda: WireSpec(r_col=None), SpecError, "wire.r_col"),
    ("DriverSpec-dac_bits-str", lambda: DriverSpec(dac_bits="8"), SpecError, "driver.dac_bits"),
    ("DriverSpec-v_read-str", lambda: DriverSpec(v_read="0.2"), SpecError, "driver.v_read"),
    (
        "DriverSpec-dac_signed-str",
        lambda: DriverSpec(dac_bits=4, dac_signed="yes"),
        SpecError,
        "driver.dac_signed",
    ),
    (
        "ReadoutSpec-adc_bits-float",
        lambda: ReadoutSpec(adc_bits=8.5, adc_full_scale=1.0),
        SpecError,
        "readout.adc_bits",
    ),
    ("ReadoutSpec-r_f-str", lambda: ReadoutSpec(r_f="1k"), SpecError, "readout.r_f"),
    ("DeviceSpec-g_min-str", lambda: DeviceSpec(g_min="1e-6"), SpecError, "device.g_min"),
    ("AccessSpec-model-int", lambda: AccessSpec(model=5), SpecError, "access.model"),
    (
        "AccessSpec-model_file-int",
        lambda: AccessSpec(model_file=5),
        SpecError,
        "access.model_file",
    ),
    ("AccessSpec-w-str", lambda: AccessSpec(w="500n"), SpecError, "access.w"),
    ("SelectorSpec-i_s-str", lambda: SelectorSpec(i_s="1n"), SpecError, "selector.i_s"),
    (
        "MappingSpec-weight_bits-str",
        lambda: MappingSpec(weight_bits="4"),
        SpecError,
        "mapping.weight_bits",
    ),
    ("NonidealSpec-levels-str", lambda: NonidealSpec(levels="64"), SpecError, "nonideal.levels"),
    (
        "NonidealSpec-read_noise-str",
        lambda: NonidealSpec(read_noise="0.1"),
        SpecError,
        "nonideal.read_noise",
    ),
    (
        "NonidealSpec-drift_compensation-str",
        lambda: NonidealSpec(drift_compensation="yes"),
        SpecError,
        "nonideal.drift_compensation",
    ),
    ("NonidealSpec-seed-float", lambda: NonidealSpec(seed=1.5), SpecError, "nonideal.seed"),
    (
        "CrossbarSpec-array-dict",
        lambda: CrossbarSpec(array={"rows": 2, "cols": 2}),
        SpecError,
        "array",
    ),
    (
        "CrossbarSpec-wire-dict",
        lambda: CrossbarSpec(array=ArraySpec(2, 2), wire={"r_row": 1.0}),
        SpecError,
        "wire",
    ),
    ("CrossbarSpec-array-None", lambda: CrossbarSpec(array=None), SpecError, "array"),
    # ----- Result -----
    ("energy_per_mvm-negative", lambda: RESULT.energy_per_mvm(-1), InputError, "t_read"),
    ("energy_per_mvm-str", lambda: RESULT.energy_per_mvm("1e-9"), InputError, "t_read"),
    ("energy_per_mvm-nan", lambda: RESULT.energy_per_mvm(float("nan")), InputError, "t_read"),
    ("cell_voltages-absent", lambda: RESULT.cell_voltages, InputError, "node_voltages"),
    ("Result.save-int", lambda: RESULT.save(5), InputError, "path"),
    # ----- engines and converters -----
    ("NodalSolver-spec-int", lambda: NodalSolver(5, G), InputError, "spec"),
    ("NodalSolver-ragged", lambda: NodalSolver(SPEC, RAGGED), InputError, "conductances"),
    (
        "NodalSolver.solve-ragged",
        lambda: NodalSolver(SPEC, G).solve(RAGGED_V),
        InputError,
        "inputs",
    ),
    ("dac-spec-int", lambda: dac(5, V), InputError, "spec"),
    ("dac-ragged", lambda: dac(SPEC, RAGGED_V), InputError, "inputs"),
    ("adc-spec-int", lambda: adc(5, V), InputError, "spec"),
    ("adc-no-adc", lambda: adc(SPEC, V), InputError, "adc_bits"),
    # ----- surrogate -----
    ("load_surrogate-int", lambda: load_surrogate(5), InputError, "path"),
    ("SurrogateEngine-int", lambda: SurrogateEngine(5), InputError, "surrogate"),
    ("calibrate-spec-int", lambda: calibrate(5), InputError, "spec"),
    ("calibrate-samples-str", lambda: calibrate(SPEC, samples="8"), InputError, "samples"),
    ("calibrate-samples-0", lambda: calibrate(SPEC, samples=0), InputError, "samples"),
    ("calibrate-seed-str", lambda: calibrate(SPEC, seed="0"), InputError, "seed"),
    ("calibrate-seed-negative", lambda: calibrate(SPEC, seed=-1), InputError, "seed"),
    ("calibrate-cache_dir-int", lambda: calibrate(SPEC, cache_dir=5), InputError, "cache_dir"),
    ("calibrate-jobs-str", lambda: calibrate(SPEC, jobs="2"), InputError, "jobs"),
    ("calibrate-scheduler-int", lambda: calibrate(SPEC, scheduler=5), InputError, "scheduler"),
    # ----- sweeps -----
    ("run_cases-spec-int", lambda: run_cases(5, [Case("a", G, V)]), InputError, "spec"),
    ("run_cases-case-int", lambda: run_cases(SPEC, [5]), InputError, "cases[0]"),
    ("run_cases-cases-str", lambda: run_cases(SPEC, "abc"), InputError, "cases"),
    (
        "run_cases-jobs-str",
        lambda: run_cases(SPEC, [Case("a", G, V)], jobs="2"),
        InputError,
        "jobs",
    ),
    (
        "run_cases-ragged",
        lambda: run_cases(SPEC, [Case("a", RAGGED, V)]),
        InputError,
        "conductances",
    ),
    ("SweepCache-int", lambda: SweepCache(5), InputError, "root"),
    # ----- networks -----
    ("resolve_model-int", lambda: resolve_model(5), InputError, "name_or_path"),
    (
        "resolve_model-hardware_aware-str",
        lambda: resolve_model("x.npz", hardware_aware="0.1"),
        InputError,
        "hardware_aware",
    ),
    ("samples_of-str", lambda: samples_of("digits", "test"), InputError, "data"),
    ("load_model-int", lambda: load_model(5), InputError, "path"),
    ("save_model-int", lambda: save_model(5, "m.npz"), InputError, "model"),
    (
        "builtin_model-hardware_aware-str",
        lambda: builtin_model("digits-mlp", hardware_aware="0.1"),
        InputError,
        "hardware_aware",
    ),
    (
        "cache_path-cache_dir-int",
        lambda: cache_path("digits-mlp", cache_dir=5),
        InputError,
        "cache_dir",
    ),
    ("model_from_state_dict-int", lambda: model_from_state_dict(5), InputError, "path_or_dict"),
    (
        "Model-input_shape-int",
        lambda: Model("m", [Dense(np.ones((4, 3)), np.zeros(3))], 4),
        ModelError,
        "input_shape",
    ),
    ("Model-layers-str", lambda: Model("m", "dense", (4,)), ModelError, "layers"),
    ("evaluate-model-str", lambda: evaluate("digits-mlp", X, Y, SPEC), InputError, "model"),
    ("evaluate-x-ragged", lambda: evaluate(model(), RAGGED_V, Y, SPEC), InputError, "x"),
    ("evaluate-y-str", lambda: evaluate(model(), X, "ab", SPEC), InputError, "y"),
    ("evaluate-y-float", lambda: evaluate(model(), X, [0.5, 1.5], SPEC), InputError, "y"),
    ("evaluate-spec-int", lambda: evaluate(model(), X, Y, 5), InputError, "spec"),
    (
        "evaluate-batch_size-0",
        lambda: evaluate(model(), X, Y, SPEC, batch_size=0),
        InputError,
        "batch_size",
    ),
    ("HardwareMatMul-spec-int", lambda: HardwareMatMul(5), InputError, "spec"),
    ("HardwareMatMul-fold-str", lambda: HardwareMatMul(SPEC, fold="no"), InputError, "fold"),
    (
        "HardwareMatMul-surrogate-str",
        lambda: HardwareMatMul(SPEC, surrogate="s.json"),
        InputError,
        "surrogate",
    ),
    (
        "HardwareMatMul-probe_vectors-0",
        lambda: HardwareMatMul(SPEC, probe_vectors=0),
        InputError,
        "probe_vectors",
    ),
    (
        "HardwareMatMul-input_ranges-list",
        lambda: HardwareMatMul(SPEC, input_ranges=[1.0]),
        InputError,
        "input_ranges",
    ),
    # ----- compensation: evaluate_scheme, parameters, transforms -----
    ("evaluate_scheme-spec-int", lambda: evaluate_scheme("partitioning", 5, G), InputError, "spec"),
    (
        "evaluate_scheme-batch-str",
        lambda: evaluate_scheme("partitioning", SPEC, G, engine="nodal", batch="4"),
        InputError,
        "batch",
    ),
    (
        "evaluate_scheme-seed-negative",
        lambda: evaluate_scheme("partitioning", SPEC, G, engine="nodal", seed=-1),
        InputError,
        "seed",
    ),
    (
        "evaluate_scheme-engine-ideal",
        lambda: evaluate_scheme("partitioning", SPEC, G, engine="ideal"),
        InputError,
        "engine must be one of ngspice, nodal",
    ),
    (
        "evaluate_scheme-param-str",
        lambda: evaluate_scheme("partitioning", SPEC, G, engine="nodal", tile_rows="2"),
        InputError,
        "tile_rows",
    ),
    (
        "evaluate_scheme-cost-int",
        lambda: evaluate_scheme("partitioning", SPEC, G, engine="nodal", cost=5),
        InputError,
        "cost",
    ),
    (
        "evaluate_scheme-ragged",
        lambda: evaluate_scheme("partitioning", SPEC, RAGGED, engine="nodal"),
        InputError,
        "conductances",
    ),
    ("default_targets-spec-int", lambda: default_targets(5), InputError, "spec"),
    ("default_targets-seed-negative", lambda: default_targets(SPEC, seed=-1), InputError, "seed"),
    ("CostModel-t_read-str", lambda: CostModel(t_read="1e-9"), InputError, "t_read"),
    ("CostModel-adc_bits-float", lambda: CostModel(adc_bits=8.5), InputError, "adc_bits"),
    (
        "CostModel-digital_add-negative",
        lambda: CostModel(digital_add=-1.0),
        InputError,
        "digital_add",
    ),
    ("PredistortParams-tol-str", lambda: ip.PredistortParams(tol="1e-9"), InputError, "tol"),
    (
        "PredistortParams-max_iter-float",
        lambda: ip.PredistortParams(max_iter=2.5),
        InputError,
        "max_iter",
    ),
    ("PartitionParams-str", lambda: pt.PartitionParams(tile_rows="4"), InputError, "tile_rows"),
    (
        "InputScalingParams-scale-str",
        lambda: ins.InputScalingParams(scale="0.5"),
        InputError,
        "scale",
    ),
    ("InputScalingParams-bits-float", lambda: ins.InputScalingParams(bits=2.5), InputError, "bits"),
    (
        "CalibrationParams-vectors-str",
        lambda: cc.CalibrationParams(vectors="4"),
        InputError,
        "vectors",
    ),
    ("CalibrationParams-seed-negative", lambda: cc.CalibrationParams(seed=-1), InputError, "seed"),
    ("WriteVerifyParams-tol-str", lambda: wv.WriteVerifyParams(tol="0.1"), InputError, "tol"),
    (
        "WriteVerifyParams-max_pulses-float",
        lambda: wv.WriteVerifyParams(max_pulses=2.5),
        InputError,
        "max_pulses",
    ),
    ("WriteVerifyParams-seed-negative", lambda: wv.WriteVerifyParams(seed=-1), InputError, "seed"),
    (
        "MixedPrecisionParams-budget-str",
        lambda: MixedPrecisionParams(budget="1e-12"),
        InputError,
        "budget",
    ),
    ("predistort-spec-int", lambda: ip.predistort(5, G), InputError, "spec"),
    ("predistort-ragged", lambda: ip.predistort(SPEC, RAGGED), InputError, "conductances"),
    ("predistort-alpha-str", lambda: ip.predistort(SPEC, G, alpha="1"), InputError, "alpha"),
    ("predistort-params-int", lambda: ip.predistort(SPEC, G, params=5), InputError, "params"),
    (
        "predistort-start-ragged",
        lambda: ip.predistort(SPEC, G, start=RAGGED),
        InputError,
        "conductances",
    ),
    ("rescaled-plain-int", lambda: ip.rescaled(SPEC, G, plain=5), InputError, "plain"),
    ("column-fit-ragged", lambda: cc.fit(RAGGED, [[1.0], [2.0]]), InputError, "ideal"),
    (
        "column-apply-ragged",
        lambda: cc.ColumnCalibration(np.ones(3), np.zeros(3)).apply(RAGGED_V),
        InputError,
        "outputs",
    ),
    ("layout-mode", lambda: rc.layout(SPEC, G, "bogus"), InputError, "mode"),
    ("layout-ragged", lambda: rc.layout(SPEC, RAGGED, "dummy"), InputError, "conductances"),
    ("cancel-layout-int", lambda: rc.cancel(np.zeros((2, 4)), 5), InputError, "lay"),
    # the bench holds the tile, targets and inputs every scheme is measured on
    (
        "partitioned_mvm-params-int",
        lambda: pt.partitioned_mvm(Bench(SPEC, G, engine="nodal", batch=2), 5),
        InputError,
        "params",
    ),
    (
        "partitioned_mvm-bench-int",
        lambda: pt.partitioned_mvm(5, pt.PartitionParams()),
        InputError,
        "bench",
    ),
    ("Bench-spec-int", lambda: Bench(5, G, engine="nodal"), InputError, "spec"),
    ("Bench-ragged", lambda: Bench(SPEC, RAGGED, engine="nodal"), InputError, "conductances"),
    ("Bench-batch-float", lambda: Bench(SPEC, G, engine="nodal", batch=2.5), InputError, "batch"),
    ("Bench-seed-str", lambda: Bench(SPEC, G, engine="nodal", seed="0"), InputError, "seed"),
    ("Bench-engine-int", lambda: Bench(SPEC, G, engine=5), InputError, "engine"),
    ("Bench-cost-str", lambda: Bench(SPEC, G, engine="nodal", cost="low"), InputError, "cost"),
    ("make_scheme-name-int", lambda: make_scheme(5), InputError, "unknown scheme"),
    (
        "evaluate_scheme-scheme-object",
        lambda: evaluate_scheme(object(), SPEC, G, engine="nodal"),
        InputError,
        "scheme must be",
    ),
    (
        "column-calibrate-tile-int",
        lambda: cc.calibrate(5, G),
        InputError,
        "tile",
    ),
    (
        "column-calibrate-params-int",
        lambda: cc.calibrate(Bench(SPEC, G, engine="nodal").baseline, G, params=5),
        InputError,
        "params",
    ),
    (
        "cancel-outputs-columns",
        lambda: rc.cancel(np.zeros((2, 3)), rc.layout(SPEC, G, "dummy")),
        InputError,
        "outputs",
    ),
    ("bit_planes-bits-str", lambda: ins.bit_planes(V, 0.2, "4", 0.2), InputError, "bits"),
    ("bit_planes-v_read-0", lambda: ins.bit_planes(V, 0.0, 4, 0.2), InputError, "v_read"),
    ("bit_planes-ragged", lambda: ins.bit_planes(RAGGED_V, 0.2, 4, 0.2), InputError, "inputs"),
    ("planes_gain-spec-int", lambda: ins.planes_gain(5, 0.1), InputError, "spec"),
    ("program-params-int", lambda: wv.program(SPEC, G, 5), InputError, "params"),
    # ----- studies, transients, surrogate objects -----
    (
        "run_sweep-spec-int",
        lambda: run_sweep(model(), X, Y, 5, key="wire.r_row", values=[0.0]),
        InputError,
        "spec",
    ),
    (
        "run_sweep-seeds-str",
        lambda: run_sweep(model(), X, Y, SPEC, key="wire.r_row", values=[0.0], seeds="2"),
        InputError,
        "seeds",
    ),
    ("parse_sweep-int", lambda: parse_sweep(5), InputError, "text"),
    ("with_value-key-int", lambda: with_value(SPEC, 5, 1.0), InputError, "key"),
    (
        "run_transient-engine-int",
        lambda: run_transient(5, SPEC, G, V[0], t_stop=1e-9),
        InputError,
        "engine",
    ),
    (
        "run_transient-spec-int",
        lambda: run_transient(NgspiceEngine(), 5, G, V[0], t_stop=1e-9),
        InputError,
        "spec",
    ),
    (
        "run_transient-t_stop-str",
        lambda: run_transient(NgspiceEngine(), SPEC, G, V[0], t_stop="1n"),
        InputError,
        "t_stop",
    ),
    (
        "TileSurrogate.save-int",
        lambda: TileSurrogate(SPEC, TileParams.from_spec(SPEC)).save(5),
        InputError,
        "path",
    ),
    (
        "TileSurrogate-spec-dict",
        lambda: TileSurrogate({"array": {}}, TileParams.from_spec(SPEC)),
        InputError,
        "surrogate.spec",
    ),
    ("TileParams-str", lambda: TileParams("1", 1.0, 1.0, 1.0), InputError, "params.r_first"),
    ("accuracy-model-str", lambda: accuracy("m", X, Y), InputError, "model"),
    (
        "accuracy-batch_size-0",
        lambda: accuracy(model(), X, Y, batch_size=0),
        InputError,
        "batch_size",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "names"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_wrong_call_raises_the_project_error_naming_the_argument(call, error, names):
    with pytest.raises(error) as info:
        call()
    assert names in str(info.value)


def test_the_table_has_no_duplicate_ids():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


# ----- specs given as paths are loaded -----


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text("[array]\nrows = 4\ncols = 3\n[wire]\nr_row = 2.0\nr_col = 2.0\n")
    return path


def test_simulate_and_render_accept_a_spec_path(spec_file):
    spec = load_spec(spec_file)
    for given in (spec_file, str(spec_file)):
        # the same spec, loaded by the call: the very same currents
        np.testing.assert_array_equal(simulate(given, G, V).currents, simulate(spec, G, V).currents)
        assert render(given, G, V) == render(spec, G, V)
    assert NodalSolver(spec_file, G).transfer_matrix().shape == (4, 3)


def test_a_missing_spec_path_is_a_spec_error_naming_the_file(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(SpecError, match=r"nope\.toml"):
        simulate(missing, G, V)


def test_compensation_and_hardware_accept_a_spec_path(spec_file):
    report = evaluate_scheme("partitioning", spec_file, G, engine="nodal", batch=2, tile_rows=2)
    assert report.scheme == "partitioning"
    assert HardwareMatMul(spec_file).spec == load_spec(spec_file)


# ----- spec dataclasses built directly follow the file's rules -----


def test_direct_construction_converts_like_load_spec():
    # an int given for a float is stored as a float, as a TOML integer is
    wire = WireSpec(r_row=2, r_col=np.float32(1.5))
    assert type(wire.r_row) is float and type(wire.r_col) is float
    assert wire == WireSpec(r_row=2.0, r_col=1.5)
    # numpy integers count as integers
    assert ArraySpec(rows=np.int64(4), cols=3).rows == 4
    spec = CrossbarSpec(array=ArraySpec(4, 3), source="x.toml")
    assert spec.source == Path("x.toml")


def test_direct_and_file_errors_have_the_same_message(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('[array]\nrows = 2\ncols = 2\n[wire]\nr_row = "2"\n')
    with pytest.raises(SpecError) as from_file:
        load_spec(path)
    with pytest.raises(SpecError) as direct:
        WireSpec(r_row="2")
    assert from_file.value.key == direct.value.key == "wire.r_row"
    assert str(from_file.value).endswith(str(direct.value))


def test_replace_is_checked_too():
    with pytest.raises(SpecError, match=r"driver\.v_read"):
        dataclasses.replace(SPEC.driver, v_read="0.2")
