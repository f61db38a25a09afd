"""One cell of the paper's model from Python, without Snakemake: data, training, metrics, theory, one figure.

    python examples/one_cell.py                      # N = 200, lambda = 0.45, a few seconds
    python examples/one_cell.py --N 40 --out /tmp/x  # any N, lambda = d/N (or --d), sigma, eta, horizon

Runs in the venv that ``make`` builds: the library is taken from this checkout (workflow/scripts) unless
``pip install -e .`` installed it. lambda must make d = lambda N a whole number (as in the pipeline).
For each of ``--realisations`` training sets: regenerate the points from the project's seed scheme, decide
separability exactly, train with the gradient-flow solver (GD for the first epochs), compute the closed-form
generalisation metrics at log-spaced checkpoints and the grokking time (A_gen reaching 0.95), and compare it
with the asymptotic prediction exp(z_a sigma |S_inf|) / (eta m) for inseparable sets. Saves the paper's Fig. 1
(left) for this cell as one_cell.png / .pdf.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from scipy.special import ndtri

if importlib.util.find_spec("grokedge") is None:  # not installed: the library of this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

from grokedge import data, figures, laws, metrics, plotting, separability, train, validate  # noqa: E402
from grokedge.config import d_from_lam  # noqa: E402
from grokedge.seeds import realisation_seed  # noqa: E402

matplotlib.use("Agg")  # a script writes files; in a notebook keep the inline backend instead


def run(N: int, d: int, sigma: float, lr: float, horizon: float, realisations: int, root_seed: int = 0,
        threshold: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(curves, runs) of one cell: one row per realisation and checkpoint, and one per realisation."""
    epochs = train.checkpoint_epochs(horizon, 10)
    curves, runs = [], []
    for r in range(realisations):
        seed = realisation_seed(root_seed, "gaussian", N, d, r)  # as the workflow draws it (the law's name)
        real = data.realisation(N, d, sigma, seed)
        sep = separability.separable_from_origin(real.X)
        traj = train.train(train.Problem(real.X[None], real.S0[None]), train.Schedule(lr, epochs), "flow")
        population = metrics.Population(laws.InputLaw("gaussian", sigma))  # the paper's: labels -1, logistic loss
        cm = {k: v[0] for k, v in metrics.curve_metrics(traj, metrics.Points(real.X[None]), population).items()}
        grok = metrics.grokking_time(epochs, cm, "gen_accuracy", threshold)
        row = {"realisation": r, "separable": sep, "grok_gen95": grok["time"], "censored": grok["censored"],
               "final_gen_acc": cm["gen_acc"][-1]}
        if not sep:  # theory: A_gen = Phi(-b / (sigma |S|)) with S -> S_inf and e^{-b} ~ eta t m
            lim = separability.inseparable_limit(real.X)
            s_inf = float(np.linalg.norm(lim.s_inf))
            row |= {"sigma_s_inf": sigma * s_inf, "predicted": np.exp(ndtri(threshold) * sigma * s_inf) / (lr * lim.m)}
        runs.append(row)
        curves.append(pd.DataFrame({"epoch": epochs, **cm}).assign(realisation=r, seed=seed))
    curves = pd.concat(curves, ignore_index=True).assign(N=N, d=d, lam=d / N, sigma=sigma, lr=lr)
    return curves, pd.DataFrame(runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--N", type=int, default=200)
    p.add_argument("--lam", type=float, default=0.45, help="d / N (the set is typically inseparable below 1/2)")
    p.add_argument("--d", type=int, help="input dimension (instead of --lam)")
    p.add_argument("--sigma", type=float, default=5.0)
    p.add_argument("--lr", type=float, default=0.01, help="learning rate eta")
    p.add_argument("--horizon", type=float, default=1e5, help="epochs")
    p.add_argument("--realisations", type=int, default=3)
    p.add_argument("--out", type=Path, default=Path("."), help="folder for one_cell.png / .pdf")
    args = p.parse_args(argv)
    try:
        validate.whole("--N", args.N, minimum=2), validate.positive("--sigma", args.sigma)
        validate.positive("--lr", args.lr), validate.whole("--realisations", args.realisations)
        validate.horizon(args.horizon)
        d = validate.whole("--d", args.d) if args.d is not None else d_from_lam(args.N, args.lam)
    except ValueError as err:  # the pipeline's rules: d = lambda N must be a whole number, never rounded
        msg = str(err).replace("horizon must", "--horizon must")
        if args.d is None and "lam =" in msg:
            msg = (f"--lam {args.lam:g} with --N {args.N} gives d = {args.lam * args.N:.6g}, not a positive whole "
                   "number: give a lambda that is a multiple of 1/N, or --d")
        p.error(msg)
    curves, runs = run(args.N, d, args.sigma, args.lr, args.horizon, args.realisations)
    with pd.option_context("display.width", 120, "display.precision", 4):
        print(runs.to_string(index=False))
    plotting.style()
    fig = figures.training_curves_figure(pd.DataFrame(), curves, {})
    plotting.save(fig, args.out / "one_cell.png")
    print(f"wrote {args.out / 'one_cell.png'} and .pdf")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
