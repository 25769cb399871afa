// Hyper-Connections (arXiv 2409.19606): unconstrained H[i, j] = θ[i·n + j] (row-major), n² parameters.
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {
class HyperConnections final : public Method {
 public:
  explicit HyperConnections(Index n) : n_(n) {}
  MethodId id() const override { return MethodId::HC; }
  Index n() const override { return n_; }
  Index num_params() const override { return n_ * n_; }
  bool exact_ds() const override { return false; }
  Vec init_params(InitKind kind, double eps) const override {
    check_init_eps(eps, false);
    // authors: H = I (HC's static init); identity: H₀ itself.
    const Mat H = kind == InitKind::Authors ? Mat::Identity(n_, n_) : identity_target(n_, eps);
    return row_major_vec(H);
  }
  MixResult build(const Vec& theta) const override {
    return {logits_matrix(theta, n_), std::nullopt};
  }
  std::optional<Vec> build_inverse(const Mat& H) const override {  // every matrix is reachable: θ = vec H
    return row_major_vec(H);
  }
  Vec build_vjp(const Vec&, const Mat& dH) const override {  // ∂H_ij/∂θ_{i·n+j} = 1
    return row_major_vec(dH);
  }

 private:
  Index n_;
};
}  // namespace
std::unique_ptr<Method> make_hc(const MethodOptions& o) { return std::make_unique<HyperConnections>(o.n); }
}  // namespace mhclab::detail
