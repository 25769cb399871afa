// mixing/permutations.hpp and the mhc-lite method (mHC-lite arXiv 2601.05732; SPEC §1, §2).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/permutations.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {
constexpr double kU = 0x1.0p-53;

std::unique_ptr<Method> make_lite(Index n) {
  MethodOptions o;
  o.method = MethodId::MHCLite;
  o.n = n;
  return make_method(o);
}

/// The definition, term by term: Σ_k softmax(θ)_k P_{σ_k} with dense accumulation from the table.
Mat naive_mixture(const Vec& theta, Index n) {
  const PermutationTable table(n);
  const double m = theta.maxCoeff();
  Mat H = Mat::Zero(n, n);
  double total = 0.0;
  for (Index k = 0; k < table.size(); ++k) {
    const double w = std::exp(theta[k] - m);
    total += w;
    for (Index i = 0; i < n; ++i) H(i, table[k][static_cast<std::size_t>(i)]) += w;
  }
  return H / total;
}

/// max_i |row_i − 1|, max_j |col_j − 1| (largest of the two).
double margin_error(const Mat& H) {
  return std::max((H.rowwise().sum().array() - 1.0).abs().maxCoeff(),
                  (H.colwise().sum().array() - 1.0).abs().maxCoeff());
}
}  // namespace

TEST_SUITE("charts_lite") {
TEST_CASE("permutations: factorial, lexicographic table, rank and unrank") {
  CHECK(factorial(0) == 1);
  CHECK(factorial(1) == 1);
  CHECK(factorial(8) == 40320);
  CHECK(factorial(20) == 2432902008176640000LL);
  CHECK_THROWS_AS((void)factorial(21), InputError);
  CHECK_THROWS_AS((void)factorial(-1), InputError);

  for (Index n = 1; n <= 7; ++n) {
    const PermutationTable t(n);
    REQUIRE(t.size() == factorial(n));
    std::vector<Index> id(static_cast<std::size_t>(n));
    std::iota(id.begin(), id.end(), Index(0));
    CHECK(std::equal(id.begin(), id.end(), t[0].begin()));                         // identity first
    CHECK(std::equal(id.rbegin(), id.rend(), t[t.size() - 1].begin()));           // reversal last
    for (Index k = 0; k < t.size(); ++k) {
      CHECK(is_permutation(t[k]));
      if (k > 0)  // strictly increasing in lexicographic order
        CHECK(std::lexicographical_compare(t[k - 1].begin(), t[k - 1].end(), t[k].begin(), t[k].end()));
      if (n <= 5 || k % 97 == 0) {
        CHECK(permutation_rank(t[k]) == k);
        const std::vector<Index> s = permutation_unrank(n, k);
        CHECK(std::equal(s.begin(), s.end(), t[k].begin()));
      }
    }
  }
  CHECK(permutation_rank(std::vector<Index>{2, 0, 1}) == 4);  // 012 021 102 120 201 210
  CHECK_FALSE(is_permutation(std::vector<Index>{0, 0, 1}));
  CHECK_FALSE(is_permutation(std::vector<Index>{0, 3, 1}));
  CHECK_THROWS_AS((void)permutation_rank(std::vector<Index>{1, 1}), InputError);
  CHECK_THROWS_AS((void)permutation_unrank(3, 6), InputError);
  CHECK_THROWS_AS(PermutationTable(kPermutationTableMaxN + 1), InputError);
  CHECK_THROWS_AS(PermutationTable(0), InputError);
}

TEST_CASE("mhc-lite: the reference cases (1e-12)") {
  int seen = 0;
  for (const auto& c : test::reference_cases()["cases"]) {
    if (c["method"] != "mhc-lite") continue;
    ++seen;
    const Index n = c["n"].get<Index>();
    INFO("mhc-lite n = " << n << " options = " << c["options"].dump());
    const auto m = make_lite(n);
    const Vec theta_ref = test::json_vector(c["theta"]);
    const Mat H_ref = test::json_matrix(c["H"]);
    REQUIRE(theta_ref.size() == m->num_params());
    const auto& opt = c["options"];
    if (opt.contains("init")) {
      const InitKind kind = init_table.from_string(opt["init"].get<std::string>());
      const double eps = opt.value("init_eps", 0.01);
      const Vec theta = m->init_params(kind, eps);
      CHECK((theta - theta_ref).cwiseAbs().maxCoeff() <= 1e-12);
    }
    CHECK(test::max_abs_diff(mix(*m, theta_ref).H, H_ref) <= 1e-12);
  }
  CHECK(seen >= 2);
}

TEST_CASE("mhc-lite: agrees with the term-by-term definition") {
  RandomStream rng(2601, Purpose::Test, {5});
  for (Index n = 1; n <= 6; ++n) {
    const auto m = make_lite(n);
    for (int rep = 0; rep < 20; ++rep) {
      Vec theta(m->num_params());
      rng.fill_normal(theta, 3.0);
      INFO("n = " << n);
      CHECK(test::max_abs_diff(m->mix(theta).H, naive_mixture(theta, n)) <= 1e-14);
    }
  }
  // One permutation dominating: H is (almost) that permutation matrix.
  const auto m = make_lite(4);
  const Index k = permutation_rank(std::vector<Index>{2, 0, 3, 1});
  Vec theta = Vec::Constant(24, -200.0);
  theta[k] = 0.0;
  Mat P = Mat::Zero(4, 4);
  P(0, 2) = P(1, 0) = P(2, 3) = P(3, 1) = 1.0;
  CHECK(test::max_abs_diff(m->mix(theta).H, P) <= 1e-80);
}

TEST_CASE("mhc-lite: random θ ~ N(0, 3²) give exactly doubly stochastic H") {
  const long reps = test::test_size(1000, 100);
  for (Index n = 1; n <= 6; ++n) {
    const auto m = make_lite(n);
    CHECK(m->num_params() == factorial(n));
    CHECK(m->exact_ds());
    CHECK(m->n() == n);
    CHECK(m->id() == MethodId::MHCLite);
    RandomStream rng(2601, Purpose::Test, {static_cast<std::uint64_t>(n)});
    double worst_margin = 0.0, min_entry = 1.0;
    Vec theta(m->num_params());
    for (long r = 0; r < reps; ++r) {
      rng.fill_normal(theta, 3.0);
      const Mat H = mix(*m, theta).H;
      REQUIRE(H.rows() == n);
      REQUIRE(H.cols() == n);
      worst_margin = std::max(worst_margin, margin_error(H));
      min_entry = std::min(min_entry, H.minCoeff());
    }
    INFO("n = " << n << ", worst margin error = " << worst_margin / kU << " u");
    CHECK(worst_margin <= 64.0 * static_cast<double>(n) * kU);
    CHECK(min_entry >= 0.0);
  }
}

TEST_CASE("mhc-lite n = 8: 40320 terms, exact margins and a tight tree sum") {
  const auto m = make_lite(8);
  CHECK(m->num_params() == 40320);
  RandomStream rng(2601, Purpose::Test, {8});
  Vec theta(m->num_params());
  double worst = 0.0;
  for (long r = 0; r < test::test_size(20, 3); ++r) {
    rng.fill_normal(theta, 3.0);
    const Mat H = m->mix(theta).H;
    worst = std::max(worst, margin_error(H));
    CHECK(H.minCoeff() >= 0.0);
    if (r == 0) CHECK(test::max_abs_diff(H, naive_mixture(theta, 8)) <= 1e-14);
  }
  INFO("worst margin error = " << worst / kU << " u");
  CHECK(worst <= 64.0 * 8.0 * kU);
}

TEST_CASE("mhc-lite: the authors' init equals its closed form") {
  for (Index n = 1; n <= 8; ++n) {
    const auto m = make_lite(n);
    const Vec theta = m->init_params(InitKind::Authors, 0.01);
    REQUIRE(theta.size() == factorial(n));
    CHECK(theta[0] == 0.0);
    CHECK((theta.tail(theta.size() - 1).array() == -8.0).all());
    // H = wI + (1−w)/(n!−1)·Σ_{σ≠id} P_σ; Σ_{σ≠id} P_σ = (n−1)!·J − I, so H = aI + bJ with
    // b = (1−w)(n−1)!/(n!−1), a = w − (1−w)/(n!−1).
    const double nf = static_cast<double>(factorial(n));
    const double w = 1.0 / (1.0 + (nf - 1.0) * std::exp(-8.0));
    const double rest = n == 1 ? 0.0 : (1.0 - w) / (nf - 1.0);
    Mat expected = Mat::Constant(n, n, rest * static_cast<double>(factorial(n - 1)));
    expected.diagonal().array() += w - rest;
    INFO("n = " << n << ", w = " << w);
    CHECK(test::max_abs_diff(m->mix(theta).H, expected) <= 1e-14);
  }
  // SPEC §2 quotes w = 0.992 at n = 4 (right) and 0.077 at n = 8; the closed form gives 0.0688 at n = 8
  // (1/(1 + 40319·e⁻⁸)); the point stands: the authors' init is far from I for large n.
  MHCLAB_CHECK_NEAR(1.0 / (1.0 + 23.0 * std::exp(-8.0)), 0.992, 5e-4, 0.0);
  MHCLAB_CHECK_NEAR(1.0 / (1.0 + 40319.0 * std::exp(-8.0)), 0.0688, 5e-5, 0.0);
  const Mat H8 = make_lite(8)->mix(make_lite(8)->init_params(InitKind::Authors, 0.01)).H;
  MHCLAB_CHECK_NEAR(H8(0, 0), 0.0688443621 + (1.0 - 0.0688443621) * (5040.0 - 1.0) / 40319.0, 1e-10, 0.0);
}

TEST_CASE("mhc-lite: the identity init gives H0 = (1-eps)I + eps J/n") {
  for (double eps : {1e-6, 0.01, 0.3, 1.0}) {
    for (Index n = 1; n <= 8; ++n) {
      const auto m = make_lite(n);
      const Vec theta = m->init_params(InitKind::Identity, eps);
      CHECK(theta[0] == doctest::Approx(std::log(1.0 + static_cast<double>(factorial(n)) * (1.0 - eps) / eps)));
      CHECK((theta.tail(theta.size() - 1).array() == 0.0).all());
      Mat H0 = Mat::Constant(n, n, eps / static_cast<double>(n));
      H0.diagonal().array() += 1.0 - eps;
      INFO("n = " << n << ", eps = " << eps);
      CHECK(test::max_abs_diff(m->mix(theta).H, H0) <= 1e-12);
    }
  }
  const auto m = make_lite(3);
  CHECK_THROWS_AS((void)m->init_params(InitKind::Identity, 0.0), InputError);  // log(1 + n!/0)
  CHECK_THROWS_AS((void)m->init_params(InitKind::Identity, 1.5), InputError);
}

TEST_CASE("mhc-lite: n > 8 is refused with a clear message") {
  MethodOptions o;
  o.method = MethodId::MHCLite;
  o.n = 9;
  CHECK_THROWS_WITH_AS((void)make_method(o), doctest::Contains("mhc-lite needs n ≤ 8"), InputError);
  CHECK_THROWS_WITH_AS((void)make_method(o), doctest::Contains("got n = 9"), InputError);
  o.n = 8;
  CHECK_NOTHROW((void)make_method(o));
  // wrong θ length is caught by mix()
  const auto m = make_lite(3);
  CHECK_THROWS_AS((void)mix(*m, Vec::Zero(5)), InputError);
  CHECK_THROWS_AS((void)m->mix(Vec::Zero(5)), InputError);
}
}  // TEST_SUITE
