#!/usr/bin/env bash
# The README's test command: install dependencies, build and run the whole test suite.
#   bash scripts/run_tests.sh          Release preset (-march=native), every test
#   bash scripts/run_tests.sh asan     Debug + AddressSanitizer + UBSan, reduced sizes for slow tests
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
bash scripts/install_deps.sh
start=$(date +%s)
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
if [ "$preset" = release ]; then bash scripts/install_python.sh release; fi
ctest --preset "$preset"
echo "run_tests[$preset]: $(( $(date +%s) - start )) s"
