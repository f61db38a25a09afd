# One job per experiment (or per chunk of a large one) writes every block's dataset manifest (seeds and
# checksums) and its certified separability table: a few processes instead of two per block. Per-cell caching survives the grouping:
# the train rule reads its manifest as ancient() (a rewrite with the same content does not retrain), and each
# block's separability table is reused from results/cache/separability when its data parameters, checksums
# and code are unchanged (grokedge.stages.separability_cached), so changing one cell recomputes that cell only.


# Work (sets x N x d) per job: about 240 sets at N = 400, d = 200, i.e. ~15 s, so that the first trains start
# early; a cell is never split, and chunks follow the grid order (adding a cell may move the chunk boundaries
# after it: those jobs rerun, but their blocks come from the cache).
SEPARABILITY_CHUNK_WORK = 2.0e7


def _separability_chunks():
    """[(rule suffix, [cells])]: the experiment's cells in grid order, cut into chunks of bounded work."""
    out = []
    for exp in sorted({c["experiment"] for c in CELLS}):
        chunks, work = [[]], 0
        for c in (c for c in CELLS if c["experiment"] == exp):
            # the NNLS margin and the LP grow faster than N d: weight large sets by N / 400, so that a few
            # N = 4000 sets (~40 s each) get jobs of their own and run side by side
            w = c["realisations"] * c["N"] * c["d"] * max(1.0, c["N"] / 400)
            if chunks[-1] and work + w > SEPARABILITY_CHUNK_WORK:
                chunks.append([])
                work = 0
            chunks[-1].append(c)
            work += w
        out += [(f"{exp}_{k}", chunk) for k, chunk in enumerate(chunks)]
    return out


def _chunk_blocks(chunk):
    return [(c, b) for c in chunk for b in range(c["n_blocks"])]


def _block_path(c, b, name):
    return f"{RESULTS}/cells/{c['experiment']}/{c['cell']}/block{b}/{name}"


for _name, _chunk in _separability_chunks():

    rule:
        name:
            f"separability_{_name}"
        output:
            dataset=[_block_path(c, b, "dataset.parquet") for c, b in _chunk_blocks(_chunk)],
            separability=[_block_path(c, b, "separability.parquet") for c, b in _chunk_blocks(_chunk)],
        log:
            f"{RESULTS}/logs/separability/{_name}.log",
        benchmark:
            f"{RESULTS}/benchmarks/separability/{_name}.tsv"
        conda:
            "../../envs/grokedge.yaml"
        resources:
            # one realisation's X and the LP's working copies at a time; ~1 s per 10^6 elements of X
            mem_mb=500 + max(int(20 * 8 * c["N"] * c["d"] / 2**20) for c in _chunk),
            runtime=10 + int(sum(c["realisations"] * c["N"] * c["d"] for c in _chunk) * 1e-6),
        params:
            blocks=[
                {
                    "cell": cell_params(config, c["experiment"], c, SEPARABILITY_KEYS),
                    "block": b,
                    "cache": f"{RESULTS}/cache/separability/{c['experiment']}/{c['cell']}/block{b}.parquet",
                }
                for c, b in _chunk_blocks(_chunk)
            ],
        script:
            "../scripts/run_separability.py"
