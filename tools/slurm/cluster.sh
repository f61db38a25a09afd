#!/usr/bin/env bash
# A throw-away single-node SLURM cluster on this machine, for testing the SLURM profile (profiles/slurm).
#
#   tools/slurm/cluster.sh up       install slurm-wlm + munge if missing, write the config, start the daemons
#   tools/slurm/cluster.sh down     stop exactly the daemons that `up` started (by PID)
#   tools/slurm/cluster.sh status   what runs, and the line to export for sinfo/squeue/sbatch
#   tools/slurm/cluster.sh env      print `export SLURM_CONF=...` (use: eval "$(tools/slurm/cluster.sh env)")
#
# Needs root and Debian/Ubuntu (apt-get). Everything it writes lives in $SLURM_LOCAL_DIR (default
# /tmp/grokedge-slurm): slurm.conf, spool, state, logs and the PIDs of the daemons it started; the only
# files outside it are Debian's own (the packages, /etc/munge/munge.key and munge's run/log dirs) and the
# link /run/slurm/conf: nothing under /etc/slurm is touched; slurmd runs configless and links its copy of
# the config to /run/slurm/conf/slurm.conf, where sinfo/squeue/sbatch/srun look when SLURM_CONF is unset
# (`down` removes the link).
# Safe to rerun: `up` on a running cluster only checks it; `down` on a stopped one does nothing.
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/tmp/grokedge-slurm}
CONF=$DIR/etc/slurm.conf
PIDS=$DIR/pids
LOGS=$DIR/log
PARTITION=${SLURM_LOCAL_PARTITION:-local}
MUNGE_KEY=/etc/munge/munge.key
MUNGE_SOCKET=/run/munge/munge.socket.2
UP_TIMEOUT=${SLURM_UP_TIMEOUT:-90}   # seconds to wait for the node to become idle and srun to answer

say() { printf 'cluster.sh: %s\n' "$*"; }
die() { printf 'cluster.sh: error: %s\n' "$*" >&2; exit 1; }

# A recorded PID counts only while it is alive *and* still runs the program we started (PIDs get reused).
alive() {  # alive NAME -> 0 if the daemon recorded under NAME runs
    local name=$1 pid
    [[ -f $PIDS/$name ]] || return 1
    pid=$(<"$PIDS/$name")
    [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/comm ]] && [[ $(</proc/"$pid"/comm) == "$name" ]]
}

tail_log() { [[ -f $1 ]] && { echo "---- last lines of $1 ----" >&2; tail -n 15 "$1" >&2; } || true; }

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (installs packages, starts munged/slurmctld/slurmd)"; }

install_packages() {
    local missing=()
    for bin in slurmctld slurmd munged sinfo srun sbatch squeue; do
        command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
    done
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install slurm-wlm/munge"
    say "installing slurm-wlm and munge (missing: ${missing[*]}) ..."
    local t0=$SECONDS
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$DIR/apt.log" 2>&1 \
        || { tail_log "$DIR/apt.log"; die "apt-get update failed (log: $DIR/apt.log)"; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >>"$DIR/apt.log" 2>&1 \
        || { tail_log "$DIR/apt.log"; die "apt-get install slurm-wlm munge failed (log: $DIR/apt.log)"; }
    for bin in "${missing[@]}"; do command -v "$bin" >/dev/null || die "$bin still missing after installing slurm-wlm munge"; done
    say "installed in $((SECONDS - t0)) s (slurm-wlm $(dpkg-query -W -f '${Version}' slurm-wlm 2>/dev/null || echo ?))"
}

write_config() {
    local host cpus mem_total mem
    host=$(hostname -s)
    cpus=$(nproc)
    mem_total=$(free -m | awk '/^Mem:/ {print $2}')
    [[ $mem_total =~ ^[0-9]+$ ]] || die "cannot read the memory size from 'free -m'"
    mem=$((mem_total * 95 / 100))   # slurmd drains a node that has less than RealMemory: keep 5 % slack
    getent hosts "$host" >/dev/null || die "host name '$host' does not resolve (add it to /etc/hosts)"
    mkdir -p "$DIR/etc" "$DIR/state" "$DIR/spool" "$LOGS" "$PIDS"
    cat >"$CONF.new" <<EOF
# Written by tools/slurm/cluster.sh: one node ($host, $cpus CPUs, $mem MB), one partition, no accounting.
ClusterName=grokedge
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# configless: slurmd fetches this file from slurmctld and links it to /run/slurm/conf/slurm.conf, where SLURM
# commands look when SLURM_CONF is unset (as for the srun inside each job: the snakemake jobstep drops SLURM_*)
SlurmctldParameters=enable_configless
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MailProg=/bin/true
# finished jobs stay visible to squeue for 5 minutes (the snakemake plugin polls squeue, there is no sacct db)
MinJobAge=300
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    if [[ -f $CONF ]] && cmp -s "$CONF" "$CONF.new"; then rm -f "$CONF.new"; else mv "$CONF.new" "$CONF"; fi
}

start_munge() {
    if alive munged; then return 0; fi
    if pgrep -x munged >/dev/null; then   # someone else's munged: use it, never stop it
        say "munged already running (pid $(pgrep -x munged | head -1), not started by cluster.sh): using it"
        rm -f "$PIDS/munged"
        return 0
    fi
    if [[ ! -s $MUNGE_KEY ]]; then
        say "creating munge key $MUNGE_KEY"
        mkdir -p /etc/munge
        dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge "$MUNGE_KEY" 2>/dev/null || true
    chmod 700 /etc/munge
    chmod 400 "$MUNGE_KEY"
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
    chmod 755 /run/munge
    # foreground mode in the background: $! is the daemon's own PID; --force lets root run it
    setsid munged --foreground --force >"$LOGS/munged.log" 2>&1 </dev/null &
    local pid=$! i
    echo "$pid" >"$PIDS/munged"
    for ((i = 0; i < 100; i++)); do
        [[ -S $MUNGE_SOCKET ]] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || break   # (not `alive`: right after the fork comm is still "bash")
        sleep 0.2
    done
    tail_log "$LOGS/munged.log"
    die "munged did not come up (log: $LOGS/munged.log)"
}

start_daemon() {  # start_daemon NAME: slurmctld or slurmd, in foreground mode, PID recorded
    local name=$1
    if alive "$name"; then return 0; fi
    if pgrep -x "$name" >/dev/null; then
        die "$name is already running (pid $(pgrep -x "$name" | head -1)) but was not started by cluster.sh; stop it first"
    fi
    local args=(-D -f "$CONF")
    [[ $name == slurmd ]] && args=(-D --conf-server "$(hostname -s)")   # configless, see slurm.conf
    setsid "$name" "${args[@]}" >>"$LOGS/$name.out" 2>&1 </dev/null &
    local pid=$! i
    echo "$pid" >"$PIDS/$name"
    for ((i = 0; i < 20; i++)); do alive "$name" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    sleep 0.5
    alive "$name" || { tail_log "$LOGS/$name.out"; tail_log "$LOGS/$name.log"; die "$name exited right after starting (logs: $LOGS/$name.out, $LOGS/$name.log)"; }
}

wait_ready() {
    local host state deadline=$((SECONDS + UP_TIMEOUT))
    host=$(hostname -s)
    while :; do
        state=$(sinfo -h -n "$host" -o '%t' 2>/dev/null | head -1 || true)
        case $state in
            idle | mix | alloc) break ;;
            drain* | down* | fail*)
                # a node that was down (e.g. after an unclean stop) is put back into service once
                scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        for d in slurmctld slurmd; do alive "$d" || { tail_log "$LOGS/$d.log"; die "$d died during start-up (log: $LOGS/$d.log)"; }; done
        ((SECONDS < deadline)) || { sinfo -N -l >&2 || true; tail_log "$LOGS/slurmctld.log"; tail_log "$LOGS/slurmd.log"; die "node $host not idle after ${UP_TIMEOUT}s (state: '${state:-none}')"; }
        sleep 1
    done
    sinfo
    local out
    out=$(timeout "$UP_TIMEOUT" srun -N1 -n1 -t 1 hostname 2>&1) \
        || { echo "$out" >&2; tail_log "$LOGS/slurmctld.log"; tail_log "$LOGS/slurmd.log"; die "'srun hostname' failed"; }
    say "srun hostname -> $out"
}

cmd_up() {
    need_root
    local start_ns
    start_ns=$(date +%s%N)
    mkdir -p "$DIR" "$PIDS" "$LOGS"
    export SLURM_CONF=$CONF
    if alive munged && alive slurmctld && alive slurmd; then say "already running (started earlier by cluster.sh): checking it"; fi
    install_packages
    write_config
    start_munge
    start_daemon slurmctld
    start_daemon slurmd
    wait_ready
    local ms=$((($(date +%s%N) - start_ns) / 1000000))
    say "cluster up in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s (partition '$PARTITION', config $CONF)"
    say "sinfo/squeue/sbatch find it through /run/slurm/conf (or: export SLURM_CONF=$CONF)"
}

cmd_down() {
    local name pid stopped=0 i
    # reverse start order: compute node, controller, then authentication
    for name in slurmd slurmctld munged; do
        [[ -f $PIDS/$name ]] || continue
        pid=$(<"$PIDS/$name")
        if alive "$name"; then
            kill -TERM "$pid" 2>/dev/null || true
            for ((i = 0; i < 100; i++)); do alive "$name" || break; sleep 0.1; done
            if alive "$name"; then kill -KILL "$pid" 2>/dev/null || true; say "$name (pid $pid) did not stop in 10 s: killed"; fi
            say "stopped $name (pid $pid)"
            stopped=$((stopped + 1))
        fi
        rm -f "$PIDS/$name"
    done
    # slurmd's link to its cached config (configless mode) would dangle once $DIR is gone
    if [[ -L /run/slurm/conf && $(readlink /run/slurm/conf) == "$DIR"/* ]] && ! alive slurmd; then rm -f /run/slurm/conf; fi
    ((stopped > 0)) || say "nothing to stop (no daemon started by cluster.sh is running)"
}

cmd_status() {
    local name any=0
    for name in munged slurmctld slurmd; do
        if alive "$name"; then say "$name running (pid $(<"$PIDS/$name"))"; any=1; else say "$name not running (from cluster.sh)"; fi
    done
    if ((any)) && [[ -f $CONF ]]; then SLURM_CONF=$CONF sinfo 2>&1 || true; say "export SLURM_CONF=$CONF"; fi
    alive slurmctld && alive slurmd
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 up|down|status|env   (state and config in ${DIR})" >&2; exit 2 ;;
esac
