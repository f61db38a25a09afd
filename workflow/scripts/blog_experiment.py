"""Snakemake adapter: Davies (2022) toy grokking with a bias-free linear model (grokedge.blog).

One GD run on the training clusters, evaluated on the two test sets (all near-boundary points, and the same
without the central ones). Writes the ``blog_curves`` table (one row per variant and checkpoint) and the
``blog_points`` table (every point: x0, x1, y, split, variant).

params.blog: seed, lr, horizon, checkpoints_per_decade, w0,
             train: {n_per_class, mean_pos, mean_neg, std_long, std_short, angle_deg},
             test: {n, half_length, band_min, band_max, central_cut}.
"""

import logging
import time

from grokedge import blog
from grokedge.io import write_table

smk = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=smk.log[0], level=logging.INFO, force=True,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("grokedge.blog_experiment")

try:
    cfg = dict(smk.params.blog)
    log.info("blog config: %s", cfg)
    t0 = time.perf_counter()
    curves, points, info = blog.run_experiment(cfg)
    log.info("GD to epoch %g with lr %g: %.2f s; w* = %s, margin %.4g, test points %s", float(cfg["horizon"]),
             float(cfg["lr"]), time.perf_counter() - t0, info["w_star"], info["margin"], info["n_test"])
    for row in blog.summary(curves).itertuples(index=False):
        log.info("%s: train acc = 1 from epoch %g; test acc >= 0.6 from %g, >= 0.95 from %g", row.variant,
                 row.train_acc_1, row.test_leaves_chance, row.test_solved)
    meta = {"blog": cfg, **info}
    write_table(curves, smk.output.curves, "blog_curves", meta)
    write_table(points, smk.output.points, "blog_points", meta)
    log.info("wrote %s and %s", smk.output.curves, smk.output.points)
except Exception:
    log.exception("blog_simulate failed")
    raise
