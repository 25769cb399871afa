// TBP (arXiv 2605.21724; SPEC §2, §2.1): the sequential transportation-polytope chart, H = tbp_chart(θ, n)
// (mixing/transport_chart.hpp), θ the (n−1)×(n−1) logits row-major, (n−1)² parameters, exactly doubly
// stochastic with entries ≥ 0 for every θ. n = 1: H = [[1]], no parameters.
// Inits (SPEC §2):
//   authors  θ = 0 (the authors' code). Not identity-like: every X = (lo + hi)/2, so H is symmetric with
//            H[i, i] = 1/3 + 4^{−i}/6 and H[i, j] = H[i, i]·2^{−(j−i)} for i ≤ j ≤ n−2, the last column equal
//            to column n−2 and the last row to row n−2 (n = 4: first row [.5, .25, .125, .125]);
//   identity θ = tbp_params_from_matrix(H₀), H₀ = (1−ε)I + εJ/n, which needs ε > 0 (an interior point).
#include "mhclab/mixing/transport_chart.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {
class TBP final : public Method {
 public:
  explicit TBP(Index n) : n_(n) {}
  MethodId id() const override { return MethodId::TBP; }
  Index n() const override { return n_; }
  Index num_params() const override { return (n_ - 1) * (n_ - 1); }
  bool exact_ds() const override { return true; }
  Vec init_params(InitKind kind, double eps) const override {
    if (kind == InitKind::Authors) return Vec::Zero(num_params());
    check_init_eps(eps, true);  // ε = 0 is I, a vertex: no finite logits
    return tbp_params_from_matrix(identity_target(n_, eps));
  }
  MixResult build(const Vec& theta) const override { return {tbp_chart(theta, n_), std::nullopt}; }

 private:
  Index n_;
};
}  // namespace
std::unique_ptr<Method> make_tbp(const MethodOptions& o) { return std::make_unique<TBP>(o.n); }
}  // namespace mhclab::detail
