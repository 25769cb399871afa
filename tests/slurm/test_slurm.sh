#!/usr/bin/env bash
# Sweeps on a real Slurm: a one-node cluster on this machine (scripts/slurm_local.sh), started here and stopped on exit.
#   1. `run --emit-slurm` + submit.sh: the array of shards and the dependent merge give rows.csv/aggregates.csv
#      byte-identical to a single-process run;
#   2. one array task cancelled midway (scancel), then resubmitted alone (sbatch --array=k): it runs only its missing
#      points; the merge gives the same bytes;
#   3. pre-emption: USR1 to a running task's batch shell (as --signal=B:USR1 does before the time limit): mhclab stops
#      after its running points (exit 75), the task requeues itself and resumes; the dependent merge runs; same bytes.
# Exit 77 (CTest: skipped) when the cluster cannot start here, with the reason. Every wait is bounded.
# Usage: test_slurm.sh MHCLAB_BINARY WORK_DIR
set -u
BIN="$(realpath "$1")"
WORK="$2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
rm -rf "$WORK" && mkdir -p "$WORK"
WORK="$(realpath "$WORK")"
STATE="$WORK/cluster"
if ! out=$(bash "$ROOT/scripts/slurm_local.sh" start "$STATE" 2>"$WORK/start.err"); then
  echo "slurm: SKIPPED: $(tail -1 "$WORK/start.err")"
  bash "$ROOT/scripts/slurm_local.sh" stop "$STATE" >/dev/null 2>&1
  exit 77
fi
eval "$out"
trap 'bash "$ROOT/scripts/slurm_local.sh" stop "$STATE" >/dev/null 2>&1' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; for f in "$WORK"/*/logs/*.log; do [ -f "$f" ] && { echo "== $f"; tail -5 "$f"; }; done; }
same() { cmp -s "$1/rows.csv" "$2/rows.csv" && cmp -s "$1/aggregates.csv" "$2/aggregates.csv" && ok || bad "$3: differs from one process"; }
# wait_idle SECONDS: until no job of ours is queued or running
wait_idle() {
  local t=0
  while [ -n "$(squeue -h -o %i 2>/dev/null)" ]; do
    sleep 1; t=$((t + 1))
    [ "$t" -ge "$1" ] && { echo "slurm: jobs still queued after $1 s:"; squeue; return 1; }
  done
}
# wait_running JOBID_TASK SECONDS: until that array task runs
wait_running() {
  local t=0
  until [ "$(squeue -h -j "$1" -o %T 2>/dev/null)" = RUNNING ]; do
    sleep 0.5; t=$((t + 1))
    [ "$t" -ge $(( $2 * 2 )) ] && { echo "slurm: $1 not running after $2 s"; squeue; return 1; }
  done
}
cat > "$WORK/quick.toml" <<'TOML'
[experiment]
name = "quick"
kind = "depth"
seed = 2
[base]
n = 4
layers = 10
seeds = 5
[grid]
method = ["hc", "mhc", "tbp"]
tau = [0.5, 1.0]
TOML
# slow points (a second or more each) so that a task is still running when it is cancelled or signalled
cat > "$WORK/slow.toml" <<'TOML'
[experiment]
name = "slow"
kind = "depth"
seed = 3
[base]
method = "mhc"
n = 8
layers = 300
seeds = 32
[grid]
tau = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0]
TOML
"$BIN" run "$WORK/quick.toml" --out "$WORK/quick_one" --quiet --threads 1 || bad "single-process run"
"$BIN" run "$WORK/slow.toml" --out "$WORK/slow_one" --quiet --threads 2 || bad "single-process run"

# 1. the array and the dependent merge
"$BIN" run "$WORK/quick.toml" --emit-slurm "$WORK/q" --shards 3 --array-parallelism 2 --time 00:10:00 \
  --out "$WORK/q/merged" >/dev/null || bad "emit-slurm"
bash "$WORK/q/submit.sh" >/dev/null || bad "submit.sh"
wait_idle 180
same "$WORK/quick_one" "$WORK/q/merged" "array + merge"

# 2. cancel one task midway, resubmit it alone, merge
"$BIN" run "$WORK/slow.toml" --emit-slurm "$WORK/c" --shards 3 --time 00:10:00 --out "$WORK/c/merged" >/dev/null
bash "$WORK/c/submit.sh" >/dev/null
read -r array merge < "$WORK/c/jobs.txt"
wait_running "${array}_1" 60 && sleep 1.5
scancel "${array}_1"
wait_t=0
while [ -n "$(squeue -h -j "$array" -o %i 2>/dev/null)" ] && [ "$wait_t" -lt 240 ]; do sleep 1; wait_t=$((wait_t + 1)); done
scancel "$merge" 2>/dev/null  # its dependency can no longer be satisfied
wait_idle 60
[ ! -e "$WORK/c/merged/rows.csv" ] && ok || bad "the merge ran although a shard was cancelled"
done_before=$(ls "$WORK/c/shard_1/points" 2>/dev/null | grep -c '\.done$')
sbatch --parsable --array=1 "$WORK/c/shards.sbatch" >/dev/null || bad "resubmit task 1"
wait_idle 240
grep -q "point(s) (.* reused)" "$WORK/c/logs/shard_1.log" 2>/dev/null || true
"$BIN" merge "$WORK/c/shard_0" "$WORK/c/shard_1" "$WORK/c/shard_2" --out "$WORK/c/merged" --quiet || bad "merge after resubmission"
same "$WORK/slow_one" "$WORK/c/merged" "cancelled task resubmitted ($done_before point(s) of shard 1 kept)"

# 3. pre-emption: USR1 to the batch shell of a running task; it requeues itself, resumes; the merge follows
"$BIN" run "$WORK/slow.toml" --emit-slurm "$WORK/p" --shards 2 --time 00:10:00 --out "$WORK/p/merged" >/dev/null
bash "$WORK/p/submit.sh" >/dev/null
read -r array merge < "$WORK/p/jobs.txt"
wait_running "${array}_0" 60
# once mhclab is under way in the task (its results directory exists), as a time-limit warning would find it
for _ in $(seq 600); do [ -d "$WORK/p/shard_0/points" ] && break; sleep 0.1; done
sleep 0.5
scancel --signal=USR1 --batch "${array}_0" || bad "scancel --signal=USR1"
wait_idle 300
grep -q "interrupted; requeueing" "$WORK/p/logs/shard_0.log" && ok || bad "task 0 did not requeue itself on USR1"
[ "$(scontrol show job "${array}_0" 2>/dev/null | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')" != 0 ] && ok || bad "task 0 was not restarted"
same "$WORK/slow_one" "$WORK/p/merged" "pre-empted task requeued"
echo "slurm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
