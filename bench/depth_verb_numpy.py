#!/usr/bin/env python3
"""NumPy peer of the `mhclab depth` verb, as a whole process (timed from outside, bench/run_bench_depth_verb.sh):

  mhclab depth --method mhc --n N --layers L --seeds S --iters T --kinds prefix \
               --metrics fwd_gain,bwd_gain,sigma_max --out d.csv

Same inputs (bench/depth_numpy.py documents the RNG): seeds s = seed .. seed+S-1, layers l = 1..L,
theta_l = init + noise * xi_l, xi_l the first n*n Box-Muller normals of stream_key(s, Purpose::Theta, {l-1, 0}),
init = mhc's identity init tau*log((1-eps)I + eps J/n) (or the authors' 0 / -8). Theta is generated layer by
layer for all seeds at once (memory O(S n^2), not O(L S n^2)); the keys are checked against
depth_numpy.generate_theta by --self-check.

Per layer, for all seeds at once: Sinkhorn (exp domain, fp64, tol 0: M = exp((Z - max Z)/tau) with the global max
per matrix, then T times columns then rows), prefix M_l = H_l @ M_{l-1} (M_0 = I), fwd_gain = max_i |sum_j M_ij|,
bwd_gain = max_j |sum_i M_ij|, sigma_max = largest singular value (batched LAPACK svd, compute_uv=False).
No log scaling: products of doubly stochastic matrices stay O(1).

Output: np.save(--out, array of shape (S, L, 3)), last axis (fwd_gain, bwd_gain, sigma_max), [s, l-1] = seed
seed+s at depth l.

--compare CSV (outside the timed path; computes first unless --load NPY gives a saved array): reads an mhclab
depth CSV, selects the columns fwd_gain, bwd_gain, sigma_max by name and the rows with kind == prefix and step 0
(so the full-width output, with every metric and the kinds layer, prefix, suffix, works too), prints the max
relative difference per metric and overall, exits 1 if it exceeds --tol (1e-10) or rows are missing.

Usage: depth_verb_numpy.py [--n 4] [--layers 256] [--seeds 2000] [--iters 20] [--seed 0] [--tau 1] [--noise 1]
                           [--init identity] [--init-eps 0.01] [--out FILE.npy] [--compare CSV [--load NPY]]
                           [--tol 1e-10] [--self-check]
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/: the shared, tested generator code

import numpy as np  # noqa: E402

from depth_numpy import generate_theta, init_params, normals  # noqa: E402
from mhclab_random import GAMMA, MASK, PURPOSE_THETA, mix  # noqa: E402

METRICS = ("fwd_gain", "bwd_gain", "sigma_max")


def seed_prefix(S, seed0):
    """Per-seed prefix of the Theta stream keys (the part of depth_numpy.generate_theta before the layer index)."""
    seeds = np.arange(seed0, seed0 + S, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return mix(mix(seeds ^ np.uint64(0x6A09E667F3BCC909)) ^ np.uint64((PURPOSE_THETA + GAMMA) & MASK))


def theta_layer(pre, l, n, noise, init):
    """(S, n, n) logits of layer index l (0-based) for every seed; equals depth_numpy.generate_theta(...)[l]."""
    with np.errstate(over="ignore"):
        keys = mix(mix(pre ^ np.uint64((l + GAMMA) & MASK)) ^ np.uint64(GAMMA))
        z = normals(keys, n * n)
    return (init[None, :] + noise * z).reshape(len(pre), n, n)


def compute(S, L, n, seed0, iters, tau, noise, init):
    """(S, L, 3) fwd_gain, bwd_gain, sigma_max of the prefix products."""
    pre = seed_prefix(S, seed0)
    out = np.empty((S, L, 3))
    P = np.broadcast_to(np.eye(n), (S, n, n)).copy()
    for l in range(L):
        M = theta_layer(pre, l, n, noise, init)
        M -= M.max(axis=(1, 2), keepdims=True)
        if tau != 1.0:
            M /= tau
        np.exp(M, out=M)
        for _ in range(iters):
            M /= M.sum(axis=1, keepdims=True)  # columns
            M /= M.sum(axis=2, keepdims=True)  # rows
        P = M @ P
        out[:, l, 0] = np.abs(P.sum(axis=2)).max(axis=1)
        out[:, l, 1] = np.abs(P.sum(axis=1)).max(axis=1)
        out[:, l, 2] = np.linalg.svd(P, compute_uv=False)[:, 0]
    return out


def read_csv(path, S, L, seed0):
    """(S, L, 3) from an mhclab depth CSV (prefix rows of step 0; columns by name) and the count of rows filled."""
    got = np.full((S, L, 3), np.nan)
    seen = np.zeros((S, L), dtype=bool)
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        missing = [c for c in ("seed", "step", "depth", "kind") + METRICS if c not in header]
        if missing:
            raise SystemExit(f"compare: {path}: no column(s) {', '.join(missing)} in the header")
        i_seed, i_step, i_depth, i_kind = (header.index(c) for c in ("seed", "step", "depth", "kind"))
        i_m = [header.index(c) for c in METRICS]
        for row in r:
            if row[i_kind] != "prefix" or row[i_step] != "0":
                continue
            s, d = int(row[i_seed]) - seed0, int(row[i_depth]) - 1
            if not (0 <= s < S and 0 <= d < L):
                raise SystemExit(f"compare: {path}: row seed {row[i_seed]} depth {row[i_depth]} outside the run "
                                 f"(seeds {seed0}..{seed0 + S - 1}, depths 1..{L})")
            if seen[s, d]:
                raise SystemExit(f"compare: {path}: duplicate prefix row seed {row[i_seed]} depth {row[i_depth]}")
            seen[s, d] = True
            for k, i in enumerate(i_m):
                try:
                    got[s, d, k] = float(row[i])
                except ValueError:  # an empty cell or a log-form value (beyond the double range): stays NaN
                    pass
    return got, int(seen.sum())


def compare(mine, path, seed0, tol):
    S, L, _ = mine.shape
    got, rows = read_csv(path, S, L, seed0)
    ok = rows == S * L
    print(f"compare: {path}: {rows} prefix rows (expected {S * L} = {S} seeds x {L} layers)")
    worst = 0.0
    for k, name in enumerate(METRICS):
        rel = np.abs(got[..., k] - mine[..., k]) / np.maximum(np.abs(mine[..., k]), 1e-300)
        rel = np.where(np.isnan(rel), np.inf, rel)  # a missing or unparsable value counts as a failure
        at = np.unravel_index(np.argmax(rel), rel.shape)
        m = float(rel[at])
        worst = max(worst, m)
        print(f"compare: {name}: max rel diff {m:.3g} at seed {seed0 + at[0]} depth {at[1] + 1} "
              f"(mhclab {got[at][k]:.17g}, numpy {mine[at][k]:.17g})")
    ok &= worst <= tol
    print(f"compare: max rel diff {worst:.3g} (tol {tol:g}): {'AGREE' if ok else 'DISAGREE'}")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--layers", type=int, default=256)
    p.add_argument("--seeds", type=int, default=2000)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tau", type=float, default=1.0)
    p.add_argument("--noise", type=float, default=1.0)
    p.add_argument("--init", default="identity", choices=["identity", "authors"])
    p.add_argument("--init-eps", type=float, default=0.01)
    p.add_argument("--out", help="np.save the (S, L, 3) array here")
    p.add_argument("--compare", metavar="CSV", help="mhclab depth CSV to compare with (after saving)")
    p.add_argument("--load", metavar="NPY", help="with --compare: compare this saved array instead of computing")
    p.add_argument("--tol", type=float, default=1e-10)
    p.add_argument("--self-check", action="store_true",
                   help="check the per-layer theta against depth_numpy.generate_theta (bitwise) and exit")
    a = p.parse_args()
    init = init_params(a.n, a.init, a.init_eps, a.tau)

    if a.self_check:
        S, L = min(a.seeds, 64), min(a.layers, 8)
        ref = generate_theta(S, L, a.n, a.seed, a.noise, init)
        pre = seed_prefix(S, a.seed)
        same = all(np.array_equal(ref[l], theta_layer(pre, l, a.n, a.noise, init)) for l in range(L))
        print(f"self-check: per-layer theta == depth_numpy.generate_theta ({S} seeds, {L} layers): {same}")
        return 0 if same else 1

    if a.load:
        if not a.compare:
            p.error("--load needs --compare")
        vals = np.load(a.load)
        if vals.shape != (a.seeds, a.layers, 3):
            raise SystemExit(f"compare: {a.load} has shape {vals.shape}, expected {(a.seeds, a.layers, 3)}")
    else:
        vals = compute(a.seeds, a.layers, a.n, a.seed, a.iters, a.tau, a.noise, init)
        if a.out:
            with open(a.out, "wb") as f:  # exact name (np.save would append .npy to other suffixes)
                np.save(f, vals)
    if a.compare:
        return 0 if compare(vals, a.compare, a.seed, a.tol) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
