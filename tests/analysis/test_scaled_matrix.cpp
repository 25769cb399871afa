// analysis/scaled_matrix.hpp and analysis/format_scaled.hpp: depth products with a separate log scale, and
// decimal text beyond the double range (SPEC §4).
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "mhclab/analysis/format_scaled.hpp"
#include "mhclab/analysis/scaled_matrix.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {

bool invariant_holds(const ScaledMatrix& s) {
  if (s.is_zero()) return s.M.isZero(0.0);
  const double mx = s.M.cwiseAbs().maxCoeff();
  return std::isfinite(s.log_scale()) && mx >= 0.5 && mx < 1.0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

TEST_SUITE("analysis") {

TEST_CASE("scaled_matrix: identity and from_matrix keep the value exactly") {
  const ScaledMatrix I = ScaledMatrix::identity(3);
  CHECK(invariant_holds(I));
  CHECK(test::max_abs_diff(I.value(), Mat::Identity(3, 3)) == 0.0);

  RandomStream rng(1, Purpose::Test, {100});
  Mat A(4, 4);
  rng.fill_normal(A, 37.0);
  const ScaledMatrix S = ScaledMatrix::from_matrix(A);
  CHECK(invariant_holds(S));
  // One power-of-two renormalisation, undone exactly by value() (integer exponent: no rounding anywhere).
  CHECK(S.value() == A);
  CHECK(S.log_scale() == static_cast<double>(S.exponent) * std::numbers::ln2);

  CHECK_THROWS_AS((void)ScaledMatrix::from_matrix(Mat(2, 3)), InputError);
  Mat B = Mat::Identity(2, 2);
  B(0, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS((void)ScaledMatrix::from_matrix(B), InputError);
  CHECK_THROWS_AS((void)ScaledMatrix::identity(0), InputError);
}

TEST_CASE("scaled_matrix: prefix and suffix updates equal the plain products") {
  RandomStream rng(2, Purpose::Test, {101});
  const Index n = 5;
  const int L = 12;
  std::vector<Mat> H(L, Mat(n, n));
  for (auto& h : H) {
    rng.fill_normal(h, 0.4);
    h += Mat::Identity(n, n);
  }
  ScaledMatrix P = ScaledMatrix::identity(n), S = ScaledMatrix::identity(n);
  Mat plainP = Mat::Identity(n, n), plainS = Mat::Identity(n, n);
  for (int l = 0; l < L; ++l) {
    P.left_multiply(H[l]);        // M_l = H_l · M_{l−1}
    plainP = H[l] * plainP;
    S.right_multiply(H[L - 1 - l]);  // S = S · H_k, k = L..1
    plainS = plainS * H[L - 1 - l];
    CHECK(invariant_holds(P));
    CHECK(invariant_holds(S));
    // Power-of-two scaling commutes with rounding (normal numbers), so the scaled products are the plain ones
    // bit for bit.
    CHECK(P.value() == plainP);
    CHECK(S.value() == plainS);
  }
  CHECK_THROWS_AS(P.left_multiply(Mat::Identity(3, 3)), InputError);
  CHECK_THROWS_AS(S.right_multiply(Mat::Identity(3, 3)), InputError);
}

TEST_CASE("scaled_matrix: no overflow or underflow at any depth") {
  const long L = test::test_size(100000, 10000);
  ScaledMatrix up = ScaledMatrix::identity(4), down = ScaledMatrix::identity(4);
  const Mat G = 1.1 * Mat::Identity(4, 4), D = 0.9 * Mat::Identity(4, 4);
  for (long l = 0; l < L; ++l) {
    up.left_multiply(G);
    down.right_multiply(D);
  }
  CHECK(invariant_holds(up));
  CHECK(invariant_holds(down));
  const double Ld = static_cast<double>(L);
  MHCLAB_CHECK_NEAR(std::log10(up.M(0, 0)) + up.log10_scale(), Ld * std::log10(1.1), 0.0, 1e-12);
  MHCLAB_CHECK_NEAR(std::log10(down.M(0, 0)) + down.log10_scale(), Ld * std::log10(0.9), 0.0, 1e-12);
  CHECK(up.M(0, 1) == 0.0);  // off-diagonal zeros stay exact
  // Plain values are beyond the double range: inf and 0, as documented.
  CHECK(std::isinf(up.value()(0, 0)));
  CHECK(down.value()(0, 0) == 0.0);

  // Factors with huge or tiny entries: pre-scaled, the product never overflows on the way.
  ScaledMatrix big = ScaledMatrix::identity(3);
  for (int l = 0; l < 10; ++l) big.left_multiply(1e300 * Mat::Ones(3, 3));
  CHECK(invariant_holds(big));
  // (1e300·J)^10 = 1e3000·3^9·J
  MHCLAB_CHECK_NEAR(std::log10(big.M(1, 2)) + big.log10_scale(), 3000.0 + 9.0 * std::log10(3.0), 0.0, 1e-13);
  ScaledMatrix tiny = ScaledMatrix::identity(2);
  for (int l = 0; l < 4; ++l) tiny.right_multiply(Mat::Identity(2, 2) * 1e-300);
  CHECK(invariant_holds(tiny));
  CHECK(!tiny.is_zero());
  MHCLAB_CHECK_NEAR(std::log10(tiny.M(0, 0)) + tiny.log10_scale(), -1200.0, 0.0, 1e-13);
}

TEST_CASE("scaled_matrix: an exactly zero product stays representable") {
  Mat N = Mat::Zero(2, 2);
  N(0, 1) = 1.0;  // nilpotent: N² = 0 exactly
  ScaledMatrix P = ScaledMatrix::identity(2);
  P.left_multiply(N);
  CHECK(!P.is_zero());
  P.left_multiply(N);
  CHECK(P.is_zero());
  CHECK(P.log_scale() == -std::numeric_limits<double>::infinity());
  CHECK(P.exponent == 0);
  CHECK(P.M.isZero(0.0));
  P.left_multiply(Mat::Constant(2, 2, 5.0));  // 0 stays 0
  CHECK(P.is_zero());
  CHECK(P.value().isZero(0.0));
  CHECK(ScaledMatrix::from_matrix(Mat::Zero(3, 3)).is_zero());
}

TEST_CASE("scaled_value: m·e^s without spurious overflow") {
  CHECK(scaled_value(0.5, std::numbers::ln2) == 1.0);
  MHCLAB_CHECK_NEAR(scaled_value(-3.0, 2.0), -3.0 * std::exp(2.0), 0.0, 4 * DBL_EPSILON);
  CHECK(std::isinf(scaled_value(1.0, 1000 * std::numbers::ln10)));
  CHECK(scaled_value(-1.0, 1000 * std::numbers::ln10) == -std::numeric_limits<double>::infinity());
  CHECK(scaled_value(1.0, -1000 * std::numbers::ln10) == 0.0);
  CHECK(std::signbit(scaled_value(-1.0, -1000 * std::numbers::ln10)));
  CHECK(scaled_value(0.0, 1e6) == 0.0);
  CHECK(scaled_value(1.0, -std::numeric_limits<double>::infinity()) == 0.0);
  // e^{710} overflows on its own, 1e-10·e^{710} does not.
  MHCLAB_CHECK_NEAR(std::log(scaled_value(1e-10, 710.0)), 710.0 + std::log(1e-10), 0.0, 1e-15);
  MHCLAB_CHECK_NEAR(std::log(scaled_value(1e10, -740.0)), -740.0 + std::log(1e10), 0.0, 1e-15);
}

TEST_CASE("format_scaled / format_metric: beyond the double range, never inf or 0") {
  const double up = 100000 * std::log10(1.1);  // 4139.268515822507
  const std::string s = format_scaled(up, 1);
  CHECK(ends_with(s, "e+4139"));
  CHECK(s.rfind("1.8557", 0) == 0);  // 10^0.2685158 = 1.85573…
  CHECK(std::stod(s.substr(0, s.find('e'))) == doctest::Approx(std::pow(10.0, up - 4139.0)).epsilon(1e-10));
  CHECK(format_scaled(up, -1).rfind("-1.8557", 0) == 0);
  CHECK(ends_with(format_scaled(100000 * std::log10(0.9), 1), "e-4576"));
  CHECK(format_scaled(-std::numeric_limits<double>::infinity(), 1) == "0");
  CHECK(format_scaled(std::numeric_limits<double>::infinity(), -1) == "-inf");
  CHECK(format_scaled(std::nan(""), 1) == "nan");
  // 10^{1 − 1 ulp} rounds to 10.0… at the resolved digits: renormalised to 1.0…e+1.
  const std::string r = format_scaled(std::nextafter(1.0, 0.0), 1);
  CHECK(r.rfind("1.0", 0) == 0);
  CHECK(ends_with(r, "e+1"));
  // digits follow the resolution of the log: 11 significant digits near 4139.
  CHECK(s.find('e') == 12);  // "d." + 10 decimals

  CHECK(format_metric(1.5, std::log10(1.5)) == "1.5");
  CHECK(format_metric(0.0, -std::numeric_limits<double>::infinity()) == "0");
  CHECK(format_metric(std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()) == "inf");
  CHECK(ends_with(format_metric(std::numeric_limits<double>::infinity(), up), "e+4139"));
  CHECK(ends_with(format_metric(0.0, -4575.7), "e-4576"));
  CHECK(format_metric(-0.0, -4575.7).rfind("-", 0) == 0);
  const double sub = 1e-310;  // subnormal: printed from the log form, full precision
  CHECK(format_metric(sub, -310.0) == format_scaled(-310.0, 1));
  CHECK(format_metric(std::nan(""), 1.0) == "nan");
}


TEST_CASE("scaled_value: a binary scale fl(k·ln 2) is applied exactly, whatever the compiler contracts") {
  // k·ln 2 is inexact for k = 3, 26, 1001, …: a split log_scale − k·ln 2 evaluated with a fused multiply-add is the
  // rounding error of fl(k·ln 2), not 0, which made deep products' values a few ulps off.
  for (const long k : {0L, 1L, 2L, 3L, 26L, 1001L, 2999L, -5L, -1100L}) {
    const double log_scale = static_cast<double>(k) * std::numbers::ln2;
    for (const double m : {0.75, -0.5390625, 0.9999999999999999}) {
      CAPTURE(k);
      CHECK(scaled_value(m, log_scale) == std::ldexp(m, static_cast<int>(k)));
    }
  }
  // A non-binary scale: m·e^s to a few ulps, relative (k = −1010 here: a single-double ln 2 in the reduction gave
  // 2.3e-14).
  CHECK(scaled_value(1.0, 10.3) / std::exp(10.3) == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(scaled_value(-2.0, -700.25) / (-2.0 * std::exp(-700.25)) == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(std::isnan(scaled_value(1.0, std::nan(""))));
}

}  // TEST_SUITE
