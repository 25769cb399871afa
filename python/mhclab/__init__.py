"""mhclab: residual mixing matrices (ResNet, HC, mHC/Sinkhorn, mHC-lite, KromHC, TBP, the 2026 zoo, DeepSeek-V4's
deployed mHC) and what happens when they are multiplied across depth — from Python.

A thin layer over the C++ library (the same functions the ``mhclab`` command line calls, so the numbers are the
CLI's bit for bit). Orientation: every matrix is in the paper orientation, ``H[i, j]`` = weight from stream j into
stream i, so a layer computes ``X_{l+1} = H X_l + branch``.

Functions
    mix, mix_batch, vjp, vjp_batch, Method     θ → H and its exact backward, for every method
    analyze, depth, propagate, fit, train       the experiment kinds; tables as ``Table`` (a dict of NumPy columns)
    mix_stats                                   the ``mix`` kind (S parameter draws → marginal errors, norms)
    read_stack, run                             stack files (.npy, .csv, .safetensors); experiment files (sweeps)
    options(kind)                               the keywords a function takes, their defaults and help
    build_info, methods                         what this build is; the method names

Keyword options use the command line's names with ``_`` for ``-`` (``tau``, ``iters``, ``order``, ``domain``,
``init``, ``init_eps``, ``kinds``, ``metrics``, ``token_average``, …) and the library's defaults; ``None`` keeps the
default. Lists may be Python lists (``kinds=["prefix"]``) or comma-separated text. Bad values raise ``ValueError``
with the library's message; failed computations raise :class:`ComputeError` (a ``RuntimeError``).

Arrays: float64 C-contiguous inputs are read in place; any other dtype or layout is converted once (one copy).
Results are fresh arrays that own their memory. The GIL is released while the library computes; ``threads=0``
means all cores and results never depend on it.
"""
from __future__ import annotations

import functools as _functools
from typing import Any, Dict, Optional, Sequence

import numpy as _np

from . import _core
from ._core import ComputeError  # noqa: F401  (re-exported)

__all__ = [
    "ComputeError", "Method", "Table", "analyze", "build_info", "depth", "fit", "methods", "mix", "mix_batch",
    "mix_stats", "options", "propagate", "read_stack", "run", "train", "vjp", "vjp_batch", "__version__",
    "__commit__",
]

_info = _core.build_info()
__version__: str = _info["version"]
__commit__: str = _info["commit"]


def build_info() -> Dict[str, str]:
    """What this build is: version, commit, build type, compiler, flags, ``native`` (-march=native) and ``python``
    (the interpreter the extension was built for; it must import NumPy)."""
    return dict(_core.build_info())


def methods() -> list:
    """The names of every registered mixing method, in the registry's order."""
    return list(_core.methods())


def options(kind: str = "method") -> list:
    """The keywords of a function as ``(name, default, help)`` tuples: ``kind`` is ``method`` (the method options
    that mix/vjp/Method take), ``analyze``, ``depth``, ``propagate``, ``fit``, ``train`` or ``mix_stats``."""
    return list(_core.options(kind))


class Table(dict):
    """A result table: a ``dict`` of column name → 1-D NumPy array (``pandas.DataFrame(table)`` works).

    Numbers are float64 (an empty cell is NaN), counts int64, flags bool, names/statuses str (object arrays).
    ``meaning[name]`` says what a column holds (when the library declares it). ``log10_abs[name]`` holds, for the
    columns whose values may leave the double range (products' gains and norms), log10 of each value's true magnitude
    (NaN where the float64 is exact): a gain of 10^5000 is ``inf`` in the column and 5000 here, never lost.
    ``extra`` holds a function's other outputs (e.g. ``engine``, ``gates``, ``eigenvalues``)."""

    def __init__(self, columns: Dict[str, _np.ndarray], meaning: Optional[Dict[str, str]] = None,
                 log10_abs: Optional[Dict[str, _np.ndarray]] = None, extra: Optional[Dict[str, Any]] = None):
        super().__init__(columns)
        self.meaning: Dict[str, str] = dict(meaning or {})
        self.log10_abs: Dict[str, _np.ndarray] = dict(log10_abs or {})
        self.extra: Dict[str, Any] = dict(extra or {})

    @property
    def rows(self) -> int:
        """The number of rows."""
        return len(next(iter(self.values()))) if self else 0

    def where(self, **equal: Any) -> "Table":
        """The rows whose columns equal the given values, e.g. ``t.where(kind="prefix")``."""
        mask = _np.ones(self.rows, dtype=bool)
        for k, v in equal.items():
            mask &= self[k] == v
        return Table({k: c[mask] for k, c in self.items()}, self.meaning,
                     {k: c[mask] for k, c in self.log10_abs.items()}, self.extra)

    def __repr__(self) -> str:
        return f"Table({self.rows} rows; columns {', '.join(self.keys())})"


def _table(parts, extra: Optional[Dict[str, Any]] = None) -> Table:
    columns, meaning, log10 = parts
    return Table(columns, meaning, log10, extra)


Method = _core.Method
Method.__doc__ = """Method(method, n, **options): A mixing method θ → H at n streams, built once (options as in :func:`mix`).

    Attributes: ``name``, ``n``, ``num_params`` (p), ``param_shape`` ((rows, cols) for methods whose parameters are
    a matrix, else None), ``exact_ds`` (every H doubly stochastic, entries ≥ 0), ``has_inverse``.
    Methods: ``init(kind=None, eps=None)`` → θ (p,) of the ``identity`` or ``authors`` init; ``mix(θ)`` → H (n, n);
    ``vjp(θ, dH)`` → dθ; ``mix_batch(θs, threads=0)`` → (B, n, n); ``vjp_batch(θs, dHs, threads=0)``;
    ``inverse(H)`` → θ with mix(θ) = H, or None outside the chart's domain (methods with ``has_inverse``)."""


def _hashable(v: Any) -> Any:
    if isinstance(v, _np.ndarray):
        return tuple(v.tolist())
    return tuple(_hashable(x) for x in v) if isinstance(v, (list, tuple)) else v


@_functools.lru_cache(maxsize=64)
def _cached_method(method: str, n: int, options: tuple):
    return Method(method, n, **dict(options))


def _method(method: str, n: int, options: Dict[str, Any]):
    """The Method of (method, n, options), built once per distinct request (Methods are immutable and thread-safe):
    a call of mix() then costs the conversion and the computation, not the construction."""
    try:
        key = tuple(sorted((k, _hashable(v)) for k, v in options.items()))
        hash(key)
    except TypeError:  # an unhashable option value (e.g. a NumPy array): build it afresh
        return Method(method, int(n), **options)
    return _cached_method(method, int(n), key)


def mix(method: str, theta, n: int, **options: Any) -> _np.ndarray:
    """H = mix(θ) of ``method`` at ``n`` streams, (n, n) float64 in the paper orientation.

    ``theta``: the (p,) parameter vector in SPEC §2's order, or — for methods whose parameters are a matrix (hc, mhc,
    tropical, cayley, dsv4: (n, n); tbp, isohc: (n−1, n−1); go-mhc: (ns, ns)) — that matrix as PyTorch holds it.
    dsv4 takes DeepSeek-V4's comb logits in the checkpoint's ``[from, to]`` layout and returns H = combᵀ.
    Options: the CLI's method options (``mhclab.options("method")``), e.g. ``tau``, ``iters``, ``order``,
    ``domain``, ``precision``, ``eps``, ``projection``, ``lazy``, ``minorize``. Bitwise equal to ``mhclab mix``."""
    return _method(method, n, options).mix(theta)


def vjp(method: str, theta, dH, n: int, **options: Any) -> _np.ndarray:
    """The exact backward of :func:`mix`: dθ_k = Σ_ij dH_ij ∂H_ij/∂θ_k (same shape as ``theta``). mhc: the derivative
    of the unrolled Sinkhorn iterations actually run (``projection="newton"``: implicit differentiation of the
    converged projection); tropical: 0 (piecewise constant)."""
    return _method(method, n, options).vjp(theta, dH)


def mix_batch(method: str, thetas, n: int, threads: int = 0, exact: bool = False, **options: Any) -> _np.ndarray:
    """H for a batch: ``thetas`` (B, p) (or (B, rows, cols)) → (B, n, n), over ``threads`` cores.

    For mhc with the plain exp-domain, fp64, constant-τ, fixed-iteration Sinkhorn (the defaults) and n ≤ 8 this runs
    the batched SIMD kernel, which agrees with :func:`mix` to ≤ 1 ulp per entry (it multiplies by reciprocals and uses
    a vectorised exp); ``exact=True`` calls the scalar path instead (bitwise equal to :func:`mix`). Results never
    depend on ``threads``."""
    return _method(method, n, options).mix_batch(thetas, threads=threads, exact=exact)


def vjp_batch(method: str, thetas, dHs, n: int, threads: int = 0, **options: Any) -> _np.ndarray:
    """:func:`vjp` for a batch: ``thetas`` (B, p) (or (B, rows, cols)) and ``dHs`` (B, n, n) → dθs, same shape as
    ``thetas``."""
    return _method(method, n, options).vjp_batch(thetas, dHs, threads=threads)


def analyze(stack=None, eigenvalues: bool = False, singular_values: bool = False, **options: Any) -> Table:
    """The SPEC §4 depth metrics of a stack (``mhclab analyze``): one row per depth and product kind.

    ``stack``: (layer, n, n) matrices in the paper orientation (``layout="from_to"`` transposes each), or with
    ``input_kind="params"`` (layer, p) parameters through ``method``; with ``token_average`` (``"metric"``,
    ``"matrix"``, ``"composite"``) a (token, layer, …) stack. Or no stack and ``input=PATH`` (a .npy, .csv,
    .safetensors file, with ``tensor``) or ``checkpoint=PATH`` (a DeepSeek-V4-style checkpoint; method dsv4 unless
    given).
    Keywords: ``kinds`` (layer, prefix, suffix), ``metrics`` (e.g. ``["fwd_gain", "sigma_max"]``), ``depths``,
    ``lyapunov``, ``eigenvalues``, ``singular_values``, ``topk`` and the method options (``mhclab.options("analyze")``).
    ``Table.extra`` holds ``eigenvalues``/``singular_values``/``gates`` tables and a ``checkpoint_summary`` when asked
    for. The rows are those of ``mhclab analyze`` on the same stack."""
    main, extra = _core.analyze(stack, eigenvalues, singular_values, **options)
    return _table(main, {k: (_table(v) if isinstance(v, tuple) else v) for k, v in extra.items()})


def depth(**options: Any) -> Table:
    """``mhclab depth``: S seeds of generated stacks (``generator`` random | init | drift | file | trained |
    checkpoint) → the depth table with ``seed, step`` first (or, with ``aggregate=True``, the statistics over seeds).
    E.g. ``depth(method="mhc", n=4, layers=256, seeds=200, metrics=["fwd_gain", "sigma_max"])`` runs the streaming
    SIMD engine. ``Table.extra["engine"]`` says which engine ran (dense or stream)."""
    parts, engine = _core.depth(**options)
    return _table(parts, {"engine": engine})


def propagate(**options: Any) -> Table:
    """``mhclab propagate``: energy and gradient propagation through the SPEC §5 layer model over generated stacks."""
    return _table(_core.propagate(**options))


def fit(**options: Any) -> Table:
    """``mhclab fit``: how well a method reaches random Birkhoff targets (Adam on its exact charts)."""
    return _table(_core.fit(**options))


def train(**options: Any) -> Table:
    """``mhclab train``: the training harness (SPEC §7); the table is the training log of every seed."""
    return _table(_core.train(**options))


def mix_stats(**options: Any) -> Table:
    """The ``mix`` kind (``mhclab mix --seeds S``): per parameter draw, marginal errors, min entry, norms, distances
    (and with ``jacobian=True`` the learnability columns)."""
    return _table(_core.mix_stats(**options))


def read_stack(path: str, tensor: str = "", layout: str = "to_from", input_kind: str = "matrices",
               lead_axes: Sequence[str] = ("layer",)) -> _np.ndarray:
    """A stack file as an array: (lead…, n, n) matrices in the paper orientation (``layout="from_to"`` transposes on
    read) or (lead…, p) parameters. Files: .npy, long-form .csv, or a .safetensors tensor (``tensor=``)."""
    return _core.read_stack(path, tensor, layout, input_kind, list(lead_axes))


def run(experiment: str, out: str, threads: int = 0, resume: bool = False, force: bool = False) -> Dict[str, Any]:
    """``mhclab run``: an experiment file's sweep into ``out`` (rows.csv, aggregates.csv, figures, manifest.json);
    byte-identical to the CLI's for any ``threads``. Returns the summary (points, ran, reused, rows, …)."""
    return dict(_core.run(experiment, out, threads, resume, force))
