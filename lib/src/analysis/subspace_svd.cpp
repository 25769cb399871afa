// Block subspace iteration for top-k singular values: see mhclab/analysis/subspace_svd.hpp.
#include "mhclab/analysis/subspace_svd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <Eigen/QR>
#include <Eigen/SVD>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"

namespace mhclab {

namespace {

/// The thin Q of A (d×b, b ≤ d) by Householder QR: orthonormal columns whatever A's rank.
Mat orthonormal_columns(const Mat& A) {
  const Eigen::HouseholderQR<Mat> qr(A);
  return qr.householderQ() * Mat::Identity(A.rows(), A.cols());
}

}  // namespace

void SubspaceSvdOptions::validate(Index d) const {
  if (k < 1 || k > d) throw InputError("k = " + std::to_string(k) + "; must satisfy 1 ≤ k ≤ d = " + std::to_string(d));
  if (block != 0 && (block < k || block > d))
    throw InputError("block = " + std::to_string(block) + "; must be 0 (automatic) or satisfy k ≤ block ≤ d");
  if (max_iter < 1) throw InputError("max_iter = " + std::to_string(max_iter) + "; must be ≥ 1");
  if (!(tol > 0.0)) throw InputError("tol must be > 0");
}

SubspaceSvdResult subspace_svd(Index d, const LinearApply& apply, const LinearApply& apply_transpose,
                               const SubspaceSvdOptions& o) {
  o.validate(d);
  const Index k = o.k;
  const Index b = o.block != 0 ? o.block : std::min(d, std::max(2 * k, k + 8));
  Mat Q(d, b);
  {
    RandomStream rng(o.seed, Purpose::Krylov, {static_cast<std::uint64_t>(d), static_cast<std::uint64_t>(b)});
    for (Index j = 0; j < b; ++j)
      for (Index i = 0; i < d; ++i) Q(i, j) = rng.normal();
    Q = orthonormal_columns(Q);
  }
  SubspaceSvdResult r;
  Mat Y(d, b), Z(d, b);
  // The residual test cannot go below the round-off of applying Bᵀ to a unit vector (≈ √d·u·σ₁): tol is floored
  // there. And a residual that has not halved in kStall iterations is at the operator's own round-off: stop.
  const double tol = std::max(o.tol, 64.0 * std::sqrt(static_cast<double>(d)) * 0x1p-53);
  constexpr Index kStall = 20;
  double best = std::numeric_limits<double>::infinity();
  Index best_at = 0;
  for (Index it = 1; it <= o.max_iter; ++it) {
    for (Index j = 0; j < b; ++j) apply(Q.col(j).data(), Y.col(j).data());
    r.applications += b;
    r.iterations = it;
    if (!Y.allFinite()) {
      r.finite = false;
      return r;
    }
    const Eigen::JacobiSVD<Mat> svd(Y, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const Mat U = svd.matrixU();  // d×b, left Ritz vectors
    const Vec s = svd.singularValues();
    for (Index j = 0; j < b; ++j) apply_transpose(U.col(j).data(), Z.col(j).data());
    if (!Z.allFinite()) {
      r.finite = false;
      return r;
    }
    const Mat V = Q * svd.matrixV();  // right Ritz vectors
    const double limit = tol * s[0];
    Index passed = 0;
    double worst = 0.0;
    for (Index i = 0; i < k; ++i) {
      const double res = (Z.col(i) - s[i] * V.col(i)).norm();
      worst = std::max(worst, res);
      if (passed == i && res <= limit) ++passed;
    }
    if (worst <= 0.5 * best) {
      best = worst;
      best_at = it;
    }
    const bool ok = passed == k;
    if (ok || it == o.max_iter || it - best_at >= kStall) {
      r.converged = ok;
      r.converged_count = passed;
      r.sigma = s.head(k);
      if (o.vectors) r.right_vectors = V.leftCols(k);
      return r;
    }
    Q = orthonormal_columns(Z);
  }
  return r;
}

}  // namespace mhclab
