#!/usr/bin/env python3
"""NumPy peer of `mhclab bench depth`: the same streaming depth workload on the same inputs, vectorised over seeds.

Inputs (core/random.hpp, generators/stack.hpp, apps/mhclab/cmd_bench.cpp): seeds s = seed .. seed+S-1, layers
l = 1..L; theta_l = init + noise * xi_l with xi_l the first n*n Box-Muller normals of the SplitMix64 stream
stream_key(s, Purpose::Theta = 1, {l-1, 0}); init = mhc's identity init Z = tau*log((1-eps)I + eps J/n) (or the
authors' init 0 / -8). Regenerated bit for bit up to last-bit differences of log/cos/sin (NumPy vs the C++ side).

Per layer, for all seeds at once: Sinkhorn (exp domain, fp64, tol = 0; M = exp((Z - max Z)/tau), t times columns
then rows), prefix M_l = H_l @ M_{l-1} (batched matmul), fwd_gain = max_i |sum_j M_ij|, bwd_gain = max_j |sum_i M_ij|,
sigma_max = largest singular value (np.linalg.svd(compute_uv=False), batched LAPACK). No log scale is needed for the
DS-like products of this workload (entries stay O(1)).

Timing: inputs generated BEFORE timing (reported separately), the per-layer loop timed; the C++ side times its own
generation too, so the ratio is conservative. checksum_* = sums over all (seed, layer) of each figure; checksum = their sum.

Usage: depth_numpy.py [--seeds 2000] [--layers 256] [--n 4] [--iters 20] [--seed 0] [--noise 1] [--init identity]
                      [--init-eps 0.01] [--tau 1] [--repeat 3] [--mhclab-output FILE]
"""
import argparse
import math
import re
import sys
import time

import numpy as np

from mhclab_random import GAMMA, MASK, PURPOSE_THETA, mix  # bench/ is on sys.path (the script's directory)


def normals(keys, count):
    """(len(keys), count) Box-Muller normals of the SplitMix64 streams with the given keys."""
    draws = 2 * ((count + 1) // 2)
    steps = (np.arange(1, draws + 1, dtype=np.uint64) * np.uint64(GAMMA))[None, :]
    u = (mix(keys[:, None] + steps) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    r = np.sqrt(-2.0 * np.log(1.0 - u[:, 0::2]))
    a = (2.0 * 3.14159265358979323846) * u[:, 1::2]
    z = np.empty_like(u)
    z[:, 0::2] = r * np.cos(a)
    z[:, 1::2] = r * np.sin(a)
    return z[:, :count]


def generate_theta(S, L, n, seed0, noise, init):
    """(L, S, n, n) logits: theta[l-1, s] for seed seed0 + s at depth l."""
    seeds = np.arange(seed0, seed0 + S, dtype=np.uint64)
    with np.errstate(over="ignore"):
        pre = mix(mix(seeds ^ np.uint64(0x6A09E667F3BCC909)) ^ np.uint64((PURPOSE_THETA + GAMMA) & MASK))
        out = np.empty((L, S, n * n))
        for l in range(L):
            keys = mix(mix(pre ^ np.uint64((l + GAMMA) & MASK)) ^ np.uint64(GAMMA))
            out[l] = init[None, :] + noise * normals(keys, n * n)
    return out.reshape(L, S, n, n)


def init_params(n, kind, eps, tau):
    if kind == "authors":
        return np.where(np.eye(n, dtype=bool), 0.0, -8.0).reshape(-1)
    H0 = np.full((n, n), eps / n) + (1.0 - eps) * np.eye(n)
    return (tau * np.log(H0)).reshape(-1)


def run(theta, iters, tau):
    L, S, n, _ = theta.shape
    P = np.broadcast_to(np.eye(n), (S, n, n)).copy()
    sums = np.zeros(3)
    for l in range(L):
        M = theta[l] - theta[l].max(axis=(1, 2), keepdims=True)
        if tau != 1.0:
            M /= tau
        np.exp(M, out=M)
        for _ in range(iters):
            M /= M.sum(axis=1, keepdims=True)  # columns
            M /= M.sum(axis=2, keepdims=True)  # rows
        P = M @ P
        fwd = np.abs(P.sum(axis=2)).max(axis=1)
        bwd = np.abs(P.sum(axis=1)).max(axis=1)
        sig = np.linalg.svd(P, compute_uv=False)[:, 0]
        sums += [fwd.sum(), bwd.sum(), sig.sum()]
    return sums, P


def parse(path):
    out = {}
    for line in open(path).read().splitlines():
        m = re.match(r"^(depth_prefix_\S+): (\S+) layer-steps/s", line)
        if m:
            out["name"], out["rate"] = m.group(1), float(m.group(2))
        m = re.match(r"^(\w+): (.*)$", line)
        if m and m.group(1) not in out:
            out[m.group(1)] = m.group(2)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=2000)
    p.add_argument("--layers", type=int, default=256)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", type=float, default=1.0)
    p.add_argument("--init", default="identity", choices=["identity", "authors"])
    p.add_argument("--init-eps", type=float, default=0.01)
    p.add_argument("--tau", type=float, default=1.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--mhclab-output")
    a = p.parse_args()

    t0 = time.perf_counter()
    theta = generate_theta(a.seeds, a.layers, a.n, a.seed, a.noise, init_params(a.n, a.init, a.init_eps, a.tau))
    gen_s = time.perf_counter() - t0
    best = math.inf
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        sums, _ = run(theta, a.iters, a.tau)
        best = min(best, time.perf_counter() - t0)
    steps = a.seeds * a.layers
    rate = steps / best
    checksum = float(sums.sum())
    name = f"numpy_depth_prefix_mhc_n{a.n}_L{a.layers}_t{a.iters}"
    print(f"{name}: {rate:.4g} layer-steps/s")
    print(f"numpy_best_time: {best:.6f} s (best of {a.repeat}; input generation {gen_s:.2f} s, not timed)")
    print(f"numpy_checksum: {checksum:.17g}")
    print(f"numpy_checksum_fwd_gain: {sums[0]:.17g}")
    print(f"numpy_checksum_bwd_gain: {sums[1]:.17g}")
    print(f"numpy_checksum_sigma_max: {sums[2]:.17g}")
    print(f"numpy_version: {np.__version__} (python {sys.version.split()[0]})")
    if not a.mhclab_output:
        return 0
    m = parse(a.mhclab_output)
    ok = int(m.get("layer_steps", -1)) == steps
    if not ok:
        print(f"compare: mhclab ran {m.get('layer_steps')} layer-steps, the peer {steps}: not comparable")
    for key, mine in (("checksum", checksum), ("checksum_fwd_gain", sums[0]), ("checksum_bwd_gain", sums[1]),
                      ("checksum_sigma_max", sums[2])):
        c = float(m[key])
        rel = abs(c - mine) / max(abs(mine), 1e-300)
        same = rel <= 1e-10
        ok &= same
        print(f"{key}_agree: {'yes' if same else 'NO'} (mhclab {c:.17g}, numpy {mine:.17g}, rel diff {rel:.3g}; tol 1e-10)")
    print(f"{m['name']}: {m['rate']:.4g} layer-steps/s (mhclab, threads {m.get('threads')}, includes input generation)")
    print(f"{name}: {rate:.4g} layer-steps/s (numpy {np.__version__}, 1 process, inputs generated before timing)")
    print(f"ratio_mhclab_over_numpy: {m['rate'] / rate:.4g}")
    print(f"build_flags: {m.get('build_flags')}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
