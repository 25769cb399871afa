#!/usr/bin/env python3
"""NumPy peer of `mhclab bench project`: the same Sinkhorn projections on the same inputs, batched.

Inputs (regenerated bit for bit up to libm-vs-NumPy last bits in log/cos/sin; see core/random.hpp and
apps/mhclab/cmd_bench.cpp): matrix k (k = 0..count-1) is filled from the SplitMix64 stream
key_k = stream_key(seed, Purpose::Bench = 6, {k}); entry (i, j) is the (i*n + j)-th Box-Muller normal of
that stream. All arithmetic below is vectorised uint64/float64 NumPy over the whole batch (no Python loop
over matrices; the loop over chunks only bounds memory).

Algorithm (SPEC 3, exp domain, fp64, tol = 0): M = exp((Z - max Z)/tau) with the global max of each matrix,
then t times: columns normalised (M /= column sums), then rows (col_then_row; row_then_col swaps them).
Sums of 4 entries are accumulated left to right like the C++ code; NumPy divides (the C++ batched kernel
multiplies by the reciprocal), so results agree to ~1e-15, and the checksums to ~1e-13 relative.

checksum = sum_k sum_ij H_k[i,j] * (i*n + j + 1)**2, input_checksum = the same for Z (see cmd_bench.cpp for
why the weight is squared).

Usage:
  sinkhorn_numpy.py [--count N] [--seed S] [--n 4] [--iters 20] [--tau 1] [--order col_then_row]
                    [--repeat R] [--print-inputs K] [--mhclab-output FILE]
With --mhclab-output (the stdout of `mhclab bench project`, as bench/run_bench_project.sh passes it) it
also prints the speed ratio and whether inputs and checksums agree; the exit code is 1 when they do not.
"""
import argparse
import math
import re
import sys
import time

import numpy as np

from mhclab_random import GAMMA, MASK, PURPOSE_BENCH, mix, mix_int  # bench/ is on sys.path (the script's directory)


def generate_inputs(count, n, seed, chunk=1 << 16):
    """(count, n, n) float64 logits, identical to the C++ generator."""
    nn = n * n
    draws = 2 * ((nn + 1) // 2)  # Box-Muller pairs; an odd n*n leaves the last sine unused
    prefix = mix_int(mix_int((seed ^ 0x6A09E667F3BCC909) & MASK) ^ ((PURPOSE_BENCH + GAMMA) & MASK))
    steps = (np.arange(1, draws + 1, dtype=np.uint64) * np.uint64(GAMMA))[None, :]  # state after m next()
    Z = np.empty((count, nn), dtype=np.float64)
    two_pi = 2.0 * 3.14159265358979323846
    for k0 in range(0, count, chunk):
        k = np.arange(k0, min(count, k0 + chunk), dtype=np.uint64)
        keys = mix(np.uint64(prefix) ^ (k + np.uint64(GAMMA)))
        u = (mix(keys[:, None] + steps) >> np.uint64(11)).astype(np.float64) * 2.0**-53
        u1 = 1.0 - u[:, 0::2]
        u2 = u[:, 1::2]
        r = np.sqrt(-2.0 * np.log(u1))
        a = two_pi * u2
        z = np.empty_like(u)
        z[:, 0::2] = r * np.cos(a)
        z[:, 1::2] = r * np.sin(a)
        Z[k0:k0 + len(k)] = z[:, :nn]
    return Z.reshape(count, n, n)


def sinkhorn_batch(Z, iters, tau, order):
    """Batched exp-domain Sinkhorn of (B, n, n) logits; returns H and the numerical-issue mask."""
    M = Z - Z.max(axis=(1, 2), keepdims=True)
    if tau != 1.0:
        M /= tau
    issue = ~(M >= -708.0).all(axis=(1, 2))
    np.exp(M, out=M)
    first, second = (1, 2) if order == "col_then_row" else (2, 1)  # axis 1 sums over i: column sums
    for _ in range(iters):
        M /= M.sum(axis=first, keepdims=True)
        M /= M.sum(axis=second, keepdims=True)
    M[issue] = 0.0
    return M, issue


def weighted_checksum(A, n):
    idx = np.arange(n)
    w = (idx[:, None] * n + idx[None, :] + 1.0) ** 2
    return float(np.sum(A * w))


def parse_mhclab(path):
    text = open(path).read()
    out = {"inputs": {}}
    for line in text.splitlines():
        m = re.match(r"^(sinkhorn_project_\S+): (\S+) projections/s", line)
        if m:
            out["name"], out["rate"] = m.group(1), float(m.group(2))
        m = re.match(r"^input\[(\d+)\]:(.*)$", line)
        if m:
            out["inputs"][int(m.group(1))] = [float(x) for x in m.group(2).split()]
            continue
        m = re.match(r"^(\w+): (.*)$", line)
        if m and m.group(1) not in out:
            out[m.group(1)] = m.group(2)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=1000000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--tau", type=float, default=1.0)
    p.add_argument("--order", default="col_then_row", choices=["col_then_row", "row_then_col"])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--print-inputs", type=int, default=0)
    p.add_argument("--mhclab-output", help="stdout of `mhclab bench project` to compare against")
    a = p.parse_args()

    t0 = time.perf_counter()
    Z = generate_inputs(a.count, a.n, a.seed)
    gen_s = time.perf_counter() - t0
    best = math.inf
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        H, issue = sinkhorn_batch(Z, a.iters, a.tau, a.order)
        best = min(best, time.perf_counter() - t0)
    rate = a.count / best
    checksum = weighted_checksum(H, a.n)
    input_checksum = weighted_checksum(Z, a.n)
    name = f"numpy_sinkhorn_n{a.n}_t{a.iters}"
    print(f"{name}: {rate:.4g} projections/s")
    print(f"numpy_count: {a.count}")
    print(f"numpy_best_time: {best:.6f} s (best of {a.repeat}; input generation {gen_s:.2f} s)")
    print(f"numpy_numerical_issues: {int(issue.sum())}")
    print(f"numpy_checksum: {checksum:.17g}")
    print(f"numpy_input_checksum: {input_checksum:.17g}")
    print(f"numpy_version: {np.__version__} (python {sys.version.split()[0]})")
    flat = Z.reshape(a.count, -1)
    for k in range(min(a.print_inputs, a.count)):
        print(f"numpy_input[{k}]: " + " ".join(f"{x:.17g}" for x in flat[k]))

    if not a.mhclab_output:
        return 0
    m = parse_mhclab(a.mhclab_output)
    ok = True
    if int(m.get("count", -1)) != a.count:
        print(f"compare: mhclab ran {m.get('count')} matrices, the peer {a.count}: checksums not comparable")
        ok = False
    # Inputs: the printed matrices entry by entry (libm vs NumPy log/cos/sin may differ in the last bits).
    worst = 0.0
    for k, vals in m["inputs"].items():
        if k < a.count:
            worst = max(worst, float(np.max(np.abs(np.array(vals) - flat[k]) / np.maximum(1.0, np.abs(flat[k])))))
    if m["inputs"]:
        same = worst <= 1e-14
        ok &= same
        print(f"inputs_agree: {'yes' if same else 'NO'} (first {len(m['inputs'])} matrices, max rel diff {worst:.3g})")
    ic = float(m["input_checksum"])
    rel_in = abs(ic - input_checksum) / max(abs(input_checksum), 1e-300)
    same = rel_in <= 1e-12
    ok &= same
    print(f"input_checksums_agree: {'yes' if same else 'NO'} (rel diff {rel_in:.3g}; tol 1e-12)")
    c = float(m["checksum"])
    rel = abs(c - checksum) / max(abs(checksum), 1e-300)
    same = rel <= 1e-9
    ok &= same
    print(f"checksums_agree: {'yes' if same else 'NO'} (mhclab {c:.17g}, numpy {checksum:.17g}, rel diff {rel:.3g}; tol 1e-9)")
    print(f"{m['name']}: {m['rate']:.4g} projections/s (mhclab, threads {m.get('threads')})")
    print(f"{name}: {rate:.4g} projections/s (numpy {np.__version__}, 1 process)")
    print(f"ratio_mhclab_over_numpy: {m['rate'] / rate:.4g}")
    print(f"build_flags: {m.get('build_flags')}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
