// Inverse charts of the mixing methods; see mhclab/mixing/inverse_chart.hpp.
#include "mhclab/mixing/inverse_chart.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/mixing/birkhoff.hpp"
#include "mhclab/mixing/permutations.hpp"
#include "mhclab/mixing/transport_chart.hpp"

namespace mhclab {

namespace {

/// Margin tolerance handed to the BvN decomposition and the transport inverses. T's margins are checked to
/// 1e-9·n first; undoing the modifiers scales the error by 1/(α(1 − δ)) and H' by 1/(1 − s) ≤ 2, so this only has
/// to be loose enough not to refuse a target that passed that check (α ≥ 1e-3 at n ≤ 1000).
constexpr double kInnerTol = 1e-6;

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

/// mhc-lite logits for a positive doubly stochastic H (n ≤ 8), see the header comment.
Vec mhc_lite_inverse(const Mat& H) {
  const Index n = H.rows();
  const double s = std::min(static_cast<double>(n) * H.minCoeff() * (1.0 - 1e-9), 0.5);
  const Mat Hp = (H.array() - s / static_cast<double>(n)).matrix() / (1.0 - s);
  BvnOptions bo;
  bo.margin_tolerance = kInnerTol;
  const std::vector<BvnTerm> terms = birkhoff_decomposition(Hp, bo);
  const Index m = factorial(n);
  Vec w = Vec::Constant(m, s / static_cast<double>(m));
  double total = 0.0;
  for (const BvnTerm& t : terms) total += t.weight;
  for (const BvnTerm& t : terms) w[permutation_rank(t.sigma)] += (1.0 - s) * t.weight / total;
  return w.array().log().matrix();
}

}  // namespace

bool has_inverse_chart(MethodId method) {
  switch (method) {
    case MethodId::HC:
    case MethodId::MHC:
    case MethodId::MHCLite:
    case MethodId::TBP:
    case MethodId::RTBP:
      return true;
    default:
      return false;
  }
}

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
  const Mat H = unmodify(T, mod);
  if (options.method == MethodId::HC) {
    Vec theta(n * n);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) theta[i * n + j] = H(i, j);
    return theta;
  }
  const double tol = 1e-9 * static_cast<double>(n);
  const double margin =
      std::max((T.rowwise().sum().array() - 1.0).abs().maxCoeff(), (T.colwise().sum().array() - 1.0).abs().maxCoeff());
  if (!(margin <= tol))
    throw InputError("inverse chart: the target's row/column sums are off 1 by " + std::to_string(margin) +
                     "; expected a doubly stochastic target (within 1e-9·n)");
  if (!(H.minCoeff() > 0.0)) return std::nullopt;  // boundary or outside: no finite parameters
  switch (options.method) {
    case MethodId::MHC: {
      const double tau = options.sinkhorn.tau;
      Vec theta(n * n);
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < n; ++j) theta[i * n + j] = tau * std::log(H(i, j));
      return theta;
    }
    case MethodId::MHCLite:
      return mhc_lite_inverse(H);
    case MethodId::TBP:
      return tbp_params_from_matrix(H, kInnerTol);
    case MethodId::RTBP:
      return rtbp_params_from_matrix(H, kInnerTol);
    default:
      return std::nullopt;
  }
}

double reach_error(const Method& method, const Vec& theta, const Mat& T) {
  const MixResult r = method.mix(theta);
  if (r.sinkhorn && r.sinkhorn->status == SinkhornStatus::NumericalIssue)
    throw ComputeError("reach error: Sinkhorn numerical issue: " + r.sinkhorn->issue);
  return (r.H - T).cwiseAbs().maxCoeff();
}

}  // namespace mhclab
