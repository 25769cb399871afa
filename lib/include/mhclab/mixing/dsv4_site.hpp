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
#include <cstdint>
#include <string>
#include <vector>

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

/// The tensors of one site (float32 in a checkpoint, held in double here).
struct Dsv4Site {
  Mat fn;     ///< m × n·C
  Vec base;   ///< m
  Vec scale;  ///< 3: scale₀ (pre), scale₁ (post), scale₂ (comb)
};

/// The random-stream tag of synthesised fn tensors: RandomStream(seed, Purpose::Weights, {kDsv4FnTag, site}).
inline constexpr std::uint64_t kDsv4FnTag = 0x6473;

/// Synthesised sites, one per entry of comb_logits (n × n, [from, to]), for studying a DeepSeek-V4-style block
/// without a checkpoint. Site s: base = [b_pre | b_post | row-major vec(comb_logits[s])] with b_pre = b_post = −1
/// except +1 at stream s mod n (the static init of mHC Eq. 8); fn [m, n·C] with entries N(0, 1)/√(n·C) drawn
/// row-major from RandomStream(seed, Purpose::Weights, {kDsv4FnTag, s}), so that each mix of a state is O(1);
/// scale = (alpha, alpha, alpha) (mHC Eq. 7's α, initialised to 0.01 in the paper). At zero mixes the site's comb
/// logits are comb_logits[s]. InputError for C < 1, a non-square or non-finite logits matrix, or a non-finite alpha.
[[nodiscard]] std::vector<Dsv4Site> dsv4_synthetic_sites(const std::vector<Mat>& comb_logits, Index C, double alpha,
                                                         std::uint64_t seed);

/// (S1)–(S2): the m mixes of a residual state v (n·C, stream-major) through fn (m × n·C).
[[nodiscard]] Vec dsv4_mixes(const Mat& fn, const Vec& v, double norm_eps = 1e-6);

}  // namespace mhclab
