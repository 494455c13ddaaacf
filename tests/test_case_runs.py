"""Compensation studies' runs (a network on many cases, each over device seeds) on worker
processes and Dask, kept in the study cache and resumed: the same numbers whatever ran
them, an interrupted study resumed where it stopped (cimspice.studies.case_runs).

Small cases: the digits MLP on 16x16 tiles with wires, programming and read noise, 120
samples."""

import copy
import dataclasses

import pytest

from cimspice.errors import InputError
from cimspice.spec import load_spec, spec_from_dict
from cimspice.studies import case_runs
from cimspice.studies.case_runs import CaseData, run_network_cases
from cimspice.studies.evaluate import resolve_model, samples_of
from cimspice.studies.schemes import run_seeds, scheme_cases
from cimspice.sweep import SweepCache

SPEC = {
    "array": {"rows": 16, "cols": 16},
    "wire": {"r_row": 5.0, "r_col": 5.0},
    "driver": {"v_read": 0.2},
    "readout": {"adc_bits": 8, "adc_full_scale": 20e-6},
    "device": {"g_min": 1e-6, "g_max": 25e-6},
    "nonideal": {"prog_noise_rel": 0.4, "read_noise": 0.05},
}


@pytest.fixture(scope="module")
def study():
    model, data = resolve_model("digits-mlp")  # trained once, then cached
    x, y = samples_of(data, "test")
    cases = scheme_cases(spec_from_dict(SPEC), hardware_aware=0.0, tile_sizes=(8,))
    chosen = [(cases["baseline"], 2), (cases["ir-predistort"], 2), (cases["partitioning 8x8"], 1)]
    return CaseData({0.0: model}, x[:120], y[:120], data.x_train[:300]), chosen


def test_a_cases_seeds_combine_as_run_seeds_combines_them(study):
    data, cases = study
    base, seeds = cases[0]
    (outcome,) = run_network_cases([(base, seeds)], data)
    model = data.models[0.0]
    expected = run_seeds(
        base, model, data.x, data.y, seeds=seeds, calibration=data.calibration, cost=data.cost
    )
    assert outcome == expected
    assert outcome.seeds == 2 and outcome.accuracy_std > 0  # the seeds' devices differ


def test_the_pool_and_dask_give_one_processes_numbers(study):
    data, cases = study
    serial = run_network_cases(cases, data, jobs=1)
    assert [o.label for o in serial] == [c.label for c, _ in cases]
    # every run is the same function of its own spec, the seeds combined in seed order:
    # equal, not close
    assert run_network_cases(cases, data, jobs=2) == serial
    assert run_network_cases(cases, data, jobs=2, executor="dask") == serial


def test_an_interrupted_study_resumes_where_it_stopped(study, tmp_path, monkeypatch):
    data, cases = study
    whole = run_network_cases(cases, data)  # no cache
    cache = SweepCache(tmp_path)
    original = case_runs.case_outcome
    calls = []

    def stopped_at_the_fourth(shared, case):
        calls.append(case.label)
        if len(calls) == 4:
            raise KeyboardInterrupt  # as Ctrl-C would, in the middle of the study
        return original(shared, case)

    monkeypatch.setattr(case_runs, "case_outcome", stopped_at_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        run_network_cases(cases, data, cache=cache)
    # the tasks: the pre-distorted case's two seeds (the longest, first), the baseline's two
    # seeds, the partitioned case: stopped in the baseline's second run, the first task kept
    assert calls == ["ir-predistort", "ir-predistort", "baseline", "baseline"]
    assert len(list(tmp_path.rglob("*.npz"))) == 2
    calls.clear()
    monkeypatch.setattr(
        case_runs, "case_outcome", lambda s, c: calls.append(c.label) or original(s, c)
    )
    resumed = run_network_cases(cases, data, cache=cache)
    assert calls == ["baseline", "baseline", "partitioning 8x8"]  # what was not kept alone
    assert resumed == whole  # the kept runs read back to the last bit
    calls.clear()
    assert run_network_cases(cases, data, cache=cache) == whole and not calls


def test_a_tampered_run_is_run_again(study, tmp_path):
    data, cases = study
    cache = SweepCache(tmp_path)
    first = run_network_cases(cases[:1], data, cache=cache)
    entry = next(tmp_path.rglob("*.npz"))
    entry.write_bytes(entry.read_bytes()[:-40])
    with pytest.warns(RuntimeWarning, match="failed its check"):
        again = run_network_cases(cases[:1], data, cache=cache)
    assert again == first


def test_pre_distorted_runs_of_the_same_tiles_share_a_task(study):
    _, cases = study
    base = dataclasses.replace(cases[1][0], label="a")  # ir-predistort
    noisier = dataclasses.replace(
        base,
        label="b",
        spec=spec_from_dict({**SPEC, "nonideal": {**SPEC["nonideal"], "read_noise": 0.1}}),
    )
    other_tiles = dataclasses.replace(
        base, label="c", spec=spec_from_dict({**SPEC, "array": {"rows": 8, "cols": 8}})
    )
    runs = [base, base, noisier, cases[0][0], other_tiles]
    groups = case_runs._groups(runs, [0, 0, 1, 2, 3], [0, 1, 2, 3, 4])
    # the same tiles and weights (devices aside) in one task; plain cases last
    assert groups == [[0, 1, 2], [4], [3]]


def test_a_case_without_seeds_is_refused_before_any_run(study):
    data, cases = study
    with pytest.raises(InputError, match="at least one device seed"):
        run_network_cases([(cases[0][0], 1), (cases[1][0], 0)], data)


def test_the_key_tells_cases_and_seeds_apart(study):
    data, cases = study
    base = cases[0][0]
    other_seed = dataclasses.replace(
        base, spec=spec_from_dict({**SPEC, "nonideal": {**SPEC["nonideal"], "seed": 1}})
    )
    keys = {data.key(base), data.key(other_seed), data.key(cases[1][0])}
    assert len(keys) == 3
    fewer = CaseData(data.models, data.x[:60], data.y[:60], data.calibration)
    assert fewer.fingerprint != data.fingerprint and fewer.key(base) != data.key(base)
    # the label changes no number; another model (of another training) does
    assert data.key(dataclasses.replace(base, label="renamed")) == data.key(base)
    aware = dataclasses.replace(base, hardware_aware=0.1)
    other = copy.deepcopy(data.models[0.0])
    other.layers[0].weight[0, 0] += 1e-3
    two = CaseData({0.0: data.models[0.0], 0.1: other}, data.x, data.y, data.calibration)
    assert two.key(aware) != two.key(base) == data.key(base)


def test_the_key_holds_the_contents_of_the_files_the_spec_names(study, tmp_path):
    data, cases = study
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(
        '[array]\nrows = 16\ncols = 16\n[nonideal]\nmodel = "spice-verify"\n'
        'programming_file = "p.json"\n'
    )
    table = tmp_path / "p.json"
    table.write_text('{"calibrated": 1}')  # only its bytes matter to the key
    case = dataclasses.replace(cases[0][0], spec=load_spec(spec_file))
    before = data.key(case)
    assert data.key(dataclasses.replace(case, spec=load_spec(spec_file))) == before
    table.write_text('{"calibrated": 2}')  # recalibrated: the same name, other contents
    assert data.key(dataclasses.replace(case, spec=load_spec(spec_file))) != before
