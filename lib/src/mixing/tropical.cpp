// The zero-temperature limit of mHC (SPEC §2, §3): H = P_σ for the assignment σ maximising
// Σ_i Z_{iσ(i)}, Z[i, j] = θ[i·n + j]. Inits are mhc's (identity: Z = τ·log H₀, whose optimum is σ = id).
#include "mhclab/mixing/hungarian.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {
class Tropical final : public Method {
 public:
  Tropical(Index n, double tau) : n_(n), tau_(tau) {}
  MethodId id() const override { return MethodId::Tropical; }
  Index n() const override { return n_; }
  Index num_params() const override { return n_ * n_; }
  bool exact_ds() const override { return true; }
  Vec init_params(InitKind kind, double eps) const override { return sinkhorn_init_params(n_, kind, eps, tau_); }
  MixResult build(const Vec& theta) const override {
    return {permutation_matrix(max_weight_assignment(logits_matrix(theta, n_)).sigma), std::nullopt};
  }

 private:
  Index n_;
  double tau_;
};
}  // namespace
std::unique_ptr<Method> make_tropical(const MethodOptions& o) {
  return std::make_unique<Tropical>(o.n, o.init_tau > 0 ? o.init_tau : o.sinkhorn.tau);
}
}  // namespace mhclab::detail
