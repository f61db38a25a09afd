#!/usr/bin/env bash
# End-to-end test of the SLURM profile on a throw-away single-node SLURM cluster (tools/slurm/cluster.sh):
# the smoke preset runs once locally and once through SLURM (profiles/slurm), each in its own copy of the
# repository, and the two result tables must be identical. Run as root: `make slurm-test`, or
#   VENV=/path/to/venv bash tools/slurm/test_slurm.sh
# Environment: VENV (default .venv), KEEP_TMP=1 keeps the temporary copies, SLURM_LOCAL_DIR/SLURM_LOCAL_PARTITION
# as in cluster.sh. The daemons this test started are stopped whatever happens; a cluster that was already
# up before the test is left running.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
VENV=$(cd "${VENV:-.venv}" 2>/dev/null && pwd) || { echo "test_slurm: error: no virtual environment at '${VENV:-.venv}' (run 'make slurm-test', or set VENV)" >&2; exit 1; }
BIN=$VENV/bin
CLUSTER=$REPO/tools/slurm/cluster.sh
PARTITION=${SLURM_LOCAL_PARTITION:-local}
PRESET=workflow/presets/smoke.yaml
TABLES=(results/tables/runs.parquet results/tables/curves.parquet)

T0_NS=$(date +%s%N)
elapsed() { local ms=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%03d s' $((ms / 1000)) $((ms % 1000)); }
say() { printf 'test_slurm: %s\n' "$*"; }
fail() { printf 'test_slurm: FAIL: %s\n' "$*" >&2; exit 1; }

for exe in python snakemake; do [[ -x $BIN/$exe ]] || fail "$BIN/$exe missing (is $VENV the project venv?)"; done
"$BIN/python" -c 'import snakemake_executor_plugin_slurm' 2>/dev/null \
    || fail "snakemake-executor-plugin-slurm is not installed in $VENV (it is pinned in requirements.lock)"

WORK=$(mktemp -d /tmp/grokedge-slurm-test.XXXXXX)
STARTED_CLUSTER=0
CHILD=   # the running snakemake, stopped on interrupt (SIGINT: the SLURM executor then cancels its jobs)
cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
        kill -INT "$CHILD" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$CHILD" 2>/dev/null && kill -TERM "$CHILD" 2>/dev/null || true
        wait "$CHILD" 2>/dev/null || true
    fi
    if ((STARTED_CLUSTER)); then "$CLUSTER" down || echo "test_slurm: warning: 'cluster.sh down' failed; check '$CLUSTER status'" >&2; fi
    if ((rc == 0)) && [[ ${KEEP_TMP:-0} != 1 ]]; then
        rm -rf "$WORK"
    else
        echo "test_slurm: kept $WORK (local/ and slurm/ copies, *.log)" >&2
    fi
    ((rc == 0)) && say "PASS in $(elapsed "$T0_NS")" || echo "test_slurm: FAILED (exit $rc) after $(elapsed "$T0_NS")" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -- 1. the cluster ----------------------------------------------------------------------------------------
if "$CLUSTER" status >/dev/null 2>&1; then
    say "a cluster started earlier by cluster.sh is running: using it, and leaving it running"
else
    STARTED_CLUSTER=1
fi
"$CLUSTER" up || fail "could not bring the SLURM cluster up (see the messages above)"
eval "$("$CLUSTER" env)"   # SLURM_CONF for sbatch/squeue, inherited by snakemake and the jobs
export SLURM_CONF

run_in() {  # run_in DIR LOG CMD...: CMD in DIR, in the background so that a signal reaches the traps at once
    local dir=$1 log=$2 rc=0
    shift 2
    (cd "$dir" && exec "$@") >"$log" 2>&1 &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=
    return "$rc"
}

# -- 2. two copies of the repository (tracked and untracked-but-not-ignored files, no results) -------------
copy_repo() {
    mkdir -p "$1"
    git -C "$REPO" ls-files -co --exclude-standard -z | grep -zv '^results/' \
        | while IFS= read -r -d '' f; do [[ -e $REPO/$f ]] && printf '%s\0' "$f"; done \
        | tar -C "$REPO" --null -T - -cf - | tar -C "$1" -xf -
}
copy_repo "$WORK/local"
copy_repo "$WORK/slurm"
say "copied $(find "$WORK/local" -type f | wc -l) files into $WORK/{local,slurm}"

# -- 3. the smoke preset, locally ---------------------------------------------------------------------------
t_ns=$(date +%s%N)
run_in "$WORK/local" "$WORK/local.log" "$BIN/snakemake" --cores 2 --configfile "$PRESET" \
    || { tail -n 30 "$WORK/local.log" >&2; fail "local run failed (log: $WORK/local.log)"; }
say "local run done in $(elapsed "$t_ns")"

# -- 4. the smoke preset, through SLURM ---------------------------------------------------------------------
# The profile is used as is except for what a one-machine cluster without accounting needs: the local
# partition instead of the EDIT_ME placeholder (all other default-resources are taken from the profile,
# because --default-resources on the command line replaces the profile's list as a whole), squeue instead of
# sacct for job status, no account, a short wait before the first status check, and the SLURM logs kept as
# evidence. --workflow-profile none: the laptop profile (profiles/default) must not override this one.
mapfile -t DEFAULT_RESOURCES < <("$BIN/python" - "$REPO/profiles/slurm/config.yaml" "$PARTITION" <<'EOF'
import sys, yaml
profile = yaml.safe_load(open(sys.argv[1]))
resources = dict(profile.get("default-resources") or {})
if "slurm_partition" not in resources:
    sys.exit("profiles/slurm/config.yaml has no default-resources: slurm_partition")
resources["slurm_partition"] = repr(sys.argv[2])
for key, value in resources.items():
    print(f"{key}={value}")
EOF
) || fail "could not read default-resources from profiles/slurm/config.yaml"
t_ns=$(date +%s%N)
run_in "$WORK/slurm" "$WORK/slurm.log" "$BIN/snakemake" --profile profiles/slurm --workflow-profile none \
    --configfile "$PRESET" --default-resources "${DEFAULT_RESOURCES[@]}" \
    --slurm-status-command squeue --slurm-no-account --slurm-init-seconds-before-status-checks 2 \
    --slurm-keep-successful-logs \
    || { tail -n 40 "$WORK/slurm.log" >&2; fail "SLURM run failed (log: $WORK/slurm.log)"; }
say "SLURM run done in $(elapsed "$t_ns") (default-resources: ${DEFAULT_RESOURCES[*]})"

# -- 5. did the jobs really go through SLURM? ---------------------------------------------------------------
mapfile -t JOBIDS < <(sed -nE 's/.*has been submitted with SLURM jobid ([0-9_]+).*/\1/p' "$WORK/slurm.log")
total=$(awk '/^Job stats:/ {s=1} s && $1 == "total" {print $2; exit}' "$WORK/slurm.log")
[[ $total =~ ^[0-9]+$ ]] || fail "no 'Job stats' table in $WORK/slurm.log"
expected=$((total - 1))   # every job but the target rule `all`, which has nothing to run
((${#JOBIDS[@]} == expected)) || fail "${#JOBIDS[@]} jobs submitted to SLURM, expected $expected (of $total)"
# every submitted id is a finished job in SLURM's own records (MinJobAge keeps them visible to squeue)
notdone=$(squeue --states=all --noheader --format='%i %T' --jobs="$(IFS=,; echo "${JOBIDS[*]}")" | awk '$2 != "COMPLETED"')
seen=$(squeue --states=all --noheader --format='%i' --jobs="$(IFS=,; echo "${JOBIDS[*]}")" | wc -l)
[[ -z $notdone ]] || fail "SLURM jobs not COMPLETED: $notdone"
((seen == expected)) || fail "squeue knows $seen of the $expected submitted jobs"
nlogs=$(find "$WORK/slurm/.snakemake/slurm_logs" -name '*.log' 2>/dev/null | wc -l)
((nlogs == expected)) || fail "$nlogs SLURM job logs in .snakemake/slurm_logs, expected $expected"
say "$expected jobs ran through SLURM: ids ${JOBIDS[0]}..${JOBIDS[-1]}, all COMPLETED in squeue, $nlogs job logs"

# -- 6. identical tables ------------------------------------------------------------------------------------
"$BIN/python" - "$WORK/local" "$WORK/slurm" "${TABLES[@]}" <<'EOF' || fail "tables differ between the local and the SLURM run"
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from pandas.testing import assert_frame_equal

local, slurm, tables = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
for table in tables:
    a, b = local / table, slurm / table
    for path in (a, b):
        if not path.is_file():
            sys.exit(f"missing {path}")
    # the data only: the schema metadata (provenance: host, wall time, ...) is dropped, except pandas' own
    # entry, which restores the index and dtypes
    ta, tb = (pq.read_table(p) for p in (a, b))
    ta, tb = (t.replace_schema_metadata({k: v for k, v in (t.schema.metadata or {}).items() if k == b"pandas"}) for t in (ta, tb))
    if ta.schema != tb.schema:
        sys.exit(f"{table}: schemas differ:\n{ta.schema}\n---\n{tb.schema}")
    da, db = ta.to_pandas(), tb.to_pandas()
    try:
        assert_frame_equal(da, db, check_exact=True)
    except AssertionError as err:
        sys.exit(f"{table}: {err}")
    print(f"test_slurm: {table}: identical ({len(da)} rows x {da.shape[1]} columns)")
print("test_slurm: tables identical")
EOF
say "bring-up, local and SLURM runs and checks all passed"
