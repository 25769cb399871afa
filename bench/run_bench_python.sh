#!/usr/bin/env bash
# The Python package against batched PyTorch and NumPy in one run (bench/python_mix_batch.py; builds nothing):
# mhclab.mix_batch for 10⁶ mhc projections at n = 4 (t = 20) vs the mHC paper's Sinkhorn in PyTorch CPU and NumPy
# on the same (10⁶, 4, 4) float64 logits (results compared, tol 1e-13), the per-call time of mhclab.mix at n = 4,
# and mhclab.torch.mix forward + backward vs torch autograd through the unrolled Sinkhorn.
#
#   bash bench/run_bench_python.sh [extra options of bench/python_mix_batch.py, e.g. --count 100000 --peer-repeat 2]
#
# Environment: PYTHONPATH_MHCLAB (the package's directory, default build/release/python under the repo root),
# PYTHON (default: the interpreter the extension was built for, from build/release/CMakeCache.txt, else
# /usr/bin/python3 — Debian's, with python3-numpy and python3-torch). Prints the build (mhclab.build_info()),
# versions, cores, CPU, every run and the README's markdown table; exits 1 if the outputs disagree.
# About a minute and a half on 2 cores.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
pkg="${PYTHONPATH_MHCLAB:-$root/build/release/python}"
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  python="$(sed -n 's/^PYBIND11_PYTHON_EXECUTABLE_LAST:INTERNAL=//p' "$root/build/release/CMakeCache.txt" 2>/dev/null || true)"
  [[ -x "$python" ]] || python=/usr/bin/python3
fi
if [[ ! -f "$pkg/mhclab/__init__.py" ]] || ! compgen -G "$pkg/mhclab/_core*.so" >/dev/null; then
  echo "run_bench_python.sh: no built mhclab package under '$pkg' (build it first: cmake --preset release && cmake --build --preset release)" >&2
  exit 2
fi
echo "== $python, PYTHONPATH=$pkg"
# As the other NumPy peers: without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (set on some machines for old OpenBLAS
# builds; they slow a current NumPy).
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}" \
  "$python" "$here/python_mix_batch.py" "$@"
