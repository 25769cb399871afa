#!/usr/bin/env python3
"""The NumPy peer of `mhclab conform --method dsv4 --layout from_to` (bench/run_bench_conform.sh).

Reads L (B, n, n) comb logits [from, to] and T (B, n, n) a kernel's comb [from, to]; computes the fp64 reference of
DeepSeek-V4's deployed Sinkhorn (softmax over the TO index, + eps; columns by (sum + eps); then (t - 1) times rows,
columns), per matrix err_max = max|T - comb| and the marginal errors of T, and the summary mean/median/q99/max.
What mhclab computes in addition (the distance to the converged projection, relative errors, the diagnosis) is not
done here, so the peer does less work. Also writes its per-matrix err_max (.npy) for the comparison.

  --make B SEED PREFIX   write PREFIX_L.npy (2·N(0, 1) logits) and PREFIX_T.npy (the same Sinkhorn in float32, as an
                         fp32 kernel computes it) and exit
"""
import argparse
import sys

import numpy as np


def deployed(L, iters, eps, dtype):
    L = L.astype(dtype)
    eps = dtype(eps)
    c = np.exp(L - L.max(axis=2, keepdims=True))
    c = c / c.sum(axis=2, keepdims=True) + eps
    c = c / (c.sum(axis=1, keepdims=True) + eps)
    for _ in range(iters - 1):
        c = c / (c.sum(axis=2, keepdims=True) + eps)
        c = c / (c.sum(axis=1, keepdims=True) + eps)
    return c


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--make", nargs=3)
    p.add_argument("--logits")
    p.add_argument("--output")
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--eps", type=float, default=1e-6)
    p.add_argument("--tolerance", type=float, default=1e-4)
    p.add_argument("--save")
    a = p.parse_args()
    if a.make:
        B, seed, prefix = int(a.make[0]), int(a.make[1]), a.make[2]
        L = 2.0 * np.random.default_rng(seed).standard_normal((B, 4, 4))
        np.save(prefix + "_L.npy", L)
        np.save(prefix + "_T.npy", deployed(L, a.iters, a.eps, np.float32).astype(np.float64))
        return 0
    L = np.load(a.logits)
    T = np.load(a.output)
    ref = deployed(L, a.iters, a.eps, np.float64)
    err = np.abs(T - ref).max(axis=(1, 2))
    H = np.swapaxes(T, 1, 2)  # paper orientation
    row = np.abs(H.sum(axis=2) - 1).max(axis=1)
    col = np.abs(H.sum(axis=1) - 1).max(axis=1)
    for name, v in (("err_max", err), ("row_err", row), ("col_err", col)):
        print(f"{name} mean={v.mean():.6g} median={np.median(v):.6g} q99={np.quantile(v, 0.99):.6g} max={v.max():.6g}")
    print("pass" if err.max() <= a.tolerance else "FAIL")
    if a.save:
        np.save(a.save, err)
    return 0 if err.max() <= a.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
