// Tests of the TBP charts (mixing/transport_chart.hpp; SPEC §2, §2.1, §2.2; arXiv 2605.21724).
// The properties every exact chart must have (exact double stochasticity over random θ, identity inits, the
// inverse charts' round trips and input errors) run here over both tbp and rtbp; the TBP sequential chart's
// own numbers (reference cases, θ = 0 closed form, position bias, a 4-cycle) are here too. rtbp's own
// numbers and recursion structure are in test_rtbp.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/transport_chart.hpp"
#include "support/check.hpp"

namespace {
using namespace mhclab;
using mhclab::test::max_abs_diff;
using mhclab::test::test_size;

constexpr double kU = 0x1.0p-53;  // unit round-off u = 2⁻⁵³
constexpr Index kSizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 16};

/// One exact chart: its method id, forward chart (with interval trace) and inverse chart.
struct Chart {
  MethodId id;
  const char* name;
  Mat (*forward)(const Vec&, Index, std::vector<ChartInterval>*);
  Vec (*inverse)(const Mat&, double);
};
const Chart kCharts[] = {{MethodId::TBP, "tbp", &tbp_chart, &tbp_params_from_matrix},
                         {MethodId::RTBP, "rtbp", &rtbp_chart, &rtbp_params_from_matrix}};

std::unique_ptr<Method> make(MethodId id, Index n) {
  MethodOptions o;
  o.method = id;
  o.n = n;
  return make_method(o);
}

Vec normal_theta(RandomStream& rng, Index p, double sigma) {
  Vec theta(p);
  rng.fill_normal(theta, sigma);
  return theta;
}

double row_err(const Mat& H) { return (H.rowwise().sum().array() - 1.0).abs().maxCoeff(); }
double col_err(const Mat& H) { return (H.colwise().sum().array() - 1.0).abs().maxCoeff(); }
double sigmoid(double t) { return 1.0 / (1.0 + std::exp(-t)); }

/// A random permutation of 0..n−1 (Fisher–Yates).
std::vector<Index> random_permutation(RandomStream& rng, Index n) {
  std::vector<Index> s(static_cast<std::size_t>(n));
  std::iota(s.begin(), s.end(), Index(0));
  for (Index i = n - 1; i > 0; --i) {
    const auto j = static_cast<Index>(rng.uniform() * static_cast<double>(i + 1));
    std::swap(s[static_cast<std::size_t>(i)], s[static_cast<std::size_t>(std::min(j, i))]);
  }
  return s;
}

/// (1−δ)·Σ_k w_k P_{σ_k} + δ·J/n with 3 random permutations and random weights: interior, min entry ≥ δ/n.
Mat permutation_mixture(RandomStream& rng, Index n, double delta) {
  Mat H = Mat::Constant(n, n, delta / static_cast<double>(n));
  double w[3], total = 0.0;
  for (double& x : w) total += (x = 0.1 + rng.uniform());
  for (double x : w) {
    const auto s = random_permutation(rng, n);
    for (Index i = 0; i < n; ++i) H(i, s[static_cast<std::size_t>(i)]) += (1.0 - delta) * x / total;
  }
  return H;
}

template <class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError thrown)";
}

const nlohmann::json& cases() { return mhclab::test::reference_cases()["cases"]; }

}  // namespace

TEST_SUITE("charts_tbp") {

TEST_CASE("tbp: reference cases (SPEC §2.1; θ row-major (n−1)×(n−1))") {
  int count = 0;
  for (const auto& c : cases()) {
    if (c["method"] != "tbp") continue;
    const auto n = c["n"].get<Index>();
    const Vec theta = mhclab::test::json_vector(c["theta"]);
    const Mat H_ref = mhclab::test::json_matrix(c["H"]);
    const auto m = make(MethodId::TBP, n);
    CAPTURE(n);
    Vec th = theta;
    const bool authors = c["options"].contains("init") && c["options"]["init"] == "authors";
    if (authors) {
      th = m->init_params(InitKind::Authors, 0.01);
      REQUIRE(th.size() == theta.size());
      CHECK(max_abs_diff(th, theta) == 0.0);
    }
    const Mat H = mix(*m, th).H;
    CHECK(max_abs_diff(H, H_ref) <= (authors ? 1e-14 : 1e-12));
    ++count;
  }
  CHECK(count >= 9);
}

TEST_CASE("tbp: authors init θ = 0 (SPEC §2 closed forms)") {
  for (Index n = 1; n <= 16; ++n) {
    CAPTURE(n);
    const auto m = make(MethodId::TBP, n);
    const Vec th = m->init_params(InitKind::Authors, 0.01);
    CHECK(th.size() == (n - 1) * (n - 1));
    CHECK((th.array() == 0.0).all());
    const Mat H = mix(*m, th).H;
    // Every X is its interval's midpoint: H symmetric, H[i,i] = 1/3 + 4^{−i}/6, H[i,j] = H[i,i]·2^{−(j−i)} for
    // i ≤ j ≤ n−2, last column = column n−2, last row = row n−2 (documented in tbp.cpp).
    Mat E(n, n);
    if (n == 1) E(0, 0) = 1.0;
    for (Index i = 0; i + 1 < n; ++i) {
      const double d = 1.0 / 3.0 + std::pow(0.25, static_cast<double>(i)) / 6.0;
      for (Index j = i; j + 1 < n; ++j) E(i, j) = E(j, i) = d * std::pow(0.5, static_cast<double>(j - i));
    }
    if (n > 1) {
      E.col(n - 1) = E.col(n - 2);
      E.row(n - 1) = E.row(n - 2);
      E(n - 1, n - 1) = E(n - 2, n - 2);
    }
    CHECK(max_abs_diff(H, E) <= 1e-14);
    if (n == 4) {
      const Mat first = H.row(0);
      Mat expect(1, 4);
      expect << 0.5, 0.25, 0.125, 0.125;
      CHECK(max_abs_diff(first, expect) == 0.0);
    }
  }
}

TEST_CASE("tbp, rtbp: exactly doubly stochastic over random θ ~ N(0, 3²)") {
  const long draws = test_size(1000, 100);
  for (const Chart& ch : kCharts) {
    for (Index n : kSizes) {
      const std::string name = ch.name;
      CAPTURE(name);
      CAPTURE(n);
      const auto m = make(ch.id, n);
      CHECK(m->num_params() == (n - 1) * (n - 1));
      CHECK(m->exact_ds());
      CHECK(m->n() == n);
      CHECK(m->id() == ch.id);
      RandomStream rng(20260101, Purpose::Test, {static_cast<std::uint64_t>(ch.id), static_cast<std::uint64_t>(n)});
      double worst_row = 0.0, worst_col = 0.0, min_entry = 1.0;
      bool finite = true;
      for (long d = 0; d < draws; ++d) {
        const Mat H = mix(*m, normal_theta(rng, m->num_params(), 3.0)).H;
        REQUIRE(H.rows() == n);
        REQUIRE(H.cols() == n);
        finite = finite && H.allFinite();
        worst_row = std::max(worst_row, row_err(H));
        worst_col = std::max(worst_col, col_err(H));
        min_entry = std::min(min_entry, H.minCoeff());
      }
      CHECK(finite);
      CHECK(min_entry >= 0.0);
      CHECK(worst_row <= 64.0 * static_cast<double>(n) * kU);
      CHECK(worst_col <= 64.0 * static_cast<double>(n) * kU);
      MESSAGE(std::string(ch.name) << " n = " << n << ": worst row error " << worst_row / kU << "u, column error "
                      << worst_col / kU << "u (bound " << 64 * n << "u), min entry " << min_entry);
    }
  }
}

TEST_CASE("tbp, rtbp: the interval trace agrees with H (X_k = lo + (hi − lo)·σ(θ_k), X_k ∈ [lo, hi])") {
  RandomStream rng(7, Purpose::Test, {1});
  for (const Chart& ch : kCharts) {
    for (Index n : kSizes) {
      const std::string name = ch.name;
      CAPTURE(name);
      CAPTURE(n);
      const Index p = (n - 1) * (n - 1);
      const Vec theta = normal_theta(rng, p, 2.0);
      std::vector<ChartInterval> iv;
      const Mat H = ch.forward(theta, n, &iv);
      REQUIRE(static_cast<Index>(iv.size()) == p);
      CHECK(max_abs_diff(H, ch.forward(theta, n, nullptr)) == 0.0);  // the trace does not change the result
      for (Index k = 0; k < p; ++k) {
        CHECK(iv[k].lo >= 0.0);
        CHECK(iv[k].lo <= iv[k].hi);
      }
      if (ch.id == MethodId::TBP) {  // tbp's logit k sets the entry H[k / (n−1), k % (n−1)]
        for (Index k = 0; k < p; ++k) {
          const double x = H(k / (n - 1), k % (n - 1));
          CHECK(x >= iv[k].lo);
          CHECK(x <= iv[k].hi);
          MHCLAB_CHECK_NEAR(x, iv[k].lo + (iv[k].hi - iv[k].lo) * sigmoid(theta[k]), 4 * kU, 0.0);
        }
      }
    }
  }
}

TEST_CASE("tbp, rtbp: identity init is the inverse chart of H₀ = (1−ε)I + εJ/n") {
  for (const Chart& ch : kCharts) {
    for (Index n : kSizes) {
      const auto m = make(ch.id, n);
      for (double eps : {0.01, 0.1, 0.5, 1.0}) {
        const std::string name = ch.name;
        CAPTURE(name);
        CAPTURE(n);
        CAPTURE(eps);
        const Vec th = m->init_params(InitKind::Identity, eps);
        CHECK(th.size() == m->num_params());
        CHECK(th.allFinite());
        Mat H0 = Mat::Constant(n, n, eps / static_cast<double>(n));
        H0.diagonal().array() += 1.0 - eps;
        CHECK(max_abs_diff(mix(*m, th).H, H0) <= 1e-12);
      }
      CHECK_THROWS_AS((void)m->init_params(InitKind::Identity, 0.0), InputError);  // I is a vertex
      CHECK_THROWS_AS((void)m->init_params(InitKind::Identity, 1.5), InputError);
    }
  }
}

TEST_CASE("tbp, rtbp: round trip θ → H → θ (N(0,1) within 1e-8; N(0,3²) within 64u/w_k per coordinate)") {
  const long draws = test_size(1000, 100);
  for (const Chart& ch : kCharts) {
    for (Index n : kSizes) {
      const std::string name = ch.name;
      CAPTURE(name);
      CAPTURE(n);
      const Index p = (n - 1) * (n - 1);
      RandomStream rng(99, Purpose::Test, {static_cast<std::uint64_t>(ch.id), static_cast<std::uint64_t>(n)});
      double worst_small = 0.0;  // max |Δθ| for θ ~ N(0, 1)
      double worst_ratio = 0.0;  // max |Δθ_k|·w_k/u for θ ~ N(0, 3²)
      long skipped = 0;          // coordinates with w_k = 0 (no bound)
      long on_boundary = 0;      // draws whose H has an entry that rounded to 0
      std::vector<ChartInterval> iv;
      for (long d = 0; d < draws; ++d) {
        const Vec t1 = normal_theta(rng, p, 1.0);
        const Vec back1 = ch.inverse(ch.forward(t1, n, nullptr), 1e-9);
        REQUIRE(back1.size() == p);
        if (p > 0) worst_small = std::max(worst_small, (back1 - t1).cwiseAbs().maxCoeff());

        const Vec t3 = normal_theta(rng, p, 3.0);
        const Mat H = ch.forward(t3, n, &iv);
        if (!(H.minCoeff() > 0.0)) {  // an entry rounded to 0: numerically a boundary point, refused
          ++on_boundary;
          CHECK_THROWS_AS((void)ch.inverse(H, 1e-9), InputError);
          continue;
        }
        const Vec back3 = ch.inverse(H, 1e-9);
        double draw_ratio = 0.0;
        for (Index k = 0; k < p; ++k) {
          const double s = sigmoid(t3[k]);
          const double w = (iv[k].hi - iv[k].lo) * s * (1.0 - s);  // sensitivity ∂X_k/∂θ_k
          if (!(w > 0.0)) {
            ++skipped;
            continue;
          }
          draw_ratio = std::max(draw_ratio, std::fabs(back3[k] - t3[k]) * w / kU);
        }
        INFO("draw " << d << ": worst |Δθ_k|·w_k = " << draw_ratio << "u");
        CHECK(draw_ratio <= 64.0);
        worst_ratio = std::max(worst_ratio, draw_ratio);
      }
      CHECK(worst_small <= 1e-8);
      MESSAGE(std::string(ch.name) << " n = " << n << ": θ ~ N(0,1) max |Δθ| = " << worst_small << "; θ ~ N(0,3²) worst |Δθ_k|·w_k = "
                      << worst_ratio << "u (bound 64u), " << skipped << " coordinates with w_k = 0, "
                      << on_boundary << " draws with a zero entry");
    }
  }
}

TEST_CASE("tbp, rtbp: round trip H → θ → H for interior H (min entry ≥ 1e-8)") {
  const long draws = test_size(300, 30);
  for (const Chart& ch : kCharts) {
    for (Index n : kSizes) {
      const std::string name = ch.name;
      CAPTURE(name);
      CAPTURE(n);
      const Index p = (n - 1) * (n - 1);
      RandomStream rng(5, Purpose::Test, {static_cast<std::uint64_t>(ch.id), static_cast<std::uint64_t>(n)});
      std::vector<Mat> inputs;
      for (double eps : {1e-2, 1e-6}) {
        Mat H0 = Mat::Constant(n, n, eps / static_cast<double>(n));
        H0.diagonal().array() += 1.0 - eps;
        inputs.push_back(H0);
      }
      for (long d = 0; d < draws; ++d) {
        inputs.push_back(ch.forward(normal_theta(rng, p, 1.0), n, nullptr));  // moderate θ
        inputs.push_back(permutation_mixture(rng, n, d % 2 == 0 ? 1e-3 : 1e-6));
      }
      double worst = 0.0;
      long used = 0;
      for (const Mat& H : inputs) {
        if (H.minCoeff() < 1e-8) continue;
        ++used;
        const Vec th = ch.inverse(H, 1e-9);
        REQUIRE(th.size() == p);
        REQUIRE(th.allFinite());
        const double e = max_abs_diff(ch.forward(th, n, nullptr), H);
        worst = std::max(worst, e);
        CHECK(e <= 1e-13);
      }
      CHECK(used >= static_cast<long>(inputs.size()) / 2);
      MESSAGE(std::string(ch.name) << " n = " << n << ": H → θ → H over " << used << " interior matrices, worst max-abs "
                      << worst);
    }
  }
}

TEST_CASE("tbp: reaches a 4-cycle-heavy matrix 0.9·P_cycle + 0.1·J/4 (out of reach of all-2 KromHC)") {
  Mat H = Mat::Constant(4, 4, 0.1 / 4.0);
  for (Index i = 0; i < 4; ++i) H(i, (i + 1) % 4) += 0.9;
  for (const Chart& ch : kCharts) {
    const std::string name = ch.name;
    CAPTURE(name);
    const Vec th = ch.inverse(H, 1e-9);
    CHECK(th.size() == 9);
    CHECK(th.allFinite());
    const auto m = make(ch.id, 4);
    CHECK(max_abs_diff(mix(*m, th).H, H) <= 1e-13);
  }
}

TEST_CASE("tbp, rtbp: bad input to the inverse charts is an InputError with a clear message") {
  for (const Chart& ch : kCharts) {
    const std::string name = ch.name;
    CAPTURE(name);
    auto msg = [&](const Mat& H) { return error_message([&] { (void)ch.inverse(H, 1e-9); }); };
    std::string s = msg(Mat::Constant(2, 3, 1.0 / 3.0));
    CHECK(s.find("2×3") != std::string::npos);
    CHECK(s.find("square") != std::string::npos);
    CHECK(msg(Mat(0, 0)).find("empty") != std::string::npos);

    Mat H = Mat::Constant(3, 3, 1.0 / 3.0);
    H(1, 2) = std::nan("");
    s = msg(H);
    CHECK(s.find("entry (1,2)") != std::string::npos);
    CHECK(s.find("not finite") != std::string::npos);

    H = Mat::Constant(3, 3, 1.0 / 3.0);
    H(0, 0) += 1e-6;  // row 0 and column 0 off by 1e-6 > tol
    s = msg(H);
    CHECK(s.find("row 0") != std::string::npos);
    CHECK(s.find("doubly stochastic") != std::string::npos);
    H(0, 0) -= 1e-6 - 1e-11;  // within tol: accepted
    CHECK_NOTHROW((void)ch.inverse(H, 1e-9));

    H = Mat::Constant(3, 3, 1.0 / 3.0);
    H(0, 0) = -0.1, H(0, 1) = 1.0 / 3.0 + 0.1, H(1, 1) = 1.0 / 3.0 - 0.1, H(1, 0) = 1.0 / 3.0 + 0.1;
    s = msg(H);
    CHECK(s.find("entry (0,0)") != std::string::npos);
    CHECK(s.find("negative") != std::string::npos);

    s = msg(Mat::Identity(3, 3));  // a vertex: every chart coordinate is on its boundary
    CHECK(s.find("boundary") != std::string::npos);
    CHECK(s.find("interior point") != std::string::npos);

    CHECK(error_message([&] { (void)ch.forward(Vec::Zero(3), 3, nullptr); }).find("takes (n−1)² = 4") !=
          std::string::npos);
    CHECK(error_message([&] { (void)ch.forward(Vec::Constant(4, std::nan("")), 3, nullptr); }).find("not finite") !=
          std::string::npos);
    CHECK_THROWS_AS((void)ch.forward(Vec(), 0, nullptr), InputError);
  }
  // tbp names the entry: 0.5·I + 0.5·P_cycle has H[0,1] = 0.5 = hi = min(r_0, c_1) after H[0,0] = 0.5.
  Mat H(3, 3);
  H << 0.5, 0.5, 0.0, 0.0, 0.5, 0.5, 0.5, 0.0, 0.5;
  const std::string s = error_message([&] { (void)tbp_params_from_matrix(H); });
  MESSAGE(s);
  CHECK(s.find("entry (0,1) = 0.5") != std::string::npos);
  CHECK(s.find("[lo, hi] = [0, 0.5]") != std::string::npos);
  CHECK(s.find("the chart needs an interior point") != std::string::npos);
}

TEST_CASE("tbp, rtbp: n = 1 is H = [[1]] with no parameters") {
  for (const Chart& ch : kCharts) {
    const std::string name = ch.name;
    CAPTURE(name);
    const auto m = make(ch.id, 1);
    CHECK(m->num_params() == 0);
    for (InitKind k : {InitKind::Authors, InitKind::Identity}) {
      const Vec th = m->init_params(k, 0.01);
      CHECK(th.size() == 0);
      const Mat H = mix(*m, th).H;
      REQUIRE(H.rows() == 1);
      CHECK(H(0, 0) == 1.0);
    }
    CHECK(ch.inverse(Mat::Ones(1, 1), 1e-9).size() == 0);
    CHECK_THROWS_AS((void)ch.inverse(Mat::Constant(1, 1, 0.5), 1e-9), InputError);
  }
}

TEST_CASE("tbp: position bias of random θ (E[X] along the first row, n = 8)") {
  const Index n = 8;
  const long draws = test_size(2000, 200);
  RandomStream rng(11, Purpose::Test, {8});
  Vec mean = Vec::Zero(n);
  const auto m = make(MethodId::TBP, n);
  for (long d = 0; d < draws; ++d) mean += mix(*m, normal_theta(rng, m->num_params(), 1.0)).H.row(0).transpose();
  mean /= static_cast<double>(draws);
  std::ostringstream os;
  os << std::setprecision(3);
  for (Index j = 0; j < n; ++j) os << (j ? ", " : "") << mean[j];
  MESSAGE("tbp n = 8, θ ~ N(0,1), " << draws << " draws: E[H[0, ·]] ≈ [" << os.str()
                                    << "] (SPEC: ≈ .5, .25, .13, …; the chart is not exchangeable)");
  CHECK(mean[0] > mean[7]);
  CHECK(mean[0] > 0.4);
}

}  // TEST_SUITE
