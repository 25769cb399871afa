"""Writes notebooks_py/train_record_analyze.ipynb (without outputs) from the cells below.

    /usr/bin/python3 notebooks_py/make_notebook.py            # (re)write the .ipynb next to this script
    /usr/bin/python3 notebooks_py/make_notebook.py --check    # exit 1 if the committed .ipynb is not what this writes

The notebook is kept as code here so that it can be reviewed and diffed; the .ipynb is generated, committed without
outputs, and executed by python/tests/test_notebook.py (fast mode) and by the main job (full mode). Cell ids are fixed
so that regenerating an unchanged notebook gives the same bytes.
"""
from __future__ import annotations

import sys
from pathlib import Path
from textwrap import dedent

import nbformat

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "train_record_analyze.ipynb"

CELLS = []  # (kind, source)


def md(text: str) -> None:
    CELLS.append(("markdown", dedent(text).strip("\n")))


def code(text: str) -> None:
    CELLS.append(("code", dedent(text).strip("\n")))


# ------------------------------------------------------------------------------------------------------------------
md(r"""
# Train, record, analyze: the H_res of a tiny mHC language model

This notebook trains a small character-level language model whose residual streams are mixed by mhclab's exact
mixing matrices (`mhclab.torch`), records the learned residual mixing matrices H_res of every layer with
`mhclab.torch.record`, and measures what their products across depth do with `mhclab.analyze`.

* **Model**: `mhclab.torch.ReferenceLM`: a stack of hyper-connection blocks, n residual streams, each block mixing
  the streams with its own H_res = mix(method, θ) (paper orientation: `H[i, j]` is the weight from stream j into
  stream i, a layer computes X⁺ = H X + branch). θ is trained through the library's exact backward.
* **Data**: a text generated here from a fixed seed by a small grammar (no download).
* **Methods**: the same model with mhc (the converged doubly stochastic projection, and the paper's 20 Sinkhorn
  iterations), hc (unconstrained H) and resnet (H = I).

Every number in this notebook is printed by a code cell; the text only says what to look for. Two modes: the
environment variable `MHCLAB_NB_FAST=1` (what the tests run) shortens the text and the training; without it the
notebook runs in full. Figures go to `$MHCLAB_NB_OUT` (default `results/notebooks_py`; a relative path is taken
from the repository root) and are shown inline.
""")

code(r"""
%matplotlib inline
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

# The repository root: the kernel's working directory is usually notebooks_py/ (Jupyter and nbconvert start it in
# the notebook's directory), so relative paths below are taken from the root, not from there.
ROOT = next((d for d in [Path.cwd(), *Path.cwd().parents] if (d / "notebooks_py" / "make_notebook.py").is_file()),
            Path.cwd())
try:
    import mhclab
except ImportError:  # neither installed nor on PYTHONPATH (a relative PYTHONPATH misses from notebooks_py/)
    sys.path.insert(0, str(ROOT / "build" / "release" / "python"))
    import mhclab
import mhclab.torch as mt

FAST = os.environ.get("MHCLAB_NB_FAST", "0") not in ("", "0")
OUT = Path(os.environ.get("MHCLAB_NB_OUT", "results/notebooks_py"))
OUT = OUT if OUT.is_absolute() else ROOT / OUT
OUT.mkdir(parents=True, exist_ok=True)

# One intra-op thread: the model's tensors are tiny, so more threads only add synchronisation (in a Jupyter
# kernel, whose own threads share the cores, two threads made training several times slower), and a fixed count
# keeps the run deterministic. mhclab's results never depend on its thread count.
torch.set_num_threads(1)
CFG = dict(
    sentences=800 if FAST else 4000,  # size of the generated text
    steps=60 if FAST else 600,        # Adam steps per method
    eval_every=20 if FAST else 50,    # held-out loss every this many steps
    eval_windows=512 if FAST else 2048,
    batch=128, context=8, dim=64, n=4, layers=8,
    lr=3e-3,                          # every parameter but the mixing θ
    mix_lr=5e-2,                      # the mixing θ (see section 3)
    text_seed=2026, model_seed=0, batch_seed=1,
)
print(f"mode: {'fast' if FAST else 'full'}; figures and summary -> {OUT}")
print(f"mhclab {mhclab.__version__} ({mhclab.__commit__}) from {Path(mhclab.__file__).parent}")
print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s)")
print(CFG)
""")

# ------------------------------------------------------------------------------------------------------------------
md(r"""
## 1. A text with structure

The "language" has a handful of nouns, adjectives and verbs and two rules a model can learn from characters alone:
a determiner comes first (plural determiners take plural nouns, some of them irregular), and the verb agrees with
the subject (singular subject → verb + `s`/`es`). Optional adjectives, objects and adverbs make the next character
uncertain at word boundaries, while inside a word it is mostly determined. The generator draws from Python's
`random.Random` with a fixed seed, so the text is the same on every machine.
""")

code(r"""
NOUNS = {"cat": "cats", "dog": "dogs", "bird": "birds", "fox": "foxes", "owl": "owls",
         "mouse": "mice", "horse": "horses", "frog": "frogs"}
ADJECTIVES = ["small", "red", "quick", "old", "shy", "green"]
TRANSITIVE = {"see": "sees", "chase": "chases", "like": "likes", "find": "finds", "follow": "follows",
              "catch": "catches"}
INTRANSITIVE = {"sing": "sings", "sleep": "sleeps", "run": "runs", "hide": "hides"}
DET_SINGULAR = ["the", "a", "one", "every"]
DET_PLURAL = ["the", "two", "some", "many"]
ADVERBS = ["today", "again", "slowly", "at night"]


def noun_phrase(rng, plural):
    words = [rng.choice(DET_PLURAL if plural else DET_SINGULAR)]
    if rng.random() < 0.4:
        words.append(rng.choice(ADJECTIVES))
    noun = rng.choice(sorted(NOUNS))
    words.append(NOUNS[noun] if plural else noun)
    return words


def sentence(rng):
    plural = rng.random() < 0.5
    words = noun_phrase(rng, plural)
    if rng.random() < 0.75:
        verb = rng.choice(sorted(TRANSITIVE))
        words += [verb if plural else TRANSITIVE[verb]] + noun_phrase(rng, rng.random() < 0.5)
    else:
        verb = rng.choice(sorted(INTRANSITIVE))
        words.append(verb if plural else INTRANSITIVE[verb])
    if rng.random() < 0.3:
        words.append(rng.choice(ADVERBS))
    return " ".join(words) + "."


def make_text(seed, sentences):
    rng = random.Random(seed)
    return " ".join(sentence(rng) for _ in range(sentences))


text = make_text(CFG["text_seed"], CFG["sentences"])
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
V = len(chars)
split = int(0.9 * len(data))
train_data, val_data = data[:split], data[split:]

freq = np.bincount(data.numpy(), minlength=V) / len(data)
H_UNIFORM = math.log(V)
H_UNIGRAM = float(-(freq * np.log(freq)).sum())
print(f"{len(text)} characters, vocabulary of {V}: {''.join(chars)!r}")
print(f"train {len(train_data)} / held-out {len(val_data)} characters")
print(f"reference losses (nats/char): uniform log V = {H_UNIFORM:.4f}, unigram entropy = {H_UNIGRAM:.4f}")
print()
print(text[:400] + " ...")
""")

# ------------------------------------------------------------------------------------------------------------------
md(r"""
## 2. The task: the next character

The model sees the previous `context` characters and predicts the next one; the loss is the cross-entropy in nats
per character. Training batches are random windows of the training part (drawn from a seeded generator); the
held-out loss is measured on a fixed set of windows of the last tenth of the text. The two reference levels printed
above: a model that guesses uniformly scores log V, one that only knows the character frequencies scores the unigram
entropy. Anything below the latter uses the context.
""")

code(r"""
C = CFG["context"]


def windows(src, ix):
    x = torch.stack([src[i:i + C] for i in ix.tolist()])
    return x, src[ix + C]


def train_batch(gen):
    return windows(train_data, torch.randint(0, len(train_data) - C, (CFG["batch"],), generator=gen))


eval_gen = torch.Generator().manual_seed(12345)
X_EVAL, Y_EVAL = windows(val_data, torch.randint(0, len(val_data) - C, (CFG["eval_windows"],), generator=eval_gen))
print("held-out set:", tuple(X_EVAL.shape), "contexts ->", tuple(Y_EVAL.shape), "targets")
print("first context / target:", repr("".join(chars[i] for i in X_EVAL[0])), "->", repr(chars[Y_EVAL[0]]))
""")

# ------------------------------------------------------------------------------------------------------------------
md(r"""
## 3. The model and the methods

`mhclab.torch.ReferenceLM(vocab, dim, n, layers, context, method, **options)` embeds the context, copies it into
the n streams, runs `layers` blocks and reads out the mean of the streams. Each block is a
`mhclab.torch.ReferenceBlock`:

    y  = Σ_i pre_i X_i              pre  = σ(b_pre)
    F  = MLP(LayerNorm(y))
    X⁺ = H_res X + post ⊗ F         post = 2σ(b_post),   H_res = mix(method, θ)

All blocks start from the identity init H₀ = (1 − ε)I + εJ/n (ε = 0.01). The runs differ only in how θ becomes
H_res:

| label | `method`, options | H_res |
|---|---|---|
| `mhc-newton` | `mhc`, `projection="newton"` | exp(θ/τ) projected onto the doubly stochastic matrices (the converged Sinkhorn limit; implicit backward) |
| `mhc-sinkhorn20` | `mhc` (library defaults) | the paper's mHC: 20 Sinkhorn iterations, columns then rows; rows sum to 1, columns only approximately |
| `hc` | `hc` | θ itself: unconstrained |
| `resnet` | `resnet` | I (no parameters) |

The mixing parameters θ get their own, larger Adam learning rate (`mix_lr`) so that H_res moves visibly within a
brief training run; everything else uses `lr`. The primary run, whose numbers go into the summary line at the end,
is `mhc-newton`.
""")

code(r"""
METHODS = [
    ("mhc-newton", "mhc", {"projection": "newton"}),
    ("mhc-sinkhorn20", "mhc", {}),
    ("hc", "hc", {}),
    ("resnet", "resnet", {}),
]
PRIMARY = "mhc-newton"


def build(method, options):
    torch.manual_seed(CFG["model_seed"])  # the same initial weights for every method
    return mt.ReferenceLM(V, dim=CFG["dim"], n=CFG["n"], layers=CFG["layers"], context=C, method=method, **options)


demo = build("mhc", {"projection": "newton"})
print(demo.blocks[0].mixing)
print("parameters:", sum(p.numel() for p in demo.parameters()),
      "of which mixing θ:", sum(p.numel() for name, p in demo.named_parameters() if name.endswith("mixing.theta")))
with torch.no_grad():
    print("H_res of block 0 at init:")
    print(np.array2string(demo.blocks[0].h_res().numpy(), precision=4, suppress_small=True))
""")

md(r"""
Training: Adam, the same batches (same generator seed) and the same initial weights for every method; the held-out
loss is measured before the first step and every `eval_every` steps.
""")

code(r"""
@torch.no_grad()
def held_out_loss(model):
    model.eval()
    loss = F.cross_entropy(model(X_EVAL), Y_EVAL).item()
    model.train()
    return loss


def train(label, method, options):
    model = build(method, options)
    mixing = [p for name, p in model.named_parameters() if name.endswith("mixing.theta")]
    rest = [p for name, p in model.named_parameters() if not name.endswith("mixing.theta")]
    opt = torch.optim.Adam([{"params": rest, "lr": CFG["lr"]}, {"params": mixing, "lr": CFG["mix_lr"]}])
    gen = torch.Generator().manual_seed(CFG["batch_seed"])
    steps, evals = [], [(0, held_out_loss(model))]
    start = time.perf_counter()
    for step in range(1, CFG["steps"] + 1):
        x, y = train_batch(gen)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps.append(loss.item())
        if step % CFG["eval_every"] == 0 or step == CFG["steps"]:
            evals.append((step, held_out_loss(model)))
    return dict(label=label, method=method, options=options, model=model, train_loss=np.array(steps),
                evals=evals, seconds=time.perf_counter() - start)


runs = {}
for label, method, options in METHODS:
    runs[label] = train(label, method, options)
    r = runs[label]
    print(f"{label:15s} held-out loss {r['evals'][0][1]:.4f} -> {r['evals'][-1][1]:.4f}   "
          f"last train batch {r['train_loss'][-1]:.4f}   {r['seconds']:.1f} s")
""")

# ------------------------------------------------------------------------------------------------------------------
md(r"""
## 4. Loss curves

Training loss (running mean over 10 steps) and held-out loss (markers) per method, with the two reference levels
of section 1.
""")

code(r"""
def running_mean(v, k=10):
    c = np.cumsum(np.insert(v, 0, 0.0))
    return np.array([(c[i + 1] - c[max(0, i + 1 - k)]) / min(k, i + 1) for i in range(len(v))])


fig, ax = plt.subplots(figsize=(8, 4.5))
for i, (label, r) in enumerate(runs.items()):
    color = f"C{i}"  # the line styles differ so that runs with (nearly) equal losses stay visible
    ax.plot(np.arange(1, len(r["train_loss"]) + 1), running_mean(r["train_loss"]), color=color, lw=1.2,
            ls=["-", "--", "-.", ":"][i % 4], label=f"{label} (train)")
    s, l = zip(*r["evals"])
    ax.plot(s, l, "o", color=color, ms=4, label=f"{label} (held-out)")
ax.axhline(H_UNIFORM, color="0.5", ls=":", lw=1, label="uniform (log V)")
ax.axhline(H_UNIGRAM, color="0.3", ls="--", lw=1, label="unigram entropy")
ax.set_xlabel("Adam step")
ax.set_ylabel("cross-entropy (nats / char)")
ax.set_title("Next-character loss")
ax.legend(fontsize=7, ncol=2)
fig.tight_layout()
fig.savefig(OUT / "loss.png", dpi=120)
plt.show()
""")

# ------------------------------------------------------------------------------------------------------------------
md(r"""
## 5. Recording H_res

`mhclab.torch.record(model)` hooks every module that exposes `mhclab_h_res` (the reference blocks do; lucidrains'
hyper-connections and DeepSeek-V4 blocks are recognised too) and captures the H_res each one applied during a
forward pass, in execution order. The H_res here are static (one per layer, independent of the token), so one
forward pass on any input gives the `(layer, n, n)` stack, float64, paper orientation.
""")

code(r"""
stacks = {}
for label, r in runs.items():
    with mt.record(r["model"]) as rec, torch.no_grad():
        r["model"](X_EVAL[:16])
    stacks[label] = rec.stack()
    if label == PRIMARY:
        print("sites:", rec.names)


def marginal_errors(S):
    return float(np.abs(S.sum(axis=2) - 1).max()), float(np.abs(S.sum(axis=1) - 1).max())


rows = []
for label, S in stacks.items():
    row_err, col_err = marginal_errors(S)
    rows.append(dict(run=label, shape=str(S.shape), max_row_sum_err=row_err, max_col_sum_err=col_err,
                     min_entry=float(S.min()), max_dist_identity=float(np.linalg.norm(S - np.eye(S.shape[-1]),
                                                                                      axis=(1, 2)).max())))
display(pd.DataFrame(rows).set_index("run"))

# How far each layer's H_res moved from its value at init (a fresh, untrained model of the same run).
def init_stack(method, options):
    with torch.no_grad():
        return np.stack([b.h_res().numpy() for b in build(method, options).blocks])


moved = pd.DataFrame({label: np.linalg.norm(stacks[label] - init_stack(r["method"], r["options"]), axis=(1, 2))
                      for label, r in runs.items()},
                     index=pd.RangeIndex(1, CFG["layers"] + 1, name="layer")).T
print("‖H_l − H_l(init)‖_F per layer:")
display(moved)
UNMOVED = {label: [int(l) for l in moved.columns if moved.loc[label, l] < 1e-9] for label in stacks}
print("layers whose H_res did not move (‖H_l − H_l(init)‖_F < 1e-9):", UNMOVED)
""")

md(r"""
`max_row_sum_err` and `max_col_sum_err` are max |Σ_j H_ij − 1| and max |Σ_i H_ij − 1| over all layers;
`max_dist_identity` is the largest ‖H_l − I‖_F. The second table shows how far training moved each layer's H_res.
A layer whose H_res stays exactly at its init receives no gradient through it. For the doubly stochastic runs this
is expected at both ends of this model: the first block sees n identical copies of the embedding (and any H with
rows summing to 1 maps identical streams to themselves: both mhc runs), and the read-out averages the streams (any
H with columns summing to 1 leaves the average unchanged: exactly so only for mhc-newton), so changes of H that keep
those marginals are invisible there. hc has no such constraint, and resnet has no parameters to move.
""")

# ------------------------------------------------------------------------------------------------------------------
md(r"""
## 6. What the products do: `mhclab.analyze`

A signal passing through the first d layers is mixed by the prefix product P_d = H_d ··· H_1; a gradient flowing
back from the output to layer d by the suffix product S_d = H_L ··· H_d. `mhclab.analyze(stack, kinds=..., metrics=...)`
computes mhclab's depth metrics (SPEC §4) of every prefix and suffix; the ones used here, for a product M:

* `fwd_gain` = max_i |Σ_j M_ij| (how the all-ones direction — the streams' common mean — grows going forward),
  `bwd_gain` = max_j |Σ_i M_ij| (the same for the backward pass),
* `sigma_max`, `sigma_min`: the largest and smallest singular values (amplification; collapse of the streams
  onto one direction when σ_min → 0),
* `col_err` = max_j |Σ_i M_ij − 1|.

What to expect: a doubly stochastic H has every gain and σ_max equal to 1, and so has every product of them. The
20-iteration Sinkhorn makes the rows sum to 1 exactly (so fwd_gain stays 1) but leaves an error on the columns,
which can accumulate in bwd_gain, bounded by Π_l (1 + col_err(H_l)) because the entries are positive. hc has no
constraint at all.
""")

code(r"""
METRICS = ["fwd_gain", "bwd_gain", "sigma_max", "sigma_min", "col_err"]
tables = {label: mhclab.analyze(S, kinds=["prefix", "suffix"], metrics=METRICS) for label, S in stacks.items()}

primary = tables[PRIMARY]
print(primary)
display(pd.DataFrame(primary.where(kind="prefix")).set_index("depth").drop(columns="kind"))

final = []
for label, t in tables.items():
    p = t.where(kind="prefix")
    final.append(dict(run=label, **{f"prefix_{m}@L": float(p[m][-1]) for m in METRICS},
                      **{"max_prefix_bwd_gain": float(p["bwd_gain"].max()),
                         "max_prefix_sigma_max": float(p["sigma_max"].max())}))
display(pd.DataFrame(final).set_index("run"))
""")

md(r"""
The bound for the 20-iteration Sinkhorn, checked layer by layer from the recorded matrices:
""")

code(r"""
S20 = stacks["mhc-sinkhorn20"]
layer_col_err = np.abs(S20.sum(axis=1) - 1).max(axis=1)
bound = np.cumprod(1 + layer_col_err)
bwd20 = tables["mhc-sinkhorn20"].where(kind="prefix")["bwd_gain"]
display(pd.DataFrame({"depth": np.arange(1, len(bound) + 1), "col_err(H_l)": layer_col_err,
                      "prefix bwd_gain": bwd20, "Π(1 + col_err)": bound}).set_index("depth"))
BOUND_HOLDS = bool(np.all(bwd20 <= bound * (1 + 1e-12)))
print("prefix bwd_gain <= Π(1 + col_err) at every depth:", BOUND_HOLDS)
""")

code(r"""
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
for i, (label, t) in enumerate(tables.items()):
    p = t.where(kind="prefix")
    for ax, m in zip(axes, ["fwd_gain", "bwd_gain", "sigma_max"]):
        ax.plot(p["depth"], p[m], "o-", color=f"C{i}", ms=3, label=label)
axes[1].plot(np.arange(1, len(bound) + 1), bound, "k--", lw=1, label="Π(1 + col_err), sinkhorn20")
for ax, m in zip(axes, ["fwd_gain", "bwd_gain", "sigma_max"]):
    ax.set_yscale("log")
    ax.set_xlabel("depth d")
    ax.set_title(f"prefix product H_d···H_1: {m}")
    ax.grid(True, which="both", alpha=0.3)
axes[0].legend(fontsize=8)
axes[1].legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "prefix_gains.png", dpi=120)
plt.show()
""")

# ------------------------------------------------------------------------------------------------------------------
md(r"""
## 7. The matrices themselves

A few recorded H_res of the three runs with parameters: the first and the last layer, and the layer whose H_res
moved most in the primary run. The colour is H − I
(blue: below the identity, red: above; each row of panels has its own colour scale, printed on its colour bar), the
text the entry of H.
""")

code(r"""
shown = [label for label in runs if label != "resnet"]
# First and last layer, and between them the one that moved most from its init in the primary run.
inner = moved.loc[PRIMARY].iloc[1:-1]
layers_shown = [0, int(inner.idxmax()) - 1 if inner.max() > 0 else CFG["layers"] // 2 - 1, CFG["layers"] - 1]
fig, axes = plt.subplots(len(shown), len(layers_shown), figsize=(3.4 * len(layers_shown), 3.0 * len(shown)),
                         layout="constrained")
for r_, label in enumerate(shown):
    vmax = max(float(np.abs(stacks[label][k] - np.eye(CFG["n"])).max()) for k in layers_shown) or 1.0
    for c_, k in enumerate(layers_shown):
        ax, H = axes[r_, c_], stacks[label][k]
        im = ax.imshow(H - np.eye(CFG["n"]), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        for i in range(CFG["n"]):
            for j in range(CFG["n"]):
                dark = abs(H[i, j] - (i == j)) > 0.6 * vmax
                ax.text(j, i, f"{H[i, j]:.4f}", ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
        ax.set_title(f"{label}: H of layer {k + 1}", fontsize=9)
        ax.set_xticks(range(CFG["n"]))
        ax.set_yticks(range(CFG["n"]))
        if r_ == len(shown) - 1:
            ax.set_xlabel("from stream j", fontsize=8)
        if c_ == 0:
            ax.set_ylabel("into stream i", fontsize=8)
    fig.colorbar(im, ax=axes[r_, :].tolist(), shrink=0.8, label=f"{label}: H − I")
fig.savefig(OUT / "h_res_heatmaps.png", dpi=120)
plt.show()
""")

# ------------------------------------------------------------------------------------------------------------------
md(r"""
## What we learned

The findings below are formatted from the values computed above; the last line is the machine-readable summary the
tests read (`NOTEBOOK_SUMMARY {json}`), also written to `summary.json` next to the figures.
""")

code(r"""
def prefix_final(label, metric):
    return float(tables[label].where(kind="prefix")[metric][-1])


r0 = runs[PRIMARY]
row_err, col_err = marginal_errors(stacks[PRIMARY])
findings = [
    f"{PRIMARY}: held-out loss {r0['evals'][0][1]:.3f} -> {r0['evals'][-1][1]:.3f} nats/char in {CFG['steps']} steps "
    f"(unigram entropy {H_UNIGRAM:.3f}, uniform {H_UNIFORM:.3f}).",
    f"{PRIMARY}: the recorded H_res are doubly stochastic to {max(row_err, col_err):.1e}; the depth-{CFG['layers']} "
    f"prefix product has fwd_gain {prefix_final(PRIMARY, 'fwd_gain'):.6f}, bwd_gain "
    f"{prefix_final(PRIMARY, 'bwd_gain'):.6f}, sigma_max {prefix_final(PRIMARY, 'sigma_max'):.6f}, sigma_min "
    f"{prefix_final(PRIMARY, 'sigma_min'):.4f}.",
    f"mhc-sinkhorn20: rows exact to {marginal_errors(S20)[0]:.1e}, columns off by up to {layer_col_err.max():.2e} "
    f"per layer; prefix bwd_gain {bwd20[-1]:.4f} at depth {CFG['layers']} against the bound {bound[-1]:.4f} "
    f"(bound holds: {BOUND_HOLDS}).",
    f"hc: prefix fwd_gain {prefix_final('hc', 'fwd_gain'):.4g}, bwd_gain {prefix_final('hc', 'bwd_gain'):.4g}, "
    f"sigma_max {prefix_final('hc', 'sigma_max'):.4g} at depth {CFG['layers']}.",
    "layers whose H_res stayed at its init: " + "; ".join(f"{l} {v}" for l, v in UNMOVED.items()) + ".",
    "final held-out loss per run: " + ", ".join(f"{l} {r['evals'][-1][1]:.3f}" for l, r in runs.items()) + ".",
]
for f in findings:
    print("-", f)

summary = dict(
    mode="fast" if FAST else "full",
    steps=CFG["steps"], text_chars=len(text), vocab=V,
    methods=[label for label, _, _ in METHODS],
    primary=PRIMARY, primary_method=r0["method"], primary_options=r0["options"],
    initial_loss=r0["evals"][0][1], final_loss=r0["evals"][-1][1],
    unigram_entropy=H_UNIGRAM, uniform_loss=H_UNIFORM,
    stack_shape=list(stacks[PRIMARY].shape),
    ds_err=max(row_err, col_err),
    prefix_fwd_gain_final=prefix_final(PRIMARY, "fwd_gain"),
    prefix_bwd_gain_final=prefix_final(PRIMARY, "bwd_gain"),
    prefix_sigma_max_final=prefix_final(PRIMARY, "sigma_max"),
    runs={label: dict(method=r["method"], options=r["options"], initial_loss=r["evals"][0][1],
                      final_loss=r["evals"][-1][1], row_err=marginal_errors(stacks[label])[0],
                      col_err=marginal_errors(stacks[label])[1],
                      prefix_fwd_gain_final=prefix_final(label, "fwd_gain"),
                      prefix_bwd_gain_final=prefix_final(label, "bwd_gain"),
                      prefix_sigma_max_final=prefix_final(label, "sigma_max"), seconds=round(r["seconds"], 2))
          for label, r in runs.items()},
    sinkhorn20_bwd_bound=float(bound[-1]), sinkhorn20_bound_holds=BOUND_HOLDS, unmoved_layers=UNMOVED,
    figures=sorted(p.name for p in OUT.glob("*.png") if p.name in ("loss.png", "prefix_gains.png",
                                                                 "h_res_heatmaps.png")),
)
(OUT / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
print("NOTEBOOK_SUMMARY " + json.dumps(summary, sort_keys=True))
""")


def build() -> nbformat.NotebookNode:
    """The notebook (no outputs, fixed cell ids)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "mhclab": {"generated_by": "notebooks_py/make_notebook.py"},
    }
    for i, (kind, source) in enumerate(CELLS):
        cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        cell["id"] = f"cell-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render() -> str:
    return nbformat.writes(build()) + "\n"


def main(argv) -> int:
    text = render()
    if "--check" in argv:
        current = NOTEBOOK.read_text(encoding="utf-8") if NOTEBOOK.exists() else ""
        if current != text:
            print(f"{NOTEBOOK} is not what {Path(__file__).name} writes; run it without --check", file=sys.stderr)
            return 1
        print(f"{NOTEBOOK.name} is up to date")
        return 0
    NOTEBOOK.write_text(text, encoding="utf-8")
    print(f"wrote {NOTEBOOK} ({len(CELLS)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
