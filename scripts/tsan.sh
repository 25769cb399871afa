#!/usr/bin/env bash
# ThreadSanitizer over the threaded paths users run: builds the `tsan` preset's app (build/tsan, -O1 -g) and runs, with
# 2 threads each, the dense depth engine (threads over seeds), the stream engine (batched SIMD kernels over seeds),
# analyze, propagate, mix and fit over seeds, a training run over gradient chunks (static and dynamic mappings) and
# a sweep (points over threads, with its lock, point files and figures). Any race report stops the script (exit 1).
#   scripts/tsan.sh
# Not part of .ci/run: the build alone takes about 11 minutes on 2 cores (the cold CI budget is 45 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j2 --target mhclab_app
BIN=build/tsan/mhclab
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
# Kernels with high-entropy ASLR can refuse TSan's memory layout; run without randomisation then.
run() {
  echo "== mhclab $*"
  local start=$SECONDS
  if ! "$BIN" "$@" >"$work/out.txt" 2>&1; then
    if grep -q "unexpected memory mapping" "$work/out.txt"; then
      setarch "$(uname -m)" -R "$BIN" "$@" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; exit 1; }
    else
      cat "$work/out.txt"; exit 1
    fi
  fi
  grep -q "WARNING: ThreadSanitizer" "$work/out.txt" && { cat "$work/out.txt"; exit 1; }
  echo "   ok ($((SECONDS - start)) s)"
}
run depth --method mhc --n 4 --layers 48 --seeds 8 --threads 2 --engine dense --out "$work/d.csv"
run depth --method mhc --n 4 --layers 48 --seeds 16 --threads 2 --engine stream --metrics fwd_gain,bwd_gain,sigma_max --out "$work/s.csv"
run depth --method isohc --n 4 --layers 48 --seeds 8 --threads 2 --lyapunov --aggregate --out "$work/a.csv"
run propagate --method mhc-lite --n 4 --layers 16 --width 16 --seeds 4 --threads 2 --jacobian-topk 2 --out "$work/p.csv"
run mix --method circulant --n 4 --generator random --seeds 64 --threads 2 --jacobian
run fit --method tbp --n 4 --seeds 4 --threads 2 --fit-steps 50 --out "$work/f.csv"
run train --method mhc --n 4 --layers 4 --width 16 --batch 96 --steps 6 --log-every 3 --threads 2 --out "$work/t1"
run train --method hc --n 4 --layers 3 --width 8 --batch 96 --mapping dynamic --steps 4 --log-every 2 --threads 2 --out "$work/t2"
cat > "$work/e.toml" <<'TOML'
[experiment]
name = "tsan"
kind = "depth"
seed = 3
[base]
n = 4
layers = 24
generator = "drift"
steps = 1
seeds = 4
[grid]
method = ["hc", "mhc", "go-mhc", "isohc"]
eta = [0.05, 0.2]
[[plot]]
name = "gain"
x = "depth"
y = "log10_bwd_gain"
group = "method"
where = { kind = "suffix" }
TOML
run run "$work/e.toml" --out "$work/sweep" --threads 2
echo "tsan: every threaded path ran clean (no ThreadSanitizer report)"
