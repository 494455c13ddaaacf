"""The ``cimspice`` command line: argument parsing only; the work is done by the library.

Every user error ends with exit code 1 (2 for bad arguments) and one line on stderr, no
traceback; nothing half-written is left at an output path.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cimspice.simulation import ENGINE_NAMES, ENGINES

if TYPE_CHECKING:  # imported lazily at run time: the CLI starts before numpy loads
    from cimspice.engines.ngspice_process import WorkerProcess

__all__ = ["build_parser", "main"]

EXIT_ERROR = 1


def _cmd_netlist(args: argparse.Namespace) -> None:
    from cimspice.arrays import atomic_output, load_array
    from cimspice.netlist import render
    from cimspice.spec import load_spec

    spec = load_spec(args.spec)
    g = load_array(args.conductances, "conductances") if args.conductances else None
    v = load_array(args.inputs, "inputs") if args.inputs else None
    text = render(spec, g, v, save_nodes=args.save_nodes)
    with atomic_output(args.output, "w") as handle:
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


def _simulate_transient(args: argparse.Namespace, worker: WorkerProcess | None) -> None:
    from cimspice.arrays import load_array
    from cimspice.engines.ngspice import NgspiceEngine
    from cimspice.engines.transient import run_transient
    from cimspice.errors import InputError
    from cimspice.spec import load_spec

    if args.t_stop is None:
        raise InputError("--analysis tran needs --t-stop")
    spec = load_spec(args.spec)
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
    result.save(args.output)
    if args.plot_dir is not None:
        from cimspice.plots import plot_settling

        path = plot_settling(result, Path(args.plot_dir) / "settling.png")
        print(f"wrote {path}", file=sys.stderr)


def _simulate(args: argparse.Namespace, worker: WorkerProcess | None) -> None:
    if args.analysis == "tran":
        _simulate_transient(args, worker)
        return
    from cimspice.arrays import load_array
    from cimspice.simulation import get_engine
    from cimspice.spec import load_spec

    options: dict[str, object] = {}
    if worker is not None:
        options = {"timeout_s": args.timeout, "keep": args.keep, "worker": worker}
    elif args.engine == "surrogate":
        options = {"surrogate": args.surrogate, "mode": args.mode}
    engine = get_engine(args.engine, **options)
    spec = load_spec(args.spec)
    g = load_array(args.conductances, "conductances")
    v = load_array(args.inputs, "inputs")
    result = engine.run(spec, g, v, node_voltages=args.node_voltages)
    result.save(args.output)
    if args.plot_dir is not None:
        from cimspice.plots import plot_cell_voltages

        if result.v_word is None:
            result = engine.run(spec, g, v, node_voltages=True)
        path = plot_cell_voltages(result, v, Path(args.plot_dir) / "cell_voltages.png")
        print(f"wrote {path}", file=sys.stderr)
        import numpy as np

        from cimspice.plots import plot_error_map

        reference = np.atleast_2d(np.asarray(v, dtype=float)) @ np.asarray(g, dtype=float)
        path = plot_error_map(result, reference, Path(args.plot_dir) / "error_map.png")
        print(f"wrote {path}", file=sys.stderr)


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


def _noise_level(text: str) -> float:
    """Argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``cimspice`` command."""
    from cimspice import __version__

    parser = argparse.ArgumentParser(
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
    p.add_argument("spec", metavar="SPEC", help="array spec (TOML)")
    p.add_argument("--conductances", metavar="G.npy", help="conductances, siemens, (rows, cols)")
    p.add_argument("--inputs", metavar="V.npy", help="inputs, volts, (batch, rows) or (rows,)")
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
    p.add_argument("spec", metavar="SPEC", help="array spec (TOML)")
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
        "--settle-tol", type=float, default=1e-3, metavar="X", help="tran: settling band (1e-3)"
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
    p.add_argument("spec", metavar="SPEC", help="array spec (TOML)")
    p.add_argument("-o", "--output", required=True, metavar="SURROGATE", help="file to write")
    p.add_argument(
        "--samples", type=_positive_int, default=8, metavar="N", help="random matrices (8)"
    )
    p.add_argument(
        "--batch", type=_positive_int, default=16, metavar="B", help="vectors per matrix (16)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument(
        "--jobs", type=_positive_int, default=None, metavar="J", help="parallel ngspice runs"
    )
    p.add_argument(
        "--executor",
        choices=["local", "dask"],
        default="local",
        help="where SPICE runs go: local worker processes (default) or Dask distributed",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="Dask scheduler address (with --executor dask; default: a local Dask cluster)",
    )
    p.add_argument(
        "--cache",
        metavar="DIR",
        default=".cimspice-cache",
        help="SPICE result cache; an interrupted run resumes from it (.cimspice-cache)",
    )
    p.add_argument(
        "--report-dir",
        metavar="DIR",
        help="report folder (default: beside SURROGATE, named <SURROGATE>-report)",
    )
    p.set_defaults(func=_cmd_calibrate)

    p = sub.add_parser(
        "compensate",
        help="run a compensation scheme on a tile and report its error and cost",
        description="Measure a compensation scheme on SPEC's tile: the error against the "
        "ideal V @ G before and after (held-out inputs ~ U(0, v_read)), the energy per MVM "
        "and per MAC, the extra area and latency. Schemes: ir-predistort, "
        "column-calibration, reference-column, partitioning, input-scaling, write-verify. Targets: "
        "--conductances, or random over the lower 60%% of the spec's window. With -o "
        "(ir-predistort only), write the pre-distorted conductances instead. With --pareto, "
        "evaluate a network on SPEC's tiles instead (surrogate) with every scheme, some "
        "combinations, mixed precision (memristor / SRAM CIM / digital per layer) and "
        "hardware-aware training, and write an accuracy vs energy-per-MAC plot, table and "
        "JSON to --out.",
    )
    p.add_argument("spec", metavar="SPEC", help="array spec (TOML)")
    p.add_argument("--scheme", metavar="NAME", help="the scheme to run (tile level)")
    p.add_argument("--conductances", metavar="G.npy", help="target conductances, S, (rows, cols)")
    p.add_argument(
        "-o", "--output", metavar="OUT.npy", help="ir-predistort: write G' here (siemens)"
    )
    p.add_argument(
        "--rescale",
        action="store_true",
        help="with -o: scale the targets by alpha < 1 when the window leaves no headroom",
    )
    p.add_argument(
        "--floor-offset",
        action="store_true",
        help="with -o: raise every target by an offset so that no cell needs less than g_min "
        "(outputs then need (I - offset * sum(V)) digitally; written to OUT.json)",
    )
    p.add_argument(
        "--engine",
        choices=["ngspice", "nodal"],
        default="ngspice",
        help="what measures the errors (ngspice, default)",
    )
    p.add_argument(
        "--batch", type=_positive_int, default=32, metavar="B", help="held-out vectors (32)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument(
        "--t-read", type=_timeout, default=10e-9, metavar="S", help="read time per cycle (10e-9 s)"
    )
    p.add_argument(
        "--mode", help="reference-column: dummy|differential; input-scaling: scale|bit-serial"
    )
    p.add_argument("--scale", type=float, help="input-scaling: input factor (0.25)")
    p.add_argument("--bits", type=_positive_int, help="input-scaling bit-serial: bits (8)")
    p.add_argument("--vectors", type=_positive_int, help="column-calibration: reference vectors")
    p.add_argument("--tile", type=_positive_int, metavar="N", help="partitioning: tile size (16)")
    p.add_argument(
        "--tol", type=float, metavar="X", help="write-verify: tolerance, fraction of the window"
    )
    p.add_argument("--plot-dir", metavar="DIR", help="write before/after error maps (PNG) here")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    g = p.add_argument_group("network level (--pareto)")
    g.add_argument(
        "--pareto", action="store_true", help="network-level Pareto report instead of a scheme"
    )
    g.add_argument(
        "--network",
        action="store_true",
        help="with --scheme: also evaluate --model on SPEC's tiles without and with the scheme "
        "(surrogate; SPEC's [mapping] and [nonideal] apply)",
    )
    g.add_argument(
        "--model", default="mnist-mlp", metavar="NAME|FILE", help="the network (mnist-mlp)"
    )
    g.add_argument("--out", metavar="DIR", help="folder for pareto.png, pareto.md, pareto.json")
    g.add_argument("--samples", type=_positive_int, metavar="N", help="first N held-out samples")
    g.add_argument(
        "--seeds", type=_positive_int, default=2, metavar="N", help="device seeds per case (2)"
    )
    g.add_argument(
        "--hardware-aware",
        type=_noise_level,
        default=0.05,
        metavar="LEVEL",
        help="weight-noise level of the hardware-aware model (0.05; 0: leave it out)",
    )
    g.add_argument(
        "--budget",
        type=float,
        metavar="J",
        help="mixed precision's energy budget per MAC (default: twice the baseline's)",
    )
    g.add_argument(
        "--sram-weights",
        type=int,
        default=65_536,
        metavar="N",
        help="weights SRAM CIM holds (65536; layers that do not fit go digital; -1: no limit)",
    )
    g.add_argument("--cache-dir", metavar="DIR", help="cache of trained built-in models")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_compensate)

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
        help="digits-mlp, mnist-mlp, mnist-cnn, or a model file (.npz)",
    )
    p.add_argument("--spec", required=True, metavar="SPEC", help="array spec (TOML)")
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
        "--seeds", type=_positive_int, default=1, metavar="N", help="device seeds per point (1)"
    )
    p.add_argument("--plot-dir", metavar="DIR", help="write accuracy-vs-parameter PNGs here")
    p.add_argument("--cache-dir", metavar="DIR", help="cache of trained built-in models")
    p.add_argument(
        "--hardware-aware",
        type=_noise_level,
        default=0.0,
        metavar="LEVEL",
        help="evaluate the built-in model trained with this weight-noise level (e.g. 0.05) and "
        "report its gain over the plainly trained one on the same tiles",
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
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.set_defaults(func=_cmd_demo)
    return parser


def _cmd_calibrate(args: argparse.Namespace) -> None:
    from cimspice.errors import InputError
    from cimspice.spec import load_spec
    from cimspice.surrogate.calibrate import calibrate, write_report

    spec = load_spec(args.spec)
    if args.scheduler and args.executor != "dask":
        raise InputError("--scheduler needs --executor dask")
    result = calibrate(
        spec,
        samples=args.samples,
        batch=args.batch,
        seed=args.seed,
        cache_dir=args.cache,
        jobs=args.jobs,
        executor=args.executor,
        scheduler=args.scheduler,
    )
    out = Path(args.output)
    report_dir = Path(args.report_dir) if args.report_dir else out.with_name(out.stem + "-report")
    files = write_report(result, report_dir)
    result.surrogate.save(out)
    m = result.metrics
    print(f"surrogate written to {out}; report in {report_dir}/ ({len(files)} files)")
    print("held-out error vs ngspice (fraction of full scale):")
    for name, row in m.items():
        print(f"  {name:<11} NRMSE {row['nrmse']:.3e}   max {row['max_error']:.3e}")


def _cmd_compensate(args: argparse.Namespace) -> None:
    from cimspice.arrays import atomic_output, load_array
    from cimspice.compensation import default_targets, evaluate_scheme
    from cimspice.compensation.cost import CostModel
    from cimspice.errors import InputError
    from cimspice.spec import load_spec

    if args.pareto:
        _compensate_pareto(args)
        return
    if args.scheme is None:
        raise InputError("give --scheme NAME (tile level) or --pareto (network level)")
    spec = load_spec(args.spec)
    params = {
        key: value
        for key, value in (
            ("mode", args.mode),
            ("scale", args.scale),
            ("bits", args.bits),
            ("vectors", args.vectors),
            ("tol", args.tol),
            ("tile_rows", args.tile),
            ("tile_cols", args.tile),
        )
        if value is not None
    }
    if args.output is not None:
        if args.scheme != "ir-predistort":
            raise InputError(
                f"-o writes conductances of --scheme ir-predistort, not {args.scheme!r}"
            )
        if args.conductances is None:
            raise InputError("-o needs --conductances G.npy (the targets to pre-distort)")
        if params:
            raise InputError(f"ir-predistort takes none of --{', --'.join(params)}")
        import json

        import numpy as np

        from cimspice.compensation.ir_predistort import PredistortParams, predistort, rescaled

        g = load_array(args.conductances, "conductances")
        # By default the written matrix stands on its own: programmed as it is, the array
        # outputs V @ G with no digital correction. A floor offset or a rescaling needs one,
        # and it is written beside the matrix.
        pd = PredistortParams(shift_floor=args.floor_offset)
        sol = rescaled(spec, g, pd) if args.rescale else predistort(spec, g, pd)
        correction = Path(args.output).with_suffix(".json")
        needs_correction = sol.alpha != 1.0 or sol.offset != 0.0
        with atomic_output(args.output) as handle:
            np.save(handle, sol.conductances)
        if needs_correction:
            with atomic_output(correction, "w") as handle:
                json.dump(
                    {
                        "conductances": str(args.output),
                        "alpha": sol.alpha,
                        "offset_s": sol.offset,
                        "outputs": "(I - offset_s * sum(V)) / alpha",
                    },
                    handle,
                    indent=2,
                )
        print(
            f"wrote {args.output}: {sol.iterations} iterations, nodal residual "
            f"{sol.residual:.3e} of full scale, alpha {sol.alpha:.6g}, offset "
            f"{sol.offset:.6g} S, cells at g_max {int(sol.clipped_high.sum())}, held at g_min "
            f"{int(sol.clipped_low.sum())}"
        )
        if needs_correction:
            print(f"outputs need (I - offset * sum(V)) / alpha digitally: written to {correction}")
        if sol.clipped_high.any() and not args.rescale:
            print("the window leaves no headroom: --rescale scales the targets to fit it")
        return
    if args.rescale or args.floor_offset:
        raise InputError(
            "--rescale and --floor-offset apply with -o (the report uses both on its own)"
        )
    if args.conductances is not None:
        g = load_array(args.conductances, "conductances")
    else:
        g = default_targets(spec, args.seed)
    cost = CostModel(t_read=args.t_read)
    report = evaluate_scheme(
        args.scheme,
        spec,
        g,
        engine=args.engine,
        batch=args.batch,
        seed=args.seed,
        cost=cost,
        **params,
    )
    print("\n".join(report.lines(cost)))
    if args.json is not None:
        import json

        with atomic_output(args.json, "w") as handle:
            json.dump(report.as_dict(), handle, indent=2)
    if args.plot_dir is not None:
        from cimspice.plots import plot_compensation

        path = plot_compensation(report, Path(args.plot_dir) / f"{args.scheme}.png")
        print(f"wrote {path}", file=sys.stderr)
    if args.network:
        _compensate_network(args)


def _compensate_network(args: argparse.Namespace) -> None:
    from cimspice.compensation.network_report import ParetoRequest, scheme_network

    base, after = scheme_network(
        ParetoRequest(
            spec=Path(args.spec),
            out=Path("."),
            model=args.model,
            samples=args.samples,
            seeds=args.seeds,
            hardware_aware=args.hardware_aware,
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            progress=not args.no_progress,
        ),
        args.scheme,
        mode=args.mode,
        tile=args.tile,
    )
    print(
        f"network level ({args.model} on SPEC's tiles, surrogate, {base.seeds} device seed(s)): "
        f"accuracy {base.accuracy:.4f} -> {after.accuracy:.4f} (exact network "
        f"{base.accuracy_ideal:.4f}); energy per MAC {base.energy_per_mac:.4g} -> "
        f"{after.energy_per_mac:.4g} J"
    )


def _compensate_pareto(args: argparse.Namespace) -> None:
    from cimspice.compensation.network_report import ParetoRequest, run_pareto
    from cimspice.errors import InputError

    if args.out is None:
        raise InputError("--pareto needs --out DIR (where the plot, table and JSON go)")
    if args.scheme is not None or args.output is not None:
        raise InputError("--pareto covers every scheme; leave out --scheme and -o")
    run_pareto(
        ParetoRequest(
            spec=Path(args.spec),
            out=Path(args.out),
            model=args.model,
            samples=args.samples,
            seeds=args.seeds,
            hardware_aware=args.hardware_aware,
            budget=args.budget,
            sram_weights=args.sram_weights if args.sram_weights >= 0 else None,
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            progress=not args.no_progress,
        )
    )


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from cimspice.network.command import EvaluateRequest, run_evaluate

    run_evaluate(
        EvaluateRequest(
            model=args.model,
            spec=Path(args.spec),
            surrogate=Path(args.surrogate) if args.surrogate else None,
            engine=args.engine,
            mode=args.mode,
            dataset=args.dataset,
            split=args.split,
            samples=args.samples,
            json_out=Path(args.json) if args.json else None,
            spot_check=args.spot_check,
            sweep=args.sweep,
            seeds=args.seeds,
            plot_dir=Path(args.plot_dir) if args.plot_dir else None,
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            hardware_aware=args.hardware_aware,
            progress=not args.no_progress,
        )
    )


def _cmd_demo(args: argparse.Namespace) -> None:
    from cimspice.demo import run_demo

    run_demo(Path(args.out), size=args.size, batch=args.batch, seed=args.seed)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from cimspice.errors import CimspiceError

    args = build_parser().parse_args(argv)
    if getattr(args, "analysis", "op") == "tran" and args.engine != "ngspice":
        print("cimspice: error: --analysis tran needs --engine ngspice", file=sys.stderr)
        return 2
    if args.command == "simulate" and args.engine == "surrogate":
        if not args.surrogate:
            print("cimspice: error: --engine surrogate needs --surrogate FILE", file=sys.stderr)
            return 2
        if args.plot_dir or args.node_voltages:
            print(
                "cimspice: error: the surrogate engine computes output currents only "
                "(no --node-voltages or --plot-dir)",
                file=sys.stderr,
            )
            return 2
    try:
        args.func(args)
    except (CimspiceError, OSError) as err:
        message = " | ".join(line.strip() for line in str(err).splitlines() if line.strip())
        print(f"cimspice: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("cimspice: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
