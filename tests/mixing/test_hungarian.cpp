// mixing/hungarian.hpp: the tropical assignment. Tolerances: brute-force objective to 1e-12·Σ|Z|
// (both sides sum n terms); certificate slack δ = 8·n·u·(1 + max|Z|) (potentials are sums of O(n) updates
// of size ≤ max|Z|).
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/hungarian.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {
Mat random_weights(Index n, std::uint64_t draw, double scale) {
  RandomStream s(99, Purpose::Test, {static_cast<std::uint64_t>(n), draw});
  Mat Z(n, n);
  s.fill_normal(Z, scale);
  return Z;
}
}  // namespace

TEST_SUITE("tropical") {
TEST_CASE("same objective as brute force over all permutations, n ≤ 7") {
  const int draws = static_cast<int>(test::test_size(200, 20));
  for (Index n = 1; n <= 7; ++n) {
    for (int d = 0; d < draws; ++d) {
      Mat Z = random_weights(n, static_cast<std::uint64_t>(d), 1.0 + d % 5);
      if (d % 7 == 0) Z = Z.array().round();  // ties
      std::vector<Index> p(static_cast<std::size_t>(n));
      std::iota(p.begin(), p.end(), 0);
      double best = -INFINITY;
      do {
        double v = 0;
        for (Index i = 0; i < n; ++i) v += Z(i, p[static_cast<std::size_t>(i)]);
        best = std::max(best, v);
      } while (std::next_permutation(p.begin(), p.end()));
      const auto r = max_weight_assignment(Z);
      std::vector<Index> s = r.sigma;
      std::sort(s.begin(), s.end());
      for (Index i = 0; i < n; ++i) REQUIRE(s[static_cast<std::size_t>(i)] == i);  // a permutation
      MHCLAB_CHECK_NEAR(r.value, best, 1e-12 * Z.cwiseAbs().sum(), 0);
    }
  }
}

TEST_CASE("optimality certificate for n = 50..500" * doctest::test_suite("tropical_slow")) {
  const std::vector<Index> sizes = test::kReduced ? std::vector<Index>{50, 100} : std::vector<Index>{50, 100, 200, 500};
  for (Index n : sizes) {
    for (std::uint64_t d = 0; d < 2; ++d) {
      const Mat Z = random_weights(n, d, d == 0 ? 1.0 : 100.0);
      const auto r = max_weight_assignment(Z);
      const double delta = 8.0 * n * 0x1.0p-53 * (1.0 + Z.cwiseAbs().maxCoeff());
      double worst_dual = 0, worst_tight = 0;
      for (Index i = 0; i < n; ++i) {
        for (Index j = 0; j < n; ++j) worst_dual = std::max(worst_dual, Z(i, j) - (r.u[i] + r.v[j]));
        const Index j = r.sigma[static_cast<std::size_t>(i)];
        worst_tight = std::max(worst_tight, std::fabs(r.u[i] + r.v[j] - Z(i, j)));
      }
      INFO("n=" << n << " dual violation " << worst_dual << " tightness " << worst_tight << " delta " << delta);
      CHECK(worst_dual <= delta);
      CHECK(worst_tight <= delta);
      // Weak duality: Σu + Σv ≥ value, with equality at the optimum.
      MHCLAB_CHECK_NEAR(r.u.sum() + r.v.sum(), r.value, n * delta, 0);
    }
  }
}

TEST_CASE("bad input") {
  CHECK_THROWS_AS((void)max_weight_assignment(Mat::Zero(2, 3)), InputError);
  CHECK_THROWS_AS((void)max_weight_assignment(Mat(0, 0)), InputError);
  Mat Z = Mat::Zero(2, 2);
  Z(0, 1) = NAN;
  CHECK_THROWS_AS((void)max_weight_assignment(Z), InputError);
}
}
