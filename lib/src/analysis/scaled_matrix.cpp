// analysis/scaled_matrix.hpp: depth products with a separate log scale (SPEC §4).
#include "mhclab/analysis/scaled_matrix.hpp"

#include <numbers>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/pow2.hpp"

namespace mhclab {
namespace {

void require_square(const Mat& H, Index n, const char* what) {
  if (H.rows() != n || H.cols() != n)
    throw InputError(std::string(what) + ": factor is " + std::to_string(H.rows()) + "x" +
                     std::to_string(H.cols()) + ", product is " + std::to_string(n) + "x" + std::to_string(n));
}

/// Multiplies with H scaled to max|H| < 2^1 when its own magnitude could overflow the product
/// (|(HM)_ij| ≤ n·max|H|·max|M|, max|M| < 1): returns the binary exponent taken out of H.
int factor_exponent(const Mat& H) {
  const double h = H.size() == 0 ? 0.0 : H.cwiseAbs().maxCoeff();
  if (!std::isfinite(h)) throw InputError("depth product: factor has a non-finite entry");
  if (h == 0.0) return 0;
  int e = 0;
  (void)std::frexp(h, &e);
  return (e > 500 || e < -500) ? e : 0;  // ordinary magnitudes: use H as it is (no copy, no rounding)
}

}  // namespace

ScaledMatrix ScaledMatrix::identity(Index n) {
  if (n < 1) throw InputError("ScaledMatrix::identity: n = " + std::to_string(n) + "; must be ≥ 1");
  return ScaledMatrix{Mat::Identity(n, n) * 0.5, 1};
}

ScaledMatrix ScaledMatrix::from_matrix(const Mat& A) {
  if (A.rows() != A.cols() || A.rows() < 1)
    throw InputError("ScaledMatrix::from_matrix: matrix is " + std::to_string(A.rows()) + "x" +
                     std::to_string(A.cols()) + "; expected n×n with n ≥ 1");
  if (!A.allFinite()) throw InputError("ScaledMatrix::from_matrix: non-finite entry");
  ScaledMatrix s{A, 0};
  s.renormalize();
  return s;
}

bool ScaledMatrix::is_zero() const { return M.size() == 0 || M.cwiseAbs().maxCoeff() == 0.0; }

double ScaledMatrix::log_scale() const {
  return is_zero() ? -std::numeric_limits<double>::infinity() : static_cast<double>(exponent) * std::numbers::ln2;
}

double ScaledMatrix::log10_scale() const { return log_scale() * std::numbers::log10e; }

Mat ScaledMatrix::value() const { return times_pow2(M, exponent); }

void ScaledMatrix::renormalize() {
  if (!M.allFinite()) throw ComputeError("ScaledMatrix: non-finite entry in a depth product");
  const double s = M.size() == 0 ? 0.0 : M.cwiseAbs().maxCoeff();
  if (s == 0.0) {  // the zero value: +0 entries (no −0 left over from the product), exponent 0
    M.setZero();
    exponent = 0;
    return;
  }
  const long e = binary_exponent(s);  // s = f·2^e, f ∈ [1/2, 1)
  scale_by_pow2(M, -e);
  exponent += e;
}

void ScaledMatrix::left_multiply(const Mat& H) {
  require_square(H, n(), "ScaledMatrix::left_multiply");
  const int eh = factor_exponent(H);
  if (is_zero()) return;  // 0 stays 0 (H finite)
  if (eh == 0) {
    M = H * M;
  } else {
    Mat Hs = H;
    scale_by_pow2(Hs, -eh);
    M = Hs * M;
    exponent += eh;
  }
  renormalize();
}

void ScaledMatrix::right_multiply(const Mat& H) {
  require_square(H, n(), "ScaledMatrix::right_multiply");
  const int eh = factor_exponent(H);
  if (is_zero()) return;
  if (eh == 0) {
    M = M * H;
  } else {
    Mat Hs = H;
    scale_by_pow2(Hs, -eh);
    M = M * Hs;
    exponent += eh;
  }
  renormalize();
}

double scaled_value(double m, double log_scale) {
  if (m == 0.0 || log_scale == -std::numeric_limits<double>::infinity()) return 0.0;
  if (std::isnan(log_scale) || std::isnan(m)) return std::numeric_limits<double>::quiet_NaN();
  const double k = std::nearbyint(log_scale / std::numbers::ln2);
  // Beyond ±4000 binary orders every finite m (|m| ∈ [2^-1074, 2^1024)) over/underflows anyway.
  if (k > 4000.0) return m > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  if (k < -4000.0) return m > 0 ? 0.0 : -0.0;
  // A binary scale fl(k·ln 2) — every log scale of the library's scaled types — is applied exactly; any other
  // value as e^f·2^k with f = log_scale − k·ln 2 rounded once. Both are written with explicit fma, so the result
  // does not depend on whether the compiler contracts a·b + c (with contraction, `log_scale − k·ln2` is the
  // rounding error of fl(k·ln 2), not 0, and a product's value came out some ulps off).
  // Any other scale: f = log_scale − k·ln 2 with ln 2 split in two parts (Cody–Waite; fdlibm's ln2_hi/ln2_lo), so
  // f carries no error from the size of k.
  if (log_scale == std::fma(k, std::numbers::ln2, 0.0)) return times_pow2(m, static_cast<long>(k));
  constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  const double f = std::fma(-k, kLn2Lo, std::fma(-k, kLn2Hi, log_scale));
  return times_pow2(m * std::exp(f), static_cast<long>(k));
}

}  // namespace mhclab
