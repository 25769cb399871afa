#!/usr/bin/env bash
# Fuzzes the readers of untrusted bytes with libFuzzer (Debian's clang-14 + libclang-rt-14-dev), ASan + UBSan:
#   scripts/fuzz.sh [RUNS per target (default 1000000)] [targets (default: npy safetensors csv experiment train_config checkpoint_index)]
# Builds build/fuzz (library + fuzz/fuzz_<reader>), then runs each target from a copy of its committed seed corpus
# (tests/fuzz/corpus/<reader>/) with the format's dictionary (fuzz/dict/<reader>.dict) for RUNS executions (-timeout=10 s per input, -rss_limit_mb=2048, inputs ≤ 64 KiB)
# and prints libFuzzer's final statistics. A crash, leak, timeout or out-of-memory stops the script (exit 1) and
# leaves the reproducer in build/fuzz/findings/<reader>/; add it to the corpus, where tests/fuzz/test_fuzz_replay.cpp
# replays it in every test run.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(npy safetensors csv experiment train_config checkpoint_index)
command -v clang++-14 >/dev/null || { echo "fuzz: clang++-14 not found (apt-get install clang-14 libclang-rt-14-dev)"; exit 1; }
cmake -S . -B build/fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMHCLAB_SANITIZE=ON \
      -DMHCLAB_FUZZ=ON -DMHCLAB_BUILD_TESTS=OFF -DMHCLAB_BUILD_APPS=OFF >/dev/null
cmake --build build/fuzz -j2 --target "${targets[@]/#/fuzz_}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
  work="build/fuzz/corpus/$t" findings="build/fuzz/findings/$t"
  rm -rf "$work" && mkdir -p "$work" "$findings" && cp tests/fuzz/corpus/"$t"/* "$work"/
  echo "== fuzz_$t: $runs runs"
  start=$(date +%s)
  "build/fuzz/fuzz/fuzz_$t" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -dict="fuzz/dict/$t.dict" -artifact_prefix="$findings/" "$work" 2>&1 | grep -E "^(stat::|#[0-9]+[[:space:]]+DONE|==[0-9]+==ERROR|SUMMARY)" || true
  [ -z "$(ls -A "$findings")" ] || { echo "fuzz_$t: FINDINGS in $findings"; exit 1; }
  echo "fuzz_$t: $(($(date +%s) - start)) s, no crash, leak, timeout or out-of-memory"
done
