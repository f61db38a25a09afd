"""``python -m benchmarks [--skip-pipeline] [--only kernel,flow,long,pipeline]``: run and print the report."""

from __future__ import annotations

import argparse
import time

from threadpoolctl import threadpool_limits

from ._util import PERFORMANCE_PAGE, Report, fmt_time, load_average, machine_lines, performance_table

PARTS = ("kernel", "flow", "long", "resources", "separability", "pipeline")
DESCRIPTION = {
    "kernel": "GD kernel vs its floor (bare gemv) and a naive loop",
    "flow": "flow solver vs GD to 1e5 epochs, time and agreement",
    "long": "flow solver to 1e9 epochs: epochs per second per realisation",
    "resources": "the train cost model (grokedge.resources) against measured jobs' wall time and peak RSS",
    "pipeline": "whole default pipeline cold and no-op rerun (~8 min)",
    "separability": "certified separability per set vs the earlier cold LP; at N = 2400 the LP route vs classify; "
                    "jobs of a cold run",
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 epilog="parts: " + "; ".join(f"{k}: {v}" for k, v in DESCRIPTION.items()))
    ap.add_argument("--only", default=",".join(PARTS), help="comma-separated parts to run (default: all)")
    ap.add_argument("--skip-pipeline", action="store_true", help="leave out the whole-pipeline part")
    ap.add_argument("--repeat", type=int, default=5, help="timing rounds per measurement; the best is kept")
    ap.add_argument("--keep", action="store_true", help="keep the pipeline's scratch copy and logs")
    ap.add_argument("--table", metavar="PATH", nargs="?", const=PERFORMANCE_PAGE,
                    help=f"regenerate the performance table of PATH (default {PERFORMANCE_PAGE}) from the "
                    "headline figures of the parts run (rows of other parts are kept)")
    args = ap.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        ap.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if args.skip_pipeline:
        parts = [p for p in parts if p != "pipeline"]

    rep = Report()
    rep.section("machine")
    for line in machine_lines():
        rep.note(line)
    load_at_start = load_average()
    rep.note(f"{load_at_start} at start (other load on the cores shows up in every figure)")
    t0 = time.perf_counter()
    with threadpool_limits(limits=1):  # one BLAS thread, as in the pipeline's jobs; parallelism is ours
        if "kernel" in parts:
            from . import kernel

            kernel.run(rep, repeat=args.repeat)
        if "flow" in parts:
            from . import flow

            flow.run_flow_vs_gd(rep, repeat=args.repeat)
        if "long" in parts:
            from . import flow

            flow.run_long(rep, repeat=args.repeat)
    if "resources" in parts:
        from . import resources

        resources.run(rep)
    if "separability" in parts:
        from . import separability

        separability.run(rep, repeat=min(args.repeat, 2))
    if "pipeline" in parts:
        from . import pipeline

        pipeline.run(rep, keep=args.keep)
    rep.section("done")
    rep.note(f"total {fmt_time(time.perf_counter() - t0).strip()}; {load_average()} at end")
    if args.table:
        when = f"{time.strftime('%Y-%m-%d')}, {load_at_start.replace('load average', 'load')} at start"
        performance_table(args.table, rep.keys, parts, when)
        rep.note(f"{args.table}: performance table regenerated ({len(rep.keys)} rows from this run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
