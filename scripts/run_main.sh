#!/usr/bin/env bash
# The README's main command: install dependencies, build (Release, -march=native), install the Python package for the
# system interpreter (scripts/install_python.sh), run the main job: the tour
# of the seeds' numbers, the C++ notebooks rendered in full mode into results/notebooks/, the Python notebook into
# results/notebooks_py/, then the default experiment
# set into results/ (index: results/README.md). It writes only untracked outputs (results/, build/); refreshing the
# tracked docs/ from them is a separate, deliberate step: scripts/refresh_docs.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
bash scripts/install_python.sh release
./build/release/mhclab tour
for nb in $(./build/release/mhclab notebook --list); do
  ./build/release/mhclab notebook "$nb" --out results/notebooks
done
# The Python notebook (notebooks_py/), full mode, executed into results/notebooks_py/ with its figures.
py=$(sed -n 's/^Python_EXECUTABLE:FILEPATH=//p' build/release/CMakeCache.txt)
MHCLAB_NB_OUT="$PWD/results/notebooks_py" PYTHONPATH="$PWD/build/release/python" "$py" -m nbconvert --to notebook --execute \
  notebooks_py/train_record_analyze.ipynb --output-dir results/notebooks_py
bash scripts/run_experiments.sh ./build/release/mhclab results
