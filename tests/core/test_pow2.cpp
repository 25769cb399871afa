// core/pow2.hpp: scaling by 2^e is ldexp's correctly rounded result for every e (one rounding, also into the
// subnormal range and for |e| > 1000), on scalars and entrywise on matrices; exponents and log10 forms.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "mhclab/core/pow2.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/core/types.hpp"
#include "support/check.hpp"

using namespace mhclab;

TEST_SUITE("core_pow2") {
  TEST_CASE("times_pow2 equals ldexp bit for bit, for every exponent range") {
    RandomStream rng(3, Purpose::Bench, {});
    const double inf = std::numeric_limits<double>::infinity();
    for (int k = 0; k < 20000; ++k) {
      // x over the whole normal and subnormal range, e from −5000 to 5000 (saturation, subnormal results, ±1000).
      const double x = std::ldexp(rng.normal(), static_cast<int>(rng.uniform() * 2140.0) - 1070);
      const long e = static_cast<long>(rng.uniform() * 10000.0) - 5000;
      const double want = std::ldexp(x, static_cast<int>(e));
      const double got = times_pow2(x, e);
      REQUIRE(std::bit_cast<std::uint64_t>(got) == std::bit_cast<std::uint64_t>(want));
    }
    // Exactly at the edges of the multiplication path and of the double range.
    CHECK(times_pow2(1.0, 1000) == std::ldexp(1.0, 1000));
    CHECK(times_pow2(1.0, -1000) == std::ldexp(1.0, -1000));
    CHECK(times_pow2(0.75, -1075) == std::ldexp(0.75, -1075));  // rounds into the subnormal range once
    // One rounding where two steps (2^−1000 then 2^−40, as the earlier stepwise copies did) round twice: x·2^−1040
    // with x = 2^−30·(1 + 2^−5 + 2^−52) is 17.0000…01·2^−1074 → 17·2^−1074 correctly rounded.
    CHECK(times_pow2(std::ldexp(1.0 + 0x1p-5 + 0x1p-52, -30), -1040) == 17.0 * std::ldexp(1.0, -1074));
    CHECK(times_pow2(1.0, 1024) == inf);
    CHECK(times_pow2(-1.0, 100000) == -inf);
    CHECK(times_pow2(std::numeric_limits<double>::max(), -100000) == 0.0);
    CHECK(times_pow2(0.0, 5000) == 0.0);
  }

  TEST_CASE("scale_by_pow2 on a matrix is times_pow2 entry by entry") {
    Mat A(3, 4);
    for (Index k = 0; k < A.size(); ++k) A.data()[k] = std::ldexp(1.0 + 0.1 * static_cast<double>(k), static_cast<int>(k * 90) - 500);
    for (const long e : {0L, 7L, -1000L, 1001L, -1600L, 3000L}) {
      Mat B = A;
      scale_by_pow2(B, e);
      for (Index k = 0; k < A.size(); ++k)
        CHECK(std::bit_cast<std::uint64_t>(B.data()[k]) == std::bit_cast<std::uint64_t>(times_pow2(A.data()[k], e)));
      CHECK(times_pow2(A, e) == B);
    }
    // An expression or a view as argument: a new matrix, the argument untouched.
    const Mat A0 = A;
    const Vec c = times_pow2(A.col(1), 3);
    CHECK(A == A0);
    CHECK(c == A.col(1) * 8.0);
  }

  TEST_CASE("ScaledNumber: value and log10 of x̂·2^K inside and beyond the double range") {
    CHECK(ScaledNumber{0.75, 4}.value() == 12.0);
    CHECK(ScaledNumber{-0.5, -1073}.value() == -std::ldexp(1.0, -1074));  // the smallest subnormal, exact
    CHECK(ScaledNumber{0.75, -1075}.value() == 0.0);  // below half the smallest subnormal: rounds to 0
    CHECK(ScaledNumber{0.75, 5000}.value() == std::numeric_limits<double>::infinity());
    CHECK(ScaledNumber{0.75, 5000}.log10_abs() == log10_times_pow2(0.75, 5000.0));
    const ScaledNumber big{-0.75, 5000};  // (a braced list would split the macro's arguments)
    MHCLAB_CHECK_NEAR(big.log10_abs(), std::log10(0.75) + 5000 * std::log10(2.0), 1e-12, 0.0);
    CHECK(ScaledNumber{}.value() == 0.0);
    CHECK(ScaledNumber{}.log10_abs() == -std::numeric_limits<double>::infinity());
  }

  TEST_CASE("binary_exponent and log10_times_pow2") {
    CHECK(binary_exponent(1.0) == 1);
    CHECK(binary_exponent(0.5) == 0);
    CHECK(binary_exponent(0.75) == 0);
    CHECK(binary_exponent(std::ldexp(1.0, -1074)) == -1073);
    CHECK(binary_exponent(0.0) == 0);
    CHECK(log10_times_pow2(0.5, 3000.0) == doctest::Approx(3000.0 * std::log10(2.0) + std::log10(0.5)).epsilon(1e-15));
    CHECK(log10_times_pow2(-0.5, 1.0) == doctest::Approx(0.0).epsilon(1e-15));
    CHECK(log10_times_pow2(0.0, 5.0) == -std::numeric_limits<double>::infinity());
    CHECK(log10_times_pow2(0.5, -std::numeric_limits<double>::infinity()) == -std::numeric_limits<double>::infinity());
  }
}
