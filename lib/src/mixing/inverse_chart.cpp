// Inverse charts of the mixing methods; see mhclab/mixing/inverse_chart.hpp.
#include "mhclab/mixing/inverse_chart.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "mhclab/core/error.hpp"
#include "mixing/factories.hpp"

namespace mhclab {

namespace {

/// Undoes the modifiers: H* with apply_modifiers(H*) = T.
Mat unmodify(const Mat& T, const Modifiers& m) {
  const Index n = T.rows();
  Mat H = T;
  if (m.minorize != 0.0) {
    H.array() -= m.minorize / static_cast<double>(n);
    H /= 1.0 - m.minorize;  // δ = 1 maps everything to J/n: not invertible (checked by the caller)
  }
  if (m.lazy != 0.0) {
    H.diagonal().array() -= 1.0 - m.lazy;
    H /= m.lazy;
  }
  return H;
}

}  // namespace

bool has_inverse_chart(MethodId method) { return method_traits(method).inverse_chart; }

std::optional<Vec> inverse_chart(const MethodOptions& options, const Mat& T) {
  options.validate();
  const Index n = options.n;
  if (T.rows() != n || T.cols() != n)
    throw InputError("inverse chart: target is " + std::to_string(T.rows()) + " × " + std::to_string(T.cols()) +
                     "; expected n × n with n = " + std::to_string(n));
  if (!T.allFinite()) throw InputError("inverse chart: the target has a non-finite entry");
  if (!has_inverse_chart(options.method)) return std::nullopt;
  const Modifiers& mod = options.modifiers;
  if (mod.minorize == 1.0) return std::nullopt;  // every θ gives J/n: nothing to invert
  return make_method(options)->build_inverse(unmodify(T, mod));
}

namespace detail {
bool check_ds_target(const Method& method, const Mat& H) {
  // H = unmodify(T): T1 − 1 = α(1−δ)(H1 − 1) (α = 1 when lazy is off), so the target's own margin error is
  // α(1−δ) times H's; the tolerance is on the target's.
  const Modifiers& m = method.modifiers();
  const double scale = (m.lazy != 0.0 ? m.lazy : 1.0) * (1.0 - m.minorize);
  const double tol = 1e-9 * static_cast<double>(H.rows());
  const double margin = scale * std::max((H.rowwise().sum().array() - 1.0).abs().maxCoeff(),
                                         (H.colwise().sum().array() - 1.0).abs().maxCoeff());
  if (!(margin <= tol))
    throw InputError("inverse chart: the target's row/column sums are off 1 by " + std::to_string(margin) +
                     "; expected a doubly stochastic target (within 1e-9·n)");
  return H.minCoeff() > 0.0;  // boundary or outside: no finite parameters
}
}  // namespace detail

double reach_error(const Method& method, const Vec& theta, const Mat& T) {
  const MixResult r = method.mix(theta);
  if (r.sinkhorn && r.sinkhorn->status == SinkhornStatus::NumericalIssue)
    throw ComputeError("reach error: Sinkhorn numerical issue: " + r.sinkhorn->issue);
  return (r.H - T).cwiseAbs().maxCoeff();
}

}  // namespace mhclab
