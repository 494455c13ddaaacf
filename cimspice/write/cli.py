"""``cimspice write``: disturb, read disturb and write-verify in SPICE (argument parsing only).

Imports nothing heavy at module level: the command line builds its parser before numpy loads.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

__all__ = ["add_write_parser"]


def _number(rule: str, ok: Any, kind: type = float) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (math.isfinite(value) and ok(value)):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    return parse


_POSITIVE = _number("a finite number > 0", lambda v: v > 0)
_COUNT = _number("an integer >= 1", lambda v: v >= 1, int)
_INDEX = _number("an integer >= 0", lambda v: v >= 0, int)


def _generic_start() -> tuple[float, float, float]:
    """``(v_set_start, v_reset_start, step)`` for a user's dynamic model (``write.model_file``):
    :class:`~cimspice.write.verify.VerifyPolicy`'s defaults."""
    from cimspice.write.verify import VerifyPolicy

    policy = VerifyPolicy()
    return policy.v_set_start, policy.v_reset_start, policy.step


def _cell(text: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"must be ROW,COL (integers >= 0), got {text!r}")
    return int(parts[0]), int(parts[1])


def add_write_parser(sub: Any, *, spec_help: str) -> None:
    """Add ``write`` and its actions to the command line's subparsers (``spec_help``: the
    help of their SPEC argument, as every command words it)."""
    p = sub.add_parser(
        "write",
        help="write the array in SPICE: disturb, read disturb, write-verify",
        description="Write the array at circuit level with the dynamic memristor model of "
        "SPEC's [write] section (transient ngspice decks, cached with --cache).",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    d = actions.add_parser(
        "disturb",
        help="half-select disturb of repeated write pulses on one cell",
        description="Apply PULSES write pulses to one cell and report every other cell's "
        "conductance change (fraction of the model's window): the half-select disturb of the "
        "spec's biasing (write.bias on passive arrays; both V/2 and V/3 with --compare-bias).",
    )
    d.add_argument("spec", metavar="SPEC", help=spec_help)
    d.add_argument("--pulses", type=_COUNT, default=10, metavar="N", help="write pulses (10)")
    d.add_argument("--kind", choices=("set", "reset"), default="set", help="pulse kind (set)")
    d.add_argument("--cell", type=_cell, metavar="ROW,COL", help="written cell (the middle)")
    d.add_argument(
        "--compare-bias", action="store_true", help="passive arrays: run both V/2 and V/3"
    )
    _common(d)
    d.set_defaults(func=_cmd_disturb)

    r = actions.add_parser(
        "read-disturb",
        help="state change from repeated reads at driver.v_read",
        description="Read every row (or --row) READS times at driver.v_read and report the "
        "largest conductance change after each pass (fraction of the model's window).",
    )
    r.add_argument("spec", metavar="SPEC", help=spec_help)
    r.add_argument("--reads", type=_COUNT, default=10, metavar="N", help="read passes (10)")
    r.add_argument("--t-read", type=_POSITIVE, default=100e-9, metavar="S", help="read (100e-9)")
    r.add_argument("--row", type=_INDEX, metavar="I", help="read only this row")
    _common(r)
    r.set_defaults(func=_cmd_read_disturb)

    v = actions.add_parser(
        "verify",
        help="write-verify a target matrix row by row; calibrate the programming model",
        description="Program target conductances by write-verify in ngspice (program, read, "
        "adjust, row by row) and write the programmed conductances, pulses, time and energy to "
        "OUT.npz; with --calibration, fit the network-level programming model to the run and "
        "write it with its report (--report-dir), checked against a held-out run of other "
        "random targets (--held-out).",
    )
    v.add_argument("spec", metavar="SPEC", help=spec_help)
    v.add_argument("--targets", metavar="G.npy", help="targets, siemens (random: --seed)")
    v.add_argument("--seed", type=_INDEX, default=0, help="seed of random targets (0)")
    v.add_argument("--tol", type=_POSITIVE, default=0.03, help="tolerance, window fraction")
    v.add_argument("--mode", choices=("amplitude", "width"), default="amplitude")
    v.add_argument("--max-pulses", type=_COUNT, default=20, metavar="N", help="per cell (20)")
    from cimspice.write.models import BUILTIN_DYNAMIC_MODELS

    for flag, k, what in (
        ("--v-set-start", 0, "first SET amplitude"),
        ("--v-reset-start", 1, "first RESET amplitude"),
        ("--step", 2, "amplitude step"),
    ):
        builtin = ", ".join(f"{m} {b.verify_start[k]}" for m, b in BUILTIN_DYNAMIC_MODELS.items())
        v.add_argument(
            flag,
            type=_number("a number >= 0", lambda x: x >= 0) if k == 2 else _POSITIVE,
            metavar="V",
            help=f"{what}, volt (default: the built-in model's, {builtin}; a model_file's "
            f"{_generic_start()[k]})",
        )
    v.add_argument(
        "--on-crossing",
        choices=("halve", "restart"),
        default="halve",
        help="when a cell overshoots: back its level off by a step and halve the step "
        "(halve), or start the new direction again at its first level (restart)",
    )
    v.add_argument("--min-step", type=_POSITIVE, default=0.005, metavar="V", help="(0.005)")
    v.add_argument("-o", "--output", required=True, metavar="OUT.npz", help="results")
    v.add_argument("--calibration", metavar="MODEL.json", help="write the programming model")
    v.add_argument("--report-dir", metavar="DIR", help="calibration report (MODEL-report)")
    v.add_argument("--held-out", type=_COUNT, default=1, metavar="N", help="held-out runs (1)")
    v.add_argument(
        "--row-decks",
        action="store_true",
        help="1T1R: a deck per row and pulse, only that row's cells dynamic, the other rows "
        "static behind their off transistors (cimspice.write.deck)",
    )
    v.add_argument(
        "--static-cells",
        choices=("resistor", "open"),
        default="resistor",
        help="with --row-decks: the other rows' cells as fixed resistors with their "
        "transistors, or left out (faster)",
    )
    v.add_argument("--jobs", type=_COUNT, default=1, metavar="J", help="row decks at once (1)")
    _common(v, json_out=False)
    v.set_defaults(func=_cmd_verify)


def _common(p: argparse.ArgumentParser, *, json_out: bool = True) -> None:
    if json_out:
        p.add_argument("--json", metavar="OUT.json", help="write the figures as JSON")
        p.add_argument("--plot-dir", metavar="DIR", help="write the figure here")
    p.add_argument("--cache", metavar="DIR", help="cache of SPICE runs (resumes)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _plan(args: argparse.Namespace) -> Any:
    from cimspice.outputs import OutputPlan

    plan = OutputPlan()
    plan.read(args.spec, "SPEC")
    plan.read(getattr(args, "targets", None), "--targets")
    plan.cache(args.cache, "--cache")
    return plan


def _cache(args: argparse.Namespace) -> Any:
    from cimspice.sweep import SweepCache

    return SweepCache(args.cache) if args.cache else None


def _cmd_disturb(args: argparse.Namespace) -> None:
    import dataclasses

    from cimspice.caption import spec_caption
    from cimspice.errors import InputError
    from cimspice.plots import save_figure
    from cimspice.plots.write import plot_disturb_maps
    from cimspice.spec import CellKind, load_spec
    from cimspice.write.disturb import half_select_disturb

    spec = load_spec(args.spec)
    if args.compare_bias and spec.array.cell == CellKind.ONE_T_ONE_R:
        raise InputError("--compare-bias compares passive biasing schemes; SPEC is 1T1R")
    cell = args.cell if args.cell is not None else (spec.rows // 2, spec.cols // 2)
    if not (cell[0] < spec.rows and cell[1] < spec.cols):
        raise InputError(f"--cell {cell} is outside the {spec.rows}x{spec.cols} array")
    plan = _plan(args)
    if args.json:
        plan.write(args.json, "--json")
    if args.plot_dir:
        plan.folder(args.plot_dir, "--plot-dir", ["disturb.png"])
    biases = ("v/2", "v/3") if args.compare_bias else (spec.write.bias,)
    with plan:
        results = {}
        for bias in biases:
            s = dataclasses.replace(spec, write=dataclasses.replace(spec.write, bias=bias))
            results[bias] = half_select_disturb(
                s, args.pulses, cell=cell, kind=args.kind, cache=_cache(args),
                progress=not args.no_progress,
            )  # fmt: skip
        report = {
            bias: {
                "worst_disturb": r.worst_disturb().tolist(),
                "selected_change": float(r.disturb_map()[cell]),
                "energy_per_pulse_j": r.energy_per_pulse(),
                "window_s": [r.table.g_low, r.table.g_high],
            }
            for bias, r in results.items()
        }
        if args.json:
            Path(plan.stage(args.json)).write_text(json.dumps(report, indent=1))
        if args.plot_dir:
            label = "V/2 vs V/3" if len(biases) > 1 else biases[0]
            fig = plot_disturb_maps(
                {b: r.disturb_map() for b, r in results.items()},
                cell=cell,
                caption=spec_caption(spec, engine=f"ngspice, {spec.write.model} model, {label}"),
            )
            save_figure(fig, plan.stage(args.plot_dir) / "disturb.png")
    for bias, row in report.items():
        print(
            f"{bias}: {args.pulses} {args.kind} pulses on {cell}: selected cell "
            f"{row['selected_change']:+.3g}, largest other change {row['worst_disturb'][-1]:.3g} "
            f"of the window; {row['energy_per_pulse_j']:.3g} J per pulse"
        )


def _cmd_read_disturb(args: argparse.Namespace) -> None:
    from cimspice.errors import InputError
    from cimspice.plots import save_figure
    from cimspice.plots.write import plot_disturb_maps
    from cimspice.spec import load_spec
    from cimspice.write.disturb import read_disturb

    spec = load_spec(args.spec)
    if args.row is not None and args.row >= spec.rows:
        raise InputError(f"--row {args.row} is outside the array's {spec.rows} rows")
    plan = _plan(args)
    if args.json:
        plan.write(args.json, "--json")
    if args.plot_dir:
        plan.folder(args.plot_dir, "--plot-dir", ["read_disturb.png"])
    with plan:
        r = read_disturb(
            spec, args.reads, t_read=args.t_read, row=args.row, cache=_cache(args),
            progress=not args.no_progress,
        )  # fmt: skip
        worst = r.worst_disturb()
        if args.json:
            data = {"worst_disturb": worst.tolist(), "v_read": spec.driver.v_read}
            Path(plan.stage(args.json)).write_text(json.dumps(data, indent=1))
        if args.plot_dir:
            fig = plot_disturb_maps({f"after {args.reads} reads": r.disturb_map()})
            save_figure(fig, plan.stage(args.plot_dir) / "read_disturb.png")
    print(
        f"{args.reads} read passes at {spec.driver.v_read} V: largest change {worst[-1]:.3g} of "
        f"the window (after the first {worst[1]:.3g})"
    )


def _cmd_verify(args: argparse.Namespace) -> None:
    import numpy as np

    from cimspice.arrays import load_array
    from cimspice.spec import load_spec
    from cimspice.write.calibrate import (
        calibrate_programming,
        compare,
        write_calibration_report,
    )
    from cimspice.write.models import verify_start
    from cimspice.write.verify import VerifyPolicy, write_verify

    spec = load_spec(args.spec)
    v_set, v_reset, step = (
        given if given is not None else default
        for given, default in zip(
            (args.v_set_start, args.v_reset_start, args.step),
            verify_start(spec) or _generic_start(),
            strict=True,
        )
    )
    policy = VerifyPolicy(
        tol=args.tol,
        mode=args.mode,
        v_set_start=v_set,
        v_reset_start=v_reset,
        step=step,
        max_pulses=args.max_pulses,
        on_crossing=args.on_crossing,
        min_step=args.min_step,
    )
    g_min, g_max = spec.device.g_min, spec.device.g_max
    if args.targets:
        targets = load_array(args.targets, "--targets")
    else:
        targets = np.random.default_rng(args.seed).uniform(g_min, g_max, (spec.rows, spec.cols))
    plan = _plan(args)
    plan.write(args.output, "-o")
    report_dir = None
    if args.calibration:
        plan.write(args.calibration, "--calibration")
        out = Path(args.calibration)
        report_dir = (
            Path(args.report_dir) if args.report_dir else out.with_name(out.stem + "-report")
        )
        plan.folder(report_dir, "--report-dir", ["report.md", "errors.png"])
    with plan:
        rows = {"row_decks": args.row_decks, "static_cells": args.static_cells, "jobs": args.jobs}
        run = write_verify(
            spec, targets, policy, cache=_cache(args), progress=not args.no_progress, **rows
        )
        s = run.summary()
        with open(plan.stage(args.output), "wb") as handle:
            np.savez(
                handle,
                targets=run.targets,
                programmed=run.programmed,
                history=run.history,
                pulses=run.pulses,
                converged=run.converged,
                states=run.states,
                time_s=run.time_s,
                energy_j=run.energy_j,
            )
        if args.calibration and report_dir is not None:
            model = calibrate_programming(
                [run], source=f"{args.spec}: write-verify of random targets, seed {args.seed}"
            )
            held = None
            for k in range(args.held_out):
                rng = np.random.default_rng(args.seed + 1000 + k)
                other = rng.uniform(g_min, g_max, (spec.rows, spec.cols))
                h = write_verify(
                    spec, other, policy, cache=_cache(args), progress=not args.no_progress, **rows
                )
                held = h if held is None else _join(held, h)
            model.save(plan.stage(args.calibration))
            write_calibration_report(model, plan.stage(report_dir), held)
            if held is not None:
                c = compare(model, held)
                print(
                    f"programming model vs held-out SPICE ({int(c['cells'])} cells): RMS error "
                    f"{c['rms_model']:.3g} vs {c['rms_spice']:.3g}, KS distance {c['ks']:.3f}"
                )
    print(
        f"write-verify of {int(s['cells'])} cells: {100 * s['converged']:.1f}% within "
        f"{args.tol:g} of the window; RMS error {s['error_rms']:.3g}, max {s['error_max']:.3g}; "
        f"{s['pulses_mean']:.2f} pulses per cell (max {int(s['pulses_max'])}); "
        f"{s['time_s']:.3g} s and {s['energy_j']:.3g} J in all"
    )


def _join(a: Any, b: Any) -> Any:
    """Two verify results of one spec as one (cells side by side)."""
    import dataclasses

    import numpy as np

    cat = lambda x, y: np.concatenate([x, y], axis=-1)  # noqa: E731
    n = max(len(a.history), len(b.history))
    pad = lambda h: np.concatenate([h, np.repeat(h[-1:], n - len(h), axis=0)])  # noqa: E731
    return dataclasses.replace(
        a,
        targets=cat(a.targets, b.targets),
        programmed=cat(a.programmed, b.programmed),
        history=cat(pad(a.history), pad(b.history)),
        pulses=cat(a.pulses, b.pulses),
        converged=cat(a.converged, b.converged),
        states=cat(a.states, b.states),
        time_s=a.time_s + b.time_s,
        energy_j=a.energy_j + b.energy_j,
    )
