// analysis/depth_metrics.hpp: SPEC §4 per-depth metrics of layer / prefix / suffix products.
#include <doctest/doctest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/SVD>

#include "mhclab/analysis/depth_metrics.hpp"
#include "mhclab/analysis/format_scaled.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {

constexpr double kU = DBL_EPSILON / 2;  // unit roundoff
constexpr double kInf = std::numeric_limits<double>::infinity();

/// How a reference metric is compared.
enum class Tol { Relative, Absolute };
struct Field {
  const char* name;
  double DepthMetrics::*value;
  double DepthMetrics::*log10;  // nullptr: no log10 column
  Tol tol;
};

// Tolerances for the independent NumPy reference (SPEC §9: 1e-12):
//  - scale-type metrics (gains, singular values, cond, collapse, eigenvalue moduli, dist_identity,
//    effective_rank) are products of O(1) numbers with relative rounding ~n·L·u ≈ 1e-15, so they must agree to
//    1e-12 RELATIVE (their log10 columns to 1e-12·log10(e) absolute, i.e. the same relative accuracy);
//  - row_err, col_err and min_entry are differences (|v − 1|, a signed entry) whose rounding is absolute,
//    ~u·max|M|·n ≈ 1e-15, and which can be small by cancellation: compared to 1e-12 ABSOLUTE.
const std::vector<Field>& fields() {
  static const std::vector<Field> f{
      {"fwd_gain", &DepthMetrics::fwd_gain, &DepthMetrics::log10_fwd_gain, Tol::Relative},
      {"bwd_gain", &DepthMetrics::bwd_gain, &DepthMetrics::log10_bwd_gain, Tol::Relative},
      {"fwd_gain_min", &DepthMetrics::fwd_gain_min, &DepthMetrics::log10_fwd_gain_min, Tol::Relative},
      {"bwd_gain_min", &DepthMetrics::bwd_gain_min, &DepthMetrics::log10_bwd_gain_min, Tol::Relative},
      {"fwd_gain_abs", &DepthMetrics::fwd_gain_abs, &DepthMetrics::log10_fwd_gain_abs, Tol::Relative},
      {"bwd_gain_abs", &DepthMetrics::bwd_gain_abs, &DepthMetrics::log10_bwd_gain_abs, Tol::Relative},
      {"row_err", &DepthMetrics::row_err, nullptr, Tol::Absolute},
      {"col_err", &DepthMetrics::col_err, nullptr, Tol::Absolute},
      {"min_entry", &DepthMetrics::min_entry, nullptr, Tol::Absolute},
      {"sigma_max", &DepthMetrics::sigma_max, &DepthMetrics::log10_sigma_max, Tol::Relative},
      {"sigma_min", &DepthMetrics::sigma_min, &DepthMetrics::log10_sigma_min, Tol::Relative},
      {"cond", &DepthMetrics::cond, &DepthMetrics::log10_cond, Tol::Relative},
      {"collapse", &DepthMetrics::collapse, &DepthMetrics::log10_collapse, Tol::Relative},
      {"spectral_radius", &DepthMetrics::spectral_radius, &DepthMetrics::log10_spectral_radius, Tol::Relative},
      {"lambda2", &DepthMetrics::lambda2, &DepthMetrics::log10_lambda2, Tol::Relative},
      {"dist_identity", &DepthMetrics::dist_identity, &DepthMetrics::log10_dist_identity, Tol::Relative},
      {"effective_rank", &DepthMetrics::effective_rank, nullptr, Tol::Relative}};
  return f;
}

std::vector<Mat> reference_stack() {
  std::vector<Mat> stack;
  for (const auto& h : test::reference_cases()["depth_metrics"]["stack"]) stack.push_back(test::json_matrix(h));
  return stack;
}

/// Uniform random permutation matrix P[i, σ(i)] = 1 (Fisher–Yates on the test stream).
Mat random_permutation(RandomStream& rng, Index n) {
  std::vector<Index> s(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) s[static_cast<std::size_t>(i)] = i;
  for (Index i = n - 1; i > 0; --i) {
    const auto j = std::min(static_cast<Index>(rng.uniform() * static_cast<double>(i + 1)), i);
    std::swap(s[static_cast<std::size_t>(i)], s[static_cast<std::size_t>(j)]);
  }
  Mat P = Mat::Zero(n, n);
  for (Index i = 0; i < n; ++i) P(i, s[static_cast<std::size_t>(i)]) = 1.0;
  return P;
}

/// Positive DS matrix Σ_k w_k P_k (softmax weights over `terms` random permutations, plus J/n·δ so every
/// entry is positive): margins are 1 to a few u.
Mat random_ds(RandomStream& rng, Index n, int terms = 4, double delta = 0.05) {
  Mat H = Mat::Zero(n, n);
  std::vector<double> w(static_cast<std::size_t>(terms));
  double total = 0;
  for (auto& x : w) total += (x = std::exp(rng.normal()));
  for (int k = 0; k < terms; ++k) H += (w[static_cast<std::size_t>(k)] / total) * random_permutation(rng, n);
  return (1.0 - delta) * H + delta * Mat::Constant(n, n, 1.0 / static_cast<double>(n));
}

/// Exactly DS in binary: identity weight 32/64 plus 32/64 spread over random permutations in multiples of 1/64
/// (every entry a dyadic rational, every margin exactly 1).
Mat dyadic_ds(RandomStream& rng, Index n) {
  Mat H = Mat::Identity(n, n) * (32.0 / 64.0);
  int left = 32;
  while (left > 0) {
    const int c = std::min(left, 1 + static_cast<int>(rng.uniform() * 12.0));
    H += (c / 64.0) * random_permutation(rng, n);
    left -= c;
  }
  return H;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string cell(const DepthMetrics& m, const std::string& column) {
  const auto& cols = depth_metric_columns();
  const auto it = std::find(cols.begin(), cols.end(), column);
  REQUIRE(it != cols.end());
  return depth_metric_row(m)[static_cast<std::size_t>(it - cols.begin())];
}

/// L factors I + σ·N(0,1) (n×n), drawn in order from `rng`.
std::vector<Mat> identity_plus_noise(RandomStream& rng, Index n, std::size_t L, double sigma) {
  std::vector<Mat> stack(L, Mat(n, n));
  for (auto& h : stack) {
    rng.fill_normal(h, sigma);
    h += Mat::Identity(n, n);
  }
  return stack;
}

}  // namespace

TEST_SUITE("analysis") {

TEST_CASE("depth_metrics: kind table") {
  CHECK(product_kind_table.from_string("prefix") == ProductKind::Prefix);
  CHECK(product_kind_table.to_string(ProductKind::Suffix) == "suffix");
  CHECK(product_kind_table.names() == "layer|prefix|suffix");
  CHECK_THROWS_AS((void)product_kind_table.from_string("composite"), InputError);
}

TEST_CASE("depth_metrics: reference cases (every metric, every kind, every depth)") {
  const auto& ref = test::reference_cases()["depth_metrics"];
  const std::vector<Mat> stack = reference_stack();
  REQUIRE(stack.size() == 4);
  CHECK(!has_unit_margins(stack));
  for (const ProductKind kind : {ProductKind::Layer, ProductKind::Prefix, ProductKind::Suffix}) {
    const std::string k(product_kind_table.to_string(kind));
    const auto got = depth_metrics(stack, kind);
    const auto& rows = ref[k];
    REQUIRE(got.size() == rows.size());
    for (std::size_t l = 0; l < got.size(); ++l) {
      const auto& want = rows[l];
      REQUIRE(want["depth"].get<std::size_t>() == l + 1);
      const DepthMetrics& m = got[l];
      for (const Field& f : fields()) {
        const double expected = want[f.name].get<double>();
        INFO(k << " depth " << l + 1 << " " << f.name);
        if (f.tol == Tol::Relative) {
          MHCLAB_CHECK_NEAR(m.*f.value, expected, 0.0, 1e-12);
        } else {
          MHCLAB_CHECK_NEAR(m.*f.value, expected, 1e-12, 0.0);
        }
        if (f.log10 != nullptr && expected > 0) MHCLAB_CHECK_NEAR(m.*f.log10, std::log10(expected), 1e-12, 0.0);
      }
      CHECK(m.sigma_min_resolved);
      CHECK(m.cond_resolved);
      CHECK(m.lambda2_resolved);
      CHECK(m.spectral_radius_resolved);
      CHECK(!m.collapse_centred);
      // Formatted cells round-trip the doubles exactly (%.17g).
      const auto row = depth_metric_row(m);
      REQUIRE(row.size() == depth_metric_columns().size());
      CHECK(std::stod(row[0]) == m.fwd_gain);
      CHECK(std::stod(row[16]) == m.effective_rank);
    }
  }
}

TEST_CASE("depth_metrics: prefix equals the metrics of the explicit products") {
  RandomStream rng(3, Purpose::Test, {200});
  const Index n = 5;
  const std::vector<Mat> stack = identity_plus_noise(rng, n, 10, 0.3);
  const auto prefix = depth_metrics(stack, ProductKind::Prefix);
  const auto suffix = depth_metrics(stack, ProductKind::Suffix);
  Mat M = Mat::Identity(n, n);
  for (std::size_t l = 0; l < stack.size(); ++l) {
    M = stack[l] * M;
    Mat S = Mat::Identity(n, n);
    for (std::size_t k = stack.size(); k-- > l;) S = S * stack[k];
    const DepthMetrics a = product_metrics(ScaledMatrix::from_matrix(M));
    const DepthMetrics b = product_metrics(ScaledMatrix::from_matrix(S));
    for (const Field& f : fields()) {
      INFO("depth " << l + 1 << " " << f.name);
      MHCLAB_CHECK_NEAR(prefix[l].*f.value, a.*f.value, 1e-13, 1e-12);
      MHCLAB_CHECK_NEAR(suffix[l].*f.value, b.*f.value, 1e-13, 1e-12);
    }
  }
}

TEST_CASE("depth_metrics: the gains of a growing product are those of the plain product, bit for bit") {
  // Scaling by powers of two commutes with rounding, so M̂·2^K's margins, scaled back exactly, are the plain
  // product's margins. HC-like factors (‖H‖ ≈ 3) take the exponent K far from 0 within a few layers (k·ln 2 is then
  // inexact: this once came out a few ulps off when the compiler fused the log-scale bookkeeping).
  RandomStream rng(4, Purpose::Test, {201});
  const Index n = 4;
  const std::vector<Mat> stack = identity_plus_noise(rng, n, 40, 1.0);
  const auto prefix = depth_metrics(stack, ProductKind::Prefix);
  Mat M = Mat::Identity(n, n);
  for (std::size_t l = 0; l < stack.size(); ++l) {
    M = stack[l] * M;
    INFO("depth " << l + 1);
    CHECK(prefix[l].fwd_gain == M.rowwise().sum().cwiseAbs().maxCoeff());
    CHECK(prefix[l].bwd_gain == M.colwise().sum().cwiseAbs().maxCoeff());
    CHECK(prefix[l].fwd_gain_abs == M.cwiseAbs().rowwise().sum().maxCoeff());
  }
  CHECK(prefix.back().fwd_gain > 1e6);  // the exponent did leave 0 and 1
}

TEST_CASE("depth_metrics: 1.1·I grows beyond the double range; log10 exact, cells never inf") {
  const long L = test::test_size(100000, 10000);
  const std::vector<Mat> stack(static_cast<std::size_t>(L), 1.1 * Mat::Identity(4, 4));
  const auto m = depth_metrics(stack, ProductKind::Prefix);
  double worst = 0;
  bool all_finite = true;
  for (long l = 1; l <= L; ++l) {
    const DepthMetrics& d = m[static_cast<std::size_t>(l - 1)];
    const double want = static_cast<double>(l) * std::log10(1.1);
    worst = std::max(worst, std::fabs(d.log10_fwd_gain - want) / want);
    all_finite = all_finite && std::isfinite(d.log10_fwd_gain) && std::isfinite(d.log10_sigma_max) &&
                 std::isfinite(d.log10_collapse) && std::isfinite(d.log10_dist_identity);
  }
  CHECK(worst <= 1e-9);
  CHECK(all_finite);
  const DepthMetrics& last = m.back();
  const double want = static_cast<double>(L) * std::log10(1.1);
  const std::string exponent = "e+" + std::to_string(static_cast<long>(std::floor(want)));  // e+4139 (full)
  MHCLAB_CHECK_NEAR(last.log10_fwd_gain, want, 0.0, 1e-9);
  MHCLAB_CHECK_NEAR(last.log10_sigma_min, want, 0.0, 1e-9);
  MHCLAB_CHECK_NEAR(last.log10_spectral_radius, want, 0.0, 1e-9);
  MHCLAB_CHECK_NEAR(last.log10_lambda2, want, 0.0, 1e-9);
  MHCLAB_CHECK_NEAR(last.log10_fwd_gain_min, want, 0.0, 1e-9);
  // c^L·I − J/n has singular values c^L − 1 (on 1) and c^L: collapse ≈ c^L; ‖c^L·I − I‖_F = 2(c^L − 1).
  MHCLAB_CHECK_NEAR(last.log10_collapse, want, 0.0, 1e-9);
  MHCLAB_CHECK_NEAR(last.log10_dist_identity, want + std::log10(2.0), 0.0, 1e-9);
  MHCLAB_CHECK_NEAR(last.cond, 1.0, 0.0, 1e-12);
  CHECK(last.sigma_min_resolved);
  CHECK(std::isinf(last.fwd_gain));  // the struct's linear double is beyond range …
  for (const char* c : {"fwd_gain", "bwd_gain", "fwd_gain_min", "fwd_gain_abs", "sigma_max", "sigma_min",
                        "spectral_radius", "lambda2", "collapse", "row_err"}) {
    INFO(c << " = " << cell(last, c));
    CHECK(ends_with(cell(last, c), exponent));  // … the CSV cell is the log form, never "inf"
  }
  CHECK(cell(last, "cond") == "1");
  CHECK(cell(last, "min_entry") == "0");  // off-diagonal entries stay exact zeros
  if (!test::kReduced) CHECK(ends_with(cell(last, "fwd_gain"), "e+4139"));
}

TEST_CASE("depth_metrics: 0.9·I decays beyond the double range; never 0 or -inf") {
  const long L = test::test_size(100000, 10000);
  const std::vector<Mat> stack(static_cast<std::size_t>(L), 0.9 * Mat::Identity(4, 4));
  const auto m = depth_metrics(stack, ProductKind::Suffix);
  const DepthMetrics& first = m.front();  // S_1 = H_L···H_1, the deepest suffix
  const double want = static_cast<double>(L) * std::log10(0.9);  // −4575.749… (full)
  MHCLAB_CHECK_NEAR(first.log10_fwd_gain, want, 0.0, 1e-9);
  MHCLAB_CHECK_NEAR(first.log10_bwd_gain_abs, want, 0.0, 1e-9);
  MHCLAB_CHECK_NEAR(first.log10_sigma_min, want, 0.0, 1e-9);
  MHCLAB_CHECK_NEAR(first.log10_lambda2, want, 0.0, 1e-9);
  CHECK(first.lambda2_resolved);
  CHECK(first.fwd_gain == 0.0);  // the linear double underflows …
  const std::string exponent = "e-" + std::to_string(static_cast<long>(-std::floor(want)));
  for (const char* c : {"fwd_gain", "bwd_gain", "sigma_max", "sigma_min", "spectral_radius", "lambda2"}) {
    INFO(c << " = " << cell(first, c));
    CHECK(ends_with(cell(first, c), exponent));  // … the cell does not: "…e-4576"
  }
  if (!test::kReduced) CHECK(ends_with(cell(first, "sigma_max"), "e-4576"));
  // Absolute / dimensionless metrics: |0.9^L − 1| = 1, ‖0.9^L I − I‖_F = 2, collapse = ‖J/n‖ = 1 (to u).
  MHCLAB_CHECK_NEAR(first.row_err, 1.0, kU, 0.0);
  MHCLAB_CHECK_NEAR(first.dist_identity, 2.0, 4 * kU, 0.0);
  MHCLAB_CHECK_NEAR(first.collapse, 1.0, 4 * kU, 0.0);
  MHCLAB_CHECK_NEAR(first.effective_rank, 4.0, 0.0, 1e-14);
  for (const DepthMetrics& d : m) {
    CHECK(std::isfinite(d.log10_fwd_gain));
    CHECK(std::isfinite(d.log10_sigma_min));
  }
}

TEST_CASE("depth_metrics: collapse of (1-eps)I + eps J/n products stays resolved at any depth") {
  // H = (1−ε)I + εJ/n with ε = 1/8, n = 4: every entry dyadic (0.90625, 0.03125), margins exactly 1;
  // H − J/n = (1−ε)(I − J/n), so the L-fold collapse is exactly (1−ε)^L (10^-580 at L = 10000).
  const Index n = 4;
  const double eps = 0.125;
  const Mat H = (1 - eps) * Mat::Identity(n, n) + eps * Mat::Constant(n, n, 1.0 / n);
  for (const long L : {64L, 1000L, test::test_size(10000, 2000)}) {
    const std::vector<Mat> stack(static_cast<std::size_t>(L), H);
    REQUIRE(has_unit_margins(stack));
    const double want = static_cast<double>(L) * std::log10(1 - eps);
    const auto prefix = depth_metrics(stack, ProductKind::Prefix);
    const auto suffix = depth_metrics(stack, ProductKind::Suffix);
    INFO("L = " << L);
    CHECK(prefix.back().collapse_centred);
    MHCLAB_CHECK_NEAR(prefix.back().log10_collapse, want, 0.0, 1e-10);
    MHCLAB_CHECK_NEAR(suffix.front().log10_collapse, want, 0.0, 1e-10);
    MHCLAB_CHECK_NEAR(prefix[9].collapse, std::pow(1 - eps, 10), 0.0, 1e-13);
    // The dense product is J/n to rounding: its own SVD could never see 10^-58 (L = 1000).
    CHECK(prefix.back().row_err <= 64 * n * kU * static_cast<double>(L));
    MHCLAB_CHECK_NEAR(prefix.back().spectral_radius, 1.0, 1e-12, 0.0);
  }
}

TEST_CASE("depth_metrics: collapse of a random DS stack agrees with long double at L = 64") {
  using MatLD = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;
  RandomStream rng(4, Purpose::Test, {201});
  const Index n = 4;
  const int L = 64;
  std::vector<Mat> stack;
  for (int l = 0; l < L; ++l) stack.push_back(dyadic_ds(rng, n));  // exactly DS: the centred identity is exact
  REQUIRE(has_unit_margins(stack));
  const auto prefix = depth_metrics(stack, ProductKind::Prefix);
  const auto suffix = depth_metrics(stack, ProductKind::Suffix);
  // Reference: dense products M_l and S_l in long double (u ≈ 5.4e-20), then σ_max(M − J/n) by a long-double
  // SVD. Its absolute error ≈ L·u_ld ≈ 3.5e-18, so we compare where collapse ≥ 1e-7 at 1e-9 relative
  // (long double can resolve no deeper; that is what the centred product is for).
  MatLD M = MatLD::Identity(n, n);
  const MatLD Jn = MatLD::Constant(n, n, 1.0L / static_cast<long double>(n));
  int compared = 0;
  for (int l = 0; l < L; ++l) {
    M = stack[static_cast<std::size_t>(l)].cast<long double>() * M;
    MatLD S = MatLD::Identity(n, n);
    for (int k = L - 1; k >= l; --k) S = S * stack[static_cast<std::size_t>(k)].cast<long double>();
    const long double cm = Eigen::JacobiSVD<MatLD>(MatLD(M - Jn)).singularValues()(0);
    const long double cs = Eigen::JacobiSVD<MatLD>(MatLD(S - Jn)).singularValues()(0);
    CHECK(prefix[static_cast<std::size_t>(l)].collapse_centred);
    INFO("depth " << l + 1);
    if (cm >= 1e-7L) {
      MHCLAB_CHECK_NEAR(prefix[static_cast<std::size_t>(l)].collapse, static_cast<double>(cm), 0.0, 1e-9);
      ++compared;
    }
    if (cs >= 1e-7L) MHCLAB_CHECK_NEAR(suffix[static_cast<std::size_t>(l)].collapse, static_cast<double>(cs), 0.0, 1e-9);
  }
  CHECK(compared >= 10);
  // Deeper than long double resolves: still resolved and decaying (finite log10, strictly decreasing).
  CHECK(std::isfinite(prefix.back().log10_collapse));
  CHECK(prefix.back().collapse < prefix[static_cast<std::size_t>(L / 2)].collapse);
}

TEST_CASE("depth_metrics: rank-deficient products carry resolved = false and finite floor values") {
  const Index n = 4;
  const std::vector<Mat> jn(8, Mat::Constant(n, n, 0.25));  // J/n, exactly DS and idempotent
  for (const ProductKind kind : {ProductKind::Layer, ProductKind::Prefix, ProductKind::Suffix}) {
    for (const DepthMetrics& m : depth_metrics(jn, kind)) {
      CHECK(!m.sigma_min_resolved);
      CHECK(!m.cond_resolved);
      CHECK(!m.lambda2_resolved);
      CHECK(m.spectral_radius_resolved);
      MHCLAB_CHECK_NEAR(m.sigma_max, 1.0, 4 * kU, 0.0);
      MHCLAB_CHECK_NEAR(m.sigma_min, n * DBL_EPSILON * m.sigma_max, 0.0, 1e-12);  // the floor n·ε·σ_max
      MHCLAB_CHECK_NEAR(m.cond, 1.0 / (n * DBL_EPSILON), 0.0, 1e-12);
      CHECK(m.lambda2 > 0);
      CHECK(std::isfinite(m.log10_sigma_min));
      CHECK(std::isfinite(m.log10_cond));
      CHECK(std::isfinite(m.log10_lambda2));
      MHCLAB_CHECK_NEAR(m.effective_rank, 1.0, 1e-12, 0.0);
      MHCLAB_CHECK_NEAR(m.spectral_radius, 1.0, 1e-12, 0.0);
      // J/n − J/n = 0 exactly: collapse is an exact zero, the one case with log10 = −inf.
      CHECK(m.collapse == 0.0);
      CHECK(m.log10_collapse == -kInf);
      CHECK(cell(m, "collapse") == "0");
    }
  }
  // A singular non-DS composite (zero column): cond is the finite floor value, not +inf (see header).
  Mat S(3, 3);
  S << 1, 0, 2, 0, 0, 1, 3, 0, 1;
  const auto sing = depth_metrics({S, Mat::Identity(3, 3) * 2.0}, ProductKind::Prefix);
  for (const DepthMetrics& m : sing) {
    CHECK(!m.cond_resolved);
    CHECK(std::isfinite(m.cond));
    CHECK(std::isfinite(m.log10_sigma_min));
    CHECK(m.log10_sigma_min < m.log10_sigma_max - 14);
  }
  // The exactly zero matrix: σ = 0 (log10 −inf), cond = +inf, row_err = 1 — exact values.
  const DepthMetrics z = depth_metrics({Mat::Zero(3, 3)}, ProductKind::Layer).front();
  CHECK(z.sigma_max == 0.0);
  CHECK(z.log10_sigma_max == -kInf);
  CHECK(z.cond == kInf);
  CHECK(z.log10_cond == kInf);
  CHECK(z.row_err == 1.0);
  CHECK(z.effective_rank == 0.0);
  MHCLAB_CHECK_NEAR(z.dist_identity, std::sqrt(3.0), 4 * kU, 0.0);
  CHECK(cell(z, "cond") == "inf");
  CHECK(cell(z, "sigma_max") == "0");
}

TEST_CASE("depth_metrics: properties of prefix products of random DS matrices") {
  RandomStream rng(5, Purpose::Test, {202});
  const Index n = 5;
  const long L = test::test_size(300, 60);
  std::vector<Mat> stack;
  for (long l = 0; l < L; ++l) stack.push_back(random_ds(rng, n));
  REQUIRE(has_unit_margins(stack));
  for (const ProductKind kind : {ProductKind::Prefix, ProductKind::Suffix}) {
    const auto m = depth_metrics(stack, kind);
    for (std::size_t l = 0; l < m.size(); ++l) {
      const DepthMetrics& d = m[l];
      const double depth = kind == ProductKind::Prefix ? static_cast<double>(l + 1) : static_cast<double>(L) - l;
      INFO(product_kind_table.to_string(kind) << " depth " << depth);
      CHECK(d.row_err <= 64 * n * kU * depth);
      CHECK(d.col_err <= 64 * n * kU * depth);
      MHCLAB_CHECK_NEAR(d.spectral_radius, 1.0, 1e-12, 0.0);
      CHECK(d.sigma_max <= 1 + 1e-12);
      CHECK(d.sigma_max >= 1 - 1e-12);  // 1 is a singular value (M1 = 1, 1ᵀM = 1ᵀ)
      CHECK(d.min_entry > 0);
      CHECK(d.fwd_gain >= d.fwd_gain_min);
      CHECK(d.bwd_gain >= d.bwd_gain_min);
      CHECK(d.fwd_gain_abs >= d.fwd_gain * (1 - 1e-15));
      CHECK(d.bwd_gain_abs >= d.bwd_gain * (1 - 1e-15));
      CHECK(d.collapse_centred);
      CHECK(d.collapse < 1.0);
      CHECK(d.cond >= 1.0);
      CHECK(d.effective_rank >= 1.0 - 1e-12);
      CHECK(d.effective_rank <= static_cast<double>(n) + 1e-12);
      CHECK(std::isfinite(d.log10_collapse));
      // |λ₂(M)| ≤ ρ(M − J/n) ≤ σ_max(M − J/n) for DS M; λ₂ comes from the dense product (absolute accuracy
      // ~n·u), collapse from the centred one.
      CHECK(d.lambda2 <= d.collapse * (1 + 1e-9) + 64 * n * kU);
    }
    // Collapse decays with depth (ρ^L): the deepest product is far below the dense SVD floor, yet resolved.
    const DepthMetrics& deepest = kind == ProductKind::Prefix ? m.back() : m.front();
    if (!test::kReduced) CHECK(deepest.log10_collapse < -20);
  }
}

TEST_CASE("depth_metrics: general stacks satisfy the norm inequalities") {
  RandomStream rng(6, Purpose::Test, {203});
  const Index n = 6;
  const std::vector<Mat> stack = identity_plus_noise(rng, n, 40, 0.5);
  for (const ProductKind kind : {ProductKind::Layer, ProductKind::Prefix, ProductKind::Suffix}) {
    for (const DepthMetrics& d : depth_metrics(stack, kind)) {
      CHECK(d.fwd_gain >= d.fwd_gain_min);
      CHECK(d.fwd_gain >= std::fabs(d.fwd_gain_min));
      CHECK(d.fwd_gain_abs >= d.fwd_gain * (1 - 1e-14));
      CHECK(d.bwd_gain_abs >= d.bwd_gain * (1 - 1e-14));
      CHECK(d.sigma_max >= d.spectral_radius * (1 - 1e-12));
      CHECK(d.spectral_radius >= d.lambda2);
      CHECK(d.sigma_max <= std::sqrt(d.fwd_gain_abs * d.bwd_gain_abs) * (1 + 1e-12));  // ‖M‖₂² ≤ ‖M‖₁‖M‖_∞
      CHECK(d.sigma_min <= d.sigma_max);
      CHECK(!d.collapse_centred);
      MHCLAB_CHECK_NEAR(d.log10_cond, d.log10_sigma_max - d.log10_sigma_min, 1e-12, 0.0);
    }
  }
}

TEST_CASE("depth_metrics: columns, rows and input errors") {
  const auto& cols = depth_metric_columns();
  CHECK(cols.size() == 38);
  CHECK(cols.front() == "fwd_gain");
  CHECK(cols[16] == "effective_rank");
  CHECK(cols[17] == "sigma_ratio");
  CHECK(cols[18] == "collapse_rate");
  CHECK(cols[19] == "log10_fwd_gain");
  CHECK(cols.back() == "sigma_ratio_resolved");
  const DepthMetrics d = depth_metrics({Mat::Identity(2, 2)}, ProductKind::Layer).front();
  const auto row = depth_metric_row(d);
  REQUIRE(row.size() == cols.size());
  CHECK(cell(d, "fwd_gain") == "1");
  CHECK(cell(d, "row_err") == "0");
  CHECK(cell(d, "dist_identity") == "0");
  CHECK(cell(d, "log10_dist_identity") == "-inf");
  CHECK(cell(d, "sigma_min_resolved") == "true");
  CHECK(cell(d, "collapse_centred") == "false");  // layer kind: dense collapse
  // n = 1: no second eigenvalue.
  const DepthMetrics one = depth_metrics({Mat::Constant(1, 1, 3.0)}, ProductKind::Prefix).front();
  CHECK(std::isnan(one.lambda2));
  CHECK(!one.lambda2_resolved);
  CHECK(one.sigma_max == 3.0);
  CHECK(one.effective_rank == 1.0);

  CHECK(depth_metrics({}, ProductKind::Prefix).empty());
  CHECK_THROWS_AS((void)depth_metrics({Mat::Identity(2, 2), Mat::Identity(3, 3)}, ProductKind::Prefix), InputError);
  CHECK_THROWS_AS((void)depth_metrics({Mat(2, 3)}, ProductKind::Layer), InputError);
  Mat bad = Mat::Identity(2, 2);
  bad(1, 0) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS((void)depth_metrics({bad}, ProductKind::Suffix), InputError);
}

TEST_CASE("depth_metrics: collapse diagnostics sigma_ratio and collapse_rate against dense products") {
  // sigma_ratio = σ₂/σ₁ of the explicit product (JacobiSVD of the plain double product: L = 12 factors of norm ≤ 1
  // keep it far inside the double range, relative rounding ~L·n·u, so 1e-10 relative; σ₂ stays well above the
  // floor n·ε·σ₁ here). collapse_rate = collapse^(1/k) for k factors: the rate is computed from log10_collapse,
  // so it agrees with pow(collapse, 1/k) to a few ulp (1e-13 relative).
  RandomStream rng(77, Purpose::Test, {9});
  const Index n = 4, L = 12;
  std::vector<Mat> stack;
  for (Index l = 0; l < L; ++l) stack.push_back(random_ds(rng, n));
  for (const ProductKind kind : {ProductKind::Layer, ProductKind::Prefix, ProductKind::Suffix}) {
    const auto got = depth_metrics(stack, kind);
    for (Index l = 0; l < L; ++l) {
      Mat P = Mat::Identity(n, n);
      Index k = 1;
      if (kind == ProductKind::Layer) P = stack[static_cast<std::size_t>(l)];
      if (kind == ProductKind::Prefix) {
        for (Index j = 0; j <= l; ++j) P = stack[static_cast<std::size_t>(j)] * P;
        k = l + 1;
      }
      if (kind == ProductKind::Suffix) {
        for (Index j = L - 1; j >= l; --j) P = P * stack[static_cast<std::size_t>(j)];
        k = L - l;
      }
      const DepthMetrics& m = got[static_cast<std::size_t>(l)];
      const Vec sv = Eigen::JacobiSVD<Mat>(P).singularValues();
      INFO(product_kind_table.to_string(kind) << " depth " << l + 1);
      REQUIRE(m.sigma_ratio_resolved);
      MHCLAB_CHECK_NEAR(m.sigma_ratio, sv[1] / sv[0], 0.0, 1e-10);
      CHECK(m.sigma_ratio <= 1.0);
      MHCLAB_CHECK_NEAR(m.collapse_rate, std::pow(m.collapse, 1.0 / static_cast<double>(k)), 0.0, 1e-13);
    }
  }
  // A rank-one product (J/n) has σ₂ below the floor: flagged, floored, never 0; the collapse is exactly 0 and
  // so is its rate. n = 1: σ₂ does not exist.
  const Mat Jn = Mat::Constant(n, n, 1.0 / static_cast<double>(n));
  const DepthMetrics j = depth_metrics({Jn, Jn}, ProductKind::Prefix).back();
  CHECK_FALSE(j.sigma_ratio_resolved);
  CHECK(j.sigma_ratio > 0.0);
  CHECK(j.sigma_ratio <= static_cast<double>(n) * DBL_EPSILON * (1 + 1e-12));
  CHECK(j.collapse == 0.0);
  CHECK(j.collapse_rate == 0.0);
  const DepthMetrics one = depth_metrics({Mat::Constant(1, 1, 0.5)}, ProductKind::Layer).front();
  CHECK(std::isnan(one.sigma_ratio));
  CHECK_FALSE(one.sigma_ratio_resolved);
  // Deep products: the rate stays finite and equals 10^(log10 collapse / L) for (1−ε)I + εJ/n, whose centred
  // product is (1−ε)^L (I − J/n): rate 1 − ε exactly up to rounding, at L = 10⁴ (collapse ~1e-44).
  const double eps = 0.01;
  Mat H0 = Mat::Constant(n, n, eps / static_cast<double>(n));
  H0.diagonal().array() += 1.0 - eps;
  const std::vector<Mat> deep(10000, H0);
  const DepthMetrics d = depth_metrics(deep, ProductKind::Prefix).back();
  MHCLAB_CHECK_NEAR(d.collapse_rate, 1.0 - eps, 0.0, 1e-12);
}

}  // TEST_SUITE
