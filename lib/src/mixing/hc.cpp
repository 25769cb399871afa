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
    Vec theta(n_ * n_);
    for (Index i = 0; i < n_; ++i)
      for (Index j = 0; j < n_; ++j) theta[i * n_ + j] = H(i, j);
    return theta;
  }
  MixResult build(const Vec& theta) const override {
    Mat H(n_, n_);
    for (Index i = 0; i < n_; ++i)
      for (Index j = 0; j < n_; ++j) H(i, j) = theta[i * n_ + j];
    return {std::move(H), std::nullopt};
  }
  std::optional<Vec> build_inverse(const Mat& H) const override {  // every matrix is reachable: θ = vec H
    Vec theta(n_ * n_);
    for (Index i = 0; i < n_; ++i)
      for (Index j = 0; j < n_; ++j) theta[i * n_ + j] = H(i, j);
    return theta;
  }
  Vec build_vjp(const Vec&, const Mat& dH) const override {  // ∂H_ij/∂θ_{i·n+j} = 1
    Vec d(n_ * n_);
    for (Index i = 0; i < n_; ++i)
      for (Index j = 0; j < n_; ++j) d[i * n_ + j] = dH(i, j);
    return d;
  }

 private:
  Index n_;
};
}  // namespace
std::unique_ptr<Method> make_hc(const MethodOptions& o) { return std::make_unique<HyperConnections>(o.n); }
}  // namespace mhclab::detail
