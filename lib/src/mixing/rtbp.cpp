// Recursive TBP (arXiv 2605.21724; SPEC §2, §2.2): H = rtbp_chart(θ, n) (mixing/transport_chart.hpp), the
// authors' general recursive block construction for every n ≥ 1 (even n: 2×2 blocks of size n/2; odd n: last
// row and column, then size n−1), (n−1)² parameters consumed left to right, exactly doubly stochastic with
// entries ≥ 0 for every θ. n = 1: H = [[1]], no parameters.
// Inits (SPEC §2):
//   authors  θ = 0 (the authors' code): H = J/n for n = 2^k (each block mass and split is the midpoint of an
//            interval that is symmetric for uniform margins); other n give another fixed matrix, e.g. n = 3:
//            [[.375, .375, .25], [.375, .375, .25], [.25, .25, .5]];
//   identity θ = rtbp_params_from_matrix(H₀), H₀ = (1−ε)I + εJ/n, which needs ε > 0 (an interior point).
#include "mhclab/mixing/transport_chart.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {
class RTBP final : public Method {
 public:
  explicit RTBP(Index n) : n_(n) {}
  MethodId id() const override { return MethodId::RTBP; }
  Index n() const override { return n_; }
  Index num_params() const override { return (n_ - 1) * (n_ - 1); }
  bool exact_ds() const override { return true; }
  Vec init_params(InitKind kind, double eps) const override {
    if (kind == InitKind::Authors) return Vec::Zero(num_params());
    check_init_eps(eps, true);  // ε = 0 is I, a vertex: no finite logits
    return rtbp_params_from_matrix(identity_target(n_, eps));
  }
  MixResult build(const Vec& theta) const override { return {rtbp_chart(theta, n_), std::nullopt}; }

 private:
  Index n_;
};
}  // namespace
std::unique_ptr<Method> make_rtbp(const MethodOptions& o) { return std::make_unique<RTBP>(o.n); }
}  // namespace mhclab::detail
