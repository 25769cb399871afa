// mixing/sinkhorn_batch.hpp: the batched SoA kernel against the scalar sinkhorn() (same semantics up to
// last-bit differences), its exp, numerical-issue flagging and thread-count independence.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "mhclab/mixing/sinkhorn_batch.hpp"
#include "support/check.hpp"

using namespace mhclab;
using mhclab::test::test_size;

namespace {

/// count n×n logit matrices, N(0, scale²), in the batch layout (row-major), from Purpose::Test streams.
std::vector<double> random_logits(Index count, Index n, double scale, std::uint64_t tag) {
  std::vector<double> Z(static_cast<std::size_t>(count * n * n));
  for (Index k = 0; k < count; ++k) {
    RandomStream rs(2024, Purpose::Test, {tag, static_cast<std::uint64_t>(k)});
    for (Index e = 0; e < n * n; ++e) Z[static_cast<std::size_t>(k * n * n + e)] = scale * rs.normal();
  }
  return Z;
}

Mat matrix_at(const std::vector<double>& A, Index k, Index n) {
  Mat M(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) M(i, j) = A[static_cast<std::size_t>(k * n * n + i * n + j)];
  return M;
}

/// Distance in units in the last place between two positive finite doubles.
std::uint64_t ulp_distance(double a, double b) {
  const auto ia = std::bit_cast<std::uint64_t>(a), ib = std::bit_cast<std::uint64_t>(b);
  return ia > ib ? ia - ib : ib - ia;
}

constexpr double kU = std::numeric_limits<double>::epsilon() / 2;  // unit round-off 2^-53

struct Agreement {
  double max_diff = 0.0;  ///< max |H_batch − H_scalar|
  double exact_err = 0.0; ///< max error of the marginal normalised last (batched)
  Index issues = 0;
};

Agreement compare_with_scalar(Index count, Index n, double scale, double tau, SinkhornOrder order, std::uint64_t tag) {
  const std::vector<double> Z = random_logits(count, n, scale, tag);
  std::vector<double> H(Z.size());
  std::vector<SinkhornStatus> status(static_cast<std::size_t>(count));
  SinkhornBatchOptions bo;
  bo.n = static_cast<int>(n);
  bo.tau = tau;
  bo.order = order;
  const SinkhornBatchSummary s = sinkhorn_batch(Z, H, status, bo);
  REQUIRE(s.count == count);
  SinkhornOptions so;
  so.tau = tau;
  so.order = order;
  Agreement a;
  a.issues = s.numerical_issues;
  for (Index k = 0; k < count; ++k) {
    const SinkhornResult r = sinkhorn(matrix_at(Z, k, n), so);
    REQUIRE(r.summary.status == SinkhornStatus::FixedIterations);
    REQUIRE(status[static_cast<std::size_t>(k)] == SinkhornStatus::FixedIterations);
    const Mat Hb = matrix_at(H, k, n);
    a.max_diff = std::max(a.max_diff, test::max_abs_diff(Hb, r.H));
    a.exact_err = std::max(a.exact_err, order == SinkhornOrder::ColThenRow ? row_error(Hb) : col_error(Hb));
    REQUIRE(Hb.minCoeff() >= 0.0);
  }
  return a;
}

}  // namespace

TEST_SUITE("sinkhorn_batch") {
TEST_CASE("agrees with the scalar sinkhorn() (both orders, tau 1 and 0.25, N(0,1) and N(0,3^2) logits)") {
  const Index count = test_size(4000, 300);
  std::uint64_t tag = 0;
  for (SinkhornOrder order : {SinkhornOrder::ColThenRow, SinkhornOrder::RowThenCol})
    for (double tau : {1.0, 0.25})
      for (double scale : {1.0, 3.0}) {
        CAPTURE(static_cast<int>(order));
        CAPTURE(tau);
        CAPTURE(scale);
        const Agreement a = compare_with_scalar(count, 4, scale, tau, order, ++tag);
        CHECK(a.issues == 0);
        INFO("max |H_batch - H_scalar| = " << a.max_diff << ", exact marginal error = " << a.exact_err);
        CHECK(a.max_diff <= 1e-14);
        // The marginal normalised last is exact up to the rounding of n products and an n-term sum.
        CHECK(a.exact_err <= 4 * 4 * kU);
      }
}

TEST_CASE("every n in 1..8 agrees with the scalar code") {
  const Index count = test_size(203, 21);  // not a multiple of the 8 lanes: exercises the padded tail block
  for (Index n = 1; n <= kSinkhornBatchMaxN; ++n)
    for (SinkhornOrder order : {SinkhornOrder::ColThenRow, SinkhornOrder::RowThenCol}) {
      CAPTURE(n);
      const Agreement a = compare_with_scalar(count, n, 1.0, 1.0, order, 100 + static_cast<std::uint64_t>(n));
      CHECK(a.issues == 0);
      CHECK(a.max_diff <= 1e-14);
      CHECK(a.exact_err <= 4.0 * static_cast<double>(n) * kU);
    }
}

TEST_CASE("numerical issues are flagged at the -708 threshold like the scalar code") {
  // Matrices: 0 regular; 1 (Z − max)/τ = −708 exactly (allowed); 2 = −708.5 (flagged); 3 the same with
  // τ = 0.25 scaled logits (−708 exactly); 4 a NaN logit; 5 +inf; 6..10 regular (other lanes untouched).
  const Index n = 4, nn = n * n;
  const Index count = 11;
  std::vector<double> Z = random_logits(count, n, 1.0, 999);
  auto set_const = [&](Index k, double v00, double rest) {
    for (Index e = 0; e < nn; ++e) Z[static_cast<std::size_t>(k * nn + e)] = rest;
    Z[static_cast<std::size_t>(k * nn)] = v00;
  };
  set_const(1, 708.0, 0.0);
  set_const(2, 708.5, 0.0);
  set_const(3, 0.0, -708.0);
  Z[static_cast<std::size_t>(4 * nn + 5)] = std::numeric_limits<double>::quiet_NaN();
  Z[static_cast<std::size_t>(5 * nn + 7)] = std::numeric_limits<double>::infinity();

  for (double tau : {1.0, 0.25}) {
    CAPTURE(tau);
    std::vector<double> Zt = Z;
    if (tau != 1.0)
      for (Index e = 0; e < nn; ++e) Zt[static_cast<std::size_t>(3 * nn + e)] *= tau;  // keep −708 after /τ
    std::vector<double> H(Zt.size(), -1.0);
    std::vector<SinkhornStatus> status(static_cast<std::size_t>(count));
    SinkhornBatchOptions bo;
    bo.tau = tau;
    const SinkhornBatchSummary s = sinkhorn_batch(Zt, H, status, bo);
    SinkhornOptions so;
    so.tau = tau;
    Index expected_issues = 0;
    for (Index k = 0; k < count; ++k) {
      CAPTURE(k);
      const Mat Zk = matrix_at(Zt, k, n);
      const SinkhornResult r = sinkhorn(Zk, so);
      const bool scalar_issue = r.summary.status == SinkhornStatus::NumericalIssue;
      CHECK((status[static_cast<std::size_t>(k)] == SinkhornStatus::NumericalIssue) == scalar_issue);
      const Mat Hb = matrix_at(H, k, n);
      if (scalar_issue) {
        ++expected_issues;
        CHECK(Hb.cwiseAbs().maxCoeff() == 0.0);  // never returned as numbers
      } else {
        CHECK(test::max_abs_diff(Hb, r.H) <= 1e-14);
      }
    }
    // With τ = 0.25, matrix 1's (0 − 708)/τ = −2832 is flagged too.
    CHECK(status[1] == (tau == 1.0 ? SinkhornStatus::FixedIterations : SinkhornStatus::NumericalIssue));
    CHECK(status[2] == SinkhornStatus::NumericalIssue);
    CHECK(status[3] == SinkhornStatus::FixedIterations);
    CHECK(status[4] == SinkhornStatus::NumericalIssue);
    CHECK(status[5] == SinkhornStatus::NumericalIssue);
    for (Index k = 6; k < count; ++k) CHECK(status[static_cast<std::size_t>(k)] == SinkhornStatus::FixedIterations);
    CHECK(s.numerical_issues == expected_issues);
    CHECK(s.numerical_issues == (tau == 1.0 ? 3 : 4));
    CHECK(s.first_issue == (tau == 1.0 ? 2 : 1));
  }
}

TEST_CASE("exp_nonpositive is within 2 ulp of std::exp on a dense grid of [-708, 0]") {
  const long K = test_size(4000000, 200000);
  std::uint64_t worst = 0;
  double worst_x = 0.0;
  auto check = [&](double x) {
    const double a = exp_nonpositive(x), b = std::exp(x);
    const std::uint64_t d = ulp_distance(a, b);
    if (d > worst) {
      worst = d;
      worst_x = x;
    }
  };
  for (long k = 0; k <= K; ++k) check(-708.0 * static_cast<double>(k) / static_cast<double>(K));
  // Random points (catch grid aliasing with the ln2 period) and the edges of the reduction intervals.
  RandomStream rs(5, Purpose::Test, {77});
  for (long k = 0; k < K / 4; ++k) check(-708.0 * rs.uniform());
  for (long k = 0; k < K / 4; ++k) check(-std::ldexp(rs.uniform(), -static_cast<int>(rs.next() % 60)));
  const double ln2 = 0.6931471805599453;
  for (int m = 0; m <= 1021; ++m)
    for (double off : {-0.5, 0.5})
      for (double nudge : {-1e-12, 0.0, 1e-12}) {
        const double x = (-m + off) * ln2 + nudge;
        if (x <= 0.0 && x >= -708.0) check(x);
      }
  for (double x : {0.0, -0.0, -708.0, -1e-300, -std::numeric_limits<double>::denorm_min(), -1e-17, -1.0, -707.9999})
    check(x);
  INFO("worst ulp distance " << worst << " at x = " << worst_x);
  CHECK(worst <= 2);
  CHECK(exp_nonpositive(0.0) == 1.0);
  CHECK(exp_nonpositive(-708.0) >= std::numeric_limits<double>::min());  // a normal number
}

TEST_CASE("results are bitwise identical for any thread count") {
  const Index n = 4;
  const Index count = test_size(20011, 1003);  // odd: uneven chunks and a partial last block
  const std::vector<double> Z = random_logits(count, n, 2.0, 4242);
  for (SinkhornOrder order : {SinkhornOrder::ColThenRow, SinkhornOrder::RowThenCol}) {
    std::vector<std::vector<double>> Hs;
    std::vector<std::vector<SinkhornStatus>> statuses;
    for (int threads : {1, 2, 3}) {
      SinkhornBatchOptions bo;
      bo.order = order;
      bo.threads = threads;
      Hs.emplace_back(Z.size());
      statuses.emplace_back(static_cast<std::size_t>(count));
      (void)sinkhorn_batch(Z, Hs.back(), statuses.back(), bo);
    }
    for (std::size_t t = 1; t < Hs.size(); ++t) {
      CHECK(std::memcmp(Hs[0].data(), Hs[t].data(), Hs[0].size() * sizeof(double)) == 0);
      CHECK(statuses[0] == statuses[t]);
    }
  }
}

TEST_CASE("input errors") {
  std::vector<double> Z(32, 0.0), H(32, 0.0);
  SinkhornBatchOptions bo;
  CHECK_NOTHROW((void)sinkhorn_batch(Z, H, {}, bo));
  bo.n = 9;
  CHECK_THROWS_AS((void)sinkhorn_batch(Z, H, {}, bo), InputError);
  bo.n = 4;
  bo.iterations = 0;
  CHECK_THROWS_AS((void)sinkhorn_batch(Z, H, {}, bo), InputError);
  bo.iterations = 20;
  bo.tau = 0.0;
  CHECK_THROWS_AS((void)sinkhorn_batch(Z, H, {}, bo), InputError);
  bo.tau = 1.0;
  std::vector<double> Zodd(30, 0.0), Hodd(30, 0.0), Hshort(16, 0.0);
  CHECK_THROWS_AS((void)sinkhorn_batch(Zodd, Hodd, {}, bo), InputError);
  CHECK_THROWS_AS((void)sinkhorn_batch(Z, Hshort, {}, bo), InputError);
  std::vector<SinkhornStatus> st(3);
  CHECK_THROWS_AS((void)sinkhorn_batch(Z, H, st, bo), InputError);
  // Zero logits: J/n exactly.
  (void)sinkhorn_batch(Z, H, {}, bo);
  for (double h : H) CHECK(h == 0.25);
}
}
