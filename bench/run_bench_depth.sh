#!/usr/bin/env bash
# `mhclab bench depth` against its NumPy peer (bench/depth_numpy.py) on the same inputs, in one run (builds nothing).
#
#   bench/run_bench_depth.sh [MHCLAB_BINARY (default build/release/mhclab)] [extra `bench depth` options]
#
# Environment: SEEDS (2000), LAYERS (256), N (4), ITERS (20), SEED (0), REPEAT (5 for mhclab), NUMPY_REPEAT (3),
# PYTHON (/usr/bin/python3, Debian's python3-numpy). Extra arguments go to `mhclab bench depth` (e.g. --threads 1);
# options that change the workload must be set through the variables above so both sides run the same one.
# Prints both figures, the ratio and whether the checksums agree (1e-10 relative); exits 1 if they do not.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:-build/release/mhclab}"
shift || true
seeds="${SEEDS:-2000}"
layers="${LAYERS:-256}"
n="${N:-4}"
iters="${ITERS:-20}"
seed="${SEED:-0}"
repeat="${REPEAT:-5}"
numpy_repeat="${NUMPY_REPEAT:-3}"
python="${PYTHON:-/usr/bin/python3}"

if [[ ! -x "$bin" ]]; then
  echo "run_bench_depth.sh: no mhclab binary at '$bin' (build it first)" >&2
  exit 2
fi
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

echo "== mhclab bench depth (seeds $seeds, layers $layers, n $n, t $iters, seed $seed)"
"$bin" bench depth --method mhc --n "$n" --layers "$layers" --seeds "$seeds" --iters "$iters" --seed "$seed" \
  --repeat "$repeat" "$@" | tee "$out"
echo
echo "== NumPy peer ($python, same inputs regenerated from the documented RNG)"
"$python" "$here/depth_numpy.py" --seeds "$seeds" --layers "$layers" --n "$n" --iters "$iters" --seed "$seed" \
  --repeat "$numpy_repeat" --mhclab-output "$out"
