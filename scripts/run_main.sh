#!/usr/bin/env bash
# The README's main command: install dependencies, build (Release, -march=native), run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
./build/release/mhclab tour
