// mHC (arXiv 2512.24880): H = Sinkhorn–Knopp(exp(Z/τ)), Z[i, j] = θ[i·n + j] (row-major), n² parameters; with
// projection = newton the converged entropic projection of exp(Z/τ) (mixing/birkhoff_projection.hpp).
// Inits (SPEC §2): authors Z = 0 on the diagonal, −8 off it; identity Z = τ·log H₀ (a positive doubly
// stochastic matrix is a Sinkhorn fixed point, so H = H₀ up to round-off after any t).
#include <cmath>

#include "mhclab/core/error.hpp"
#include "mhclab/mixing/birkhoff_projection.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {

Mat logits_matrix(const Vec& theta, Index n) {
  Mat Z(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) Z(i, j) = theta[i * n + j];
  return Z;
}

Vec row_major_vec(const Mat& M) {
  Vec v(M.size());
  for (Index i = 0; i < M.rows(); ++i)
    for (Index j = 0; j < M.cols(); ++j) v[i * M.cols() + j] = M(i, j);
  return v;
}

Vec sinkhorn_init_params(Index n, InitKind kind, double eps, double tau) {
  Vec theta(n * n);
  if (kind == InitKind::Authors) {
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) theta[i * n + j] = i == j ? 0.0 : -8.0;
    return theta;
  }
  check_init_eps(eps, true);  // log 0 = −∞: ε = 0 has no finite logits
  const Mat H0 = identity_target(n, eps);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) theta[i * n + j] = tau * std::log(H0(i, j));
  return theta;
}

namespace {
class MHC final : public Method {
 public:
  MHC(Index n, const SinkhornOptions& s, double init_tau) : n_(n), sinkhorn_(s), init_tau_(init_tau > 0 ? init_tau : s.tau) {}
  MethodId id() const override { return MethodId::MHC; }
  Index n() const override { return n_; }
  Index num_params() const override { return n_ * n_; }
  bool exact_ds() const override { return false; }
  Vec init_params(InitKind kind, double eps) const override {
    return sinkhorn_init_params(n_, kind, eps, init_tau_);
  }
  MixResult build(const Vec& theta) const override {
    if (sinkhorn_.projection == SinkhornProjection::Newton) {
      EntropicProjectionResult p = entropic_projection(logits_matrix(theta, n_), newton());
      SinkhornSummary s;
      s.status = p.status == ProjectionStatus::Converged        ? SinkhornStatus::Converged
                 : p.status == ProjectionStatus::MaxIterations ? SinkhornStatus::MaxIterations
                                                               : SinkhornStatus::NumericalIssue;
      s.iterations = p.iterations;
      s.row_err = s.trunc_row_err = p.row_err;
      s.col_err = s.trunc_col_err = p.col_err;
      s.issue = p.issue;
      return {std::move(p.H), s};
    }
    SinkhornResult r = sinkhorn(logits_matrix(theta, n_), sinkhorn_);
    return {std::move(r.H), r.summary};
  }
  // dθ = vec(dZ), dZ = (∂H/∂Z)ᵀ dH from the unrolled Sinkhorn iterations (sinkhorn_vjp: fp64 map, fixed count).
  // newton: implicit differentiation at the converged H (entropic_projection_vjp).
  Vec build_vjp(const Vec& theta, const Mat& dH) const override {
    const Mat dZ = sinkhorn_.projection == SinkhornProjection::Newton
                       ? entropic_projection_vjp(logits_matrix(theta, n_), newton(), dH)
                       : sinkhorn_vjp(logits_matrix(theta, n_), sinkhorn_, dH);
    return row_major_vec(dZ);
  }
  double logit_tau() const override { return sinkhorn_.tau; }
  /// Z = τ·log H for a positive doubly stochastic H (a Sinkhorn fixed point, inverse_chart.hpp).
  /// With the deployed ε > 0 the iteration's fixed points are not doubly stochastic: no chart (InputError).
  std::optional<Vec> build_inverse(const Mat& H) const override {
    if (sinkhorn_.eps_value() != 0.0)
      throw InputError("inverse chart: mhc with eps > 0 has none (ε moves the Sinkhorn fixed point off the doubly "
                       "stochastic matrices); use eps = 0");
    if (!check_ds_target(*this, H)) return std::nullopt;
    return row_major_vec(sinkhorn_.tau * H.array().log().matrix());
  }

 private:
  NewtonProjectionOptions newton() const {
    NewtonProjectionOptions o;
    o.tau = sinkhorn_.tau;
    return o;
  }
  Index n_;
  SinkhornOptions sinkhorn_;
  double init_tau_;
};
}  // namespace
std::unique_ptr<Method> make_mhc(const MethodOptions& o) { return std::make_unique<MHC>(o.n, o.sinkhorn, o.init_tau); }
}  // namespace mhclab::detail
