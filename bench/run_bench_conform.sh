#!/usr/bin/env bash
# `mhclab conform` against its NumPy peer (bench/conform_numpy.py), whole process on both sides (start, reading the
# two .npy batches, the fp64 reference of DeepSeek-V4's deployed Sinkhorn, per-matrix errors and marginals, the
# summary), in one run (builds nothing). The batch: B matrices n = 4 of 2·N(0, 1) comb logits [from, to] and the
# same Sinkhorn computed in float32 by NumPy (a correct fp32 kernel: both tools must say pass).
#
#   bench/run_bench_conform.sh [MHCLAB_BINARY (default build/release/mhclab)]
#
# mhclab also computes, per matrix, the distance to the converged projection (dual Newton) and relative errors; the
# peer does not. Afterwards the per-matrix err_max of both are compared (max abs difference; tol 1e-14: the same
# fp64 arithmetic up to summation order, a few ulps of entries ≤ 1).
# Environment: SIZES ("10000 100000"), REPEAT (5), PYTHON (/usr/bin/python3, Debian's python3-numpy).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:-build/release/mhclab}"
sizes="${SIZES:-10000 100000}"
repeat="${REPEAT:-5}"
python="${PYTHON:-/usr/bin/python3}"
[[ -x "$bin" ]] || { echo "run_bench_conform.sh: no mhclab binary at '$bin' (build it first)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
timed() {
  local t0 t1
  t0="$(now)"
  if ! "$@" >"$tmp/log" 2>&1; then echo "run_bench_conform.sh: failed: $*" >&2; cat "$tmp/log" >&2; exit 2; fi
  t1="$(now)"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.4f", m }'; }
echo "== mhclab info ($bin)"
"$bin" info
echo "== NumPy peer: $("$python" -c 'import sys, numpy; print(f"numpy {numpy.__version__}, python {sys.version.split()[0]}, {sys.executable}")')"
echo "== repeat $repeat, $(nproc) cores (mhclab uses all, the peer one process)"
rc=0
table=()
for B in $sizes; do
  env -u OPENBLAS_CORETYPE "$python" "$here/conform_numpy.py" --make "$B" 0 "$tmp/b"
  mh=(); np=()
  for ((r = 0; r < repeat; r++)); do
    mh+=("$(timed "$bin" conform --method dsv4 --logits "$tmp/b_L.npy" --output "$tmp/b_T.npy" --layout from_to --out "$tmp/rows.csv")")
  done
  for ((r = 0; r < repeat; r++)); do
    np+=("$(timed env -u OPENBLAS_CORETYPE "$python" "$here/conform_numpy.py" --logits "$tmp/b_L.npy" --output "$tmp/b_T.npy" --save "$tmp/np_err.npy")")
  done
  mh_med="$(median "${mh[@]}")"; np_med="$(median "${np[@]}")"
  echo
  echo "== conform dsv4, B $B (whole process, s)"
  echo "mhclab_runs: ${mh[*]}"
  echo "numpy_runs:  ${np[*]}"
  diff="$("$python" -c "
import csv, numpy as np
rows = list(csv.DictReader(open('$tmp/rows.csv')))
m = np.array([float(r['err_max']) for r in rows]); p = np.load('$tmp/np_err.npy')
print(f'{np.abs(m - p).max():.3g}' if m.shape == p.shape else 'shape')")"
  echo "compare: max |err_max(mhclab) - err_max(numpy)| = $diff"
  awk -v d="$diff" 'BEGIN { exit !(d != "shape" && d + 0 <= 1e-14) }' || { echo "compare: FAILED" >&2; rc=1; }
  ratio="$(awk -v a="$np_med" -v b="$mh_med" 'BEGIN { printf "%.3g", a / b }')"
  table+=("| $B | $mh_med | $np_med | ${ratio}× | $diff |")
done
echo
echo "| B (n = 4) | mhclab conform (s, median of $repeat) | NumPy (s, median of $repeat) | ratio | max err_max difference |"
echo "|---|---|---|---|---|"
printf '%s\n' "${table[@]}"
exit "$rc"
