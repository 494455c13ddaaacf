"""``cimspice fit-device`` on data each preset model generated: every fitted parameter beside
its standard error and the truth, for the ReRAM (``reram-wan2022``) and multi-level
(``memristor-rao2023``) fits (the PCM fit's table in BENCHMARKS.md came from
``tests/test_fit_pcm.py``'s generators).

    .venv/bin/python benchmarks/fit_recovery.py [--devices 60000] [--seed 0]

ReRAM: ``--devices`` targets over 30-100 % of a 40 uS window, programmed once (1 s) and
relaxed to 1 day and to 2 days (fresh draws, as the model does), each time fitted by
:func:`cimspice.devices.reram_fitting.fit_reram_spread`; 300 devices read 30 times for the
read noise (1 %). Multi-level: 2,048 levels over 1-100 uS with ``level_exponent = 1.5``,
``prog_std_steps = 0.6``, ``read_std_steps = 0.3``; ``--devices / 3`` devices at random levels
40 levels inside the ends, fitted by :func:`cimspice.devices.multilevel_fitting.fit_levels`.
Prints one table per model: parameter, fitted +- SE, truth, (fitted - truth) / SE.
"""

from __future__ import annotations

import argparse

import numpy as np

from cimspice.devices.fitting import Estimate, fit_reads
from cimspice.devices.model import Window
from cimspice.devices.multilevel import MultiLevelModel, level_set
from cimspice.devices.multilevel_fitting import fit_levels, in_steps
from cimspice.devices.reram import FIT_TIMES, ReRAMWan2022Model
from cimspice.devices.reram_fitting import TIME_TAGS, fit_reram_spread


def row(name: str, est: Estimate, true: float) -> str:
    z = (est.value - true) / est.stderr
    return f"| {name} | {est.value:.5g} +- {est.stderr:.2g} | {true:.5g} | {z:+.2f} |"


def reram(n: int, seed: int) -> list[str]:
    model = ReRAMWan2022Model.from_params(Window(0.0, 40e-6), {"read_noise": 0.01})
    rng = np.random.default_rng(seed)
    lines = []
    for t, tag in TIME_TAGS.items():
        goal = rng.uniform(0.3, 1.0, n) * 40e-6
        g = model.pulse(goal, rng)
        if t > FIT_TIMES[0]:
            g = model.drift(g, goal, np.zeros(n, dtype=bool), t, rng)
        fitted, _ = fit_reram_spread(goal, g, 40e-6, tag)
        lines += [row(k, e, getattr(model, k)) for k, e in fitted.items()]
    g = rng.uniform(0.3, 1.0, 300) * 40e-6
    reads = g[:, None] * (1 + 0.01 * rng.standard_normal((300, 30)))
    est = fit_reads(np.repeat(np.arange(300), 30), reads.ravel())["read_noise"]
    return [*lines, row("read_noise", est, 0.01)]


def multilevel(n: int, seed: int) -> list[str]:
    truth = {"levels": 2048, "level_exponent": 1.5, "prog_std_steps": 0.6, "read_std_steps": 0.3}
    model = MultiLevelModel.from_params(Window(1e-6, 100e-6), truth)
    rng = np.random.default_rng(seed)
    k = rng.integers(40, 2008, n)
    fit = fit_levels(k, model.pulse(level_set(model)[k], rng), 2048)
    g = level_set(model)[rng.integers(0, 2048, 200)]
    reads = g[:, None] + model.read_std(g, 0.0)[:, None] * rng.standard_normal((200, 30))
    std = fit_reads(np.repeat(np.arange(200), 30), reads.ravel(), relative=False)["read_noise"]
    return [
        row("g_min (S)", fit.g_min, 1e-6),
        row("g_max (S)", fit.g_max, 100e-6),
        row("level_exponent", fit.exponent, 1.5),
        row("prog_std_steps", fit.prog_std_steps, 0.6),
        row("read_std_steps", in_steps(std, fit.step), 0.3),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    head = ["| parameter | fitted +- SE | true | (fitted - true) / SE |", "|---|---|---|---|"]
    print("reram-wan2022 (coefficients in uS on a 40 uS window)")
    print("\n".join(head + reram(args.devices, args.seed)))
    print("\nmemristor-rao2023 (2,048 levels)")
    print("\n".join(head + multilevel(args.devices // 3, args.seed)))


if __name__ == "__main__":
    main()
