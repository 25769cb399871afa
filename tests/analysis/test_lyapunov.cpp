// analysis/lyapunov.hpp: Lyapunov exponents by QR/Benettin re-orthonormalisation (SPEC §4).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/LU>
#include <Eigen/QR>

#include "mhclab/analysis/lyapunov.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Mat normal_matrix(RandomStream& rng, Index n, double scale = 1.0) {
  Mat G(n, n);
  rng.fill_normal(G, scale);
  return G;
}

bool no_nan(const Vec& v) {
  return std::none_of(v.data(), v.data() + v.size(), [](double x) { return std::isnan(x); });
}

bool is_sorted_desc(const Vec& v) {
  for (Index i = 1; i < v.size(); ++i)
    if (v[i] > v[i - 1]) return false;
  return true;
}

/// Sample mean and standard deviation.
struct MeanSd {
  double mean = 0, sd = 0;
};
MeanSd mean_sd(const std::vector<double>& x) {
  double m = 0;
  for (double v : x) m += v;
  m /= static_cast<double>(x.size());
  double q = 0;
  for (double v : x) q += (v - m) * (v - m);
  return {m, std::sqrt(q / static_cast<double>(x.size() - 1))};
}

}  // namespace

TEST_SUITE("analysis") {

TEST_CASE("lyapunov: constant diagonal diag(d) gives sorted log|d_i|") {
  const Vec d = (Vec(6) << 2.0, -0.5, 3.0, 1e-3, -7.0, 1.0).finished();
  const Mat D = d.asDiagonal();
  for (int L : {1, 7, 50}) {
    const std::vector<Mat> stack(static_cast<std::size_t>(L), D);
    const LyapunovResult r = lyapunov_exponents(stack);
    REQUIRE(r.exponents.size() == 6);
    REQUIRE(r.layers == L);
    const Vec logd = d.cwiseAbs().array().log().matrix();
    Vec sorted = logd;
    std::sort(sorted.data(), sorted.data() + sorted.size(), std::greater<>());
    for (Index j = 0; j < 6; ++j) {
      MHCLAB_CHECK_NEAR(r.exponents[j], sorted[j], 1e-12, 0.0);
      MHCLAB_CHECK_NEAR(r.exponents_qr[j], logd[j], 1e-12, 0.0);  // QR column order = diagonal order
      MHCLAB_CHECK_NEAR(r.log_r_sums[j], L * logd[j], 1e-12, 1e-14);
    }
    CHECK(is_sorted_desc(r.exponents));
    REQUIRE(r.running.size() == static_cast<std::size_t>(L));
    for (const Vec& e : r.running) CHECK(test::max_abs_diff(e, sorted) <= 1e-12);
  }
}

TEST_CASE("lyapunov: factors far beyond the double range (exact power-of-two scaling, no overflow)") {
  // Products ~1e12000 and ~1e-12000; each factor's own dynamic range (max/min entry) stays below 1e308.
  const Vec big = (Vec(3) << 1e300, 1e250, -1e200).finished();
  const Vec tiny = (Vec(3) << -1e-300, 1e-250, 1e-200).finished();
  for (const Vec& d : {big, tiny}) {
    const Mat D = d.asDiagonal();
    const LyapunovResult r = lyapunov_exponents(std::vector<Mat>(40, D));
    Vec ref = d.cwiseAbs().array().log().matrix();
    std::sort(ref.data(), ref.data() + ref.size(), std::greater<>());
    for (Index j = 0; j < 3; ++j) {
      MHCLAB_CHECK_NEAR(r.exponents[j], ref[j], 0.0, 1e-14);
      MHCLAB_CHECK_NEAR(r.log_r_sums[j], 40 * std::log(std::fabs(d[j])), 0.0, 1e-14);
    }
  }
}

TEST_CASE("lyapunov: log_r_sums are log|det M_L| (summed) and log‖M_L e_1‖ (first column), exactly") {
  // A well-conditioned product (cond(M) ~ 10), so that the dense reference M is accurate to ~1e-15 relative.
  RandomStream rng(11, Purpose::Test, {300});
  const Index n = 5;
  const int L = 8;
  std::vector<Mat> stack;
  Mat M = Mat::Identity(n, n);
  for (int l = 0; l < L; ++l) {
    stack.push_back(1.5 * Mat::Identity(n, n) + normal_matrix(rng, n, 0.15));
    M = stack.back() * M;  // prefix: newest on the left
  }
  const LyapunovResult r = lyapunov_exponents(stack);
  const double logdet = std::log(std::fabs(M.partialPivLu().determinant()));
  MHCLAB_CHECK_NEAR(r.log_r_sums.sum(), logdet, 1e-12, 1e-12);
  MHCLAB_CHECK_NEAR(r.log_r_sums[0], std::log(M.col(0).norm()), 1e-12, 1e-12);
  // First m columns: log of the m-volume of M's first m columns = Σ_{j<m} log|R_jj| of a QR of M.
  const Mat RM = M.householderQr().matrixQR().triangularView<Eigen::Upper>();
  for (Index m = 1; m <= n; ++m) {
    const double logvol = RM.diagonal().head(m).cwiseAbs().array().log().sum();
    MHCLAB_CHECK_NEAR(r.log_r_sums.head(m).sum(), logvol, 1e-12, 1e-12);
  }
}

TEST_CASE("lyapunov: streaming == batch (bitwise), running, sign convention, k < n") {
  RandomStream rng(12, Purpose::Test, {301});
  const Index n = 6;
  std::vector<Mat> stack;
  for (int l = 0; l < 30; ++l) stack.push_back(normal_matrix(rng, n));
  const LyapunovResult r = lyapunov_exponents(stack);

  LyapunovAccumulator acc;
  CHECK(acc.n() == 0);
  for (const Mat& H : stack) acc.push(H);
  CHECK(acc.layers() == 30);
  CHECK(acc.n() == n);
  CHECK(acc.k() == n);
  CHECK(acc.log_r_sums() == r.log_r_sums);  // bitwise
  CHECK(acc.exponents() == r.exponents);
  CHECK(acc.exponents_qr() == r.exponents_qr);
  REQUIRE(r.running.size() == 30);
  CHECK(r.running.back() == r.exponents);
  CHECK(is_sorted_desc(r.exponents));
  // Q stays orthonormal.
  const Mat& Q = acc.basis();
  CHECK(test::max_abs_diff(Q.transpose() * Q, Mat::Identity(n, n)) <= 1e-13);

  // k < n: the first k QR-order sums are those of the full run (the leading block of R does not see the rest).
  LyapunovOptions o;
  o.k = 2;
  const LyapunovResult r2 = lyapunov_exponents(stack, o);
  REQUIRE(r2.log_r_sums.size() == 2);
  for (Index j = 0; j < 2; ++j) MHCLAB_CHECK_NEAR(r2.log_r_sums[j], r.log_r_sums[j], 1e-11, 1e-12);
  o.running = false;
  CHECK(lyapunov_exponents(stack, o).running.empty());
}

TEST_CASE("lyapunov: sign convention diag(R) ≥ 0 (Q_1 of a diagonal factor with negative entries)") {
  const Mat D = (Vec(3) << -2.0, 3.0, -0.5).finished().asDiagonal();
  LyapunovAccumulator acc;
  acc.push(D);
  // H Q_0 = D = Q_1 R_1 with diag(R_1) ≥ 0 ⇒ Q_1 = sign(D), R_1 = |D|.
  CHECK(test::max_abs_diff(acc.basis(), Mat((Vec(3) << -1.0, 1.0, -1.0).finished().asDiagonal())) == 0.0);
}

TEST_CASE("lyapunov: a singular factor gives -inf for the lost direction, finite others, never NaN") {
  RandomStream rng(13, Purpose::Test, {302});
  const Index n = 4;
  std::vector<Mat> stack;
  Mat H1 = normal_matrix(rng, n);
  H1.col(2).setZero();  // with Q_0 = I, direction e_3 is mapped to 0: R_1,33 = 0 exactly
  stack.push_back(H1);
  for (int l = 0; l < 20; ++l) stack.push_back(normal_matrix(rng, n));
  const LyapunovResult r = lyapunov_exponents(stack);
  CHECK(r.exponents_qr[2] == -kInf);
  CHECK(r.log_r_sums[2] == -kInf);
  for (Index j : {0, 1, 3}) CHECK(std::isfinite(r.exponents_qr[j]));
  CHECK(r.exponents[3] == -kInf);  // sorted: the lost direction is last
  CHECK(no_nan(r.exponents));
  CHECK(no_nan(r.exponents_qr));
  for (const Vec& e : r.running) CHECK(no_nan(e));
  CHECK(r.running.front()[3] == -kInf);

  // The zero factor loses every direction.
  const LyapunovResult z = lyapunov_exponents({normal_matrix(rng, n), Mat::Zero(n, n), normal_matrix(rng, n)});
  for (Index j = 0; j < n; ++j) CHECK(z.exponents[j] == -kInf);
  CHECK(no_nan(z.log_r_sums));
}

TEST_CASE("lyapunov: input errors") {
  CHECK_THROWS_AS((void)lyapunov_exponents({}), InputError);
  CHECK_THROWS_AS((void)lyapunov_exponents({Mat::Identity(3, 2)}), InputError);
  CHECK_THROWS_AS((void)lyapunov_exponents({Mat(0, 0)}), InputError);
  CHECK_THROWS_AS((void)lyapunov_exponents({Mat::Identity(3, 3), Mat::Identity(4, 4)}), InputError);
  Mat bad = Mat::Identity(3, 3);
  bad(1, 2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS((void)lyapunov_exponents({Mat::Identity(3, 3), bad}), InputError);
  LyapunovOptions o;
  o.k = 4;
  CHECK_THROWS_AS((void)lyapunov_exponents({Mat::Identity(3, 3)}, o), InputError);
  o.k = -1;
  CHECK_THROWS_AS(LyapunovAccumulator{o}, InputError);

  LyapunovAccumulator acc;
  CHECK_THROWS_AS((void)acc.exponents(), InputError);
  CHECK_THROWS_AS((void)acc.result(), InputError);
  acc.push(Mat::Identity(2, 2));
  CHECK_THROWS_AS(acc.push(Mat::Identity(3, 3)), InputError);
  CHECK_THROWS_AS(acc.push(bad.topLeftCorner(2, 2) + Mat::Constant(2, 2, kInf)), InputError);
  CHECK(acc.layers() == 1);  // state unchanged by the refused pushes
  CHECK(acc.exponents() == Vec::Zero(2));
}

}  // TEST_SUITE("analysis")

TEST_SUITE("analysis_slow") {

TEST_CASE("lyapunov: random DS products with positive entries: lambda_1 = 0, lambda_2 < 0") {
  const int L = 2000;
  for (Index n : {3, 4, 8}) {
    CAPTURE(n);
    SinkhornOptions so;
    so.iterations = 500;
    so.tol = 1e-15;
    LyapunovAccumulator acc;
    for (int l = 0; l < L; ++l) {
      RandomStream rng(14, Purpose::Test, {303, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(l)});
      const SinkhornResult s = sinkhorn(normal_matrix(rng, n), so);  // Sinkhorn of exp(N(0,1))
      REQUIRE(s.H.rows() == n);
      REQUIRE(s.summary.col_err <= 1e-13);
      REQUIRE(s.summary.row_err <= 1e-13);
      acc.push(s.H);
    }
    const Vec e = acc.exponents();
    MESSAGE("DS n = " << n << ", L = " << L << ": lyap_1 = " << e[0] << " (bound 10/L = " << 10.0 / L
                      << "), lyap_2 = " << e[1] << ", lyap_n = " << e[n - 1]);
    CHECK(std::fabs(e[0]) <= 10.0 / L);
    CHECK(e[1] < 0.0);
    CHECK(is_sorted_desc(e));
  }
}

TEST_CASE("lyapunov: I + sigma G products: lambda_1 and sum of exponents vs Monte Carlo (SPEC §4)") {
  const double sigma = 0.3;
  const auto L = test::test_size(100000, 5000);
  const auto n_mc = test::test_size(100000, 5000);
  for (Index n : {4, 8}) {
    CAPTURE(n);
    const auto nu = static_cast<std::uint64_t>(n);
    // Benettin estimate, layers streamed (fresh G per layer).
    LyapunovAccumulator acc;
    RandomStream rng(15, Purpose::Test, {304, nu});
    Mat H(n, n);
    for (long l = 0; l < L; ++l) {
      rng.fill_normal(H, sigma);
      H.diagonal().array() += 1.0;
      acc.push(H);
    }
    const Vec e = acc.exponents();
    const double lambda1 = e[0];
    const double lyap_sum = acc.log_r_sums().sum() / static_cast<double>(L);

    // Monte Carlo references from an independent stream: E log‖(I+σG)e_1‖ and E log|det(I+σG)|.
    RandomStream mc(15, Purpose::Test, {305, nu});
    std::vector<double> x1, xdet;
    x1.reserve(static_cast<std::size_t>(n_mc));
    xdet.reserve(static_cast<std::size_t>(n_mc));
    for (long t = 0; t < n_mc; ++t) {
      mc.fill_normal(H, sigma);
      H.diagonal().array() += 1.0;
      x1.push_back(std::log(H.col(0).norm()));
      xdet.push_back(std::log(std::fabs(H.partialPivLu().determinant())));
    }
    const MeanSd m1 = mean_sd(x1), md = mean_sd(xdet);
    const double w = std::sqrt(1.0 / static_cast<double>(L) + 1.0 / static_cast<double>(n_mc));
    const double b1 = 4 * m1.sd * w, bd = 4 * md.sd * w;
    MESSAGE("I+σG n = " << n << ", σ = " << sigma << ", L = " << L << ", N_MC = " << n_mc << ": lambda_1 = "
                        << lambda1 << ", mu_MC = " << m1.mean << " (s = " << m1.sd << "), |diff| = "
                        << std::fabs(lambda1 - m1.mean) << " <= bound " << b1 << "; sum lyap = " << lyap_sum
                        << ", E log|det| MC = " << md.mean << " (s = " << md.sd << "), |diff| = "
                        << std::fabs(lyap_sum - md.mean) << " <= bound " << bd
                        << "; small-σ value σ²(n−2)/2 = " << sigma * sigma * static_cast<double>(n - 2) / 2);
    CHECK(std::fabs(lambda1 - m1.mean) <= b1);
    CHECK(std::fabs(lyap_sum - md.mean) <= bd);
    CHECK(is_sorted_desc(e));
    CHECK(lambda1 > 0.0);
  }
}

}  // TEST_SUITE("analysis_slow")
