// analysis/subspace_svd.hpp: top-k singular values by block subspace iteration, against dense SVDs.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <Eigen/QR>
#include <Eigen/SVD>

#include "mhclab/analysis/subspace_svd.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {

SubspaceSvdResult run(const Mat& B, const SubspaceSvdOptions& o) {
  const Index d = B.rows();
  return subspace_svd(
      d, [&](const double* x, double* y) { Eigen::Map<Vec>(y, d) = B * Eigen::Map<const Vec>(x, d); },
      [&](const double* x, double* y) { Eigen::Map<Vec>(y, d) = B.transpose() * Eigen::Map<const Vec>(x, d); }, o);
}

Mat gaussian(RandomStream& rng, Index r, Index c) {
  Mat G(r, c);
  rng.fill_normal(G);
  return G;
}

/// U diag(s) Vᵀ with random orthogonal U, V.
Mat with_singular_values(const Vec& s, std::uint64_t key) {
  RandomStream rng(key, Purpose::Test, {9});
  const Index d = s.size();
  const Mat U = Eigen::HouseholderQR<Mat>(gaussian(rng, d, d)).householderQ();
  const Mat V = Eigen::HouseholderQR<Mat>(gaussian(rng, d, d)).householderQ();
  return U * s.asDiagonal() * V.transpose();
}

}  // namespace

TEST_SUITE("analysis_subspace_svd") {

TEST_CASE("subspace_svd: top-k of Gaussian matrices equal JacobiSVD") {
  // A Gaussian spectrum decays slowly, the hard case for subspace iteration. Residual test tol = 1e-12 bounds
  // |σ_i − σ_i(B)| ≤ 1e-12·σ_1; the check allows 1e-11·σ_1 for the dense reference's own round-off.
  for (Index d : {5, 30, 120}) {
    RandomStream rng(3, Purpose::Test, {static_cast<std::uint64_t>(d)});
    const Mat B = gaussian(rng, d, d);
    const Vec ref = Eigen::JacobiSVD<Mat>(B).singularValues();
    for (Index k : {Index(1), std::min<Index>(d, 4), d}) {
      CAPTURE(d);
      CAPTURE(k);
      SubspaceSvdOptions o;
      o.k = k;
      o.vectors = true;
      const SubspaceSvdResult r = run(B, o);
      REQUIRE(r.converged);
      CHECK(r.converged_count == k);
      REQUIRE(r.sigma.size() == k);
      for (Index i = 0; i < k; ++i) MHCLAB_CHECK_NEAR(r.sigma[i], ref[i], 1e-11 * ref[0], 0.0);
      // right vectors: orthonormal, ‖B v_i‖ = σ_i
      CHECK(test::max_abs_diff(r.right_vectors.transpose() * r.right_vectors, Mat::Identity(k, k)) <= 1e-12);
      for (Index i = 0; i < k; ++i) MHCLAB_CHECK_NEAR((B * r.right_vectors.col(i)).norm(), r.sigma[i], 1e-10 * ref[0], 0.0);
      CHECK(r.applications == r.iterations * std::min(d, std::max(2 * k, k + 8)));
    }
  }
}

TEST_CASE("subspace_svd: numerically low-rank operators (where Spectra 1.0.1's Gram solve fails)") {
  // Rank 1 (u vᵀ, σ_1 = ‖u‖‖v‖), rank 2 with the rest at 1e-14·σ_1, and a 1e-30-scale tail: the top values are
  // exact to round-off (1e-13 relative) and the rest are ≤ 1e-13·σ_1.
  const Index d = 64;
  RandomStream rng(11, Purpose::Test, {1});
  const Vec u = gaussian(rng, d, 1), v = gaussian(rng, d, 1);
  {
    SubspaceSvdOptions o;
    o.k = 3;
    const SubspaceSvdResult r = run(u * v.transpose(), o);
    REQUIRE(r.converged);
    MHCLAB_CHECK_NEAR(r.sigma[0], u.norm() * v.norm(), 0.0, 1e-13);
    CHECK(r.sigma[1] <= 1e-13 * r.sigma[0]);
  }
  Vec s = Vec::Constant(d, 1e-30);
  s[0] = 3.0;
  s[1] = 2.0;
  s[2] = 3e-14;
  SubspaceSvdOptions o;
  o.k = 3;
  const SubspaceSvdResult r = run(with_singular_values(s, 5), o);
  REQUIRE(r.converged);
  MHCLAB_CHECK_NEAR(r.sigma[0], 3.0, 0.0, 1e-13);
  MHCLAB_CHECK_NEAR(r.sigma[1], 2.0, 0.0, 1e-13);
  CHECK(r.sigma[2] <= 1e-13 * 3.0);
}

TEST_CASE("subspace_svd: equal singular values, the zero operator, determinism, errors") {
  const Index d = 20;
  RandomStream rng(2, Purpose::Test, {2});
  const Mat Q = Eigen::HouseholderQR<Mat>(gaussian(rng, d, d)).householderQ();
  SubspaceSvdOptions o;
  o.k = 4;
  const SubspaceSvdResult q = run(2.5 * Q, o);
  REQUIRE(q.converged);
  CHECK(q.iterations == 1);
  for (Index i = 0; i < 4; ++i) MHCLAB_CHECK_NEAR(q.sigma[i], 2.5, 0.0, 1e-14);
  const SubspaceSvdResult z = run(Mat::Zero(d, d), o);
  CHECK(z.converged);
  CHECK(z.sigma == Vec::Zero(4));
  // the same seed gives the same bits; another seed the same values to round-off
  const Mat B = gaussian(rng, d, d);
  const SubspaceSvdResult a = run(B, o), b = run(B, o);
  CHECK(a.sigma == b.sigma);
  o.seed = 9;
  const SubspaceSvdResult c = run(B, o);
  CHECK(test::max_abs_diff(a.sigma, c.sigma) <= 1e-11 * a.sigma[0]);
  // a non-finite operator output is reported, not returned
  Mat bad = B;
  bad(3, 4) = std::numeric_limits<double>::quiet_NaN();
  const SubspaceSvdResult n = run(bad, SubspaceSvdOptions{});
  CHECK_FALSE(n.finite);
  CHECK(n.sigma.size() == 0);
  // max_iter = 1 on a slowly converging spectrum: not converged, the passing prefix only
  SubspaceSvdOptions one;
  one.k = 6;
  one.max_iter = 1;
  one.tol = 1e-15;
  const SubspaceSvdResult w = run(gaussian(rng, 60, 60), one);
  CHECK_FALSE(w.converged);
  CHECK(w.converged_count < 6);
  SubspaceSvdOptions e;
  e.k = 0;
  CHECK_THROWS_WITH_AS((void)run(B, e), doctest::Contains("k = 0"), InputError);
  e.k = 21;
  CHECK_THROWS_AS((void)run(B, e), InputError);
  e.k = 2;
  e.block = 1;
  CHECK_THROWS_WITH_AS((void)run(B, e), doctest::Contains("block = 1"), InputError);
  e.block = 0;
  e.tol = 0;
  CHECK_THROWS_WITH_AS((void)run(B, e), doctest::Contains("tol"), InputError);
}

}  // TEST_SUITE
