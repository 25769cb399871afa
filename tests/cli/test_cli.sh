#!/usr/bin/env bash
# CLI contract tests (CLI.md): exit codes and messages. Usage: test_cli.sh MHCLAB_BINARY TESTDATA_DIR
set -u
BIN="$1"
pass=0; fail=0
expect() {  # expect RC PATTERN -- args...
  local want="$1" pat="$2"; shift 3
  local out rc
  out=$("$BIN" "$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" <<<"$out"; then pass=$((pass+1));
  else fail=$((fail+1)); echo "FAIL: mhclab $* -> rc=$rc (want $want), output: $out" | head -c 2000; echo; fi
}
expect 0 "commit:" -- info
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
