// mixing/kronecker.hpp and the kromhc method (KromHC arXiv 2601.21579; SPEC §2).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <Eigen/Eigenvalues>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/kronecker.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/permutations.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {
constexpr double kU = 0x1.0p-53;

std::unique_ptr<Method> make_krom(Index n, std::vector<Index> factors = {}) {
  MethodOptions o;
  o.method = MethodId::KromHC;
  o.n = n;
  o.factors = std::move(factors);
  return make_method(o);
}

std::unique_ptr<Method> make_lite(Index n) {
  MethodOptions o;
  o.method = MethodId::MHCLite;
  o.n = n;
  return make_method(o);
}

Vec random_theta(RandomStream& rng, Index p, double scale = 3.0) {
  Vec theta(p);
  rng.fill_normal(theta, scale);
  return theta;
}

double margin_error(const Mat& H) {
  return std::max((H.rowwise().sum().array() - 1.0).abs().maxCoeff(),
                  (H.colwise().sum().array() - 1.0).abs().maxCoeff());
}

Mat identity_target(Index n, double eps) {
  Mat H = Mat::Constant(n, n, eps / static_cast<double>(n));
  H.diagonal().array() += 1.0 - eps;
  return H;
}
}  // namespace

TEST_SUITE("charts_lite") {
TEST_CASE("kronecker: index convention of numpy.kron") {
  Mat A(2, 3), B(3, 2);
  A << 1, 2, 3, 4, 5, 6;
  B << 7, 8, 9, 10, 11, 12;
  const Mat K = kronecker(A, B);
  REQUIRE(K.rows() == 6);
  REQUIRE(K.cols() == 6);
  for (Index a = 0; a < 2; ++a)
    for (Index b = 0; b < 3; ++b)
      for (Index c = 0; c < 3; ++c)
        for (Index d = 0; d < 2; ++d) CHECK(K(a * 3 + b, c * 2 + d) == A(a, c) * B(b, d));
}

TEST_CASE("kromhc: default factors from n") {
  using V = std::vector<Index>;
  CHECK(kromhc_default_factors(1) == V{});
  CHECK(kromhc_default_factors(2) == V{2});
  CHECK(kromhc_default_factors(8) == V{2, 2, 2});
  CHECK(kromhc_default_factors(16) == V{2, 2, 2, 2});
  CHECK(kromhc_default_factors(6) == V{2, 3});
  CHECK(kromhc_default_factors(12) == V{2, 2, 3});
  CHECK(kromhc_default_factors(7) == V{7});
  CHECK(kromhc_default_factors(45) == V{3, 3, 5});
  CHECK(kromhc_default_factors(49) == V{7, 7});
  CHECK_THROWS_WITH_AS((void)kromhc_default_factors(11), doctest::Contains("prime factor 11"), InputError);
  CHECK_THROWS_WITH_AS((void)kromhc_default_factors(26), doctest::Contains("prime factor 13"), InputError);
  CHECK_THROWS_AS((void)kromhc_default_factors(0), InputError);
  CHECK(resolve_kromhc_factors(16, V{4, 4}) == V{4, 4});
  CHECK(resolve_kromhc_factors(16, V{}) == V{2, 2, 2, 2});
  CHECK(format_factors(V{2, 3}) == "[2, 3]");
}

TEST_CASE("kromhc: the reference cases (1e-12)") {
  int seen = 0;
  for (const auto& c : test::reference_cases()["cases"]) {
    if (c["method"] != "kromhc") continue;
    ++seen;
    const Index n = c["n"].get<Index>();
    const auto& opt = c["options"];
    INFO("kromhc n = " << n << " options = " << opt.dump());
    std::vector<Index> factors;
    if (opt.contains("factors")) factors = opt["factors"].get<std::vector<Index>>();
    const auto m = make_krom(n, factors);
    const Vec theta_ref = test::json_vector(c["theta"]);
    REQUIRE(theta_ref.size() == m->num_params());
    if (opt.contains("init")) {
      const Vec theta = m->init_params(init_table.from_string(opt["init"].get<std::string>()),
                                       opt.value("init_eps", 0.01));
      CHECK((theta - theta_ref).cwiseAbs().maxCoeff() <= 1e-12);
    }
    CHECK(test::max_abs_diff(mix(*m, theta_ref).H, test::json_matrix(c["H"])) <= 1e-12);
  }
  CHECK(seen >= 2);
}

TEST_CASE("kromhc: H is the Kronecker product of its mhc-lite factors") {
  RandomStream rng(2601, Purpose::Test, {21});
  const auto m = make_krom(24, {2, 3, 4});
  REQUIRE(m->num_params() == 2 + 6 + 24);
  const Vec theta = random_theta(rng, m->num_params());
  const Mat U1 = make_lite(2)->mix(theta.segment(0, 2)).H;
  const Mat U2 = make_lite(3)->mix(theta.segment(2, 6)).H;
  const Mat U3 = make_lite(4)->mix(theta.segment(8, 24)).H;
  const Mat H = m->mix(theta).H;
  for (Index a = 0; a < 2; ++a)
    for (Index b = 0; b < 3; ++b)
      for (Index e = 0; e < 4; ++e)
        for (Index c = 0; c < 2; ++c)
          for (Index d = 0; d < 3; ++d)
            for (Index f = 0; f < 4; ++f)
              MHCLAB_CHECK_NEAR(H((a * 3 + b) * 4 + e, (c * 3 + d) * 4 + f), U1(a, c) * U2(b, d) * U3(e, f), 1e-16,
                                1e-15);
}

TEST_CASE("kromhc: random θ ~ N(0, 3²) give exactly doubly stochastic H") {
  const long reps = test::test_size(1000, 100);
  for (Index n : {1, 2, 3, 4, 5, 6, 7, 8, 16}) {
    const auto m = make_krom(n);
    Index p = 0;
    for (Index f : kromhc_default_factors(n)) p += factorial(f);
    CHECK(m->num_params() == p);
    CHECK(m->exact_ds());
    CHECK(m->n() == n);
    CHECK(m->id() == MethodId::KromHC);
    RandomStream rng(2601, Purpose::Test, {100, static_cast<std::uint64_t>(n)});
    double worst = 0.0, min_entry = 1.0;
    for (long r = 0; r < reps; ++r) {
      const Mat H = mix(*m, random_theta(rng, m->num_params())).H;
      REQUIRE(H.rows() == n);
      REQUIRE(H.cols() == n);
      worst = std::max(worst, margin_error(H));
      min_entry = std::min(min_entry, H.minCoeff());
    }
    INFO("n = " << n << ", worst margin error = " << worst / kU << " u");
    CHECK(worst <= 64.0 * static_cast<double>(n) * kU);
    CHECK(min_entry >= 0.0);
  }
  const auto one = make_krom(1);
  CHECK(one->num_params() == 0);
  CHECK(mix(*one, Vec()).H == Mat::Ones(1, 1));
  CHECK(one->init_params(InitKind::Identity, 0.01).size() == 0);
  CHECK(make_krom(12, {3, 4})->num_params() == 6 + 24);
}

TEST_CASE("kromhc: inits are each factor's mhc-lite init") {
  for (Index n : {2, 3, 4, 6, 8, 12, 16}) {
    const auto m = make_krom(n);
    const std::vector<Index> factors = kromhc_default_factors(n);
    // authors: ⊗ of mhc-lite authors' closed forms
    {
      const Vec theta = m->init_params(InitKind::Authors, 0.01);
      Mat expected = Mat::Ones(1, 1);
      Index off = 0;
      for (Index f : factors) {
        const Index p = factorial(f);
        CHECK(theta[off] == 0.0);
        CHECK((theta.segment(off + 1, p - 1).array() == -8.0).all());
        const double nf = static_cast<double>(p);
        const double w = 1.0 / (1.0 + (nf - 1.0) * std::exp(-8.0)), rest = (1.0 - w) / (nf - 1.0);
        Mat U = Mat::Constant(f, f, rest * static_cast<double>(factorial(f - 1)));
        U.diagonal().array() += w - rest;
        expected = kronecker(expected, U);
        off += p;
      }
      INFO("authors, n = " << n);
      CHECK(test::max_abs_diff(m->mix(theta).H, expected) <= 1e-14);
    }
    // identity: ⊗_k((1−ε)I + εJ/i_k), NOT H₀; λ₂ = 1 − ε
    for (double eps : {0.01, 0.2}) {
      const Mat H = m->mix(m->init_params(InitKind::Identity, eps)).H;
      Mat expected = Mat::Ones(1, 1);
      for (Index f : factors) expected = kronecker(expected, identity_target(f, eps));
      INFO("identity, n = " << n << ", eps = " << eps);
      CHECK(test::max_abs_diff(H, expected) <= 1e-12);
      Eigen::VectorXd mags = Eigen::EigenSolver<Mat>(H, false).eigenvalues().cwiseAbs();
      std::sort(mags.data(), mags.data() + mags.size(), std::greater<>());
      MHCLAB_CHECK_NEAR(mags[0], 1.0, 1e-12, 0.0);
      MHCLAB_CHECK_NEAR(mags[1], 1.0 - eps, 1e-12, 0.0);
      if (factors.size() > 1) CHECK(test::max_abs_diff(H, identity_target(n, eps)) > eps / 100.0);
    }
  }
  CHECK_THROWS_AS((void)make_krom(4)->init_params(InitKind::Identity, 0.0), InputError);
  CHECK_THROWS_AS((void)make_krom(1)->init_params(InitKind::Identity, -1.0), InputError);
}

TEST_CASE("kromhc: all-2 factors give symmetric commuting H, so a 4-cycle is out of reach") {
  RandomStream rng(2601, Purpose::Test, {300});
  const long reps = test::test_size(1000, 100);
  for (Index n : {4, 8}) {
    const auto m = make_krom(n);
    for (long r = 0; r < reps; ++r) {
      const Mat A = m->mix(random_theta(rng, m->num_params())).H;
      const Mat B = m->mix(random_theta(rng, m->num_params())).H;
      CHECK(test::max_abs_diff(A, A.transpose()) <= 4 * kU);
      CHECK(test::max_abs_diff(A * B, B * A) <= 64 * kU);
    }
  }
  // 4-cycle P[i, (i+1) mod 4] = 1. Every kromhc H is symmetric, so ‖P − Pᵀ‖ ≤ ‖P − H‖ + ‖H − Pᵀ‖ = 2‖H − P‖:
  // ‖H − P‖_F ≥ ‖P − Pᵀ‖_F / 2 = √8 / 2 = √2, even for θ pushed to the extremes.
  Mat P = Mat::Zero(4, 4);
  for (Index i = 0; i < 4; ++i) P(i, (i + 1) % 4) = 1.0;
  const double bound = (P - P.transpose()).norm() / 2.0;
  MHCLAB_CHECK_NEAR(bound, std::sqrt(2.0), 1e-15, 0.0);
  const auto m = make_krom(4);
  double closest = INFINITY;
  for (long r = 0; r < reps; ++r) {
    const double scale = r % 2 == 0 ? 3.0 : 30.0;
    closest = std::min(closest, (m->mix(random_theta(rng, 4, scale)).H - P).norm());
  }
  INFO("closest kromhc H to the 4-cycle: " << closest);
  CHECK(closest >= bound - 1e-12);
}

TEST_CASE("kromhc: factors {2, 3} are neither symmetric nor commuting") {
  RandomStream rng(2601, Purpose::Test, {400});
  const auto m = make_krom(6, {2, 3});
  double worst_commutator = 0.0, worst_asym = 0.0;
  for (int r = 0; r < 20; ++r) {
    const Mat A = m->mix(random_theta(rng, m->num_params())).H;
    const Mat B = m->mix(random_theta(rng, m->num_params())).H;
    worst_commutator = std::max(worst_commutator, (A * B - B * A).cwiseAbs().maxCoeff());
    worst_asym = std::max(worst_asym, (A - A.transpose()).cwiseAbs().maxCoeff());
  }
  INFO("max |AB − BA| = " << worst_commutator << ", max |A − Aᵀ| = " << worst_asym);
  CHECK(worst_commutator > 1e-2);
  CHECK(worst_asym > 1e-2);
}

TEST_CASE("kromhc: bad factors and n are refused, naming the problem") {
  CHECK_THROWS_WITH_AS((void)make_krom(6, {2, 2}), doctest::Contains("factors = [2, 2]: product = 4 ≠ n = 6"),
                       InputError);
  CHECK_THROWS_WITH_AS((void)make_krom(4, {2, 4}), doctest::Contains("product exceeds n = 4"), InputError);
  CHECK_THROWS_WITH_AS((void)make_krom(4, {1, 4}), doctest::Contains("factor 1 is out of range"), InputError);
  CHECK_THROWS_WITH_AS((void)make_krom(9, {9}), doctest::Contains("factor 9 is out of range"), InputError);
  CHECK_THROWS_WITH_AS((void)make_krom(1, {2}), doctest::Contains("factors = [2]"), InputError);
  CHECK_THROWS_WITH_AS((void)make_krom(11), doctest::Contains("prime factor 11"), InputError);
  CHECK_THROWS_WITH_AS((void)make_krom(11, {11}), doctest::Contains("factors = [11]"), InputError);
  CHECK_NOTHROW((void)make_krom(9, {3, 3}));
  CHECK_THROWS_WITH_AS((void)make_krom(9, {3, 3})->mix(Vec::Zero(11)), doctest::Contains("takes 12 parameters"),
                       InputError);
  CHECK_NOTHROW((void)make_krom(16, {8, 2}));
}
}  // TEST_SUITE
