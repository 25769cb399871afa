"""The Python package against the library's contract and the command line (MHCLAB_CLI: the mhclab binary of the
same build; CTest sets it). Tolerances are stated where a comparison is not bitwise."""
import os
import subprocess
import threading
import tracemalloc

import numpy as np
import pytest

import mhclab

CLI = os.environ.get("MHCLAB_CLI", "")
needs_cli = pytest.mark.skipif(not CLI, reason="MHCLAB_CLI (the mhclab binary of this build) is not set")

# One configuration per method (n where the method is defined); the parameters are drawn per test.
METHODS = {
    "resnet": 4, "hc": 4, "mhc": 4, "mhc-lite": 4, "kromhc": 4, "tbp": 4, "rtbp": 4, "tropical": 4, "go-mhc": 4,
    "circulant": 4, "cayley": 4, "shc": 4, "isohc": 4, "dsv4": 4,
}


def theta_for(method, n, seed=0, scale=0.5):
    m = mhclab.Method(method, n)
    rng = np.random.default_rng(seed)
    return m.init() + scale * rng.standard_normal(m.num_params)


def cli(*args, **kw):
    return subprocess.run([CLI, *map(str, args)], check=True, capture_output=True, text=True, **kw).stdout


def test_registry_and_build_info():
    assert mhclab.methods() == list(METHODS)
    info = mhclab.build_info()
    assert info["version"] == mhclab.__version__
    assert os.path.basename(info["python"]).startswith("python3")
    assert any(k == "tau" for k, _, _ in mhclab.options("method"))


@needs_cli
def test_version_and_commit_match_the_cli():
    text = cli("info")
    assert f"mhclab {mhclab.__version__}" in text
    assert f"commit: {mhclab.__commit__}" in text


@pytest.mark.parametrize("method", list(METHODS))
def test_mix_shapes_and_matrix_parameters(method):
    n = METHODS[method]
    m = mhclab.Method(method, n)
    theta = theta_for(method, n)
    H = mhclab.mix(method, theta, n)
    assert H.shape == (n, n) and H.dtype == np.float64 and H.flags.owndata
    assert np.isfinite(H).all()
    if m.exact_ds:  # margins to round-off: 1e-12 covers t = 20 Sinkhorn sweeps and the closed forms
        assert np.abs(H.sum(0) - 1).max() < 1e-12 and np.abs(H.sum(1) - 1).max() < 1e-12
        assert H.min() >= 0
    if m.param_shape is not None:  # the matrix PyTorch holds gives the same H as the flat vector
        assert np.array_equal(mhclab.mix(method, theta.reshape(m.param_shape), n), H)


@needs_cli
@pytest.mark.parametrize("method", list(METHODS))
def test_mix_is_bitwise_the_cli(method, tmp_path):
    n = METHODS[method]
    theta = theta_for(method, n, seed=3)
    np.save(tmp_path / "t.npy", theta)
    cli("mix", "--method", method, "--n", n, "--logits", tmp_path / "t.npy", "--out", tmp_path / "h.npy")
    assert np.array_equal(np.load(tmp_path / "h.npy"), mhclab.mix(method, theta, n))


@pytest.mark.parametrize("method", [m for m in METHODS if m != "tropical"])
def test_vjp_against_central_differences(method):
    # Central differences with step 1e-6 on O(1) maps: truncation O(h²) ≈ 1e-12, cancellation ≈ 1e-16/1e-6 = 1e-10;
    # 1e-6 relative to the gradient's scale leaves a wide margin for both.
    n = METHODS[method]
    theta = theta_for(method, n, seed=1)
    rng = np.random.default_rng(2)
    dH = rng.standard_normal((n, n))
    g = mhclab.vjp(method, theta, dH, n)
    h = 1e-6
    fd = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        fd[k] = np.sum(dH * (mhclab.mix(method, theta + e, n) - mhclab.mix(method, theta - e, n))) / (2 * h)
    assert g.shape == theta.shape
    assert np.abs(g - fd).max(initial=0.0) <= 1e-6 * max(1.0, np.abs(fd).max(initial=0.0))


def test_tropical_vjp_is_zero():
    theta = theta_for("tropical", 4)
    assert not mhclab.vjp("tropical", theta, np.ones((4, 4)), 4).any()


def test_mix_batch_kernel_exact_path_and_threads():
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((4099, 16))  # not a multiple of the kernel's 16-matrix blocks
    fast = mhclab.mix_batch("mhc", Z, 4, threads=1)
    assert np.array_equal(fast, mhclab.mix_batch("mhc", Z, 4, threads=2))  # thread count never changes a bit
    exact = mhclab.mix_batch("mhc", Z, 4, exact=True, threads=2)
    for b in (0, 17, 4098):
        assert np.array_equal(exact[b], mhclab.mix("mhc", Z[b], 4))
    # The SIMD kernel: ≤ 1 ulp per entry from the scalar path (mixing/sinkhorn_batch.hpp); 1e-14 absolute on entries ≤ 1.
    assert np.abs(fast - exact).max() <= 1e-14
    # Methods without a batched kernel go through mix() per matrix, over threads.
    T = np.stack([theta_for("cayley", 4, seed=s) for s in range(7)])
    Hc = mhclab.mix_batch("cayley", T, 4, threads=2)
    assert all(np.array_equal(Hc[b], mhclab.mix("cayley", T[b], 4)) for b in range(7))


def test_vjp_batch_matches_vjp():
    rng = np.random.default_rng(6)
    T = rng.standard_normal((9, 4, 4))
    G = rng.standard_normal((9, 4, 4))
    d = mhclab.vjp_batch("mhc", T, G, 4, threads=2)
    assert d.shape == T.shape
    for b in range(9):
        assert np.array_equal(d[b], mhclab.vjp("mhc", T[b], G[b], 4))


def test_float64_inputs_are_not_copied_other_dtypes_once():
    # tracemalloc sees NumPy's allocations: a float64 C-contiguous input adds nothing beyond the result, a float32
    # one is converted once (one float64 copy of the input).
    B = 200_000
    Z64 = np.random.default_rng(7).standard_normal((B, 16))
    out_bytes = B * 16 * 8
    for Z, extra in ((Z64, 0), (Z64.astype(np.float32), B * 16 * 8), (np.asfortranarray(Z64), B * 16 * 8)):
        tracemalloc.start()
        H = mhclab.mix_batch("mhc", Z, 4)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert H.nbytes == out_bytes
        assert out_bytes + extra <= peak <= out_bytes + extra + 64 * 1024, (Z.dtype, peak)


def test_gil_is_released():
    # Another Python thread runs while a long mix_batch computes: it would be blocked if the GIL were held.
    Z = np.random.default_rng(8).standard_normal((400_000, 16))
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        mhclab.mix_batch("mhc", Z, 4, threads=1, iters=200)
    finally:
        done.set()
        t.join()
    assert len(ticks) > 5


def test_errors_carry_the_library_message():
    with pytest.raises(ValueError, match=r"theta: shape \(3,\); expected \(16,\) or \(4, 4\)"):
        mhclab.mix("mhc", np.zeros(3), 4)
    with pytest.raises(ValueError, match="unknown option 'tua'"):
        mhclab.mix("mhc", np.zeros(16), 4, tua=1.0)
    with pytest.raises(ValueError, match="unknown method 'nope'|method = 'nope'"):
        mhclab.mix("nope", np.zeros(16), 4)
    with pytest.raises(ValueError, match="tau"):
        mhclab.mix("mhc", np.zeros(16), 4, tau=-1.0)
    with pytest.raises(ValueError, match="parameter 0 is not finite"):
        mhclab.mix("mhc", np.full(16, np.nan), 4)
    with pytest.raises(ValueError, match=r"dH: shape \(3, 3\)"):
        mhclab.vjp("mhc", np.zeros(16), np.zeros((3, 3)), 4)
    with pytest.raises(ValueError, match="threads"):
        mhclab.mix_batch("mhc", np.zeros((2, 16)), 4, threads=-1)
    # exp-domain Sinkhorn whose logits spread beyond exp's range: a numerical issue, never a number.
    Z = np.zeros((4, 4))
    Z[0, 0] = 1e4
    with pytest.raises(mhclab.ComputeError, match="numerical_issue"):
        mhclab.mix("mhc", Z, 4)
    with pytest.raises(mhclab.ComputeError, match=r"thetas\[1\]"):
        mhclab.mix_batch("mhc", np.stack([np.zeros((4, 4)), Z]), 4)
    assert issubclass(mhclab.ComputeError, RuntimeError)


def test_method_object_and_inverse_chart():
    m = mhclab.Method("mhc", 4, tau=0.5, iters=30)
    assert (m.name, m.n, m.num_params, m.param_shape, m.has_inverse) == ("mhc", 4, 16, (4, 4), True)
    theta = m.init(eps=0.1)
    H = m.mix(theta)
    assert np.allclose(H, 0.9 * np.eye(4) + 0.1 / 4, atol=1e-12)  # identity init: H0 = (1-ε)I + εJ/n
    T = m.mix(np.random.default_rng(9).standard_normal(16))
    back = m.inverse(T)
    # The chart's preimage of T reproduces it up to T's own distance from the Birkhoff polytope (30 sweeps leave
    # marginal errors of order 1e-9 at τ = 0.5; the chart's image is exactly doubly stochastic).
    marg = max(np.abs(T.sum(0) - 1).max(), np.abs(T.sum(1) - 1).max())
    assert back is not None and np.abs(m.mix(back) - T).max() <= 10 * marg + 1e-14
    assert mhclab.Method("shc", 4).inverse(np.eye(4)) is None
    assert "Method(method, n" in mhclab.Method.__doc__


def _csv_columns(text):
    lines = text.strip().split("\n")
    header = lines[0].split(",")
    cells = [line.split(",") for line in lines[1:]]
    return {h: [c[i] for c in cells] for i, h in enumerate(header)}


def _same(column, cells):
    for v, c in zip(column, cells):
        if c == "":
            assert v != v or v is None or v == ""
        elif isinstance(v, (str, np.str_)):
            assert v == c
        elif isinstance(v, (bool, np.bool_)):
            assert ("true" if v else "false") == c
        else:
            assert float(v) == float(c), (v, c)  # bitwise: %.17g round-trips


@needs_cli
def test_analyze_matches_the_cli(tmp_path):
    rng = np.random.default_rng(10)
    stack = mhclab.mix_batch("mhc", rng.standard_normal((12, 16)), 4, exact=True)
    np.save(tmp_path / "s.npy", stack)
    t = mhclab.analyze(stack, lyapunov=True)
    text = cli("analyze", "--input", tmp_path / "s.npy", "--lyapunov")
    ref = _csv_columns(text)
    assert list(t) == list(ref)
    for name in ref:
        _same(t[name], ref[name])
    assert t.rows == 36 and set(t["kind"]) == {"layer", "prefix", "suffix"}
    # The same from the file, and a from_to stack transposed on read.
    f = mhclab.analyze(input=str(tmp_path / "s.npy"), metrics=["fwd_gain", "sigma_max"])
    assert np.array_equal(f["sigma_max"], t["sigma_max"])
    tr = mhclab.analyze(np.ascontiguousarray(stack.transpose(0, 2, 1)), layout="from_to", metrics=["sigma_max"])
    assert np.array_equal(tr["sigma_max"], t["sigma_max"])


def test_analyze_parameters_tokens_and_extra_outputs():
    rng = np.random.default_rng(11)
    P = rng.standard_normal((6, 16))
    t = mhclab.analyze(P, input_kind="params", method="mhc", n=4, kinds=["prefix"])
    H = np.stack([mhclab.mix("mhc", p, 4) for p in P])
    assert np.array_equal(mhclab.analyze(H, kinds=["prefix"])["fwd_gain"], t["fwd_gain"])
    assert "status" in t and set(t.where(kind="prefix")["kind"]) == {"prefix"}
    per_token = np.stack([H, H[::-1]])
    m = mhclab.analyze(per_token, token_average="metric", metrics=["fwd_gain"])
    assert list(m)[:3] == ["stat", "depth", "kind"] and set(m["stat"]) == {"mean", "q05", "median", "q95"}
    e = mhclab.analyze(H, eigenvalues=True, metrics=["sigma_max"])
    ev = e.extra["eigenvalues"]
    assert {"depth", "kind", "index", "re", "im", "abs"} <= set(ev)
    with pytest.raises(ValueError, match=r"stack: shape \(6, 16\); expected \(layer, n, n\)"):
        mhclab.analyze(P)


def test_gains_beyond_the_double_range_keep_their_log():
    # H = 2·I per layer: the prefix gain after 1100 layers is 2^1100 > DBL_MAX; log10 = 1100·log10 2.
    stack = np.stack([2.0 * np.eye(2)] * 1100)
    t = mhclab.analyze(stack, kinds=["prefix"], metrics=["sigma_max", "log10_sigma_max"])
    last = t.rows - 1
    assert np.isinf(t["sigma_max"][last])
    assert t.log10_abs["sigma_max"][last] == pytest.approx(1100 * np.log10(2.0), rel=1e-13)
    assert t["log10_sigma_max"][last] == pytest.approx(1100 * np.log10(2.0), rel=1e-13)


@needs_cli
def test_depth_matches_the_cli_and_engines(tmp_path):
    kw = dict(method="mhc", n=4, layers=16, seeds=5, metrics=["fwd_gain", "sigma_max"])
    d = mhclab.depth(**kw)
    assert d.extra["engine"] == "stream"
    ref = _csv_columns(cli("depth", "--method", "mhc", "--n", 4, "--layers", 16, "--seeds", 5,
                           "--metrics", "fwd_gain,sigma_max"))
    for name in ref:
        _same(d[name], ref[name])
    assert d["seed"].dtype == np.uint64 and d["depth"].dtype == np.int64
    dense = mhclab.depth(engine="dense", **kw)
    # The engines agree to round-off (kinds/depth.hpp: 1e-12 relative).
    assert np.allclose(dense["sigma_max"], d["sigma_max"], rtol=1e-12, atol=0)
    agg = mhclab.depth(aggregate=True, **kw)
    assert {"metric", "mean", "ci95_lo"} <= set(agg)


def test_kinds_return_typed_tables():
    p = mhclab.propagate(method="mhc", n=4, layers=6, seeds=2)
    assert p.rows > 0 and all(isinstance(v, np.ndarray) for v in p.values())
    f = mhclab.fit(method="mhc", n=3, seeds=2, fit_steps=20)
    assert f.rows == 2 and "seed" in f
    s = mhclab.mix_stats(method="mhc", n=4, seeds=3)
    assert s.rows == 3 and s["seed"].tolist() == [0, 1, 2] and (s["row_err"] < 1e-12).all()
    tr = mhclab.train(method="mhc", n=4, steps=4, layers=2)
    assert tr.rows > 0 and np.isfinite(tr["loss"]).all()


def test_propagate_dsv4_block_matches_cli():
    # The dynamic DeepSeek-V4 block (gate_mode="dsv4"): the same numbers as the CLI, and gates that move with the state.
    kw = dict(method="dsv4", n=4, layers=5, width=6, gate_mode="dsv4", dsv4_alpha=0.5, jacobian_topk=2)
    p = mhclab.propagate(**kw)
    ref = _csv_columns(cli("propagate", "--method", "dsv4", "--n", 4, "--layers", 5, "--width", 6, "--gate-mode", "dsv4",
                           "--dsv4-alpha", 0.5, "--jacobian-topk", 2))
    for name in ("energy", "grad_norm", "pre_1", "post_4"):
        _same(p[name], ref[name])
    static = mhclab.propagate(**{**kw, "gate_mode": "static"})
    assert not np.array_equal(static["energy"], p["energy"])
    with pytest.raises(ValueError, match="use method dsv4"):
        mhclab.propagate(**{**kw, "method": "mhc"})


def test_read_stack_round_trip(tmp_path):
    rng = np.random.default_rng(12)
    A = rng.standard_normal((3, 4, 4))
    np.save(tmp_path / "a.npy", A)
    assert np.array_equal(mhclab.read_stack(str(tmp_path / "a.npy")), A)
    assert np.array_equal(mhclab.read_stack(str(tmp_path / "a.npy"), layout="from_to"), A.transpose(0, 2, 1))
    with pytest.raises(ValueError, match="nope.npy"):
        mhclab.read_stack(str(tmp_path / "nope.npy"))


@needs_cli
def test_run_is_byte_identical_to_the_cli(tmp_path):
    exp = tmp_path / "e.toml"
    exp.write_text('[experiment]\nname = "py"\nkind = "depth"\nseed = 1\n[base]\nmethod = "mhc"\nn = 4\n'
                   'layers = 8\nseeds = 3\n[grid]\ntau = [0.5, 1.0]\n')
    s = mhclab.run(str(exp), str(tmp_path / "py"), threads=2)
    assert s["points"] == 2 and s["ran"] == 2
    cli("run", exp, "--out", tmp_path / "cli", "--threads", 1, "--quiet")
    for f in ("rows.csv", "aggregates.csv"):
        assert (tmp_path / "py" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes()
