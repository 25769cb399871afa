#!/usr/bin/env bash
# `mpirun -np K mhclab run FILE --mpi`: byte-identical rows.csv and aggregates.csv to a single-process run for K = 1, 2,
# 4 ranks (oversubscribed on a small machine) and any thread count; points split by seed ranges (--split-seeds) join to
# the same bytes; a rank that dies ends the job, and --resume (without MPI) names the lost points and completes them;
# SIGUSR1 pre-empts the job (exit 75, finished points kept) and --resume completes it.
# Usage: test_mpi.sh MHCLAB_BINARY WORK_DIR
set -u
BIN="$1"
WORK="$2"
rm -rf "$WORK" && mkdir -p "$WORK"
MPIRUN=(mpirun --oversubscribe -np)
[ "$(id -u)" -eq 0 ] && MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np)
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
same() {  # same DIR_A DIR_B WHAT
  cmp -s "$1/rows.csv" "$2/rows.csv" && cmp -s "$1/aggregates.csv" "$2/aggregates.csv" && ok || bad "$3: rows/aggregates differ from one process"
}
cat > "$WORK/e.toml" <<'TOML'
[experiment]
name = "mpi"
kind = "depth"
seed = 5
[base]
n = 4
layers = 12
seeds = 7
generator = "drift"
steps = [1, 3]
[grid]
method = ["hc", "mhc", "tbp"]
eta = [0.05, 0.2]
TOML
"$BIN" run "$WORK/e.toml" --out "$WORK/one" --threads 1 --quiet || bad "single-process run"
for K in 1 2 4; do
  timeout 300 "${MPIRUN[@]}" "$K" "$BIN" run "$WORK/e.toml" --mpi --out "$WORK/k$K" --threads 1 --quiet >"$WORK/k$K.log" 2>&1 \
    || { bad "mpirun -np $K: exit $?"; cat "$WORK/k$K.log"; continue; }
  same "$WORK/one" "$WORK/k$K" "mpirun -np $K"
done
timeout 300 "${MPIRUN[@]}" 2 "$BIN" run "$WORK/e.toml" --mpi --out "$WORK/t2" --threads 2 --quiet >/dev/null 2>&1 || bad "mpirun --threads 2"
same "$WORK/one" "$WORK/t2" "mpirun -np 2 --threads 2"
python3 - "$WORK/k4/manifest.json" <<'PY' && ok || bad "manifest: mpi ranks and hosts"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["mpi"]["ranks"] == 4 and len(m["mpi"]["hosts"]) == 4 and all(h["host"] for h in m["mpi"]["hosts"])
PY
# seed ranges: 7 seeds in parts of 3 (3 + 3 + 1), joined in seed order
timeout 300 "${MPIRUN[@]}" 3 "$BIN" run "$WORK/e.toml" --mpi --split-seeds 3 --out "$WORK/split" --threads 1 --quiet >/dev/null 2>&1 || bad "--split-seeds"
same "$WORK/one" "$WORK/split" "--split-seeds 3"
[ "$(ls "$WORK/split/points" | grep -c '\.part')" = 0 ] && ok || bad "--split-seeds left part files"
# a rank dies (fault injection: every worker exits after its first task, which it is handed at once — with 2 tasks
# per worker, rank 0's own thread could finish the 6 points first and no worker would die): the job ends non-zero,
# finished points stay, --resume without MPI names the lost points and completes the run to the same bytes
MHCLAB_FAIL_AFTER=1 timeout 300 "${MPIRUN[@]}" 3 "$BIN" run "$WORK/e.toml" --mpi --out "$WORK/dead" --threads 1 --quiet >/dev/null 2>&1
rc=$?
[ "$rc" -ne 0 ] && [ ! -e "$WORK/dead/rows.csv" ] && [ -n "$(ls "$WORK/dead/inflight" 2>/dev/null)" ] && ok || bad "dead rank: rc=$rc"
out=$("$BIN" run "$WORK/e.toml" --out "$WORK/dead" --resume --threads 2 2>&1)
echo "$out" | grep -Eq "lost by an earlier run, running again: point [0-9a-f]{16} \(rank [0-9]+ on host" && ok || bad "resume does not name the lost points: $out"
same "$WORK/one" "$WORK/dead" "dead rank + --resume"
# pre-emption: SIGUSR1 to mpirun (which forwards it to the ranks, as Slurm's --signal does to every task) after the
# first point is on disk: rank 0 hands out no new task, the running ones finish, the job exits 75 with nothing merged,
# and --resume over MPI completes the run to the single-process bytes. 20 points of ~0.3 s, so the signal arrives
# long before the last one could start.
cat > "$WORK/pre.toml" <<'TOML'
[experiment]
name = "pre"
kind = "depth"
seed = 5
[base]
n = 16
layers = 50
seeds = 10
generator = "random"
[grid]
method = ["mhc", "hc"]
noise = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
TOML
"$BIN" run "$WORK/pre.toml" --out "$WORK/pre_one" --threads 1 --quiet || bad "single-process run (pre)"
timeout 300 "${MPIRUN[@]}" 2 "$BIN" run "$WORK/pre.toml" --mpi --out "$WORK/pre" --threads 1 --quiet >"$WORK/pre.log" 2>&1 &
job=$!
for _ in $(seq 1 1200); do
  [ -n "$(ls "$WORK/pre/points" 2>/dev/null | grep '\.done$')" ] && break
  sleep 0.05
done
mpirun_pid=$(pgrep -P "$job" -x mpirun)  # the job's own mpirun (a child of timeout), not another test's
[ -n "$mpirun_pid" ] && kill -USR1 "$mpirun_pid" || bad "pre-emption: no mpirun under the job"
wait "$job"
rc=$?
done_points=$(ls "$WORK/pre/points" | grep -c '\.done$')
[ "$rc" -eq 75 ] && [ ! -e "$WORK/pre/rows.csv" ] && [ "$done_points" -ge 1 ] && [ "$done_points" -lt 20 ] \
  && grep -q "interrupted by signal 10 after" "$WORK/pre.log" && ok || { bad "pre-emption: rc=$rc, $done_points point(s) done"; cat "$WORK/pre.log"; }
# a seed-range part left by an interrupted split point is never reused: the next run removes it
echo "seed,x" > "$WORK/pre/points/0123456789abcdef.part0.csv"
timeout 300 "${MPIRUN[@]}" 2 "$BIN" run "$WORK/pre.toml" --mpi --resume --out "$WORK/pre" --threads 1 --quiet >/dev/null 2>&1 \
  || bad "pre-emption: --resume over MPI"
same "$WORK/pre_one" "$WORK/pre" "pre-emption + --resume"
[ ! -e "$WORK/pre/points/0123456789abcdef.part0.csv" ] && ok || bad "a stale part file was kept"
# refusals
"$BIN" run "$WORK/e.toml" --split-seeds 3 --out "$WORK/x" >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--split-seeds without --mpi"
"$BIN" run "$WORK/e.toml" --mpi --shard 0/2 --out "$WORK/x2" 2>&1 | grep -q "exclusive" && ok || bad "--mpi with --shard"
echo "mpi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
