// mixing/birkhoff.hpp: greedy Birkhoff–von Neumann decomposition and the map to mhc-lite logits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/birkhoff.hpp"
#include "mhclab/mixing/hungarian.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/permutations.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {
std::unique_ptr<Method> make(MethodId id, Index n) {
  MethodOptions o;
  o.method = id;
  o.n = n;
  return make_method(o);
}

Vec random_theta(RandomStream& rng, Index p) {
  Vec theta(p);
  rng.fill_normal(theta, 3.0);
  return theta;
}

/// Uniform random permutation (Fisher–Yates on the test stream).
std::vector<Index> random_permutation(RandomStream& rng, Index n) {
  std::vector<Index> s(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) s[static_cast<std::size_t>(i)] = i;
  for (Index i = n - 1; i > 0; --i) {
    const auto j = static_cast<Index>(rng.uniform() * static_cast<double>(i + 1));
    std::swap(s[static_cast<std::size_t>(i)], s[static_cast<std::size_t>(std::min(j, i))]);
  }
  return s;
}

/// Every property the decomposition promises, for one DS matrix H.
void check_decomposition(const Mat& H, const char* what) {
  const Index n = H.rows();
  const std::vector<BvnTerm> terms = birkhoff_decomposition(H);
  INFO(what << ", n = " << n << ", terms = " << terms.size());
  CHECK(!terms.empty());
  CHECK(static_cast<Index>(terms.size()) <= (n - 1) * (n - 1) + 1);
  double total = 0.0;
  std::set<std::vector<Index>> distinct;
  for (const BvnTerm& t : terms) {
    CHECK(t.weight > 0.0);
    CHECK(static_cast<Index>(t.sigma.size()) == n);
    CHECK(is_permutation(t.sigma));
    distinct.insert(t.sigma);
    total += t.weight;
  }
  CHECK(distinct.size() == terms.size());
  MHCLAB_CHECK_NEAR(total, 1.0, 1e-13, 0.0);
  CHECK(test::max_abs_diff(bvn_reconstruct(terms, n), H) <= 1e-13);
}
}  // namespace

TEST_SUITE("charts_lite") {
TEST_CASE("bvn: vertices and simple matrices") {
  const Mat I = Mat::Identity(5, 5);
  auto terms = birkhoff_decomposition(I);
  REQUIRE(terms.size() == 1);
  CHECK(terms[0].weight == 1.0);
  CHECK(terms[0].sigma == std::vector<Index>{0, 1, 2, 3, 4});

  const std::vector<Index> s{3, 0, 4, 1, 2};
  terms = birkhoff_decomposition(permutation_matrix(s));
  REQUIRE(terms.size() == 1);
  CHECK(terms[0].sigma == s);

  check_decomposition(Mat::Constant(6, 6, 1.0 / 6.0), "J/n");
  check_decomposition(Mat::Ones(1, 1), "n = 1");
  Mat H0 = Mat::Constant(4, 4, 0.01 / 4);
  H0.diagonal().array() += 0.99;
  check_decomposition(H0, "H0");
  // The largest-product permutation comes first: the identity carries 1 − ε + ε/n.
  terms = birkhoff_decomposition(H0);
  CHECK(terms[0].sigma == std::vector<Index>{0, 1, 2, 3});
  MHCLAB_CHECK_NEAR(terms[0].weight, 0.99 + 0.01 / 4, 1e-15, 0.0);
}

TEST_CASE("bvn: reconstructs random doubly stochastic matrices") {
  RandomStream rng(2601, Purpose::Test, {700});
  const long reps = test::test_size(40, 5);
  for (Index n = 2; n <= 6; ++n) {
    const auto lite = make(MethodId::MHCLite, n);
    for (long r = 0; r < reps; ++r) check_decomposition(lite->mix(random_theta(rng, lite->num_params())).H, "mhc-lite");
  }
  for (Index n : {4, 6, 8, 9, 12, 16}) {
    const auto krom = make(MethodId::KromHC, n);
    for (long r = 0; r < reps; ++r) check_decomposition(krom->mix(random_theta(rng, krom->num_params())).H, "kromhc");
  }
  for (Index n : {2, 3, 5, 10, 20}) {
    for (long r = 0; r < reps; ++r) {
      const int m = 1 + static_cast<int>(rng.uniform() * 6.0);
      Mat H = Mat::Zero(n, n);
      double total = 0.0;
      std::vector<double> w(static_cast<std::size_t>(m));
      for (double& x : w) total += (x = 0.05 + rng.uniform());
      for (double x : w) H += (x / total) * permutation_matrix(random_permutation(rng, n));
      check_decomposition(H, "convex combination of permutations");
    }
  }
}

TEST_CASE("bvn: tiny entries below the threshold and margins within tolerance") {
  Mat H(3, 3);
  H << 1.0 - 1e-15, 1e-15, 0.0,  //
      1e-15, 1.0 - 1e-15, 0.0,    //
      0.0, 0.0, 1.0;
  const auto terms = birkhoff_decomposition(H);
  CHECK(terms.size() == 1);
  CHECK(test::max_abs_diff(bvn_reconstruct(terms, 3), H) <= 1e-14);
  Mat G = Mat::Constant(3, 3, 1.0 / 3.0);
  G(0, 0) += 1e-10;  // row 0 and column 0 off by 1e-10 ≤ 1e-9·n
  CHECK_NOTHROW((void)birkhoff_decomposition(G));
  Mat I = Mat::Identity(3, 3);
  I(0, 1) = -1e-15;  // a negative within the threshold is clamped to 0
  I(0, 0) += 1e-15;
  const auto t = birkhoff_decomposition(I);
  REQUIRE(t.size() == 1);
  CHECK(t[0].sigma == std::vector<Index>{0, 1, 2});
}

TEST_CASE("bvn: bad input is refused") {
  CHECK_THROWS_WITH_AS((void)birkhoff_decomposition(Mat::Constant(2, 3, 0.5)), doctest::Contains("square"), InputError);
  CHECK_THROWS_AS((void)birkhoff_decomposition(Mat(0, 0)), InputError);
  Mat H = Mat::Constant(3, 3, 1.0 / 3.0);
  H(0, 1) = NAN;
  CHECK_THROWS_WITH_AS((void)birkhoff_decomposition(H), doctest::Contains("non-finite"), InputError);
  Mat N(2, 2);
  N << 1.5, -0.5, -0.5, 1.5;  // margins 1, but negative
  CHECK_THROWS_WITH_AS((void)birkhoff_decomposition(N), doctest::Contains("< 0"), InputError);
  Mat S = Mat::Constant(3, 3, 0.3);  // sub-stochastic
  CHECK_THROWS_WITH_AS((void)birkhoff_decomposition(S), doctest::Contains("row 0 sums to"), InputError);
  Mat R(2, 2);  // rows fine, columns not
  R << 1.0, 0.0, 1.0, 0.0;
  CHECK_THROWS_WITH_AS((void)birkhoff_decomposition(R), doctest::Contains("column 0 sums to"), InputError);
  BvnOptions bad;
  bad.support_threshold = -1.0;
  CHECK_THROWS_WITH_AS((void)birkhoff_decomposition(Mat::Identity(2, 2), bad), doctest::Contains("support_threshold"),
                       InputError);
}

TEST_CASE("bvn -> mhc-lite logits reproduce H (every DS matrix is an mhc-lite H)") {
  RandomStream rng(2601, Purpose::Test, {800});
  const long reps = test::test_size(30, 5);
  for (Index n = 2; n <= 6; ++n) {
    const auto lite = make(MethodId::MHCLite, n);
    for (long r = 0; r < reps; ++r) {
      const Mat H = lite->mix(random_theta(rng, lite->num_params())).H;
      const auto terms = birkhoff_decomposition(H);
      const Vec theta = mhc_lite_params_from_bvn(n, terms);
      REQUIRE(theta.size() == factorial(n));
      CHECK(theta.allFinite());
      INFO("n = " << n);
      CHECK(test::max_abs_diff(mix(*lite, theta).H, H) <= 2e-13);
    }
  }
  // a kromhc matrix (not symmetric for {2, 3}) reached by mhc-lite n = 6
  MethodOptions o;
  o.method = MethodId::KromHC;
  o.n = 6;
  o.factors = {2, 3};
  const auto krom = make_method(o);
  const auto lite6 = make(MethodId::MHCLite, 6);
  const Mat K = krom->mix(random_theta(rng, krom->num_params())).H;
  CHECK(test::max_abs_diff(lite6->mix(mhc_lite_params_from_bvn(6, birkhoff_decomposition(K))).H, K) <= 2e-13);

  // the floor: unused permutations share unused_mass
  const std::vector<BvnTerm> one{{1.0, {1, 0, 2}}};
  const Vec theta = mhc_lite_params_from_bvn(3, one, 1e-10);
  CHECK(theta[permutation_rank(std::vector<Index>{1, 0, 2})] == 0.0);
  MHCLAB_CHECK_NEAR(theta[0], std::log(1e-10 / 5.0), 1e-14, 1e-15);

  CHECK_THROWS_AS((void)mhc_lite_params_from_bvn(9, one), InputError);
  CHECK_THROWS_AS((void)mhc_lite_params_from_bvn(3, {}), InputError);
  CHECK_THROWS_AS((void)mhc_lite_params_from_bvn(4, one), InputError);  // σ of the wrong length
  CHECK_THROWS_AS((void)mhc_lite_params_from_bvn(3, {{-1.0, {0, 1, 2}}}), InputError);
  CHECK_THROWS_AS((void)mhc_lite_params_from_bvn(3, {{1.0, {0, 0, 2}}}), InputError);
  CHECK_THROWS_AS((void)mhc_lite_params_from_bvn(3, one, 0.0), InputError);
}
}  // TEST_SUITE
