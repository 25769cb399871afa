#!/usr/bin/env bash
# The `mhclab depth` verb against its NumPy peer (bench/depth_verb_numpy.py), whole process on both sides (process
# start, input generation, compute, writing the output file), in one run (builds nothing).
#
#   bench/run_bench_depth_verb.sh [MHCLAB_BINARY (default build/release/mhclab)] [extra `mhclab depth` options]
#
# Per configuration n:L:S it times REPEAT runs of
#   mhclab depth --method mhc --n N --layers L --seeds S --iters T --seed SEED \
#                --kinds prefix --metrics fwd_gain,bwd_gain,sigma_max --out $tmp/d.csv
# and REPEAT runs of `$PYTHON bench/depth_verb_numpy.py ... --out $tmp/d.npy` (wall time, `date +%s.%N` around each
# command), prints all runs, both medians and numpy_median / mhclab_median, then compares the last two outputs
# (max relative difference of fwd_gain, bwd_gain, sigma_max over every seed and depth; tol 1e-10).
#
# Environment: CONFIGS ("4:256:2000 16:128:256 32:64:64", n:L:S), REPEAT (5), ITERS (20), SEED (0),
# PYTHON (/usr/bin/python3, Debian's python3-numpy), SELECT ("--kinds prefix --metrics fwd_gain,bwd_gain,sigma_max":
# the mhclab options restricting the output to what the peer computes; SELECT= times the full-width output of a
# binary without --kinds/--metrics, which the comparison also reads). Extra arguments go to `mhclab depth`
# (e.g. --threads 1); mhclab uses all cores by default, the peer one process. Exits 1 if a comparison fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:-build/release/mhclab}"
shift || true
configs="${CONFIGS:-4:256:2000 16:128:256 32:64:64}"
repeat="${REPEAT:-5}"
iters="${ITERS:-20}"
seed="${SEED:-0}"
python="${PYTHON:-/usr/bin/python3}"
select="${SELECT---kinds prefix --metrics fwd_gain,bwd_gain,sigma_max}"
read -r -a select_args <<<"$select"

if [[ ! -x "$bin" ]]; then
  echo "run_bench_depth_verb.sh: no mhclab binary at '$bin' (build it first)" >&2
  exit 2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
# Wall time of one run of "$@" (stdout/stderr to $tmp/log; a failing run aborts the benchmark).
timed() {
  local t0 t1
  t0="$(now)"
  if ! "$@" >"$tmp/log" 2>&1; then
    echo "run_bench_depth_verb.sh: failed: $*" >&2
    cat "$tmp/log" >&2
    exit 2
  fi
  t1="$(now)"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.4f", m }'; }

echo "== mhclab info ($bin)"
"$bin" info
echo
# The peer runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (set on some machines for old OpenBLAS builds; they
# slow a current NumPy): its best figure.
echo "== NumPy peer (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset): $("$python" -c 'import sys, numpy; print(f"numpy {numpy.__version__}, python {sys.version.split()[0]}, {sys.executable}")')"
echo "== repeat $repeat, t $iters, seed $seed, mhclab options: ${select:-(full output)}${*:+ $*}"

rc=0
table=()
for cfg in $configs; do
  IFS=: read -r n layers seeds <<<"$cfg"
  echo
  echo "== depth n $n, L $layers, S $seeds (whole process, s)"
  mh=()
  np=()
  for ((r = 0; r < repeat; r++)); do
    rm -f "$tmp/d.csv"
    mh+=("$(timed "$bin" depth --method mhc --n "$n" --layers "$layers" --seeds "$seeds" --iters "$iters" --seed "$seed" \
      "${select_args[@]}" --out "$tmp/d.csv" "$@")")
  done
  for ((r = 0; r < repeat; r++)); do
    rm -f "$tmp/d.npy"
    np+=("$(timed env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" "$here/depth_verb_numpy.py" --n "$n" --layers "$layers" --seeds "$seeds" --iters "$iters" \
      --seed "$seed" --out "$tmp/d.npy")")
  done
  mh_med="$(median "${mh[@]}")"
  np_med="$(median "${np[@]}")"
  echo "mhclab_runs: ${mh[*]}"
  echo "numpy_runs:  ${np[*]}"
  echo "mhclab_median: $mh_med s (csv $(stat -c %s "$tmp/d.csv") bytes)"
  echo "numpy_median:  $np_med s"
  echo "ratio_numpy_over_mhclab: $(awk -v a="$np_med" -v b="$mh_med" 'BEGIN { printf "%.3g", a / b }')"
  cmp_out="$("$python" "$here/depth_verb_numpy.py" --n "$n" --layers "$layers" --seeds "$seeds" --iters "$iters" \
    --seed "$seed" --load "$tmp/d.npy" --compare "$tmp/d.csv")" || rc=1
  echo "$cmp_out"
  agree="$(sed -n 's/^compare: max rel diff \([^ ]*\) .*/\1/p' <<<"$cmp_out")"
  table+=("| $n, $layers, $seeds | $mh_med | $np_med | $(awk -v a="$np_med" -v b="$mh_med" 'BEGIN { printf "%.3g", a / b }')× | ${agree:-?} |")
done
# The README's table is this block, pasted as printed.
echo
echo "| n, L, S | mhclab (s, median of $repeat) | NumPy (s, median of $repeat) | ratio | max rel. difference |"
echo "|---|---|---|---|---|"
printf '%s\n' "${table[@]}"
exit "$rc"
