// mixing/birkhoff_projection.hpp: converged entropic (dual Newton) and Euclidean (semismooth Newton) projections
// onto the Birkhoff polytope, and the implicit backward of the entropic one. Tolerances (u = 2⁻⁵³):
//  - marginals of the entropic projection: ≤ tol·n = 1e-14·n, the option's own stopping rule;
//  - entropic Newton vs a 5000-iteration log-domain Sinkhorn: 1e-12 on H (the brief's figure): both runs are within
//    ~1e-14 of the marginals of the unique fixed point; for these well-conditioned logits (N(0, s²), s ≤ 2, τ ≥ 0.5)
//    the fixed point's sensitivity to a marginal residual is O(1–10²), so the two H agree to far better than 1e-12;
//  - n = 2 closed form p = σ(δ/2): 2e-14 (marginal stop at 2e-14 plus a few u of exp/log round-off);
//  - VJP vs central finite differences, h = 1e-6: 1e-6·max(1, max|dZ|) (truncation h²·|f'''|/6 ≲ 1e-11/τ³ and the
//    forward's round-off 1e-14/h = 1e-8 are both far below; a wrong term is O(|dZ|));
//  - the same on large-spread logits (τ = 0.1) with h = 1e-5 (truncation ≈ 2e-8, round-off ≲ 1e-8);
//  - VJP vs sinkhorn_vjp of a 5000-iteration log-domain Sinkhorn: 1e-8·max(1, max|dZ|) (the unrolled derivative
//    converges to the implicit one at Sinkhorn's linear rate; after 5000 iterations the difference is round-off);
//  - Euclidean projection: marginals ≤ tol = 1e-12 (the option), H ≥ 0 exactly, variational inequality
//    ⟨A − H, P − H⟩ ≤ 1e-9 over permutation matrices P (exact optimality on the vertices would be ≤ 0; a marginal
//    residual of 1e-12 moves it by ≲ n²·1e-12·max|A − H|);
//  - Euclidean on inputs whose affine projection is already ≥ 0: 8·n·u on H (the closed form (P4), evaluated twice),
//    plus twice the input's own marginal residual when the input is (numerically) doubly stochastic;
//  - Euclidean n = 2 closed form: run to tol = 1e-14, compared at 1e-13; vs 20000 Dykstra sweeps: 1e-8 (Dykstra's
//    linear convergence reaches ~1e-10 there).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/birkhoff_projection.hpp"
#include "mhclab/mixing/hungarian.hpp"
#include "mhclab/mixing/permutations.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "support/check.hpp"

using namespace mhclab;
using mhclab::test::max_abs_diff;
using mhclab::test::test_size;

namespace {
constexpr double u64 = 0x1.0p-53;

Mat normal_matrix(Index n, double scale, std::uint64_t tag, std::uint64_t draw) {
  RandomStream s(2607, Purpose::Test, {tag, draw});
  Mat Z(n, n);
  s.fill_normal(Z, scale);
  return Z;
}

/// Entries uniform in [−50, 50]: with τ = 0.1 the exponents span 10³, the large-spread case.
Mat hard_logits(Index n, std::uint64_t draw) {
  RandomStream s(2607, Purpose::Test, {900, static_cast<std::uint64_t>(n), draw});
  Mat Z(n, n);
  for (Index k = 0; k < Z.size(); ++k) Z.data()[k] = -50.0 + 100.0 * s.uniform();
  return Z;
}

std::vector<Index> random_permutation(RandomStream& rng, Index n) {
  std::vector<Index> s(static_cast<std::size_t>(n));
  std::iota(s.begin(), s.end(), Index{0});
  for (Index i = n - 1; i > 0; --i) {
    const auto j = std::min(i, static_cast<Index>(rng.uniform() * static_cast<double>(i + 1)));
    std::swap(s[static_cast<std::size_t>(i)], s[static_cast<std::size_t>(j)]);
  }
  return s;
}

double frobenius_inner(const Mat& A, const Mat& B) { return A.cwiseProduct(B).sum(); }

/// max over permutation matrices P of ⟨A − H, P − H⟩: all n! for n ≤ 6, else `samples` random ones.
double worst_variational_gap(const Mat& A, const Mat& H, RandomStream& rng, int samples) {
  const Index n = A.rows();
  double worst = -INFINITY;
  if (n <= 6) {
    const PermutationTable table(n);
    for (Index k = 0; k < table.size(); ++k) {
      const auto sigma = table.sigma(k);
      const Mat P = permutation_matrix(std::vector<Index>(sigma.begin(), sigma.end()));
      worst = std::max(worst, frobenius_inner(A - H, P - H));
    }
  } else {
    for (int k = 0; k < samples; ++k)
      worst = std::max(worst, frobenius_inner(A - H, permutation_matrix(random_permutation(rng, n)) - H));
  }
  return worst;
}

/// ⟨dH, H(Z)⟩ for the central differences of the VJP.
double loss(const Mat& Z, const NewtonProjectionOptions& o, const Mat& dH) {
  const auto r = entropic_projection(Z, o);
  REQUIRE(r.status == ProjectionStatus::Converged);
  return frobenius_inner(dH, r.H);
}

/// Dykstra's alternating projections between the affine set {H1 = 1, 1ᵀH = 1ᵀ} (affine_marginal_projection) and
/// the orthant: an independent (slow, first-order) solver for the Euclidean projection.
Mat dykstra(const Mat& A, int iterations) {
  Mat X = A, P = Mat::Zero(A.rows(), A.cols()), Q = Mat::Zero(A.rows(), A.cols());
  for (int k = 0; k < iterations; ++k) {
    const Mat Y = affine_marginal_projection(X + P);
    P = X + P - Y;
    const Mat Xn = (Y + Q).cwiseMax(0.0);
    Q = Y + Q - Xn;
    X = Xn;
  }
  return X;
}
}  // namespace

TEST_SUITE("birkhoff_projection") {
TEST_CASE("status table names") {
  CHECK(projection_status_table.to_string(ProjectionStatus::Converged) == "converged");
  CHECK(projection_status_table.to_string(ProjectionStatus::MaxIterations) == "max_iterations");
  CHECK(projection_status_table.to_string(ProjectionStatus::NumericalIssue) == "numerical_issue");
  CHECK(projection_status_table.from_string("max_iterations") == ProjectionStatus::MaxIterations);
  CHECK_THROWS_WITH_AS((void)projection_status_table.from_string("done"), doctest::Contains("unknown status 'done'"),
                       InputError);
}

TEST_CASE("entropic: n = 1 is [1]; n = 2 is the closed form p = σ(δ/2), δ = (Z00 + Z11 − Z01 − Z10)/τ") {
  const auto one = entropic_projection(Mat::Constant(1, 1, 3.7), {});
  REQUIRE(one.status == ProjectionStatus::Converged);
  CHECK(one.H.rows() == 1);
  CHECK(one.H(0, 0) == 1.0);
  CHECK(one.iterations == 0);
  // 2×2 DS matrices are [[p, 1 − p], [1 − p, p]]; the scaling keeps the cross ratio H00·H11/(H01·H10) = e^δ.
  for (const double tau : {1.0, 0.3, 0.05}) {
    for (std::uint64_t d = 0; d < 20; ++d) {
      const Mat Z = normal_matrix(2, 1.0, 1, d);
      NewtonProjectionOptions o;
      o.tau = tau;
      const auto r = entropic_projection(Z, o);
      REQUIRE(r.status == ProjectionStatus::Converged);
      const double delta = (Z(0, 0) + Z(1, 1) - Z(0, 1) - Z(1, 0)) / tau;
      const double p = 1.0 / (1.0 + std::exp(-delta / 2.0));
      INFO("tau = " << tau << " draw " << d << " delta = " << delta);
      MHCLAB_CHECK_NEAR(r.H(0, 0), p, 2e-14, 0.0);
      MHCLAB_CHECK_NEAR(r.H(1, 1), p, 2e-14, 0.0);
      MHCLAB_CHECK_NEAR(r.H(0, 1), 1.0 - p, 2e-14, 0.0);
      MHCLAB_CHECK_NEAR(r.H(1, 0), 1.0 - p, 2e-14, 0.0);
    }
  }
}

TEST_CASE("entropic: marginals ≤ tol·n, few iterations, equal to a 5000-iteration log-domain Sinkhorn within 1e-12") {
  int worst_iters = 0, compared = 0, reference_unconverged = 0;
  double worst_diff = 0.0;
  for (const Index n : {2, 3, 4, 5, 8, 16}) {
    for (const double scale : {1.0, 2.0}) {
      for (const double tau : {1.0, 0.5}) {
        for (std::uint64_t d = 0; d < static_cast<std::uint64_t>(test_size(6, 2)); ++d) {
          const Mat Z = normal_matrix(n, scale, 2, static_cast<std::uint64_t>(n) * 100 + d);
          NewtonProjectionOptions o;
          o.tau = tau;
          const auto r = entropic_projection(Z, o);
          INFO("n = " << n << " scale = " << scale << " tau = " << tau << " draw " << d);
          REQUIRE(r.status == ProjectionStatus::Converged);
          CHECK(r.row_err <= o.tol * static_cast<double>(n));
          CHECK(r.col_err <= o.tol * static_cast<double>(n));
          CHECK(r.H.minCoeff() >= 0.0);
          CHECK(r.sinkhorn_fallback_sweeps == 0);
          worst_iters = std::max(worst_iters, r.iterations);
          SinkhornOptions s;
          s.domain = SinkhornDomain::Log;
          s.tau = tau;
          s.iterations = 5000;
          const auto sk = sinkhorn(Z, s);
          if (sk.summary.col_err > 1e-14) {  // the reference itself has not converged (slow n = 2 cases)
            ++reference_unconverged;
            continue;
          }
          const double diff = max_abs_diff(r.H, sk.H);
          worst_diff = std::max(worst_diff, diff);
          CHECK(diff <= 1e-12);
          ++compared;
        }
      }
    }
  }
  MESSAGE("well-conditioned logits: worst Newton iterations " << worst_iters << "; worst |H − H_sinkhorn| "
                                                               << worst_diff << " over " << compared
                                                               << " draws (Sinkhorn above 1e-14 after 5000 iterations in "
                                                               << reference_unconverged << ")");
  CHECK(worst_iters <= 12);  // measured ≤ 9 (quadratic convergence from the row-normalised start)
  CHECK(compared >= 8 * reference_unconverged);
}

TEST_CASE("entropic: large-spread logits (U(−50, 50), τ = 0.1) converge in few Newton iterations; Sinkhorn stalls") {
  NewtonProjectionOptions o;
  o.tau = 0.1;
  for (const Index n : {2, 3, 4, 8}) {
    std::vector<int> iters;
    int sinkhorn_unconverged = 0;
    const auto draws = static_cast<std::uint64_t>(test_size(40, 8));
    for (std::uint64_t d = 0; d < draws; ++d) {
      const Mat Z = hard_logits(n, d);
      const auto r = entropic_projection(Z, o);
      INFO("n = " << n << " draw " << d);
      REQUIRE(r.status == ProjectionStatus::Converged);
      CHECK(r.H.allFinite());
      CHECK(r.H.minCoeff() >= 0.0);
      CHECK(std::max(r.row_err, r.col_err) <= o.tol * static_cast<double>(n));
      iters.push_back(r.iterations);
      SinkhornOptions s;
      s.domain = SinkhornDomain::Log;
      s.tau = o.tau;
      s.iterations = 1000;
      if (sinkhorn(Z, s).summary.col_err > 1e-10) ++sinkhorn_unconverged;
    }
    std::sort(iters.begin(), iters.end());
    const int median = iters[iters.size() / 2], worst = iters.back();
    MESSAGE("U(-50,50), tau = 0.1, n = " << n << ": Newton iterations median " << median << ", max " << worst
                                        << "; log-domain Sinkhorn with 1000 iterations above 1e-10 in "
                                        << sinkhorn_unconverged << " of " << draws << " draws");
    // Measured (40 draws): n = 3 median 4, max 14; n = 4 median 8, max 19; n = 8 median 17, max 33. The bounds leave
    // headroom for libm differences of exp/log between platforms, which can change a line-search decision.
    CHECK(median <= (n <= 4 ? 12 : 30));
    CHECK(worst <= (n <= 4 ? 40 : 60));
    if (n >= 3) CHECK(sinkhorn_unconverged > 0);
  }
}

TEST_CASE("entropic: the folded log domain never returns non-finite numbers") {
  // A whole row at −1e308 while another is at +1e308: Z − max Z overflows to −inf on that row.
  Mat Z(2, 2);
  Z << 1e308, 1e308, -1e308, -1e308;
  const auto r = entropic_projection(Z, {});
  CHECK(r.status == ProjectionStatus::NumericalIssue);
  CHECK(r.H.size() == 0);
  CHECK(!r.issue.empty());
  CHECK_THROWS_WITH_AS((void)entropic_projection_vjp(Z, {}, Mat::Ones(2, 2)), doctest::Contains("numerical_issue"),
                       ComputeError);
  // Extreme but finite: exponents of 1e4 stay finite (entries underflow to 0, the result is a permutation).
  NewtonProjectionOptions o;
  o.tau = 1e-3;
  Mat P = Mat::Zero(3, 3);
  P(0, 2) = P(1, 0) = P(2, 1) = 10.0;
  const auto q = entropic_projection(P, o);
  REQUIRE(q.status == ProjectionStatus::Converged);
  CHECK(max_abs_diff(q.H, permutation_matrix({2, 0, 1})) <= 1e-15);
}

TEST_CASE("entropic: max_iterations returns the last iterate, finite, rows normalised") {
  NewtonProjectionOptions o;
  o.tau = 0.1;
  o.max_iters = 1;
  const auto r = entropic_projection(hard_logits(8, 0), o);
  CHECK(r.status == ProjectionStatus::MaxIterations);
  CHECK(r.iterations == 1);
  CHECK(r.H.allFinite());
  // Rows are normalised last, exactly up to the rounding of the row's LSE: u·|LSE| ≲ u·max|Z − max Z|/τ = 1000u.
  CHECK(r.row_err <= (8.0 * 8.0 + 1000.0) * u64);
}

TEST_CASE("entropic VJP: central finite differences (h = 1e-6)") {
  double worst = 0.0;
  for (const Index n : {1, 2, 3, 4, 6}) {
    for (const double tau : {1.0, 0.3}) {
      NewtonProjectionOptions o;
      o.tau = tau;
      const Mat Z = normal_matrix(n, 1.0, 3, static_cast<std::uint64_t>(n));
      const Mat dH = normal_matrix(n, 1.0, 4, static_cast<std::uint64_t>(n));
      const Mat dZ = entropic_projection_vjp(Z, o, dH);
      REQUIRE(dZ.rows() == n);
      REQUIRE(dZ.cols() == n);
      const double scale = std::max(1.0, dZ.cwiseAbs().maxCoeff());
      // dZ has zero row and column sums (V1): H(Z + s·1·xᵀ) = H(Z) for every x, and likewise for columns.
      CHECK(dZ.rowwise().sum().cwiseAbs().maxCoeff() <= 1e-13 * scale);
      CHECK(dZ.colwise().sum().cwiseAbs().maxCoeff() <= 1e-13 * scale);
      const double h = 1e-6;
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < n; ++j) {
          Mat Zp = Z, Zm = Z;
          Zp(i, j) += h;
          Zm(i, j) -= h;
          const double fd = (loss(Zp, o, dH) - loss(Zm, o, dH)) / (2.0 * h);
          INFO("n = " << n << " tau = " << tau << " (" << i << "," << j << ")");
          MHCLAB_CHECK_NEAR(dZ(i, j), fd, 1e-6 * scale, 0.0);
          worst = std::max(worst, std::fabs(dZ(i, j) - fd) / scale);
        }
    }
  }
  MESSAGE("VJP vs central FD: worst |dZ − fd|/max(1, |dZ|) = " << worst);
}

TEST_CASE("entropic VJP on large-spread logits (U(−50, 50), τ = 0.1): central finite differences (h = 1e-5)") {
  // Near-permutation solutions whose column graph has cuts of weight far below round-off (the regularised (V2)).
  // h = 1e-5: truncation h²·|f'''|/6 ≲ 1e-10·τ⁻³/6 ≈ 2e-8 and round-off (1e-14·n)/h ≲ 1e-8 stay below the tolerance
  // 1e-6·max(1, max|dZ|).
  NewtonProjectionOptions o;
  o.tau = 0.1;
  double worst = 0.0;
  for (const Index n : {3, 4, 8}) {
    for (std::uint64_t d = 0; d < static_cast<std::uint64_t>(test_size(8, 2)); ++d) {
      const Mat Z = hard_logits(n, d);
      const Mat dH = normal_matrix(n, 1.0, 7, static_cast<std::uint64_t>(n) * 100 + d);
      const Mat dZ = entropic_projection_vjp(Z, o, dH);
      REQUIRE(dZ.allFinite());
      const double scale = std::max(1.0, dZ.cwiseAbs().maxCoeff());
      const double h = 1e-5;
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < n; ++j) {
          Mat Zp = Z, Zm = Z;
          Zp(i, j) += h;
          Zm(i, j) -= h;
          const double fd = (loss(Zp, o, dH) - loss(Zm, o, dH)) / (2.0 * h);
          INFO("n = " << n << " draw " << d << " (" << i << "," << j << ")");
          MHCLAB_CHECK_NEAR(dZ(i, j), fd, 1e-6 * scale, 0.0);
          worst = std::max(worst, std::fabs(dZ(i, j) - fd) / scale);
        }
    }
  }
  MESSAGE("large-spread VJP vs central FD: worst |dZ − fd|/max(1, |dZ|) = " << worst);
}

TEST_CASE("entropic VJP equals sinkhorn_vjp of a 5000-iteration log-domain Sinkhorn within 1e-8") {
  double worst = 0.0;
  for (const Index n : {2, 3, 4, 5}) {
    for (const double tau : {1.0, 0.5}) {
      NewtonProjectionOptions o;
      o.tau = tau;
      const Mat Z = normal_matrix(n, 1.0, 5, static_cast<std::uint64_t>(n));
      const Mat dH = normal_matrix(n, 1.0, 6, static_cast<std::uint64_t>(n));
      const Mat dZ = entropic_projection_vjp(Z, o, dH);
      SinkhornOptions s;
      s.domain = SinkhornDomain::Log;
      s.tau = tau;
      s.iterations = 5000;
      const Mat ref = sinkhorn_vjp(Z, s, dH);
      const double diff = max_abs_diff(dZ, ref) / std::max(1.0, ref.cwiseAbs().maxCoeff());
      INFO("n = " << n << " tau = " << tau);
      CHECK(diff <= 1e-8);
      worst = std::max(worst, diff);
    }
  }
  MESSAGE("VJP vs 5000-iteration Sinkhorn VJP: worst relative difference " << worst);
}

TEST_CASE("entropic: invalid input fails with a message naming it") {
  const Mat Z = Mat::Zero(3, 3);
  NewtonProjectionOptions o;
  o.tau = 0;
  CHECK_THROWS_WITH_AS((void)entropic_projection(Z, o), doctest::Contains("tau = 0"), InputError);
  o = {};
  o.tau = NAN;
  CHECK_THROWS_WITH_AS((void)entropic_projection(Z, o), doctest::Contains("tau = nan"), InputError);
  o = {};
  o.max_iters = 0;
  CHECK_THROWS_WITH_AS((void)entropic_projection(Z, o), doctest::Contains("max_iters = 0"), InputError);
  o = {};
  o.tol = -1;
  CHECK_THROWS_WITH_AS((void)entropic_projection(Z, o), doctest::Contains("tol = -1"), InputError);
  o = {};
  o.regularization = -1;
  CHECK_THROWS_WITH_AS((void)entropic_projection(Z, o), doctest::Contains("regularization = -1"), InputError);
  CHECK_THROWS_WITH_AS((void)entropic_projection(Mat::Zero(2, 3), {}), doctest::Contains("square"), InputError);
  CHECK_THROWS_WITH_AS((void)entropic_projection(Mat(0, 0), {}), doctest::Contains("non-empty"), InputError);
  Mat bad = Z;
  bad(1, 2) = INFINITY;
  CHECK_THROWS_WITH_AS((void)entropic_projection(bad, {}), doctest::Contains("non-finite entry logits Z[1,2]"),
                       InputError);
  CHECK_THROWS_WITH_AS((void)entropic_projection_vjp(Z, {}, Mat::Zero(3, 2)), doctest::Contains("dH is 3x2"),
                       InputError);
  CHECK_THROWS_WITH_AS((void)entropic_projection_vjp(Z, {}, bad), doctest::Contains("non-finite entry dH"), InputError);
  o = {};
  o.max_iters = -3;
  CHECK_THROWS_WITH_AS((void)entropic_projection_vjp(Z, o, Z), doctest::Contains("max_iters = -3"), InputError);
}

TEST_CASE("euclidean: a doubly stochastic A is returned unchanged") {
  RandomStream rng(2607, Purpose::Test, {10});
  for (const Index n : {1, 2, 3, 5, 8}) {
    // A convex combination of permutations (with zeros) and a strictly positive entropic projection.
    Mat A = Mat::Zero(n, n);
    for (int k = 0; k < 3; ++k) A += permutation_matrix(random_permutation(rng, n)) / 3.0;
    const Mat B = entropic_projection(normal_matrix(n, 1.0, 11, static_cast<std::uint64_t>(n)), {}).H;
    for (const Mat& M : {A, B}) {
      const auto r = euclidean_projection(M, {});
      // Moved only by M's own marginal residual (≤ 2e-14·n for B, a few u for A): the affine start (P4) shifts
      // rows and columns by (residual)/n, and the marginals are then within tol, so no iteration is taken.
      const double residual = std::max(row_error(M), col_error(M));
      INFO("n = " << n << " marginal residual of the input " << residual);
      REQUIRE(r.status == ProjectionStatus::Converged);
      CHECK(r.iterations == 0);
      CHECK(max_abs_diff(r.H, M) <= 2.0 * residual + 8.0 * static_cast<double>(n) * u64);
      CHECK(r.distance <= static_cast<double>(n) * (2.0 * residual + 8.0 * static_cast<double>(n) * u64));
    }
  }
}

TEST_CASE("euclidean: inside the polytope's interior it is the affine projection (P4)") {
  for (const Index n : {2, 3, 4, 8}) {
    // Strictly positive DS centre (entries ≥ ~0.05 for N(0, 0.3²) logits) plus a perturbation of 1e-3.
    const Mat D = entropic_projection(normal_matrix(n, 0.3, 12, static_cast<std::uint64_t>(n)), {}).H;
    const Mat A = D + normal_matrix(n, 1e-3, 13, static_cast<std::uint64_t>(n));
    const Mat Paff = affine_marginal_projection(A);
    REQUIRE(Paff.minCoeff() > 0.0);
    CHECK(row_error(Paff) <= 8.0 * static_cast<double>(n) * u64);
    CHECK(col_error(Paff) <= 8.0 * static_cast<double>(n) * u64);
    // A − P_aff(A) is orthogonal to the affine set's directions (zero-marginal matrices), e.g. D − P_aff(A).
    MHCLAB_CHECK_NEAR(frobenius_inner(A - Paff, D - Paff), 0.0, 1e-16, 0.0);
    const auto r = euclidean_projection(A, {});
    INFO("n = " << n);
    REQUIRE(r.status == ProjectionStatus::Converged);
    CHECK(r.iterations == 0);
    CHECK(max_abs_diff(r.H, Paff) <= 8.0 * static_cast<double>(n) * u64);
  }
}

TEST_CASE("euclidean: n = 2 closed form t* = clamp((A00 + A11 − A01 − A10 + 2)/4, 0, 1)") {
  // B_2 = {[[t, 1 − t], [1 − t, t]] : t ∈ [0, 1]}; ‖H(t) − A‖² is a parabola in t with vertex at (A00 + A11 − A01 −
  // A10 + 2)/4. Run to tol = 1e-14 (above the round-off floor ≈ u·max|A| ≈ 4e-15 here) and compare at 1e-13.
  EuclideanProjectionOptions o;
  o.tol = 1e-14;
  for (const double scale : {0.2, 1.0, 10.0}) {
    for (std::uint64_t d = 0; d < 30; ++d) {
      const Mat A = normal_matrix(2, scale, 14, d);
      const double t = std::clamp((A(0, 0) + A(1, 1) - A(0, 1) - A(1, 0) + 2.0) / 4.0, 0.0, 1.0);
      Mat want(2, 2);
      want << t, 1.0 - t, 1.0 - t, t;
      const auto r = euclidean_projection(A, o);
      INFO("scale = " << scale << " draw " << d);
      REQUIRE(r.status == ProjectionStatus::Converged);
      CHECK(max_abs_diff(r.H, want) <= 1e-13);
      MHCLAB_CHECK_NEAR(r.distance, (want - A).norm(), 1e-13, 0.0);
    }
  }
}

TEST_CASE("euclidean: DS, H ≥ 0 and optimal (variational inequality over the vertices) for random A") {
  RandomStream rng(2607, Purpose::Test, {15});
  int worst_iters = 0, fallbacks = 0;
  double worst_gap = -INFINITY;
  for (const double scale : {0.3, 1.0, 10.0}) {
    for (const Index n : {2, 3, 4, 5, 6, 8, 16}) {
      for (std::uint64_t d = 0; d < static_cast<std::uint64_t>(test_size(10, 3)); ++d) {
        Mat A = normal_matrix(n, scale, 16, static_cast<std::uint64_t>(n) * 100 + d);
        A.array() += 1.0 / static_cast<double>(n);
        const EuclideanProjectionOptions o;
        const auto r = euclidean_projection(A, o);
        INFO("scale = " << scale << " n = " << n << " draw " << d);
        REQUIRE(r.status == ProjectionStatus::Converged);
        CHECK(r.row_err <= o.tol);
        CHECK(r.col_err <= o.tol);
        CHECK(r.H.minCoeff() >= 0.0);
        MHCLAB_CHECK_NEAR(r.distance, (r.H - A).norm(), 1e-12, 0.0);
        // H ∈ B_n minimises ‖H − A‖ over B_n = conv(permutation matrices) iff ⟨A − H, P − H⟩ ≤ 0 for every vertex P
        // (all n! vertices for n ≤ 6: a brute-force optimality certificate).
        const double gap = worst_variational_gap(A, r.H, rng, 300);
        CHECK(gap <= 1e-9);
        worst_gap = std::max(worst_gap, gap);
        worst_iters = std::max(worst_iters, r.iterations);
        fallbacks += r.gradient_fallback_steps;
      }
    }
  }
  MESSAGE("euclidean: worst iterations " << worst_iters << ", gradient fallbacks " << fallbacks
                                         << ", worst <A - H, P - H> " << worst_gap);
}

TEST_CASE("euclidean: agrees with Dykstra's alternating projections and maps far points to the vertex") {
  for (const Index n : {3, 4}) {
    for (std::uint64_t d = 0; d < 4; ++d) {
      Mat A = normal_matrix(n, 1.0, 17, static_cast<std::uint64_t>(n) * 10 + d);
      A.array() += 1.0 / static_cast<double>(n);
      const auto r = euclidean_projection(A, {});
      REQUIRE(r.status == ProjectionStatus::Converged);
      // Dykstra converges linearly; 20000 sweeps reach ~1e-10 on these 3×3 and 4×4 inputs.
      INFO("n = " << n << " draw " << d);
      CHECK(max_abs_diff(r.H, dykstra(A, 20000)) <= 1e-8);
    }
  }
  const std::vector<Index> sigma{3, 0, 4, 1, 2};
  const Mat P = permutation_matrix(sigma);
  const auto r = euclidean_projection(10.0 * P, {});
  REQUIRE(r.status == ProjectionStatus::Converged);
  CHECK(max_abs_diff(r.H, P) <= 1e-12);
  MHCLAB_CHECK_NEAR(r.distance, 9.0 * std::sqrt(5.0), 1e-12, 0.0);
}

TEST_CASE("euclidean: invalid input fails with a message naming it") {
  EuclideanProjectionOptions o;
  o.max_iters = 0;
  CHECK_THROWS_WITH_AS((void)euclidean_projection(Mat::Zero(2, 2), o), doctest::Contains("max_iters = 0"), InputError);
  o = {};
  o.tol = -1;
  CHECK_THROWS_WITH_AS((void)euclidean_projection(Mat::Zero(2, 2), o), doctest::Contains("tol = -1"), InputError);
  CHECK_THROWS_WITH_AS((void)euclidean_projection(Mat::Zero(3, 2), {}), doctest::Contains("square"), InputError);
  Mat A = Mat::Zero(2, 2);
  A(0, 1) = NAN;
  CHECK_THROWS_WITH_AS((void)euclidean_projection(A, {}), doctest::Contains("non-finite entry A[0,1]"), InputError);
  CHECK_THROWS_WITH_AS((void)affine_marginal_projection(Mat::Zero(1, 2)), doctest::Contains("square"), InputError);
}
}  // TEST_SUITE
