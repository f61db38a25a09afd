"""Snakemake adapter: Davies (2022) toy grokking, the ``blog_curves`` and ``blog_points`` tables."""
from grokedge import blog
from grokedge.runner import Job

with Job(snakemake, "blog_simulate") as job:
    curves, points, info = blog.run_experiment(job.params["blog"])
    for row in blog.summary(curves).itertuples(index=False):
        job.log.info("%s: train acc = 1 from epoch %g; test acc >= 0.6 from %g, >= 0.95 from %g", row.variant,
                     row.train_acc_1, row.test_leaves_chance, row.test_solved)
    job.write(curves, snakemake.output.curves, "blog_curves", {"blog": job.params["blog"], **info})
    job.write(points, snakemake.output.points, "blog_points", {"blog": job.params["blog"], **info})
