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

/// log_scale ← log_scale + e·ln 2 without accumulating rounding: log_scale is kept as fl(K·ln 2) + frac, where
/// frac = 0 for every product built by this class (frac carries a caller's non-dyadic start value). So after
/// any number of updates log_scale = fl(K·ln 2) — one rounding, not one per update.
void add_pow2(double& log_scale, int e) {
  const double k0 = std::nearbyint(log_scale / std::numbers::ln2);
  const double frac = log_scale - k0 * std::numbers::ln2;
  log_scale = (k0 + static_cast<double>(e)) * std::numbers::ln2 + frac;
}

}  // namespace

ScaledMatrix ScaledMatrix::identity(Index n) {
  if (n < 1) throw InputError("ScaledMatrix::identity: n = " + std::to_string(n) + "; must be ≥ 1");
  return ScaledMatrix{Mat::Identity(n, n) * 0.5, std::numbers::ln2};
}

ScaledMatrix ScaledMatrix::from_matrix(const Mat& A) {
  if (A.rows() != A.cols() || A.rows() < 1)
    throw InputError("ScaledMatrix::from_matrix: matrix is " + std::to_string(A.rows()) + "x" +
                     std::to_string(A.cols()) + "; expected n×n with n ≥ 1");
  if (!A.allFinite()) throw InputError("ScaledMatrix::from_matrix: non-finite entry");
  ScaledMatrix s{A, 0.0};
  s.renormalize();
  return s;
}

double ScaledMatrix::log10_scale() const { return log_scale * std::numbers::log10e; }

Mat ScaledMatrix::value() const {
  Mat V(M.rows(), M.cols());
  for (Index k = 0; k < M.size(); ++k) V.data()[k] = scaled_value(M.data()[k], log_scale);
  return V;
}

void ScaledMatrix::renormalize() {
  if (!M.allFinite()) throw ComputeError("ScaledMatrix: non-finite entry in a depth product");
  const double s = M.size() == 0 ? 0.0 : M.cwiseAbs().maxCoeff();
  if (s == 0.0) {
    log_scale = -std::numeric_limits<double>::infinity();
    return;
  }
  int e = 0;
  (void)std::frexp(s, &e);  // s = f·2^e, f ∈ [1/2, 1)
  if (e == 0) return;
  scale_by_pow2(M, -e);
  add_pow2(log_scale, e);
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
    add_pow2(log_scale, eh);
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
    add_pow2(log_scale, eh);
  }
  renormalize();
}

double scaled_value(double m, double log_scale) {
  if (m == 0.0 || log_scale == -std::numeric_limits<double>::infinity()) return 0.0;
  const double k = std::nearbyint(log_scale / std::numbers::ln2);
  // Beyond ±4000 binary orders every finite m (|m| ∈ [2^-1074, 2^1024)) over/underflows anyway.
  if (k > 4000.0) return m > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  if (k < -4000.0) return m > 0 ? 0.0 : -0.0;
  const double f = log_scale - k * std::numbers::ln2;
  double v = m * std::exp(f);
  int ki = static_cast<int>(k);
  // ldexp in steps so that intermediate 2^step never leaves the range while the result would not.
  while (ki != 0) {
    const int step = ki > 1000 ? 1000 : (ki < -1000 ? -1000 : ki);
    v = std::ldexp(v, step);
    ki -= step;
  }
  return v;
}

}  // namespace mhclab
