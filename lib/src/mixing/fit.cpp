// Adam fit of mix(θ) to a target; see mhclab/mixing/fit.hpp.
#include "mhclab/mixing/fit.hpp"

#include <cmath>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"

namespace mhclab {

namespace {
/// mix(θ) − T, refusing a failed projection.
Mat residual(const Method& method, const Vec& theta, const Mat& T, Index step) {
  const MixResult r = method.mix(theta);
  if (r.sinkhorn && r.sinkhorn->status == SinkhornStatus::NumericalIssue)
    throw ComputeError("fit: Sinkhorn numerical issue at step " + std::to_string(step) + ": " + r.sinkhorn->issue);
  return r.H - T;
}
}  // namespace

void FitOptions::validate() const {
  if (steps < 0) throw InputError("fit-steps = " + std::to_string(steps) + "; must be ≥ 0");
  if (!(std::isfinite(lr) && lr > 0.0)) throw InputError("fit-lr = " + format_double(lr) + "; must be > 0 and finite");
  if (!(beta1 >= 0.0 && beta1 < 1.0)) throw InputError("fit beta1 = " + format_double(beta1) + "; must be in [0, 1)");
  if (!(beta2 >= 0.0 && beta2 < 1.0)) throw InputError("fit beta2 = " + format_double(beta2) + "; must be in [0, 1)");
  if (!(std::isfinite(eps) && eps > 0.0))
    throw InputError("fit eps = " + format_double(eps) + "; must be > 0 and finite");
  if (!(std::isfinite(tol) && tol >= 0.0))
    throw InputError("fit tol = " + format_double(tol) + "; must be ≥ 0 and finite");
}

FitSummary fit_target(const Method& method, Vec theta, const Mat& T, const FitOptions& o) {
  o.validate();
  const Index n = method.n();
  if (T.rows() != n || T.cols() != n)
    throw InputError("fit: target is " + std::to_string(T.rows()) + " × " + std::to_string(T.cols()) +
                     "; expected n × n with n = " + std::to_string(n));
  if (!T.allFinite()) throw InputError("fit: the target has a non-finite entry");
  if (theta.size() != method.num_params())
    throw InputError("fit: θ₀ has " + std::to_string(theta.size()) + " entries; the method takes " +
                     std::to_string(method.num_params()));
  const Index p = theta.size();
  Vec m = Vec::Zero(p), v = Vec::Zero(p);
  FitSummary s;
  Mat R = residual(method, theta, T, 0);
  s.initial_residual_fro = R.norm();
  double b1t = 1.0, b2t = 1.0;  // β^t
  Index t = 0;
  while (t < o.steps && !(o.tol > 0.0 && R.norm() <= o.tol)) {
    ++t;
    const Vec g = method.vjp(theta, R);  // ∇ ½‖R‖² = (∂H/∂θ)ᵀ R
    if (!g.allFinite()) throw ComputeError("fit: non-finite gradient at step " + std::to_string(t));
    m = o.beta1 * m + (1.0 - o.beta1) * g;
    v = o.beta2 * v + (1.0 - o.beta2) * g.cwiseAbs2();
    b1t *= o.beta1;
    b2t *= o.beta2;
    theta.array() -= o.lr * (m.array() / (1.0 - b1t)) / ((v.array() / (1.0 - b2t)).sqrt() + o.eps);
    R = residual(method, theta, T, t);
  }
  s.residual_fro = R.norm();
  s.residual_max = R.size() ? R.cwiseAbs().maxCoeff() : 0.0;
  s.steps = t;
  s.theta = std::move(theta);
  return s;
}

}  // namespace mhclab
