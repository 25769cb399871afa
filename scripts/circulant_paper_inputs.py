#!/usr/bin/env python3
"""Random inputs of the circulant hyper-connections paper's theory experiments, for notebook 10.

The paper (contactsebi/circulant-hyper-connections, paper/paper.tex §5.1, numbers in paper/numbers.tex) draws
every random number of its theory figure from ONE NumPy generator, rng = np.random.default_rng(0), n = 4 streams,
L = 64 layers, 32 trials. This script replays only those draws, in the same order, and writes them to one file;
notebooks_cpp/10_stability_vs_collapse.cpp reads it with mhclab's .npy reader and computes every quantity with
mhclab (Sinkhorn, circulant, products, SVD). Nothing else of the paper's code is reproduced here.

Output: tests/data/circulant_paper_inputs.npy, float64 '<f8', C order, shape (106752,): the draws concatenated
in draw order, each drawn array flattened in C (row-major) order:

  (a) 32 trials, each:
        64 × rng.normal(0, 1.0, (4, 4))   generic Sinkhorn logits, 16 values each
        64 × rng.normal(0, 0.5, (4, 4))   dominated logits BEFORE the + 3.0·I the paper adds (the notebook adds it)
      → 32 · (64·16 + 64·16) = 65536 values, offsets [0, 65536)
  (b) once:
        64 × rng.normal(0, 1, 4)          leaky circulant logits z (γ = β/(2L), β = 2), 4 values each
      → 256 values, offsets [65536, 65792)
  (c) 32 trials, each:
        64 × rng.normal(0, 1.0, (4, 4))   Sinkhorn logits of the composite-gain-error experiment
        64 × rng.normal(0, 1, 4)          plain circulant logits z (γ = 1)
      → 32 · (64·16 + 64·4) = 40960 values, offsets [65792, 106752)

A logit matrix is Z[i, j] = value[16·k + 4·i + j] (row-major, the mhc θ order of mhclab). Size: 854 144 bytes.

Usage (Debian's NumPy; default_rng needs NumPy ≥ 1.17):  /usr/bin/python3 scripts/circulant_paper_inputs.py [OUT]
"""
import os
import sys

import numpy as np

N, L, TRIALS = 4, 64, 32


def draws():
    rng = np.random.default_rng(0)
    out = []
    for _ in range(TRIALS):  # (a)
        out += [rng.normal(0, 1.0, (N, N)) for _ in range(L)]
        out += [rng.normal(0, 0.5, (N, N)) for _ in range(L)]
    out += [rng.normal(0, 1, N) for _ in range(L)]  # (b)
    for _ in range(TRIALS):  # (c)
        out += [rng.normal(0, 1.0, (N, N)) for _ in range(L)]
        out += [rng.normal(0, 1, N) for _ in range(L)]
    return np.ascontiguousarray(np.concatenate([a.ravel() for a in out]), dtype="<f8")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "circulant_paper_inputs.npy")
    a = draws()
    expected = TRIALS * 2 * L * N * N + L * N + TRIALS * (L * N * N + L * N)
    assert a.shape == (expected,), a.shape
    np.save(path, a)
    print(f"{path}: {a.shape[0]} float64 values, numpy {np.__version__}")


if __name__ == "__main__":
    main()
