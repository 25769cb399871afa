// The one registry of methods: enum → factory. The enum↔string table is `method_table` (method.hpp).
#include "mhclab/core/format.hpp"
#include <cmath>
#include <cstdio>
#include <string>

#include "mhclab/core/error.hpp"
#include "mixing/factories.hpp"

namespace mhclab {

namespace {
using Factory = std::unique_ptr<Method> (*)(const MethodOptions&);
/// θ as a matrix: none, n×n, (n−1)×(n−1) or ns×ns (go-mhc) (row-major).
enum class ParamMatrix { None, N, NMinus1, NS };
constexpr GateStyle kLinear = GateStyle::Linear, kSigmoid = GateStyle::Sigmoid;
struct Entry {
  MethodId id;
  Factory make;
  ParamMatrix param_matrix;
  GateStyle gates;
  bool inverse_chart;
};
constexpr Entry kRegistry[] = {
    {MethodId::ResNet, &detail::make_resnet, ParamMatrix::None, kLinear, false},
    {MethodId::HC, &detail::make_hc, ParamMatrix::N, kLinear, true},
    {MethodId::MHC, &detail::make_mhc, ParamMatrix::N, kSigmoid, true},
    {MethodId::Tropical, &detail::make_tropical, ParamMatrix::N, kSigmoid, false},
    {MethodId::MHCLite, &detail::make_mhc_lite, ParamMatrix::None, kSigmoid, true},
    {MethodId::KromHC, &detail::make_kromhc, ParamMatrix::None, kSigmoid, false},
    {MethodId::TBP, &detail::make_tbp, ParamMatrix::NMinus1, kSigmoid, true},
    {MethodId::RTBP, &detail::make_rtbp, ParamMatrix::None, kSigmoid, true},
    {MethodId::GoMHC, &detail::make_go_mhc, ParamMatrix::NS, kSigmoid, false},
    {MethodId::Circulant, &detail::make_circulant, ParamMatrix::None, kSigmoid, true},
    {MethodId::Cayley, &detail::make_cayley, ParamMatrix::N, kSigmoid, true},
    {MethodId::SHC, &detail::make_shc, ParamMatrix::None, kSigmoid, false},
    {MethodId::IsoHC, &detail::make_isohc, ParamMatrix::NMinus1, kSigmoid, true},
    {MethodId::Dsv4, &detail::make_dsv4, ParamMatrix::N, kSigmoid, false},
};

const Entry& entry_of(MethodId id) {
  for (const Entry& e : kRegistry)
    if (e.id == id) return e;
  throw InputError("method '" + std::string(method_table.to_string(id)) + "' is not available in this build");
}

}  // namespace

void Modifiers::validate() const {
  if (!(lazy >= 0.0 && lazy <= 1.0))
    throw InputError("lazy = " + format_double(lazy, "%g") + "; must be in [0, 1] (H ← (1−α)I + αH)");
  if (!(minorize >= 0.0 && minorize <= 1.0))
    throw InputError("minorize = " + format_double(minorize, "%g") + "; must be in [0, 1] (H ← (1−δ)H + δJ/n)");
}

void MethodOptions::validate() const {
  if (n < 1) throw InputError("n = " + std::to_string(n) + "; must be ≥ 1");
  if (n > 4096) throw InputError("n = " + std::to_string(n) + "; must be ≤ 4096");
  modifiers.validate();
  if (!(init_tau >= 0.0 && std::isfinite(init_tau)))
    throw InputError("init-tau = " + format_double(init_tau) + "; must be ≥ 0 (0 = the Sinkhorn τ)");
  if (method == MethodId::MHC) sinkhorn.validate();
  if (method == MethodId::Dsv4) with_dsv4_preset(sinkhorn).validate();
  if (method == MethodId::Tropical && !(sinkhorn.tau > 0.0 && std::isfinite(sinkhorn.tau)))
    throw InputError("tau = " + format_double(sinkhorn.tau, "%g") + "; must be > 0 and finite");
  if (go_s < 1 || go_s > 64) throw InputError("go-s = " + std::to_string(go_s) + "; must be in 1..64");
  if (method == MethodId::GoMHC && n * go_s > 4096)
    throw InputError("go-mhc: n·go-s = " + std::to_string(n * go_s) + "; must be ≤ 4096 (Θ is ns×ns)");
  if (!(gamma > 0.0 && gamma <= 1.0))
    throw InputError("gamma = " + format_double(gamma, "%g") + "; must be in (0, 1] (c = (1−γ)e₀ + γ·softmax(z))");
  if (!(alpha > 0.0 && std::isfinite(alpha)))
    throw InputError("alpha = " + format_double(alpha, "%g") + "; must be > 0 and finite");
  if (cayley_steps < 0 || cayley_steps > 1000)
    throw InputError("cayley-steps = " + std::to_string(cayley_steps) + "; must be in 0..1000 (0 = exact)");
}

std::unique_ptr<Method> make_method(const MethodOptions& options) {
  options.validate();
  std::unique_ptr<Method> m = entry_of(options.method).make(options);
  m->modifiers_ = options.modifiers;
  return m;
}

ParamMatrixShape param_matrix_shape(const MethodOptions& o) {
  const Index n = o.n;
  switch (entry_of(o.method).param_matrix) {
    case ParamMatrix::None: return {};
    case ParamMatrix::N: return {n, n};
    case ParamMatrix::NMinus1: return n >= 2 ? ParamMatrixShape{n - 1, n - 1} : ParamMatrixShape{};
    case ParamMatrix::NS: return {n * o.go_s, n * o.go_s};
  }
  return {};
}

MethodTraits method_traits(MethodId method) {
  const Entry& e = entry_of(method);
  return {e.gates, e.inverse_chart};
}

std::optional<Vec> Method::build_inverse(const Mat&) const { return std::nullopt; }

void apply_modifiers(Mat& H, const Modifiers& m) {
  const Index n = H.rows();
  if (m.lazy != 0.0) {
    H *= m.lazy;
    H.diagonal().array() += 1.0 - m.lazy;
  }
  if (m.minorize != 0.0) {
    H *= 1.0 - m.minorize;
    H.array() += m.minorize / static_cast<double>(n);
  }
}

namespace {
void check_theta(const Method& method, const Vec& theta) {
  if (theta.size() != method.num_params())
    throw InputError("method '" + std::string(method_table.to_string(method.id())) + "' with n = " +
                     std::to_string(method.n()) + " takes " + std::to_string(method.num_params()) +
                     " parameters; got " + std::to_string(theta.size()));
  for (Index k = 0; k < theta.size(); ++k)
    if (!std::isfinite(theta[k]))
      throw InputError("parameter " + std::to_string(k) + " is not finite (" + format_double(theta[k], "%g") + ")");
}
}  // namespace

MixResult Method::mix(const Vec& theta) const {
  check_theta(*this, theta);
  MixResult r = build(theta);
  if (r.H.size() == 0 || !modifiers_.active()) return r;
  apply_modifiers(r.H, modifiers_);
  // The summary's marginal errors describe the returned H (the modifiers scale them by α(1−δ)); the truncation and
  // rounding errors stay those of the projection itself.
  if (r.sinkhorn) {
    r.sinkhorn->row_err = row_error(r.H);
    r.sinkhorn->col_err = col_error(r.H);
  }
  return r;
}

Vec Method::vjp(const Vec& theta, const Mat& dH) const {
  check_theta(*this, theta);
  const Index n = this->n();
  if (dH.rows() != n || dH.cols() != n)
    throw InputError("dH is " + std::to_string(dH.rows()) + "×" + std::to_string(dH.cols()) + "; expected " +
                     std::to_string(n) + "×" + std::to_string(n));
  // H' = (1−δ)((1−α)I + αH) + δJ/n is affine in H: ∂H'/∂H = (1−δ)·α (α = 1 when lazy is off).
  const double scale = (modifiers_.lazy != 0.0 ? modifiers_.lazy : 1.0) * (1.0 - modifiers_.minorize);
  return build_vjp(theta, scale == 1.0 ? dH : Mat(scale * dH));
}

Mat mix_jacobian(const Method& method, const Vec& theta) {
  const Index n = method.n();
  Mat J(n * n, method.num_params());
  Mat E = Mat::Zero(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      E(i, j) = 1.0;
      J.row(i * n + j) = method.vjp(theta, E).transpose();
      E(i, j) = 0.0;
    }
  return J;
}

namespace detail {
Mat identity_target(Index n, double eps) {
  Mat H = Mat::Constant(n, n, eps / static_cast<double>(n));
  H.diagonal().array() += 1.0 - eps;
  return H;
}
void check_init_eps(double eps, bool strictly_positive) {
  if (!(eps >= 0.0 && eps <= 1.0) || (strictly_positive && eps <= 0.0))
    throw InputError("init-eps = " + format_double(eps, "%g") + "; must be in " + (strictly_positive ? "(0, 1]" : "[0, 1]") +
                     " (H₀ = (1−ε)I + εJ/n)");
}
}  // namespace detail

}  // namespace mhclab
