// DeepSeek-V4's deployed mHC (docs/SPEC_NOTES.md "Sinkhorn as deployed"): the comb logits of one site as the
// checkpoint stores them, L[j, k] = θ[j·n + k] with j the FROM stream and k the TO stream ([from, to]), through
// the deployed Sinkhorn (softmax over k, + ε, then denominators + ε, columns of L first; t = 20, ε = hc_eps = 1e-6).
// The deployed block computes X⁺[k] = post_k·F + Σ_j comb[j, k]·X[j], so the paper-orientation H is combᵀ: with
// Z = Lᵀ (Z[k, j] = L[j, k]) the deployed steps are exactly mhclab's Sinkhorn with the preset start = softmax_cols
// (the softmax of L over k is a softmax down each column of Z), eps_placement = both, order col_then_row — so
// H = sinkhorn(Lᵀ, preset), rows exact up to ε, columns not.
// Sources: deepseek-ai/DeepSeek-V4-Flash inference/kernel.py (the Sinkhorn of `hc_split_sinkhorn`) and
// inference/model.py (the block's hc_pre/hc_post), as cited in docs/SPEC_NOTES.md.
#include <cmath>

#include "mixing/factories.hpp"

namespace mhclab::detail {

namespace {
class Dsv4 final : public Method {
 public:
  Dsv4(Index n, const SinkhornOptions& s, double init_tau)
      : n_(n), sinkhorn_(with_dsv4_preset(s)), init_tau_(init_tau > 0 ? init_tau : s.tau) {}
  MethodId id() const override { return MethodId::Dsv4; }
  Index n() const override { return n_; }
  Index num_params() const override { return n_ * n_; }
  bool exact_ds() const override { return false; }
  /// The logits are symmetric for both inits (authors: 0 on the diagonal, −8 off it, as mhc; identity:
  /// τ·log H₀), so the [from, to] layout is the same matrix. With ε > 0 the identity init is H₀ up to O(nε).
  Vec init_params(InitKind kind, double eps) const override { return sinkhorn_init_params(n_, kind, eps, init_tau_); }
  double logit_tau() const override { return sinkhorn_.tau; }

  MixResult build(const Vec& theta) const override {
    SinkhornResult r = sinkhorn(logits_matrix(theta, n_).transpose(), sinkhorn_);
    return {std::move(r.H), r.summary};
  }
  // dL = dZᵀ: the VJP of the deployed Sinkhorn (unrolled, exp domain), transposed back to the [from, to] layout.
  Vec build_vjp(const Vec& theta, const Mat& dH) const override {
    const Mat dZ = sinkhorn_vjp(logits_matrix(theta, n_).transpose(), sinkhorn_, dH);
    return row_major_vec(dZ.transpose());
  }

 private:
  Index n_;
  SinkhornOptions sinkhorn_;
  double init_tau_;
};
}  // namespace

std::unique_ptr<Method> make_dsv4(const MethodOptions& o) { return std::make_unique<Dsv4>(o.n, o.sinkhorn, o.init_tau); }

}  // namespace mhclab::detail
