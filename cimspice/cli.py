"""The ``cimspice`` command line: argument parsing only; the work is done by the library.

Error contract: a command line the parser rejects (unknown flag, missing or malformed value,
a value out of range, flags that do not go together) exits with code 2 and the one line
``cimspice COMMAND: error: MESSAGE (see cimspice COMMAND --help)`` on stderr; any other error
exits with code 1 and the one line ``cimspice: error: MESSAGE``; an interrupt exits with 130.
No traceback for user errors. Every argument and output path is checked before any work; no
output replaces anything but a regular file, nor an input; the outputs of a command appear
together or not at all (:mod:`cimspice.outputs`). Warnings are printed, one line each, after
a command succeeds; numpy's floating-point warnings are not printed (the solvers check their
own answers).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from cimspice.compensation import MEASURING_ENGINES, SCHEME_NAMES
from cimspice.executors import EXECUTORS
from cimspice.simulation import ENGINE_NAMES, ENGINES

if TYPE_CHECKING:  # imported lazily at run time: the CLI starts before numpy loads
    from cimspice.engines.ngspice_process import WorkerProcess
    from cimspice.outputs import OutputPlan
    from cimspice.result import TransientResult
    from cimspice.spec import CrossbarSpec

__all__ = ["build_parser", "main"]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_NUMPY_FP = re.compile(r"encountered in |^Mean of empty slice|^Degrees of freedom <= 0")
"""numpy's floating-point RuntimeWarnings (overflow, invalid value, divide by zero, ...)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{_usage_line(self.prog, message)}\n")


def _usage_line(prog: str, message: str) -> str:
    flat = " ".join(message.split())
    return f"{prog}: error: {flat} (see {prog} --help)"


def _input_plan(args: argparse.Namespace, spec: CrossbarSpec | None = None) -> OutputPlan:
    """An output plan holding the command's input files (outputs are added by the caller)."""
    from cimspice.errors import SpecError
    from cimspice.outputs import OutputPlan

    plan = OutputPlan()
    plan.read(args.spec, "SPEC")
    for flag in ("conductances", "inputs", "surrogate"):
        plan.read(getattr(args, flag, None), f"--{flag}")
    if spec is not None and spec.access.model_file:
        try:
            plan.read(spec.model_path(), "access.model_file")
        except SpecError:
            pass  # a missing model file is reported where it is needed
    return plan


def _cmd_netlist(args: argparse.Namespace) -> None:
    from cimspice.arrays import load_array
    from cimspice.netlist import render
    from cimspice.outputs import atomic_output
    from cimspice.spec import load_spec

    spec = load_spec(args.spec)
    plan = _input_plan(args, spec)
    plan.write(args.output, "-o")
    with plan:
        g = load_array(args.conductances, "conductances") if args.conductances else None
        v = load_array(args.inputs, "inputs") if args.inputs else None
        if spec.is_charge:  # weight bits and line levels: the MAC-cycle transient
            from cimspice.charge.deck import render_charge

            text = render_charge(spec, g, v)
        else:
            text = render(spec, g, v, save_nodes=args.save_nodes)
        with atomic_output(plan.stage(args.output), "w") as handle:
            handle.write(text)


def _cmd_simulate(args: argparse.Namespace) -> None:
    worker = None
    if args.engine == "ngspice":
        # Start ngspice's worker before the heavy imports (numpy, jinja2), so that its own
        # start-up runs beside them on the other core.
        from cimspice.engines.ngspice_process import WorkerProcess

        worker = WorkerProcess()
    try:
        _simulate(args, worker)
    finally:
        if worker is not None:
            worker.discard()  # only if never used: a used worker's folder holds its result


def _simulate(args: argparse.Namespace, worker: WorkerProcess | None) -> None:
    from cimspice.spec import load_spec

    spec = load_spec(args.spec)
    plan = _input_plan(args, spec)
    plan.write(args.output, "-o")
    tran = args.analysis == "tran"
    if args.plot_dir is not None:
        names = (
            [_transient_plot(spec, pulsed=bool(args.pulse_period))]
            if tran
            else ["cell_voltages.png", "error_map.png"]
        )
        plan.folder(args.plot_dir, "--plot-dir", names)
    with plan:
        plots = (_simulate_transient if tran else _simulate_op)(args, worker, spec, plan)
    for name in plots:
        print(f"wrote {Path(args.plot_dir) / name}", file=sys.stderr)


def _simulate_transient(
    args: argparse.Namespace, worker: WorkerProcess | None, spec: CrossbarSpec, plan: OutputPlan
) -> list[str]:
    """The transient analysis; returns the plots written into ``--plot-dir``."""
    from cimspice.arrays import load_array
    from cimspice.engines.ngspice import NgspiceEngine
    from cimspice.engines.transient import run_transient

    g = load_array(args.conductances, "conductances")
    v = load_array(args.inputs, "inputs")
    engine = NgspiceEngine(timeout_s=args.timeout, keep=args.keep, worker=worker)
    result = run_transient(
        engine,
        spec,
        g,
        v,
        t_stop=args.t_stop,
        t_step=args.t_step,
        tol=args.settle_tol,
        pulse_period=args.pulse_period or 0.0,
    )
    result.save(plan.stage(args.output))
    if args.plot_dir is None:
        return []
    folder = plan.stage(args.plot_dir)
    return [_plot_transient(spec, result, folder, pulsed=bool(args.pulse_period))]


def _transient_plot(spec: CrossbarSpec, *, pulsed: bool) -> str:
    """The file a transient's plot goes to: ``integration.png`` for an integrator or
    pulse-width-encoded inputs, else ``settling.png``."""
    from cimspice.spec import ReadoutKind

    integrating = spec.readout.kind == ReadoutKind.INTEGRATOR or pulsed
    return "integration.png" if integrating else "settling.png"


def _plot_transient(
    spec: CrossbarSpec, result: TransientResult, folder: Path, *, pulsed: bool
) -> str:
    """``settling.png`` (step responses) or, for an integrator or pulse-width-encoded
    inputs, ``integration.png`` (the output and the charge collected over time); returns
    the file's name."""
    from cimspice.caption import spec_caption
    from cimspice.plots import plot_integration, plot_settling, save_figure
    from cimspice.spec import ReadoutKind

    caption = spec_caption(spec, engine="ngspice transient")
    waves = result.v_out if result.v_out is not None else result.currents
    quantity = "TIA output" if result.v_out is not None else "bit-line current"
    if spec.readout.kind == ReadoutKind.INTEGRATOR:
        figure = plot_integration(
            result.time,
            waves,
            result.currents,
            quantity="integrator output V_out",
            c_f=spec.readout.c_f,
            t_start=spec.readout.t_reset,
            title="charge integrator: its output (V_out = -Q / c_f) and the charge Q collected",
            caption=caption,
        )
    elif pulsed:
        figure = plot_integration(
            result.time,
            waves,
            result.currents,
            quantity=quantity,
            unit="V" if result.v_out is not None else "A",
            title=f"pulse-width-encoded inputs: the {quantity} and the charge collected",
            caption=caption,
        )
    else:
        figure = plot_settling(
            result.time,
            waves,
            result.settling_time,
            result.tol,
            quantity=quantity,
            caption=caption,
        )
    name = _transient_plot(spec, pulsed=pulsed)
    save_figure(figure, folder / name)
    return name


def _simulate_op(
    args: argparse.Namespace, worker: WorkerProcess | None, spec: CrossbarSpec, plan: OutputPlan
) -> list[str]:
    """The operating points; returns the plots written into ``--plot-dir``."""
    from cimspice.arrays import load_array
    from cimspice.simulation import get_engine

    options: dict[str, object] = {}
    if worker is not None:
        options = {"timeout_s": args.timeout, "keep": args.keep, "worker": worker}
    elif args.engine == "surrogate":
        options = {"surrogate": args.surrogate, "mode": args.mode}
    engine = get_engine(args.engine, **options)
    g = load_array(args.conductances, "conductances")
    v = load_array(args.inputs, "inputs")
    result = engine.run(spec, g, v, node_voltages=args.node_voltages)
    result.save(plan.stage(args.output))
    if args.plot_dir is None:
        return []
    import numpy as np

    from cimspice.caption import spec_caption
    from cimspice.plots import plot_cell_voltages, plot_error_map, save_figure

    if result.v_word is None:
        result = engine.run(spec, g, v, node_voltages=True)
    folder = plan.stage(args.plot_dir)
    caption = spec_caption(spec, engine=result.engine)
    inputs = np.atleast_2d(np.asarray(v, dtype=float))
    figure = plot_cell_voltages(
        result.cell_voltages[0], inputs[0], caption=f"{caption}; input vector 0"
    )
    save_figure(figure, folder / "cell_voltages.png")
    reference = inputs @ np.asarray(g, dtype=float)
    figure = plot_error_map(result.currents, reference, caption=caption)
    save_figure(figure, folder / "error_map.png")
    return ["cell_voltages.png", "error_map.png"]


def _timeout(text: str) -> float:
    """Argparse type: a time limit in seconds, finite, > 0, at most a week."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 7 * 86400:
        raise argparse.ArgumentTypeError(f"must be > 0 and at most 604800 s, got {text}")
    return value


def _positive_int(text: str) -> int:
    """Argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _ranged(kind: type[float] | type[int], ok: Callable[[float], bool], rule: str) -> Any:
    """An argparse type: a number of ``kind`` for which ``ok`` holds (``rule`` says which)."""
    noun = "an integer" if kind is int else "a number"

    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    parse.__name__ = f"{noun} {rule}"
    return parse


_positive = _ranged(float, lambda v: v > 0, "> 0")  # inf allowed: no limit
_fraction = _ranged(float, lambda v: 0 < v < 1, "in (0, 1)")
_scale = _ranged(float, lambda v: 0 < v <= 1, "in (0, 1]")
_finite_positive = _ranged(float, lambda v: 0 < v < math.inf, "finite and > 0")
_weights = _ranged(int, lambda v: v >= -1, ">= 0 (or -1: no limit)")
_seed = _ranged(int, lambda v: v >= 0, "an integer >= 0 (a random seed)")


def _noise_level(text: str) -> float:
    """Argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


_SPEC_HELP = "array spec: a TOML file, or preset:NAME (see cimspice presets)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``cimspice`` command."""
    from cimspice import __version__

    parser = _Parser(
        prog="cimspice",
        description="Circuit-level SPICE co-simulation of memristor-crossbar compute-in-memory.",
    )
    parser.add_argument("--version", action="version", version=f"cimspice {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "netlist",
        help="render the ngspice deck of an array spec",
        description="Render the ngspice deck of SPEC. Without --conductances every cell is at "
        "device.g_max; without --inputs every word line is at driver.v_read. A batch of inputs "
        "gives a .dc deck with one sweep point per input vector.",
    )
    p.add_argument("spec", metavar="SPEC", help=_SPEC_HELP)
    p.add_argument(
        "--conductances",
        metavar="G.npy",
        help="conductances, siemens, (rows, cols); a charge-domain (1C) tile: weight bits",
    )
    p.add_argument(
        "--inputs",
        metavar="V.npy",
        help="inputs, volts, (batch, rows) or (rows,); a 1C tile: line levels, one MAC cycle "
        "per row",
    )
    p.add_argument(
        "--save-nodes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="save every node voltage (default: when the results take at most 256 MiB)",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT.cir", help="deck to write")
    p.set_defaults(func=_cmd_netlist)

    p = sub.add_parser(
        "simulate",
        help="simulate an array with one engine and write its outputs",
        description="Simulate SPEC with the given conductances and inputs. OUT.npz holds "
        "'currents' (A, (batch, cols)) and 'power' (W, (batch,)), plus 'v_word' and 'v_bit' "
        "(V, (batch, rows, cols)) with --node-voltages.",
    )
    p.add_argument("spec", metavar="SPEC", help=_SPEC_HELP)
    p.add_argument("--conductances", required=True, metavar="G.npy", help="siemens, (rows, cols)")
    p.add_argument(
        "--inputs", required=True, metavar="V.npy", help="volts, (batch, rows) or (rows,)"
    )
    p.add_argument(
        "--engine",
        required=True,
        choices=ENGINE_NAMES,
        help="; ".join(f"{e.name}: {e.summary}" for e in ENGINES.values()),
    )
    p.add_argument("--surrogate", metavar="FILE", help="fitted surrogate (engine surrogate)")
    p.add_argument(
        "--mode",
        choices=["accurate", "fast"],
        default="accurate",
        help="surrogate mode for nonlinear cells: accurate (Newton on the fitted network) or "
        "fast (attenuated-input polynomials, a few matmuls); linear cells: both exact "
        "(default accurate)",
    )
    p.add_argument("--node-voltages", action="store_true", help="also write node voltages")
    p.add_argument(
        "--analysis",
        choices=["op", "tran"],
        default="op",
        help="op: operating point per input vector (default); tran: step response of one "
        "input vector (ngspice only; writes time, currents_t, settling_time)",
    )
    p.add_argument("--t-stop", type=_timeout, metavar="S", help="tran: simulated window, s")
    p.add_argument("--t-step", type=_timeout, metavar="S", help="tran: print step, s")
    p.add_argument(
        "--settle-tol",
        type=_fraction,
        default=1e-3,
        metavar="X",
        help="tran: settling band, fraction of full scale in (0, 1) (1e-3)",
    )
    p.add_argument(
        "--pulse-period",
        type=_timeout,
        metavar="S",
        help="tran: pulse-width encode the inputs with this full-scale pulse (writes charge)",
    )
    p.add_argument("--plot-dir", metavar="DIR", help="write a cell-voltage heatmap PNG here")
    p.add_argument(
        "--timeout", type=_timeout, default=600.0, metavar="S", help="ngspice time limit, s (600)"
    )
    p.add_argument("--keep", action="store_true", help="keep the ngspice run folder on success")
    p.add_argument("-o", "--output", required=True, metavar="OUT.npz", help="results to write")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser(
        "calibrate",
        help="fit a surrogate of the tile to ngspice runs and report its error",
        description="Run a SPICE dataset for SPEC (random and structured conductance matrices "
        "and inputs over the spec's ranges), fit the surrogate, validate it on held-out runs "
        "from other distributions, and write SURROGATE (JSON) plus a report (report.md, "
        "parity, error histogram and per-column error PNGs) in --report-dir.",
    )
    p.add_argument("spec", metavar="SPEC", help=_SPEC_HELP)
    p.add_argument("-o", "--output", required=True, metavar="SURROGATE", help="file to write")
    p.add_argument(
        "--samples", type=_positive_int, default=8, metavar="N", help="random matrices (8)"
    )
    p.add_argument(
        "--batch", type=_positive_int, default=16, metavar="B", help="vectors per matrix (16)"
    )
    p.add_argument("--seed", type=_seed, default=0, help="random seed, >= 0 (0)")
    _executor_arguments(p, "SPICE runs", "parallel ngspice runs")
    p.add_argument(
        "--cache",
        metavar="DIR",
        help="SPICE result cache; an interrupted run resumes from it (default: spice/ in the "
        "user cache, $CIMSPICE_CACHE or ~/.cache/cimspice)",
    )
    p.add_argument(
        "--report-dir",
        metavar="DIR",
        help="report folder (default: beside SURROGATE, named <SURROGATE>-report)",
    )
    p.set_defaults(func=_cmd_calibrate)

    _add_compensation_commands(sub)

    p = sub.add_parser(
        "evaluate",
        help="evaluate a network on tiles of a spec: ideal vs hardware accuracy",
        description="Map a network's weights onto tiles of SPEC (its [mapping] and [nonideal] "
        "sections: differential or reference columns, bit-slicing, bit-serial inputs, device "
        "non-idealities), run every MVM through the tile engine with the spec's DAC and ADC, "
        "and print ideal vs hardware accuracy and each layer's MVM error (fractions of the "
        "layer's full scale). Built-in models are trained on first use and cached.",
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="NAME|FILE",
        help="digits-mlp, mnist-mlp, mnist-cnn, or a model file (.npz); with the torch extra "
        "also mnist-resnet, digits-transformer, or a PyTorch model saved with torch.export "
        "(.pt2; load only files you would run code from: TorchScript and pickles are refused)",
    )
    p.add_argument("--spec", required=True, metavar="SPEC", help=_SPEC_HELP)
    p.add_argument(
        "--surrogate",
        metavar="FILE",
        help="calibrated surrogate of the tile (default: the spec's nominal surrogate, exact "
        "for a passive linear tile)",
    )
    p.add_argument(
        "--engine",
        choices=ENGINE_NAMES,
        default="surrogate",
        help="the tiles' engine: surrogate (default), ideal (V @ G per tile), nodal (exact, "
        "two-terminal cells; slow) or ngspice (every tile batch in SPICE; small networks)",
    )
    p.add_argument(
        "--mode",
        choices=["accurate", "fast"],
        default="accurate",
        help="the surrogate's mode on nonlinear tiles (accurate: Newton on the fitted network; "
        "fast: a few matmuls per batch)",
    )
    p.add_argument(
        "--dataset", choices=["digits", "mnist"], help="dataset of a model FILE (default: by size)"
    )
    p.add_argument(
        "--data",
        metavar="FILE.npz",
        help="samples for a PyTorch model: an .npz with 'inputs' (n, *sample shape) and "
        "'labels' (n,) integer classes, evaluated whole (its first 1000 samples set the input "
        "ranges); default: the built-in dataset of the model's sample size",
    )
    p.add_argument(
        "--split",
        choices=["test", "train", "all"],
        default="test",
        help="samples to evaluate: the held-out test split (default), train, or all",
    )
    p.add_argument("--samples", type=_positive_int, metavar="N", help="evaluate the first N only")
    p.add_argument("--json", metavar="OUT", help="write results (JSON) here")
    p.add_argument(
        "--spot-check",
        action="store_true",
        help="re-run the busiest tile of the first layer in ngspice and report the surrogate's "
        "error on it",
    )
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="KEY=v1,v2,...",
        help="sweep a spec key (e.g. wire.r_row=0,1,2, readout.adc_bits=4,6,8, array.size=32,64);"
        " repeatable; needs --plot-dir",
    )
    p.add_argument(
        "--seeds",
        type=_positive_int,
        default=1,
        metavar="N",
        help="device seeds per sweep point (1); for a PyTorch model, the hardware accuracy over "
        "N device seeds (mean and spread)",
    )
    p.add_argument("--plot-dir", metavar="DIR", help="write accuracy-vs-parameter PNGs here")
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="cache of trained built-in models (models/) and of sweep points (studies/; an "
        "interrupted sweep resumes from it); default: $CIMSPICE_CACHE or ~/.cache/cimspice",
    )
    _executor_arguments(p, "sweep points", "sweep points at a time (default: every core)")
    p.add_argument(
        "--hardware-aware",
        type=_noise_level,
        default=0.0,
        metavar="LEVEL",
        help="evaluate the built-in model trained with this weight-noise level (e.g. 0.05) and "
        "report its gain over the plainly trained one on the same tiles",
    )
    p.add_argument(
        "--recalibrate-bn",
        type=_positive_int,
        default=0,
        metavar="N",
        help="PyTorch models with batch norm: re-estimate its running statistics on the tiles "
        "(per device seed, no labels) from the first N calibration samples before classifying "
        "(AdaBS; default: the statistics as trained)",
    )
    p.add_argument(
        "--device",
        metavar="DEVICE",
        help="evaluate on this torch device (cpu, cuda, cuda:1; the torch extra): the model (a "
        "numpy one in its float32 torch form), its samples and every tile's MVMs run there "
        "(default: numpy models on the numpy path, PyTorch models on the CPU); not with "
        "--sweep or --hardware-aware",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "demo",
        help="the quick-start demo: a 64x64 array in ngspice, nodal and ideal",
        description="Simulate a 64x64 passive array (2 ohm segments, 1-100 uS, inputs up to "
        "0.2 V) with ngspice, nodal and ideal; print a table and write an IR-drop heatmap.",
    )
    p.add_argument("--out", default="out/demo", metavar="DIR", help="output folder (out/demo)")
    p.add_argument("--size", type=_positive_int, default=64, metavar="N", help="array size (64)")
    p.add_argument(
        "--batch", type=_positive_int, default=100, metavar="B", help="input vectors (100)"
    )
    p.add_argument("--seed", type=_seed, default=0, help="random seed, >= 0 (0)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "presets",
        help="list the named specs shipped with cimspice (use one as SPEC: preset:NAME)",
        description="List the presets, one line each (name and summary); with NAME, print "
        "that preset's spec file, with the sources of its numbers.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="print this preset's spec file")
    p.set_defaults(func=_cmd_presets)

    p = sub.add_parser(
        "fit-device",
        help="fit a device model to your measurements; write a device file",
        description="Fit the generic device model (nonideal.prog_noise_abs/_rel, read_noise, "
        "drift_nu/_std/_t0, tc_device) with standard errors to tidy tables, one per file "
        "(CSV with a header row, or NPZ of 1-D arrays), recognised by their columns: "
        "programming (target, measured), repeated reads (device, conductance), drift (device, "
        "time, conductance), temperature (device, temperature, conductance). With --model "
        "pcm-nandakumar2019 (and --g-max), fit the PCM model instead: its programming-noise "
        "quadratic from the programming table, its drift-exponent lines and 1/f noise growth "
        "from the drift table (time in s after programming; an optional target column). "
        "With --model reram-wan2022 (and --g-max), fit the NeuRRAM ReRAM model: its spread "
        "quartics at 1 s (programming table, or drift rows at 1 s), 1 day and 2 days (drift "
        "rows at 86400 and 172800 s with a target column) and its read noise (reads table). "
        "With --model memristor-rao2023 (optionally --levels), fit the multi-level model to a "
        "levels table (level, conductance): its window, level placement and programming "
        "spread in level steps, and its read noise in steps from a reads table. "
        "Writes a [nonideal] table to copy into a spec.",
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="data files (.csv or .npz)")
    p.add_argument("-o", "--output", required=True, metavar="DEVICE.toml", help="device file")
    p.add_argument("--report", metavar="DIR", help="write fit.json and plots of data vs fit here")
    p.add_argument(
        "--model",
        default="generic",
        choices=("generic", "pcm-nandakumar2019", "reram-wan2022", "memristor-rao2023"),
        help="the device model to fit (default: generic)",
    )
    p.add_argument(
        "--g-max",
        type=float,
        metavar="SIEMENS",
        help="the window's top the data were taken on (needed by the PCM and ReRAM models)",
    )
    p.add_argument(
        "--levels",
        type=_positive_int,
        metavar="N",
        help="the multi-level model's level count (default: the highest level in the data + 1)",
    )
    p.set_defaults(func=_cmd_fit_device)

    from cimspice.write.cli import add_write_parser

    add_write_parser(sub, spec_help=_SPEC_HELP)
    return parser


def _cmd_calibrate(args: argparse.Namespace) -> None:
    from cimspice.resources import default_cache_dir
    from cimspice.spec import load_spec
    from cimspice.surrogate.calibrate import REPORT_FILES, calibrate, write_report

    spec = load_spec(args.spec)
    cache = Path(args.cache) if args.cache else default_cache_dir() / "spice"
    plan = _input_plan(args, spec)
    out = plan.write(args.output, "-o")  # checked as typed: "new/" names a folder
    if spec.is_charge:  # MAC cycles in ngspice: --samples bit patterns of --batch cycles
        from cimspice.charge.surrogate import calibrate as calibrate_charge
        from cimspice.errors import InputError

        given = {
            "--cache": args.cache,
            "--report-dir": args.report_dir,
            "--jobs": args.jobs,
            "--scheduler": args.scheduler,
            "--executor": None if args.executor == "local" else args.executor,
        }
        for option, value in given.items():
            if value is not None:
                raise InputError(
                    f"{option} does not apply to a charge-domain (1C) tile: its calibration "
                    "runs its MAC cycles in one ngspice process and writes no report folder"
                )

        with plan:
            model, report = calibrate_charge(
                spec, cycles=max(8, args.samples * args.batch), seed=args.seed
            )
            model.save(plan.stage(out))
        print(f"charge surrogate written to {out}")
        print(
            f"held-out error vs ngspice (fraction of full scale): NRMSE {report.nrmse:.3e}   "
            f"max {report.max_error:.3e} (ideal sharing: NRMSE {report.nrmse_nominal:.3e})"
        )
        return
    report_dir = Path(args.report_dir) if args.report_dir else out.with_name(out.stem + "-report")
    plan.folder(report_dir, "--report-dir" if args.report_dir else "report folder", REPORT_FILES)
    plan.cache(cache, "--cache")
    with plan:  # every path checked before the SPICE runs; both outputs appear together
        result = calibrate(
            spec,
            samples=args.samples,
            batch=args.batch,
            seed=args.seed,
            cache_dir=cache,
            jobs=args.jobs,
            executor=args.executor,
            scheduler=args.scheduler,
        )
        files = write_report(result, plan.stage(report_dir))
        result.surrogate.save(plan.stage(out))
    m = result.metrics
    print(f"surrogate written to {out}; report in {report_dir}/ ({len(files)} files)")
    print("held-out error vs ngspice (fraction of full scale):")
    for name, row in m.items():
        print(f"  {name:<11} NRMSE {row['nrmse']:.3e}   max {row['max_error']:.3e}")


def _add_compensation_commands(sub: Any) -> None:
    """The compensation commands: ``compensate`` (a scheme on a tile, optionally on a
    network), ``predistort`` (write pre-distorted conductances) and ``pareto`` (the network
    report). ``compensate`` also takes the older forms of the other two as aliases."""
    p = sub.add_parser(
        "compensate",
        help="run a compensation scheme on a tile and report its error and cost",
        description="Measure a compensation scheme on SPEC's tile: the error against the "
        "ideal V @ G of the DAC's levels before and after (held-out inputs ~ U(0, v_read)), "
        "measured on what the digital side sees (ADC values, else TIA outputs, else "
        "currents), the energy per MVM and per MAC, the extra area and latency. Schemes: "
        f"{', '.join(SCHEME_NAMES)}. Targets: "
        "--conductances, or random over the lower 60% of the spec's window. With --network, "
        "also evaluate --model on SPEC's tiles without and with the scheme. Aliases, kept for "
        "older command lines: 'compensate SPEC --scheme ir-predistort --conductances G.npy -o "
        "OUT.npy' is 'cimspice predistort', and 'compensate SPEC --pareto --out DIR' is "
        "'cimspice pareto'.",
    )
    p.add_argument("spec", metavar="SPEC", help=_SPEC_HELP)
    p.add_argument("--scheme", metavar="NAME", help="the scheme to run (tile level)")
    p.add_argument("--conductances", metavar="G.npy", help="target conductances, S, (rows, cols)")
    p.add_argument(
        "--engine",
        choices=MEASURING_ENGINES,
        help="what measures the errors (ngspice, default)",
    )
    p.add_argument("--batch", type=_positive_int, metavar="B", help="held-out vectors (32)")
    p.add_argument("--seed", type=_seed, help="random seed, >= 0 (0)")
    p.add_argument("--t-read", type=_timeout, metavar="S", help="read time per cycle (10e-9 s)")
    p.add_argument(
        "--mode", help="reference-column: dummy|differential; input-scaling: scale|bit-serial"
    )
    p.add_argument("--scale", type=_scale, help="input-scaling: input factor in (0, 1] (0.25)")
    p.add_argument("--bits", type=_positive_int, help="input-scaling bit-serial: bits (8)")
    p.add_argument("--vectors", type=_positive_int, help="column-calibration: reference vectors")
    p.add_argument("--tile", type=_positive_int, metavar="N", help="partitioning: tile size (16)")
    p.add_argument(
        "--tol",
        type=_finite_positive,
        metavar="X",
        help="write-verify: tolerance, fraction of the window (> 0)",
    )
    p.add_argument("--plot-dir", metavar="DIR", help="write before/after error maps (PNG) here")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    g = _network_arguments(p, "network level (--network; --pareto: the pareto command's alias)")
    g.add_argument(
        "--network",
        action="store_true",
        help="with --scheme: also evaluate --model on SPEC's tiles without and with the scheme "
        "(surrogate; SPEC's [mapping] and [nonideal] apply)",
    )
    g.add_argument(
        "--pareto", action="store_true", help="alias of 'cimspice pareto SPEC --out DIR'"
    )
    g.add_argument("--out", metavar="DIR", help="with --pareto: the pareto command's --out")
    g = p.add_argument_group("alias of 'cimspice predistort' (-o, with --scheme ir-predistort)")
    _predistort_arguments(g, output_help="write G' here (siemens): the predistort command")
    p.set_defaults(func=_cmd_compensate)

    p = sub.add_parser(
        "predistort",
        help="write conductances pre-distorted against the wires' IR drop (ir-predistort)",
        description="Compute conductances G' in the spec's window whose real array (its wires' "
        "IR drop included) outputs V @ G for the targets G, and write them. By default G' "
        "stands on its own: programmed as it is, the array outputs V @ G. With --floor-offset "
        "or --rescale the outputs may need a digital correction, written beside OUT.npy as "
        "OUT.json (alpha, offset_s). Linear tiles only (0T1R, linear cells, ideal readout).",
    )
    p.add_argument("spec", metavar="SPEC", help=_SPEC_HELP)
    p.add_argument(
        "--conductances",
        required=True,
        metavar="G.npy",
        help="target conductances, S, (rows, cols)",
    )
    _predistort_arguments(p, output_help="write G' here (siemens)", required=True)
    p.set_defaults(func=_cmd_predistort)

    p = sub.add_parser(
        "pareto",
        help="compensation at network level: accuracy vs energy per MAC of every scheme",
        description="Evaluate a network on SPEC's tiles (surrogate) with every compensation "
        "scheme, some combinations, mixed precision (memristor / SRAM CIM / digital per "
        "layer) and hardware-aware training, and write an accuracy vs energy-per-MAC plot, "
        "table and JSON (pareto.png, pareto.md, pareto.json) to --out.",
    )
    p.add_argument("spec", metavar="SPEC", help=_SPEC_HELP)
    p.add_argument(
        "--out", required=True, metavar="DIR", help="folder for pareto.png, pareto.md, pareto.json"
    )
    _network_arguments(p, "the network and the report")
    p.set_defaults(func=_cmd_pareto)


def _network_arguments(p: argparse.ArgumentParser, title: str) -> Any:
    """Add the network-level arguments (of ``pareto``, and of ``compensate`` for
    ``--network`` and ``--pareto``) as a group; returns the group. Their defaults are the
    requests' (``None``: not given)."""
    g = p.add_argument_group(title)
    g.add_argument("--model", metavar="NAME|FILE", help="the network (mnist-mlp)")
    g.add_argument("--samples", type=_positive_int, metavar="N", help="first N held-out samples")
    g.add_argument("--seeds", type=_positive_int, metavar="N", help="device seeds per case (2)")
    g.add_argument(
        "--hardware-aware",
        type=_noise_level,
        metavar="LEVEL",
        help="Pareto report: weight-noise level of the hardware-aware model (0.05; 0: leave it "
        "out)",
    )
    g.add_argument(
        "--budget",
        type=_positive,
        metavar="J",
        help="Pareto report: mixed precision's energy budget per MAC (default: twice the "
        "baseline's)",
    )
    g.add_argument(
        "--sram-weights",
        type=_weights,
        metavar="N",
        help="Pareto report: weights SRAM CIM holds (65536; layers that do not fit go digital; "
        "-1: no limit)",
    )
    g.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="cache of trained built-in models (models/) and of every case's runs (studies/; "
        "an interrupted study resumes from it); default: $CIMSPICE_CACHE or ~/.cache/cimspice",
    )
    g.add_argument(
        "--jobs", type=_positive_int, metavar="J", help="runs (case, seed) at a time (every core)"
    )
    g.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        help="where the runs go: local worker processes (default) or Dask distributed",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="Dask scheduler address (with --executor dask; default: a local Dask cluster)",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    return g


def _predistort_arguments(g: Any, *, output_help: str, required: bool = False) -> None:
    """Add ``-o``, ``--rescale`` and ``--floor-offset`` (``predistort``, and ``compensate``'s
    alias of it)."""
    g.add_argument("-o", "--output", required=required, metavar="OUT.npy", help=output_help)
    g.add_argument(
        "--rescale",
        action="store_true",
        help="scale the targets by alpha < 1 when the window leaves no headroom",
    )
    g.add_argument(
        "--floor-offset",
        action="store_true",
        help="raise every target by an offset so that no cell needs less than g_min "
        "(outputs then need (I - offset * sum(V)) digitally; written to OUT.json)",
    )


_SCHEME_FLAGS: dict[str, tuple[str, ...]] = {
    "mode": ("mode",),
    "scale": ("scale",),
    "bits": ("bits",),
    "vectors": ("vectors",),
    "tol": ("tol",),
    "tile": ("tile_rows", "tile_cols"),
}
"""``compensate``'s scheme-parameter flags (dest) -> the fields of a scheme they set."""

_TILE_FLAGS = ("engine", "batch", "seed", "t_read", "json", "plot_dir", *_SCHEME_FLAGS)
"""The flags of ``compensate``'s tile-level report (dest names)."""

_NETWORK_FLAGS = (
    "model",
    "samples",
    "seeds",
    "cache_dir",
    "jobs",
    "executor",
    "scheduler",
    "no_progress",
)
"""The network-level flags ``compensate --network`` and ``pareto`` share."""

_PARETO_FLAGS = ("hardware_aware", "budget", "sram_weights")
"""The network-level flags of the Pareto report only."""


def _given(args: argparse.Namespace, dests: Sequence[str]) -> list[str]:
    """The flags among ``dests`` given on the command line (as typed: ``--t-read``)."""
    values = ((dest, getattr(args, dest)) for dest in dests)
    return [f"--{dest.replace('_', '-')}" for dest, v in values if v is not None and v is not False]


def _unused(form: str, flags: list[str]) -> None:
    """Warn that ``flags`` (given, but not used by ``form``) have no effect. A warning, not an
    error: the older command lines that gave them keep working."""
    if flags:
        verb = "has" if len(flags) == 1 else "have"
        warnings.warn(f"{', '.join(flags)} {verb} no effect with {form}", UserWarning, 2)


def _present(**values: Any) -> dict[str, Any]:
    """``values`` without the ``None`` ones (flags not given: the request's defaults apply)."""
    return {key: value for key, value in values.items() if value is not None}


def _cmd_compensate(args: argparse.Namespace) -> None:
    """``compensate``: a scheme's report, or one of the aliases (``--pareto``: ``pareto``;
    ``-o``: ``predistort``), each checked and routed to the handler of the command it
    stands for."""
    from cimspice.errors import InputError

    if args.pareto:
        if args.out is None:
            raise InputError("--pareto needs --out DIR (where the plot, table and JSON go)")
        if args.scheme is not None or args.output is not None:
            raise InputError("--pareto covers every scheme; leave out --scheme and -o")
        tile = _given(args, ["conductances", "network", "rescale", "floor_offset", *_TILE_FLAGS])
        _unused("--pareto (cimspice pareto)", tile)
        _cmd_pareto(args)
        return
    if args.scheme is None:
        raise InputError("give --scheme NAME (tile level) or --pareto (network level)")
    if args.output is None:
        _cmd_scheme(args)
        return
    if args.scheme != "ir-predistort":
        raise InputError(f"-o writes conductances of --scheme ir-predistort, not {args.scheme!r}")
    if args.conductances is None:
        raise InputError("-o needs --conductances G.npy (the targets to pre-distort)")
    params = _given(args, list(_SCHEME_FLAGS))
    if params:
        raise InputError(f"ir-predistort takes none of {', '.join(params)}")
    others = ["network", *_TILE_FLAGS, *_NETWORK_FLAGS, *_PARETO_FLAGS, "out"]
    _unused("-o (cimspice predistort)", _given(args, others))
    _cmd_predistort(args)


def _cmd_scheme(args: argparse.Namespace) -> None:
    """``compensate SPEC --scheme NAME [--network]``: a scheme's report."""
    from cimspice.compensation.request import CompensateRequest, run_compensate
    from cimspice.errors import InputError

    if args.rescale or args.floor_offset:
        raise InputError(
            "--rescale and --floor-offset apply with -o (the report uses both on its own)"
        )
    _unused("--scheme (the tile-level report)", _given(args, ["out"]))
    _unused("--network", _given(args, list(_PARETO_FLAGS)))
    if not args.network:
        _unused("--scheme without --network", _given(args, list(_NETWORK_FLAGS)))
    params = {
        name: getattr(args, dest)
        for dest, names in _SCHEME_FLAGS.items()
        for name in names
        if getattr(args, dest) is not None
    }
    request = CompensateRequest(
        spec=Path(args.spec),
        scheme=args.scheme,
        params=params,
        conductances=Path(args.conductances) if args.conductances else None,
        json_out=args.json,  # a str: "--json new/" is refused as a folder
        plot_dir=Path(args.plot_dir) if args.plot_dir else None,
        **_present(engine=args.engine, batch=args.batch, seed=args.seed, t_read=args.t_read),
    )
    if not args.network:
        run_compensate(request)
        return
    from cimspice.studies.compensate_request import NetworkLevel, run_compensate_network

    run_compensate_network(
        request,
        NetworkLevel(
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            progress=not args.no_progress,
            **_present(model=args.model, samples=args.samples, seeds=args.seeds),
            **_present(jobs=args.jobs, executor=args.executor, scheduler=args.scheduler),
        ),
    )


def _cmd_predistort(args: argparse.Namespace) -> None:
    """``predistort`` (and ``compensate --scheme ir-predistort -o``)."""
    from cimspice.compensation.request import PredistortRequest, run_predistort

    run_predistort(
        PredistortRequest(
            spec=Path(args.spec),
            conductances=Path(args.conductances),
            output=args.output,  # a str: "-o new/" is refused as a folder
            rescale=args.rescale,
            floor_offset=args.floor_offset,
        )
    )


def _cmd_pareto(args: argparse.Namespace) -> None:
    """``pareto`` (and ``compensate --pareto``)."""
    from cimspice.studies.pareto_report import ParetoRequest, run_pareto

    sram: dict[str, Any] = {}
    if args.sram_weights is not None:
        sram["sram_weights"] = args.sram_weights if args.sram_weights >= 0 else None
    run_pareto(
        ParetoRequest(
            spec=Path(args.spec),
            out=Path(args.out),
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            progress=not args.no_progress,
            **_present(
                model=args.model,
                samples=args.samples,
                seeds=args.seeds,
                hardware_aware=args.hardware_aware,
                budget=args.budget,
                jobs=args.jobs,
                executor=args.executor,
                scheduler=args.scheduler,
            ),
            **sram,
        )
    )


def _executor_arguments(p: argparse.ArgumentParser, what: str, jobs_help: str) -> None:
    """``--jobs``, ``--executor`` and ``--scheduler``: where ``what`` run."""
    p.add_argument("--jobs", type=_positive_int, default=None, metavar="J", help=jobs_help)
    p.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        default="local",
        help=f"where {what} go: local worker processes (default) or Dask distributed",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="Dask scheduler address (with --executor dask; default: a local Dask cluster)",
    )


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from cimspice.studies.evaluate_request import EvaluateRequest, run_evaluate

    run_evaluate(
        EvaluateRequest(
            model=args.model,
            spec=Path(args.spec),
            surrogate=Path(args.surrogate) if args.surrogate else None,
            engine=args.engine,
            mode=args.mode,
            dataset=args.dataset,
            data=Path(args.data) if args.data else None,
            split=args.split,
            samples=args.samples,
            json_out=args.json,
            spot_check=args.spot_check,
            sweep=args.sweep,
            seeds=args.seeds,
            plot_dir=Path(args.plot_dir) if args.plot_dir else None,
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            hardware_aware=args.hardware_aware,
            recalibrate_bn=args.recalibrate_bn,
            progress=not args.no_progress,
            executor=args.executor,
            jobs=args.jobs,
            scheduler=args.scheduler,
            device=args.device,
        )
    )


def _cmd_fit_device(args: argparse.Namespace) -> None:
    from cimspice.devices.fit_request import FitDeviceRequest, run_fit_device

    fit = run_fit_device(
        FitDeviceRequest(
            data=[Path(p) for p in args.data],
            output=Path(args.output),
            report=Path(args.report) if args.report else None,
            model=args.model,
            g_max=args.g_max,
            levels=args.levels,
        )
    )
    for key, est in fit.params.items():
        print(f"{key:<16} {est.value:.6g} +- {est.stderr:.2g}")
    for key, est in fit.extra.items():
        print(f"{key:<16} {est.value:.6g} +- {est.stderr:.2g}  (not a model parameter)")


def _cmd_demo(args: argparse.Namespace) -> None:
    from cimspice.demo import run_demo

    run_demo(Path(args.out), size=args.size, batch=args.batch, seed=args.seed)


def _cmd_presets(args: argparse.Namespace) -> None:
    from cimspice.spec import preset, preset_names

    if args.name is not None:
        print(preset(args.name).path.read_text(encoding="utf-8"), end="")
        return
    names = preset_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {preset(name).summary}")


def _usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with a combination of flags, checked right after parsing (no files)."""
    if args.command == "simulate":
        if args.analysis == "tran" and args.engine != "ngspice":
            return "--analysis tran needs --engine ngspice"
        if args.analysis == "tran" and args.t_stop is None:
            return "--analysis tran needs --t-stop S"
        if args.engine == "surrogate" and not args.surrogate:
            return "--engine surrogate needs --surrogate FILE"
        if args.engine == "surrogate" and (args.plot_dir or args.node_voltages):
            return (
                "the surrogate engine computes output currents only (no --node-voltages or "
                "--plot-dir)"
            )
    if args.command in ("calibrate", "evaluate") and args.scheduler and args.executor != "dask":
        return "--scheduler needs --executor dask"
    return None


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Each distinct warning as one line on stderr; numpy's floating-point ones left out."""
    seen: set[str] = set()
    for record in caught:
        text = " ".join(str(record.message).split())
        if issubclass(record.category, RuntimeWarning) and _NUMPY_FP.search(text):
            continue
        if text not in seen:
            seen.add(text)
            print(f"cimspice: warning: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module's error contract)."""
    from cimspice.errors import CimspiceError
    from cimspice.threads import cap_process_threads

    args = build_parser().parse_args(argv)
    usage = _usage_error(args)
    if usage is not None:
        print(_usage_line(f"cimspice {args.command}", usage), file=sys.stderr)
        return EXIT_USAGE
    # Warnings wait for the outcome: after a success each is one line; after an error the
    # error's line stands alone.
    with warnings.catch_warnings(record=True) as caught:
        try:
            cap_process_threads()  # BLAS pools sized to the cores this process may use
            args.func(args)
        except (CimspiceError, OSError, MemoryError) as err:
            message = " | ".join(line.strip() for line in str(err).splitlines() if line.strip())
            if not isinstance(err, CimspiceError | OSError):  # an allocation no estimate foresaw
                message = f"out of memory: {message or 'an allocation failed'}"
            print(f"cimspice: error: {message}", file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt:
            print("cimspice: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
    _print_warnings(caught)
    return 0


if __name__ == "__main__":
    sys.exit(main())
