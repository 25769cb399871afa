// analysis/token_average.hpp: token-averaged stacks and products.
#include "mhclab/analysis/token_average.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "mhclab/analysis/scaled_matrix.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/pow2.hpp"

namespace mhclab {
namespace {

void validate_tokens(const std::vector<std::vector<Mat>>& tokens) {
  if (tokens.empty()) throw InputError("token-average: the stack holds no tokens");
  const std::size_t L = tokens.front().size();
  if (L == 0) throw InputError("token-average: the stack holds no layers");
  const Index n = tokens.front().front().rows();
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    if (tokens[t].size() != L)
      throw InputError("token-average: token " + std::to_string(t) + " has " + std::to_string(tokens[t].size()) +
                       " layers; token 0 has " + std::to_string(L));
    for (const Mat& H : tokens[t])
      if (H.rows() != n || H.cols() != n || n < 1)
        throw InputError("token-average: every matrix must be " + std::to_string(n) + "×" + std::to_string(n));
  }
}

/// (1/T) Σ_t value(P_t) with the common binary exponent K = max_t K_t of the non-zero terms: each term enters as
/// M_t·2^{K_t − K}, an exact scaling (terms far below the largest underflow to 0, which is their true relative
/// weight).
ScaledMatrix mean_of(const std::vector<ScaledMatrix>& P) {
  bool any = false;
  long top = 0;
  for (const auto& p : P)
    if (!p.is_zero()) {
      top = any ? std::max(top, p.exponent) : p.exponent;
      any = true;
    }
  ScaledMatrix out;
  out.M = Mat::Zero(P.front().n(), P.front().n());
  if (!any) return out;  // every term is zero
  for (const auto& p : P)
    if (!p.is_zero()) out.M += times_pow2(p.M, p.exponent - top);
  out.M /= static_cast<double>(P.size());
  out.exponent = top;
  out.renormalize();
  return out;
}

Mat centred(const Mat& H) { return H.array() - 1.0 / static_cast<double>(H.rows()); }

}  // namespace

std::vector<Mat> mean_stack(const std::vector<std::vector<Mat>>& tokens) {
  validate_tokens(tokens);
  std::vector<Mat> out = tokens.front();
  for (std::size_t t = 1; t < tokens.size(); ++t)
    for (std::size_t l = 0; l < out.size(); ++l) out[l] += tokens[t][l];
  for (Mat& H : out) H /= static_cast<double>(tokens.size());
  return out;
}

std::vector<DepthMetrics> composite_metrics(const std::vector<std::vector<Mat>>& tokens, ProductKind kind) {
  validate_tokens(tokens);
  if (kind == ProductKind::Layer) return depth_metrics(mean_stack(tokens), ProductKind::Layer);
  const std::size_t T = tokens.size(), L = tokens.front().size();
  const Index n = tokens.front().front().rows();
  bool centre = true;
  for (const auto& s : tokens) centre = centre && has_unit_margins(s);
  std::vector<ScaledMatrix> P(T, ScaledMatrix::identity(n)), C(T);
  std::vector<DepthMetrics> out(L);
  const bool prefix = kind == ProductKind::Prefix;
  for (std::size_t step = 0; step < L; ++step) {
    const std::size_t l = prefix ? step : L - 1 - step;  // prefix: M_l = H_l·M_{l−1}; suffix: S_l = S_{l+1}·H_l
    for (std::size_t t = 0; t < T; ++t) {
      const Mat& H = tokens[t][l];
      if (prefix) P[t].left_multiply(H);
      else P[t].right_multiply(H);
      if (!centre) continue;
      if (step == 0) C[t] = ScaledMatrix::from_matrix(centred(H));
      else if (prefix) C[t].left_multiply(centred(H));
      else C[t].right_multiply(centred(H));
    }
    const ScaledMatrix mean = mean_of(P);
    if (centre) {
      const ScaledMatrix mean_c = mean_of(C);
      out[l] = product_metrics(mean, &mean_c, {}, static_cast<Index>(step + 1));
    } else {
      out[l] = product_metrics(mean, nullptr, {}, static_cast<Index>(step + 1));
    }
  }
  return out;
}

}  // namespace mhclab
