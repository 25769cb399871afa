#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the tests of the Slurm job arrays (sweep/slurm.hpp, --emit-slurm).
#   eval "$(bash scripts/slurm_local.sh start STATE_DIR)"   # prints `export SLURM_CONF=STATE_DIR/slurm.conf`
#   bash scripts/slurm_local.sh stop STATE_DIR              # idempotent
# start: stops whatever an earlier start left running in STATE_DIR, wipes its state (a clean cluster every time),
#   writes STATE_DIR/slurm.conf and starts, as root, a private munged (own key and socket under STATE_DIR/munge; the
#   system's munge is neither used nor touched), slurmctld and slurmd on free ports (16817/16818 or the next free
#   pair), then waits (at most 60 s in all) until sinfo reports the node idle. The node is `hostname -s` with the
#   CPUs of nproc and 90% of the memory; one default partition `debug`; cons_tres/CR_Core (array tasks share the
#   node); proctrack/linuxproc and task/none (no cgroups); no accounting; JobRequeue=1; a requeued job may start
#   again after 5 s (cred_expire) and the schedulers run every 2 s, so it restarts within seconds. Prints
#   `export SLURM_CONF=…` and exits 0, or exits 77 with one line on stderr (the reason, e.g. the daemon log's last
#   error) after stopping whatever it started. Needs root (SlurmUser=root). Logs: STATE_DIR/log.
# stop: cancels the cluster's jobs, then stops slurmd, slurmctld and munged (pids in STATE_DIR/pids; each waited
#   for at most 15 s, then killed), and any slurmstepd left by the cluster. Exit 0, also when nothing runs.
# Environment: SLURM_LOCAL_PORT (first SlurmctldPort tried; SlurmdPort is the next one).
set -uo pipefail

usage() { echo "usage: $0 start|stop STATE_DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
case "$cmd" in start|stop) ;; *) usage ;; esac
if [ "$cmd" = stop ] && [ ! -d "$2" ]; then exit 0; fi
mkdir -p "$2" 2>/dev/null || { echo "slurm_local: cannot create $2" >&2; exit 77; }
STATE=$(cd "$2" && pwd -P)
CONF=$STATE/slurm.conf
PIDS=$STATE/pids
MARK="MHCLAB_SLURM_LOCAL=$STATE"  # in the daemons' (so slurmstepd's) environment: finds what a pid file misses
export SLURM_CONF=$CONF
unset SLURM_JOB_ID SLURM_JOBID SLURM_ARRAY_JOB_ID SLURM_ARRAY_TASK_ID SLURM_CLUSTERS SLURM_PARTITION

# A live, non-zombie process whose executable is $2 (pids can be reused; orphans wait for PID 1 to reap them).
alive() {
  local pid=$1 exe=$2 st
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ "$st" != Z ] && [ "$st" != X ] || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$exe")" ]  # Debian: slurmd → slurmd-wlm
}

# TERM, wait ≤ $3 s, KILL.
stop_pid() {
  local pid=$1 exe=$2 limit=${3:-15} i
  alive "$pid" "$exe" || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < limit * 10; i++)); do alive "$pid" "$exe" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  for ((i = 0; i < 30; i++)); do alive "$pid" "$exe" || return 0; sleep 0.1; done
}

daemon_pid() { [ -r "$PIDS/$1" ] && cat "$PIDS/$1"; }

do_stop() {
  local pid i d jobs
  # Jobs first, while slurmctld and slurmd can still end their steps (KillWait=5).
  if alive "$(daemon_pid slurmctld)" /usr/sbin/slurmctld && alive "$(daemon_pid slurmd)" /usr/sbin/slurmd; then
    if [ -n "$(timeout 10 squeue -h -o %i 2>/dev/null | head -1)" ]; then
      mapfile -t jobs < <(timeout 10 squeue -h -r -o %A 2>/dev/null | sort -u)
      [ ${#jobs[@]} -eq 0 ] || timeout 10 scancel "${jobs[@]}" >/dev/null 2>&1
      for ((i = 0; i < 150; i++)); do
        [ -z "$(timeout 5 squeue -h -t all -o '%i %t' 2>/dev/null | awk '$2 != "CA" && $2 != "CD" && $2 != "F"')" ] &&
          break
        sleep 0.1
      done
    fi
  fi
  stop_pid "$(daemon_pid slurmd)" /usr/sbin/slurmd 15
  stop_pid "$(daemon_pid slurmctld)" /usr/sbin/slurmctld 15
  # Then whatever else this cluster started (its processes carry MARK): slurmstepd, which outlives slurmd by
  # design, and daemons whose pid file was lost.
  for d in /usr/sbin/slurmstepd /usr/sbin/slurmd /usr/sbin/slurmctld; do
    while read -r pid; do
      stop_pid "$pid" "$d" 5
    done < <(grep -lzxF -- "$MARK" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3)
  done
  stop_pid "$(daemon_pid munged)" /usr/sbin/munged 10
  while read -r pid; do
    stop_pid "$pid" /usr/sbin/munged 5
  done < <(grep -lzxF -- "$MARK" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3)
  rm -f "$PIDS/slurmd" "$PIDS/slurmctld" "$PIDS/munged"
}

if [ "$cmd" = stop ]; then do_stop; exit 0; fi

# ---------------------------------------------------------------- start
fail() {
  do_stop >/dev/null 2>&1
  echo "slurm_local: cannot start the Slurm cluster: $*" >&2
  exit 77
}
# The last fatal line of the given logs, else their last error line (not the ones of a clean state directory),
# else the first log's last line; timestamps dropped.
reason() {
  local f line="" pat
  for pat in 'fatal|Fatal' 'error|Error'; do
    for f in "$@"; do
      [ -s "$f" ] || continue
      line=$(grep -aE "$pat" "$f" | grep -avE 'state file|Trying backup state|initialization failed' | tail -1)
      [ -n "$line" ] && break 2
    done
  done
  for f in "$@"; do
    [ -n "$line" ] && break
    [ -s "$f" ] && line=$(tail -1 "$f")
  done
  line=${line#\[*\] }
  printf '%s' "${line:-no log line}"
}

case "$STATE" in *[[:space:]]*) fail "STATE_DIR '$STATE' contains whitespace (slurm.conf paths cannot)" ;; esac
[ "$(id -u)" -eq 0 ] || fail "must run as root (SlurmUser=root, munged with --force), uid is $(id -u)"
for b in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/munged; do
  [ -x "$b" ] || fail "$b missing (scripts/install_deps.sh installs slurm-wlm and munge)"
done
for b in sbatch squeue scontrol sinfo scancel munge unmunge ss; do
  command -v "$b" >/dev/null || fail "$b missing from PATH"
done
DEADLINE=$((SECONDS + 60))

do_stop >/dev/null 2>&1
rm -rf "$STATE/munge" "$STATE/ctld" "$STATE/spool" "$STATE/log" "$STATE/run" "$PIDS"
mkdir -p "$STATE/ctld" "$STATE/spool" "$STATE/log" "$STATE/run" "$PIDS" || fail "cannot create directories in $STATE"
mkdir -m 0755 "$STATE/munge" || fail "cannot create $STATE/munge"
LOG=$STATE/log

# Launches a daemon in the foreground mode of its own session (no terminal, no signals of the caller's process
# group, output to a file, never to the caller's stdout: `$(… start …)` returns) and records its pid.
launch() {
  local name=$1; shift
  local pid i
  env "$MARK" setsid "$@" </dev/null >"$LOG/$name.out" 2>&1 &
  pid=$!
  echo "$pid" >"$PIDS/$name"
  for ((i = 0; i < 50; i++)); do  # until env and setsid have exec'd the daemon (same pid) or it died
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$1")" ] && return 0
    alive "$pid" /usr/bin/env || alive "$pid" /usr/bin/setsid || return 0
    sleep 0.1
  done
}

# ---- munge: a private key and socket (munged refuses sockets under non-world-searchable directories, as mktemp -d
# ones are, unless --force; root is the only client).
MUNGE_SOCK=$STATE/munge/munge.socket.2
if command -v mungekey >/dev/null; then
  mungekey --create --keyfile="$STATE/munge/munge.key" --bits=1024 >"$LOG/mungekey.out" 2>&1 ||
    fail "mungekey: $(reason "$LOG/mungekey.out")"
else
  (umask 077 && dd if=/dev/urandom of="$STATE/munge/munge.key" bs=128 count=1 status=none) ||
    fail "cannot write a munge key"
fi
chmod 0600 "$STATE/munge/munge.key"
launch munged /usr/sbin/munged --foreground --force --socket="$MUNGE_SOCK" --key-file="$STATE/munge/munge.key" \
  --pid-file="$STATE/munge/munged.pid" --log-file="$LOG/munged.log" --seed-file="$STATE/munge/munged.seed"
until munge -n -S "$MUNGE_SOCK" 2>/dev/null | unmunge -S "$MUNGE_SOCK" >/dev/null 2>&1; do
  alive "$(daemon_pid munged)" /usr/sbin/munged || fail "munged exited: $(reason "$LOG/munged.out")"
  [ $SECONDS -lt $((DEADLINE - 50)) ] ||
    fail "munged not answering on $MUNGE_SOCK after 10 s: $(reason "$LOG/munged.out")"
  sleep 0.2
done

# ---- ports: the first pair (p, p+1), p = 16817, 16819, …, with nothing listening on either.
port_free() { [ -z "$(ss -Htanl "( sport = :$1 )" 2>/dev/null)" ]; }
CTLD_PORT=""
for ((p = ${SLURM_LOCAL_PORT:-16817}; p < ${SLURM_LOCAL_PORT:-16817} + 200; p += 2)); do
  if port_free "$p" && port_free $((p + 1)); then CTLD_PORT=$p; break; fi
done
[ -n "$CTLD_PORT" ] || fail "no free pair of TCP ports from ${SLURM_LOCAL_PORT:-16817}"
SLURMD_PORT=$((CTLD_PORT + 1))

# ---- the node: slurmd -C's topology when it agrees with nproc (no "differs from hardware" warnings), else CPUs only.
NODE=$(hostname -s)
NCPU=$(nproc)
HW=$(/usr/sbin/slurmd -C 2>/dev/null | head -1)
TOPO="CPUs=$NCPU"
HW_RE='CPUs=([0-9]+) (Boards=[0-9]+ SocketsPerBoard=[0-9]+ CoresPerSocket=[0-9]+ ThreadsPerCore=[0-9]+)'
if [[ "$HW" =~ $HW_RE ]] && [ "${BASH_REMATCH[1]}" = "$NCPU" ]; then
  TOPO="CPUs=$NCPU ${BASH_REMATCH[2]}"
fi
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
[ "${MEM_MB:-0}" -gt 0 ] || MEM_MB=1

: >"$STATE/plugstack.conf"  # no SPANK plugins (not the system's /etc/slurm/plugstack.conf)
cat >"$CONF" <<EOF
# Written by scripts/slurm_local.sh start: a one-node cluster for the tests ($(/usr/sbin/slurmctld -V 2>/dev/null)).
ClusterName=mhclab
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCK,cred_expire=5
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$STATE/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobContainerType=job_container/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
JobRequeue=1
MaxArraySize=100001
MaxJobCount=500000
MinJobAge=300
KillWait=5
InactiveLimit=0
Waittime=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE $TOPO RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE OverSubscribe=NO State=UP
EOF

# ---- slurmctld, then slurmd once the controller answers.
launch slurmctld /usr/sbin/slurmctld -D -f "$CONF"
until timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; do
  alive "$(daemon_pid slurmctld)" /usr/sbin/slurmctld ||
    fail "slurmctld exited: $(reason "$LOG/slurmctld.log" "$LOG/slurmctld.out")"
  [ $SECONDS -lt $((DEADLINE - 20)) ] ||
    fail "slurmctld not answering on port $CTLD_PORT: $(reason "$LOG/slurmctld.log" "$LOG/slurmctld.out")"
  sleep 0.3
done
launch slurmd /usr/sbin/slurmd -D -f "$CONF" -N "$NODE"
state=""
while :; do
  state=$(timeout 5 sinfo -h -N -n "$NODE" -o %t 2>/dev/null | head -1)
  [ "$state" = idle ] && break
  alive "$(daemon_pid slurmd)" /usr/sbin/slurmd || fail "slurmd exited: $(reason "$LOG/slurmd.log" "$LOG/slurmd.out")"
  alive "$(daemon_pid slurmctld)" /usr/sbin/slurmctld ||
    fail "slurmctld exited: $(reason "$LOG/slurmctld.log" "$LOG/slurmctld.out")"
  case "$state" in inval* | drain* | drng* | fail*) final=1 ;; *) final=0 ;; esac  # these do not clear by themselves
  if [ $final -eq 1 ] || [ $SECONDS -ge $DEADLINE ]; then
    why=$(timeout 5 scontrol show node "$NODE" 2>/dev/null | grep -o 'Reason=.*')
    fail "node $NODE is '${state:-unknown}', not idle, after $((SECONDS - DEADLINE + 60)) s${why:+ ($why)}:" \
      "$(reason "$LOG/slurmd.log" "$LOG/slurmctld.log")"
  fi
  sleep 0.3
done
printf 'export SLURM_CONF=%q\n' "$CONF"
