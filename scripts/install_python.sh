#!/usr/bin/env bash
# Installs the Python package `mhclab` of a build (default: build/release) for the interpreter it was built for, into
# that interpreter's site directory for local installs (Debian: /usr/local/lib/python3.X/dist-packages), so that
# `python3 -c "import mhclab"` works in a new shell. As root; otherwise prints how to use the build tree instead.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
build="build/$preset"
if [ ! -d "$build/python/mhclab" ]; then
  echo "install_python: $build/python/mhclab does not exist (the Python package was not built; see cmake's output)" >&2
  exit 1
fi
py=$(sed -n 's/^Python_EXECUTABLE:FILEPATH=//p' "$build/CMakeCache.txt")
if [ "$(id -u)" -ne 0 ]; then
  echo "install_python: not root; use the build tree instead:  PYTHONPATH=$PWD/$build/python $py -c 'import mhclab'"
  exit 0
fi
cmake --install "$build" --component python >/dev/null
site=$(sed -n 's/^MHCLAB_PYTHON_SITE:PATH=//p' "$build/CMakeCache.txt")
(cd / && "$py" -c "import mhclab; print('install_python: mhclab', mhclab.__version__, mhclab.__commit__, 'for $py in $site')")
