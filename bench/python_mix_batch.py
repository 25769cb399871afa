#!/usr/bin/env python3
"""`mhclab.mix_batch` / `mhclab.mix` from Python against the same Sinkhorn in batched PyTorch and NumPy, in one run.

Run it through bench/run_bench_python.sh (which puts build/release/python on PYTHONPATH). Builds nothing.

Workload: B (default 10⁶) logit matrices Z (B, 4, 4) float64, N(0, 1) from NumPy's default_rng(SEED); mhc at n = 4
with the library's defaults (t = 20 iterations, τ = 1, order col_then_row, exp domain, fp64; checked against
`mhclab.options("method")` below):

  (a) mhclab.mix_batch("mhc", Z, 4, threads=0) (all cores) and threads=1 (the batched SIMD kernel);
  (b) the peers, the mHC paper's Sinkhorn as users write it (Eq. (9)): M = exp(Z − max over each matrix) (τ = 1),
      then 20 times: M = M / M.sum(columns), M = M / M.sum(rows) — PyTorch CPU tensors (torch.set_num_threads(all
      cores)) and NumPy, float64, batched over the whole (B, 4, 4) array; plus, for reference, the same PyTorch
      code with in-place divisions (M.div_), which avoids a fresh B·128-byte tensor per step. The outputs of
      mhclab, PyTorch and NumPy must agree to 1e-13 (max abs difference, printed);
  (c) the per-call time of mhclab.mix("mhc", z, 4) on one (4, 4) z, of Method.mix on a pre-built mhclab.Method,
      of the scalar computation alone (Method.mix_batch(exact=True, threads=1) per matrix: the same scalar code
      as mix), of a call that computes nothing (Method("resnet", 4).mix), and of the same 20-iteration Sinkhorn
      on one 4×4 torch tensor and one NumPy array;
  (d) mhclab.torch.mix forward + backward ((H·W).sum().backward()) on a batch of GRAD_B (10⁵) against torch
      autograd through the unrolled torch Sinkhorn above; the gradients must agree to 1e-12.

Every figure is the best of k repeats (k printed); a batched call's time includes allocating its result. Also
printed: what writing a fresh B·128-byte array costs with NumPy (which madvises large arrays into 2 MiB pages) and
with torch 1.13 (4 KiB pages, a page fault each) — on a VM with costly page faults it is most of the out-of-place
torch peer's time, hence the in-place reference row.
Prints the build (mhclab.build_info()), versions, cores, CPU, every run, and a markdown table for the README.
Exit code 1 if an agreement check fails.
"""
import argparse
import math
import os
import platform
import resource
import sys
import time
import timeit

import numpy as np
import torch

import mhclab
import mhclab.torch as mtorch


def best_of(k, fn):
    """(best wall time over k calls of fn, all times, fn's last result)."""
    times, out = [], None
    for _ in range(k):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, out


def per_call(fn, number, k):
    """Best over k loops of `number` calls of fn, per call (s)."""
    return min(timeit.Timer(fn).repeat(repeat=k, number=number)) / number


# ---- the peers: mHC paper Eq. (9), exp domain, τ = 1, col_then_row ---------------------------------------------

def sinkhorn_torch(Z, iters=20):
    M = torch.exp(Z - Z.amax(dim=(-2, -1), keepdim=True))
    for _ in range(iters):
        M = M / M.sum(dim=-2, keepdim=True)  # columns: sum over i of H[i, j]
        M = M / M.sum(dim=-1, keepdim=True)  # rows
    return M


def sinkhorn_torch_inplace(Z, iters=20):
    M = torch.exp(Z - Z.amax(dim=(-2, -1), keepdim=True))
    for _ in range(iters):
        M.div_(M.sum(dim=-2, keepdim=True))
        M.div_(M.sum(dim=-1, keepdim=True))
    return M


def sinkhorn_numpy(Z, iters=20):
    M = np.exp(Z - Z.max(axis=(-2, -1), keepdims=True))
    for _ in range(iters):
        M = M / M.sum(axis=-2, keepdims=True)
        M = M / M.sum(axis=-1, keepdims=True)
    return M


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return platform.processor() or "?"
    model = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in lines if l.startswith("flags")), [])
    isa = "avx512f" if "avx512f" in flags else ("avx2" if "avx2" in flags else "no avx2")
    return f"{model} ({isa})"


def fmt_s(s):
    return f"{s:.4g} s" if s >= 0.1 else f"{s * 1e3:.4g} ms"


def fmt_us(s):
    return f"{s * 1e6:.3g} µs"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=1000000, help="B, matrices in the batch (10⁶)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=5, help="k for mhclab's batched figures (5)")
    p.add_argument("--peer-repeat", type=int, default=3, help="k for the PyTorch/NumPy batched figures (3)")
    p.add_argument("--calls", type=int, default=20000, help="calls per loop for the per-call figures (mhclab)")
    p.add_argument("--peer-calls", type=int, default=500, help="calls per loop for the per-call peers")
    p.add_argument("--call-repeat", type=int, default=5, help="k for the per-call figures (loops)")
    p.add_argument("--grad-count", type=int, default=100000, help="batch of (d); 0 skips (d)")
    p.add_argument("--grad-repeat", type=int, default=3, help="k for (d)")
    a = p.parse_args()

    start = time.perf_counter()
    cores = os.cpu_count() or 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    torch.set_num_threads(cores)
    n, iters = 4, 20
    rc = 0

    print("== mhclab.build_info()")
    for k, v in mhclab.build_info().items():
        print(f"{k}: {v}")
    print(f"== python {sys.version.split()[0]} ({sys.executable}), numpy {np.__version__}, torch {torch.__version__} "
          f"(torch threads {torch.get_num_threads()}, {torch.__config__.parallel_info().splitlines()[-1].strip()})")
    print(f"== machine: {cores} cores (nproc), {cpu_model()}, {platform.machine()} Linux {platform.release()}")
    defaults = {name: default for name, default, _ in mhclab.options("method")}
    used = {k: defaults.get(k) for k in ("iters", "tau", "order", "domain", "precision", "projection", "tol")}
    print(f"== mhc defaults (mhclab.options('method')): {used}")
    expect = {"iters": "20", "tau": "1", "order": "col_then_row", "domain": "exp", "precision": "fp64",
              "projection": "sinkhorn", "tol": "0"}
    if used != expect:
        print(f"defaults: NOT the peers' workload (expected {expect}); the comparison below is void")
        rc = 1
    print(f"== B {a.count} matrices n = {n}, t = {iters}, Z ~ N(0, 1) (default_rng({a.seed})); k = {a.repeat} for "
          f"mhclab, {a.peer_repeat} for the batched peers, {a.call_repeat} loops for per-call figures, "
          f"{a.grad_repeat} for (d)")

    Z = np.random.default_rng(a.seed).standard_normal((a.count, n, n))
    mb = Z.nbytes / 2**20
    # What a fresh result costs on this machine: NumPy's large arrays are madvise(MADV_HUGEPAGE)d (2 MiB pages; every
    # mix_batch result is a NumPy array), torch 1.13's are not (4 KiB pages, one minor fault each) — and every
    # out-of-place step of the torch peer is a fresh B·128-byte tensor.
    def faults(fn):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        fn()
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    first, _, buf = best_of(3, lambda: np.ones_like(Z))
    again, _, _ = best_of(3, lambda: buf.fill(2.0))
    t_fresh, _, _ = best_of(3, lambda: torch.empty_like(torch.from_numpy(buf)).fill_(1.0))
    f_np = faults(lambda: np.ones_like(Z))
    f_t = faults(lambda: torch.empty_like(torch.from_numpy(buf)).fill_(1.0))
    print(f"== memory: a fresh {mb:.0f} MiB array written once: NumPy {fmt_s(first)} ({f_np} page faults), torch "
          f"{fmt_s(t_fresh)} ({f_t} page faults); an existing one rewritten {fmt_s(again)}")
    del buf

    # ---- (a) mhclab.mix_batch ----------------------------------------------------------------------------------
    print("\n== (a) mhclab.mix_batch('mhc', Z, 4)")
    mhclab.mix_batch("mhc", Z[:1000], n)  # warm: the library, the Method cache
    t_all, runs_all, H = best_of(a.repeat, lambda: mhclab.mix_batch("mhc", Z, n, threads=0))
    print(f"threads=0 ({cores}) runs: " + " ".join(f"{t:.4f}" for t in runs_all) + f" s; best {fmt_s(t_all)} "
          f"({a.count / t_all:.3g} projections/s)")
    t_one, runs_one, H1 = best_of(a.repeat, lambda: mhclab.mix_batch("mhc", Z, n, threads=1))
    print(f"threads=1 runs: " + " ".join(f"{t:.4f}" for t in runs_one) + f" s; best {fmt_s(t_one)} "
          f"({a.count / t_one:.3g} projections/s)")
    if not np.array_equal(H, H1):
        print("threads: results differ between threads=0 and threads=1 (must be bitwise equal)")
        rc = 1
    del H1

    # ---- (b) the peers ----------------------------------------------------------------------------------------
    print("\n== (b) peers, batched over (B, 4, 4) float64")
    Zt = torch.from_numpy(Z)  # shares memory; read only
    with torch.no_grad():
        sinkhorn_torch(Zt[:1000])
        t_torch, runs_torch, Ht = best_of(a.peer_repeat, lambda: sinkhorn_torch(Zt, iters))
        print(f"torch (M = M / M.sum) runs: " + " ".join(f"{t:.3f}" for t in runs_torch) + f" s; best {fmt_s(t_torch)}")
        t_tin, runs_tin, Hti = best_of(a.peer_repeat, lambda: sinkhorn_torch_inplace(Zt, iters))
        print(f"torch in-place (M.div_) runs: " + " ".join(f"{t:.3f}" for t in runs_tin) + f" s; best {fmt_s(t_tin)}")
    t_np, runs_np, Hn = best_of(a.peer_repeat, lambda: sinkhorn_numpy(Z, iters))
    print(f"numpy runs: " + " ".join(f"{t:.3f}" for t in runs_np) + f" s; best {fmt_s(t_np)}")
    Ht, Hti = Ht.numpy(), Hti.numpy()
    d_mt = float(np.abs(H - Ht).max())
    d_mn = float(np.abs(H - Hn).max())
    d_tn = float(np.abs(Ht - Hn).max())
    d_ti = float(np.abs(H - Hti).max())
    rowerr = float(np.abs(H.sum(axis=2) - 1).max())
    print(f"agree: max|mhclab − torch| {d_mt:.3g}, max|mhclab − numpy| {d_mn:.3g}, max|torch − numpy| {d_tn:.3g}, "
          f"max|mhclab − torch in-place| {d_ti:.3g} (tol 1e-13); mhclab max row-sum error {rowerr:.3g}")
    agree = max(d_mt, d_mn, d_tn, d_ti)
    if not agree <= 1e-13:
        print("agree: FAILED")
        rc = 1
    del Ht, Hti, Hn, H

    # ---- (c) per call -----------------------------------------------------------------------------------------
    print("\n== (c) one call at n = 4 (per call, best of "
          f"{a.call_repeat} loops of {a.calls} calls; peers {a.peer_calls} calls)")
    z = np.ascontiguousarray(Z[0])
    m = mhclab.Method("mhc", n)
    null = mhclab.Method("resnet", n)
    null_theta = np.zeros(null.num_params)
    mhclab.mix("mhc", z, n)
    c_mix = per_call(lambda: mhclab.mix("mhc", z, n), a.calls, a.call_repeat)
    c_meth = per_call(lambda: m.mix(z), a.calls, a.call_repeat)
    c_null = per_call(lambda: null.mix(null_theta), a.calls, a.call_repeat)
    zs = np.ascontiguousarray(Z[:100000])
    t_scalar, _, Hs = best_of(a.call_repeat, lambda: m.mix_batch(zs, threads=1, exact=True))
    c_scalar = t_scalar / len(zs)
    if not np.array_equal(Hs[0], m.mix(z)):
        print("scalar: mix_batch(exact=True) differs from mix (must be bitwise equal)")
        rc = 1
    zt = torch.from_numpy(z.copy())
    with torch.no_grad():
        c_torch = per_call(lambda: sinkhorn_torch(zt, iters), a.peer_calls, a.call_repeat)
    c_np = per_call(lambda: sinkhorn_numpy(z, iters), a.peer_calls, a.call_repeat)
    print(f"mhclab.mix('mhc', z, 4): {fmt_us(c_mix)}")
    print(f"Method.mix(z) (pre-built Method): {fmt_us(c_meth)}")
    print(f"scalar Sinkhorn alone (Method.mix_batch(exact=True, threads=1) / matrix, B = {len(zs)}): {fmt_us(c_scalar)}")
    print(f"a call that computes nothing (Method('resnet', 4).mix, p = {null.num_params}): {fmt_us(c_null)}")
    print(f"call overhead (mix − scalar Sinkhorn): mhclab.mix {fmt_us(c_mix - c_scalar)}, "
          f"Method.mix {fmt_us(c_meth - c_scalar)}")
    print(f"torch, one 4×4 tensor: {fmt_us(c_torch)}; numpy, one 4×4 array: {fmt_us(c_np)}")
    print(f"one-matrix agreement: max|mix − torch| {float(np.abs(m.mix(z) - sinkhorn_torch(zt).numpy()).max()):.3g}")

    # ---- (d) autograd ------------------------------------------------------------------------------------------
    grad_rows = []
    if a.grad_count > 0:
        B = a.grad_count
        print(f"\n== (d) forward + backward, B {B}: loss = (H·W).sum(), W ~ N(0, 1); mhclab.torch.mix (threads 0) "
              f"vs torch autograd through the unrolled Sinkhorn")
        rng = np.random.default_rng(a.seed + 1)
        th0 = torch.from_numpy(np.ascontiguousarray(Z[:B]))
        W = torch.from_numpy(rng.standard_normal((B, n, n)))

        def run_mhclab():
            th = th0.clone().requires_grad_(True)
            (mtorch.mix("mhc", th, n) * W).sum().backward()
            return th.grad

        def run_torch():
            th = th0.clone().requires_grad_(True)
            (sinkhorn_torch(th, iters) * W).sum().backward()
            return th.grad

        run_mhclab()
        small = th0[:1000].clone().requires_grad_(True)
        (sinkhorn_torch(small, iters) * W[:1000]).sum().backward()  # warm autograd
        g_m, runs_gm, gm = best_of(a.grad_repeat, run_mhclab)
        g_t, runs_gt, gt = best_of(a.grad_repeat, run_torch)
        dg = float((gm - gt).abs().max())
        print("mhclab.torch.mix runs: " + " ".join(f"{t:.4f}" for t in runs_gm) + f" s; best {fmt_s(g_m)}")
        print("torch autograd runs: " + " ".join(f"{t:.3f}" for t in runs_gt) + f" s; best {fmt_s(g_t)}")
        print(f"agree: max|dθ(mhclab) − dθ(torch)| {dg:.3g} (tol 1e-12; max|dθ| {float(gt.abs().max()):.3g})")
        if not dg <= 1e-12:
            print("agree: FAILED")
            rc = 1
        grad_rows.append(f"| forward + backward, B = {B} (`mhclab.torch.mix` vs torch autograd) | {fmt_s(g_m)} | "
                         f"{fmt_s(g_t)} | — | {g_t / g_m:.3g}× | {dg:.2g} |")

    # ---- the README's table -----------------------------------------------------------------------------------
    bi = mhclab.build_info()
    print(f"\n== table (mhclab {bi['version']} {bi['commit']}, {bi['build_type']}, {bi['compiler']}, {bi['flags']}; "
          f"torch {torch.__version__}, numpy {np.__version__}; {cores} cores, {cpu_model()}; best of k: k = "
          f"{a.repeat} mhclab, {a.peer_repeat} peers, {a.grad_repeat} (d), {a.call_repeat} loops per call)")
    print()
    print(f"| B = {a.count} mhc projections, n = 4, t = 20 | mhclab | PyTorch | NumPy | PyTorch / mhclab | "
          f"max abs difference |")
    print("|---|---|---|---|---|---|")
    print(f"| `mhclab.mix_batch`, threads = all ({cores}); torch {torch.get_num_threads()} threads | {fmt_s(t_all)} | "
          f"{fmt_s(t_torch)} | {fmt_s(t_np)} | {t_torch / t_all:.3g}× (NumPy {t_np / t_all:.3g}×) | {agree:.2g} |")
    print(f"| `mhclab.mix_batch`, threads = 1 | {fmt_s(t_one)} | {fmt_s(t_torch)} | {fmt_s(t_np)} | "
          f"{t_torch / t_one:.3g}× (NumPy {t_np / t_one:.3g}×) | — |")
    print(f"| PyTorch with in-place `div_` (reference) | {fmt_s(t_all)} | {fmt_s(t_tin)} | — | {t_tin / t_all:.3g}× | "
          f"{d_ti:.2g} |")
    for row in grad_rows:
        print(row)
    print()
    print("| one call, n = 4 | time |")
    print("|---|---|")
    print(f"| `mhclab.mix('mhc', z, 4)` | {fmt_us(c_mix)} (overhead over the Sinkhorn itself: {fmt_us(c_mix - c_scalar)}) |")
    print(f"| `Method.mix(z)`, pre-built `mhclab.Method` | {fmt_us(c_meth)} (overhead {fmt_us(c_meth - c_scalar)}) |")
    print(f"| the scalar Sinkhorn alone (per matrix of `mix_batch(exact=True, threads=1)`) | {fmt_us(c_scalar)} |")
    print(f"| a call computing nothing (`Method('resnet', 4).mix`) | {fmt_us(c_null)} |")
    print(f"| PyTorch, one 4×4 tensor (20 iterations) | {fmt_us(c_torch)} ({c_torch / c_mix:.3g}× `mhclab.mix`) |")
    print(f"| NumPy, one 4×4 array (20 iterations) | {fmt_us(c_np)} ({c_np / c_mix:.3g}× `mhclab.mix`) |")
    print()
    ok20 = t_torch / t_all >= 20
    ok5 = c_mix <= 5e-6
    print(f"targets: batch ≥ 20× PyTorch: {'met' if ok20 else 'NOT met'} ({t_torch / t_all:.3g}×); "
          f"one mhclab.mix call ≤ 5 µs: {'met' if ok5 else 'NOT met'} ({fmt_us(c_mix)})")
    print(f"(whole script {time.perf_counter() - start:.0f} s)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
