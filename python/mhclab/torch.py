"""PyTorch bridge for mhclab: differentiable mixing matrices and H_res recording.

Everything here follows mhclab's paper orientation: ``H[i, j]`` is the weight from stream j into
stream i, and a layer computes ``X_{l+1} = H X_l + branch`` with X of shape (n, C).

* :func:`mix` / :class:`MixFunction` -- the library's forward (``mhclab.mix_batch``) and exact
  vector-Jacobian product (``mhclab.vjp_batch``) as a ``torch.autograd.Function`` (CPU; any floating
  dtype, computed in float64 and returned in the input's dtype; any leading batch dimensions).
* :class:`Mixing` -- an ``nn.Module`` holding a method's parameters; ``forward()`` returns H.
* :class:`ReferenceBlock`, :class:`ReferenceLM` -- mhclab's small reference HC/mHC residual block and a
  tiny character-level model built from it.
* :func:`record` / :class:`Recorder` -- capture H_res per layer (and per token) from hyper-connection
  modules into a float64 ``(layer, n, n)`` or ``(token, layer, n, n)`` stack for ``mhclab.analyze``.

Importing this module requires torch; the rest of mhclab does not.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn
from torch.autograd.function import once_differentiable

import mhclab as _mhclab

__all__ = ["mix", "MixFunction", "Mixing", "ReferenceBlock", "ReferenceLM", "record", "Recorder"]


# --------------------------------------------------------------------------------------------------
# Differentiable mixing
# --------------------------------------------------------------------------------------------------

def _spec(method: str, n: int, options: dict):
    """The library's Method for (method, n, options), built once per distinct request (mhclab._method's cache)."""
    return _mhclab._method(method, n, options)


def _param_layout(theta: torch.Tensor, spec) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """Split theta's shape into (leading batch dims, per-matrix parameter shape as the core takes it).

    Matrix-parameter methods accept (..., r, c) or (..., p); the core is always given (B, r, c) for
    them and (B, p) for the others.
    """
    p = int(spec.num_params)
    shape = tuple(spec.param_shape) if spec.param_shape is not None else None
    dims = tuple(theta.shape)
    if shape is not None and len(dims) >= 2 and dims[-2:] == shape:
        return dims[:-2], shape
    if len(dims) >= 1 and dims[-1] == p:
        return dims[:-1], shape if shape is not None else (p,)
    want = f"(..., {p})" + (f" or (..., {shape[0]}, {shape[1]})" if shape is not None else "")
    raise ValueError(f"theta of shape {dims} does not fit this method: expected {want}")


def _as_float64_numpy(t: torch.Tensor, shape: Tuple[int, ...]) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to(device="cpu", dtype=torch.float64).reshape(shape).numpy())


class MixFunction(torch.autograd.Function):
    """``torch.autograd.Function`` computing H = mix(method, θ) for a batch of θ.

    ``MixFunction.apply(theta, method, n, options, threads)``; prefer the wrapper :func:`mix`.
    The forward calls ``mhclab.mix_batch`` and the backward ``mhclab.vjp_batch`` (through a cached
    ``mhclab.Method``); the backward is exact
    (for mhc: the derivative of the unrolled Sinkhorn iterations the forward ran). Both run in float64
    on the CPU; results are cast back to theta's dtype and device. The backward is not itself
    differentiable (no double backward).
    """

    @staticmethod
    def forward(ctx, theta, method, n, options, threads):
        spec = _spec(method, n, options)
        lead, core = _param_layout(theta, spec)
        batch = math.prod(lead)
        th = _as_float64_numpy(theta, (batch,) + core)
        if batch == 0:
            H = np.empty((0, n, n))
        else:
            H = spec.mix_batch(th, threads=threads)
        ctx.save_for_backward(theta)
        ctx.mhclab_args = (spec, n, threads, core, batch)
        out = torch.from_numpy(np.ascontiguousarray(H, dtype=np.float64)).reshape(lead + (n, n))
        return out.to(device=theta.device, dtype=theta.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, dH):
        (theta,) = ctx.saved_tensors
        spec, n, threads, core, batch = ctx.mhclab_args
        if batch == 0 or math.prod(core) == 0:
            return torch.zeros_like(theta), None, None, None, None
        th = _as_float64_numpy(theta, (batch,) + core)
        dh = _as_float64_numpy(dH, (batch, n, n))
        d = spec.vjp_batch(th, dh, threads=threads)
        grad = torch.from_numpy(np.ascontiguousarray(d, dtype=np.float64)).reshape(theta.shape)
        return grad.to(device=theta.device, dtype=theta.dtype), None, None, None, None


def mix(method: str, theta, n: int, *, threads: int = 0, **options) -> torch.Tensor:
    """Differentiable mixing matrix H (paper orientation) of ``method`` at parameters ``theta``.

    Parameters
    ----------
    method : str
        One of mhclab's methods: resnet, hc, mhc, mhc-lite, kromhc, tbp, rtbp, tropical, go-mhc,
        circulant, cayley, shc, isohc, dsv4.
    theta : torch.Tensor
        Shape (..., p), or (..., r, c) for methods whose parameters form a matrix (mhc, hc, tropical,
        cayley, dsv4: (n, n); shc, isohc: (n-1, n-1); go-mhc: (n·s, n·s)). Any floating dtype; the
        computation runs in float64 on the CPU and H is returned in theta's dtype and device. dsv4
        takes DeepSeek-V4's comb logits in their [from, to] layout and returns H = combᵀ.
    n : int
        Number of streams.
    threads : int
        Worker threads for a batch (0 = the library's default).
    **options
        The CLI's method options with '-' replaced by '_': tau, iters, order, domain, eps, start,
        eps_placement, projection, lazy, minorize, factors, go_s, gamma, alpha, cayley_steps, ...

    Returns
    -------
    torch.Tensor of shape (..., n, n). Gradients flow to theta through the library's exact VJP;
    tropical's gradient is 0 (the map is piecewise constant).

    Raises ValueError for a bad method, option or shape, ``mhclab.ComputeError`` if the computation
    fails.

    Example
    -------
    >>> theta = torch.randn(8, 4, 4, dtype=torch.float64, requires_grad=True)
    >>> H = mix("mhc", theta, 4, tau=0.5, iters=20)        # (8, 4, 4)
    >>> H.sum().backward()
    """
    if not isinstance(theta, torch.Tensor):
        theta = torch.as_tensor(np.asarray(theta, dtype=np.float64))
    if not theta.is_floating_point():
        raise TypeError(f"theta must be a floating-point tensor, got {theta.dtype}")
    return MixFunction.apply(theta, method, int(n), dict(options), int(threads))


class Mixing(nn.Module):
    """A learnable mixing matrix: holds a method's parameters θ as an ``nn.Parameter``.

    ``Mixing(method, n, init='identity', init_eps=0.01, dtype=torch.float64, **options)``;
    ``forward()`` (no input) returns H of shape (n, n) in the paper orientation, differentiable in θ.

    ``init`` is an init kind of the library (``'identity'``: H₀ = (1−ε)I + εJ/n with ε = init_eps
    where the method can reach it, ``'authors'``, ...) or explicit parameters (array-like of shape
    (p,) or the method's parameter matrix shape). ``options`` are as for :func:`mix`.
    The parameter is ``self.theta``, shaped (r, c) for matrix-parameter methods and (p,) otherwise.
    """

    def __init__(self, method: str, n: int, init="identity", *, init_eps: float = 0.01,
                 dtype: torch.dtype = torch.float64, **options):
        super().__init__()
        self.method, self.n, self.options = method, int(n), dict(options)
        spec = _spec(method, self.n, self.options)
        shape = tuple(spec.param_shape) if spec.param_shape is not None else (int(spec.num_params),)
        if isinstance(init, str):
            theta0 = np.asarray(spec.init(kind=init, eps=init_eps), dtype=np.float64)
        else:
            theta0 = np.asarray(init.detach().cpu() if isinstance(init, torch.Tensor) else init, dtype=np.float64)
            if theta0.size != math.prod(shape):
                raise ValueError(f"init of shape {theta0.shape} does not fit {method} at n = {n}: expected {shape}")
        self.theta = nn.Parameter(torch.tensor(theta0.reshape(shape), dtype=dtype))

    def forward(self) -> torch.Tensor:
        """H = mix(method, θ) of shape (n, n), paper orientation."""
        return mix(self.method, self.theta, self.n, **self.options)

    def extra_repr(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"{self.method!r}, n={self.n}{opts}"


# --------------------------------------------------------------------------------------------------
# Reference modules
# --------------------------------------------------------------------------------------------------

class ReferenceBlock(nn.Module):
    """mhclab's reference hyper-connection residual block with a static H_res.

    ``ReferenceBlock(dim, n, method='mhc', *, hidden=None, layer_index=0, init='identity',
    init_eps=0.01, **options)``. Input and output: streams X of shape (..., n, dim).

        y   = Σ_i pre_i X_i                      pre  = σ(b_pre)        (mHC Eq. 8 gates)
        F   = MLP(LayerNorm(y))                  (dim → hidden → dim, GELU; hidden = 4·dim)
        X⁺  = H_res X + post ⊗ F                 post = 2σ(b_post)

    H_res = ``mix(method, θ)`` in the paper orientation (X⁺_i = Σ_j H[i, j] X_j), learned through the
    library's exact backward. The gate logits start at −1 with +1 at stream ``layer_index mod n`` (as
    mhclab's training harness). ``h_res()`` returns H_res; :func:`record` captures it per layer.
    """

    def __init__(self, dim: int, n: int, method: str = "mhc", *, hidden: Optional[int] = None,
                 layer_index: int = 0, init="identity", init_eps: float = 0.01, **options):
        super().__init__()
        self.dim, self.n = int(dim), int(n)
        self.mixing = Mixing(method, n, init, init_eps=init_eps, **options)
        gate = torch.full((self.n,), -1.0)
        gate[layer_index % self.n] = 1.0
        self.pre_logits = nn.Parameter(gate.clone())
        self.post_logits = nn.Parameter(gate.clone())
        hidden = int(hidden) if hidden is not None else 4 * self.dim
        self.branch = nn.Sequential(nn.LayerNorm(self.dim), nn.Linear(self.dim, hidden), nn.GELU(),
                                    nn.Linear(hidden, self.dim))

    def h_res(self) -> torch.Tensor:
        """H_res of shape (n, n) (float64, paper orientation, differentiable)."""
        return self.mixing()

    def mhclab_h_res(self, x: torch.Tensor) -> torch.Tensor:
        """The H_res this block applies to input ``x`` (the :func:`record` protocol): static, (n, n)."""
        return self.h_res()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """X⁺ = H_res X + post ⊗ F(Σ_i pre_i X_i) for streams x of shape (..., n, dim)."""
        if x.shape[-2:] != (self.n, self.dim):
            raise ValueError(f"expected streams of shape (..., {self.n}, {self.dim}), got {tuple(x.shape)}")
        H = self.h_res().to(x.dtype)
        pre = torch.sigmoid(self.pre_logits).to(x.dtype)
        post = 2.0 * torch.sigmoid(self.post_logits).to(x.dtype)
        f = self.branch(torch.einsum("i,...id->...d", pre, x))
        return torch.einsum("ij,...jd->...id", H, x) + post[:, None] * f.unsqueeze(-2)


class ReferenceLM(nn.Module):
    """A tiny character-level next-character model made of :class:`ReferenceBlock` s (for notebooks).

    ``ReferenceLM(vocab, dim=64, n=4, layers=8, context=8, method='mhc', **options)``.
    Input: int64 indices (batch, context) of the previous characters; output: logits (batch, vocab) of
    the next one. The context embeddings are concatenated and projected to ``dim``, copied into the n
    streams (the hyper-connections expansion), passed through ``layers`` blocks (block l has
    ``layer_index = l``) and read out as the mean of the streams, LayerNorm, linear head.
    ``options`` go to every block's :class:`Mixing`.
    """

    def __init__(self, vocab: int, dim: int = 64, n: int = 4, layers: int = 8, context: int = 8,
                 method: str = "mhc", **options):
        super().__init__()
        self.n, self.context = int(n), int(context)
        self.embed = nn.Embedding(vocab, dim)
        self.inp = nn.Linear(self.context * dim, dim)
        self.blocks = nn.ModuleList(
            ReferenceBlock(dim, n, method, layer_index=l, **options) for l in range(layers))
        self.out_norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits (batch, vocab) for context indices ``idx`` of shape (batch, context)."""
        h = self.inp(self.embed(idx).flatten(-2))
        x = h.unsqueeze(-2).expand(*h.shape[:-1], self.n, h.shape[-1])
        for block in self.blocks:
            x = block(x)
        return self.head(self.out_norm(x.mean(-2)))


# --------------------------------------------------------------------------------------------------
# Recording H_res
# --------------------------------------------------------------------------------------------------

def _lucidrains_h_res(module: nn.Module, residuals: torch.Tensor) -> torch.Tensor:
    """Per-token H_res (paper orientation) of a lucidrains hyper-connections module.

    Read from lucidrains/hyper-connections (commit 4775103), ``hyper_connections/hyper_connections.py``,
    ``HyperConnections.__init__`` / ``width_connection``: ``static_alpha`` is (s, 1 + s) with column 0
    the branch-input weights and columns 1.. the residual mix; the per-token alpha is static_alpha +
    act(norm(X) @ dynamic_alpha_fn)·dynamic_alpha_scale, computed on the streams split out of the
    '(b s) ... d' batch; the mix is an einsum summing over the FIRST stream index (alpha[from, to]).
    ``manifold_constrained_hyper_connections.py``, ``ManifoldConstrainedHyperConnections.width_connection``
    keeps the layout but scales the dynamic part by (pre_branch_scale, residual_scale) over
    ``num_dynamic_alpha_proposals`` (a leading axis of ``dynamic_alpha_fn``), passes the residual block
    through ``residual_mix_constraint_fn`` (Sinkhorn) and averages the proposals. ``mHCv2.py`` (same
    class name) holds the streams explicitly ('... s d', recognised by its ``maybe_mix_streams``
    attribute, a 1×1 convolution over the streams applied to the norm's input when set). In every case
    H = alpha[:, 1:]ᵀ.
    """
    s = int(module.num_residual_streams)
    if (getattr(module, "channel_first", False) or getattr(module, "num_fracs", 1) != 1
            or getattr(module, "num_input_views", 1) != 1 or tuple(module.static_alpha.shape) != (s, s + 1)):
        raise NotImplementedError("mhclab.torch.record supports lucidrains hyper-connections with one input view, "
                                  "num_fracs = 1 and channel_first = False")
    transform = getattr(module, "residual_transform", None)
    if transform is not None:
        residuals = transform(residuals)
    if hasattr(module, "maybe_mix_streams"):  # mHCv2: (..., s, d)
        x, mixer = residuals, module.maybe_mix_streams
        norm_input = x if mixer is None else mixer(x.reshape(-1, s, 1, x.shape[-1])).reshape(x.shape)
    else:  # '(b s) ... d' -> (b, ..., s, d)
        x = residuals.reshape(residuals.shape[0] // s, s, *residuals.shape[1:]).movedim(1, -2)
        norm_input = x
    normed = module.norm(norm_input)
    if hasattr(module, "residual_mix_constraint_fn"):
        wc = torch.einsum("...d,pde->p...e", normed.float(), module.dynamic_alpha_fn.float())
        scale = torch.cat([module.pre_branch_scale.float().reshape(1),
                           module.residual_scale.float().reshape(1).expand(s)])
        alpha = wc * scale + module.static_alpha.float()
        res = module.residual_mix_constraint_fn(alpha[..., 1:]).mean(0)
    else:
        alpha = module.static_alpha + module.act(normed @ module.dynamic_alpha_fn) * module.dynamic_alpha_scale
        res = alpha[..., 1:]
    return res.transpose(-1, -2)


def _is_lucidrains(module: nn.Module) -> bool:
    return all(hasattr(module, a) for a in ("static_alpha", "dynamic_alpha_fn", "num_residual_streams", "norm",
                                            "width_connection"))


_DSV4_FN = re.compile(r"hc_(\w+)_fn")


def _is_dsv4(module: nn.Module) -> bool:
    return (callable(getattr(module, "hc_pre", None)) and hasattr(module, "hc_mult")
            and any(_DSV4_FN.fullmatch(name) for name, _ in module.named_parameters(recurse=False)))


class Recorder:
    """Captures H_res (paper orientation) from a model's hyper-connection modules; see :func:`record`.

    Attributes and methods:

    * ``stack(forward=-1, per_token=None)`` -- float64 ``(layer, n, n)`` or ``(token, layer, n, n)``.
    * ``names`` -- the site names of the last recorded forward pass, in the order of ``stack()``'s layers.
    * ``sites`` -- the recognised modules, as (name, style) pairs, style in
      {'protocol', 'lucidrains', 'dsv4'}.
    * ``num_forwards`` -- the number of forward passes of the model recorded so far.
    * ``analyze(**options)`` -- ``mhclab.analyze(self.stack(), **options)``.
    * ``clear()`` drops what was recorded; ``close()`` removes the hooks (as leaving the ``with`` does).
    """

    def __init__(self, model: nn.Module, include: Optional[Callable[[str, nn.Module], bool]] = None):
        self.model = model
        self.sites: List[Tuple[str, str]] = []
        self._passes: List[List[Tuple[str, np.ndarray]]] = []
        self._undo: List[Callable[[], None]] = []
        self._open = False
        self._include = include

    # -- lifecycle ---------------------------------------------------------------------------------
    def open(self) -> "Recorder":
        """Install the hooks (``with record(model)`` does this)."""
        if self._open:
            return self
        handle = self.model.register_forward_pre_hook(lambda module, inputs: self._passes.append([]))
        self._undo.append(handle.remove)
        for name, module in self.model.named_modules():
            if self._include is not None and not self._include(name, module):
                continue
            label = name or type(module).__name__
            if callable(getattr(module, "mhclab_h_res", None)):
                self._hook_protocol(label, module)
            elif _is_lucidrains(module):
                self._wrap(module, "width_connection", self._lucidrains_wrapper(label, module))
                self.sites.append((label, "lucidrains"))
            elif _is_dsv4(module):
                self._wrap(module, "hc_pre", self._dsv4_wrapper(name, module))
                self.sites.append((label, "dsv4"))
        self._open = True
        if not self.sites:
            self.close()
            raise ValueError("record: no hyper-connection module found in the model (expected modules with an "
                             "mhclab_h_res method, lucidrains hyper-connections, or DeepSeek-V4 blocks)")
        return self

    def close(self) -> None:
        """Remove every hook and restore every wrapped method; what was recorded is kept."""
        while self._undo:
            self._undo.pop()()
        self._open = False

    def __enter__(self) -> "Recorder":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def clear(self) -> None:
        """Forget every recorded forward pass."""
        self._passes.clear()

    # -- capture -----------------------------------------------------------------------------------
    def _add(self, name: str, H: torch.Tensor) -> None:
        if not self._passes:
            self._passes.append([])
        self._passes[-1].append((name, H.detach().to(device="cpu", dtype=torch.float64).numpy().copy()))

    def _hook_protocol(self, label: str, module: nn.Module) -> None:
        def hook(mod, inputs, output):
            with torch.no_grad():
                self._add(label, mod.mhclab_h_res(*inputs))
        self._undo.append(module.register_forward_hook(hook).remove)
        self.sites.append((label, "protocol"))

    def _wrap(self, module: nn.Module, attr: str, make: Callable) -> None:
        # Both styles compute their mixing in a method that is not a submodule (and lucidrains'
        # decorate_branch calls self.forward directly, past module hooks), so the instance's method
        # is wrapped and restored on close().
        had_own = attr in module.__dict__
        original = getattr(module, attr)
        setattr(module, attr, make(original))

        def undo():
            if had_own:
                setattr(module, attr, original)
            else:
                delattr(module, attr)
        self._undo.append(undo)

    def _lucidrains_wrapper(self, label: str, module: nn.Module) -> Callable:
        def make(original):
            def width_connection(residuals, *args, **kwargs):
                with torch.no_grad():
                    self._add(label, _lucidrains_h_res(module, residuals))
                return original(residuals, *args, **kwargs)
            return width_connection
        return make

    def _dsv4_wrapper(self, name: str, module: nn.Module) -> Callable:
        fns = [(m.group(1), p) for pname, p in module.named_parameters(recurse=False)
               for m in [_DSV4_FN.fullmatch(pname)] if m]

        def make(original):
            def hc_pre(*args, **kwargs):
                out = original(*args, **kwargs)
                passed = list(args) + list(kwargs.values())
                site = next((s for s, p in fns if any(a is p for a in passed)), "pre")
                # hc_pre returns (y, post, comb); comb[..., j, k] is from stream j to stream k (the block
                # sums over j: X⁺[k] = post_k F + Σ_j comb[j, k] X[j]), so H = combᵀ.
                self._add(f"{name}.hc_{site}" if name else f"hc_{site}", out[2].transpose(-1, -2))
                return out
            return hc_pre
        return make

    # -- results -----------------------------------------------------------------------------------
    @property
    def num_forwards(self) -> int:
        """Number of recorded forward passes of the model."""
        return len(self._passes)

    @property
    def names(self) -> List[str]:
        """Site names of the last forward pass, in execution (depth) order."""
        return [name for name, _ in self._passes[-1]] if self._passes else []

    def stack(self, forward: int = -1, per_token: Optional[bool] = None) -> np.ndarray:
        """The recorded H_res of one forward pass as a float64 stack in the paper orientation.

        Layers are in execution order (a module called twice contributes two layers). Static sites give
        one matrix, dynamic ones one per token, the tokens being all leading dimensions of the site's
        input flattened in order (batch-major).

        forward : which recorded forward pass (default the last).
        per_token : None (default) returns ``(token, layer, n, n)`` if any site is per token and
            ``(layer, n, n)`` otherwise; True always returns the token axis (static sites are
            broadcast); False refuses per-token sites (use ``mhclab.analyze``'s ``token_average``).
        """
        if not self._passes:
            raise RuntimeError("nothing recorded: run the model inside `with mhclab.torch.record(model) as rec:`")
        events = self._passes[forward]
        if not events:
            raise RuntimeError("this forward pass reached no hyper-connection site")
        sizes = {a.shape[-1] for _, a in events}
        if len(sizes) != 1:
            raise ValueError(f"sites have different stream counts {sorted(sizes)}")
        n = sizes.pop()
        tokens = {math.prod(a.shape[:-2]) for _, a in events if a.ndim > 2}
        if len(tokens) > 1:
            raise ValueError(f"per-token sites see different token counts {sorted(tokens)}")
        if per_token is None:
            per_token = bool(tokens)
        if not per_token:
            if tokens:
                raise ValueError("some sites are per token; use per_token=True (and analyze's token_average)")
            return np.stack([a for _, a in events])
        T = tokens.pop() if tokens else 1
        return np.stack([np.broadcast_to(a.reshape(-1, n, n), (T, n, n)) for _, a in events], axis=1)

    def analyze(self, **options) -> "_mhclab.Table":
        """``mhclab.analyze(self.stack(), **options)`` for the last forward pass."""
        return _mhclab.analyze(self.stack(), **options)


def record(model: nn.Module, *, include: Optional[Callable[[str, nn.Module], bool]] = None) -> Recorder:
    """Record H_res (paper orientation) of every hyper-connection module of ``model``.

    Use as a context manager::

        with mhclab.torch.record(model) as rec:
            model(x)
        stack = rec.stack()          # (layer, n, n), or (token, layer, n, n) for per-token mixing
        rec.names                    # one name per layer
        mhclab.analyze(stack, token_average="metric")

    Recognised module styles (each capture is detached, float64, on the CPU):

    * protocol -- any module with a method ``mhclab_h_res(*inputs)`` returning H of shape
      (..., n, n) in the paper orientation for the inputs it was called with (a forward hook calls it);
      :class:`ReferenceBlock` implements it.
    * lucidrains -- ``HyperConnections`` and ``ManifoldConstrainedHyperConnections`` (also mHCv2's) of
      lucidrains/hyper-connections (and look-alikes with their parameter layout), num_fracs = 1, one
      input view: H per token is the transpose of the residual block of alpha, which that code stores
      [from, to]; the tokens are the leading dimensions of the module's streams (batch, sequence...).
    * dsv4 -- DeepSeek-V4 blocks (flat ``hc_{site}_fn/base/scale`` parameters, ``hc_mult``, a method
      ``hc_pre(x, hc_fn, hc_scale, hc_base) -> (y, post, comb)``): H = combᵀ per token, one layer per
      call of hc_pre, named ``<block>.hc_<site>``.

    Each call of ``model`` itself starts a new forward pass in the recorder; layers are in execution
    order. ``include(name, module)`` can restrict which modules are recorded.
    """
    return Recorder(model, include=include)
