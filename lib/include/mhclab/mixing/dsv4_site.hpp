#pragma once
// One DeepSeek-V4 hyper-connection site (an attention or FFN sublayer of a block) as deployed: what its tensors
// compute for a token's residual state. Sources (docs/SPEC_NOTES.md "Sinkhorn as deployed"):
// deepseek-ai/DeepSeek-V4-Flash inference/model.py (Block.hc_pre, Block.hc_post) and inference/kernel.py
// (hc_split_sinkhorn_kernel).
//
// n streams of width C, m = (2 + n)·n mixes. Tensors per site (float32 in the checkpoint):
//   fn [m, n·C], base [m], scale [3]   (layers.{l}.hc_{attn|ffn}_{fn|base|scale})
// For a residual X (n × C), v = X flattened stream-major (v[i·C + c] = X[i, c]):
//   r = (mean(v²) + norm_eps)^(−1/2)           one RMS over all n·C entries, no weight, norm_eps = 1e-6    (S1)
//   mix = r·(fn·v)                                                                                          (S2)
//   pre_i  = σ(scale₀·mix_i + base_i) + hc_eps                       i = 0..n−1                             (S3)
//   post_i = 2σ(scale₁·mix_{n+i} + base_{n+i})                                                              (S4)
//   L[j, k] = scale₂·mix_{2n + n·j + k} + base_{2n + n·j + k}        j = FROM stream, k = TO stream          (S5)
// and comb = the deployed Sinkhorn of L (method dsv4: H = combᵀ in the paper orientation). The block then computes
//   y = Σ_i pre_i X_i → RMSNorm → F;   X⁺[k] = post_k·F + Σ_j comb[j, k]·X[j].
// The static mixing (the mixes at zero, e.g. a checkpoint read without hidden states) is L = base's comb slice,
// pre_i = σ(base_i) + hc_eps, post_i = 2σ(base_{n+i}).
#include <string>

#include "mhclab/core/types.hpp"

namespace mhclab {

/// The number of streams n for m = (2 + n)·n mixes; InputError naming `what` when m is not of that form.
[[nodiscard]] Index dsv4_streams(Index m, const std::string& what);

/// The gates of one site for one token (or at zero mixes).
struct Dsv4Gates {
  Vec pre;          ///< n, (S3)
  Vec post;         ///< n, (S4)
  Mat comb_logits;  ///< n × n, L[from, to] (S5) — θ of method dsv4 is its row-major vec
};

/// (S3)–(S5) from the m mixes (mixes = 0: the static gates). base: m; scale: 3 entries; hc_eps ≥ 0.
[[nodiscard]] Dsv4Gates dsv4_gates(const Vec& mixes, const Vec& base, const Vec& scale, double hc_eps = 1e-6);

/// (S1)–(S2): the m mixes of a residual state v (n·C, stream-major) through fn (m × n·C).
[[nodiscard]] Vec dsv4_mixes(const Mat& fn, const Vec& v, double norm_eps = 1e-6);

}  // namespace mhclab
