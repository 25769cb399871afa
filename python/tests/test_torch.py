"""Tests of mhclab.torch: the autograd bridge, the Mixing module, the reference block and H_res recording."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="mhclab.torch needs PyTorch, which is not importable here")

import mhclab  # noqa: E402
import mhclab.torch as mt  # noqa: E402
from torch import nn  # noqa: E402
from torch.autograd import gradcheck  # noqa: E402

F = torch.nn.functional

# (method, n, options) for gradcheck: every method, plus the variants with their own backward code.
GRAD_CASES = [
    ("resnet", 4, {}),
    ("hc", 4, {}),
    ("mhc", 4, {}),
    ("mhc", 4, {"tau": 0.5, "iters": 7, "order": "col_then_row"}),
    ("mhc", 4, {"domain": "log", "tau": 0.7}),
    ("mhc", 4, {"projection": "newton"}),
    ("mhc", 3, {"lazy": 0.7, "minorize": 0.1}),
    ("mhc-lite", 4, {}),
    ("kromhc", 4, {}),
    ("kromhc", 6, {}),
    ("tbp", 4, {}),
    ("rtbp", 5, {}),
    ("tropical", 4, {}),
    ("go-mhc", 3, {}),
    ("go-mhc", 3, {"go_s": 1}),
    ("circulant", 4, {"gamma": 0.6}),
    ("cayley", 4, {}),
    ("cayley", 4, {"cayley_steps": 2}),
    ("shc", 4, {}),
    ("isohc", 4, {}),
    ("dsv4", 4, {}),
]


def _theta(method, n, options, lead=(), scale=0.5, seed=0, dtype=torch.float64):
    spec = mhclab.Method(method, n, **options)
    shape = tuple(spec.param_shape) if spec.param_shape is not None else (spec.num_params,)
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(*lead, *shape, generator=g, dtype=torch.float64)).to(dtype)


def _case_id(case):
    method, n, options = case
    return f"{method}-n{n}" + "".join(f"-{k}={v}" for k, v in options.items())


# --------------------------------------------------------------------------------------------------
# mix: values, gradients, dtypes, shapes
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", GRAD_CASES, ids=_case_id)
def test_gradcheck_every_method(case):
    # tropical is piecewise constant: at a random θ (no tie in the assignment) a step of 1e-6 does
    # not change the permutation, so the finite-difference Jacobian is 0 and so is the library's VJP.
    method, n, options = case
    theta = _theta(method, n, options, lead=(2,)).requires_grad_(True)
    assert gradcheck(lambda t: mt.mix(method, t, n, **options), (theta,), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("case", GRAD_CASES, ids=_case_id)
def test_forward_matches_library(case):
    method, n, options = case
    theta = _theta(method, n, options)
    H = mt.mix(method, theta, n, **options)
    assert H.shape == (n, n) and H.dtype == torch.float64
    np.testing.assert_allclose(H.numpy(), mhclab.mix(method, theta.numpy(), n, **options), rtol=0, atol=1e-14)


def test_gradient_matches_library_vjp():
    theta = _theta("mhc", 4, {}, scale=1.0).requires_grad_(True)
    dH = torch.randn(4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    (mt.mix("mhc", theta, 4) * dH).sum().backward()
    np.testing.assert_allclose(theta.grad.numpy(), mhclab.vjp("mhc", theta.detach().numpy(), dH.numpy(), 4),
                               rtol=1e-12, atol=1e-15)


def test_float32_computes_in_float64_and_returns_float32():
    theta64 = _theta("tbp", 5, {}, lead=(3,)).requires_grad_(True)
    theta32 = theta64.detach().float().requires_grad_(True)
    H32, H64 = mt.mix("tbp", theta32, 5), mt.mix("tbp", theta64, 5)
    assert H32.dtype == torch.float32
    np.testing.assert_allclose(H32.detach().numpy(), H64.detach().numpy(), rtol=0, atol=1e-6)
    w = torch.randn(3, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    (H32 * w.float()).sum().backward()
    (H64 * w).sum().backward()
    assert theta32.grad.dtype == torch.float32
    np.testing.assert_allclose(theta32.grad.numpy(), theta64.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_batched_leading_dims_match_single_calls():
    theta = _theta("mhc", 4, {"tau": 0.5}, lead=(2, 3), scale=1.0).requires_grad_(True)
    H = mt.mix("mhc", theta, 4, tau=0.5)
    assert H.shape == (2, 3, 4, 4)
    w = torch.randn(2, 3, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    (H * w).sum().backward()
    for a in range(2):
        for b in range(3):
            t = theta[a, b].detach().numpy()
            np.testing.assert_allclose(H[a, b].detach().numpy(), mhclab.mix("mhc", t, 4, tau=0.5), atol=1e-14)
            np.testing.assert_allclose(theta.grad[a, b].numpy(), mhclab.vjp("mhc", t, w[a, b].numpy(), 4, tau=0.5),
                                       rtol=1e-10, atol=1e-14)


def test_matrix_methods_take_flat_or_matrix_parameters():
    theta = _theta("mhc", 4, {}, lead=(5,)).requires_grad_(True)
    flat = theta.detach().reshape(5, 16).requires_grad_(True)
    H, Hf = mt.mix("mhc", theta, 4), mt.mix("mhc", flat, 4)
    np.testing.assert_array_equal(H.detach().numpy(), Hf.detach().numpy())
    Hf.sum().backward()
    assert flat.grad.shape == (5, 16)


def test_vector_methods_and_empty_batch():
    theta = _theta("circulant", 4, {}, lead=(2, 0, 1))
    assert mt.mix("circulant", theta, 4).shape == (2, 0, 1, 4, 4)
    H = mt.mix("resnet", torch.zeros(3, 0, dtype=torch.float64, requires_grad=True), 4)
    np.testing.assert_array_equal(H.detach().numpy(), np.broadcast_to(np.eye(4), (3, 4, 4)))


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        mt.mix("mhc", torch.zeros(3, 3, dtype=torch.float64), 4)
    with pytest.raises(ValueError):
        mt.mix("no-such-method", torch.zeros(4, 4, dtype=torch.float64), 4)
    with pytest.raises(TypeError):
        mt.mix("mhc", torch.zeros(4, 4, dtype=torch.int64), 4)
    with pytest.raises(ValueError):
        mt.mix("mhc", torch.full((4, 4), float("nan"), dtype=torch.float64), 4)


def test_mixing_module_identity_init_and_training_step():
    m = mt.Mixing("mhc", 4, init="identity", init_eps=0.01)
    H0 = m().detach().numpy()
    np.testing.assert_allclose(H0, 0.99 * np.eye(4) + 0.01 / 4, atol=1e-6)
    target = torch.tensor(np.roll(np.eye(4), 1, axis=1))
    opt = torch.optim.Adam(m.parameters(), lr=0.3)
    loss0 = None
    for _ in range(20):
        opt.zero_grad()
        loss = ((m() - target) ** 2).sum()
        loss.backward()
        opt.step()
        loss0 = loss0 if loss0 is not None else loss.item()
    assert loss.item() < 0.5 * loss0
    explicit = mt.Mixing("cayley", 4, init=np.zeros((4, 4)), alpha=0.5)
    np.testing.assert_allclose(explicit().detach().numpy(), np.eye(4), atol=1e-15)
    assert "cayley" in repr(explicit)


# --------------------------------------------------------------------------------------------------
# Module look-alikes for recording
# --------------------------------------------------------------------------------------------------

class LucidRMSNorm(nn.Module):
    """RMS norm with the same formula as lucidrains' (unit-normalise, times √d, times (γ + 1))."""

    def __init__(self, dim):
        super().__init__()
        self.scale = dim ** 0.5
        self.gamma = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return F.normalize(x, dim=-1) * self.scale * (self.gamma + 1)


class LucidLikeHC(nn.Module):
    """A minimal look-alike of lucidrains/hyper-connections' modules (num_fracs = 1, one input view), with
    their parameter names and layout: static_alpha (s, 1 + s) stored [from, to] with column 0 the branch
    input, dynamic alpha/beta, written from the description in mhclab.torch._lucidrains_h_res.
    style 'hc': HyperConnections ('(b s) ... d' residual batch, tanh); 'mhc': ManifoldConstrained-
    HyperConnections (Sinkhorn on the residual block, proposals axis); 'mhc_v2': mHCv2's version
    (streams explicit '... s d', optionally a 1x1 stream-mixing convolution before the norm)."""

    def __init__(self, streams, dim, branch, layer_index=0, style="hc", mix_before_norm=False):
        super().__init__()
        s = self.num_residual_streams = streams
        self.branch, self.style = branch, style
        self.norm = LucidRMSNorm(dim)
        init = torch.zeros(s, 1)
        init[layer_index % s] = 1.0
        self.static_alpha = nn.Parameter(torch.cat([init, torch.eye(s)], dim=1))
        self.static_beta = nn.Parameter(torch.ones(s))
        self.dynamic_beta_fn = nn.Parameter(torch.zeros(dim))
        if style == "hc":
            self.act = nn.Tanh()
            self.dynamic_alpha_fn = nn.Parameter(torch.zeros(dim, s + 1))
            self.dynamic_alpha_scale = nn.Parameter(torch.ones(()) * 1e-2)
            self.dynamic_beta_scale = nn.Parameter(torch.ones(()) * 1e-2)
        else:
            self.dynamic_alpha_fn = nn.Parameter(torch.zeros(1, dim, s + 1))
            self.pre_branch_scale = nn.Parameter(torch.ones(1) * 1e-2)
            self.residual_scale = nn.Parameter(torch.ones(1) * 1e-2)
            self.h_post_scale = nn.Parameter(torch.ones(()) * 1e-2)
            self.residual_transform = nn.Identity()
            self.residual_mix_constraint_fn = self._sinkhorn
        if style == "mhc_v2":
            self.maybe_mix_streams = nn.Conv2d(s, s, 1, bias=False) if mix_before_norm else None

    @staticmethod
    def _sinkhorn(logits, iters=20):
        a = (logits - logits.amax(dim=-2, keepdim=True)).exp()
        for _ in range(iters):
            a = a / a.sum(-2, keepdim=True)
            a = a / a.sum(-1, keepdim=True)
        return a

    def streams(self, residuals):
        """(b, ..., s, d) streams of the module's residual input."""
        if self.style == "mhc_v2":
            return residuals
        s = self.num_residual_streams
        return residuals.reshape(residuals.shape[0] // s, s, *residuals.shape[1:]).movedim(1, -2)

    def width_connection(self, residuals):
        s = self.num_residual_streams
        x = self.streams(residuals)
        norm_input = x
        if getattr(self, "maybe_mix_streams", None) is not None:
            norm_input = self.maybe_mix_streams(x.reshape(-1, s, 1, x.shape[-1])).reshape(x.shape)
        normed = self.norm(norm_input)
        if self.style == "hc":
            alpha = self.static_alpha + self.act(normed @ self.dynamic_alpha_fn) * self.dynamic_alpha_scale
            beta = self.static_beta + self.act(normed @ self.dynamic_beta_fn) * self.dynamic_beta_scale
        else:
            dyn = torch.einsum("...d,pde->p...e", normed, self.dynamic_alpha_fn)
            alpha = dyn * torch.cat([self.pre_branch_scale, self.residual_scale.expand(s)]) + self.static_alpha
            alpha = torch.cat([alpha[..., :1].sigmoid(), self.residual_mix_constraint_fn(alpha[..., 1:])], -1).mean(0)
            beta = 2 * (self.static_beta + (normed @ self.dynamic_beta_fn) * self.h_post_scale).sigmoid()
        mixed = torch.einsum("...st,...sd->...td", alpha, x)  # sums over the FROM index s
        return mixed[..., 0, :], mixed[..., 1:, :], beta

    def forward(self, residuals):
        branch_input, res, beta = self.width_connection(residuals)
        out = res + beta[..., None] * self.branch(branch_input).unsqueeze(-2)  # (b, ..., s, d)
        return out if self.style == "mhc_v2" else out.movedim(-2, 1).reshape(residuals.shape)


def dsv4_split_sinkhorn(mixes, scale, base, n, iters, eps):
    """DeepSeek-V4's deployed gates and comb (SPEC_NOTES, 'Sinkhorn as deployed'); comb is [from, to]."""
    pre = torch.sigmoid(scale[0] * mixes[..., :n] + base[:n]) + eps
    post = 2 * torch.sigmoid(scale[1] * mixes[..., n:2 * n] + base[n:2 * n])
    L = (scale[2] * mixes[..., 2 * n:] + base[2 * n:]).unflatten(-1, (n, n))
    comb = torch.softmax(L, dim=-1) + eps
    comb = comb / (comb.sum(-2, keepdim=True) + eps)
    for _ in range(iters - 1):
        comb = comb / (comb.sum(-1, keepdim=True) + eps)
        comb = comb / (comb.sum(-2, keepdim=True) + eps)
    return pre, post, comb, L


class DSV4LikeBlock(nn.Module):
    """A DeepSeek-V4-style block: flat float32 hc_{attn,ffn}_{fn,base,scale} per site, hc_pre/hc_post,
    residual streams x of shape (B, S, n, C). Two branches (stand-ins for attention and the FFN)."""

    def __init__(self, n, dim, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        m = (2 + n) * n
        self.hc_mult, self.hc_sinkhorn_iters, self.hc_eps, self.norm_eps = n, 20, 1e-6, 1e-6
        for site in ("attn", "ffn"):
            setattr(self, f"hc_{site}_fn", nn.Parameter(0.5 * torch.randn(m, n * dim, generator=g)))
            setattr(self, f"hc_{site}_base", nn.Parameter(torch.randn(m, generator=g)))
            setattr(self, f"hc_{site}_scale", nn.Parameter(torch.tensor([1.0, 1.0, 2.0])))
        self.attn = nn.Linear(dim, dim)
        self.ffn = nn.Linear(dim, dim)

    def mixes(self, x, hc_fn):
        v = x.flatten(-2).float()
        r = torch.rsqrt(v.square().mean(-1, keepdim=True) + self.norm_eps)
        return F.linear(v, hc_fn) * r

    def hc_pre(self, x, hc_fn, hc_scale, hc_base):
        pre, post, comb, _ = dsv4_split_sinkhorn(self.mixes(x, hc_fn), hc_scale, hc_base, self.hc_mult,
                                                 self.hc_sinkhorn_iters, self.hc_eps)
        y = torch.sum(pre.unsqueeze(-1) * x, dim=-2)
        return y, post, comb

    def hc_post(self, f, residual, post, comb):
        # X⁺[k] = post_k F + Σ_j comb[j, k] X[j]
        return post.unsqueeze(-1) * f.unsqueeze(-2) + torch.sum(comb.unsqueeze(-1) * residual.unsqueeze(-2), dim=-3)

    def forward(self, x):
        residual = x
        y, post, comb = self.hc_pre(x, self.hc_attn_fn, self.hc_attn_scale, self.hc_attn_base)
        x = self.hc_post(self.attn(y), residual, post, comb)
        residual = x
        y, post, comb = self.hc_pre(x, self.hc_ffn_fn, self.hc_ffn_scale, self.hc_ffn_base)
        return self.hc_post(self.ffn(y), residual, post, comb)


def _zero_(linear):
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.zero_()


def _assert_nonsymmetric(stack):
    asym = np.abs(stack - np.swapaxes(stack, -1, -2)).reshape(-1, stack.shape[-1] ** 2).max(axis=1)
    assert asym.min() > 1e-3, "the test needs non-symmetric H to catch orientation mistakes"


def _assert_gains_finite(table):
    # The max gains are always defined; min gains of a stack with negative entries may be undefined (NaN).
    for k in ("fwd_gain", "bwd_gain"):
        assert k in table and table.rows > 0, f"no {k} column in {list(table)}"
        assert np.all(np.isfinite(table[k])) and np.all(table[k] > 0), k


# --------------------------------------------------------------------------------------------------
# record: the three module styles
# --------------------------------------------------------------------------------------------------

def test_record_reference_blocks_reproduce_the_stream_update():
    torch.manual_seed(0)
    n, dim, layers = 4, 6, 3
    model = nn.Sequential(*[mt.ReferenceBlock(dim, n, "mhc", layer_index=l, tau=0.5) for l in range(layers)])
    for block in model:
        with torch.no_grad():
            block.mixing.theta.normal_()          # a non-symmetric H_res
        _zero_(block.branch[-1])                  # F = 0, so each block computes X⁺ = H X exactly
    x = torch.randn(2, 5, n, dim)
    with mt.record(model) as rec:
        out = model(x)
    assert rec.names == ["0", "1", "2"] and rec.sites == [(str(l), "protocol") for l in range(layers)]
    stack = rec.stack()
    assert stack.shape == (layers, n, n) and stack.dtype == np.float64
    _assert_nonsymmetric(stack)
    expect = x.double().numpy()
    for H in stack:
        expect = np.einsum("ij,...jd->...id", H, expect)
    np.testing.assert_allclose(out.detach().numpy(), expect, rtol=1e-5, atol=1e-5)
    for block, H in zip(model, stack):
        np.testing.assert_array_equal(H, block.h_res().detach().numpy())


def test_reference_block_full_update():
    torch.manual_seed(1)
    block = mt.ReferenceBlock(5, 3, "tbp", layer_index=1)
    with torch.no_grad():
        block.mixing.theta.normal_()
    x = torch.randn(4, 3, 5)
    pre, post = torch.sigmoid(block.pre_logits), 2 * torch.sigmoid(block.post_logits)
    f = block.branch((pre[:, None] * x).sum(-2))
    expect = torch.einsum("ij,bjd->bid", block.h_res().float(), x) + post[:, None] * f[:, None, :]
    torch.testing.assert_close(block(x), expect)
    with pytest.raises(ValueError):
        block(torch.randn(4, 5, 3))


@pytest.mark.parametrize("style", ["hc", "mhc", "mhc_v2", "mhc_v2_mix"])
def test_record_lucidrains_style_per_token(style):
    torch.manual_seed(2)
    s, dim, b, seq = 4, 8, 2, 3
    model = nn.Sequential(*[LucidLikeHC(s, dim, nn.Linear(dim, dim), layer_index=l, style=style.replace("_mix", ""),
                                        mix_before_norm=style.endswith("_mix")) for l in range(2)])
    for hc in model:
        with torch.no_grad():
            hc.static_alpha.add_(torch.randn(s, s + 1))     # non-symmetric static part
            hc.dynamic_alpha_fn.normal_()                   # and a per-token part
            getattr(hc, "dynamic_alpha_scale", getattr(hc, "residual_scale", None)).fill_(0.5)
            if getattr(hc, "maybe_mix_streams", None) is not None:
                hc.maybe_mix_streams.weight.normal_()
        _zero_(hc.branch)                                   # F = 0: each module computes X⁺ = H X per token
    if style.startswith("mhc_v2"):
        x = torch.randn(b, seq, s, dim)                     # streams explicit
        to_tokens = lambda t: t.reshape(b * seq, s, dim)  # noqa: E731
    else:
        x = torch.randn(b * s, seq, dim)                    # the '(b s) ... d' residual batch
        to_tokens = lambda t: t.reshape(b, s, seq, dim).permute(0, 2, 1, 3).reshape(b * seq, s, dim)  # noqa: E731
    with mt.record(model) as rec:
        out = model(x)
    assert [site_style for _, site_style in rec.sites] == ["lucidrains", "lucidrains"]
    assert "width_connection" not in model[0].__dict__      # the wrapper is removed on exit
    stack = rec.stack()
    assert stack.shape == (b * seq, 2, s, s)
    _assert_nonsymmetric(stack)
    assert np.abs(stack[0] - stack[1]).max() > 1e-3         # really per token
    streams = to_tokens(x).double().numpy()
    for layer in range(2):
        streams = np.einsum("tij,tjd->tid", stack[:, layer], streams)
    np.testing.assert_allclose(to_tokens(out.detach()).numpy(), streams, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError):
        rec.stack(per_token=False)
    _assert_gains_finite(mhclab.analyze(stack, token_average="metric"))


class DSV4LikeModel(nn.Module):
    """Blocks under ``layers.{l}``, as the deployed model names them."""

    def __init__(self, n, dim, blocks):
        super().__init__()
        self.layers = nn.ModuleList(DSV4LikeBlock(n, dim, seed=10 + l) for l in range(blocks))

    def forward(self, x):
        for block in self.layers:
            x = block(x)
        return x


def test_record_dsv4_style_per_token_and_library_crosscheck():
    torch.manual_seed(3)
    n, dim, B, S = 4, 8, 2, 5
    model = DSV4LikeModel(n, dim, blocks=2)
    for block in model.layers:
        _zero_(block.attn)
        _zero_(block.ffn)
    x = torch.randn(B, S, n, dim)
    with mt.record(model) as rec:
        out = model(x)
    assert rec.names == ["layers.0.hc_attn", "layers.0.hc_ffn", "layers.1.hc_attn", "layers.1.hc_ffn"]
    stack = rec.stack()
    assert stack.shape == (B * S, 4, n, n)
    _assert_nonsymmetric(stack)
    # With zero branches each site is X⁺ = H X per token, so the recorded product reproduces the output.
    streams = x.reshape(B * S, n, dim).double().numpy()
    inputs = []
    for layer in range(4):
        inputs.append(streams)
        streams = np.einsum("tij,tjd->tid", stack[:, layer], streams)
    np.testing.assert_allclose(out.detach().reshape(B * S, n, dim).numpy(), streams, rtol=1e-4, atol=1e-5)
    # The library's dsv4 (comb logits [from, to] -> comb transposed) gives the same H from the same logits,
    # computed here in float64 from the site's parameters and its recorded input.
    for layer, (block, site) in enumerate([(b, s) for b in model.layers for s in ("attn", "ffn")]):
        fn, scale, base = (getattr(block, f"hc_{site}_{k}").detach().double() for k in ("fn", "scale", "base"))
        v = torch.from_numpy(inputs[layer]).flatten(-2)
        mixes = (v @ fn.T) * torch.rsqrt(v.square().mean(-1, keepdim=True) + 1e-6)
        *_, L = dsv4_split_sinkhorn(mixes, scale, base, n, 20, 1e-6)
        H = mhclab.mix_batch("dsv4", L.numpy(), n)
        np.testing.assert_allclose(stack[:, layer], H, rtol=0, atol=1e-4)
    rows = stack.sum(-1)
    assert np.all(np.abs(rows - 1) < 1e-4)                  # rows of H = columns of comb, exact up to ε
    _assert_gains_finite(rec.analyze(token_average="metric"))
    _assert_gains_finite(mhclab.analyze(stack, token_average="matrix"))


def test_recorder_passes_names_and_restores_methods():
    block = DSV4LikeBlock(3, 4, seed=0)
    rec = mt.record(block)
    with rec:
        block(torch.randn(1, 2, 3, 4))
        block(torch.randn(1, 7, 3, 4))
    assert "hc_pre" not in block.__dict__
    assert rec.num_forwards == 2 and rec.names == ["hc_attn", "hc_ffn"]
    assert rec.stack(forward=0).shape == (2, 2, 3, 3) and rec.stack().shape == (7, 2, 3, 3)
    block(torch.randn(1, 2, 3, 4))                          # after exit nothing is recorded
    assert rec.num_forwards == 2
    rec.clear()
    with pytest.raises(RuntimeError):
        rec.stack()
    with pytest.raises(ValueError):
        with mt.record(nn.Linear(2, 2)):
            pass


def test_reference_lm_trains_and_records_a_stack_for_analyze():
    torch.manual_seed(4)
    text = "the quick brown fox jumps over the lazy dog " * 8
    vocab = sorted(set(text))
    ids = torch.tensor([vocab.index(c) for c in text])
    ctx = 4
    xs = torch.stack([ids[i:i + ctx] for i in range(len(ids) - ctx)])
    ys = ids[ctx:]
    model = mt.ReferenceLM(len(vocab), dim=16, n=4, layers=8, context=ctx, method="mhc")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(model(xs), ys)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    assert all(b.mixing.theta.grad is not None and torch.isfinite(b.mixing.theta.grad).all() for b in model.blocks)
    with mt.record(model) as rec:
        model(xs[:3])
    assert rec.names == [f"blocks.{l}" for l in range(8)]
    stack = rec.stack()
    assert stack.shape == (8, 4, 4)
    assert rec.stack(per_token=True).shape == (1, 8, 4, 4)
    table = mhclab.analyze(stack)
    _assert_gains_finite(table)
