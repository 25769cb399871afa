// analysis/normalised_chain.hpp: the one calibration rule (worked exponents for each of its branches), the operator
// against the dense product, and its input errors. The chain's factors here are a stack's (StackFactors, topk.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include <Eigen/SVD>

#include "mhclab/analysis/normalised_chain.hpp"
#include "mhclab/analysis/scaled_matrix.hpp"
#include "mhclab/analysis/topk.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/pow2.hpp"
#include "mhclab/core/random.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {

/// Â as a dense matrix, column j = Â e_j (and its transpose from perform_transpose).
Mat dense_of(const NormalisedChain& op, bool transpose) {
  const Index d = op.rows();
  Mat A(d, d);
  for (Index j = 0; j < d; ++j) {
    const Vec e = Vec::Unit(d, j);
    if (transpose)
      op.perform_transpose(e.data(), A.col(j).data());
    else
      op.perform_op(e.data(), A.col(j).data());
  }
  return A;
}

Mat mat2(double a, double b, double c, double d) {
  Mat M(2, 2);
  M << a, b, c, d;
  return M;
}

}  // namespace

TEST_SUITE("analysis_normalised_chain") {

TEST_CASE("normalised chain: each branch of the calibration rule, worked exactly") {
  // Probe (1, 1) → normal form p_0 = (1/2, 1/2). Powers of two throughout, so every figure is exact.
  //  l = 1  diag(8, 1):  A p_0 = (4, 1/2) = 2^3·(1/2, 1/16);  ‖A‖_F = √65 < 2^4 → b = 4;  k = max(3, 4 − 64) = 3.
  //  l = 2  [[0, 0], [1, −8]]: A p_1 = (0, 1/2 − 1/2) = 0 with A ≠ 0 → k = b = 4 (√65 again), restart p_2 = p_0.
  //  l = 3  [[1, −1], [0, 2^−70]]: A p_2 = (0, 2^−71) = 2^−70·(0, 1/2);  ‖A‖_F ≈ √2 → b = 1;
  //         k = max(−70, 1 − 64) = −63 (the slack rule binds), p_3 = 2^−7·(0, 1/2).
  //  l = 4  identity·2^10: A p_3 = (0, 4) = 2^3·(0, 1/2) → e = 3; b = 11 (‖A‖_F = 2^10·√2); k = max(3, −53) = 3.
  const std::vector<Mat> stack{mat2(8, 0, 0, 1), mat2(0, 0, 1, -8), mat2(1, -1, 0, std::ldexp(1.0, -70)),
                               mat2(1024, 0, 0, 1024)};
  const StackFactors factors(stack);
  CHECK(factors.bound_exponent(0) == 4);
  CHECK(factors.bound_exponent(2) == 1);
  CHECK(factors.bound_exponent(3) == 11);
  const NormalisedChain op(factors, Vec::Ones(2));
  CHECK(op.exponents() == std::vector<long>{3, 4, -63, 3});
  CHECK(op.exponent_sum() == -53);
  CHECK(op.log_scale() == -53.0 * std::numbers::ln2);
  CHECK(op.log10_scale() == -53.0 * 0.30102999566398119521);
  CHECK_FALSE(op.zero());
  // Â = 2^{−K}·M exactly (products of powers of two and small integers).
  Mat M = Mat::Identity(2, 2);
  for (const Mat& H : stack) M = H * M;
  const Mat want = M * std::ldexp(1.0, 53);
  CHECK(dense_of(op, false) == want);
  CHECK(dense_of(op, true) == want.transpose());
  CHECK(op.applications() == 4);
}

TEST_CASE("normalised chain: a zero factor makes the chain zero") {
  const std::vector<Mat> stack{mat2(2, 1, 0, 3), Mat::Zero(2, 2), mat2(5, 0, 0, 5)};
  const StackFactors factors(stack);
  CHECK_FALSE(factors.bound_exponent(1).has_value());
  const NormalisedChain op(factors, Vec::Ones(2));
  CHECK(op.zero());
  CHECK(op.exponents()[1] == 0);
  CHECK(dense_of(op, false) == Mat::Zero(2, 2));
}

TEST_CASE("normalised chain: O(1) at any depth, and the top singular value of a product beyond the double range") {
  // 1200 factors 3·(I + 0.1 G): the product's norm is ~10^570, far beyond the double range; the calibrated Â keeps
  // the probe at ‖·‖₂ ∈ [1/2, 1) (the same products as the calibration, scaled exactly, so this holds bit for bit) and
  // log10 σ_1 = K·log10 2 + log10 σ̂_1 agrees with the ScaledMatrix product's to 1e-10 (round-off of 1200 products).
  const Index n = 6, L = 1200;  // cheap (O(L·n³)); the full depth in reduced builds too: it must leave the range
  RandomStream rng(11, Purpose::Test, {});
  std::vector<Mat> stack;
  for (Index l = 0; l < L; ++l) {
    Mat G(n, n);
    rng.fill_normal(G, 0.1);
    stack.push_back(3.0 * (Mat::Identity(n, n) + G));
  }
  const StackFactors factors(stack);
  const Vec probe = product_probe(n);
  const NormalisedChain op(factors, probe);
  Vec p = probe, y(n);
  scale_by_pow2(p, -binary_exponent(p.cwiseAbs().maxCoeff()));
  op.perform_op(p.data(), y.data());
  CHECK(y.norm() >= 0.5);  // StackFactors calibrate in the 2-norm
  CHECK(y.norm() < 1.0);
  ScaledMatrix P = ScaledMatrix::identity(n);
  for (const Mat& H : stack) P.left_multiply(H);
  const double want = std::log10(Eigen::JacobiSVD<Mat>(P.M).singularValues()[0]) + P.log10_scale();
  const double got = std::log10(Eigen::JacobiSVD<Mat>(dense_of(op, false)).singularValues()[0]) + op.log10_scale();
  CHECK(want > 300.0);
  MHCLAB_CHECK_NEAR(got, want, 1e-10, 0.0);
}

TEST_CASE("normalised chain: input errors name what was expected") {
  const std::vector<Mat> stack{Mat::Identity(3, 3)};
  const StackFactors factors(stack);
  CHECK_THROWS_WITH_AS((void)NormalisedChain(factors, Vec::Zero(3)),
                       "normalised chain: the probe is not a finite non-zero vector of length 3", InputError);
  CHECK_THROWS_AS((void)NormalisedChain(factors, Vec::Ones(2)), InputError);
  Vec bad = Vec::Ones(3);
  bad[1] = std::nan("");
  CHECK_THROWS_AS((void)NormalisedChain(factors, bad), InputError);
}

}  // TEST_SUITE
