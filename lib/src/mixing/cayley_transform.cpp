// The Cayley transform and the Helmert basis; see mixing/cayley_transform.hpp.
#include "mixing/cayley_transform.hpp"

#include <cmath>

#include <Eigen/LU>

namespace mhclab::detail {

Mat skew_part(const Mat& Theta) { return Theta - Theta.transpose(); }
Mat skew_part_vjp(const Mat& dA) { return dA - dA.transpose(); }

Mat cayley(const Mat& A) {
  const Index m = A.rows();
  const Mat I = Mat::Identity(m, m);
  return (I - A).partialPivLu().solve(I + A);
}

Mat cayley_vjp(const Mat& A, const Mat& C, const Mat& G) {
  const Index m = A.rows();
  const Mat I = Mat::Identity(m, m);
  return (I + A).partialPivLu().solve(G) * (I + C).transpose();
}

std::optional<Mat> cayley_inverse(const Mat& C, double tol) {
  const Index m = C.rows();
  const Mat I = Mat::Identity(m, m);
  if (!((C.transpose() * C - I).cwiseAbs().maxCoeff() <= tol)) return std::nullopt;
  // The singularity test is absolute: rcond alone is scale invariant, so when I + C is itself round-off (every
  // eigenvalue of C at −1, e.g. C = −I + O(u)) it can look well conditioned. rcond·‖I + C‖₁ estimates
  // 1/‖(I + C)⁻¹‖₁, the distance of I + C to singularity (‖I + C‖₂ ≤ 2 for an orthogonal C).
  const Mat M = I + C;
  const Eigen::PartialPivLU<Mat> lu(M);
  if (!(lu.rcond() * M.cwiseAbs().colwise().sum().maxCoeff() >= 1e-12)) return std::nullopt;
  const Mat A = lu.solve(C - I);
  return Mat(0.5 * (A - A.transpose()));
}

Mat helmert_basis(Index n) {
  Mat B = Mat::Zero(n, n - 1);
  for (Index k = 0; k + 1 < n; ++k) {
    const double norm = std::sqrt(static_cast<double>((k + 1) * (k + 2)));
    for (Index i = 0; i <= k; ++i) B(i, k) = 1.0 / norm;
    B(k + 1, k) = -static_cast<double>(k + 1) / norm;
  }
  return B;
}

}  // namespace mhclab::detail
