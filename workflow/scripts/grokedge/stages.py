"""The pipeline's stages as functions of a cell's specification (``grokedge.spec``) and a block index, each
returning a tidy DataFrame. The Snakemake scripts only read params, call these, and write; the entry points
they call also take the params dict (``_as_spec``)."""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import sys
import time

import numpy as np
import pandas as pd
from scipy.special import ndtri

from . import data, losses, metrics, model, separability, solvers, theory, train
from .io import read_table
from .spec import OPTIONS, TRAINING, CellSpec, DataSpec, SeparabilitySpec

log = logging.getLogger("grokedge.stages")


def _as_spec(given, cls: type):
    """``given`` if it is a specification, else the ``cls`` of a job's params (``cls.from_params``). The entry
    points take both, so that the Snakemake adapters, whose changes (file times) make Snakemake rerun every
    job of theirs, did not change when the specifications came."""
    return given if isinstance(given, DataSpec) else cls.from_params(given)


def _with_columns(df: pd.DataFrame, spec: DataSpec) -> pd.DataFrame:
    """The cell's columns (``spec.columns()``) in front of ``df``'s own."""
    for k, v in reversed(spec.columns().items()):
        df.insert(0, k, v)
    return df


def _generate_block(spec: DataSpec, block: int):
    """(manifest row, realisation) for every realisation of the block, generated from its seed; the row holds
    the seed and the SHA-256 of the training points and S0, which every later stage checks."""
    for r, seed in spec.seeds(block):
        real = spec.realisation(seed)
        yield spec.columns() | {"realisation": r, "seed": seed, "x_sha256": data.checksum(real.X),
                                "s0_sha256": data.checksum(real.S0)}, real


def dataset_manifest(spec: DataSpec | dict, block: int) -> pd.DataFrame:
    """Stage 1: one row per realisation: its seed and the checksums of its arrays (``_generate_block``)."""
    return pd.DataFrame([row for row, _ in _generate_block(_as_spec(spec, SeparabilitySpec), block)])


def regenerate(spec: DataSpec, seed: int, x_sha256: str, s0_sha256: str | None = None, where: str = ""):
    """The realisation of ``seed``, checked against the checksums a table recorded for it: a mismatch (another
    numpy random stream, or a specification that is not the one the table was made with) is an error."""
    real = spec.realisation(seed)
    if data.checksum(real.X) != x_sha256 or (s0_sha256 is not None and data.checksum(real.S0) != s0_sha256):
        raise RuntimeError(f"{spec.experiment}/{spec.cell} {where}(seed {seed}): the regenerated data differ from "
                           "the checksums recorded with them (a different numpy random stream, or tables of another "
                           "configuration?); delete the cell's block outputs and rerun the workflow")
    return real


def load_realisations(spec: DataSpec, manifest: pd.DataFrame):
    """Regenerate a block's realisations from the manifest's seeds, one at a time (a block of large sets is
    never held at once), verifying their checksums."""
    for row in manifest.itertuples():
        yield regenerate(spec, int(row.seed), row.x_sha256, row.s0_sha256, f"realisation {row.realisation} ")


# the S_inf columns of a set without one (separable, s_inf: false, or not decided)
NO_S_INF = dict.fromkeys(("s_inf_norm", "s_inf_m", "s_inf_grad", "s_inf_pos_frac", "s_inf_pos_mean"), np.nan)


def separability_block(spec: SeparabilitySpec, manifest: pd.DataFrame) -> pd.DataFrame:
    """Stage 2: the certified decision (``separability.classify``: verdict, certificate, the margin and its
    duality gap for separable sets) and S_inf for inseparable ones."""
    if not spec.separability:
        return _undecided_block(spec, manifest)
    rows = [_separability_record(spec, row.realisation, row.seed, real.X)
            for row, real in zip(manifest.itertuples(), load_realisations(spec, manifest), strict=True)]
    return _with_wendel(pd.DataFrame(rows), spec)


def _separability_record(spec: SeparabilitySpec, realisation: int, seed: int, X: np.ndarray) -> dict:
    """One set's row of the separability table."""
    got = separability.classify(X, where=f"{spec.experiment}/{spec.cell} realisation {realisation} (seed {seed})",
                                s_inf=spec.s_inf)
    res, lim = got.decision, got.limit
    sep = res.separable
    rec = spec.columns() | {
        "realisation": realisation, "seed": int(seed), "separable": bool(sep), "lp_optimum": res.lp_optimum,
        "lp_solves": res.lp_solves, "lp_full": res.lp_full,
        "margin": res.margin if sep else np.nan, "margin_gap": res.margin_gap if sep else np.nan,
        "cert_kind": res.certificate, "cert_margin": res.cert_margin, "cert_residual": res.cert_residual,
        "cert_tolerance": res.cert_tolerance} | NO_S_INF
    if lim is not None:
        rec |= {"s_inf_norm": float(np.linalg.norm(lim.s_inf)), "s_inf_m": lim.m, "s_inf_grad": lim.grad_norm}
        rec |= theory.projection_summary(X, lim.s_inf)  # Figs. 6 and 7: the points on the wrong side of S_inf
    log.info("%s realisation %d: separable=%s (%s, %s, LP solves %d)", spec.cell, realisation, sep,
             res.certificate, got.route, res.lp_solves)
    return rec


def _with_wendel(table: pd.DataFrame, spec: DataSpec) -> pd.DataFrame:
    """``separable`` as a nullable boolean (empty where not decided) and Wendel's probability of a separable
    set at the cell's (N, d), the odds of each verdict before any LP."""
    table["separable"] = table["separable"].astype("boolean")
    table["wendel_p_separable"] = separability.wendel_probability(spec.N, spec.d)
    return table


def _undecided_block(spec: DataSpec, manifest: pd.DataFrame) -> pd.DataFrame:
    """The rows of an experiment with ``separability: false`` (sets beyond the LP's reach, e.g. the paper's
    N = 4e4): seeds and Wendel's probability, ``separable`` empty and no certificate; nothing is claimed."""
    nan = np.nan
    rows = [spec.columns() | {"realisation": row.realisation,
        "seed": int(row.seed), "separable": None, "lp_optimum": nan, "lp_solves": 0, "lp_full": False,
        "margin": nan, "margin_gap": nan, "cert_kind": "none", "cert_margin": nan, "cert_residual": nan,
        "cert_tolerance": nan} | NO_S_INF for row in manifest.itertuples()]
    log.info("%s: %d sets not decided (separability: false)", spec.cell, len(rows))
    return _with_wendel(pd.DataFrame(rows), spec)


@functools.lru_cache
def _code_hash(*modules) -> str:
    """SHA-256 of the source of ``modules`` and of this one: a cached block is recomputed when its code changes
    (computed once per process, not per block)."""
    import hashlib
    import inspect

    h = hashlib.sha256()
    for mod in (*modules, sys.modules[__name__]):
        h.update(inspect.getsource(mod).encode())
    return h.hexdigest()


def _key(payload: dict) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _cached(key: str, paths: dict, compute, spec: DataSpec,
            elapsed_s: float = 0.0) -> tuple[tuple[pd.DataFrame, ...], bool]:
    """Tables of kinds ``paths`` (kind -> cache file), read from the cache when every file carries ``key``
    (-> (tables, True)), else ``compute()`` (a tuple in the same order), stored there (-> (tables, False)).
    ``elapsed_s``: seconds already spent on the tables (their recorded wall time adds it).
    The cache lets one job cover many blocks while a changed cell still recomputes only its own work."""
    from pathlib import Path

    from .io import read_table, table_metadata, write_table
    from .provenance import provenance

    paths = {kind: Path(p) for kind, p in paths.items()}
    try:
        if all(p.exists() and table_metadata(p).get("cache_key") == key for p in paths.values()):
            return tuple(read_table(p, kind) for kind, p in paths.items()), True
    except ValueError:
        log.warning("ignoring an unreadable cache among %s", sorted(map(str, paths.values())))
    t0 = time.perf_counter()
    tables = compute()
    meta = provenance(spec.params(), wall_time_s=round(elapsed_s + time.perf_counter() - t0, 3))
    for (kind, path), table in zip(paths.items(), tables, strict=True):
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):  # left by a job killed mid-write
            tmp.unlink(missing_ok=True)
        write_table(table, path, kind, {"cache_key": key, "rule": kind, "provenance": meta})
    return tables, False


def separability_cache_key(spec: SeparabilitySpec, manifest: pd.DataFrame) -> str:
    """Identifies a block's separability table: its data and separability options (every field, None where the
    params leave an option out), its realisations' checksums, the code."""
    params = spec.separability_spec.params()
    fields = {f.name: params.get(f.name) for f in dataclasses.fields(SeparabilitySpec)}
    return _key({"params": fields, "x_sha256": manifest.x_sha256.tolist(),
                 "code": _code_hash(separability, data, theory)})


def dataset_and_separability(spec: SeparabilitySpec | dict, block: int, cache_path
                             ) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """Stages 1 and 2 of a block in one job -> (manifest, table, cached). Without a cached table each set is drawn
    once, hashed for the manifest and decided at once (at N = 2400 a second draw and hash would add ~15% to the
    decision); with one, the manifest is drawn first and the cache's key checked (``separability_cached``)."""
    from pathlib import Path

    spec = _as_spec(spec, SeparabilitySpec)
    if Path(cache_path).exists() or not spec.separability:
        manifest = dataset_manifest(spec, block)
        return (manifest, *separability_cached(spec, manifest, cache_path))
    t0 = time.perf_counter()
    rows, recs = [], []
    for row, real in _generate_block(spec, block):
        rows.append(row)
        recs.append(_separability_record(spec, row["realisation"], row["seed"], real.X))
    manifest, table = pd.DataFrame(rows), _with_wendel(pd.DataFrame(recs), spec)
    _cached(separability_cache_key(spec, manifest), {"separability": cache_path}, lambda: (table,), spec,
            elapsed_s=time.perf_counter() - t0)
    return manifest, table, False


def separability_cached(spec: SeparabilitySpec | dict, manifest: pd.DataFrame, cache_path) -> tuple[pd.DataFrame, bool]:
    """``separability_block``, reused from ``cache_path`` when it holds the same cache key (-> (table, True)),
    else computed and stored there (-> (table, False))."""
    spec = _as_spec(spec, SeparabilitySpec)
    (table,), cached = _cached(separability_cache_key(spec, manifest), {"separability": cache_path},
                               lambda: (separability_block(spec, manifest),), spec)
    return table, cached


def train_cached(spec: CellSpec | dict, block: int, cache_stem, threads: int = 1
                 ) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """``train_block``, reused from ``<cache_stem>.curves.parquet`` and ``.state.parquet`` when they hold the
    same cache key (all of the cell's parameters, the block, the training code) -> (curves, state, cached)."""
    spec = _as_spec(spec, CellSpec)
    key = _key({"params": spec.params(), "block": block,
                "code": _code_hash(train, *solvers.MODULES, metrics, model, losses, data)})
    (curves, state), cached = _cached(key, {"curves_block": f"{cache_stem}.curves.parquet",
                                            "state": f"{cache_stem}.state.parquet"},
                                      lambda: train_block(spec, block, threads), spec)
    return curves, state, cached


def train_block(spec: CellSpec, block: int, threads: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage 3: train every realisation of the block together (GD and Adam split the realisations over
    ``threads`` threads, with identical results for any count). The realisations are generated here from their
    seeds, so training never waits for the separability stage; their checksums go into the final states, and
    the aggregation checks them against the dataset manifest (``check_same_data``). Returns the curves (one row
    per realisation and checkpoint) and the final states (one row per realisation: b, the vector S, checksums,
    and the cell's data specification, from which ``final_projections`` regenerates the points)."""
    rows, reals = zip(*_generate_block(spec, block), strict=True)
    manifest = pd.DataFrame(list(rows))
    # one realisation (paper-size blocks): a view, not a second copy of a multi-GB X
    X = reals[0].X[None] if len(reals) == 1 else np.stack([r.X for r in reals])
    S0 = np.stack([r.S0 for r in reals])
    c = np.stack([r.c for r in reals])
    epochs = train.checkpoint_epochs(spec.horizon, spec.checkpoints_per_decade)
    first = int(manifest.realisation.iloc[0])
    problem = train.Problem(X, S0, spec.b0, c, spec.loss, first, threads)
    traj = train.train(problem, train.Schedule(spec.lr, epochs), spec.solver,
                       **solvers.get(spec.solver).options_from_cell(spec))
    test = None
    if spec.test_set == "sampled":
        tests = [spec.test_points(int(s), spec.n_test) for s in manifest.seed]
        test = metrics.Points(np.stack([t[0] for t in tests]), np.stack([t[1] for t in tests]))
    cm = metrics.curve_metrics(traj, metrics.Points(X, c), metrics.Population.of(spec), test)
    _check_finite(cm, spec, manifest.realisation.to_numpy(), epochs)
    R, K = traj.b.shape
    frame = {k: np.repeat(manifest[k].to_numpy(), K) for k in ("realisation", "seed")}
    frame["epoch"] = np.tile(epochs, R)
    frame |= {k: v.ravel() for k, v in cm.items()}
    df = _with_columns(pd.DataFrame(frame), spec)
    df["solver"] = spec.solver
    return df, _state_table(spec, manifest, epochs[-1], traj.S[:, -1], traj.b[:, -1])


def _state_table(spec: CellSpec, manifest: pd.DataFrame, epoch: float, S: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    """The final states (one row per realisation): seed, checksums, b and the vector S, behind the cell's columns
    and followed by the rest of its data specification (``DataSpec.from_row`` reads it back)."""
    state = pd.DataFrame({"realisation": manifest.realisation.to_numpy(), "seed": manifest.seed.to_numpy(),
                          "x_sha256": manifest.x_sha256.to_numpy(), "s0_sha256": manifest.s0_sha256.to_numpy(),
                          "epoch": epoch, "b": b, "S": list(S)})
    state = _with_columns(state, spec)
    for k, v in dataclasses.asdict(spec.data_spec).items():
        if k not in state.columns:
            state[k] = v
    return state


def _check_finite(cm: dict, spec: CellSpec, realisations, epochs) -> None:
    """A metric that is not finite stops the job with an error naming the realisation and the epoch."""
    for name, arr in cm.items():
        bad = ~np.isfinite(arr)
        if bad.any():
            r, k = np.argwhere(bad)[0]
            raise train.TrainingDiverged(f"{spec.cell} realisation {int(realisations[r])}: {name} is not finite "
                                         f"at epoch {int(epochs[k])}")


def gather_blocks(paths: list, kind: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Read every block's table of one kind and check that each belongs where it lies: the experiment and cell
    of every row match the path ``.../<experiment>/<cell>/block<k>/...``, and no realisation of a cell appears in
    two blocks (a block's outputs copied over another's). An error names the file."""
    frames, seen = [], {}
    for path in map(str, paths):
        m = re.search(r"/([a-z][a-z0-9_]*)/(N\d+_d\d+_sigma[^/]+)/block(\d+)/[^/]+$", path)
        df = read_table(path, kind, columns if columns is None else ["experiment", "cell", "realisation", *columns])
        if m is None:
            raise ValueError(f"{path}: not a block output (expected .../<experiment>/<cell>/block<k>/...)")
        for col, want in (("experiment", m.group(1)), ("cell", m.group(2))):
            found = sorted(set(df[col].astype(str)) - {want})
            if found:
                raise ValueError(f"{path}: holds rows of {col} {found} but lies in the folder of {col} {want!r} "
                                 "(copied from another block?); delete it and rerun the workflow to rebuild it")
        for r in sorted(set(df["realisation"].astype(int))):
            other = seen.setdefault((m.group(1), m.group(2), r), path)
            if other != path:
                raise ValueError(f"{path}: realisation {r} of {m.group(2)} is also in {other} (a block's outputs "
                                 "copied over another's?); delete the wrong one and rerun the workflow")
        frames.append(df)
    if not frames:  # e.g. no active experiment trains: no curves or states
        return pd.DataFrame(columns=["experiment", "cell", "realisation", *(columns or [])])
    return pd.concat(frames, ignore_index=True)


def check_same_data(manifests: pd.DataFrame, states: pd.DataFrame) -> None:
    """The train and separability stages generate each realisation on their own (they may run on different
    nodes): every trained realisation's seed and checksums must equal its manifest's, else an error names it."""
    keys = ["experiment", "cell", "realisation"]
    cols = ["seed", "x_sha256", "s0_sha256"]
    both = states[keys + cols].merge(manifests[keys + cols], on=keys, how="left", suffixes=("", "_manifest"),
                                     validate="one_to_one")
    bad = both[np.logical_or.reduce([both[c] != both[f"{c}_manifest"] for c in cols])]
    if len(bad):
        row = bad.iloc[0]
        raise RuntimeError(f"{row.experiment}/{row.cell} realisation {row.realisation}: the trained data differ from "
                           f"the dataset manifest (seed {row.seed} vs {row.seed_manifest}, or its checksums): the "
                           "two stages ran with different random streams (numpy versions?); rerun both stages")


def summarise_runs(curves: pd.DataFrame, seps: pd.DataFrame, grokking: dict) -> pd.DataFrame:
    """Stage 4: one row per realisation: separability results, final metrics, every grokking time (with
    its censored flag), the generalisation-loss bump and whether the training loss fell monotonically."""
    keys = ["experiment", "cell", "realisation"]
    final = ("train_loss", "train_acc", "gen_loss", "gen_acc", "s_norm", "sigma_s_norm", "b")
    # the separability table knows only the data's options and writes the training options' columns (b0, loss)
    # at their defaults: a trained realisation's values come from its curves
    trained_options = [o.name for o in OPTIONS if o.column and o.role == TRAINING and o.name in curves]
    rows = []
    for key, g in (curves.sort_values([*keys, "epoch"]).groupby(keys, sort=True) if len(curves) else ()):
        ep = g.epoch.to_numpy()
        cur = {c: g[c].to_numpy() for c in ("train_loss", "train_acc", "gen_loss", "gen_acc")}
        rec = dict(zip(keys, key, strict=True)) | {"horizon": float(ep[-1]), "solver": g.solver.iloc[0]}
        rec |= {f"{k}_trained": g[k].iloc[0] for k in trained_options}
        for c in final:
            rec[f"final_{c}"] = float(g[c].iloc[-1])
        for name, spec in grokking.items():
            t = metrics.grokking_time(ep, cur, spec["kind"], spec["threshold"])
            rec |= {f"grok_{name}": t["time"], f"grok_{name}_censored": t["censored"],
                    f"grok_{name}_t_train": t["t_train"], f"grok_{name}_t_gen": t["t_gen"]}
        rec |= metrics.gen_loss_bump(ep, cur["gen_loss"])
        rec["train_loss_monotone"] = metrics.is_monotone_decreasing(cur["train_loss"])
        rows.append(rec)
    # no trained realisation (an LP-only run): the same columns, empty
    summary = pd.DataFrame(rows) if rows else pd.DataFrame(columns=[
        *keys, "horizon", "solver", *(f"final_{c}" for c in final),
        *(f"grok_{n}{s}" for n in grokking for s in ("", "_censored", "_t_train", "_t_gen")),
        "gen_loss_peak", "gen_loss_peak_epoch", "gen_loss_bump_initial", "gen_loss_bump_final", "train_loss_monotone"])
    unknown = summary[keys].merge(seps[keys], how="left", indicator=True)
    unknown = unknown[unknown["_merge"] == "left_only"]
    if len(unknown):
        raise ValueError(f"curves of {len(unknown)} realisations without a separability row, e.g. "
                         f"{unknown.iloc[0][keys].to_dict()}: a block's outputs do not match its cell; rerun the "
                         "workflow")
    runs = seps.merge(summary, on=keys, how="left", validate="one_to_one")
    runs["trained"] = runs["horizon"].notna()
    for k in trained_options:
        if k in runs:
            runs[k] = runs[f"{k}_trained"].where(runs["trained"], runs[k]).astype(runs[k].dtype)
        runs = runs.drop(columns=f"{k}_trained")
    runs["margin_acc_limit"] = separability.margin_limit_accuracy(runs["margin"], runs["sigma"])
    for name, spec in grokking.items():
        # the asymptotic prediction is of the epoch at which A_gen reaches the threshold: the grokking time of
        # gen_accuracy; for accuracy_delay, that epoch minus the measured epoch at which train accuracy reached it
        # (NaN where not positive); loss_delay has none (an all-NaN column, so that no reader meets a missing one)
        pred = asymptotic_grokking_time(runs, spec["threshold"]) if spec["kind"] != "loss_delay" else np.nan
        if spec["kind"] == "accuracy_delay":
            pred = pred - runs[f"grok_{name}_t_train"]
            pred = pred.where(pred > 0)
        runs[f"grok_{name}_pred"] = pred
    return runs.sort_values(["experiment", "N", "d", "sigma", "lr", "realisation"]).reset_index(drop=True)


def asymptotic_grokking_time(runs: pd.DataFrame, threshold: float) -> pd.Series:
    """Epoch at which A_gen reaches ``threshold`` if S already sits at S_inf: e^{-b} ~ eta t m, and
    A_gen = Phi(-b / (sigma |S_inf|)) >= a once -b >= z_a sigma |S_inf|, so
    t_pred = exp(z_a sigma |S_inf|) / (eta m) epochs (docs/model.md, Grokking time). NaN for separable sets and a noisy
    bias feature, where the formula does not apply."""
    z = ndtri(threshold)
    valid = runs["separable"].eq(False) & (runs["bias_noise"] == 0)
    with np.errstate(over="ignore"):
        t = np.exp(z * runs["sigma"] * runs["s_inf_norm"]) / (runs["lr"] * runs["s_inf_m"])
    return t.where(valid)


def final_projections(state: pd.DataFrame) -> pd.DataFrame:
    """S.x_i/|S| for every training point of every realisation at the end of training (one row per realisation
    and point). The points are regenerated from each state row's data specification (``DataSpec.from_row``) and
    seed, and checked against the row's checksum."""
    frames = []
    for row in state.to_dict("records"):
        X = regenerate(DataSpec.from_row(row), int(row["seed"]), row["x_sha256"],
                       where=f"realisation {row['realisation']} ").X
        S = np.asarray(row["S"], dtype=float)
        frames.append(pd.DataFrame({"lam": row["lam"], "realisation": row["realisation"],
                                    "projection": X @ S / np.linalg.norm(S)}))
    return pd.concat(frames, ignore_index=True)
