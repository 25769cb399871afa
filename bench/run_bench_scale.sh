#!/usr/bin/env bash
# Scale-out figures for the README: one sweep run by 1 process and by `mpirun -np K ... --mpi` for K = 1, 2, 4 (strong
# scaling: the same grid), and a grid that grows with K (weak scaling: K·P points), wall time of the whole command
# (median of R runs), byte-identity of every run's rows.csv with the single-process one checked. Prints a markdown table
# with the machine's core count, CPU and build flags. Usage: bash bench/run_bench_scale.sh [build/release/mhclab] [R]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(realpath "${1:-build/release/mhclab}")"
R="${2:-3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
MPIRUN=(mpirun --oversubscribe -np)
[ "$(id -u)" -eq 0 ] && MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np)
cores=$(nproc)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
flags=$("$BIN" info | sed -n 's/^flags: //p')
# One point ≈ a second of work on one core and little output (so the merge does not dominate): mhc depth stacks,
# n = 16, L = 1000, 8 seeds, three metrics at four depths.
grid() {  # grid P FILE: an experiment of P points (tau values)
  local taus
  taus=$(seq 1 "$1" | awk '{ printf "%s%.3f", (NR > 1 ? ", " : ""), 0.5 + $1 / 8 }')
  cat > "$2" <<TOML
[experiment]
name = "scale"
kind = "depth"
seed = 1
[base]
method = "mhc"
n = 16
layers = 1000
seeds = 8
metrics = "fwd_gain,bwd_gain,sigma_max"
depths = "1,10,100,1000"
[grid]
tau = [$taus]
TOML
}
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
timed() {  # timed OUT_DIR CMD...: wall seconds of CMD (median of R), rows.csv of the last run kept in OUT_DIR
  local out="$1"; shift
  for _ in $(seq "$R"); do
    rm -rf "$out"
    local t0 t1
    t0=$(date +%s.%N)
    "$@" --out "$out" --threads 1 --quiet >/dev/null 2>&1
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
  done | median
}
P=8
grid "$P" "$WORK/strong.toml"
base=$(timed "$WORK/one" "$BIN" run "$WORK/strong.toml")
echo "## Scale-out on this machine ($cores cores, $cpu; build flags: $flags)"
echo
echo "Strong scaling: one grid of $P points (mhc depth stacks, n = 16, L = 1000, 8 seeds each), wall time of the whole"
echo "command, median of $R runs; rows.csv byte-identical to the single process in every run."
echo
echo "| run | wall s | speed-up | identical |"
echo "|---|---|---|---|"
echo "| mhclab run (1 process, 1 thread) | $base | 1.00× | — |"
for K in 1 2 4; do
  t=$(timed "$WORK/k$K" "${MPIRUN[@]}" "$K" "$BIN" run "$WORK/strong.toml" --mpi)
  same=$(cmp -s "$WORK/one/rows.csv" "$WORK/k$K/rows.csv" && echo yes || echo NO)
  echo "| mpirun -np $K (1 thread per rank) | $t | $(awk -v a="$base" -v b="$t" 'BEGIN { printf "%.2f", a / b }')× | $same |"
done
echo
echo "Weak scaling: $((P / 2)) points per rank (grid of $((P / 2))·K points), wall time (median of $R); ideal = constant."
echo
echo "| ranks K | points | wall s | efficiency |"
echo "|---|---|---|---|"
w1=""
for K in 1 2 4; do
  grid $((K * P / 2)) "$WORK/weak$K.toml"
  t=$(timed "$WORK/w$K" "${MPIRUN[@]}" "$K" "$BIN" run "$WORK/weak$K.toml" --mpi)
  [ -z "$w1" ] && w1=$t
  echo "| $K | $((K * P / 2)) | $t | $(awk -v a="$w1" -v b="$t" 'BEGIN { printf "%.2f", a / b }') |"
done

# A worked estimate for a paper-scale grid from per-(seed·layer) costs measured here: 14 methods × n ∈ {4, 8, 16, 32},
# L = 10⁴, 10⁴ seeds per point, rows thinned to depths 1,10,100,1000,10000 and the metrics fwd_gain, bwd_gain,
# sigma_max (the depth verb's memory estimate: rows kept until written plus one seed's stacks per thread).
echo
echo "Worked estimate for a paper-scale grid (14 methods × n ∈ {4, 8, 16, 32}, L = 10⁴, 10⁴ seeds per point, depths"
echo "1,10,…,10⁴, metrics fwd_gain, bwd_gain, sigma_max) on 64 nodes × 64 cores, from costs per seed·layer measured"
echo "here with the command each point runs (\`mhclab depth … --depths 1,10,100,L\`, 1 thread; tbp stands for the 13"
echo "methods other than mhc):"
echo
echo "| n | mhc µs per seed·layer | other methods µs per seed·layer | core-hours (14 points) | one point on one core (h) | rows | output | memory per rank |"
echo "|---|---|---|---|---|---|---|---|"
tot=0
for n in 4 8 16 32; do
  L=2000; S=16
  [ "$n" -ge 16 ] && L=500
  us() {  # us METHOD: µs per seed·layer of a depth run
    local t0 t1
    t0=$(date +%s.%N)
    "$BIN" depth --method "$1" --n "$n" --layers "$L" --seeds "$S" --threads 1 \
      --metrics fwd_gain,bwd_gain,sigma_max --depths 1,10,100,$L --out "$WORK/d.csv"
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v l="$L" -v s="$S" 'BEGIN { printf "%.3f", (b - a) * 1e6 / (l * s) }'
  }
  m=$(us mhc)
  o=$(us tbp)
  awk -v n="$n" -v m="$m" -v o="$o" 'BEGIN {
    seedlayers = 1e4 * 1e4;                      # per point
    hours = (m + 13 * o) * 1e-6 * seedlayers / 3600;
    rows = 14 * 1e4 * 5 * 3;                     # seeds × depths × kinds per point, 14 points
    bytes = rows * (40 + 3 * 24);
    mem = 1e4 * n * n * 8 * 4 + 1e4 * 15 * (24 + 22 * 3);
    longest = (m > o ? m : o) * 1e-6 * seedlayers / 3600;
    printf "| %d | %s | %s | %.0f | %.1f | %.1e | %.0f MB | %.0f MB |\n", n, m, o, hours, longest, rows, bytes / 1e6, mem / 1e6
  }'
done | tee "$WORK/est.md"
awk -F'|' '{ h += $5; if ($6 > l) l = $6 } END {
  printf "\nTotal: %.0f core-hours over 56 points. Whole points on 4096 cores would take as long as the longest point (%.1f h) with most cores idle; with `--split-seeds 100` (100 tasks of 100 seeds per point, 5600 tasks) the greedy hand-out bounds the wall time by total/cores + the longest task: %.2f h + %.2f h.\n", h, l, h / 4096, l / 100 }' "$WORK/est.md"
