"""The learning rate behind the paper preset: the accuracy-0.9 delay of Fig. 1 (right, bottom) per (lambda, eta).

The paper states eta = 0.01, but its panel starts near 3 epochs at lambda = 0.05; this measures the delay at
several eta on the same datasets, so a reader can see why the paper preset uses eta = 0.1 (and that the claims
``fig1_delay_005`` and ``fig1_delay_peak`` are then judged at a learning rate chosen from their own read-offs).
``python -m grokedge.evidence.eta`` prints the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SETTINGS = ((5.0, 0.01), (5.0, 0.1), (1.0, 0.01))  # (sigma, eta): the paper's stated pair, the preset's, an alternative


def eta_delay_table(lams=(0.05, 0.3, 0.45, 0.48), settings=SETTINGS, N: int = 400, realisations: int = 8,
                    horizon: float = 1e9, root_seed: int = 20250710, gd_epochs: int = 30000) -> pd.DataFrame:
    """The accuracy-0.9 delay (the paper's Fig. 1 right bottom) per (lambda, sigma, eta): exact GD for the first
    ``gd_epochs`` epochs (where the delays below ~0.3 live, and where a step of eta = 0.1 is not small), then the
    gradient flow to ``horizon``. Returns per (lam, sigma, eta): the median t_train, t_gen and delay, its quartiles
    and the censored count. The same datasets (seed scheme of the pipeline, scaled by sigma) in every setting."""
    from .. import data, laws, metrics, train
    from ..seeds import realisation_seed
    rows = []
    ep = train.checkpoint_epochs(horizon, 40)
    for lam in lams:
        d = round(lam * N)
        for sigma, eta in settings:
            reals = [data.realisation(N, d, sigma, realisation_seed(root_seed, "gaussian", N, d, r))
                     for r in range(realisations)]
            X, S0 = np.stack([r.X for r in reals]), np.stack([r.S0 for r in reals])
            tr = train.train(train.Problem(X, S0), train.Schedule(eta, ep), "flow", gd_warmup=gd_epochs,
                             correction_epochs=max(1e4, gd_epochs))
            cm = metrics.curve_metrics(tr, metrics.Points(X), metrics.Population(laws.InputLaw("gaussian", sigma)))
            g = [metrics.grokking_time(ep, {k: cm[k][i] for k in ("train_loss", "train_acc", "gen_loss", "gen_acc")},
                                       "accuracy_delay", 0.9) for i in range(realisations)]
            df = pd.DataFrame(g)
            delay = np.where(df.censored, np.inf, df.time)
            rows.append({"lam": lam, "sigma": sigma, "eta": eta, "n": realisations, "t_train": df.t_train.median(),
                         "t_gen": df.t_gen.median(), "delay_median": float(np.quantile(delay, 0.5, method="lower")),
                         "delay_q25": float(np.quantile(delay, 0.25, method="lower")),
                         "delay_q75": float(np.quantile(delay, 0.75, method="higher")),
                         "censored": int(df.censored.sum())})
    return pd.DataFrame(rows)


def final_accuracy_table(lam: float = 0.9, sigmas=(1.0, 5.0)) -> pd.DataFrame:
    """The N -> infinity final A_gen Phi(1/(sigma^2 kappa(lambda))) at ``lam`` per sigma: Fig. 1 (right, middle)
    reads ~0.55 at lambda = 0.9, which singles out sigma = 5 whatever eta is."""
    from ..theory import gen_accuracy_limit
    return pd.DataFrame({"lam": lam, "sigma": list(sigmas),
                         "final_gen_acc_limit": [float(gen_accuracy_limit(lam, s)) for s in sigmas]})


def main() -> int:
    print(eta_delay_table().to_string(index=False))
    print()
    print(final_accuracy_table().to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
