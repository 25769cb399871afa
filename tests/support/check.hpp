#pragma once
// Test helpers: explicit tolerances (doctest's Approx is ~1e-5, too loose for this project).
#include <doctest/doctest.h>

#include <cmath>
#include <iomanip>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "mhclab/core/types.hpp"

namespace mhclab::test {

/// |a − b| ≤ atol + rtol·|b|
inline bool near(double a, double b, double atol, double rtol = 0.0) {
  return std::fabs(a - b) <= atol + rtol * std::fabs(b);
}

#define MHCLAB_CHECK_NEAR(a, b, atol, rtol)                                                            \
  do {                                                                                                 \
    const double mhclab_a_ = (a), mhclab_b_ = (b);                                                     \
    INFO("a = " << std::setprecision(17) << mhclab_a_ << ", b = " << mhclab_b_                       \
                << ", |a-b| = " << std::fabs(mhclab_a_ - mhclab_b_));                                 \
    CHECK(::mhclab::test::near(mhclab_a_, mhclab_b_, (atol), (rtol)));                                 \
  } while (0)

/// max |A − B| (A, B same shape).
inline double max_abs_diff(const Mat& A, const Mat& B) {
  REQUIRE(A.rows() == B.rows());
  REQUIRE(A.cols() == B.cols());
  return A.size() == 0 ? 0.0 : (A - B).cwiseAbs().maxCoeff();
}

/// True in sanitizer builds: slow tests use reduced sizes there.
inline constexpr bool kReduced = MHCLAB_REDUCED_TESTS;
/// full in normal builds, reduced under sanitizers.
inline constexpr long test_size(long full, long reduced) { return kReduced ? reduced : full; }

inline std::string testdata(const std::string& name) { return std::string(MHCLAB_TESTDATA_DIR) + "/" + name; }

inline const nlohmann::json& reference_cases() {
  static const nlohmann::json j = [] {
    std::ifstream f(testdata("reference_cases.json"));
    REQUIRE(f.good());
    return nlohmann::json::parse(f);
  }();
  return j;
}

inline Mat json_matrix(const nlohmann::json& rows) {
  const auto n = static_cast<Index>(rows.size());
  const auto m = n == 0 ? Index(0) : static_cast<Index>(rows[0].size());
  Mat A(n, m);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < m; ++j) A(i, j) = rows[i][j].get<double>();
  return A;
}

inline Vec json_vector(const nlohmann::json& v) {
  Vec x(static_cast<Index>(v.size()));
  for (Index i = 0; i < x.size(); ++i) x[i] = v[i].get<double>();
  return x;
}

}  // namespace mhclab::test
