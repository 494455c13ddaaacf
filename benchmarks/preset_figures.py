"""Each device preset's statistics, measured on large samples of the model, over the published
fits they come from (the figure numbers of each source are in its module's docstring).

    .venv/bin/python benchmarks/preset_figures.py [--devices 100000] [--out out/presets]

PCM (``pcm-nandakumar2019``, 25 uS window): programming-error std, drift-exponent mean and
std against the target conductance, and the 1/f noise's relative std against time (Joshi et
al. 2020, Fig. 2 a-c, as fitted in aihwkit). ReRAM (``reram-wan2022``, 40 uS window): the
spread around the target at 1 s, 1 day and 2 days (Wan et al. 2022, Extended Data Fig. 3, as
fitted in aihwkit), and the independent fits of ``cimspice/devices/published.toml`` (Sandia
CrossSim's fits of Joshi 2020 Fig. 3b and of Wan 2022's 1 s data). Prints a table (model vs
published at a few points) and writes ``pcm_*.png`` and ``reram_sigma.png`` into ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from cimspice.devices.published import missing_data, published_curves
from cimspice.devices.registry import device_model
from cimspice.devices.tile import program_tile
from cimspice.plots.devices import plot_against_published
from cimspice.plots.figure import save_figure
from cimspice.spec import spec_from_dict

CAPTION = "markers: the model sampled (cimspice.devices); lines: the published fits"


def spec(model: str, g_max: float, **nonideal):
    data = {
        "array": {"rows": 64, "cols": 64},
        "device": {"g_min": 0.0, "g_max": g_max},
        "nonideal": {"model": model, **nonideal},
    }
    return spec_from_dict(data)


def pcm(n: int, out: Path) -> None:
    g_max = 25e-6
    x = np.linspace(0.05, 1.0, 12)
    fine = np.linspace(0.02, 1.0, 200)
    rng = np.random.default_rng(0)
    model = device_model(spec("pcm-nandakumar2019", g_max))
    sampled_std = [np.std(model.pulse(np.full(n, v * g_max), rng) - v * g_max) for v in x]
    published = 0.26348e-6 + 1.9650e-6 * fine - 1.1731e-6 * fine**2
    (crosssim,) = published_curves("pcm-nandakumar2019")
    save_figure(
        plot_against_published(
            {
                "programming std": (fine * g_max, published),
                crosssim.label: (crosssim.grid(), crosssim(crosssim.grid())),
            },
            {"programming std": (x * g_max, np.array(sampled_std))},
            xlabel="target conductance",
            ylabel="std of G - target",
            units=("S", "S"),
            title="PCM programming error (Joshi 2020: aihwkit and CrossSim fits)",
            caption=CAPTION,
        ),
        out / "pcm_programming.png",
    )
    quiet = {"read_noise_scale": 0.0, "prog_noise_scale": 0.0}
    s = spec("pcm-nandakumar2019", g_max, drift_time=1e6, model_params=quiet)
    means, stds = [], []
    for v in x:
        g0 = np.full((n // 500, 500), v * g_max)
        g = program_tile(g0, s, g0.shape, 0).conductances
        nu = -np.log(g / g0) / np.log((1e6 + 20) / 20)
        means.append(nu.mean())
        stds.append(nu.std())
    lx = np.log(fine)
    mu = np.clip(-0.0155 * lx + 0.0244, 0.049, 0.1)
    sd = np.clip(-0.0125 * lx - 0.0059, 0.008, 0.045)
    save_figure(
        plot_against_published(
            {"nu mean": (fine * g_max, mu), "nu std": (fine * g_max, sd)},
            {"nu mean": (x * g_max, np.array(means)), "nu std": (x * g_max, np.array(stds))},
            xlabel="target conductance",
            ylabel="drift exponent",
            units=("S", ""),
            title="PCM drift exponent (Joshi 2020 Fig. 2b)",
            caption=CAPTION + " (nu sampled is |N(mu, s)|: its mean sits above mu where s ~ mu)",
        ),
        out / "pcm_drift.png",
    )
    times = np.geomspace(1.0, 3.15e7, 8)
    fine_t = np.geomspace(1.0, 3.15e7, 200)
    flat = {"drift_scale": 0.0, "prog_noise_scale": 0.0}
    g0 = np.full((n // 500, 500), 0.5 * g_max)
    rel = [
        np.std(
            program_tile(
                g0, spec("pcm-nandakumar2019", g_max, drift_time=t, model_params=flat), g0.shape, 0
            ).conductances
            / g0
            - 1
        )
        for t in times
    ]
    q = min(0.0088 / 0.5**0.65, 0.2)
    law = q * np.sqrt(np.log((fine_t + 20 + 250e-9) / (2 * 250e-9)))
    save_figure(
        plot_against_published(
            {"1/f std at G = g_max / 2": (fine_t, law)},
            {"1/f std at G = g_max / 2": (times, np.array(rel))},
            xlabel="time since programming",
            ylabel="relative std of G",
            units=("s", ""),
            log_x=True,
            title="PCM accumulated 1/f noise (Joshi 2020 Fig. 2c)",
            caption=CAPTION,
        ),
        out / "pcm_one_over_f.png",
    )
    print("\n| PCM statistic | at | model (sampled) | published |\n|---|---|---|---|")
    for k in (0, 5, 11):
        fit = 0.26348 + 1.9650 * x[k] - 1.1731 * x[k] ** 2
        at = f"G = {x[k] * 25:.2f} uS"
        print(f"| programming std (uS) | {at} | {sampled_std[k] * 1e6:.4f} | {fit:.4f} |")
        other = crosssim(x[k] * g_max) * 1e6
        print(
            f"| (CrossSim fit of Joshi Fig. 3b) | {at} | {sampled_std[k] * 1e6:.4f} | {other:.4f} |"
        )
        lk = np.log(x[k])
        m, d = (
            np.clip(-0.0155 * lk + 0.0244, 0.049, 0.1),
            np.clip(-0.0125 * lk - 0.0059, 0.008, 0.045),
        )
        got = f"{means[k]:.4f} / {stds[k]:.4f}"
        print(f"| drift nu mean / std | {at} | {got} | {m:.4f} / {d:.4f} |")
    for k in (0, 4, 7):
        fit = q * np.sqrt(np.log((times[k] + 20 + 250e-9) / (2 * 250e-9)))
        print(f"| 1/f relative std | t = {times[k]:.3g} s | {rel[k]:.5f} | {fit:.5f} |")


def reram(n: int, out: Path) -> None:
    g_max = 40e-6
    g = np.linspace(2e-6, 38e-6, 10)
    fine = np.linspace(0.0, 40e-6, 200)
    fits = {
        "1 s": (0.348, 16.030, -43.853, 45.393, -16.815),
        "1 day": (0.701, 22.086, -50.773, 47.095, -16.458),
        "2 days": (0.782, 20.274, -43.507, 37.062, -11.934),
    }
    published, sampled = {}, {}
    (crosssim,) = published_curves("reram-wan2022")
    print("\n| ReRAM spread (uS) | G (uS) | model (sampled) | aihwkit fit | CrossSim fit (1 s) |")
    print("|---|---|---|---|---|")
    for (label, coeffs), t in zip(fits.items(), (0.0, 86400.0, 172800.0), strict=True):
        published[label] = (fine, 1e-6 * sum(c * (fine / g_max) ** k for k, c in enumerate(coeffs)))
        s = spec("reram-wan2022", g_max, drift_time=t)
        stds = []
        for v in g:
            goal = np.full((n // 500, 500), v)
            stds.append(np.std(program_tile(goal, s, goal.shape, 0).conductances - goal))
        sampled[label] = (g, np.array(stds))
        for k in (1, 4, 8):
            fit = sum(c * (g[k] / g_max) ** j for j, c in enumerate(coeffs))
            extra = f"{crosssim(g[k]) * 1e6:.3f}" if label == "1 s" else "-"
            print(f"| {label} | {g[k] * 1e6:.1f} | {stds[k] * 1e6:.3f} | {fit:.3f} | {extra} |")
    published[crosssim.label] = (fine, crosssim(fine))
    save_figure(
        plot_against_published(
            published,
            sampled,
            xlabel="target conductance",
            ylabel="std of G - target",
            units=("S", "S"),
            title="ReRAM relaxation (Wan 2022 Ext. Data Fig. 3)",
            caption=CAPTION,
        ),
        out / "reram_sigma.png",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--out", default="out/presets")
    args = parser.parse_args()
    out = Path(args.out)
    pcm(args.devices, out)
    reram(args.devices, out)
    print("\nNot available offline (cimspice/devices/published.toml):")
    for gap in missing_data():
        print(f"- {gap.preset}: {gap.what}")


if __name__ == "__main__":
    main()
