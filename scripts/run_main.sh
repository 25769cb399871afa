#!/usr/bin/env bash
# The README's main command: install dependencies, build (Release, -march=native), run the main job: the tour
# of the seeds' numbers, the C++ notebooks rendered in full mode into results/notebooks/, then the default experiment
# set into results/ (index: results/README.md). It writes only untracked outputs (results/, build/); refreshing the
# tracked docs/ from them is a separate, deliberate step: scripts/refresh_docs.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
./build/release/mhclab tour
for nb in $(./build/release/mhclab notebook --list); do
  ./build/release/mhclab notebook "$nb" --out results/notebooks
done
bash scripts/run_experiments.sh ./build/release/mhclab results
