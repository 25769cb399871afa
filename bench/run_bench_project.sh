#!/usr/bin/env bash
# `mhclab bench project` against its NumPy peer on the same inputs, in one run (builds nothing).
#
#   bench/run_bench_project.sh [MHCLAB_BINARY (default build/release/mhclab)] [extra `bench project` options]
#
# Environment: COUNT (default 1000000 matrices, the same N for both sides, so the checksums are compared on
# the same inputs), SEED (0), REPEAT (5 for mhclab), NUMPY_REPEAT (3), PYTHON (/usr/bin/python3, Debian's
# python3-numpy). Extra arguments are passed to `mhclab bench project` (e.g. --threads 1); options that
# change the inputs or the algorithm (--count, --seed, --n, --iters, --tau, --order) must be set through the
# environment variables above / left at the defaults, so the peer runs the same workload.
# Prints both figures, the ratio, the build flags, and whether inputs and checksums agree; exits 1 if not.
# 1e6 4×4 fp64 matrices are 128 MB per array; the whole run takes well under a minute here.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:-build/release/mhclab}"
shift || true
count="${COUNT:-1000000}"
seed="${SEED:-0}"
repeat="${REPEAT:-5}"
numpy_repeat="${NUMPY_REPEAT:-3}"
python="${PYTHON:-/usr/bin/python3}"

if [[ ! -x "$bin" ]]; then
  echo "run_bench_project.sh: no mhclab binary at '$bin' (build it first, e.g. cmake --preset release && cmake --build --preset release)" >&2
  exit 2
fi
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

echo "== mhclab bench project (count $count, seed $seed)"
"$bin" bench project --count "$count" --seed "$seed" --repeat "$repeat" --print-inputs 4 "$@" | tee "$out" |
  grep -v '^input\['
echo
echo "== NumPy peer ($python, same inputs regenerated from the documented RNG)"
"$python" "$here/sinkhorn_numpy.py" --count "$count" --seed "$seed" --repeat "$numpy_repeat" --mhclab-output "$out"
