// The zero-temperature limit of mHC (SPEC §2, §3): H = P_σ for the assignment σ maximising
// Σ_i Z_{iσ(i)}, Z[i, j] = θ[i·n + j]. Inits are mhc's (identity: Z = τ·log H₀, whose optimum is σ = id).
#include "mhclab/mixing/hungarian.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {
class Tropical final : public Method {
 public:
  Tropical(Index n, double tau, double sinkhorn_tau) : n_(n), tau_(tau), sinkhorn_tau_(sinkhorn_tau) {}
  MethodId id() const override { return MethodId::Tropical; }
  Index n() const override { return n_; }
  Index num_params() const override { return n_ * n_; }
  bool exact_ds() const override { return true; }
  bool orthogonal() const override { return true; }  // a permutation matrix
  Vec init_params(InitKind kind, double eps) const override { return sinkhorn_init_params(n_, kind, eps, tau_); }
  MixResult build(const Vec& theta) const override {
    return {permutation_matrix(max_weight_assignment(logits_matrix(theta, n_)).sigma), std::nullopt};
  }
  // H is piecewise constant in θ (a vertex that changes only where the optimal assignment ties): ∂H/∂θ = 0
  // almost everywhere; at ties the one-sided derivatives are not finite and 0 is returned as well.
  Vec build_vjp(const Vec&, const Mat&) const override { return Vec::Zero(n_ * n_); }
  double logit_tau() const override { return sinkhorn_tau_; }

 private:
  Index n_;
  double tau_;           ///< τ of the identity init's logits
  double sinkhorn_tau_;  ///< the Sinkhorn τ (logit_tau: the range of the exponent Z/τ it is the limit of)
};
}  // namespace
std::unique_ptr<Method> make_tropical(const MethodOptions& o) {
  return std::make_unique<Tropical>(o.n, o.init_tau > 0 ? o.init_tau : o.sinkhorn.tau, o.sinkhorn.tau);
}
}  // namespace mhclab::detail
